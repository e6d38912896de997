// Transactions for the account services. Every change to parents, children and consents runs
// in one, with `brainspark.actor` set so the audit trigger records who made it.
import type pg from 'pg';
import { getPool } from '../db/client.ts';
import { runTransaction, type TransactionOptions } from '../db/transaction.ts';

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** `parent:<id>`, `child:<id>` or `system:<what>`; stored in audit_log.changed_by. */
export type Actor = string;

export function withTransaction<T>(
  actor: Actor,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  return runTransaction(actor, work, options);
}

/** A single statement outside an explicit transaction (reads). */
export async function query<R extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  const pool = await getPool();
  return pool.query<R>(text, values);
}

export const parentActor = (parentId: string): Actor => `parent:${parentId}`;

/** PostgreSQL error fields we map to API errors. */
export function pgErrorOf(err: unknown): { code?: string; constraint?: string; message?: string } {
  if (typeof err === 'object' && err !== null) return err as { code?: string; constraint?: string };
  return {};
}
