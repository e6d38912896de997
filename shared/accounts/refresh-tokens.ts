// Refresh tokens: opaque random strings, stored only as SHA-256 hashes, rotated on every use.
// A family is one sign-in's chain of rotations. Presenting a token that was already rotated
// (or revoked) means it leaked or raced: the whole family is revoked.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { config } from '../config.ts';
import { AppError } from '../errors.ts';
import { type Queryable, query, withTransaction } from './db.ts';

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

/** Inserts a new token in `familyId` (a new family when omitted) and returns it once, in clear. */
export async function insertRefreshToken(
  db: Queryable,
  parentId: string,
  client: ClientInfo,
  familyId: string = randomUUID(),
): Promise<IssuedRefreshToken & { id: string }> {
  const refreshToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + config().REFRESH_TOKEN_TTL_DAYS * 86_400_000);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO refresh_tokens (parent_id, token_hash, family_id, expires_at, user_agent, ip_address)
     VALUES ($1, $2, $3, $4, $5, $6::inet) RETURNING id`,
    [
      parentId,
      hashRefreshToken(refreshToken),
      familyId,
      expiresAt,
      client.userAgent?.slice(0, 500) ?? null,
      ipOrNull(client.ip),
    ],
  );
  return { id: (rows[0] as { id: string }).id, refreshToken, familyId, expiresAt };
}

/** Looks up a token's family without changing anything (for per-family rate limits). */
export async function familyOf(token: string): Promise<string | undefined> {
  const { rows } = await query<{ family_id: string }>(
    'SELECT family_id FROM refresh_tokens WHERE token_hash = $1',
    [hashRefreshToken(token)],
  );
  return rows[0]?.family_id;
}

const invalidRefresh = () =>
  new AppError('invalid_token', 'The refresh token is invalid, expired or revoked');

/**
 * Exchanges a live token for a new one in the same family. The conditional UPDATE lets exactly
 * one of several concurrent callers win: the others find the row already revoked, which counts
 * as reuse and revokes the family (including the winner's new token).
 */
export async function rotateRefreshToken(
  token: string,
  client: ClientInfo,
): Promise<IssuedRefreshToken & { parentId: string }> {
  const tokenHash = hashRefreshToken(token);
  const outcome = await withTransaction('system:refresh', async (tx) => {
    const { rows } = await tx.query<{ id: string; parent_id: string; family_id: string }>(
      `UPDATE refresh_tokens rt SET revoked_at = NOW()
        WHERE rt.token_hash = $1 AND rt.revoked_at IS NULL AND rt.expires_at > NOW()
          AND EXISTS (SELECT 1 FROM parents p WHERE p.id = rt.parent_id AND p.deleted_at IS NULL)
        RETURNING rt.id, rt.parent_id, rt.family_id`,
      [tokenHash],
    );
    const current = rows[0];
    if (!current) return null;
    const next = await insertRefreshToken(tx, current.parent_id, client, current.family_id);
    await tx.query('UPDATE refresh_tokens SET replaced_by_id = $2 WHERE id = $1', [
      current.id,
      next.id,
    ]);
    return { ...next, parentId: current.parent_id };
  });
  if (outcome) {
    const { id: _id, ...issued } = outcome;
    return issued;
  }
  // Not rotated: unknown, expired, or already used. A known token that was revoked is reuse.
  const { rows } = await query<{ family_id: string; revoked_at: Date | null }>(
    'SELECT family_id, revoked_at FROM refresh_tokens WHERE token_hash = $1',
    [tokenHash],
  );
  const known = rows[0];
  if (known?.revoked_at) await revokeFamily(known.family_id);
  throw invalidRefresh();
}

export async function revokeFamily(familyId: string): Promise<void> {
  await query(
    'UPDATE refresh_tokens SET revoked_at = NOW() WHERE family_id = $1 AND revoked_at IS NULL',
    [familyId],
  );
}

/** Logout: revokes the family of the presented token. Unknown tokens are ignored (idempotent). */
export async function revokeFamilyOfToken(token: string): Promise<void> {
  const familyId = await familyOf(token);
  if (familyId) await revokeFamily(familyId);
}

export async function revokeAllForParent(db: Queryable, parentId: string): Promise<void> {
  await db.query(
    'UPDATE refresh_tokens SET revoked_at = NOW() WHERE parent_id = $1 AND revoked_at IS NULL',
    [parentId],
  );
}

/**
 * The client address for an INET column, or null when it is not a plain IPv4/IPv6 address (it
 * can come from X-Forwarded-For; a bad one must not fail the request). Express reports IPv4
 * clients of a dual-stack socket as ::ffff:a.b.c.d, which INET accepts; zone ids it does not.
 */
export function ipOrNull(ip: string | undefined): string | null {
  return ip && isIP(ip) !== 0 && !ip.includes('%') ? ip : null;
}
