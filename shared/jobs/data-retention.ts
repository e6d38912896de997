// data-retention (nightly): enforces the retention schedule in docs/RETENTION.md, one
// category at a time, deleting in batches of RETENTION_BATCH_SIZE rows (each batch its own
// transaction, so a long first run makes steady progress and never holds locks for long),
// and keeps children's age groups true on birthdays.
// Cut-offs are relative to the reference instant: `at`, else the end (24:00 UTC) of `date`,
// else now. Birthdays use the run date (the UTC day of that instant, or `date`).
// Everything is idempotent: a second run finds nothing past its cut-off and no age group
// out of date. The periods below are the schedule; change them only with the document.
import type { Tx } from '../db/client.ts';
import { type Sql, sql } from '../db/sql.ts';
import { withJobLock } from './lock.ts';
import { STREAK_HISTORY_LIMIT } from './streak-reset.ts';
import { addDays, toIsoDate } from './time.ts';
import type { JobArgs, JobResult } from './types.ts';

export const RETENTION_BATCH_SIZE = 10_000;

/** The schedule, as PostgreSQL intervals. docs/RETENTION.md explains each one. */
export const RETENTION = {
  softDeletedGrace: '30 days',
  refreshTokensAfterExpiryOrRevocation: '7 days',
  idempotencyKeys: '24 hours',
  conversations: '12 months',
  readParentAlerts: '12 months',
  unreadParentAlerts: '24 months',
  dailyActivity: '24 months',
  cognitiveMetrics: '24 months',
  auditLog: '3 years',
  /** FCM expires tokens of apps not opened for 270 days; the app re-registers on every start. */
  pushDevicesUnseen: '270 days',
  notificationDeliveries: '90 days',
  /** A graduation alert is only raised within this long after the 15th birthday. */
  graduationNoticeWindow: '90 days',
} as const;

export const GRADUATION_ALERT_REASON = 'profile_graduated';

export function resolveRetentionInstant(
  args: { date?: string; at?: Date },
  now = new Date(),
): {
  at: Date;
  runDate: string;
} {
  if (args.at) return { at: args.at, runDate: toIsoDate(args.at) };
  if (args.date) return { at: new Date(`${addDays(args.date, 1)}T00:00:00Z`), runDate: args.date };
  return { at: now, runDate: toIsoDate(now) };
}

// Each statement deletes at most `limit` rows past `cutoff` (a timestamptz expression).
type BatchedDelete = (cutoff: Sql, limit: Sql) => Sql;
const BATCHED_DELETES: ReadonlyArray<{ category: string; sql: BatchedDelete; keptFor: string }> = [
  {
    category: 'refreshTokens',
    keptFor: RETENTION.refreshTokensAfterExpiryOrRevocation,
    sql: (cutoff, limit) => sql`DELETE FROM refresh_tokens WHERE id IN (
            SELECT id FROM refresh_tokens
             WHERE expires_at < ${cutoff} OR revoked_at < ${cutoff}
             LIMIT ${limit})`,
  },
  {
    category: 'idempotencyKeys',
    keptFor: RETENTION.idempotencyKeys,
    sql: (cutoff, limit) => sql`DELETE FROM idempotency_keys WHERE id IN (
            SELECT id FROM idempotency_keys WHERE created_at < ${cutoff} LIMIT ${limit})`,
  },
  {
    category: 'pushDevices',
    keptFor: RETENTION.pushDevicesUnseen,
    sql: (cutoff, limit) => sql`DELETE FROM parent_devices WHERE id IN (
            SELECT id FROM parent_devices WHERE last_seen_at < ${cutoff} LIMIT ${limit})`,
  },
  {
    category: 'notificationDeliveries',
    keptFor: RETENTION.notificationDeliveries,
    sql: (cutoff, limit) => sql`DELETE FROM notification_deliveries WHERE id IN (
            SELECT id FROM notification_deliveries WHERE created_at < ${cutoff} LIMIT ${limit})`,
  },
  {
    category: 'messages',
    keptFor: RETENTION.conversations,
    sql: (cutoff, limit) => sql`DELETE FROM messages WHERE (id, created_at) IN (
            SELECT id, created_at FROM messages WHERE created_at < ${cutoff} LIMIT ${limit})`,
  },
  {
    category: 'conversations',
    keptFor: RETENTION.conversations,
    sql: (cutoff, limit) => sql`DELETE FROM conversations WHERE id IN (
            SELECT id FROM conversations WHERE started_at < ${cutoff} LIMIT ${limit})`,
  },
  {
    category: 'readParentAlerts',
    keptFor: RETENTION.readParentAlerts,
    sql: (cutoff, limit) => sql`DELETE FROM parent_alerts WHERE id IN (
            SELECT id FROM parent_alerts
             WHERE read_at IS NOT NULL AND created_at < ${cutoff} LIMIT ${limit})`,
  },
  {
    category: 'unreadParentAlerts',
    keptFor: RETENTION.unreadParentAlerts,
    sql: (cutoff, limit) => sql`DELETE FROM parent_alerts WHERE id IN (
            SELECT id FROM parent_alerts
             WHERE read_at IS NULL AND created_at < ${cutoff} LIMIT ${limit})`,
  },
  {
    category: 'dailyActivity',
    keptFor: RETENTION.dailyActivity,
    // Local dates: a day is due once it ended everywhere before the cut-off.
    sql: (cutoff, limit) => sql`DELETE FROM daily_activity WHERE (id, activity_date) IN (
            SELECT id, activity_date FROM daily_activity
             WHERE activity_date < (${cutoff} AT TIME ZONE 'UTC')::date - 1 LIMIT ${limit})`,
  },
  {
    category: 'cognitiveMetrics',
    keptFor: RETENTION.cognitiveMetrics,
    sql: (cutoff, limit) => sql`DELETE FROM cognitive_metrics WHERE id IN (
            SELECT id FROM cognitive_metrics
             WHERE assessment_date < (${cutoff} AT TIME ZONE 'UTC')::date LIMIT ${limit})`,
  },
  {
    category: 'auditLog',
    keptFor: RETENTION.auditLog,
    sql: (cutoff, limit) => sql`DELETE FROM audit_log WHERE id IN (
            SELECT id FROM audit_log WHERE changed_at < ${cutoff} LIMIT ${limit})`,
  },
];

/**
 * Hard-deletes soft-deleted parents (with their family: FK cascades) or children past the
 * grace period, one batch. Their audit rows carry names and emails, so they go too, replaced
 * by one tombstone per row ({id, deleted_at, erased}) that proves the erasure without the
 * personal data. Consent audit rows stay: the cascade just wrote a DELETE row per consent
 * holding the whole consent record, which is the COPPA proof kept for the audit period.
 */
async function hardDeleteBatch(
  tx: Tx,
  table: 'parents' | 'children',
  at: Date,
): Promise<{ deleted: number; childrenCascaded: number }> {
  const cutoff = sql`${at.toISOString()}::timestamptz - ${RETENTION.softDeletedGrace}::interval`;
  const limit = sql`${RETENTION_BATCH_SIZE}::int`;
  const due = await tx.$queryRaw<{ ids: string[] | null; child_ids: string[] | null }[]>(
    table === 'parents'
      ? sql`WITH due AS (
             SELECT id FROM parents
              WHERE deleted_at < ${cutoff}
              ORDER BY deleted_at LIMIT ${limit})
         SELECT (SELECT array_agg(id) FROM due) AS ids,
                (SELECT array_agg(c.id) FROM children c JOIN due ON due.id = c.parent_id) AS child_ids`
      : sql`SELECT array_agg(id) AS ids, NULL::uuid[] AS child_ids
           FROM (SELECT id FROM children
                  WHERE deleted_at < ${cutoff}
                  ORDER BY deleted_at LIMIT ${limit}) AS due`,
  );
  const ids = due[0]?.ids ?? [];
  const childIds = due[0]?.child_ids ?? [];
  if (ids.length === 0) return { deleted: 0, childrenCascaded: 0 };
  const erased = await tx.$queryRaw<{ id: string; table_name: string; deleted_at: Date }[]>(
    table === 'parents'
      ? sql`DELETE FROM parents WHERE id = ANY(${ids}::uuid[])
            RETURNING id, ${table}::text AS table_name, deleted_at`
      : sql`DELETE FROM children WHERE id = ANY(${ids}::uuid[])
            RETURNING id, ${table}::text AS table_name, deleted_at`,
  );
  // One statement: the erased rows' audit trail out, one tombstone per row in.
  const tombstones = JSON.stringify([
    ...erased.map((e) => ({ id: e.id, table_name: e.table_name, deleted_at: e.deleted_at })),
    ...childIds.map((id) => ({ id, table_name: 'children', deleted_at: null })),
  ]);
  await tx.$executeRaw`
    WITH purged AS (
      DELETE FROM audit_log
       WHERE (table_name = ${table} AND row_id = ANY(${ids}::uuid[]))
          OR (table_name = 'children' AND row_id = ANY(${childIds}::uuid[])))
    INSERT INTO audit_log (table_name, row_id, action, old_values, changed_by)
    SELECT t.table_name, t.id, 'DELETE',
           jsonb_build_object('id', t.id, 'deleted_at', t.deleted_at, 'erased', true,
                              'reason', 'retention: soft-deleted ' || ${RETENTION.softDeletedGrace}::text || ' ago'),
           'job:data-retention'
      FROM jsonb_to_recordset(${tombstones}::jsonb) AS t(id uuid, table_name text, deleted_at timestamptz)`;
  return { deleted: erased.length, childrenCascaded: childIds.length };
}

const trimStreakHistory = (tx: Tx, limit: number) => tx.$executeRaw`
UPDATE streaks s
   SET streak_history = (SELECT jsonb_agg(t.entry ORDER BY t.n)
                           FROM (SELECT entry, n
                                   FROM jsonb_array_elements(s.streak_history) WITH ORDINALITY AS h(entry, n)
                                  ORDER BY n DESC
                                  LIMIT ${limit}::int) AS t)
 WHERE jsonb_array_length(s.streak_history) > ${limit}::int`;

// Age groups follow birth dates (determine_age_group); NULL means 15 or older, where the
// child keeps mind_masters (PRODUCT.md) and is flagged below instead.
const updateAgeGroups = (tx: Tx, runDate: string) => {
  const day = sql`${runDate}::date`;
  return tx.$executeRaw`
UPDATE children c
   SET age_group = determine_age_group(c.birth_date, ${day})
 WHERE c.deleted_at IS NULL
   AND determine_age_group(c.birth_date, ${day}) IS NOT NULL
   AND c.age_group IS DISTINCT FROM determine_age_group(c.birth_date, ${day})
   -- Cheap pre-filter (the same thresholds as plain date comparisons), so the function,
   -- ~60 us a call, only runs for the few children whose group looks out of date.
   AND c.age_group IS DISTINCT FROM CASE
           WHEN c.birth_date > (${day} - interval '7 years')::date THEN 'wonder_cubs'
           WHEN c.birth_date > (${day} - interval '11 years')::date THEN 'curious_explorers'
           ELSE 'mind_masters'
       END`;
};

// Graduation (15th birthday): the parent is told once, with a low-severity parent alert
// whose reason is the stable code 'profile_graduated'. Only within the notice window after
// the birthday, so an alert deleted by this schedule a year later is never raised again.
const flagGraduates = (tx: Tx, runDate: string) => {
  const day = sql`${runDate}::date`;
  const reason = GRADUATION_ALERT_REASON;
  return tx.$executeRaw`
INSERT INTO parent_alerts (parent_id, child_id, severity, reason)
SELECT c.parent_id, c.id, 'low', ${reason}
  FROM children c
 WHERE c.deleted_at IS NULL
   AND c.birth_date <= (${day} - interval '15 years')::date
   AND c.birth_date > (${day} - interval '15 years' - ${RETENTION.graduationNoticeWindow}::interval)::date
   AND NOT EXISTS (SELECT 1 FROM parent_alerts a WHERE a.child_id = c.id AND a.reason = ${reason})`;
};

export async function runDataRetention(args: JobArgs): Promise<JobResult> {
  const { at, runDate } = resolveRetentionInstant(args);
  const counts: Record<string, number> = {};
  /** Milliseconds per step, so a slow category shows in the report. */
  const stepMs: Record<string, number> = {};
  let stepStarted = performance.now();
  const endStep = (step: string) => {
    const now = performance.now();
    stepMs[step] = Math.round(now - stepStarted);
    stepStarted = now;
  };
  const limit = sql`${RETENTION_BATCH_SIZE}::int`;

  return withJobLock('data-retention', async (job) => {
    for (const table of ['parents', 'children'] as const) {
      const key = table === 'parents' ? 'parentsHardDeleted' : 'childrenHardDeleted';
      let done = 0;
      let cascaded = 0;
      for (;;) {
        const batch = await job.transaction((tx) => hardDeleteBatch(tx, table, at));
        done += batch.deleted;
        cascaded += batch.childrenCascaded;
        args.onProgress?.({ step: key, done });
        if (batch.deleted < RETENTION_BATCH_SIZE) break;
      }
      counts[key] = done;
      if (table === 'parents') counts.childrenDeletedWithParents = cascaded;
      endStep(key);
    }

    for (const step of BATCHED_DELETES) {
      const statement = step.sql(
        sql`(${at.toISOString()}::timestamptz - ${step.keptFor}::interval)`,
        limit,
      );
      let done = 0;
      for (;;) {
        const deleted = await job.transaction((tx) => tx.$executeRaw(statement));
        done += deleted;
        args.onProgress?.({ step: step.category, done });
        if (deleted < RETENTION_BATCH_SIZE) break;
      }
      counts[step.category] = done;
      endStep(step.category);
    }

    await job.transaction(async (tx) => {
      counts.streakHistoriesTrimmed = await trimStreakHistory(tx, STREAK_HISTORY_LIMIT);
      endStep('streakHistoriesTrimmed');
      counts.ageGroupsChanged = await updateAgeGroups(tx, runDate);
      endStep('ageGroupsChanged');
      counts.graduationsFlagged = await flagGraduates(tx, runDate);
      endStep('graduationsFlagged');
    });
    args.onProgress?.({ step: 'ageGroups', done: counts.ageGroupsChanged ?? 0 });

    const rowsTouched = Object.entries(counts)
      .filter(([k]) => k !== 'childrenDeletedWithParents')
      .reduce((sum, [, n]) => sum + n, 0);
    return {
      rowsTouched,
      counts,
      details: { at: at.toISOString(), runDate, stepMs, schedule: RETENTION },
    };
  });
}
