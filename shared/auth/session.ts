// Is the caller's sign-in still live? An access token is a signed claim that stays valid
// until it expires; logout, account deletion and a PIN change must end it sooner. The check
// (assert_live_session, see the 20261201000300 migration) rides along in the first statement
// a request sends anyway: the set_config of each transaction and the caller lookup of child
// routes. A request that sends neither runs it alone before its answer leaves.
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import type { Queryable } from '../db/client.ts';
import { sqlStateOf } from '../db/resilience.ts';
import { type Sql, sql } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import type { Principal } from './principal.ts';

interface SessionState {
  principal: Principal;
  checked: boolean;
}

const storage = new AsyncLocalStorage<SessionState>();

/** Runs `work` with `principal` as the request's caller (null: a public route). */
export function runWithPrincipal<T>(
  principal: Principal | null,
  work: () => Promise<T>,
): Promise<T> {
  if (!principal) return work();
  return storage.run({ principal, checked: false }, work);
}

const SESSION_ENDED = 'BS401';

/**
 * The session check as an SQL expression whose parameters start at `$first`, or undefined
 * when no caller needs checking (jobs, scripts, public routes, an already checked request).
 */
export function sessionCheck(first: number): { sql: string; values: unknown[] } | undefined {
  const state = storage.getStore();
  if (!state || state.checked) return undefined;
  const p = state.principal;
  return {
    sql: `assert_live_session($${first}::uuid, $${first + 1}::uuid, $${first + 2}::uuid, $${first + 3}::int)`,
    values: [
      p.parentId,
      p.sessionId ?? null,
      p.kind === 'child' ? p.childId : null,
      p.kind === 'child' ? (p.sessionVersion ?? null) : null,
    ],
  };
}

/**
 * The session check as a fragment for the Prisma client's tagged templates (an expression
 * to put in a SELECT list), or undefined when no caller needs checking. A statement that
 * carries it and succeeds must be followed by `markSessionChecked()`.
 */
export function sessionCheckSql(): Sql | undefined {
  const state = storage.getStore();
  if (!state || state.checked) return undefined;
  const p = state.principal;
  return sql`assert_live_session(${p.parentId}::uuid, ${p.sessionId ?? null}::uuid,
    ${p.kind === 'child' ? p.childId : null}::uuid,
    ${p.kind === 'child' ? (p.sessionVersion ?? null) : null}::int)`;
}

/** Records that a statement carrying `sessionCheck()` succeeded. */
export function markSessionChecked(): void {
  const state = storage.getStore();
  if (state) state.checked = true;
}

/** The request's session check, alone, if nothing carried it yet. */
export async function ensureSessionChecked(db: Queryable): Promise<void> {
  const check = sessionCheckSql();
  if (!check) return;
  await db.$executeRaw`SELECT ${check}`;
  markSessionChecked();
}

/** @deprecated pg form for the callers not yet on the Prisma client. */
export async function ensureSessionCheckedPg(db: Pick<pg.Pool, 'query'>): Promise<void> {
  const check = sessionCheck(1);
  if (!check) return;
  await db.query(`SELECT ${check.sql}`, check.values);
  markSessionChecked();
}

/** The 401 for a token whose sign-in ended, or undefined for any other error. */
export function sessionEndedError(err: unknown): AppError | undefined {
  if (sqlStateOf(err) !== SESSION_ENDED) return undefined;
  return new AppError('invalid_token', 'The session has ended; sign in again', { cause: err });
}
