// The consents function: list, grant (current version, IP, user agent), revoke; append-only.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import '../../functions/consents/index.ts';
import { requireChildFeaturesConsent } from '../../shared/accounts/consents.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import { isAppError } from '../../shared/errors.ts';
import {
  createFamily,
  createParent,
  grantRequiredConsents,
  setupAccountsTest,
  teardownAccountsTest,
} from '../helpers/factories.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

const api = () => request(getTestServer('consents'));
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const consentRows = async (parentId: string) =>
  (
    await db.pool.query(
      'SELECT consent_type, version, granted_at, revoked_at, host(ip_address) AS ip, user_agent FROM consents WHERE parent_id = $1 ORDER BY created_at',
      [parentId],
    )
  ).rows;

async function consentError(parentId: string): Promise<unknown> {
  try {
    await requireChildFeaturesConsent(parentId);
    return null;
  } catch (err) {
    return err;
  }
}

describe('happy paths', () => {
  it('grants a consent at the current version, recording IP and user agent: 201', async () => {
    const parent = await createParent();
    const res = await api()
      .post('/')
      .set(as(parent.accessToken))
      .set('user-agent', 'BrainSparkApp/1.0')
      .set('x-forwarded-for', '203.0.113.7')
      .send({ type: 'coppa' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'coppa',
      version: '2025-06',
      revokedAt: null,
      ipAddress: '203.0.113.7',
      userAgent: 'BrainSparkApp/1.0',
    });
    expect(res.body.grantedAt).toBeTruthy();
  });

  it('records no address (rather than failing) when the forwarded one is not an IP', async () => {
    for (const type of ['terms', 'privacy', 'marketing'] as const) {
      const parent = await createParent();
      const forwarded = { terms: '999.1.1.1', privacy: '1.2.3.4.5', marketing: ':::' }[type];
      const res = await api()
        .post('/')
        .set(as(parent.accessToken))
        .set('x-forwarded-for', forwarded)
        .send({ type });
      expect(res.status, forwarded).toBe(201);
      expect(res.body.ipAddress).toBeNull();
    }
  });

  it('granting the same version again changes nothing: 200 with the existing grant', async () => {
    const parent = await createParent();
    const first = await api().post('/').set(as(parent.accessToken)).send({ type: 'terms' });
    const second = await api().post('/').set(as(parent.accessToken)).send({ type: 'terms' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(await consentRows(parent.id)).toHaveLength(1);
  });

  it('lists the status of every consent type and the full history', async () => {
    const parent = await createParent();
    await grantRequiredConsents(parent);
    const res = await api().get('/').set(as(parent.accessToken));
    expect(res.status).toBe(200);
    const byType = Object.fromEntries(res.body.status.map((s: { type: string }) => [s.type, s]));
    expect(byType.coppa).toMatchObject({
      granted: true,
      required: true,
      currentVersion: '2025-06',
    });
    expect(byType.marketing).toMatchObject({ granted: false, required: false });
    expect(res.body.history).toHaveLength(3);
  });

  it('revokes: records the revocation as its own event (time, IP, user agent), the grant row untouched, child features stop', async () => {
    const parent = await createParent();
    await grantRequiredConsents(parent);
    expect(await consentError(parent.id)).toBeNull();
    const before = await consentRows(parent.id);
    const res = await api()
      .delete('/coppa')
      .set(as(parent.accessToken))
      .set('user-agent', 'RevokeBrowser/1.0')
      .set('x-forwarded-for', '203.0.113.9');
    expect(res.status).toBe(200);
    expect(res.body.revoked).toHaveLength(1);
    expect(res.body.revoked[0].revokedAt).toBeTruthy();
    expect(res.body.revoked[0].revokedUserAgent).toBe('RevokeBrowser/1.0');
    const err = await consentError(parent.id);
    expect(isAppError(err) && err.code).toBe('consent_required');
    // The grant rows are exactly as they were; the revocation is a row of its own.
    expect(await consentRows(parent.id)).toEqual(before);
    const { rows: events } = await db.pool.query(
      `SELECT r.consent_id, r.revoked_at, host(r.ip_address) AS ip, r.user_agent, c.consent_type
         FROM consent_revocations r JOIN consents c ON c.id = r.consent_id WHERE r.parent_id = $1`,
      [parent.id],
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ consent_type: 'coppa', user_agent: 'RevokeBrowser/1.0' });
    expect(events[0].revoked_at).toBeInstanceOf(Date);
    expect(events[0].ip === null || typeof events[0].ip === 'string').toBe(true);
    // The history shows the revocation; a second revoke finds nothing live.
    const list = await api().get('/').set(as(parent.accessToken));
    const coppaHistory = list.body.history.filter((h: { type: string }) => h.type === 'coppa');
    expect(coppaHistory[0].revokedAt).toBe(res.body.revoked[0].revokedAt);
    expect((await api().delete('/coppa').set(as(parent.accessToken))).status).toBe(404);
    // A re-grant is a new row; the revoked one stays as it was.
    expect((await api().post('/').set(as(parent.accessToken)).send({ type: 'coppa' })).status).toBe(
      201,
    );
    const coppa = (await consentRows(parent.id)).filter((r) => r.consent_type === 'coppa');
    expect(coppa).toHaveLength(2);
    expect(await consentError(parent.id)).toBeNull();
    expect((await api().post('/').set(as(parent.accessToken)).send({ type: 'coppa' })).status).toBe(
      200,
    );
  });

  it('requires the current versions: a new terms version needs a new grant', async () => {
    const parent = await createParent();
    await grantRequiredConsents(parent);
    process.env.CONSENT_VERSION_TERMS = '2026-01';
    resetConfigForTests();
    try {
      const err = await consentError(parent.id);
      expect(isAppError(err) && err.details?.missingConsents).toEqual([
        { type: 'terms', version: '2026-01' },
      ]);
      const res = await api().post('/').set(as(parent.accessToken)).send({ type: 'terms' });
      expect(res.body.version).toBe('2026-01');
      expect(await consentError(parent.id)).toBeNull();
    } finally {
      delete process.env.CONSENT_VERSION_TERMS;
      resetConfigForTests();
    }
  });
});

describe('concurrency', () => {
  it('6 parallel grants of one consent: one row, one 201, the rest 200', async () => {
    const parent = await createParent();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        api().post('/').set(as(parent.accessToken)).send({ type: 'privacy' }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await consentRows(parent.id)).toHaveLength(1);
  });
});

describe('revoking coppa', () => {
  it('stops child features and schedules every child of the family for deletion', async () => {
    const { parent, child } = await createFamily();
    const other = await createFamily();
    const res = await api().delete('/coppa').set(as(parent.accessToken));
    expect(res.status).toBe(200);
    expect(res.body.childrenScheduledForDeletion).toBe(1);
    const { rows } = await db.pool.query(
      'SELECT id, deleted_at FROM children WHERE id = ANY($1::uuid[])',
      [[child.id, other.child.id]],
    );
    const deletedAt = Object.fromEntries(rows.map((r) => [r.id, r.deleted_at]));
    expect(deletedAt[child.id]).toBeInstanceOf(Date);
    expect(deletedAt[other.child.id]).toBeNull();
    const err = await consentError(parent.id);
    expect(isAppError(err) && err.code).toBe('consent_required');
  });

  it('revoking marketing leaves the children alone', async () => {
    const { parent, child } = await createFamily();
    await api().post('/').set(as(parent.accessToken)).send({ type: 'marketing' });
    const res = await api().delete('/marketing').set(as(parent.accessToken));
    expect(res.body.childrenScheduledForDeletion).toBe(0);
    const { rows } = await db.pool.query('SELECT deleted_at FROM children WHERE id = $1', [
      child.id,
    ]);
    expect(rows[0]?.deleted_at).toBeNull();
  });
});

describe('bad input', () => {
  const cases: [string, unknown][] = [
    ['a missing type', {}],
    ['an unknown type', { type: 'everything' }],
    ['a mistyped type', { type: 1 }],
    ['a client-chosen version', { type: 'coppa', version: '1999-01' }],
  ];
  for (const [label, body] of cases) {
    it(`refuses ${label}: 400, nothing written`, async () => {
      const parent = await createParent();
      const res = await api()
        .post('/')
        .set(as(parent.accessToken))
        .send(body as object);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(await consentRows(parent.id)).toHaveLength(0);
    });
  }

  it('refuses malformed and oversized bodies, an unknown type to revoke, and revoking nothing', async () => {
    const parent = await createParent();
    const malformed = await api()
      .post('/')
      .set(as(parent.accessToken))
      .set('content-type', 'application/json')
      .send('{');
    expect(malformed.status).toBe(400);
    const huge = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({ type: 'coppa', pad: 'x'.repeat(101 * 1024) });
    expect(huge.status).toBe(413);
    expect((await api().delete('/everything').set(as(parent.accessToken))).status).toBe(400);
    const nothing = await api().delete('/marketing').set(as(parent.accessToken));
    expect(nothing.status).toBe(404);
    expect(await consentRows(parent.id)).toHaveLength(0);
  });
});

describe('audit', () => {
  it('records every grant and revocation, by the parent', async () => {
    const parent = await createParent();
    const granted = await api()
      .post('/')
      .set(as(parent.accessToken))
      .send({ type: 'data_sharing' });
    await api().delete('/data_sharing').set(as(parent.accessToken));
    const { rows } = await db.pool.query(
      "SELECT action, changed_by, changed_columns FROM audit_log WHERE table_name = 'consents' AND row_id = $1 ORDER BY changed_at",
      [granted.body.id],
    );
    expect(rows).toEqual([
      { action: 'INSERT', changed_by: `parent:${parent.id}`, changed_columns: [] },
    ]);
    const revocation = await db.pool.query(
      `SELECT a.action, a.changed_by FROM audit_log a JOIN consent_revocations r ON r.id = a.row_id
        WHERE a.table_name = 'consent_revocations' AND r.consent_id = $1`,
      [granted.body.id],
    );
    expect(revocation.rows).toEqual([{ action: 'INSERT', changed_by: `parent:${parent.id}` }]);
  });
});
