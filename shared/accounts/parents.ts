// The signed-in parent: profile (display name, IANA time zone, locale, settings deep-merged
// into the JSONB), export of all family data, and account deletion (soft now; the retention
// job hard-deletes later) which also revokes every refresh token.
import type pg from 'pg';
import { getPool } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { parentActor, pgErrorOf, type Queryable, withTransaction } from './db.ts';
import { revokeAllForParent } from './refresh-tokens.ts';

export interface ParentRow {
  id: string;
  email: string;
  auth_provider: string;
  display_name: string | null;
  timezone: string;
  locale: string;
  subscription_tier: string;
  subscription_expires_at: Date | null;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
}

/** Every column except password_hash (and deleted_at: callers only see live parents). */
export const PARENT_COLUMNS = `id, email, auth_provider, display_name, timezone, locale, subscription_tier,
  subscription_expires_at, settings, created_at, updated_at, last_login_at`;

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
    authProvider: row.auth_provider,
    displayName: row.display_name,
    timezone: row.timezone,
    locale: row.locale,
    subscriptionTier: row.subscription_tier,
    subscriptionExpiresAt: iso(row.subscription_expires_at),
    settings: row.settings,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    lastLoginAt: iso(row.last_login_at),
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
  const { rows } = await db.query<ParentRow>(
    `SELECT ${PARENT_COLUMNS} FROM parents WHERE id = $1 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [parentId],
  );
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'No such account');
  return row;
}

export async function getParent(parentId: string): Promise<ParentView> {
  return toParentView(await loadLiveParent(await getPool(), parentId));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

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
  if (pgErrorOf(err).code === '22023') {
    throw new AppError('validation_failed', 'Unknown time zone', {
      fieldErrors: [{ path: 'body.timezone', message: 'This time zone is not supported' }],
    });
  }
  throw err;
}

const MAX_SETTINGS_BYTES = 64 * 1024;

export async function updateParent(parentId: string, update: ParentUpdate): Promise<ParentView> {
  const timezone = update.timezone === undefined ? undefined : requireTimeZone(update.timezone);
  return withTransaction(parentActor(parentId), async (tx) => {
    const current = await loadLiveParent(tx, parentId, true);
    const settings = update.settings
      ? deepMerge(current.settings, update.settings)
      : current.settings;
    // Each patch is bounded by the body limit; the merged whole must be too, or repeated
    // patches with new keys grow the row (and every read of it) without end.
    if (update.settings && Buffer.byteLength(JSON.stringify(settings)) > MAX_SETTINGS_BYTES) {
      throw new AppError('validation_failed', 'Settings are too large', {
        fieldErrors: [
          { path: 'body.settings', message: 'All settings together may take at most 64 KB' },
        ],
      });
    }
    const { rows } = await tx
      .query<ParentRow>(
        `UPDATE parents SET
         display_name = CASE WHEN $2 THEN $3 ELSE display_name END,
         timezone = COALESCE($4, timezone),
         locale = COALESCE($5, locale),
         settings = $6::jsonb
       WHERE id = $1
       RETURNING ${PARENT_COLUMNS}`,
        [
          parentId,
          update.displayName !== undefined,
          update.displayName ?? null,
          timezone ?? null,
          update.locale ?? null,
          JSON.stringify(settings),
        ],
      )
      .catch(mapTimezoneError);
    return toParentView(rows[0] as ParentRow);
  });
}

/** Soft-deletes the parent and every child and revokes all refresh tokens, atomically. */
export async function deleteAccount(parentId: string): Promise<void> {
  await withTransaction(parentActor(parentId), async (tx) => {
    await loadLiveParent(tx, parentId, true);
    await tx.query(
      'UPDATE children SET deleted_at = NOW() WHERE parent_id = $1 AND deleted_at IS NULL',
      [parentId],
    );
    await tx.query('UPDATE parents SET deleted_at = NOW() WHERE id = $1', [parentId]);
    await revokeAllForParent(tx, parentId);
    // No push may reach a deleted account's phones, even during the grace period.
    await tx.query('DELETE FROM parent_devices WHERE parent_id = $1', [parentId]);
  });
}

async function rowsOf(
  tx: pg.PoolClient,
  text: string,
  values: unknown[],
): Promise<Record<string, unknown>[]> {
  return (await tx.query<Record<string, unknown>>(text, values)).rows;
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

/**
 * Everything stored about the family, as JSON (rows keep their column names), every row of
 * every table (EXPORTED_TABLES), including the sign-ins (refresh tokens: time, IP, user
 * agent), the stored responses of retried requests (idempotency keys) and the family's audit
 * trail. Secrets (password and PIN hashes, refresh token hashes) are left out. One
 * REPEATABLE READ snapshot so the parts agree with each other.
 */
export async function exportFamily(parentId: string): Promise<Record<string, unknown>> {
  return withTransaction(
    parentActor(parentId),
    async (tx) => {
      const parent = toParentView(await loadLiveParent(tx, parentId));
      const children = await rowsOf(
        tx,
        `SELECT to_jsonb(c) - 'pin_hash' || jsonb_build_object('has_pin', c.pin_hash IS NOT NULL) AS row
         FROM children c WHERE c.parent_id = $1 ORDER BY c.created_at`,
        [parentId],
      );
      const childIds = children.map((c) => (c.row as { id: string }).id);
      const ids = [childIds];
      // Literal statements (no table names spliced into SQL), run one after another: a client
      // takes one query at a time (queueing more is deprecated and refused from pg 9).
      const statements: Record<string, [string, unknown[]]> = {
        consents: [
          'SELECT to_jsonb(t) AS row FROM consents t WHERE t.parent_id = $1 ORDER BY t.created_at',
          [parentId],
        ],
        consentRevocations: [
          'SELECT to_jsonb(t) AS row FROM consent_revocations t WHERE t.parent_id = $1 ORDER BY t.revoked_at',
          [parentId],
        ],
        refreshTokens: [
          `SELECT to_jsonb(t) - 'token_hash' AS row FROM refresh_tokens t
            WHERE t.parent_id = $1 ORDER BY t.created_at`,
          [parentId],
        ],
        conversations: [
          'SELECT to_jsonb(t) AS row FROM conversations t WHERE t.child_id = ANY($1::uuid[]) ORDER BY t.started_at',
          ids,
        ],
        messages: [
          `SELECT to_jsonb(m) AS row FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE c.child_id = ANY($1::uuid[]) ORDER BY m.created_at`,
          ids,
        ],
        progress: [
          'SELECT to_jsonb(t) AS row FROM progress t WHERE t.child_id = ANY($1::uuid[]) ORDER BY t.created_at',
          ids,
        ],
        streaks: [
          'SELECT to_jsonb(t) AS row FROM streaks t WHERE t.child_id = ANY($1::uuid[]) ORDER BY t.created_at',
          ids,
        ],
        rewards: [
          'SELECT to_jsonb(t) AS row FROM rewards t WHERE t.child_id = ANY($1::uuid[]) ORDER BY t.earned_at',
          ids,
        ],
        dailyActivity: [
          'SELECT to_jsonb(t) AS row FROM daily_activity t WHERE t.child_id = ANY($1::uuid[]) ORDER BY t.activity_date',
          ids,
        ],
        cognitiveMetrics: [
          'SELECT to_jsonb(t) AS row FROM cognitive_metrics t WHERE t.child_id = ANY($1::uuid[]) ORDER BY t.assessment_date',
          ids,
        ],
        alerts: [
          'SELECT to_jsonb(t) AS row FROM parent_alerts t WHERE t.parent_id = $1 ORDER BY t.created_at',
          [parentId],
        ],
        idempotencyKeys: [
          'SELECT to_jsonb(t) AS row FROM idempotency_keys t WHERE t.child_id = ANY($1::uuid[]) ORDER BY t.created_at',
          ids,
        ],
        // The trail of changes to the family's account, children, consents and revocations
        // (old and new values; secrets are never in it).
        auditLog: [
          `SELECT to_jsonb(a) AS row FROM audit_log a
            WHERE (a.table_name = 'parents' AND a.row_id = $1)
               OR (a.table_name = 'children' AND a.row_id = ANY($2::uuid[]))
               OR (a.table_name = 'consents'
                   AND a.row_id IN (SELECT id FROM consents WHERE parent_id = $1))
               OR (a.table_name = 'consent_revocations'
                   AND a.row_id IN (SELECT id FROM consent_revocations WHERE parent_id = $1))
            ORDER BY a.changed_at, a.id`,
          [parentId, childIds],
        ],
        // The push token only addresses the device; it is left out like other credentials.
        devices: [
          "SELECT to_jsonb(t) - 'fcm_token' AS row FROM parent_devices t WHERE t.parent_id = $1 ORDER BY t.created_at",
          [parentId],
        ],
        notificationDeliveries: [
          'SELECT to_jsonb(t) AS row FROM notification_deliveries t WHERE t.parent_id = $1 ORDER BY t.created_at',
          [parentId],
        ],
      };
      const unwrap = (rows: Record<string, unknown>[]) => rows.map((r) => r.row);
      const parts: Record<string, unknown[]> = {};
      for (const [key, [text, values]] of Object.entries(statements)) {
        parts[key] = unwrap(await rowsOf(tx, text, values));
      }
      return {
        exportedAt: new Date().toISOString(),
        parent,
        children: unwrap(children),
        ...parts,
      };
    },
    { readOnlySnapshot: true },
  );
}
