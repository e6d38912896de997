// Refresh tokens: opaque random strings, stored only as SHA-256 hashes, rotated on every use.
// A family is one sign-in's chain of rotations. Presenting a token that was already rotated
// (or revoked) means it leaked or raced: the whole family is revoked.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { config } from '../config.ts';
import { getDb, type Queryable } from '../db/client.ts';
import { type Sql, sql } from '../db/sql.ts';
import { AppError } from '../errors.ts';

export interface IssuedRefreshToken {
  refreshToken: string;
  familyId: string;
  expiresAt: Date;
}

export interface ClientInfo {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export const hashRefreshToken = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

/** A new token (in clear, returned once) and the values its row stores. */
export interface NewRefreshToken extends IssuedRefreshToken {
  id: string;
  /**
   * `SELECT` list of the row for `INSERT INTO refresh_tokens (REFRESH_TOKEN_INSERT_COLUMNS)`,
   * given SQL expressions for the parent id and (when not `familyId`) the family id.
   */
  values(parentId: Sql, familyId?: Sql): Sql;
}

export const REFRESH_TOKEN_INSERT_COLUMNS = sql`id, parent_id, token_hash, family_id, expires_at, user_agent, ip_address`;

/** Makes a token for `familyId` (a new family when omitted); nothing is stored yet. */
export function newRefreshToken(
  client: ClientInfo,
  familyId: string = randomUUID(),
): NewRefreshToken {
  const id = randomUUID();
  const refreshToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + config().REFRESH_TOKEN_TTL_DAYS * 86_400_000);
  const tokenHash = hashRefreshToken(refreshToken);
  const userAgent = client.userAgent?.slice(0, 500) ?? null;
  const ip = ipOrNull(client.ip);
  return {
    id,
    refreshToken,
    familyId,
    expiresAt,
    values: (parentId, family = sql`${familyId}::uuid`) =>
      sql`${id}::uuid, ${parentId}, ${tokenHash}::text, ${family},
          ${expiresAt.toISOString()}::timestamptz, ${userAgent}::text, ${ip}::inet`,
  };
}

/** Inserts a new token in `familyId` (a new family when omitted) and returns it once, in clear. */
export async function insertRefreshToken(
  db: Queryable,
  parentId: string,
  client: ClientInfo,
  familyId?: string,
): Promise<IssuedRefreshToken & { id: string }> {
  const token = newRefreshToken(client, familyId);
  await db.$executeRaw`INSERT INTO refresh_tokens (${REFRESH_TOKEN_INSERT_COLUMNS})
    SELECT ${token.values(sql`${parentId}::uuid`)}`;
  const { values: _values, ...issued } = token;
  return issued;
}

/** Looks up a token's family without changing anything (for per-family rate limits). */
export async function familyOf(token: string): Promise<string | undefined> {
  const db = await getDb();
  const row = await db.refreshToken.findUnique({
    where: { tokenHash: hashRefreshToken(token) },
    select: { familyId: true },
  });
  return row?.familyId;
}

const invalidRefresh = () =>
  new AppError('invalid_token', 'The refresh token is invalid, expired or revoked');

/**
 * Exchanges a live token for a new one in the same family, in one statement. The conditional
 * UPDATE lets exactly one of several concurrent callers win: the others find the row already
 * revoked, which counts as reuse and revokes the family (including the winner's new token).
 */
export async function rotateRefreshToken(
  token: string,
  client: ClientInfo,
): Promise<IssuedRefreshToken & { parentId: string }> {
  const tokenHash = hashRefreshToken(token);
  const db = await getDb();
  // The new row's id is known up front, so the old row is revoked and linked to it by one
  // UPDATE (the foreign key is checked at the end of the statement, after the INSERT).
  const next = newRefreshToken(client);
  const rows = await db.$queryRaw<{ parent_id: string; family_id: string }[]>`
    WITH cur AS (
      UPDATE refresh_tokens rt SET revoked_at = NOW(), replaced_by_id = ${next.id}::uuid
       WHERE rt.token_hash = ${tokenHash} AND rt.revoked_at IS NULL AND rt.expires_at > NOW()
         AND EXISTS (SELECT 1 FROM parents p WHERE p.id = rt.parent_id AND p.deleted_at IS NULL)
      RETURNING rt.parent_id, rt.family_id)
    INSERT INTO refresh_tokens (${REFRESH_TOKEN_INSERT_COLUMNS})
    SELECT ${next.values(sql`cur.parent_id`, sql`cur.family_id`)} FROM cur
    RETURNING parent_id, family_id`;
  const current = rows[0];
  if (current) {
    return {
      refreshToken: next.refreshToken,
      familyId: current.family_id,
      expiresAt: next.expiresAt,
      parentId: current.parent_id,
    };
  }
  // Not rotated: unknown, expired, or already used. A known token that was revoked is reuse:
  // its whole family is revoked (a statement of its own, so it sees the winner of a race).
  await db.$executeRaw`
    UPDATE refresh_tokens SET revoked_at = NOW()
     WHERE family_id = (SELECT family_id FROM refresh_tokens
                         WHERE token_hash = ${tokenHash} AND revoked_at IS NOT NULL)
       AND revoked_at IS NULL`;
  throw invalidRefresh();
}

/** Logout: revokes the family of the presented token. Unknown tokens are ignored (idempotent). */
export async function revokeFamilyOfToken(token: string): Promise<void> {
  const db = await getDb();
  await db.$executeRaw`
    UPDATE refresh_tokens SET revoked_at = NOW()
     WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ${hashRefreshToken(token)})
       AND revoked_at IS NULL`;
}

export async function revokeAllForParent(db: Queryable, parentId: string): Promise<void> {
  await db.$executeRaw`
    UPDATE refresh_tokens SET revoked_at = NOW() WHERE parent_id = ${parentId}::uuid AND revoked_at IS NULL`;
}

/**
 * The client address for an INET column, or null when it is not a plain IPv4/IPv6 address (it
 * can come from X-Forwarded-For; a bad one must not fail the request). Express reports IPv4
 * clients of a dual-stack socket as ::ffff:a.b.c.d, which INET accepts; zone ids it does not.
 */
export function ipOrNull(ip: string | undefined): string | null {
  return ip && isIP(ip) !== 0 && !ip.includes('%') ? ip : null;
}
