// One advisory lock per job so two runs (a Pub/Sub redelivery racing the original, or a
// manual run during the scheduled one) never work at the same time. The lock is taken on
// the session of the client that does all the work, and waited for: the second run then
// starts after the first has committed and, the jobs being idempotent, finds nothing left.
import type pg from 'pg';

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
    // A session whose unlock may have failed must not go back to the pool still holding it.
    client.release(broken);
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
