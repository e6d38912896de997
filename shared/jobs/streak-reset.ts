// streak-reset (hourly): settles the local days that have ended without activity.
//
// Streak rules (PRODUCT.md "Streaks"; the live path in the learning loop follows the same):
//   - Days are the family's local days: (instant AT TIME ZONE parents.timezone)::date.
//   - streaks.last_activity_date is the last local day with a meaningful activity. The streak
//     is "covered through" that day or, when the last history entry is a freeze entry, through
//     that entry's date (entries are appended in date order). The live path
//     (shared/learning/streaks.ts) does nothing when last_activity_date = local today (at most
//     one increment per local day), increments when covered through yesterday, and otherwise
//     first settles the gap with the rules below, so the result does not depend on whether
//     this job ran first.
//   - A freeze is earned per 7 consecutive days (the live path), at most 2 are held.
//   - When local day Y (local yesterday) has ended and the streak is covered through a day
//     C < Y, the days C+1 .. Y were missed. Missed days are taken in order; each one is
//     covered by one held freeze while the streak is alive: the freeze count drops by one,
//     current_streak is unchanged, and history gets {date, streak, activity: false,
//     freeze_used: true}. The first missed day no freeze covers resets current_streak to 0
//     (longest_streak is kept) and history gets {date, streak: 0, activity: false,
//     freeze_used: false}; the days after it consume nothing (there is nothing left to
//     protect). So one freeze and two missed days: the freeze covers the first day, the
//     second resets the streak, exactly as if the job had run on time after each day.
//   - If every missed day is covered, the streak is covered through Y by the new entries.
//   - History keeps the last 365 entries.
//   - Streaks already at 0 and soft-deleted families are left alone.
// Idempotence: a settled row is covered through Y or has current_streak = 0, so it no
// longer matches; running every hour, twice, or late handles each missed day exactly once.
// Concurrency: one advisory lock per job; against the live path, the UPDATE only applies if
// the row still holds the values the plan was computed from (READ COMMITTED re-checks the
// WHERE clause on the newest row version), otherwise the row waits for the next run.
// Scale: one UPDATE ... FROM over all children, local dates computed per family in SQL,
// split into JOB_SHARDS child_id ranges run side by side (rewriting histories is CPU-bound).
import { raw, type Sql, sql } from '../db/sql.ts';
import { inKeyRange, inShards, type KeyRange, withJobLock } from './lock.ts';
import { addDays } from './time.ts';
import type { JobArgs, JobResult } from './types.ts';

export const STREAK_HISTORY_LIMIT = 365;

/** `at`, else for a `date` the instant when that day has ended in every time zone (UTC-12..+14). */
export function resolveStreakInstant(args: { date?: string; at?: Date }, now = new Date()): Date {
  if (args.at) return args.at;
  // Noon UTC the next day is past midnight at UTC-12 and before the day after ends at UTC+14.
  if (args.date) return new Date(`${addDays(args.date, 1)}T12:00:00Z`);
  return now;
}

// The last entry of streak_history tells whether freezes already covered days after
// last_activity_date (entries are appended in date order, by this job and the live path).
const COVERED_THROUGH = raw(`GREATEST(s.last_activity_date,
    CASE WHEN s.streak_history -> -1 ->> 'freeze_used' = 'true'
         THEN (s.streak_history -> -1 ->> 'date')::date END)`);

function settleMissedDays(at: Date, range: KeyRange): Sql {
  const instant = sql`${at.toISOString()}::timestamptz`;
  const historyLimit = sql`${STREAK_HISTORY_LIMIT}::int`;
  return sql`
WITH plan AS MATERIALIZED (
    SELECT s.id,
           s.current_streak,
           s.last_activity_date,
           s.streak_freezes_available,
           ((${instant} AT TIME ZONE p.timezone)::date - 1) AS local_yesterday,
           ${COVERED_THROUGH} AS covered_through
      FROM streaks s
      JOIN children c ON c.id = s.child_id AND c.deleted_at IS NULL
      JOIN parents p ON p.id = c.parent_id AND p.deleted_at IS NULL
     WHERE s.current_streak > 0
       -- Cheap test first: only a streak not active yesterday can have anything to settle.
       AND s.last_activity_date < ((${instant} AT TIME ZONE p.timezone)::date - 1)
       ${inKeyRange('s.child_id', range)}
), due AS MATERIALIZED (
    SELECT pl.*,
           pl.local_yesterday - pl.covered_through AS missed,
           LEAST(pl.local_yesterday - pl.covered_through, pl.streak_freezes_available) AS covered,
           LEAST(pl.local_yesterday - pl.covered_through, pl.streak_freezes_available + 1) AS entry_count
      FROM plan pl
     WHERE pl.covered_through < pl.local_yesterday
), entries AS MATERIALIZED (
    SELECT d.*,
           COALESCE(
               (SELECT jsonb_agg(jsonb_build_object(
                           'date', to_char(d.covered_through + k, 'YYYY-MM-DD'),
                           'streak', d.current_streak,
                           'activity', false,
                           'freeze_used', true) ORDER BY k)
                  FROM generate_series(1, d.covered) AS k),
               '[]'::jsonb)
           || CASE WHEN d.missed > d.covered THEN jsonb_build_array(jsonb_build_object(
                           'date', to_char(d.covered_through + d.covered + 1, 'YYYY-MM-DD'),
                           'streak', 0,
                           'activity', false,
                           'freeze_used', false))
                   ELSE '[]'::jsonb END AS new_entries
      FROM due d
), updated AS (
    UPDATE streaks s
       SET current_streak = CASE WHEN e.missed > e.covered THEN 0 ELSE s.current_streak END,
           streak_freezes_available = s.streak_freezes_available - e.covered,
           streak_history = CASE
               WHEN jsonb_array_length(s.streak_history) + e.entry_count <= ${historyLimit}
                   THEN s.streak_history || e.new_entries
               ELSE (SELECT jsonb_agg(t.entry ORDER BY t.n)
                       FROM (SELECT entry, n
                               FROM jsonb_array_elements(s.streak_history || e.new_entries)
                                    WITH ORDINALITY AS h(entry, n)
                              ORDER BY n DESC
                              LIMIT ${historyLimit}) AS t)
           END
      FROM entries e
     WHERE s.id = e.id
       -- Unchanged since planned (the live path may have recorded an activity meanwhile).
       AND s.current_streak = e.current_streak
       AND s.last_activity_date = e.last_activity_date
       AND s.streak_freezes_available = e.streak_freezes_available
       AND ${COVERED_THROUGH} = e.covered_through
    RETURNING e.covered, (e.missed > e.covered) AS was_reset
)
SELECT COUNT(*)::int AS streaks_updated,
       COUNT(*) FILTER (WHERE was_reset)::int AS streaks_reset,
       COUNT(*) FILTER (WHERE NOT was_reset)::int AS streaks_frozen,
       COALESCE(SUM(covered), 0)::int AS freezes_used
  FROM updated`;
}

interface SettleRow {
  streaks_updated: number;
  streaks_reset: number;
  streaks_frozen: number;
  freezes_used: number;
}

export async function runStreakReset(args: JobArgs): Promise<JobResult> {
  const at = resolveStreakInstant(args);
  return withJobLock('streak-reset', async (job) => {
    const shards = await inShards(job, async (tx, range) => {
      const rows = await tx.$queryRaw<SettleRow[]>(settleMissedDays(at, range));
      const r = rows[0] ?? {
        streaks_updated: 0,
        streaks_reset: 0,
        streaks_frozen: 0,
        freezes_used: 0,
      };
      args.onProgress?.({ step: 'streaks', done: r.streaks_updated });
      return r;
    });
    const sum = (key: keyof SettleRow) => shards.reduce((total, r) => total + r[key], 0);
    return {
      rowsTouched: sum('streaks_updated'),
      counts: {
        streaksReset: sum('streaks_reset'),
        streaksKeptByFreezes: sum('streaks_frozen'),
        freezesUsed: sum('freezes_used'),
      },
      details: { at: at.toISOString(), shards: shards.length },
    };
  });
}
