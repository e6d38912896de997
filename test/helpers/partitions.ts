// Rows in the monthly-partitioned tables need a partition for their month. The migration only
// creates partitions around the day it runs, so a test that writes rows on fixed dates creates
// the partitions for those dates itself; otherwise it would pass only in the months near them.
import type pg from 'pg';

export const PARTITIONED_TABLES = ['messages', 'daily_activity'] as const;

/** Creates (idempotently) every monthly partition of both tables from `from`'s month to `to`'s. */
export async function ensureMonthlyPartitions(
  pool: pg.Pool | pg.Client,
  from: string,
  to: string,
): Promise<void> {
  await pool.query(
    `SELECT create_monthly_partition(t, m::date)
       FROM unnest($1::text[]) AS t,
            generate_series(date_trunc('month', $2::date), $3::date, interval '1 month') AS m`,
    [PARTITIONED_TABLES, from, to],
  );
}
