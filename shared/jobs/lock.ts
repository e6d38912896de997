// One advisory lock per job so two runs (a Pub/Sub redelivery racing the original, or a
// manual run during the scheduled one) never work at the same time. The lock is waited for:
// the second run starts after the first has finished and, the jobs being idempotent, finds
// nothing left.
//
// On the shared Prisma client:
//   - With two or more connections, one interactive transaction holds the lock
//     (pg_advisory_xact_lock) on its own connection for the whole run, idle, while the work
//     runs in transactions of its own on the other connections, each committed as it ends
//     (a long first run makes steady progress; the delivery log of the notification jobs
//     commits each send). Ending the lock transaction releases the lock, whatever happens.
//   - With a single connection (the embedded database, streak-reminders' pool) every statement
//     runs on that connection, so a session lock (pg_advisory_lock) taken there is held until
//     the unlock at the end, which runs on the same connection (a connection that died took
//     the lock with it).
// A job's transactions lift the request bounds with SET LOCAL (statement and lock timeouts,
// the client-side query bound via shared/db/job-pool.ts) and get memory for big hash joins;
// Prisma's transaction timeout is the function's own limit, 540 s.
import { type Db, getDb, type Tx } from '../db/client.ts';
import { beginJobConnections } from '../db/job-pool.ts';
import { empty, raw, type Sql, sql } from '../db/sql.ts';

/** A job's statements may run for minutes; the whole run must fit Pub/Sub's 540 s. */
const JOB_STATEMENT_TIMEOUT = '530s';
const JOB_QUERY_TIMEOUT_MS = 535_000;
/** Prisma's bound on each of a job's transactions (the lock's included). */
const JOB_TRANSACTION_TIMEOUT_MS = 540_000;
/** How long a job's transaction may wait for a connection of the pool. */
const JOB_CONNECTION_WAIT_MS = 10_000;
/** The lock's transaction sits idle while the work runs elsewhere. */
const LOCK_IDLE_TIMEOUT = '540s';

/** First key of the two-key advisory lock space: 'JOBS' in ASCII, to keep clear of others. */
const JOB_LOCK_NAMESPACE = 0x4a4f4253;

/** How many statements a sharded job runs at once (the database here has 2 cores). */
export const JOB_SHARDS = 2;

export interface KeyRange {
  /** Inclusive lower bound, or null for the start of the key space. */
  from: string | null;
  /** Exclusive upper bound, or null for the end. */
  to: string | null;
}

export interface JobSession {
  name: string;
  /** The job's client, for statements that commit on their own (the delivery log). */
  db: Db;
  /** Connections free for the work beside the lock's (at least 1). */
  workConnections: number;
  /**
   * Runs `work` in a transaction of its own, committed when it returns: the job is the
   * audit actor, statements may run for minutes, and big hash joins get memory.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

const txOptions = { timeout: JOB_TRANSACTION_TIMEOUT_MS, maxWait: JOB_CONNECTION_WAIT_MS };

function jobTransaction<T>(db: Db, jobName: string, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(async (tx) => {
    // The planner's row estimates for the jobs' CTE joins are wildly high, which triggers JIT
    // compilation costing ~1 s per statement for nothing: these plans are scan-bound.
    await tx.$executeRaw`
      SELECT set_config('statement_timeout', ${JOB_STATEMENT_TIMEOUT}, true),
             set_config('lock_timeout', '0', true),
             set_config('work_mem', '256MB', true),
             set_config('jit', 'off', true),
             set_config('brainspark.actor', ${`job:${jobName}`}, true)`;
    return work(tx);
  }, txOptions);
}

/** Runs of one job in this process queue here first (a session lock is re-entrant). */
const localQueues = new Map<string, Promise<unknown>>();

/** Runs `work` holding the job's lock, on the process's database client. */
export async function withJobLock<T>(
  jobName: string,
  work: (job: JobSession) => Promise<T>,
): Promise<T> {
  const previous = localQueues.get(jobName) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => lockedRun(jobName, work));
  const settled = run.catch(() => undefined);
  localQueues.set(jobName, settled);
  try {
    return await run;
  } finally {
    if (localQueues.get(jobName) === settled) localQueues.delete(jobName);
  }
}

async function lockedRun<T>(jobName: string, work: (job: JobSession) => Promise<T>): Promise<T> {
  const db = await getDb();
  const pool = await beginJobConnections(JOB_QUERY_TIMEOUT_MS);
  try {
    const session = (workConnections: number): JobSession => ({
      name: jobName,
      db,
      workConnections,
      transaction: (fn) => jobTransaction(db, jobName, fn),
    });
    if (pool.connections <= 1) return await withSessionLock(db, jobName, () => work(session(1)));
    return await withTransactionLock(db, jobName, () => work(session(pool.connections - 1)));
  } finally {
    pool.end();
  }
}

async function withSessionLock<T>(db: Db, jobName: string, work: () => Promise<T>): Promise<T> {
  await db.$transaction(async (tx) => {
    await tx.$executeRaw`
      SELECT set_config('statement_timeout', ${JOB_STATEMENT_TIMEOUT}, true),
             set_config('lock_timeout', '0', true)`;
    await tx.$executeRaw`SELECT pg_advisory_lock(${JOB_LOCK_NAMESPACE}::int, hashtext(${jobName}::text))`;
  }, txOptions);
  try {
    return await work();
  } finally {
    await db.$executeRaw`
      SELECT pg_advisory_unlock(${JOB_LOCK_NAMESPACE}::int, hashtext(${jobName}::text))`.catch(
      () => undefined, // the connection is gone, and its lock with it
    );
  }
}

async function withTransactionLock<T>(db: Db, jobName: string, work: () => Promise<T>): Promise<T> {
  let release!: () => void;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const acquired = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const holder = db.$transaction(async (tx) => {
    await tx.$executeRaw`
      SELECT set_config('statement_timeout', ${JOB_STATEMENT_TIMEOUT}, true),
             set_config('lock_timeout', '0', true),
             set_config('idle_in_transaction_session_timeout', ${LOCK_IDLE_TIMEOUT}, true)`;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${JOB_LOCK_NAMESPACE}::int, hashtext(${jobName}::text))`;
    locked();
    await done;
  }, txOptions);
  // Until the lock is held, a failure of its transaction is the run's failure.
  await Promise.race([acquired, holder]);
  try {
    return await work();
  } finally {
    release();
    // Rolled back by Prisma after the time limit, or its connection lost: the lock went with
    // it, and the work's own transactions decided the outcome.
    await holder.catch(() => undefined);
  }
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

/** `AND column` within `range` (nothing for an open end); `column` is the caller's SQL. */
export function inKeyRange(column: string, range: KeyRange): Sql {
  const col = raw(column);
  return sql`${range.from === null ? empty : sql`AND ${col} >= ${range.from}::uuid`} ${
    range.to === null ? empty : sql`AND ${col} < ${range.to}::uuid`
  }`;
}

/**
 * Runs `work` once per key range, each in its own transaction on its own connection, at
 * most JOB_SHARDS at a time, while the job's lock is held. A pool too small for that (the
 * embedded database has one connection) runs a single range. Ranges commit independently;
 * the jobs are idempotent, so a failure leaves work a retry completes.
 */
export async function inShards<T>(
  job: JobSession,
  work: (tx: Tx, range: KeyRange) => Promise<T>,
): Promise<T[]> {
  const shards = Math.max(1, Math.min(JOB_SHARDS, job.workConnections));
  return Promise.all(uuidRanges(shards).map((range) => job.transaction((tx) => work(tx, range))));
}
