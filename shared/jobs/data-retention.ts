// data-retention (nightly): enforces the retention schedule in docs/RETENTION.md, one
// category at a time, deleting in batches of RETENTION_BATCH_SIZE rows (each batch its own
// transaction, so a long first run makes steady progress and never holds locks for long),
// and keeps children's age groups true on birthdays.
// Cut-offs are relative to the reference instant: `at`, else the end (24:00 UTC) of `date`,
// else now. Birthdays use the run date (the UTC day of that instant, or `date`).
// Everything is idempotent: a second run finds nothing past its cut-off and no age group
// out of date. The periods below are the schedule; change them only with the document.
import type pg from 'pg';
import { inTransaction, withJobLock } from './lock.ts';
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

// Each statement deletes at most $2 rows past the cut-off $1 and returns how many it deleted.
const BATCHED_DELETES: ReadonlyArray<{ category: string; sql: string; keptFor: string }> = [
  {
    category: 'refreshTokens',
    keptFor: RETENTION.refreshTokensAfterExpiryOrRevocation,
    sql: `DELETE FROM refresh_tokens WHERE id IN (
            SELECT id FROM refresh_tokens
             WHERE expires_at < $1::timestamptz OR revoked_at < $1::timestamptz
             LIMIT $2)`,
  },
  {
    category: 'idempotencyKeys',
    keptFor: RETENTION.idempotencyKeys,
    sql: `DELETE FROM idempotency_keys WHERE id IN (
            SELECT id FROM idempotency_keys WHERE created_at < $1::timestamptz LIMIT $2)`,
  },
  {
    category: 'pushDevices',
    keptFor: RETENTION.pushDevicesUnseen,
    sql: `DELETE FROM parent_devices WHERE id IN (
            SELECT id FROM parent_devices WHERE last_seen_at < $1::timestamptz LIMIT $2)`,
  },
  {
    category: 'notificationDeliveries',
    keptFor: RETENTION.notificationDeliveries,
    sql: `DELETE FROM notification_deliveries WHERE id IN (
            SELECT id FROM notification_deliveries WHERE created_at < $1::timestamptz LIMIT $2)`,
  },
  {
    category: 'messages',
    keptFor: RETENTION.conversations,
    sql: `DELETE FROM messages WHERE (id, created_at) IN (
            SELECT id, created_at FROM messages WHERE created_at < $1::timestamptz LIMIT $2)`,
  },
  {
    category: 'conversations',
    keptFor: RETENTION.conversations,
    sql: `DELETE FROM conversations WHERE id IN (
            SELECT id FROM conversations WHERE started_at < $1::timestamptz LIMIT $2)`,
  },
  {
    category: 'readParentAlerts',
    keptFor: RETENTION.readParentAlerts,
    sql: `DELETE FROM parent_alerts WHERE id IN (
            SELECT id FROM parent_alerts
             WHERE read_at IS NOT NULL AND created_at < $1::timestamptz LIMIT $2)`,
  },
  {
    category: 'unreadParentAlerts',
    keptFor: RETENTION.unreadParentAlerts,
    sql: `DELETE FROM parent_alerts WHERE id IN (
            SELECT id FROM parent_alerts
             WHERE read_at IS NULL AND created_at < $1::timestamptz LIMIT $2)`,
  },
  {
    category: 'dailyActivity',
    keptFor: RETENTION.dailyActivity,
    // Local dates: a day is due once it ended everywhere before the cut-off.
    sql: `DELETE FROM daily_activity WHERE (id, activity_date) IN (
            SELECT id, activity_date FROM daily_activity
             WHERE activity_date < ($1::timestamptz AT TIME ZONE 'UTC')::date - 1 LIMIT $2)`,
  },
  {
    category: 'cognitiveMetrics',
    keptFor: RETENTION.cognitiveMetrics,
    sql: `DELETE FROM cognitive_metrics WHERE id IN (
            SELECT id FROM cognitive_metrics
             WHERE assessment_date < ($1::timestamptz AT TIME ZONE 'UTC')::date LIMIT $2)`,
  },
  {
    category: 'auditLog',
    keptFor: RETENTION.auditLog,
    sql: `DELETE FROM audit_log WHERE id IN (
            SELECT id FROM audit_log WHERE changed_at < $1::timestamptz LIMIT $2)`,
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
  client: pg.PoolClient,
  table: 'parents' | 'children',
  at: Date,
): Promise<{ deleted: number; childrenCascaded: number }> {
  const { rows } = await client.query<{ ids: string[] | null; child_ids: string[] | null }>(
    table === 'parents'
      ? `WITH due AS (
             SELECT id FROM parents
              WHERE deleted_at < $1::timestamptz - $2::interval
              ORDER BY deleted_at LIMIT $3)
         SELECT (SELECT array_agg(id) FROM due) AS ids,
                (SELECT array_agg(c.id) FROM children c JOIN due ON due.id = c.parent_id) AS child_ids`
      : `SELECT array_agg(id) AS ids, NULL::uuid[] AS child_ids
           FROM (SELECT id FROM children
                  WHERE deleted_at < $1::timestamptz - $2::interval
                  ORDER BY deleted_at LIMIT $3) AS due`,
    [at.toISOString(), RETENTION.softDeletedGrace, RETENTION_BATCH_SIZE],
  );
  const ids = rows[0]?.ids ?? [];
  const childIds = rows[0]?.child_ids ?? [];
  if (ids.length === 0) return { deleted: 0, childrenCascaded: 0 };
  const { rows: erased } = await client.query<{
    id: string;
    table_name: string;
    deleted_at: string;
  }>(
    table === 'parents'
      ? 'DELETE FROM parents WHERE id = ANY($1::uuid[]) RETURNING id, $2::text AS table_name, deleted_at'
      : 'DELETE FROM children WHERE id = ANY($1::uuid[]) RETURNING id, $2::text AS table_name, deleted_at',
    [ids, table],
  );
  await client.query(
    `DELETE FROM audit_log
      WHERE (table_name = $1 AND row_id = ANY($2::uuid[]))
         OR (table_name = 'children' AND row_id = ANY($3::uuid[]))`,
    [table, ids, childIds],
  );
  await client.query(
    `INSERT INTO audit_log (table_name, row_id, action, old_values, changed_by)
     SELECT t.table_name, t.id, 'DELETE',
            jsonb_build_object('id', t.id, 'deleted_at', t.deleted_at, 'erased', true,
                               'reason', 'retention: soft-deleted ' || $2::text || ' ago'),
            'job:data-retention'
       FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, table_name text, deleted_at timestamptz)`,
    [
      JSON.stringify([
        ...erased.map((e) => ({ id: e.id, table_name: e.table_name, deleted_at: e.deleted_at })),
        ...childIds.map((id) => ({ id, table_name: 'children', deleted_at: null })),
      ]),
      RETENTION.softDeletedGrace,
    ],
  );
  return { deleted: erased.length, childrenCascaded: childIds.length };
}

const TRIM_STREAK_HISTORY = `
UPDATE streaks s
   SET streak_history = (SELECT jsonb_agg(t.entry ORDER BY t.n)
                           FROM (SELECT entry, n
                                   FROM jsonb_array_elements(s.streak_history) WITH ORDINALITY AS h(entry, n)
                                  ORDER BY n DESC
                                  LIMIT $1) AS t)
 WHERE jsonb_array_length(s.streak_history) > $1`;

// Age groups follow birth dates (determine_age_group); NULL means 15 or older, where the
// child keeps mind_masters (PRODUCT.md) and is flagged below instead.
const UPDATE_AGE_GROUPS = `
UPDATE children c
   SET age_group = determine_age_group(c.birth_date, $1::date)
 WHERE c.deleted_at IS NULL
   AND determine_age_group(c.birth_date, $1::date) IS NOT NULL
   AND c.age_group IS DISTINCT FROM determine_age_group(c.birth_date, $1::date)
   -- Cheap pre-filter (the same thresholds as plain date comparisons), so the function,
   -- ~60 us a call, only runs for the few children whose group looks out of date.
   AND c.age_group IS DISTINCT FROM CASE
           WHEN c.birth_date > ($1::date - interval '7 years')::date THEN 'wonder_cubs'
           WHEN c.birth_date > ($1::date - interval '11 years')::date THEN 'curious_explorers'
           ELSE 'mind_masters'
       END`;

// Graduation (15th birthday): the parent is told once, with a low-severity parent alert
// whose reason is the stable code 'profile_graduated'. Only within the notice window after
// the birthday, so an alert deleted by this schedule a year later is never raised again.
const FLAG_GRADUATES = `
INSERT INTO parent_alerts (parent_id, child_id, severity, reason)
SELECT c.parent_id, c.id, 'low', $2
  FROM children c
 WHERE c.deleted_at IS NULL
   AND c.birth_date <= ($1::date - interval '15 years')::date
   AND c.birth_date > ($1::date - interval '15 years' - $3::interval)::date
   AND NOT EXISTS (SELECT 1 FROM parent_alerts a WHERE a.child_id = c.id AND a.reason = $2)`;

export async function runDataRetention(pool: pg.Pool, args: JobArgs): Promise<JobResult> {
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
  const name = 'data-retention';

  return withJobLock(pool, name, async (client) => {
    const cutoffOf = async (interval: string): Promise<string> => {
      const { rows } = await client.query<{ cutoff: Date }>(
        'SELECT $1::timestamptz - $2::interval AS cutoff',
        [at.toISOString(), interval],
      );
      const cutoff = rows[0]?.cutoff;
      if (!cutoff) throw new Error(`no cut-off computed for ${interval}`);
      return cutoff.toISOString();
    };

    for (const table of ['parents', 'children'] as const) {
      const key = table === 'parents' ? 'parentsHardDeleted' : 'childrenHardDeleted';
      let done = 0;
      let cascaded = 0;
      for (;;) {
        const batch = await inTransaction(client, name, () => hardDeleteBatch(client, table, at));
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
      const cutoff = await cutoffOf(step.keptFor);
      let done = 0;
      for (;;) {
        const deleted = await inTransaction(client, name, async () => {
          const result = await client.query(step.sql, [cutoff, RETENTION_BATCH_SIZE]);
          return result.rowCount ?? 0;
        });
        done += deleted;
        args.onProgress?.({ step: step.category, done });
        if (deleted < RETENTION_BATCH_SIZE) break;
      }
      counts[step.category] = done;
      endStep(step.category);
    }

    await inTransaction(client, name, async () => {
      counts.streakHistoriesTrimmed =
        (await client.query(TRIM_STREAK_HISTORY, [STREAK_HISTORY_LIMIT])).rowCount ?? 0;
      endStep('streakHistoriesTrimmed');
      counts.ageGroupsChanged = (await client.query(UPDATE_AGE_GROUPS, [runDate])).rowCount ?? 0;
      endStep('ageGroupsChanged');
      counts.graduationsFlagged =
        (
          await client.query(FLAG_GRADUATES, [
            runDate,
            GRADUATION_ALERT_REASON,
            RETENTION.graduationNoticeWindow,
          ])
        ).rowCount ?? 0;
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
