// partition-maintenance (daily, safe any day): `messages` and `daily_activity` are range
// partitioned by month without a DEFAULT partition, so an insert outside every partition
// fails. This job creates the month before the run date (a family at UTC-11 still writes
// yesterday's local date), the run month and the next PARTITION_MONTHS_AHEAD months
// (create_monthly_partition is idempotent), then proves that the partitions from the oldest
// one to the horizon leave no gap: a gap means a row could land nowhere, so the job throws
// (the function fails, Pub/Sub retries, and the failure alerts) instead of reporting success.
import type { Tx } from '../db/client.ts';
import { withJobLock } from './lock.ts';
import { resolveDate } from './time.ts';
import type { JobArgs, JobResult } from './types.ts';

export const PARTITIONED_TABLES = ['messages', 'daily_activity'] as const;
export const PARTITION_MONTHS_AHEAD = 4;

export class PartitionGapError extends Error {
  override name = 'PartitionGapError';
}

interface CoverageRow {
  partition: string;
  lower_bound: string | null;
  upper_bound: string | null;
  is_default: boolean;
}

// Bounds read back from the catalog, as UTC instants (session TimeZone is UTC in the job's
// transaction so timestamptz bounds print with +00). Date bounds cast to midnight UTC.
const partitionBounds = (tx: Tx, table: string) => tx.$queryRaw<CoverageRow[]>`
SELECT child.relname::text AS partition,
       to_char(substring(pg_get_expr(child.relpartbound, child.oid) FROM 'FROM \\(''([^'']+)''\\)')::timestamptz,
               'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS lower_bound,
       to_char(substring(pg_get_expr(child.relpartbound, child.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz,
               'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS upper_bound,
       pg_get_expr(child.relpartbound, child.oid) = 'DEFAULT' AS is_default
  FROM pg_inherits i
  JOIN pg_class child ON child.oid = i.inhrelid
 WHERE i.inhparent = to_regclass(${table})
 ORDER BY lower_bound NULLS FIRST`;

function monthStart(date: string, monthsToAdd: number): string {
  const d = new Date(`${date.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + monthsToAdd);
  return d.toISOString().slice(0, 10);
}

/** Returns the gaps (as [from, to) pairs) between `from` and `to` left by the partitions. */
export function findGaps(
  partitions: readonly { lower: string; upper: string }[],
  from: string,
  to: string,
): Array<[string, string]> {
  const gaps: Array<[string, string]> = [];
  let covered = from;
  for (const p of [...partitions].sort((a, b) => a.lower.localeCompare(b.lower))) {
    if (p.upper <= covered) continue;
    if (p.lower > covered) gaps.push([covered, p.lower < to ? p.lower : to]);
    if (p.upper > covered) covered = p.upper;
    if (covered >= to) break;
  }
  if (covered < to) gaps.push([covered, to]);
  return gaps.filter(([a, b]) => a < b);
}

export async function runPartitionMaintenance(args: JobArgs): Promise<JobResult> {
  const runDate = resolveDate(args);
  const firstMonth = monthStart(runDate, -1);
  const months = Array.from({ length: PARTITION_MONTHS_AHEAD + 2 }, (_, i) =>
    monthStart(runDate, i - 1),
  );
  const horizon = `${monthStart(runDate, PARTITION_MONTHS_AHEAD + 1)}T00:00:00Z`;

  return withJobLock('partition-maintenance', (job) =>
    job.transaction(async (tx) => {
      await tx.$executeRaw`SELECT set_config('TimeZone', 'UTC', true)`;
      const counts: Record<string, number> = {};
      const tables: Record<string, unknown> = {};
      let created = 0;
      for (const table of PARTITIONED_TABLES) {
        const rows = await tx.$queryRaw<{ created: number }[]>`
          SELECT COUNT(*) FILTER (WHERE create_monthly_partition(${table}::text, m::date))::int AS created
            FROM unnest(${months}::date[]) AS m`;
        const createdHere = rows[0]?.created ?? 0;
        created += createdHere;
        counts[`${table}PartitionsCreated`] = createdHere;

        const bounds = await partitionBounds(tx, table);
        const ranges = bounds
          .filter((b) => b.lower_bound && b.upper_bound)
          .map((b) => ({ lower: b.lower_bound as string, upper: b.upper_bound as string }));
        const hasDefault = bounds.some((b) => b.is_default);
        const oldest = ranges[0]?.lower ?? `${firstMonth}T00:00:00Z`;
        const from = oldest < `${firstMonth}T00:00:00Z` ? oldest : `${firstMonth}T00:00:00Z`;
        const gaps = hasDefault ? [] : findGaps(ranges, from, horizon);
        if (gaps.length > 0) {
          throw new PartitionGapError(
            `${table}: no partition for ${gaps.map(([a, b]) => `[${a}, ${b})`).join(', ')}; rows there would fail to insert`,
          );
        }
        const newest = ranges.reduce((max, r) => (r.upper > max ? r.upper : max), horizon);
        tables[table] = {
          partitions: bounds.length,
          coveredFrom: from,
          coveredUntil: newest,
          hasDefault,
        };
      }
      args.onProgress?.({ step: 'partitions', done: created });
      return {
        rowsTouched: created,
        counts,
        details: { runDate, horizon, monthsAhead: PARTITION_MONTHS_AHEAD, tables },
      };
    }),
  );
}
