// The one way a request opens a transaction: BEGIN, then one statement that names the actor
// for the audit trail, bounds this transaction's statements and lock waits, and checks that
// the caller's sign-in is still live (shared/auth/session.ts), then the work, then COMMIT.
// A connection that broke mid-way is discarded, never handed back to the pool.
import { markSessionChecked, sessionCheckSql } from '../auth/session.ts';
import { getDb, type Tx } from './client.ts';
import { DB_LIMITS } from './resilience.ts';
import { empty, type Sql, sql } from './sql.ts';

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
  const opening = openingStatement(actor, options);
  const result = await db.$transaction(
    async (tx) => {
      // $executeRaw: pg_advisory_xact_lock returns void, which $queryRaw cannot decode.
      await tx.$executeRaw(opening.sql);
      opening.succeeded();
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

/**
 * The opening statement of every transaction: names the actor for the audit trail, bounds
 * statements and lock waits, carries the request's session check and takes the optional
 * advisory lock. `succeeded()` records that the session check ran.
 */
function openingStatement(
  actor: string,
  options: TransactionOptions,
): { sql: Sql; succeeded(): void } {
  const check = sessionCheckSql();
  const lock =
    options.lockKey === undefined
      ? empty
      : sql`, pg_advisory_xact_lock(hashtext(${options.lockKey}))`;
  const readOnly = options.readOnlySnapshot
    ? sql`, set_config('transaction_read_only', 'on', true)`
    : empty;
  return {
    sql: sql`SELECT set_config('brainspark.actor', ${actor}, true),
          set_config('statement_timeout', ${`${DB_LIMITS.statementTimeoutMs}ms`}, true),
          set_config('lock_timeout', ${`${DB_LIMITS.lockTimeoutMs}ms`}, true)
          ${check ? sql`, ${check}` : empty}${lock}${readOnly}`,
    succeeded: () => (check ? markSessionChecked() : undefined),
  };
}
