// The one way a request opens a transaction: BEGIN, then one statement that names the actor
// for the audit trail, bounds this transaction's statements and lock waits, and checks that
// the caller's sign-in is still live (shared/auth/session.ts), then the work, then COMMIT.
// A connection that broke mid-way is discarded, never handed back to the pool.
import type pg from 'pg';
import { markSessionChecked, sessionCheck, sessionCheckSql } from '../auth/session.ts';
import { getDb, getPool, type Tx } from './client.ts';
import { DB_LIMITS, isBrokenConnection } from './resilience.ts';
import { empty, sql } from './sql.ts';

export interface TransactionOptions {
  /** A read-only snapshot gives multi-query reads (exports) one consistent view. */
  readOnlySnapshot?: boolean;
  /**
   * Serialises transactions on one key (e.g. `child:<id>`): a transaction-scoped advisory
   * lock taken in the opening statement and released at COMMIT/ROLLBACK. Callers pass
   * canonical ids only (shared/runtime/ids.ts), or two spellings would be two locks.
   */
  lockKey?: string;
  /** Bound on the whole transaction (ms); jobs raise it, requests keep the default. */
  timeoutMs?: number;
}

/**
 * The one way to open a transaction on the shared Prisma client: BEGIN, then ONE statement
 * that names the actor for the audit trail, bounds statements and lock waits, carries the
 * request's session check and takes the optional advisory lock, then `work`, then COMMIT.
 * A transaction therefore costs three round trips plus the work's own statements.
 */
export async function inTransaction<T>(
  actor: string,
  work: (tx: Tx) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const db = await getDb();
  const check = sessionCheckSql();
  const lock =
    options.lockKey === undefined
      ? empty
      : sql`, pg_advisory_xact_lock(hashtext(${options.lockKey}))`;
  const readOnly = options.readOnlySnapshot
    ? sql`, set_config('transaction_read_only', 'on', true)`
    : empty;
  const result = await db.$transaction(
    async (tx) => {
      // $executeRaw: pg_advisory_xact_lock returns void, which $queryRaw cannot decode.
      await tx.$executeRaw`SELECT set_config('brainspark.actor', ${actor}, true),
          set_config('statement_timeout', ${`${DB_LIMITS.statementTimeoutMs}ms`}, true),
          set_config('lock_timeout', ${`${DB_LIMITS.lockTimeoutMs}ms`}, true)
          ${check ? sql`, ${check}` : empty}${lock}${readOnly}`;
      if (check) markSessionChecked();
      return work(tx);
    },
    {
      // Waiting for a pool slot is bounded by the pool's own connect timeout (plus the
      // full-server retry); the whole transaction by the server's idle-in-transaction bound.
      maxWait: DB_LIMITS.connectTimeoutMs + DB_LIMITS.fullServerRetryMs,
      timeout: options.timeoutMs ?? DB_LIMITS.idleInTransactionTimeoutMs,
      ...(options.readOnlySnapshot ? { isolationLevel: 'RepeatableRead' as const } : {}),
    },
  );
  return result;
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
