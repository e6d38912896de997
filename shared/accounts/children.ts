// Child profiles (never accounts): create within the 4-child limit and the 4-14 age range,
// read, update (age group follows birth_date), soft-delete, PIN, and the child session a
// signed-in parent opens on a device.

import { issueAccessToken } from '../auth/access-token.ts';
import type { Principal } from '../auth/principal.ts';
import { getPool } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { RETENTION } from '../jobs/data-retention.ts';
import { PARENT_CAN_READ_NOTICE } from '../learning/types.ts';
import { CHILD_COLUMNS, type ChildRow, loadOwnedChild } from './access.ts';
import { requireChildFeaturesConsent } from './consents.ts';
import { parentActor, pgErrorOf, type Queryable, withTransaction } from './db.ts';
import { hashSecret, verifySecret } from './passwords.ts';
import { rateLimits } from './rate-limits.ts';

export type AgeGroup = ChildRow['age_group'];

export interface ChildView {
  id: string;
  name: string;
  birthDate: string;
  age: number;
  ageGroup: AgeGroup;
  avatarId: string;
  interests: string[];
  vocabularyLevel: number;
  settings: Record<string, unknown>;
  leaderboardOptIn: boolean;
  nickname: string | null;
  hasPin: boolean;
  createdAt: string;
  updatedAt: string;
  lastActiveAt: string | null;
}

export function toChildView(row: ChildRow): ChildView {
  return {
    id: row.id,
    name: row.name,
    birthDate: row.birth_date,
    age: row.age,
    ageGroup: row.age_group,
    avatarId: row.avatar_id,
    interests: row.interests,
    vocabularyLevel: row.vocabulary_level,
    settings: row.settings,
    leaderboardOptIn: row.leaderboard_opt_in,
    nickname: row.nickname,
    hasPin: row.has_pin,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    lastActiveAt: row.last_active_at?.toISOString() ?? null,
  };
}

export interface ChildSettingsPatch {
  sound_enabled?: boolean | undefined;
  voice_over_enabled?: boolean | undefined;
  animation_level?: string | undefined;
  daily_time_limit_minutes?: number | undefined;
  bedtime_start?: string | undefined;
  bedtime_end?: string | undefined;
}

export interface ChildInput {
  name: string;
  birthDate: string;
  avatarId?: string | undefined;
  interests?: string[] | undefined;
  settings?: ChildSettingsPatch | undefined;
}

/**
 * The spec's determine_age_group, in the database (one rule, one place), on the family's
 * local date (a birthday starts at midnight where the family lives); 422 outside 4-14.
 */
async function ageGroupFor(db: Queryable, parentId: string, birthDate: string): Promise<AgeGroup> {
  const { rows } = await db.query<{ age_group: AgeGroup | null }>(
    `SELECT determine_age_group($2::date, (NOW() AT TIME ZONE p.timezone)::date) AS age_group
       FROM parents p WHERE p.id = $1 AND p.deleted_at IS NULL`,
    [parentId, birthDate],
  );
  if (!rows[0]) throw new AppError('not_found', 'No such account');
  const group = rows[0].age_group;
  if (!group) {
    throw new AppError('age_out_of_range', 'Children must be between 4 and 14 years old', {
      fieldErrors: [{ path: 'body.birthDate', message: 'Age must be 4 to 14' }],
    });
  }
  return group;
}

function mapChildWriteError(err: unknown): never {
  const pgErr = pgErrorOf(err);
  if (pgErr.constraint === 'children_per_parent_limit') {
    throw new AppError('child_limit_reached', 'A family can have at most 4 child profiles');
  }
  throw err;
}

const parent = (parentId: string): Principal => ({ kind: 'parent', parentId });

export async function createChild(parentId: string, input: ChildInput): Promise<ChildView> {
  await requireChildFeaturesConsent(parentId);
  return withTransaction(parentActor(parentId), async (tx) => {
    const ageGroup = await ageGroupFor(tx, parentId, input.birthDate);
    const { rows } = await tx
      .query<ChildRow>(
        `INSERT INTO children (parent_id, name, birth_date, age_group, avatar_id, interests, settings)
         SELECT $1, $2, $3::date, $4, COALESCE($5, 'default_1'), COALESCE($6::text[], '{}'),
                '{"sound_enabled": true, "voice_over_enabled": true, "animation_level": "full",
                  "daily_time_limit_minutes": 60, "bedtime_start": "20:00", "bedtime_end": "07:00"}'::jsonb
                || COALESCE($7::jsonb, '{}'::jsonb)
           FROM parents p WHERE p.id = $1 AND p.deleted_at IS NULL
         RETURNING ${CHILD_COLUMNS}`,
        [
          parentId,
          input.name,
          input.birthDate,
          ageGroup,
          input.avatarId ?? null,
          input.interests ?? null,
          input.settings ? JSON.stringify(input.settings) : null,
        ],
      )
      .catch(mapChildWriteError);
    if (!rows[0]) throw new AppError('not_found', 'No such account');
    return toChildView(rows[0]);
  });
}

export interface PendingDeletionView {
  id: string;
  name: string;
  deletedAt: string;
  /** When the retention job hard-deletes it; until then POST /children/{id}/restore undoes it. */
  deleteAfter: string;
}

/** The live children, and those deleted (or left by a coppa revocation) still in their grace period. */
export async function listChildren(
  parentId: string,
): Promise<{ children: ChildView[]; pendingDeletion: PendingDeletionView[] }> {
  const pool = await getPool();
  const { rows } = await pool.query<
    ChildRow & { deleted_at: Date | null; delete_after: Date | null }
  >(
    `SELECT ${CHILD_COLUMNS}, deleted_at, deleted_at + $2::interval AS delete_after FROM children
      WHERE parent_id = $1 AND (deleted_at IS NULL OR deleted_at > NOW() - $2::interval)
      ORDER BY created_at, id`,
    [parentId, RETENTION.softDeletedGrace],
  );
  return {
    children: rows.filter((r) => !r.deleted_at).map(toChildView),
    pendingDeletion: rows
      .filter((r) => r.deleted_at)
      .map((r) => ({
        id: r.id,
        name: r.name,
        deletedAt: (r.deleted_at as Date).toISOString(),
        deleteAfter: (r.delete_after as Date).toISOString(),
      })),
  };
}

/**
 * Undoes a child's deletion during the grace period (docs/RETENTION.md): the current coppa,
 * terms and privacy consents are needed again (403 consent_required), and the 4-child limit
 * still holds. The audit trail records the change with the parent as actor.
 */
export async function restoreChild(parentId: string, childId: string): Promise<ChildView> {
  await requireChildFeaturesConsent(parentId);
  return withTransaction(parentActor(parentId), async (tx) => {
    const { rows } = await tx
      .query<ChildRow>(
        `UPDATE children SET deleted_at = NULL
          WHERE id = $1 AND parent_id = $2 AND deleted_at IS NOT NULL
            AND deleted_at > NOW() - $3::interval
            AND EXISTS (SELECT 1 FROM parents p WHERE p.id = $2 AND p.deleted_at IS NULL)
          RETURNING ${CHILD_COLUMNS}`,
        [childId, parentId, RETENTION.softDeletedGrace],
      )
      .catch(mapChildWriteError);
    if (!rows[0])
      throw new AppError('not_found', 'No child of this family is waiting for deletion');
    return toChildView(rows[0]);
  });
}

export async function getChild(principal: Principal, childId: string): Promise<ChildView> {
  return toChildView(await loadOwnedChild(principal, childId));
}

export interface ChildUpdate {
  name?: string | undefined;
  birthDate?: string | undefined;
  avatarId?: string | undefined;
  interests?: string[] | undefined;
  settings?: ChildSettingsPatch | undefined;
}

export async function updateChild(
  parentId: string,
  childId: string,
  update: ChildUpdate,
): Promise<ChildView> {
  await loadOwnedChild(parent(parentId), childId);
  await requireChildFeaturesConsent(parentId);
  return withTransaction(parentActor(parentId), async (tx) => {
    await loadOwnedChild(parent(parentId), childId, { db: tx, lock: true });
    const ageGroup = update.birthDate ? await ageGroupFor(tx, parentId, update.birthDate) : null;
    const { rows } = await tx.query<ChildRow>(
      `UPDATE children SET
         name = COALESCE($2, name),
         birth_date = COALESCE($3::date, birth_date),
         age_group = COALESCE($4, age_group),
         avatar_id = COALESCE($5, avatar_id),
         interests = COALESCE($6::text[], interests),
         settings = settings || COALESCE($7::jsonb, '{}'::jsonb)
       WHERE id = $1
       RETURNING ${CHILD_COLUMNS}`,
      [
        childId,
        update.name ?? null,
        update.birthDate ?? null,
        ageGroup,
        update.avatarId ?? null,
        update.interests ?? null,
        update.settings ? JSON.stringify(update.settings) : null,
      ],
    );
    return toChildView(rows[0] as ChildRow);
  });
}

export async function deleteChild(parentId: string, childId: string): Promise<void> {
  await withTransaction(parentActor(parentId), async (tx) => {
    await loadOwnedChild(parent(parentId), childId, { db: tx, lock: true });
    await tx.query('UPDATE children SET deleted_at = NOW() WHERE id = $1', [childId]);
  });
}

export async function setPin(parentId: string, childId: string, pin: string): Promise<ChildView> {
  await loadOwnedChild(parent(parentId), childId);
  const pinHash = await hashSecret(pin);
  return withTransaction(parentActor(parentId), async (tx) => {
    await loadOwnedChild(parent(parentId), childId, { db: tx, lock: true });
    const { rows } = await tx.query<ChildRow>(
      `UPDATE children SET pin_hash = $2, session_version = session_version + 1 WHERE id = $1 RETURNING ${CHILD_COLUMNS}`,
      [childId, pinHash],
    );
    return toChildView(rows[0] as ChildRow);
  });
}

export async function clearPin(parentId: string, childId: string): Promise<ChildView> {
  return withTransaction(parentActor(parentId), async (tx) => {
    await loadOwnedChild(parent(parentId), childId, { db: tx, lock: true });
    const { rows } = await tx.query<ChildRow>(
      `UPDATE children SET pin_hash = NULL, session_version = session_version + 1 WHERE id = $1 RETURNING ${CHILD_COLUMNS}`,
      [childId],
    );
    return toChildView(rows[0] as ChildRow);
  });
}

/** Shown to the child whenever a session opens (one text, with the conversation start's). */
export { PARENT_CAN_READ_NOTICE };

export interface ChildSession {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  child: Pick<ChildView, 'id' | 'name' | 'ageGroup' | 'avatarId' | 'interests' | 'settings'>;
  notice: string;
}

/**
 * Opens a child session on the parent's device. With a PIN set, the PIN is required; wrong
 * PINs are limited per child (5 per 15 minutes, then 429 even for the right PIN). The lock
 * applies to the child only: the parent's own sign-in is untouched.
 */
export async function openChildSession(
  parentId: string,
  childId: string,
  pin: string | undefined,
  /** The parent's sign-in: its logout ends the child session too. */
  sessionId?: string,
): Promise<ChildSession> {
  await loadOwnedChild(parent(parentId), childId);
  await requireChildFeaturesConsent(parentId);
  const pool = await getPool();
  const { rows } = await pool.query<
    ChildRow & { pin_hash: string | null; session_version: number }
  >(
    `SELECT ${CHILD_COLUMNS}, pin_hash, session_version FROM children WHERE id = $1 AND parent_id = $2 AND deleted_at IS NULL`,
    [childId, parentId],
  );
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'No such child');
  if (row.pin_hash) {
    if (pin === undefined) throw new AppError('invalid_pin', "This child's PIN is required");
    const limits = await rateLimits();
    // Count the attempt first, so concurrent guesses cannot slip past the limit.
    await limits.consume('pinFailuresPerChild', childId);
    if (!(await verifySecret(row.pin_hash, pin))) throw new AppError('invalid_pin', 'Wrong PIN');
    await limits.refund('pinFailuresPerChild', childId);
  }
  // A PIN change bumps the version and so ends this session (assert_live_session).
  const access = await issueAccessToken({
    kind: 'child',
    parentId,
    childId,
    ...(sessionId ? { sessionId } : {}),
    sessionVersion: row.session_version,
  });
  const view = toChildView(row);
  return {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    child: {
      id: view.id,
      name: view.name,
      ageGroup: view.ageGroup,
      avatarId: view.avatarId,
      interests: view.interests,
      settings: view.settings,
    },
    notice: PARENT_CAN_READ_NOTICE,
  };
}
