// Parent authentication: email+password signup and login, Google/Apple sign-in, refresh
// rotation and logout. Every successful sign-in returns a short-lived access token and a new
// refresh token family.
import { randomUUID } from 'node:crypto';
import { issueAccessToken } from '../auth/access-token.ts';
import { AppError, isAppError } from '../errors.ts';
import { parentActor, pgErrorOf, query, withTransaction } from './db.ts';
import {
  mapTimezoneError,
  PARENT_COLUMNS,
  type ParentRow,
  type ParentView,
  requireTimeZone,
  toParentView,
} from './parents.ts';
import { assertStrongPassword } from './password-policy.ts';
import { burnVerification, hashSecret, verifySecret } from './passwords.ts';
import { rateLimits } from './rate-limits.ts';
import {
  type ClientInfo,
  familyOf,
  insertRefreshToken,
  revokeAllForParent,
  revokeFamilyOfToken,
  rotateRefreshToken,
} from './refresh-tokens.ts';
import { type SocialProvider, type VerifiedIdentity, verifyIdToken } from './social-login.ts';

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

export interface Session extends TokenPair {
  parent: ParentView;
}

export interface SignupInput {
  email: string;
  password: string;
  displayName?: string | undefined;
  timezone?: string | undefined;
  locale?: string | undefined;
}

const normalizeEmail = (email: string): string => email.trim().toLowerCase();

async function issueSession(
  tx: Parameters<Parameters<typeof withTransaction>[1]>[0],
  row: ParentRow,
  client: ClientInfo,
): Promise<Session> {
  const refresh = await insertRefreshToken(tx, row.id, client);
  const access = await issueAccessToken({
    kind: 'parent',
    parentId: row.id,
    sessionId: refresh.familyId,
  });
  return {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    refreshToken: refresh.refreshToken,
    refreshTokenExpiresAt: refresh.expiresAt.toISOString(),
    parent: toParentView(row),
  };
}

function mapParentInsertError(err: unknown): never {
  const pgErr = pgErrorOf(err);
  if (pgErr.code === '23505')
    throw new AppError('email_taken', 'An account with this email already exists', { cause: err });
  return mapTimezoneError(err);
}

export async function signup(input: SignupInput, client: ClientInfo): Promise<Session> {
  await (await rateLimits()).consume('signupPerIp', client.ip ?? 'unknown');
  await assertStrongPassword(input.password, { email: input.email, name: input.displayName });
  const timezone = input.timezone === undefined ? undefined : requireTimeZone(input.timezone);
  const passwordHash = await hashSecret(input.password);
  const id = randomUUID();
  return withTransaction(parentActor(id), async (tx) => {
    const { rows } = await tx
      .query<ParentRow>(
        `INSERT INTO parents (id, email, password_hash, auth_provider, display_name, timezone, locale, last_login_at)
         VALUES ($1, $2, $3, 'email', $4, COALESCE($5, 'UTC'), COALESCE($6, 'en-US'), NOW())
         RETURNING ${PARENT_COLUMNS}`,
        [
          id,
          normalizeEmail(input.email),
          passwordHash,
          input.displayName ?? null,
          timezone ?? null,
          input.locale ?? null,
        ],
      )
      .catch(mapParentInsertError);
    return issueSession(tx, rows[0] as ParentRow, client);
  });
}

export async function login(
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<Session> {
  const email = normalizeEmail(input.email);
  const limits = await rateLimits();
  const emailAndClient = `${email}|${client.ip ?? 'unknown'}`;
  await limits.consume('loginPerIp', client.ip ?? 'unknown');
  await limits.consume('loginPerEmailAndClient', emailAndClient);
  await limits.consume('loginPerEmail', email);
  // The password check (argon2, tens of ms) runs without holding a pooled connection.
  const { rows } = await query<ParentRow & { password_hash: string | null }>(
    `SELECT ${PARENT_COLUMNS}, password_hash FROM parents WHERE lower(email) = $1 AND deleted_at IS NULL`,
    [email],
  );
  const row = rows[0];
  if (!row?.password_hash) {
    await burnVerification(input.password);
    throw new AppError('invalid_credentials', 'Wrong email or password');
  }
  if (!(await verifySecret(row.password_hash, input.password))) {
    throw new AppError('invalid_credentials', 'Wrong email or password');
  }
  // Only failures count against the account's limits.
  await limits.refund('loginPerEmailAndClient', emailAndClient);
  await limits.refund('loginPerEmail', email);
  return withTransaction(parentActor(row.id), async (tx) => {
    const { rows: updated } = await tx.query<ParentRow>(
      `UPDATE parents SET last_login_at = NOW() WHERE id = $1 AND deleted_at IS NULL
       RETURNING ${PARENT_COLUMNS}`,
      [row.id],
    );
    // Deleted between the check and now.
    if (!updated[0]) throw new AppError('invalid_credentials', 'Wrong email or password');
    return issueSession(tx, updated[0], client);
  });
}

/** Signs in with a verified Google/Apple identity: the parent linked to it, or a new one. */
export async function socialLogin(
  provider: SocialProvider,
  idToken: string,
  client: ClientInfo,
): Promise<Session> {
  await (await rateLimits()).consume('loginPerIp', client.ip ?? 'unknown');
  const identity = await verifyIdToken(provider, idToken);
  // Two first sign-ins racing: the loser's insert hits a unique index and then finds the
  // winner's parent on the second pass.
  for (let attempt = 0; ; attempt++) {
    const existing = await signInLinkedParent(provider, identity.subject, client);
    if (existing) return existing;
    try {
      return await createSocialParent(identity, client);
    } catch (err) {
      // Either unique index (provider id or email) may report the race; a real email conflict
      // fails again on the second pass, when no parent is linked to this identity.
      const lostRace = isAppError(err) && err.code === 'email_taken';
      if (attempt === 0 && lostRace) continue;
      throw err;
    }
  }
}

function signInLinkedParent(
  provider: SocialProvider,
  subject: string,
  client: ClientInfo,
): Promise<Session | null> {
  return withTransaction('system:login', async (tx) => {
    const { rows } = await tx.query<ParentRow>(
      `SELECT ${PARENT_COLUMNS} FROM parents
        WHERE auth_provider = $1 AND auth_provider_id = $2 AND deleted_at IS NULL FOR UPDATE`,
      [provider, subject],
    );
    const row = rows[0];
    if (!row) return null;
    await tx.query("SELECT set_config('brainspark.actor', $1, true)", [parentActor(row.id)]);
    const { rows: updated } = await tx.query<ParentRow>(
      `UPDATE parents SET last_login_at = NOW() WHERE id = $1 RETURNING ${PARENT_COLUMNS}`,
      [row.id],
    );
    return issueSession(tx, updated[0] as ParentRow, client);
  });
}

/**
 * A new parent for a verified identity. An email already used by another sign-in method is
 * not linked silently (409): its owner signs in with that method (no takeover via a provider).
 */
function createSocialParent(identity: VerifiedIdentity, client: ClientInfo): Promise<Session> {
  const id = randomUUID();
  return withTransaction(parentActor(id), async (tx) => {
    const { rows } = await tx
      .query<ParentRow>(
        `INSERT INTO parents (id, email, auth_provider, auth_provider_id, display_name, last_login_at)
         VALUES ($1, $2, $3, $4, $5, NOW())
         RETURNING ${PARENT_COLUMNS}`,
        [
          id,
          normalizeEmail(identity.email),
          identity.provider,
          identity.subject,
          identity.name ?? null,
        ],
      )
      .catch(mapParentInsertError);
    return issueSession(tx, rows[0] as ParentRow, client);
  });
}

export async function refresh(refreshToken: string, client: ClientInfo): Promise<TokenPair> {
  const familyId = await familyOf(refreshToken);
  if (familyId) await (await rateLimits()).consume('refreshPerFamily', familyId);
  const rotated = await rotateRefreshToken(refreshToken, client);
  const access = await issueAccessToken({
    kind: 'parent',
    parentId: rotated.parentId,
    sessionId: rotated.familyId,
  });
  return {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    refreshToken: rotated.refreshToken,
    refreshTokenExpiresAt: rotated.expiresAt.toISOString(),
  };
}

export async function logout(refreshToken: string): Promise<void> {
  await revokeFamilyOfToken(refreshToken);
}

/**
 * Changes the password of a signed-in parent. The current password is required (and its
 * failures count like login failures); the new one must pass the same rules as at signup.
 * Every sign-in of the account ends (all refresh families revoked, so every access and child
 * token with them); the caller gets a fresh session in the same answer.
 */
export async function changePassword(
  parentId: string,
  input: { currentPassword: string; newPassword: string },
  client: ClientInfo,
): Promise<Session> {
  const { rows } = await query<ParentRow & { password_hash: string | null }>(
    `SELECT ${PARENT_COLUMNS}, password_hash FROM parents WHERE id = $1 AND deleted_at IS NULL`,
    [parentId],
  );
  const row = rows[0];
  if (!row) throw new AppError('invalid_token', 'The session has ended; sign in again');
  const limits = await rateLimits();
  const emailAndClient = `${normalizeEmail(row.email)}|${client.ip ?? 'unknown'}`;
  await limits.consume('loginPerEmailAndClient', emailAndClient);
  if (!row.password_hash || !(await verifySecret(row.password_hash, input.currentPassword))) {
    throw new AppError('invalid_credentials', 'The current password is wrong', {
      fieldErrors: [{ path: 'body.currentPassword', message: 'Wrong password' }],
    });
  }
  await limits.refund('loginPerEmailAndClient', emailAndClient);
  await assertStrongPassword(input.newPassword, {
    email: row.email,
    name: row.display_name ?? undefined,
  });
  const passwordHash = await hashSecret(input.newPassword);
  return withTransaction(parentActor(parentId), async (tx) => {
    const { rows: updated } = await tx.query<ParentRow>(
      `UPDATE parents SET password_hash = $2 WHERE id = $1 AND deleted_at IS NULL
       RETURNING ${PARENT_COLUMNS}`,
      [parentId, passwordHash],
    );
    if (!updated[0]) throw new AppError('invalid_token', 'The session has ended; sign in again');
    await revokeAllForParent(tx, parentId);
    return issueSession(tx, updated[0], client);
  });
}
