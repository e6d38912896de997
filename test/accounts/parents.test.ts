// The parents function: profile, settings merge, time zones, export, account deletion.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { watchQueryOverlaps } from '../helpers/pg-overlaps.ts';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import '../../functions/parents/index.ts';
import {
  createChild,
  createFamily,
  createParent,
  setupAccountsTest,
  teardownAccountsTest,
} from '../helpers/factories.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

const api = () => request(getTestServer('parents'));
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const parentRow = async (id: string) =>
  (
    await db.pool.query(
      'SELECT display_name, timezone, locale, settings, deleted_at FROM parents WHERE id = $1',
      [id],
    )
  ).rows[0];

describe('happy paths', () => {
  it('reads the signed-in parent in camelCase, without secrets', async () => {
    const parent = await createParent({ displayName: 'Robin' });
    const res = await api().get('/me').set(as(parent.accessToken));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: parent.id,
      email: parent.email,
      displayName: 'Robin',
      timezone: 'UTC',
      locale: 'en-US',
    });
    expect(res.body.settings.notifications).toMatchObject({ email_digest: true });
    expect(JSON.stringify(res.body)).not.toMatch(/password|hash/i);
  });

  it('updates display name, time zone and locale; settings are deep-merged', async () => {
    const parent = await createParent();
    const res = await api()
      .patch('/me')
      .set(as(parent.accessToken))
      .send({
        displayName: 'Sam',
        timezone: 'America/New_York',
        locale: 'fr-CA',
        settings: { notifications: { push_enabled: false }, theme: { dark: true } },
      });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      displayName: 'Sam',
      timezone: 'America/New_York',
      locale: 'fr-CA',
    });
    expect(res.body.settings).toEqual({
      notifications: { email_digest: true, push_enabled: false, streak_reminders: true },
      privacy: { analytics_opt_in: false, share_anonymous_data: false },
      theme: { dark: true },
    });
    const again = await api()
      .patch('/me')
      .set(as(parent.accessToken))
      .send({ settings: { theme: { font: 'large' } } });
    expect(again.body.settings.theme).toEqual({ dark: true, font: 'large' });
    expect(again.body.displayName).toBe('Sam');
  });

  it('stores time zones by their canonical IANA name; UTC is accepted', async () => {
    const parent = await createParent();
    const lower = await api()
      .patch('/me')
      .set(as(parent.accessToken))
      .send({ timezone: 'europe/london' });
    expect(lower.status).toBe(200);
    expect(lower.body.timezone).toBe('Europe/London');
    const utc = await api().patch('/me').set(as(parent.accessToken)).send({ timezone: 'UTC' });
    expect(utc.body.timezone).toBe('UTC');
  });

  it('clears the display name with null', async () => {
    const parent = await createParent({ displayName: 'Temp' });
    const res = await api().patch('/me').set(as(parent.accessToken)).send({ displayName: null });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBeNull();
  });

  it('exports all family data as JSON, without password or PIN hashes', async () => {
    const { parent, child } = await createFamily({ pin: '1234' });
    const res = await api().get('/me/export').set(as(parent.accessToken));
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/attachment/);
    expect(res.body.parent.id).toBe(parent.id);
    expect(res.body.children).toHaveLength(1);
    expect(res.body.children[0]).toMatchObject({ id: child.id, has_pin: true });
    expect(res.body.consents.map((c: { consent_type: string }) => c.consent_type).sort()).toEqual([
      'coppa',
      'privacy',
      'terms',
    ]);
    for (const key of [
      'conversations',
      'messages',
      'progress',
      'streaks',
      'rewards',
      'dailyActivity',
      'cognitiveMetrics',
      'alerts',
    ]) {
      expect(Array.isArray(res.body[key])).toBe(true);
    }
    // No hash anywhere; the audit trail names a changed PIN column (pin_hash), never its value.
    expect(JSON.stringify(res.body)).not.toMatch(
      /argon2|"password_hash":|"pin_hash":|"token_hash":/,
    );
  });

  it('exports in one statement: one snapshot, nothing queued on a busy connection', async () => {
    const { parent } = await createFamily();
    const watch = watchQueryOverlaps();
    try {
      const res = await api().get('/me/export').set(as(parent.accessToken));
      expect(res.status).toBe(200);
    } finally {
      watch.stop();
    }
    // The session check rides in the same statement.
    expect(watch.calls()).toBe(1);
    expect(watch.overlaps()).toBe(0);
  });

  it('deletes the account: parent and children soft-deleted, every token revoked, sign-in refused', async () => {
    const { parent, child } = await createFamily();
    const sibling = await createChild(parent);
    const res = await api().delete('/me').set(as(parent.accessToken));
    expect(res.status).toBe(204);
    expect((await parentRow(parent.id))?.deleted_at).toBeInstanceOf(Date);
    const kids = await db.pool.query('SELECT deleted_at FROM children WHERE id = ANY($1::uuid[])', [
      [child.id, sibling.id],
    ]);
    expect(kids.rows.every((r) => r.deleted_at instanceof Date)).toBe(true);
    const live = await db.pool.query(
      'SELECT 1 FROM refresh_tokens WHERE parent_id = $1 AND revoked_at IS NULL',
      [parent.id],
    );
    expect(live.rowCount).toBe(0);
    // The still-unexpired access token no longer reaches anything: its sign-in ended (401,
    // checked in the same statement as the read, before any 404).
    const me = await api().get('/me').set(as(parent.accessToken));
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('invalid_token');
    const login = await request(getTestServer('auth'))
      .post('/login')
      .send({ email: parent.email, password: parent.password });
    expect(login.status).toBe(401);
    // The email can be used again for a new account.
    const signup = await request(getTestServer('auth'))
      .post('/signup')
      .send({ email: parent.email, password: 'a brand new password' });
    expect(signup.status).toBe(201);
  });
});

describe('bad input: 4xx problem+json, nothing written', () => {
  const nested = (depth: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
    return value;
  };
  const cases: [string, unknown][] = [
    // 5,000 levels fit in 10 KB and used to overflow the validator's stack: 500.
    [
      'settings nested 5,000 levels deep (raw JSON)',
      `{"settings":{"deep":${'['.repeat(5000)}${']'.repeat(5000)}}}`,
    ],
    ['settings nested deeper than 8 levels', { settings: { deep: nested(8) } }],
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }],
    ['a non-IANA time zone', { timezone: 'EST5EDT_nope' }],
    ['an abbreviation', { timezone: 'EST' }],
    ['an offset', { timezone: '+05:00' }],
    ['a mistyped time zone', { timezone: 3 }],
    ['an empty display name', { displayName: '' }],
    ['a too long display name', { displayName: 'x'.repeat(101) }],
    ['a bad locale', { locale: 'English' }],
    ['settings that are not an object', { settings: [1, 2] }],
    ['an unknown field', { email: 'new@example.test' }],
    ['an empty update', {}],
  ];
  for (const [label, body] of cases) {
    it(`refuses ${label}: 400`, async () => {
      const parent = await createParent({ displayName: 'Keep' });
      const before = await parentRow(parent.id);
      const res = await api()
        .patch('/me')
        .set(as(parent.accessToken))
        .set('content-type', 'application/json')
        .send(typeof body === 'string' ? body : JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(await parentRow(parent.id)).toEqual(before);
    });
  }

  it('refuses settings that would grow past 64 KB when merged: 400, nothing written', async () => {
    const parent = await createParent();
    const chunk = (prefix: string) =>
      Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`${prefix}${i}`, 'x'.repeat(1000)]));
    for (const prefix of ['a', 'b']) {
      const res = await api()
        .patch('/me')
        .set(as(parent.accessToken))
        .send({ settings: { [prefix]: chunk(prefix) } });
      expect(res.status).toBe(200);
    }
    const before = await parentRow(parent.id);
    const res = await api()
      .patch('/me')
      .set(as(parent.accessToken))
      .send({ settings: { c: chunk('c') } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([{ path: 'body.settings', message: expect.any(String) }]);
    expect(await parentRow(parent.id)).toEqual(before);
  });

  it('refuses malformed JSON (400) and oversized bodies (413)', async () => {
    const parent = await createParent();
    const before = await parentRow(parent.id);
    const malformed = await api()
      .patch('/me')
      .set(as(parent.accessToken))
      .set('content-type', 'application/json')
      .send('{"x"');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_json');
    const huge = await api()
      .patch('/me')
      .set(as(parent.accessToken))
      .send({ settings: { blob: 'x'.repeat(101 * 1024) } });
    expect(huge.status).toBe(413);
    expect(await parentRow(parent.id)).toEqual(before);
  });
});

describe('audit', () => {
  it('records profile changes and deletion (with its children) as done by the parent', async () => {
    const { parent, child } = await createFamily();
    await api().patch('/me').set(as(parent.accessToken)).send({ timezone: 'Asia/Tokyo' });
    await api().delete('/me').set(as(parent.accessToken));
    const { rows } = await db.pool.query(
      "SELECT action, changed_by, changed_columns FROM audit_log WHERE table_name = 'parents' AND row_id = $1 ORDER BY changed_at",
      [parent.id],
    );
    expect(rows.map((r) => r.action)).toEqual(['INSERT', 'UPDATE', 'UPDATE']);
    expect(rows.every((r) => r.changed_by === `parent:${parent.id}`)).toBe(true);
    expect(rows[1]?.changed_columns).toEqual(['timezone']);
    expect(rows[2]?.changed_columns).toEqual(['deleted_at']);
    const childRows = await db.pool.query(
      "SELECT action, changed_by, changed_columns FROM audit_log WHERE table_name = 'children' AND row_id = $1 ORDER BY changed_at",
      [child.id],
    );
    expect(childRows.rows.at(-1)).toMatchObject({
      action: 'UPDATE',
      changed_by: `parent:${parent.id}`,
      changed_columns: ['deleted_at'],
    });
  });
});
