// The one way a request opens a transaction: BEGIN, then one statement that names the actor
// for the audit trail, bounds this transaction's statements and lock waits, and checks that
// the caller's sign-in is still live (shared/auth/session.ts), then the work, then COMMIT.
// A connection that broke mid-way is discarded, never handed back to the pool.
import type pg from 'pg';
import { markSessionChecked, sessionCheck } from '../auth/session.ts';
import { getPool } from './client.ts';
import { DB_LIMITS, isBrokenConnection } from './resilience.ts';

export interface TransactionOptions {
  /** A read-only snapshot gives multi-query reads (exports) one consistent view. */
  readOnlySnapshot?: boolean;
}

export async function runTransaction<T>(
  actor: string,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const pool = await getPool();
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(
      options.readOnlySnapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN',
    );
    const check = sessionCheck(4);
    // lock_timeout: a child's advisory lock held by a stuck request must not hold every
    // other request for that child (and, through the pool, every family) for long.
    await client.query(
      `SELECT set_config('brainspark.actor', $1, true), set_config('statement_timeout', $2, true),
              set_config('lock_timeout', $3, true)${check ? `, ${check.sql}` : ''}`,
      [
        actor,
        `${DB_LIMITS.statementTimeoutMs}ms`,
        `${DB_LIMITS.lockTimeoutMs}ms`,
        ...(check?.values ?? []),
      ],
    );
    if (check) markSessionChecked();
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (isBrokenConnection(err)) {
      // No ROLLBACK on a dead or stalled connection (it would wait out another timeout): the
      // server rolls back when the connection closes.
      broken = err instanceof Error ? err : new Error(String(err));
    } else {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

// TEMPORARY SHIM (jobs branch, replaced by main's foundation on merge).
export async function inTransaction<T>(
  actor: string,
  work: (tx: import('./client.ts').Tx) => Promise<T>,
): Promise<T> {
  const { getDb } = await import('./client.ts');
  const db = await getDb();
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT set_config('brainspark.actor', ${actor}, true)`;
    return work(tx);
  });
}
