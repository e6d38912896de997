// Consents: every grant is a new row (version, time, IP, user agent) and is never changed; a
// revocation is its own row in consent_revocations (time, IP, user agent), so the record of
// who granted and who withdrew, when and from where, is append-only. Child features need
// coppa, terms and privacy granted at their current versions (from config).
import { config } from '../config.ts';
import { type Consent, getDb, type Queryable } from '../db/client.ts';
import { raw, type Sql, sql } from '../db/sql.ts';
import { inTransaction } from '../db/transaction.ts';
import { AppError } from '../errors.ts';
import { parentActor, sessionCheckedRead } from './db.ts';
import { type ClientInfo, ipOrNull } from './refresh-tokens.ts';

export const consentTypes = ['coppa', 'terms', 'privacy', 'marketing', 'data_sharing'] as const;
export type ConsentType = (typeof consentTypes)[number];
export const requiredConsentTypes = [
  'coppa',
  'terms',
  'privacy',
] as const satisfies readonly ConsentType[];

export function currentConsentVersion(type: ConsentType): string {
  const cfg = config();
  const versions: Record<ConsentType, string> = {
    coppa: cfg.CONSENT_VERSION_COPPA,
    terms: cfg.CONSENT_VERSION_TERMS,
    privacy: cfg.CONSENT_VERSION_PRIVACY,
    marketing: cfg.CONSENT_VERSION_MARKETING,
    data_sharing: cfg.CONSENT_VERSION_DATA_SHARING,
  };
  return versions[type];
}

/**
 * A grant as COLUMNS reads it: the generated `Consent` model (its type narrowed to the known
 * types; revokedAt from the revocation if there is one) with where the revocation came from.
 */
type ConsentRow = Omit<Consent, 'parentId' | 'consentType'> & {
  consentType: ConsentType;
  revokedIpAddress: string | null;
  revokedUserAgent: string | null;
};

export interface ConsentView {
  id: string;
  type: ConsentType;
  version: string;
  grantedAt: string | null;
  revokedAt: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  /** Where the revocation came from (null before it, and for revocations before 2026-12). */
  revokedIpAddress: string | null;
  revokedUserAgent: string | null;
  createdAt: string;
}

// A grant with its revocation, if any (the legacy revoked_at column for revocations recorded
// before consent_revocations existed is copied into it by the migration).
const FROM_CONSENTS = sql`consents c LEFT JOIN consent_revocations r ON r.consent_id = c.id`;
const COLUMNS = sql`c.id, c.consent_type AS "consentType", c.version, c.granted_at AS "grantedAt",
  COALESCE(r.revoked_at, c.revoked_at) AS "revokedAt", host(c.ip_address) AS "ipAddress",
  c.user_agent AS "userAgent", host(r.ip_address) AS "revokedIpAddress",
  r.user_agent AS "revokedUserAgent", c.created_at AS "createdAt"`;
/** The grant `c` (a consents row) is live: granted and not revoked (SQL text: raw() it). */
export const LIVE_GRANT = `c.granted_at IS NOT NULL AND c.revoked_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM consent_revocations lr WHERE lr.consent_id = c.id)`;
const liveGrant = raw(LIVE_GRANT);

function toView(row: ConsentRow): ConsentView {
  return {
    id: row.id,
    type: row.consentType,
    version: row.version,
    grantedAt: row.grantedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    ipAddress: row.ipAddress,
    userAgent: row.userAgent,
    revokedIpAddress: row.revokedIpAddress,
    revokedUserAgent: row.revokedUserAgent,
    createdAt: row.createdAt.toISOString(),
  };
}

export interface ConsentStatus {
  type: ConsentType;
  required: boolean;
  currentVersion: string;
  /** Granted at the current version and not revoked. */
  granted: boolean;
  grantedAt: string | null;
}

export async function listConsents(
  parentId: string,
): Promise<{ status: ConsentStatus[]; history: ConsentView[] }> {
  const db = await getDb();
  const { column, from, checked } = sessionCheckedRead();
  const rows = await db.$queryRaw<ConsentRow[]>`
    SELECT ${column}, ${COLUMNS}
      FROM ${from} LEFT JOIN (${FROM_CONSENTS}) ON c.parent_id = ${parentId}::uuid
     ORDER BY c.created_at DESC, c.id`;
  checked();
  const history = rows.filter((r) => r.id !== null).map(toView);
  const status = consentTypes.map((type) => {
    const currentVersion = currentConsentVersion(type);
    const live = history.find(
      (c) => c.type === type && c.version === currentVersion && c.grantedAt && !c.revokedAt,
    );
    return {
      type,
      required: (requiredConsentTypes as readonly string[]).includes(type),
      currentVersion,
      granted: Boolean(live),
      grantedAt: live?.grantedAt ?? null,
    };
  });
  return { status, history };
}

/** Records a grant of the current version; granting an already granted version changes nothing. */
export async function grantConsent(
  parentId: string,
  input: { type: ConsentType },
  client: ClientInfo,
): Promise<{ consent: ConsentView; created: boolean }> {
  const version = currentConsentVersion(input.type);
  // One live grant per type and version: concurrent grants of one family queue on the
  // family's advisory lock, taken before this statement's snapshot (the rule spans two tables,
  // so no unique index can hold it). One statement: the live grant if there is one, else a
  // new one; none for a deleted account.
  return inTransaction(
    parentActor(parentId),
    async (tx) => {
      const [row] = await tx.$queryRaw<(ConsentRow & { created: boolean })[]>`
      WITH parent AS (
             SELECT id FROM parents WHERE id = ${parentId}::uuid AND deleted_at IS NULL FOR UPDATE),
           existing AS (
             SELECT ${COLUMNS} FROM ${FROM_CONSENTS}
              WHERE c.parent_id = (SELECT id FROM parent) AND c.consent_type = ${input.type}
                AND c.version = ${version} AND ${liveGrant}
              ORDER BY c.created_at DESC LIMIT 1),
           ins AS (
             INSERT INTO consents (parent_id, consent_type, version, granted_at, ip_address, user_agent)
             SELECT parent.id, ${input.type}, ${version}, NOW(), ${ipOrNull(client.ip)}::inet,
                    ${client.userAgent?.slice(0, 500) ?? null}::text
               FROM parent WHERE NOT EXISTS (SELECT 1 FROM existing)
             RETURNING *)
      SELECT *, FALSE AS created FROM existing
      UNION ALL
      SELECT ${COLUMNS}, TRUE AS created FROM ins c LEFT JOIN consent_revocations r ON r.consent_id = c.id`;
      if (!row) throw new AppError('not_found', 'No such account');
      const { created, ...consent } = row;
      return { consent: toView(consent), created };
    },
    { lockKey: `consents:${parentId}` },
  );
}

/**
 * Revokes every live grant of `type` (any version), recording each revocation as its own row
 * with time, IP and user agent; 404 when nothing was granted. Revoking coppa also soft-deletes
 * every child of the family in the same transaction: that starts the retention grace period
 * after which the child data is hard-deleted (docs/RETENTION.md); meanwhile the children are
 * listed as pending deletion and their routes answer 403 consent_required.
 */
export async function revokeConsent(
  parentId: string,
  type: ConsentType,
  client: ClientInfo,
): Promise<{ revoked: ConsentView[]; childrenScheduledForDeletion: number }> {
  return inTransaction(parentActor(parentId), async (tx) => {
    // One statement: the revocations and, for coppa, the children's deletion.
    const rows = await tx.$queryRaw<(ConsentRow & { childrenDeleted: number })[]>`
      WITH r AS (
             INSERT INTO consent_revocations (consent_id, parent_id, ip_address, user_agent)
             SELECT c.id, c.parent_id, ${ipOrNull(client.ip)}::inet,
                    ${client.userAgent?.slice(0, 500) ?? null}::text
               FROM consents c
              WHERE c.parent_id = ${parentId}::uuid AND c.consent_type = ${type} AND ${liveGrant}
             RETURNING *),
           kids AS (
             UPDATE children SET deleted_at = NOW()
              WHERE ${type === 'coppa'}::boolean AND EXISTS (SELECT 1 FROM r)
                AND parent_id = ${parentId}::uuid AND deleted_at IS NULL
             RETURNING id)
      SELECT ${COLUMNS}, (SELECT COUNT(*)::int FROM kids) AS "childrenDeleted"
        FROM consents c JOIN r ON r.consent_id = c.id ORDER BY c.created_at DESC`;
    if (rows.length === 0) throw new AppError('not_found', `No ${type} consent is granted`);
    return {
      revoked: rows.map(toView),
      childrenScheduledForDeletion: rows[0]?.childrenDeleted ?? 0,
    };
  });
}

const requiredConsents = () =>
  requiredConsentTypes.map((type) => ({ type, version: currentConsentVersion(type) }));

/**
 * SQL: the required consent types (coppa, terms, privacy) that the parent `parentId` (an SQL
 * expression) has granted at their current versions and not revoked, as text[]. Lets a lookup
 * that needs the family's consents carry them (see assertRequiredConsents).
 */
export function grantedRequiredConsents(parentId: Sql): Sql {
  return sql`ARRAY(
    SELECT DISTINCT c.consent_type::text FROM consents c
      JOIN jsonb_to_recordset(${JSON.stringify(requiredConsents())}::jsonb) AS w(type TEXT, version TEXT)
        ON w.type = c.consent_type AND w.version = c.version
     WHERE c.parent_id = ${parentId} AND ${liveGrant})`;
}

/** Throws 403 consent_required unless `granted` (from grantedRequiredConsents) holds them all. */
export function assertRequiredConsents(granted: readonly string[]): void {
  const missing = requiredConsents().filter((w) => !granted.includes(w.type));
  if (missing.length > 0) {
    throw new AppError(
      'consent_required',
      'A parent must grant the current coppa, terms and privacy consents first',
      { details: { missingConsents: missing } },
    );
  }
}

/**
 * Throws 403 consent_required unless coppa, terms and privacy are granted at their current
 * versions and not revoked. Every child feature checks this before touching child data.
 */
export async function requireChildFeaturesConsent(parentId: string, db?: Queryable): Promise<void> {
  const [row] = await (db ?? (await getDb())).$queryRaw<{ granted: string[] }[]>`
    SELECT ${grantedRequiredConsents(sql`${parentId}::uuid`)} AS granted`;
  assertRequiredConsents(row?.granted ?? []);
}
