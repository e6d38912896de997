// The signed-in parent: profile (display name, IANA time zone, locale, settings deep-merged
// into the JSONB), export of all family data, and account deletion (soft now; the retention
// job hard-deletes later) which also revokes every refresh token.
import { getDb, type Parent, type Queryable } from '../db/client.ts';
import { dbErrorOf } from '../db/errors.ts';
import { empty, type Sql, sql } from '../db/sql.ts';
import { inTransaction } from '../db/transaction.ts';
import { AppError } from '../errors.ts';
import { isPlainObject, jsonObject, parentActor, sessionCheckedRead } from './db.ts';

/** A parent as PARENT_COLUMNS reads it: the generated model without the secrets. */
export type ParentRow = Omit<Parent, 'passwordHash' | 'authProviderId' | 'deletedAt'>;

/**
 * Every column except the secrets (and deleted_at: callers only see live parents), named as
 * the generated `Parent` model names its fields, so raw reads are typed by the schema.
 */
export const PARENT_COLUMNS = sql`id, email, auth_provider AS "authProvider",
  display_name AS "displayName", timezone, locale, subscription_tier AS "subscriptionTier",
  subscription_expires_at AS "subscriptionExpiresAt", settings, created_at AS "createdAt",
  updated_at AS "updatedAt", last_login_at AS "lastLoginAt"`;

export interface ParentView {
  id: string;
  email: string;
  authProvider: string;
  displayName: string | null;
  timezone: string;
  locale: string;
  subscriptionTier: string;
  subscriptionExpiresAt: string | null;
  settings: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toParentView(row: ParentRow): ParentView {
  return {
    id: row.id,
    email: row.email,
    authProvider: row.authProvider,
    displayName: row.displayName,
    timezone: row.timezone,
    locale: row.locale,
    subscriptionTier: row.subscriptionTier,
    subscriptionExpiresAt: iso(row.subscriptionExpiresAt),
    settings: jsonObject(row.settings),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastLoginAt: iso(row.lastLoginAt),
  };
}

let zones: Set<string> | undefined;

/**
 * The canonical IANA name for `zone` (Intl's spelling: `europe/london` -> `Europe/London`,
 * `Asia/Calcutta` -> Intl's canonical form), or undefined for anything that is not an IANA
 * region name or UTC (abbreviations like EST and offsets like +05:00 are refused).
 */
export function canonicalTimeZone(zone: string): string | undefined {
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(zone) || zone === 'UTC' || zone === 'Etc/UTC') return zone;
  if (!zone.includes('/')) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions()
      .timeZone;
    return zones.has(resolved) ? resolved : undefined;
  } catch {
    return undefined;
  }
}

/** Throws 400 validation_failed for an unknown zone; returns its canonical name. */
export function requireTimeZone(zone: string): string {
  const canonical = canonicalTimeZone(zone);
  if (!canonical) {
    throw new AppError('validation_failed', 'Unknown time zone', {
      fieldErrors: [
        { path: 'body.timezone', message: 'Use an IANA time zone name, e.g. Europe/London' },
      ],
    });
  }
  return canonical;
}

export async function loadLiveParent(
  db: Queryable,
  parentId: string,
  lock = false,
): Promise<ParentRow> {
  const [row] = await db.$queryRaw<ParentRow[]>`
    SELECT ${PARENT_COLUMNS} FROM parents WHERE id = ${parentId}::uuid AND deleted_at IS NULL
    ${lock ? sql`FOR UPDATE` : empty}`;
  if (!row) throw new AppError('not_found', 'No such account');
  return row;
}

/** The signed-in parent, with the request's session check in the same statement. */
export async function getParent(parentId: string): Promise<ParentView> {
  const db = await getDb();
  const { column, from, checked } = sessionCheckedRead();
  const [row] = await db.$queryRaw<(ParentRow | { [K in keyof ParentRow]: null })[]>`
    SELECT ${column}, ${PARENT_COLUMNS} FROM ${from}
      LEFT JOIN parents ON parents.id = ${parentId}::uuid AND parents.deleted_at IS NULL`;
  checked();
  if (!row?.id) throw new AppError('not_found', 'No such account');
  return toParentView(row as ParentRow);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Objects merge key by key, recursively; anything else (arrays too) replaces. */
export function deepMerge(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

export interface ParentUpdate {
  displayName?: string | null | undefined;
  timezone?: string | undefined;
  locale?: string | undefined;
  settings?: Record<string, Json> | undefined;
}

/** The database also checks time zones (it must compute local days with them). */
export function mapTimezoneError(err: unknown): never {
  if (dbErrorOf(err).code === '22023') {
    throw new AppError('validation_failed', 'Unknown time zone', {
      fieldErrors: [{ path: 'body.timezone', message: 'This time zone is not supported' }],
    });
  }
  throw err;
}

const MAX_SETTINGS_BYTES = 64 * 1024;

export async function updateParent(parentId: string, update: ParentUpdate): Promise<ParentView> {
  const timezone = update.timezone === undefined ? undefined : requireTimeZone(update.timezone);
  return inTransaction(parentActor(parentId), async (tx) => {
    const current = await loadLiveParent(tx, parentId, true);
    const settings = update.settings
      ? deepMerge(jsonObject(current.settings), update.settings)
      : jsonObject(current.settings);
    // Each patch is bounded by the body limit; the merged whole must be too, or repeated
    // patches with new keys grow the row (and every read of it) without end.
    if (update.settings && Buffer.byteLength(JSON.stringify(settings)) > MAX_SETTINGS_BYTES) {
      throw new AppError('validation_failed', 'Settings are too large', {
        fieldErrors: [
          { path: 'body.settings', message: 'All settings together may take at most 64 KB' },
        ],
      });
    }
    const [row] = await tx.$queryRaw<ParentRow[]>`
      UPDATE parents SET
        display_name = CASE WHEN ${update.displayName !== undefined}::boolean
                            THEN ${update.displayName ?? null}::text ELSE display_name END,
        timezone = COALESCE(${timezone ?? null}::text, timezone),
        locale = COALESCE(${update.locale ?? null}::text, locale),
        settings = ${JSON.stringify(settings)}::jsonb
      WHERE id = ${parentId}::uuid
      RETURNING ${PARENT_COLUMNS}`.catch(mapTimezoneError);
    return toParentView(row as ParentRow);
  });
}

/** Soft-deletes the parent and every child and revokes all refresh tokens, atomically. */
export async function deleteAccount(parentId: string): Promise<void> {
  await inTransaction(parentActor(parentId), async (tx) => {
    // One statement: the parent (locked, 404 unless live), its children, its sign-ins and,
    // so no push reaches a deleted account's phones even during the grace period, its devices.
    const [done] = await tx.$queryRaw<{ deleted: boolean }[]>`
      WITH parent AS (
             UPDATE parents SET deleted_at = NOW()
              WHERE id = ${parentId}::uuid AND deleted_at IS NULL RETURNING id),
           kids AS (
             UPDATE children SET deleted_at = NOW()
              WHERE parent_id = (SELECT id FROM parent) AND deleted_at IS NULL RETURNING id),
           tokens AS (
             UPDATE refresh_tokens SET revoked_at = NOW()
              WHERE parent_id = (SELECT id FROM parent) AND revoked_at IS NULL RETURNING id),
           devices AS (
             DELETE FROM parent_devices WHERE parent_id = (SELECT id FROM parent) RETURNING id)
      SELECT EXISTS (SELECT 1 FROM parent) AS deleted`;
    if (!done?.deleted) throw new AppError('not_found', 'No such account');
  });
}

/**
 * Where each table holding family rows appears in the export (table -> key). Every table
 * with a foreign-key path to parents or children must be here or in NOT_EXPORTED (a test
 * reads the catalog), so a new table cannot be forgotten.
 */
export const EXPORTED_TABLES: Record<string, string> = {
  parents: 'parent',
  children: 'children',
  consents: 'consents',
  consent_revocations: 'consentRevocations',
  refresh_tokens: 'refreshTokens',
  conversations: 'conversations',
  messages: 'messages',
  progress: 'progress',
  streaks: 'streaks',
  rewards: 'rewards',
  daily_activity: 'dailyActivity',
  cognitive_metrics: 'cognitiveMetrics',
  parent_alerts: 'alerts',
  idempotency_keys: 'idempotencyKeys',
  audit_log: 'auditLog',
  parent_devices: 'devices',
  notification_deliveries: 'notificationDeliveries',
};

/** Tables on a foreign-key path to the family that are deliberately not exported, and why. */
export const NOT_EXPORTED: Record<string, string> = {};

/** The family's rows of one table as a JSON array, oldest first (`t` is the table's alias). */
const rowsOf = (from: Sql, orderBy: Sql, row: Sql = sql`to_jsonb(t)`) =>
  sql`(SELECT COALESCE(jsonb_agg(${row} ORDER BY ${orderBy}), '[]'::jsonb) FROM ${from})`;

/**
 * Everything stored about the family, as JSON (rows keep their column names), every row of
 * every table (EXPORTED_TABLES), including the sign-ins (refresh tokens: time, IP, user
 * agent), the stored responses of retried requests (idempotency keys) and the family's audit
 * trail. Secrets (password and PIN hashes, refresh token hashes) are left out. One statement,
 * so one snapshot: the parts agree with each other.
 */
export async function exportFamily(parentId: string): Promise<Record<string, unknown>> {
  const db = await getDb();
  const { column, from, checked } = sessionCheckedRead();
  const p = sql`${parentId}::uuid`;
  // Every child the family ever had that is still stored (deleted ones too).
  const kids = sql`(SELECT k.id FROM children k WHERE k.parent_id = ${p})`;
  const [row] = await db.$queryRaw<
    ({ [K in keyof ParentRow]: ParentRow[K] | null } & Record<ExportPart, unknown[]>)[]
  >`
    SELECT ${column}, ${PARENT_COLUMNS},
      ${rowsOf(
        sql`children t WHERE t.parent_id = ${p}`,
        sql`t.created_at`,
        sql`to_jsonb(t) - 'pin_hash' || jsonb_build_object('has_pin', t.pin_hash IS NOT NULL)`,
      )} AS children,
      ${rowsOf(sql`consents t WHERE t.parent_id = ${p}`, sql`t.created_at`)} AS consents,
      ${rowsOf(sql`consent_revocations t WHERE t.parent_id = ${p}`, sql`t.revoked_at`)} AS "consentRevocations",
      ${rowsOf(
        sql`refresh_tokens t WHERE t.parent_id = ${p}`,
        sql`t.created_at`,
        sql`to_jsonb(t) - 'token_hash'`,
      )} AS "refreshTokens",
      ${rowsOf(sql`conversations t WHERE t.child_id IN ${kids}`, sql`t.started_at`)} AS conversations,
      ${rowsOf(
        sql`messages t JOIN conversations c ON c.id = t.conversation_id WHERE c.child_id IN ${kids}`,
        sql`t.created_at`,
      )} AS messages,
      ${rowsOf(sql`progress t WHERE t.child_id IN ${kids}`, sql`t.created_at`)} AS progress,
      ${rowsOf(sql`streaks t WHERE t.child_id IN ${kids}`, sql`t.created_at`)} AS streaks,
      ${rowsOf(sql`rewards t WHERE t.child_id IN ${kids}`, sql`t.earned_at`)} AS rewards,
      ${rowsOf(sql`daily_activity t WHERE t.child_id IN ${kids}`, sql`t.activity_date`)} AS "dailyActivity",
      ${rowsOf(sql`cognitive_metrics t WHERE t.child_id IN ${kids}`, sql`t.assessment_date`)} AS "cognitiveMetrics",
      ${rowsOf(sql`parent_alerts t WHERE t.parent_id = ${p}`, sql`t.created_at`)} AS alerts,
      ${rowsOf(sql`idempotency_keys t WHERE t.child_id IN ${kids}`, sql`t.created_at`)} AS "idempotencyKeys",
      ${
        // The trail of changes to the family's account, children, consents and revocations
        // (old and new values; secrets are never in it).
        rowsOf(
          sql`audit_log t
               WHERE (t.table_name = 'parents' AND t.row_id = ${p})
                  OR (t.table_name = 'children' AND t.row_id IN ${kids})
                  OR (t.table_name = 'consents'
                      AND t.row_id IN (SELECT id FROM consents WHERE parent_id = ${p}))
                  OR (t.table_name = 'consent_revocations'
                      AND t.row_id IN (SELECT id FROM consent_revocations WHERE parent_id = ${p}))`,
          sql`t.changed_at, t.id`,
        )
      } AS "auditLog",
      ${
        // The push token only addresses the device; it is left out like other credentials.
        rowsOf(
          sql`parent_devices t WHERE t.parent_id = ${p}`,
          sql`t.created_at`,
          sql`to_jsonb(t) - 'fcm_token'`,
        )
      } AS devices,
      ${rowsOf(sql`notification_deliveries t WHERE t.parent_id = ${p}`, sql`t.created_at`)} AS "notificationDeliveries"
    FROM ${from}
    LEFT JOIN parents ON parents.id = ${p} AND parents.deleted_at IS NULL`;
  checked();
  if (!row?.id) throw new AppError('not_found', 'No such account');
  const { children, ...rest } = row;
  const parts = Object.fromEntries(EXPORT_PARTS.map((key) => [key, rest[key]]));
  return {
    exportedAt: new Date().toISOString(),
    parent: toParentView(row as ParentRow),
    children,
    ...parts,
  };
}

const EXPORT_PARTS = [
  'consents',
  'consentRevocations',
  'refreshTokens',
  'conversations',
  'messages',
  'progress',
  'streaks',
  'rewards',
  'dailyActivity',
  'cognitiveMetrics',
  'alerts',
  'idempotencyKeys',
  'auditLog',
  'devices',
  'notificationDeliveries',
] as const;
type ExportPart = (typeof EXPORT_PARTS)[number] | 'children';
