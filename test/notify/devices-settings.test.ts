// Parent routes of issue 13: push devices, notification settings validation, and the new
// tables in export and account deletion.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import '../../functions/parents/index.ts';
import { MAX_DEVICES_PER_PARENT } from '../../shared/notify/devices.ts';
import { createParent, setupAccountsTest, teardownAccountsTest } from '../helpers/factories.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

const api = () => request(getTestServer('parents'));
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const token = (n = 0) => `fcm_${n}_${'a1B2-c3:D4'.repeat(16)}`;

describe('POST /me/devices', () => {
  it('registers a token (201), and registering it again refreshes it (200, same id)', async () => {
    const parent = await createParent();
    const first = await api()
      .post('/me/devices')
      .set(as(parent.accessToken))
      .send({ platform: 'ios', token: token(1) });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ platform: 'ios' });
    expect(JSON.stringify(first.body)).not.toContain(token(1));
    const again = await api()
      .post('/me/devices')
      .set(as(parent.accessToken))
      .send({ platform: 'ios', token: token(1) });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const list = await api().get('/me/devices').set(as(parent.accessToken));
    expect(list.body.devices).toHaveLength(1);
  });

  it('moves a token to the parent who registers it last (one install, one account)', async () => {
    const a = await createParent();
    const b = await createParent();
    await api()
      .post('/me/devices')
      .set(as(a.accessToken))
      .send({ platform: 'android', token: token(2) });
    await api()
      .post('/me/devices')
      .set(as(b.accessToken))
      .send({ platform: 'android', token: token(2) });
    const { rows } = await db.pool.query(
      'SELECT parent_id FROM parent_devices WHERE fcm_token = $1',
      [token(2)],
    );
    expect(rows).toEqual([{ parent_id: b.id }]);
  });

  it(`keeps at most ${MAX_DEVICES_PER_PARENT} devices, dropping the least recently seen`, async () => {
    const parent = await createParent();
    for (let i = 0; i < MAX_DEVICES_PER_PARENT + 2; i++) {
      await api()
        .post('/me/devices')
        .set(as(parent.accessToken))
        .send({ platform: 'web', token: token(100 + i) });
      await db.pool.query(
        `UPDATE parent_devices SET last_seen_at = NOW() - make_interval(mins => $2) WHERE fcm_token = $1`,
        [token(100 + i), 100 - i],
      );
    }
    const { rows } = await db.pool.query(
      'SELECT fcm_token FROM parent_devices WHERE parent_id = $1',
      [parent.id],
    );
    expect(rows).toHaveLength(MAX_DEVICES_PER_PARENT);
    expect(rows.map((r) => r.fcm_token)).not.toContain(token(100));
  });

  it.each([
    [{ platform: 'blackberry', token: token(3) }],
    [{ platform: 'ios', token: 'short' }],
    [{ platform: 'ios', token: `${token(3)} DROP` }],
    [{ platform: 'ios', token: 'x'.repeat(1025) }],
    [{ platform: 'ios' }],
    [{ platform: 'ios', token: token(3), extra: true }],
  ])('refuses %j with 400', async (body) => {
    const parent = await createParent();
    const res = await api().post('/me/devices').set(as(parent.accessToken)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });
});

describe('DELETE /me/devices/:id', () => {
  it("removes the parent's own device, and 404s another parent's", async () => {
    const a = await createParent();
    const b = await createParent();
    const created = await api()
      .post('/me/devices')
      .set(as(a.accessToken))
      .send({ platform: 'ios', token: token(4) });
    const foreign = await api().delete(`/me/devices/${created.body.id}`).set(as(b.accessToken));
    expect(foreign.status).toBe(404);
    const own = await api().delete(`/me/devices/${created.body.id}`).set(as(a.accessToken));
    expect(own.status).toBe(204);
    expect(
      (await api().delete(`/me/devices/${created.body.id}`).set(as(a.accessToken))).status,
    ).toBe(404);
    expect((await api().delete('/me/devices/not-a-uuid').set(as(a.accessToken))).status).toBe(400);
  });
});

describe('PATCH /me notification settings', () => {
  it('accepts the three switches as booleans', async () => {
    const parent = await createParent();
    const res = await api()
      .patch('/me')
      .set(as(parent.accessToken))
      .send({ settings: { notifications: { email_digest: false, streak_reminders: false } } });
    expect(res.status).toBe(200);
    expect(res.body.settings.notifications).toEqual({
      email_digest: false,
      push_enabled: true,
      streak_reminders: false,
    });
  });

  it.each([
    [{ notifications: { email_digest: 'no' } }, 'body.settings.notifications.email_digest'],
    [{ notifications: { sms: true } }, 'body.settings.notifications'],
    [{ notifications: 'off' }, 'body.settings.notifications'],
  ])('refuses %j', async (settings, path) => {
    const parent = await createParent();
    const res = await api().patch('/me').set(as(parent.accessToken)).send({ settings });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});

describe('export and deletion', () => {
  it('exports devices without their tokens, and the delivery log', async () => {
    const parent = await createParent();
    await api()
      .post('/me/devices')
      .set(as(parent.accessToken))
      .send({ platform: 'android', token: token(5) });
    await db.pool.query(
      `INSERT INTO notification_deliveries (parent_id, dedupe_key, kind, channel, status) VALUES ($1, $2, 'digest', 'email', 'sent')`,
      [parent.id, `digest:${parent.id}:2020-01-05:email`],
    );
    const res = await api().get('/me/export').set(as(parent.accessToken));
    expect(res.status).toBe(200);
    expect(res.body.devices).toEqual([expect.objectContaining({ platform: 'android' })]);
    expect(JSON.stringify(res.body)).not.toContain(token(5));
    expect(res.body.notificationDeliveries).toEqual([
      expect.objectContaining({ kind: 'digest', status: 'sent' }),
    ]);
  });

  it('deleting the account removes its devices at once; hard deletion cascades the rest', async () => {
    const parent = await createParent();
    await api()
      .post('/me/devices')
      .set(as(parent.accessToken))
      .send({ platform: 'ios', token: token(6) });
    await db.pool.query(
      `INSERT INTO notification_deliveries (parent_id, dedupe_key, kind, channel, status) VALUES ($1, $2, 'alert', 'push', 'sent')`,
      [parent.id, `alert:${parent.id}:x`],
    );
    expect((await api().delete('/me').set(as(parent.accessToken))).status).toBe(204);
    expect(
      (await db.pool.query('SELECT 1 FROM parent_devices WHERE parent_id = $1', [parent.id]))
        .rowCount,
    ).toBe(0);
    await db.pool.query('DELETE FROM parents WHERE id = $1', [parent.id]);
    expect(
      (
        await db.pool.query('SELECT 1 FROM notification_deliveries WHERE parent_id = $1', [
          parent.id,
        ])
      ).rowCount,
    ).toBe(0);
  });
});
