// Who changes account rows, for the audit trail: `brainspark.actor`, set by every transaction
// (shared/db/transaction.ts) and by the single-statement writes of login, is stored in
// audit_log.changed_by.

/** `parent:<id>`, `child:<id>` or `system:<what>`; stored in audit_log.changed_by. */
export type Actor = string;

export const parentActor = (parentId: string): Actor => `parent:${parentId}`;
