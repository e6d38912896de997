// Statement helpers of the account services: who changes account rows, for the audit trail
// (`brainspark.actor`, set by every transaction in shared/db/transaction.ts and by the
// single-statement sign-ins, is stored in audit_log.changed_by), and the request's session
// check carried by a read instead of costing a round trip of its own.
import { markSessionChecked, sessionCheckSql } from '../auth/session.ts';
import { type Sql, sql } from '../db/sql.ts';

/** `parent:<id>`, `child:<id>` or `system:<what>`; stored in audit_log.changed_by. */
export type Actor = string;

export const parentActor = (parentId: string): Actor => `parent:${parentId}`;

/**
 * For a read that may find no row: `SELECT ${column}, ... FROM ${from} LEFT JOIN <table> ON
 * ...`. The request's session check sits in the select list of a statement that always
 * returns a row (the LEFT JOIN onto one row), so it runs whether or not anything is found (an
 * ended sign-in is 401 before any 404 or empty list). Rows whose joined key is null found
 * nothing. Call `checked()` after the statement succeeded.
 */
export function sessionCheckedRead(): { column: Sql; from: Sql; checked(): void } {
  const check = sessionCheckSql();
  return {
    column: check ? sql`${check} AS session_ok` : sql`TRUE AS session_ok`,
    from: sql`(VALUES (1)) AS one_row`,
    checked: () => (check ? markSessionChecked() : undefined),
  };
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A JSONB column that always holds an object (parents' and children's settings: their default
 * and every write), which the generated models type as any JSON value.
 */
export const jsonObject = (value: unknown): Record<string, unknown> =>
  isPlainObject(value) ? value : {};
