// How this process lives with a database that drops connections, stalls or fills up:
//   - every pooled client carries an 'error' listener from birth, so a backend terminated
//     while a client is idle, checked out or mid-transaction costs only the requests using it
//     (pg emits 'error' on the client; without a listener Node exits);
//   - a connection refused because the server is full (53300) or starting up (57P03) is
//     retried briefly with jittered backoff instead of failing the request at once;
//   - failures of the database (or Redis) are recognised and become 503 `unavailable` with
//     Retry-After at the HTTP edge, logged once per burst instead of a stack per request.
import type pg from 'pg';
import { AppError } from '../errors.ts';
import { errorFields, logger } from '../log.ts';

/**
 * Bounded waits (ms). A request must answer within ANSWER_BUDGET_MS even when the database
 * stalls. The worst stalled path is one request that waits almost the whole connect bound
 * for a pool slot (a frozen server holds every slot until its query bound fires), gets a
 * client, and then waits the whole query bound on the frozen server: connect + query must
 * stay well under the budget (the SIGSTOP fault run measured 5003 ms with 1500 + 3500).
 */
export const DB_LIMITS = {
  /** Waiting for a pool slot plus TCP connect and start-up. */
  connectTimeoutMs: 1000,
  /** Server-side bound on one statement of a request (below the client-side query bound). */
  statementTimeoutMs: 2500,
  /** Server-side bound on waiting for a lock (one child's advisory lock held elsewhere). */
  lockTimeoutMs: 2000,
  /** Client-side bound on one query: a frozen server never answers, so the server cannot. */
  queryTimeoutMs: 3000,
  /** A transaction left open by a stuck client is ended by the server. */
  idleInTransactionTimeoutMs: 10_000,
  /** How long a connect refused with "too many clients" is retried. */
  fullServerRetryMs: 1200,
} as const;

/** The longest a request may take to answer while the database is down or frozen. */
export const ANSWER_BUDGET_MS = 5000;

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 2;

// SQLSTATEs that mean "the database cannot serve this now" rather than "this request is wrong".
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (backend terminated, server stopping)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovery)
  '57P05', // idle_session_timeout
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available (lock_timeout)
  '25P03', // idle_in_transaction_session_timeout
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '53300', // too_many_connections
  '58000', // system_error
  '58030', // io_error
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

// Messages pg and pg-pool use for connection-level failures (they carry no code).
const NETWORK_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Client was closed|Connection ended unexpectedly|Cannot use a pool after calling end|the database system is (starting up|shutting down|in recovery mode)/i;

// What @prisma/adapter-pg reports instead of a code for connection-level failures.
const ADAPTER_KINDS: Record<string, string> = {
  DatabaseNotReachable: 'ECONNREFUSED',
  ConnectionClosed: 'ECONNRESET',
  SocketTimeout: 'ETIMEDOUT',
  TooManyConnections: '53300',
};

/**
 * The SQLSTATE or network code of one error in the chain. Prisma's driver-adapter causes
 * carry the server's code as `originalCode` (their `code` may be a Prisma kind instead).
 */
function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; originalCode?: unknown; kind?: unknown } | null;
  if (typeof e?.originalCode === 'string') return e.originalCode;
  if (typeof e?.kind === 'string' && ADAPTER_KINDS[e.kind]) return ADAPTER_KINDS[e.kind];
  // Prisma's own error codes (P2010: raw query failed) name no cause: look deeper.
  if (typeof e?.code === 'string' && /^P\d{4}$/.test(e.code)) return undefined;
  return typeof e?.code === 'string' ? e.code : undefined;
}

/** The first SQLSTATE (or network code) in `err`'s chain, Prisma-wrapped or not. */
export function sqlStateOf(err: unknown): string | undefined {
  for (const e of chain(err)) {
    const code = codeOf(e);
    if (code) return code;
  }
  return undefined;
}

/** Walks `cause`, AggregateError members and Prisma's wrapped driver errors. */
function* chain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const pending = [err];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next === null || typeof next !== 'object' || seen.has(next)) continue;
    seen.add(next);
    yield next;
    const e = next as {
      cause?: unknown;
      errors?: unknown;
      originalError?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    // Only objects go on the stack: an undefined entry would end the walk early.
    for (const inner of [
      e.cause,
      e.originalError,
      e.meta?.driverAdapterError,
      ...(Array.isArray(e.errors) ? e.errors : []),
    ]) {
      if (inner !== null && typeof inner === 'object') pending.push(inner);
    }
  }
}

// Prisma client errors that mean the database did not answer in time or went away, rather
// than a bad request: P2028 covers a transaction that could not start within its wait (every
// pool slot held by a stalled server) or outlived its bound; P2024 a pool wait; P1xxx reach.
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);

/** True when `err` means a dependency (PostgreSQL, Redis) is down, full, slow or restarting. */
export function isUnavailable(err: unknown): boolean {
  for (const e of chain(err)) {
    const prismaCode = (e as { code?: unknown }).code;
    if (typeof prismaCode === 'string' && PRISMA_UNAVAILABLE.has(prismaCode)) return true;
    const code = codeOf(e);
    if (code && (UNAVAILABLE_SQLSTATES.has(code) || NETWORK_CODES.has(code))) return true;
    if (code?.startsWith('08')) return true; // connection_exception class
    if (e instanceof Error && NETWORK_MESSAGES.test(e.message)) return true;
  }
  return false;
}

/** True when the connection that raised `err` must not go back to the pool. */
export function isBrokenConnection(err: unknown): boolean {
  for (const e of chain(err)) {
    const code = codeOf(e);
    if (!code && e instanceof Error && NETWORK_MESSAGES.test(e.message)) return true;
    if (code && (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('57P')))
      return true;
  }
  return false;
}

/** The 503 a client sees; the cause stays server-side. */
export function unavailableError(err: unknown): AppError {
  const code = [...chain(err)].map(codeOf).find(Boolean);
  const detail =
    code === '55P03'
      ? 'This child is busy with another request; try again shortly'
      : 'A service we depend on is unavailable; try again shortly';
  return new AppError('unavailable', detail, {
    details: { retryAfterSeconds: RETRY_AFTER_SECONDS },
    cause: err,
  });
}

/**
 * Logs a dependency failure at WARNING once per burst: the first failure, then a summary at
 * most every 30 s while failures continue. No stack: the cause is the dependency, not our code.
 */
const bursts = new Map<string, { first: number; last: number; count: number; reported: number }>();
const BURST_QUIET_MS = 30_000;

export function reportUnavailable(dependency: string, err: unknown): void {
  const now = Date.now();
  const burst = bursts.get(dependency);
  const fields = {
    dependency,
    errorCode: [...chain(err)].map(codeOf).find(Boolean),
    errorMessage: err instanceof Error ? err.message : String(err),
  };
  if (!burst || now - burst.last > BURST_QUIET_MS) {
    bursts.set(dependency, { first: now, last: now, count: 1, reported: now });
    logger.warn(`${dependency} unavailable: answering 503`, fields);
    return;
  }
  burst.last = now;
  burst.count += 1;
  if (now - burst.reported >= BURST_QUIET_MS) {
    burst.reported = now;
    logger.warn(`${dependency} still unavailable`, {
      ...fields,
      failuresInBurst: burst.count,
      burstSeconds: Math.round((now - burst.first) / 1000),
    });
  }
}

/** Tests: forget past bursts so the next failure logs again. */
export function resetUnavailableReportsForTests(): void {
  bursts.clear();
}

const listened = new WeakSet<object>();

/**
 * Gives a client a permanent 'error' listener. The query that was running already rejects
 * with the error; this only keeps the event from killing the process.
 */
export function keepAliveOnError(client: pg.Client | pg.PoolClient, label = 'database'): void {
  if (listened.has(client)) return;
  listened.add(client);
  client.on('error', (err: Error) => reportUnavailable(label, err));
}

const FULL_OR_STARTING = new Set(['53300', '57P03']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const hardened = new WeakSet<pg.Pool>();

/**
 * Makes a pool survive dropped connections and wait briefly when the server is full. Safe on
 * any pool (tests inject their own; the embedded database has one) and idempotent.
 */
export function hardenPool(pool: pg.Pool): pg.Pool {
  if (hardened.has(pool)) return pool;
  hardened.add(pool);
  // Errors on idle clients are re-emitted by the pool; errors on checked-out clients go to
  // the client itself: both need a listener.
  pool.on('error', (err) => reportUnavailable('database', err));
  pool.on('connect', (client) => keepAliveOnError(client));

  type Callback = (err: Error | undefined, client?: pg.PoolClient, done?: () => void) => void;
  const rawConnect = pool.connect.bind(pool) as (
    cb?: Callback,
  ) => Promise<pg.PoolClient> | undefined;
  const connectWithRetry = async (): Promise<pg.PoolClient> => {
    const deadline = Date.now() + DB_LIMITS.fullServerRetryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await (rawConnect() as Promise<pg.PoolClient>);
      } catch (err) {
        const code = codeOf(err);
        const wait = Math.min(400, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
        if (!code || !FULL_OR_STARTING.has(code) || Date.now() + wait > deadline) throw err;
        await sleep(wait);
      }
    }
  };
  // pg-pool's query() calls connect with a callback; Prisma's adapter and our code use the
  // promise form: serve both.
  (pool as unknown as { connect: (cb?: Callback) => Promise<pg.PoolClient> | undefined }).connect =
    (cb?: Callback) => {
      const promise = connectWithRetry();
      if (!cb) return promise;
      promise.then(
        (client) => cb(undefined, client, () => client.release()),
        (err: Error) => cb(err),
      );
      return undefined;
    };
  return pool;
}

/** Logs a non-dependency error with its stack (a bug), or a dependency one once per burst. */
export function logFailure(err: unknown, message: string): void {
  if (isUnavailable(err)) reportUnavailable('database', err);
  else logger.error(message, errorFields(err));
}

/**
 * Lifts the request bounds on a connection that runs long work on purpose (a job, the
 * migrator): a long statement, or waiting for a lock, is normal there. Release the client
 * with `release(true)` afterwards so no request inherits the lifted bounds.
 */
export async function liftRequestBounds(
  client: pg.PoolClient,
  statementTimeout: string,
  queryTimeoutMs: number,
): Promise<void> {
  const params = (client as unknown as { connectionParameters?: { query_timeout?: number } })
    .connectionParameters;
  if (params) params.query_timeout = queryTimeoutMs;
  await client.query(
    "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', '0', false)",
    [statementTimeout],
  );
}
