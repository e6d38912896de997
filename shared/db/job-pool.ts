// The pool side of a scheduled job (shared/jobs/lock.ts). Request connections carry a
// client-side bound that pg enforces on every query (DB_LIMITS.queryTimeoutMs): a frozen
// server must not hold a request. A job's statements may run for minutes on purpose, so
// while a job runs in this process every connection checked out of the pool carries the
// job's bound instead; the server-side bounds (statement_timeout, lock_timeout) are lifted
// per transaction with SET LOCAL by the job lock, so nothing outlives the job on a pooled
// connection but this client-side number, reset at the next check-out. In the cloud each job
// is its own function instance; only `npm start` runs jobs beside requests.
import type pg from 'pg';
import { getPool } from './client.ts';

interface JobPoolState {
  running: number;
  queryTimeoutMs: number;
}

const states = new WeakMap<pg.Pool, JobPoolState>();

export interface JobConnections {
  /** The pool's size: how many connections the job may hold at once. */
  connections: number;
  /** Call once when the job is over: later check-outs get the request bound back. */
  end(): void;
}

export async function beginJobConnections(queryTimeoutMs: number): Promise<JobConnections> {
  const pool = await getPool();
  let state = states.get(pool);
  if (!state) {
    const created: JobPoolState = { running: 0, queryTimeoutMs };
    state = created;
    states.set(pool, created);
    const requestBound = pool.options.query_timeout;
    pool.on('acquire', (client) => {
      const params = (client as unknown as { connectionParameters?: { query_timeout?: unknown } })
        .connectionParameters;
      if (params)
        params.query_timeout = created.running > 0 ? created.queryTimeoutMs : requestBound;
    });
  }
  const current = state;
  current.running += 1;
  current.queryTimeoutMs = Math.max(current.queryTimeoutMs, queryTimeoutMs);
  let ended = false;
  return {
    connections: pool.options.max ?? 10,
    end() {
      if (ended) return;
      ended = true;
      current.running -= 1;
    },
  };
}
