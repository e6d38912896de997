// DEPRECATED (issue 10): the pg-era helpers of the learning loop. Nothing of the conversation,
// brain-spark, streak or activity paths uses them any more (they use shared/db: getDb,
// inTransaction with lockKey `child:<id>`, Queryable). They stay only for callers not yet
// converted on this branch (rewards, constellation, leaderboard, dashboard, progress, access,
// functions/topics and rewards, and tests using withChildLock); delete this file when none is left.
// Transactions for the learning loop. Every write for one child runs under that child's
// advisory lock, so concurrent posts, purchases and spark completions for a child queue up
// and each sees the previous one's committed counters (streak once a day, stars never < 0).
import type pg from 'pg';
import { getPool } from '../db/client.ts';
import { runTransaction } from '../db/transaction.ts';

export type Queryable = Pick<pg.PoolClient, 'query'>;

export function withTransaction<T>(
  actor: string,
  work: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return runTransaction(actor, work);
}

/** A transaction holding the child's lock (released at COMMIT/ROLLBACK). */
export function withChildLock<T>(
  childId: string,
  actor: string,
  work: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withTransaction(actor, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`child:${childId}`]);
    return work(tx);
  });
}

export async function queryRows<R extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const pool = await getPool();
  return (await pool.query<R>(text, values)).rows;
}

/** The pool, for reads outside a transaction. */
export async function readDb(): Promise<Queryable> {
  return getPool();
}
