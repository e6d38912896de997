import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabasePool } from '../../shared/db/client.ts';
import { GRADUATION_ALERT_REASON, runDataRetention } from '../../shared/jobs/data-retention.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ensureMonthlyPartitions } from '../helpers/partitions.ts';
import { insertChild, insertParent, insertStreak, tableCounts } from './fixtures.ts';

const log = createLogger({ test: 'data-retention' });
const AT = new Date('2026-11-25T03:00:00Z');
const TABLES = [
  'parents',
  'children',
  'consents',
  'refresh_tokens',
  'idempotency_keys',
  'conversations',
  'messages',
  'parent_alerts',
  'daily_activity',
  'cognitive_metrics',
  'streaks',
  'progress',
  'rewards',
] as const;

let db: TestDatabase;
const ids: Record<string, string> = {};

async function q<T extends Record<string, unknown> = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
) {
  return (await db.pool.query<T>(sql, params)).rows;
}

async function conversation(childId: string, startedAt: string, messages: number): Promise<string> {
  const [row] = await q<{ id: string }>(
    'INSERT INTO conversations (child_id, started_at) VALUES ($1, $2) RETURNING id',
    [childId, startedAt],
  );
  for (let i = 0; i < messages; i++) {
    await q(
      `INSERT INTO messages (conversation_id, role, content, created_at)
       VALUES ($1, 'user', 'hello', $2::timestamptz + make_interval(mins => $3))`,
      [row!.id, startedAt, i],
    );
  }
  return row!.id;
}

async function refreshToken(
  parentId: string,
  label: string,
  expiresAt: string,
  revokedAt: string | null,
) {
  await q(
    `INSERT INTO refresh_tokens (parent_id, token_hash, family_id, expires_at, revoked_at, created_at)
     VALUES ($1, $2, gen_random_uuid(), $3, $4, '2026-09-01')`,
    [parentId, `hash-${label}`, expiresAt, revokedAt],
  );
}

async function alert(parentId: string, childId: string, createdAt: string, readAt: string | null) {
  await q(
    `INSERT INTO parent_alerts (parent_id, child_id, severity, reason, created_at, read_at)
     VALUES ($1, $2, 'medium', 'test', $3, $4)`,
    [parentId, childId, createdAt, readAt],
  );
}

beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
  // Rows below are dated from 2024-10 up to a month after AT, whatever today is.
  await ensureMonthlyPartitions(db.pool, '2024-10-01', '2026-12-31');

  // A family deleted 36 days ago: past the 30-day grace period.
  ids.parentDue = await insertParent(db.pool, { timezone: 'Pacific/Kiritimati' });
  ids.childOfParentDue = await insertChild(db.pool, ids.parentDue, { name: 'Erased' });
  await insertStreak(db.pool, ids.childOfParentDue, {
    current_streak: 2,
    last_activity_date: '2026-10-18',
  });
  await conversation(ids.childOfParentDue, '2026-10-18T10:00:00Z', 1);
  for (const type of ['coppa', 'privacy']) {
    await q(
      `INSERT INTO consents (parent_id, consent_type, version, granted_at, ip_address) VALUES ($1, $2, 'v1', '2026-01-01', '203.0.113.9')`,
      [ids.parentDue, type],
    );
  }
  await q(`UPDATE children SET deleted_at = '2026-10-20' WHERE id = $1`, [ids.childOfParentDue]);
  await q(`UPDATE parents SET deleted_at = '2026-10-20' WHERE id = $1`, [ids.parentDue]);

  // A family deleted 15 days ago: still in its grace period.
  ids.parentRecent = await insertParent(db.pool, { timezone: 'Pacific/Pago_Pago' });
  await q(
    `INSERT INTO consents (parent_id, consent_type, version, granted_at) VALUES ($1, 'coppa', 'v1', '2026-01-01')`,
    [ids.parentRecent],
  );
  await q(`UPDATE parents SET deleted_at = '2026-11-10' WHERE id = $1`, [ids.parentRecent]);

  // A live family.
  ids.live = await insertParent(db.pool, { timezone: 'America/New_York' });
  ids.childDue = await insertChild(db.pool, ids.live, { name: 'Gone', deletedAt: '2026-10-01' });
  await insertStreak(db.pool, ids.childDue, {
    current_streak: 1,
    last_activity_date: '2026-09-30',
  });
  ids.childRecent = await insertChild(db.pool, ids.live, {
    name: 'Paused',
    deletedAt: '2026-11-20',
  });
  ids.turnsSeven = await insertChild(db.pool, ids.live, {
    birthDate: '2019-11-25',
    ageGroup: 'wonder_cubs',
  });
  ids.sixTomorrow = await insertChild(db.pool, ids.live, {
    birthDate: '2019-11-26',
    ageGroup: 'wonder_cubs',
  });
  ids.graduate = await insertChild(db.pool, ids.live, {
    birthDate: '2011-11-20',
    ageGroup: 'mind_masters',
  });
  const other = await insertParent(db.pool);
  ids.longGraduated = await insertChild(db.pool, other, {
    birthDate: '2010-01-01',
    ageGroup: 'mind_masters',
  });
  // Its group as of AT (10 years old), not as of today: from 2027-05-05 today's would differ.
  ids.liveChild = await insertChild(db.pool, other, {
    birthDate: '2016-05-05',
    ageGroup: 'curious_explorers',
  });

  await refreshToken(ids.live, 'expired-15d', '2026-11-10T00:00:00Z', null); // due
  await refreshToken(ids.live, 'expired-5d', '2026-11-20T00:00:00Z', null);
  await refreshToken(ids.live, 'revoked-24d', '2026-12-20T00:00:00Z', '2026-11-01T00:00:00Z'); // due
  await refreshToken(ids.live, 'revoked-3d', '2026-12-20T00:00:00Z', '2026-11-22T00:00:00Z');
  await refreshToken(ids.live, 'live', '2026-12-20T00:00:00Z', null);

  for (const [key, createdAt] of [
    ['old', '2026-11-23T12:00:00Z'], // due
    ['fresh', '2026-11-24T12:00:00Z'],
  ]) {
    await q(
      `INSERT INTO idempotency_keys (child_id, key, route, created_at) VALUES ($1, $2, 'POST /x', $3)`,
      [ids.liveChild, key, createdAt],
    );
  }

  await conversation(ids.liveChild, '2025-10-15T10:00:00Z', 2); // due, with its 2 messages
  await conversation(ids.liveChild, '2025-12-01T10:00:00Z', 1);

  await alert(other, ids.liveChild, '2025-10-01T00:00:00Z', '2025-10-02T00:00:00Z'); // read, 13 months: due
  await alert(other, ids.liveChild, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z');
  await alert(other, ids.liveChild, '2025-10-01T00:00:00Z', null); // unread, 13 months: kept
  await alert(other, ids.liveChild, '2024-10-01T00:00:00Z', null); // unread, 26 months: due

  await q(
    `INSERT INTO daily_activity (child_id, activity_date) VALUES ($1, '2024-10-01'), ($1, '2025-01-10')`,
    [ids.liveChild],
  );
  await q(
    `INSERT INTO cognitive_metrics (child_id, assessment_date) VALUES ($1, '2024-11-24'), ($1, '2024-11-26')`,
    [ids.liveChild],
  );
  await q(
    `INSERT INTO audit_log (table_name, row_id, action, new_values, changed_at)
     VALUES ('parents', $1, 'INSERT', '{}', '2023-11-01'), ('parents', $1, 'INSERT', '{}', '2023-12-01')`,
    [other],
  );

  const history = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ date: `d${i}`, streak: i + 1, activity: true }));
  await insertStreak(db.pool, ids.liveChild, {
    current_streak: 370,
    last_activity_date: '2026-11-24',
    streak_history: history(370),
  });
  await insertStreak(db.pool, ids.turnsSeven, {
    current_streak: 10,
    last_activity_date: '2026-11-24',
    streak_history: history(10),
  });
});

afterAll(async () => {
  await db.drop();
});

describe('data-retention', () => {
  it('deletes exactly what the schedule says, and nothing else', async () => {
    const before = await tableCounts(db.pool, TABLES);
    const report = await runDataRetention({ at: AT, log });

    expect(report.counts).toEqual({
      parentsHardDeleted: 1,
      childrenDeletedWithParents: 1,
      childrenHardDeleted: 1,
      refreshTokens: 2,
      idempotencyKeys: 1,
      pushDevices: 0, // test/notify/retention.test.ts
      notificationDeliveries: 0,
      messages: 2,
      conversations: 1,
      readParentAlerts: 1,
      unreadParentAlerts: 1,
      dailyActivity: 1,
      cognitiveMetrics: 1,
      auditLog: 1,
      streakHistoriesTrimmed: 1,
      ageGroupsChanged: 1,
      graduationsFlagged: 1,
    });
    const after = await tableCounts(db.pool, TABLES);
    expect(after).toEqual({
      ...before,
      parents: before.parents! - 1,
      children: before.children! - 2,
      consents: before.consents! - 2,
      refresh_tokens: before.refresh_tokens! - 2,
      idempotency_keys: before.idempotency_keys! - 1,
      conversations: before.conversations! - 2, // the due one, and the erased child's
      messages: before.messages! - 3,
      parent_alerts: before.parent_alerts! - 2 + 1, // two due, one graduation notice
      daily_activity: before.daily_activity! - 1,
      cognitive_metrics: before.cognitive_metrics! - 1,
      streaks: before.streaks! - 2,
    });

    const survivors = await q<{ token_hash: string }>(
      'SELECT token_hash FROM refresh_tokens ORDER BY token_hash',
    );
    expect(survivors.map((r) => r.token_hash)).toEqual([
      'hash-expired-5d',
      'hash-live',
      'hash-revoked-3d',
    ]);
    const children = await q<{ id: string; age_group: string }>(
      'SELECT id, age_group FROM children',
    );
    const group = new Map(children.map((c) => [c.id, c.age_group]));
    expect(group.has(ids.childDue!)).toBe(false);
    expect(group.has(ids.childRecent!)).toBe(true);
    expect(group.get(ids.turnsSeven!)).toBe('curious_explorers');
    expect(group.get(ids.sixTomorrow!)).toBe('wonder_cubs');
    expect(group.get(ids.graduate!)).toBe('mind_masters');
    expect(group.get(ids.longGraduated!)).toBe('mind_masters');
    const graduation = await q('SELECT child_id, severity FROM parent_alerts WHERE reason = $1', [
      GRADUATION_ALERT_REASON,
    ]);
    expect(graduation).toEqual([{ child_id: ids.graduate, severity: 'low' }]);
    const [trimmed] = await q<{ n: number; first: string }>(
      `SELECT jsonb_array_length(streak_history) AS n, streak_history->0->>'date' AS first FROM streaks WHERE child_id = $1`,
      [ids.liveChild],
    );
    expect(trimmed).toEqual({ n: 365, first: 'd5' });
  });

  it('erases the personal data of hard-deleted rows from the audit trail but keeps the consent proof', async () => {
    const erasedRows = await q<{
      table_name: string;
      action: string;
      old_values: Record<string, unknown>;
    }>(
      `SELECT table_name, action, old_values FROM audit_log WHERE row_id = ANY($1::uuid[]) ORDER BY table_name`,
      [[ids.parentDue, ids.childOfParentDue, ids.childDue]],
    );
    expect(erasedRows).toHaveLength(3);
    for (const row of erasedRows) {
      expect(row.action).toBe('DELETE');
      expect(row.old_values).toMatchObject({ erased: true });
      expect(JSON.stringify(row.old_values)).not.toMatch(/Erased|Gone|@example/);
    }
    const consentProof = await q<{ action: string; consent_type: string; ip: string }>(
      `SELECT action, COALESCE(old_values, new_values)->>'consent_type' AS consent_type,
              COALESCE(old_values, new_values)->>'ip_address' AS ip
         FROM audit_log
        WHERE table_name = 'consents' AND COALESCE(old_values, new_values)->>'parent_id' = $1
        ORDER BY action, consent_type`,
      [ids.parentDue],
    );
    expect(consentProof).toEqual([
      { action: 'DELETE', consent_type: 'coppa', ip: '203.0.113.9' },
      { action: 'DELETE', consent_type: 'privacy', ip: '203.0.113.9' },
      { action: 'INSERT', consent_type: 'coppa', ip: '203.0.113.9' },
      { action: 'INSERT', consent_type: 'privacy', ip: '203.0.113.9' },
    ]);
    const oldAudit = await q<{ changed_at: Date }>(
      `SELECT changed_at FROM audit_log WHERE changed_at < '2024-01-01'`,
    );
    expect(oldAudit.map((r) => r.changed_at.toISOString())).toEqual(['2023-12-01T00:00:00.000Z']);
  });

  it('a second run and two concurrent runs change nothing more', async () => {
    const before = {
      counts: await tableCounts(db.pool, [...TABLES, 'audit_log']),
      children: await q('SELECT * FROM children ORDER BY id'),
    };
    const [a, b] = await Promise.all([
      runDataRetention({ at: AT, log }),
      runDataRetention({ at: AT, log }),
    ]);
    expect(a.rowsTouched).toBe(0);
    expect(b.rowsTouched).toBe(0);
    // Later the same night (cut-offs moved by 7 hours): nothing else is due yet.
    const again = await runDataRetention({ at: new Date('2026-11-25T10:00:00Z'), log });
    expect(again.rowsTouched).toBe(0);
    expect({
      counts: await tableCounts(db.pool, [...TABLES, 'audit_log']),
      children: await q('SELECT * FROM children ORDER BY id'),
    }).toEqual(before);
  });
});
