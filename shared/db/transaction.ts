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

// STAND-IN for the lead's foundation (issue 10); replaced on merge.
export async function inTransaction<T>(
  actor: string,
  work: (tx: import('./client.ts').Tx) => Promise<T>,
  options: TransactionOptions & { lockKey?: string } = {},
): Promise<T> {
  const { getDb } = await import('./client.ts');
  const { sql, empty } = await import('./sql.ts');
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const check = sessionCheck(1);
    const lock = options.lockKey
      ? sql`, (SELECT 1 FROM pg_advisory_xact_lock(hashtext(${options.lockKey})))`
      : empty;
    await tx.$queryRaw`SELECT set_config('brainspark.actor', ${actor}, true)::text, set_config('statement_timeout', ${`${DB_LIMITS.statementTimeoutMs}ms`}, true)::text,
      set_config('lock_timeout', ${`${DB_LIMITS.lockTimeoutMs}ms`}, true)::text ${lock}`;
    if (check) {
      await tx.$queryRawUnsafe(`SELECT 1 FROM ${check.sql}`, ...check.values);
      markSessionChecked();
    }
    return work(tx);
  }, { timeout: 30_000, maxWait: 10_000 });
}
