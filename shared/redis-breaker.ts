// Fail fast when Redis is down. A Redis that is not connected is skipped at once; one that
// fails a command (timeout, reset) is skipped for OPEN_MS before it is tried again, so an
// outage costs at most one command timeout per OPEN_MS per instance rather than one per call.
// Callers (rate limits, leaderboard cache) then use their in-process fallback, and the switch
// is logged once per outage, not per request. State is per client.
import { logger } from './log.ts';

const OPEN_MS = 5_000;

interface BreakerState {
  openUntil: number;
  down: boolean;
}

const states = new WeakMap<object, BreakerState>();

function stateOf(client: object): BreakerState {
  let state = states.get(client);
  if (!state) {
    state = { openUntil: 0, down: false };
    states.set(client, state);
  }
  return state;
}

function markDown(state: BreakerState, reason: string, err?: unknown): void {
  if (state.down) return;
  state.down = true;
  logger.warn('redis unavailable: using in-process fallbacks until it answers again', {
    reason,
    ...(err instanceof Error ? { errorMessage: err.message } : {}),
  });
}

/** The client if it may be used now, else null (the caller uses its fallback). */
export function usableRedis<T extends { status: string }>(client: T | null): T | null {
  if (!client) return null;
  const state = stateOf(client);
  if (client.status !== 'ready') {
    markDown(state, `connection ${client.status}`);
    return null;
  }
  if (Date.now() < state.openUntil) return null;
  return client;
}

/** A command on `client` failed: skip it for a while. */
export function redisFailed(client: object, err: unknown): void {
  const state = stateOf(client);
  state.openUntil = Date.now() + OPEN_MS;
  markDown(state, 'command failed', err);
}

/** A command on `client` succeeded: Redis is back (logged once). */
export function redisSucceeded(client: object): void {
  const state = stateOf(client);
  if (!state.down) return;
  state.down = false;
  state.openUntil = 0;
  logger.info('redis available again');
}
