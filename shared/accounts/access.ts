// Ownership checks shared by every route that takes a child id. A parent reaches only its own
// family's live children (anything else is 404, so ids of other families reveal nothing); a
// child session reaches only its own child id (403 for any other).
import type { Principal } from '../auth/principal.ts';
import { markSessionChecked, sessionCheck } from '../auth/session.ts';
import { getPool } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { RETENTION } from '../jobs/data-retention.ts';
import { currentConsentVersion, LIVE_GRANT } from './consents.ts';
import type { Queryable } from './db.ts';

export interface ChildRow {
  id: string;
  parent_id: string;
  name: string;
  /** YYYY-MM-DD (selected as text: a DATE has no time zone to shift). */
  birth_date: string;
  age: number;
  age_group: 'wonder_cubs' | 'curious_explorers' | 'mind_masters';
  avatar_id: string;
  interests: string[];
  vocabulary_level: number;
  settings: Record<string, unknown>;
  leaderboard_opt_in: boolean;
  nickname: string | null;
  has_pin: boolean;
  created_at: Date;
  updated_at: Date;
  last_active_at: Date | null;
}

// Age on the family's local date, like the age group (parents has no parent_id column, so the
// subquery's parent_id is the child's).
export const CHILD_COLUMNS = `id, parent_id, name, birth_date::text AS birth_date,
  calculate_age(birth_date, (SELECT (NOW() AT TIME ZONE tzp.timezone)::date FROM parents tzp
    WHERE tzp.id = parent_id)) AS age, age_group, avatar_id, interests, vocabulary_level, settings,
  leaderboard_opt_in, nickname, pin_hash IS NOT NULL AS has_pin, created_at, updated_at, last_active_at`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Throws 403 when a child session tries to act for another child. Parents pass. */
export function assertChildScope(principal: Principal, childId: string): void {
  if (principal.kind === 'child' && principal.childId !== childId) {
    throw new AppError('forbidden', 'A child session can only act for its own child');
  }
}

/**
 * The live child `childId` if `principal` may act for it: its parent, or its own child session.
 * `lock` takes a row lock (inside a transaction `db`).
 */
export async function loadOwnedChild(
  principal: Principal,
  childId: string,
  options: { db?: Queryable; lock?: boolean } = {},
): Promise<ChildRow> {
  assertChildScope(principal, childId);
  if (!UUID.test(childId)) throw new AppError('not_found', 'No such child');
  const db = options.db ?? (await getPool());
  // The caller's session check rides on this lookup (no extra round trip): a returned row
  // passed it; no row is a 404 that reveals nothing either way.
  const check = sessionCheck(3);
  const { rows } = await db.query<ChildRow>(
    `SELECT ${CHILD_COLUMNS} FROM children
      WHERE id = $1 AND parent_id = $2 AND deleted_at IS NULL${check ? ` AND ${check.sql}` : ''}${options.lock ? ' FOR UPDATE' : ''}`,
    [childId, principal.parentId, ...(check?.values ?? [])],
  );
  const row = rows[0];
  if (!row) await explainMissingChild(db, childId, principal.parentId);
  if (check) markSessionChecked();
  return row as ChildRow;
}

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
  const check = sessionCheck(5);
  const { rows } = await db.query<{ deleted_at: Date; delete_after: Date; coppa: boolean }>(
    `SELECT ch.deleted_at, ch.deleted_at + $3::interval AS delete_after,
            EXISTS (SELECT 1 FROM consents c WHERE c.parent_id = ch.parent_id AND c.consent_type = 'coppa'
                       AND c.version = $4 AND ${LIVE_GRANT}) AS coppa
       FROM children ch
      WHERE ch.id = $1 AND ch.parent_id = $2 AND ch.deleted_at IS NOT NULL
        AND ch.deleted_at > NOW() - $3::interval${check ? ` AND ${check.sql}` : ''}`,
    [
      childId,
      parentId,
      RETENTION.softDeletedGrace,
      currentConsentVersion('coppa'),
      ...(check?.values ?? []),
    ],
  );
  const pending = rows[0];
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
