// Transactions for the learning loop. Every write for one child runs under that child's
// advisory lock, so concurrent posts, purchases and spark completions for a child queue up
// and each sees the previous one's committed counters (streak once a day, stars never < 0).
import type pg from 'pg';
import { getPool } from '../db/client.ts';

export type Queryable = Pick<pg.PoolClient, 'query'>;

export async function withTransaction<T>(
  actor: string,
  work: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const pool = await getPool();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('brainspark.actor', $1, true)", [actor]);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
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
