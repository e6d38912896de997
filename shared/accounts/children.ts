// Child profiles (never accounts): create within the 4-child limit and the 4-14 age range,
// read, update (age group follows birth_date), soft-delete, PIN, and the child session a
// signed-in parent opens on a device.

import { issueAccessToken } from '../auth/access-token.ts';
import type { Principal } from '../auth/principal.ts';
import { type Child, getDb, type Queryable } from '../db/client.ts';
import { dbErrorOf } from '../db/errors.ts';
import { type Sql, sql } from '../db/sql.ts';
import { inTransaction } from '../db/transaction.ts';
import { AppError } from '../errors.ts';
import { RETENTION } from '../jobs/data-retention.ts';
import { PARENT_CAN_READ_NOTICE } from '../learning/types.ts';
import { CHILD_COLUMNS, type ChildRow, loadOwnedChild } from './access.ts';
import {
  assertRequiredConsents,
  grantedRequiredConsents,
  requireChildFeaturesConsent,
} from './consents.ts';
import { jsonObject, parentActor, sessionCheckedRead } from './db.ts';
import { hashSecret, verifySecret } from './passwords.ts';
import { rateLimits } from './rate-limits.ts';

export type AgeGroup = ChildRow['ageGroup'];

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
    birthDate: row.birthDate,
    age: row.age,
    ageGroup: row.ageGroup,
    avatarId: row.avatarId,
    interests: row.interests,
    vocabularyLevel: row.vocabularyLevel,
    settings: jsonObject(row.settings),
    leaderboardOptIn: row.leaderboardOptIn,
    nickname: row.nickname,
    hasPin: row.hasPin,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastActiveAt: row.lastActiveAt?.toISOString() ?? null,
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
 * local date (a birthday starts at midnight where the family lives), and the family's
 * required consents, in one lookup; 404 for no live parent.
 */
async function familyFor(
  db: Queryable,
  parentId: string,
  birthDate: string,
): Promise<{ age_group: AgeGroup | null; granted: string[] }> {
  const [row] = await db.$queryRaw<{ age_group: AgeGroup | null; granted: string[] }[]>`
    SELECT determine_age_group(${birthDate}::date, (NOW() AT TIME ZONE p.timezone)::date) AS age_group,
           ${grantedRequiredConsents(sql`p.id`)} AS granted
      FROM parents p WHERE p.id = ${parentId}::uuid AND p.deleted_at IS NULL`;
  if (!row) throw new AppError('not_found', 'No such account');
  return row;
}

/** 422 outside 4-14. */
function requireAgeGroup(group: AgeGroup | null): AgeGroup {
  if (!group) {
    throw new AppError('age_out_of_range', 'Children must be between 4 and 14 years old', {
      fieldErrors: [{ path: 'body.birthDate', message: 'Age must be 4 to 14' }],
    });
  }
  return group;
}

function mapChildWriteError(err: unknown): never {
  const dbErr = dbErrorOf(err);
  // Raised by a trigger (check_violation): the driver adapter keeps the code and the message.
  if (
    dbErr.constraint === 'children_per_parent_limit' ||
    (dbErr.code === '23514' && dbErr.message?.includes('child_limit_reached'))
  ) {
    throw new AppError('child_limit_reached', 'A family can have at most 4 child profiles');
  }
  throw err;
}

const parent = (parentId: string): Principal => ({ kind: 'parent', parentId });

export async function createChild(parentId: string, input: ChildInput): Promise<ChildView> {
  return inTransaction(parentActor(parentId), async (tx) => {
    const family = await familyFor(tx, parentId, input.birthDate);
    assertRequiredConsents(family.granted);
    const ageGroup = requireAgeGroup(family.age_group);
    const [row] = await tx.$queryRaw<ChildRow[]>`
      INSERT INTO children (parent_id, name, birth_date, age_group, avatar_id, interests, settings)
      SELECT p.id, ${input.name}::text, ${input.birthDate}::date, ${ageGroup}::text,
             COALESCE(${input.avatarId ?? null}::text, 'default_1'),
             COALESCE(${input.interests ?? null}::text[], '{}'),
             '{"sound_enabled": true, "voice_over_enabled": true, "animation_level": "full",
               "daily_time_limit_minutes": 60, "bedtime_start": "20:00", "bedtime_end": "07:00"}'::jsonb
             || COALESCE(${input.settings ? JSON.stringify(input.settings) : null}::jsonb, '{}'::jsonb)
        FROM parents p WHERE p.id = ${parentId}::uuid AND p.deleted_at IS NULL
      RETURNING ${CHILD_COLUMNS}`.catch(mapChildWriteError);
    if (!row) throw new AppError('not_found', 'No such account');
    return toChildView(row);
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
  const db = await getDb();
  const grace = RETENTION.softDeletedGrace;
  const { column, from, checked } = sessionCheckedRead();
  const found = await db.$queryRaw<
    (ChildRow & { deletedAt: Date | null; deleteAfter: Date | null })[]
  >`
    SELECT ${column}, ${CHILD_COLUMNS}, deleted_at AS "deletedAt",
           deleted_at + ${grace}::interval AS "deleteAfter"
      FROM ${from} LEFT JOIN children
        ON parent_id = ${parentId}::uuid AND (deleted_at IS NULL OR deleted_at > NOW() - ${grace}::interval)
     ORDER BY created_at, id`;
  checked();
  const rows = found.filter((r) => r.id !== null);
  return {
    children: rows.filter((r) => !r.deletedAt).map(toChildView),
    pendingDeletion: rows
      .filter((r) => r.deletedAt)
      .map((r) => ({
        id: r.id,
        name: r.name,
        deletedAt: (r.deletedAt as Date).toISOString(),
        deleteAfter: (r.deleteAfter as Date).toISOString(),
      })),
  };
}

/**
 * Undoes a child's deletion during the grace period (docs/RETENTION.md): the current coppa,
 * terms and privacy consents are needed again (403 consent_required), and the 4-child limit
 * still holds. The audit trail records the change with the parent as actor.
 */
export async function restoreChild(parentId: string, childId: string): Promise<ChildView> {
  return inTransaction(parentActor(parentId), async (tx) => {
    await requireChildFeaturesConsent(parentId, tx);
    const [row] = await tx.$queryRaw<ChildRow[]>`
      UPDATE children SET deleted_at = NULL
       WHERE id = ${childId}::uuid AND parent_id = ${parentId}::uuid AND deleted_at IS NOT NULL
         AND deleted_at > NOW() - ${RETENTION.softDeletedGrace}::interval
         AND EXISTS (SELECT 1 FROM parents p WHERE p.id = ${parentId}::uuid AND p.deleted_at IS NULL)
      RETURNING ${CHILD_COLUMNS}`.catch(mapChildWriteError);
    if (!row) throw new AppError('not_found', 'No child of this family is waiting for deletion');
    return toChildView(row);
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
  return inTransaction(parentActor(parentId), async (tx) => {
    // The child (404 first), then the family's consents (403), in one lookup.
    const child = await loadOwnedChild<{ granted: string[] }>(parent(parentId), childId, {
      db: tx,
      lock: true,
      extra: sql`${grantedRequiredConsents(sql`children.parent_id`)} AS granted`,
    });
    assertRequiredConsents(child.granted);
    const ageGroup = update.birthDate
      ? requireAgeGroup((await familyFor(tx, parentId, update.birthDate)).age_group)
      : null;
    const [row] = await tx.$queryRaw<ChildRow[]>`
      UPDATE children SET
        name = COALESCE(${update.name ?? null}::text, name),
        birth_date = COALESCE(${update.birthDate ?? null}::date, birth_date),
        age_group = COALESCE(${ageGroup}::text, age_group),
        avatar_id = COALESCE(${update.avatarId ?? null}::text, avatar_id),
        interests = COALESCE(${update.interests ?? null}::text[], interests),
        settings = settings || COALESCE(${update.settings ? JSON.stringify(update.settings) : null}::jsonb, '{}'::jsonb)
      WHERE id = ${childId}::uuid
      RETURNING ${CHILD_COLUMNS}`;
    return toChildView(row as ChildRow);
  });
}

/**
 * A write to one live child of the family, in a transaction with the parent as actor: 404 (or
 * 403 consent_required for a child left by a coppa revocation) when there is none.
 */
async function writeOwnedChild(parentId: string, childId: string, set: Sql): Promise<ChildRow> {
  return inTransaction(parentActor(parentId), async (tx) => {
    const [row] = await tx.$queryRaw<ChildRow[]>`
      UPDATE children SET ${set}
       WHERE id = ${childId}::uuid AND parent_id = ${parentId}::uuid AND deleted_at IS NULL
      RETURNING ${CHILD_COLUMNS}`;
    // No row: the lookup explains why (and throws).
    return row ?? (await loadOwnedChild(parent(parentId), childId, { db: tx }));
  });
}

export async function deleteChild(parentId: string, childId: string): Promise<void> {
  await writeOwnedChild(parentId, childId, sql`deleted_at = NOW()`);
}

export async function setPin(parentId: string, childId: string, pin: string): Promise<ChildView> {
  // The ownership check first, so a stranger's id costs no argon2 hash.
  await loadOwnedChild(parent(parentId), childId);
  const pinHash = await hashSecret(pin);
  return toChildView(
    await writeOwnedChild(
      parentId,
      childId,
      sql`pin_hash = ${pinHash}::text, session_version = session_version + 1`,
    ),
  );
}

export async function clearPin(parentId: string, childId: string): Promise<ChildView> {
  return toChildView(
    await writeOwnedChild(
      parentId,
      childId,
      sql`pin_hash = NULL, session_version = session_version + 1`,
    ),
  );
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
  // One statement: the child (ownership and the session check), its PIN hash and session
  // version, and the family's consents. argon2 runs after it, holding no connection.
  const row = await loadOwnedChild<
    Pick<Child, 'pinHash' | 'sessionVersion'> & { granted: string[] }
  >(parent(parentId), childId, {
    extra: sql`pin_hash AS "pinHash", session_version AS "sessionVersion",
        ${grantedRequiredConsents(sql`children.parent_id`)} AS granted`,
  });
  assertRequiredConsents(row.granted);
  if (row.pinHash) {
    if (pin === undefined) throw new AppError('invalid_pin', "This child's PIN is required");
    const limits = await rateLimits();
    // Count the attempt first, so concurrent guesses cannot slip past the limit. childId is
    // canonical (loadOwnedChild accepts no other spelling), so every spelling of the id that
    // reaches here shares one budget.
    await limits.consume('pinFailuresPerChild', row.id);
    if (!(await verifySecret(row.pinHash, pin))) throw new AppError('invalid_pin', 'Wrong PIN');
    await limits.refund('pinFailuresPerChild', row.id);
  }
  // A PIN change bumps the version and so ends this session (assert_live_session).
  const access = await issueAccessToken({
    kind: 'child',
    parentId,
    childId,
    ...(sessionId ? { sessionId } : {}),
    sessionVersion: row.sessionVersion,
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
