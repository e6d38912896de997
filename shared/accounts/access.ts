// Ownership checks shared by every route that takes a child id. A parent reaches only its own
// family's live children (anything else is 404, so ids of other families reveal nothing); a
// child session reaches only its own child id (403 for any other).
import type { Principal } from '../auth/principal.ts';
import { markSessionChecked, sessionCheckSql } from '../auth/session.ts';
import { type Child, getDb, type Queryable } from '../db/client.ts';
import { empty, raw, type Sql, sql } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import { RETENTION } from '../jobs/data-retention.ts';
import type { AgeGroup } from '../learning/types.ts';
import { currentConsentVersion, LIVE_GRANT } from './consents.ts';

/**
 * A child as CHILD_COLUMNS reads it: the generated `Child` model without its secrets and
 * bookkeeping, with the birth date as text (YYYY-MM-DD: a DATE has no time zone to shift), the
 * age group narrowed to the CHECK constraint's values, and two derived fields.
 */
export type ChildRow = Omit<
  Child,
  'birthDate' | 'ageGroup' | 'pinHash' | 'sessionVersion' | 'deletedAt'
> & {
  birthDate: string;
  ageGroup: AgeGroup;
  /** On the family's local date. */
  age: number;
  hasPin: boolean;
};

// Columns named as the model names its fields. Age on the family's local date, like the age
// group (parents has no parent_id column, so the subquery's parent_id is the child's).
export const CHILD_COLUMNS = sql`id, parent_id AS "parentId", name, birth_date::text AS "birthDate",
  calculate_age(birth_date, (SELECT (NOW() AT TIME ZONE tzp.timezone)::date FROM parents tzp
    WHERE tzp.id = parent_id)) AS age, age_group AS "ageGroup", avatar_id AS "avatarId", interests,
  vocabulary_level AS "vocabularyLevel", settings, leaderboard_opt_in AS "leaderboardOptIn",
  nickname, pin_hash IS NOT NULL AS "hasPin", created_at AS "createdAt", updated_at AS "updatedAt",
  last_active_at AS "lastActiveAt"`;

/** Throws 403 when a child session tries to act for another child. Parents pass. */
export function assertChildScope(principal: Principal, childId: string): void {
  if (principal.kind === 'child' && principal.childId !== childId) {
    throw new AppError('forbidden', 'A child session can only act for its own child');
  }
}

/**
 * The live child `childId` if `principal` may act for it: its parent, or its own child session.
 * `lock` takes a row lock (inside a transaction `db`); `extra` adds columns to the row. `childId`
 * must be canonical (lower case: route params go through idSchema); any other spelling is a 404.
 */
export async function loadOwnedChild<Extra extends object = object>(
  principal: Principal,
  childId: string,
  options: { db?: Queryable; lock?: boolean; extra?: Sql } = {},
): Promise<ChildRow & Extra> {
  assertChildScope(principal, childId);
  if (!UUID.test(childId)) throw new AppError('not_found', 'No such child');
  const db = options.db ?? (await getDb());
  // The caller's session check rides on this lookup (no extra round trip): a returned row
  // passed it; no row is a 404 that reveals nothing either way.
  const check = sessionCheckSql();
  const [row] = await db.$queryRaw<(ChildRow & Extra)[]>`
    SELECT ${CHILD_COLUMNS}${options.extra ? sql`, ${options.extra}` : empty} FROM children
     WHERE id = ${childId}::uuid AND parent_id = ${principal.parentId}::uuid AND deleted_at IS NULL
       ${check ? sql`AND ${check}` : empty}
     ${options.lock ? sql`FOR UPDATE` : empty}`;
  if (!row) await explainMissingChild(db, childId, principal.parentId);
  if (check) markSessionChecked();
  return row as ChildRow & Extra;
}

/** Canonical ids only: the lower-case spelling idSchema hands on. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Why a child id of this family is not live. A child waiting for deletion because the parent
 * revoked coppa answers 403 consent_required (the parent sees it as pending deletion and can
 * grant coppa again and restore it within the grace period); anything else is 404. Runs only
 * on the miss path, so a live child costs no extra query.
 */
async function explainMissingChild(
  db: Queryable,
  childId: string,
  parentId: string,
): Promise<never> {
  // The session check again: a revoked session learns nothing about the child either.
  const check = sessionCheckSql();
  const grace = RETENTION.softDeletedGrace;
  const [pending] = await db.$queryRaw<{ deleted_at: Date; delete_after: Date; coppa: boolean }[]>`
    SELECT ch.deleted_at, ch.deleted_at + ${grace}::interval AS delete_after,
           EXISTS (SELECT 1 FROM consents c WHERE c.parent_id = ch.parent_id AND c.consent_type = 'coppa'
                      AND c.version = ${currentConsentVersion('coppa')} AND ${raw(LIVE_GRANT)}) AS coppa
      FROM children ch
     WHERE ch.id = ${childId}::uuid AND ch.parent_id = ${parentId}::uuid AND ch.deleted_at IS NOT NULL
       AND ch.deleted_at > NOW() - ${grace}::interval ${check ? sql`AND ${check}` : empty}`;
  if (pending && !pending.coppa) {
    throw new AppError(
      'consent_required',
      'Parental consent (coppa) was revoked: this child profile is waiting for deletion',
      {
        details: {
          missingConsents: [{ type: 'coppa', version: currentConsentVersion('coppa') }],
          pendingDeletion: {
            deletedAt: pending.deleted_at.toISOString(),
            deleteAfter: pending.delete_after.toISOString(),
          },
        },
      },
    );
  }
  throw new AppError('not_found', 'No such child');
}
