// One advisory lock per job so two runs (a Pub/Sub redelivery racing the original, or a
// manual run during the scheduled one) never work at the same time. The lock is taken on
// the session of the client that does all the work, and waited for: the second run then
// starts after the first has committed and, the jobs being idempotent, finds nothing left.
import type pg from 'pg';
import { liftRequestBounds } from '../db/resilience.ts';

/** A job's statements may run for minutes; the whole run must fit Pub/Sub's 540 s. */
const JOB_STATEMENT_TIMEOUT = '530s';
const JOB_QUERY_TIMEOUT_MS = 535_000;

/** A job's connections lift the request bounds; they are discarded at release. */
const jobSession = (client: pg.PoolClient) =>
  liftRequestBounds(client, JOB_STATEMENT_TIMEOUT, JOB_QUERY_TIMEOUT_MS);

/** First key of the two-key advisory lock space: 'JOBS' in ASCII, to keep clear of others. */
const JOB_LOCK_NAMESPACE = 0x4a4f4253;

export async function withJobLock<T>(
  pool: pg.Pool,
  jobName: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await jobSession(client);
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [JOB_LOCK_NAMESPACE, jobName]);
    try {
      return await work(client);
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1, hashtext($2))', [JOB_LOCK_NAMESPACE, jobName])
        .catch((err: Error) => {
          broken = err;
        });
    }
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // Discarded: its lifted timeouts (and, if the unlock failed, the lock) must not go back
    // to the pool.
    client.release(broken ?? true);
  }
}

/** Runs `work` in a transaction on `client`, with memory for the big hash joins of a job. */
export async function inTransaction<T>(
  client: pg.PoolClient,
  jobName: string,
  work: () => Promise<T>,
): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT set_config('work_mem', '256MB', true)");
    // The planner's row estimates for the jobs' CTE joins are wildly high, which triggers
    // JIT compilation costing ~1 s per statement for nothing: these plans are scan-bound.
    await client.query("SELECT set_config('jit', 'off', true)");
    // The audit trail names the job as the actor of what it changes.
    await client.query("SELECT set_config('brainspark.actor', $1, true)", [`job:${jobName}`]);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** How many statements a sharded job runs at once (the database here has 2 cores). */
export const JOB_SHARDS = 2;

export interface KeyRange {
  /** Inclusive lower bound, or null for the start of the key space. */
  from: string | null;
  /** Exclusive upper bound, or null for the end. */
  to: string | null;
}

/** Splits the UUID key space into `n` equal ranges (random UUIDs spread evenly over them). */
export function uuidRanges(n: number): KeyRange[] {
  const bound = (i: number) =>
    `${Math.floor((i * 0x100000000) / n)
      .toString(16)
      .padStart(8, '0')}-0000-0000-0000-000000000000`;
  return Array.from({ length: n }, (_, i) => ({
    from: i === 0 ? null : bound(i),
    to: i === n - 1 ? null : bound(i + 1),
  }));
}

/**
 * Runs `work` once per key range, each in its own transaction on its own connection, at
 * most JOB_SHARDS at a time, while `lockClient` keeps holding the job's lock. A pool too
 * small for that (the embedded database has one connection) runs a single range on
 * `lockClient`. Ranges commit independently; the jobs are idempotent, so a failure leaves
 * work a retry completes.
 */
export async function inShards<T>(
  pool: pg.Pool,
  lockClient: pg.PoolClient,
  jobName: string,
  work: (client: pg.PoolClient, range: KeyRange) => Promise<T>,
): Promise<T[]> {
  const shards = Math.max(1, Math.min(JOB_SHARDS, (pool.options.max ?? 1) - 1));
  if (shards === 1)
    return [
      await inTransaction(lockClient, jobName, () => work(lockClient, { from: null, to: null })),
    ];
  return Promise.all(
    uuidRanges(shards).map(async (range) => {
      const client = await pool.connect();
      try {
        await jobSession(client);
        return await inTransaction(client, jobName, () => work(client, range));
      } finally {
        client.release(true);
      }
    }),
  );
}
