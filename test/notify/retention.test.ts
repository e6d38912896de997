// The retention schedule for the notification tables (docs/RETENTION.md): devices unseen for
// 270 days and delivery log rows older than 90 days go; newer ones stay.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useDatabasePool } from '../../shared/db/client.ts';
import { runDataRetention } from '../../shared/jobs/data-retention.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { insertParent } from '../jobs/fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
});
afterAll(() => db.drop());

it('deletes devices unseen for 270 days and delivery rows older than 90 days, nothing newer', async () => {
  const at = new Date();
  const daysAgo = (n: number) => new Date(at.getTime() - n * 86_400_000);
  const parentId = await insertParent(db.pool);
  for (const [token, seen] of [
    ['stale-token-0123456789', 271],
    ['fresh-token-0123456789', 269],
  ] as const) {
    await db.pool.query(
      `INSERT INTO parent_devices (parent_id, platform, fcm_token, created_at, last_seen_at) VALUES ($1, 'ios', $2, $3, $3)`,
      [parentId, token, daysAgo(seen)],
    );
  }
  for (const [key, age] of [
    ['old', 91],
    ['recent', 89],
  ] as const) {
    await db.pool.query(
      `INSERT INTO notification_deliveries (parent_id, dedupe_key, kind, channel, status, created_at)
       VALUES ($1, $2, 'alert', 'email', 'sent', $3)`,
      [parentId, key, daysAgo(age)],
    );
  }
  const report = await runDataRetention({ at, log: createLogger() });
  expect(report.counts).toMatchObject({ pushDevices: 1, notificationDeliveries: 1 });
  const tokens = await db.pool.query('SELECT fcm_token FROM parent_devices WHERE parent_id = $1', [
    parentId,
  ]);
  expect(tokens.rows).toEqual([{ fcm_token: 'fresh-token-0123456789' }]);
  const keys = await db.pool.query(
    'SELECT dedupe_key FROM notification_deliveries WHERE parent_id = $1',
    [parentId],
  );
  expect(keys.rows).toEqual([{ dedupe_key: 'recent' }]);
  // A second run finds nothing left.
  const again = await runDataRetention({ at, log: createLogger() });
  expect(again.counts).toMatchObject({ pushDevices: 0, notificationDeliveries: 0 });
});
