// The children function: profiles, PINs, child sessions, the 4-child limit, ages 4-14.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import '../../functions/children/index.ts';
import { revokeConsent } from '../../shared/accounts/consents.ts';
import { verifyAccessToken } from '../../shared/auth/access-token.ts';
import {
  createChild,
  createFamily,
  createParent,
  grantRequiredConsents,
  setupAccountsTest,
  teardownAccountsTest,
  yearsAgo,
} from '../helpers/factories.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

const api = () => request(getTestServer('children'));
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const childCount = async (parentId: string) =>
  Number(
    (
      await db.pool.query<{ n: string }>(
        'SELECT COUNT(*) AS n FROM children WHERE parent_id = $1',
        [parentId],
      )
    ).rows[0]?.n,
  );

async function consentingParent() {
  const parent = await createParent();
  await grantRequiredConsents(parent);
  return parent;
}

describe('happy paths', () => {
  it('creates a child: 201, age group from birth_date, hasPin instead of the hash', async () => {
    const parent = await consentingParent();
    const res = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({
        name: 'Mia',
        birthDate: yearsAgo(5, 10),
        interests: ['dinosaurs'],
        settings: { daily_time_limit_minutes: 30 },
      });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Mia',
      age: 5,
      ageGroup: 'wonder_cubs',
      interests: ['dinosaurs'],
      hasPin: false,
      avatarId: 'default_1',
      leaderboardOptIn: false,
    });
    // Given settings merge into the defaults.
    expect(res.body.settings).toMatchObject({
      daily_time_limit_minutes: 30,
      bedtime_start: '20:00',
      sound_enabled: true,
    });
    expect(JSON.stringify(res.body)).not.toMatch(/pin_hash|pinHash|parent_id/);
  });

  it('maps ages to groups at the boundaries (4, 6, 7, 10, 11, 14)', async () => {
    let currentParent = await createParent();
    const expected: [number, string][] = [
      [4, 'wonder_cubs'],
      [6, 'wonder_cubs'],
      [7, 'curious_explorers'],
      [10, 'curious_explorers'],
      [11, 'mind_masters'],
      [14, 'mind_masters'],
    ];
    for (const [index, [age, group]] of expected.entries()) {
      // At most 4 children per family: a second family for the rest.
      const parent = index % 4 === 0 ? await consentingParent() : currentParent;
      currentParent = parent;
      const res = await api()
        .post('/')
        .set(as(parent.accessToken))
        .send({ name: `Age ${age}`, birthDate: yearsAgo(age) });
      expect(res.status).toBe(201);
      expect(res.body.ageGroup).toBe(group);
    }
  });

  it("counts birthdays on the family's local date, not the server's", async () => {
    // Kiritimati (UTC+14) is a day ahead of UTC from 10:00 UTC, Pago Pago (UTC-11) a day behind
    // until 11:00 UTC: one of them is always on another date than the server.
    const dateIn = (timeZone: string) => new Date().toLocaleDateString('en-CA', { timeZone });
    const utcToday = dateIn('UTC');
    const timezone =
      dateIn('Pacific/Kiritimati') !== utcToday ? 'Pacific/Kiritimati' : 'Pacific/Pago_Pago';
    const parent = await createParent({ timezone });
    await grantRequiredConsents(parent);
    const [y, m, d] = dateIn(timezone).split('-').map(Number) as [number, number, number];
    const fourthBirthday = (shiftDays: number) =>
      new Date(Date.UTC(y - 4, m - 1, d + shiftDays)).toISOString().slice(0, 10);

    const today = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({ name: 'Birthday', birthDate: fourthBirthday(0) });
    expect(today.status).toBe(201);
    expect(today.body).toMatchObject({ age: 4, ageGroup: 'wonder_cubs' });

    const tomorrow = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({ name: 'Almost', birthDate: fourthBirthday(1) });
    expect(tomorrow.status).toBe(422);
    expect(tomorrow.body.code).toBe('age_out_of_range');
  });

  it('lists only live children of the signed-in parent', async () => {
    const { parent, child } = await createFamily();
    const second = await createChild(parent, { name: 'Second' });
    await createFamily(); // another family's child must not appear
    const del = await api().delete(`/${second.id}`).set(as(parent.accessToken));
    expect(del.status).toBe(204);
    const res = await api().get('/').set(as(parent.accessToken));
    expect(res.status).toBe(200);
    expect(res.body.children.map((c: { id: string }) => c.id)).toEqual([child.id]);
  });

  it('reads a child as its parent and as its own child session', async () => {
    const { parent, child, childToken } = await createFamily();
    const byParent = await api().get(`/${child.id}`).set(as(parent.accessToken));
    expect(byParent.status).toBe(200);
    expect(byParent.body.id).toBe(child.id);
    expect(byParent.body.notice).toBeUndefined();
    const bySelf = await api().get(`/${child.id}`).set(as(childToken));
    expect(bySelf.status).toBe(200);
    expect(bySelf.body.notice).toMatch(/can read your conversations/);
  });

  it('updates name, avatar, interests and settings (merged); age group follows birth_date', async () => {
    const { parent, child } = await createFamily({ birthDate: yearsAgo(5) });
    expect(child.ageGroup).toBe('wonder_cubs');
    const res = await api()
      .patch(`/${child.id}`)
      .set(as(parent.accessToken))
      .send({
        name: 'Renamed',
        avatarId: 'fox_2',
        interests: ['oceans', 'robots'],
        birthDate: yearsAgo(12),
        settings: { bedtime_start: '21:00' },
      });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'Renamed',
      avatarId: 'fox_2',
      interests: ['oceans', 'robots'],
      ageGroup: 'mind_masters',
      age: 12,
    });
    expect(res.body.settings).toMatchObject({
      bedtime_start: '21:00',
      bedtime_end: '07:00',
      daily_time_limit_minutes: 60,
    });
  });

  it('soft-deletes a child: gone from the API, row kept with deleted_at', async () => {
    const { parent, child } = await createFamily();
    expect((await api().delete(`/${child.id}`).set(as(parent.accessToken))).status).toBe(204);
    expect((await api().get(`/${child.id}`).set(as(parent.accessToken))).status).toBe(404);
    const { rows } = await db.pool.query('SELECT deleted_at FROM children WHERE id = $1', [
      child.id,
    ]);
    expect(rows[0]?.deleted_at).toBeInstanceOf(Date);
  });

  it('sets and clears a PIN (argon2id hashed)', async () => {
    const { parent, child } = await createFamily();
    const set = await api()
      .put(`/${child.id}/pin`)
      .set(as(parent.accessToken))
      .send({ pin: '4321' });
    expect(set.status).toBe(200);
    expect(set.body.hasPin).toBe(true);
    const { rows } = await db.pool.query<{ pin_hash: string }>(
      'SELECT pin_hash FROM children WHERE id = $1',
      [child.id],
    );
    expect(rows[0]?.pin_hash).toMatch(/^\$argon2id\$/);
    const cleared = await api().delete(`/${child.id}/pin`).set(as(parent.accessToken));
    expect(cleared.status).toBe(200);
    expect(cleared.body.hasPin).toBe(false);
  });

  it('opens a child session scoped to that child, telling the child the parent can read conversations', async () => {
    const { parent, child } = await createFamily();
    const res = await api().post(`/${child.id}/session`).set(as(parent.accessToken));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 3600,
      child: { id: child.id, name: child.name },
    });
    expect(res.body.notice).toMatch(/can read your conversations/);
    expect(await verifyAccessToken(res.body.accessToken)).toEqual({
      kind: 'child',
      childId: child.id,
      parentId: parent.id,
      sessionId: parent.sessionId,
      sessionVersion: 0,
    });
  });

  it('opens a session with the right PIN when one is set', async () => {
    const { parent, child } = await createFamily({ pin: '2468' });
    const res = await api()
      .post(`/${child.id}/session`)
      .set(as(parent.accessToken))
      .send({ pin: '2468' });
    expect(res.status).toBe(201);
  });
});

describe('consent', () => {
  it('refuses child features until coppa, terms and privacy are granted: 403 consent_required', async () => {
    const parent = await createParent();
    const res = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({ name: 'Kim', birthDate: yearsAgo(8) });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('consent_required');
    expect(res.body.missingConsents.map((m: { type: string }) => m.type).sort()).toEqual([
      'coppa',
      'privacy',
      'terms',
    ]);
    expect(await childCount(parent.id)).toBe(0);
  });

  it('stops child sessions at once when coppa is revoked', async () => {
    const { parent, child } = await createFamily();
    await revokeConsent(parent.id, 'coppa', {});
    const res = await api().post(`/${child.id}/session`).set(as(parent.accessToken));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('consent_required');
  });
});

describe('coppa revoked: children pending deletion, and undoing a deletion', () => {
  it('answers child routes with 403 consent_required and lists the children as pending deletion', async () => {
    const { parent, child, childToken } = await createFamily({ name: 'Rae' });
    await revokeConsent(parent.id, 'coppa', {});
    // The child's own session ended with the revocation (the session check: 401).
    expect((await api().get(`/${child.id}`).set(as(childToken))).status).toBe(401);
    for (const [token, path] of [
      [parent.accessToken, `/${child.id}`],
      [parent.accessToken, `/${child.id}/session`],
    ] as const) {
      const res = path.endsWith('session')
        ? await api().post(path).set(as(token))
        : await api().get(path).set(as(token));
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('consent_required');
    }
    const detail = await api().get(`/${child.id}`).set(as(parent.accessToken));
    expect(detail.body.pendingDeletion.deleteAfter).toBeTruthy();
    const list = await api().get('/').set(as(parent.accessToken));
    expect(list.status).toBe(200);
    expect(list.body.children).toEqual([]);
    expect(list.body.pendingDeletion).toEqual([
      {
        id: child.id,
        name: 'Rae',
        deletedAt: expect.any(String),
        deleteAfter: expect.any(String),
      },
    ]);
    const { deletedAt, deleteAfter } = list.body.pendingDeletion[0];
    expect(Date.parse(deleteAfter) - Date.parse(deletedAt)).toBe(30 * 24 * 3600 * 1000);
    // Another family's parent learns nothing: 404.
    const stranger = await consentingParent();
    expect((await api().get(`/${child.id}`).set(as(stranger.accessToken))).status).toBe(404);
  });

  it('restores a child within the grace period once consent is granted again, audited', async () => {
    const { parent, child } = await createFamily();
    await revokeConsent(parent.id, 'coppa', {});
    const early = await api().post(`/${child.id}/restore`).set(as(parent.accessToken));
    expect(early.status).toBe(403);
    expect(early.body.code).toBe('consent_required');
    await grantRequiredConsents(parent);
    const res = await api().post(`/${child.id}/restore`).set(as(parent.accessToken));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(child.id);
    expect((await api().get(`/${child.id}`).set(as(parent.accessToken))).status).toBe(200);
    const { rows } = await db.pool.query(
      `SELECT changed_by, changed_columns FROM audit_log
        WHERE table_name = 'children' AND row_id = $1 AND action = 'UPDATE' ORDER BY changed_at`,
      [child.id],
    );
    expect(rows.at(-1)).toEqual({
      changed_by: `parent:${parent.id}`,
      changed_columns: ['deleted_at'],
    });
    // Nothing left to restore.
    expect((await api().post(`/${child.id}/restore`).set(as(parent.accessToken))).status).toBe(404);
  });

  it('restores a child the parent deleted, but not after the grace period or for another family', async () => {
    const { parent, child } = await createFamily();
    const other = await createChild(parent);
    expect((await api().delete(`/${child.id}`).set(as(parent.accessToken))).status).toBe(204);
    expect((await api().delete(`/${other.id}`).set(as(parent.accessToken))).status).toBe(204);
    // A deleted child is simply gone while consent is live: 404, and listed as pending.
    expect((await api().get(`/${child.id}`).set(as(parent.accessToken))).status).toBe(404);
    const stranger = await consentingParent();
    expect((await api().post(`/${child.id}/restore`).set(as(stranger.accessToken))).status).toBe(
      404,
    );
    await db.pool.query(
      "UPDATE children SET deleted_at = NOW() - INTERVAL '31 days' WHERE id = $1",
      [other.id],
    );
    expect((await api().post(`/${other.id}/restore`).set(as(parent.accessToken))).status).toBe(404);
    expect((await api().post(`/${child.id}/restore`).set(as(parent.accessToken))).status).toBe(200);
    const list = await api().get('/').set(as(parent.accessToken));
    expect(list.body.children.map((c: { id: string }) => c.id)).toEqual([child.id]);
    expect(list.body.pendingDeletion).toEqual([]);
  });

  it('keeps the 4-child limit when restoring', async () => {
    const { parent, child } = await createFamily();
    expect((await api().delete(`/${child.id}`).set(as(parent.accessToken))).status).toBe(204);
    for (let i = 0; i < 4; i++) await createChild(parent);
    const res = await api().post(`/${child.id}/restore`).set(as(parent.accessToken));
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('child_limit_reached');
  });
});

describe('bad input: 4xx problem+json, never 500, nothing written', () => {
  const cases: [string, unknown, number, string][] = [
    ['a missing name', { birthDate: '2016-01-01' }, 400, 'validation_failed'],
    ['a missing birth date', { name: 'Al' }, 400, 'validation_failed'],
    ['a mistyped birth date', { name: 'Al', birthDate: 20160101 }, 400, 'validation_failed'],
    ['an impossible date', { name: 'Al', birthDate: '2016-02-31' }, 400, 'validation_failed'],
    // Matches YYYY-MM-DD, but there is no year 0 (PostgreSQL refused it: 500).
    ['year 0', { name: 'Al', birthDate: '0000-01-01' }, 400, 'validation_failed'],
    [
      'a mistyped interests list',
      { name: 'Al', birthDate: '2016-01-01', interests: 'space' },
      400,
      'validation_failed',
    ],
    [
      'an unknown setting',
      { name: 'Al', birthDate: '2016-01-01', settings: { is_admin: true } },
      400,
      'validation_failed',
    ],
    [
      'a bad bedtime',
      { name: 'Al', birthDate: '2016-01-01', settings: { bedtime_start: '25:00' } },
      400,
      'validation_failed',
    ],
    ['an age of 3', { name: 'Al', birthDate: yearsAgo(4, -1) }, 422, 'age_out_of_range'],
    ['an age of 15', { name: 'Al', birthDate: yearsAgo(15) }, 422, 'age_out_of_range'],
    [
      'a birth date in the future',
      { name: 'Al', birthDate: yearsAgo(-1) },
      422,
      'age_out_of_range',
    ],
  ];
  for (const [label, body, status, code] of cases) {
    it(`refuses ${label}: ${status} ${code}`, async () => {
      const parent = await consentingParent();
      const res = await api()
        .post('/')
        .set(as(parent.accessToken))
        .send(body as object);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe(code);
      expect(await childCount(parent.id)).toBe(0);
    });
  }

  it('refuses malformed JSON (400) and bodies over 100 KB (413)', async () => {
    const parent = await consentingParent();
    const malformed = await api()
      .post('/')
      .set(as(parent.accessToken))
      .set('content-type', 'application/json')
      .send('{"name":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_json');
    const huge = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({
        name: 'Al',
        birthDate: '2016-01-01',
        interests: Array.from({ length: 3000 }, () => 'x'.repeat(40)),
      });
    expect(huge.status).toBe(413);
    expect(await childCount(parent.id)).toBe(0);
  });

  it('refuses an update to an out-of-range birth date and leaves the child unchanged', async () => {
    const { parent, child } = await createFamily({ birthDate: yearsAgo(9) });
    const res = await api()
      .patch(`/${child.id}`)
      .set(as(parent.accessToken))
      .send({ birthDate: yearsAgo(2), name: 'New' });
    expect(res.status).toBe(422);
    const { rows } = await db.pool.query('SELECT name, age_group FROM children WHERE id = $1', [
      child.id,
    ]);
    expect(rows[0]).toMatchObject({ name: child.name, age_group: 'curious_explorers' });
  });

  it('refuses an empty update, a bad child id, and a bad PIN', async () => {
    const { parent, child } = await createFamily();
    expect((await api().patch(`/${child.id}`).set(as(parent.accessToken)).send({})).status).toBe(
      400,
    );
    expect((await api().get('/not-a-uuid').set(as(parent.accessToken))).status).toBe(400);
    for (const pin of ['12', '1234567', 'abcd', 1234]) {
      const res = await api().put(`/${child.id}/pin`).set(as(parent.accessToken)).send({ pin });
      expect(res.status).toBe(400);
    }
    const { rows } = await db.pool.query('SELECT pin_hash FROM children WHERE id = $1', [child.id]);
    expect(rows[0]?.pin_hash).toBeNull();
  });

  it('asks for the PIN when one is set and refuses a wrong one: 403 invalid_pin', async () => {
    const { parent, child } = await createFamily({ pin: '1357' });
    const missing = await api().post(`/${child.id}/session`).set(as(parent.accessToken)).send({});
    expect(missing.status).toBe(403);
    expect(missing.body.code).toBe('invalid_pin');
    const wrong = await api()
      .post(`/${child.id}/session`)
      .set(as(parent.accessToken))
      .send({ pin: '0000' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('invalid_pin');
  });
});

describe('limits', () => {
  it('refuses a fifth live child: 409 child_limit_reached; a deleted child frees its slot', async () => {
    const parent = await consentingParent();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createChild(parent)).id);
    const fifth = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({ name: 'Five', birthDate: yearsAgo(8) });
    expect(fifth.status).toBe(409);
    expect(fifth.body.code).toBe('child_limit_reached');
    await api().delete(`/${ids[0]}`).set(as(parent.accessToken));
    const again = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({ name: 'Five', birthDate: yearsAgo(8) });
    expect(again.status).toBe(201);
  });

  it('8 parallel child creations for one parent: exactly 4 succeed', async () => {
    const parent = await consentingParent();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api()
          .post('/')
          .set(as(parent.accessToken))
          .send({ name: `Racer ${i}`, birthDate: yearsAgo(9) }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(4);
    expect(
      results.filter((r) => r.status === 409 && r.body.code === 'child_limit_reached'),
    ).toHaveLength(4);
    expect(await childCount(parent.id)).toBe(4);
  });

  it('brute force: the sixth wrong PIN within 15 minutes is refused even with the right PIN', async () => {
    const { parent, child } = await createFamily({ pin: '8642' });
    for (let i = 0; i < 5; i++) {
      const res = await api()
        .post(`/${child.id}/session`)
        .set(as(parent.accessToken))
        .send({ pin: `000${i}` });
      expect(res.status).toBe(403);
    }
    const locked = await api()
      .post(`/${child.id}/session`)
      .set(as(parent.accessToken))
      .send({ pin: '8642' });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('rate_limited');
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
  });

  it('10 parallel PIN guesses: at most 5 are checked, the rest are refused with 429', async () => {
    const { parent, child } = await createFamily({ pin: '7531' });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api()
          .post(`/${child.id}/session`)
          .set(as(parent.accessToken))
          .send({ pin: `100${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 403)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
  });

  it('a locked child does not lock the parent or a sibling', async () => {
    const { parent, child } = await createFamily({ pin: '1111' });
    const sibling = await createChild(parent, { pin: '2222' });
    for (let i = 0; i < 6; i++) {
      await api().post(`/${child.id}/session`).set(as(parent.accessToken)).send({ pin: '9999' });
    }
    expect(
      (await api().post(`/${child.id}/session`).set(as(parent.accessToken)).send({ pin: '1111' }))
        .status,
    ).toBe(429);
    expect((await api().get('/').set(as(parent.accessToken))).status).toBe(200);
    const siblingSession = await api()
      .post(`/${sibling.id}/session`)
      .set(as(parent.accessToken))
      .send({ pin: '2222' });
    expect(siblingSession.status).toBe(201);
  });

  it('right PINs do not count towards the lock', async () => {
    const { parent, child } = await createFamily({ pin: '5555' });
    for (let i = 0; i < 7; i++) {
      const res = await api()
        .post(`/${child.id}/session`)
        .set(as(parent.accessToken))
        .send({ pin: '5555' });
      expect(res.status).toBe(201);
    }
  });
});

describe('audit', () => {
  it('records create, update, PIN change and delete of a child, by the parent, without the PIN hash', async () => {
    const { parent, child } = await createFamily();
    await api().patch(`/${child.id}`).set(as(parent.accessToken)).send({ name: 'Audited' });
    await api().put(`/${child.id}/pin`).set(as(parent.accessToken)).send({ pin: '7777' });
    await api().delete(`/${child.id}`).set(as(parent.accessToken));
    const { rows } = await db.pool.query<{
      action: string;
      changed_by: string;
      changed_columns: string[] | null;
    }>(
      `SELECT action, changed_by, changed_columns, old_values, new_values FROM audit_log
        WHERE table_name = 'children' AND row_id = $1 ORDER BY changed_at, action`,
      [child.id],
    );
    expect(rows.map((r) => r.action)).toEqual(['INSERT', 'UPDATE', 'UPDATE', 'UPDATE']);
    expect(rows.every((r) => r.changed_by === `parent:${parent.id}`)).toBe(true);
    expect(rows[1]?.changed_columns).toEqual(['name']);
    expect(rows[2]?.changed_columns).toEqual(['pin_hash', 'session_version']);
    expect(rows[3]?.changed_columns).toEqual(['deleted_at']);
    expect(JSON.stringify(rows)).not.toContain('argon2');
  });
});
