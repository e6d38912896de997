// Parent authentication: email+password signup and login, Google/Apple sign-in, refresh
// rotation and logout. Every successful sign-in returns a short-lived access token and a new
// refresh token family.
import { randomUUID } from 'node:crypto';
import { issueAccessToken } from '../auth/access-token.ts';
import { getDb, type Parent, type Queryable } from '../db/client.ts';
import { dbErrorOf } from '../db/errors.ts';
import { type Sql, sql } from '../db/sql.ts';
import { inTransaction } from '../db/transaction.ts';
import { AppError, isAppError } from '../errors.ts';
import { parentActor } from './db.ts';
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
  newRefreshToken,
  REFRESH_TOKEN_INSERT_COLUMNS,
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

/**
 * A sign-in in one statement: `parentWrite` (an INSERT or UPDATE of parents `RETURNING
 * PARENT_COLUMNS`, at most one row), a new refresh token family for that parent, and the
 * parent as the audit trail's actor (set before the statement's audit triggers fire, which is
 * at its end). Null when `parentWrite` touched no row.
 */
async function signIn(
  db: Queryable,
  parentWrite: Sql,
  client: ClientInfo,
): Promise<Session | null> {
  const token = newRefreshToken(client);
  const [row] = await db.$queryRaw<ParentRow[]>`
    WITH p AS (${parentWrite}),
         t AS (INSERT INTO refresh_tokens (${REFRESH_TOKEN_INSERT_COLUMNS})
               SELECT ${token.values(sql`p.id`)} FROM p RETURNING parent_id)
    SELECT p.*, set_config('brainspark.actor', 'parent:' || p.id::text, true) AS actor
      FROM p JOIN t ON t.parent_id = p.id`;
  if (!row) return null;
  const access = await issueAccessToken({
    kind: 'parent',
    parentId: row.id,
    sessionId: token.familyId,
  });
  return {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    refreshToken: token.refreshToken,
    refreshTokenExpiresAt: token.expiresAt.toISOString(),
    parent: toParentView(row),
  };
}

function mapParentInsertError(err: unknown): never {
  if (dbErrorOf(err).code === '23505')
    throw new AppError('email_taken', 'An account with this email already exists', { cause: err });
  return mapTimezoneError(err);
}

const signedIn = (session: Session | null): Session => {
  // Only a write that matched no row (e.g. the account was deleted meanwhile) gets here empty.
  if (!session) throw new AppError('invalid_credentials', 'Wrong email or password');
  return session;
};

export async function signup(input: SignupInput, client: ClientInfo): Promise<Session> {
  await (await rateLimits()).consume('signupPerIp', client.ip ?? 'unknown');
  await assertStrongPassword(input.password, { email: input.email, name: input.displayName });
  const timezone = input.timezone === undefined ? undefined : requireTimeZone(input.timezone);
  const passwordHash = await hashSecret(input.password);
  const session = await signIn(
    await getDb(),
    sql`INSERT INTO parents (id, email, password_hash, auth_provider, display_name, timezone, locale, last_login_at)
        VALUES (${randomUUID()}::uuid, ${normalizeEmail(input.email)}, ${passwordHash}, 'email',
                ${input.displayName ?? null}, COALESCE(${timezone ?? null}, 'UTC'),
                COALESCE(${input.locale ?? null}, 'en-US'), NOW())
        RETURNING ${PARENT_COLUMNS}`,
    client,
  ).catch(mapParentInsertError);
  return signedIn(session);
}

/** Parent login: two statements (the lookup, then the sign-in), argon2 between them. */
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
  const db = await getDb();
  const [row] = await db.$queryRaw<{ id: string; password_hash: string | null }[]>`
    SELECT id, password_hash FROM parents WHERE lower(email) = ${email} AND deleted_at IS NULL`;
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
  // Deleted between the check and now: no row, the same answer as a wrong password.
  return signedIn(
    await signIn(
      db,
      sql`UPDATE parents SET last_login_at = NOW()
           WHERE id = ${row.id}::uuid AND deleted_at IS NULL RETURNING ${PARENT_COLUMNS}`,
      client,
    ),
  );
}

/** Signs in with a verified Google/Apple identity: the parent linked to it, or a new one. */
export async function socialLogin(
  provider: SocialProvider,
  idToken: string,
  client: ClientInfo,
): Promise<Session> {
  await (await rateLimits()).consume('loginPerIp', client.ip ?? 'unknown');
  const identity = await verifyIdToken(provider, idToken);
  const db = await getDb();
  // Two first sign-ins racing: the loser's insert hits a unique index and then finds the
  // winner's parent on the second pass.
  for (let attempt = 0; ; attempt++) {
    const existing = await signIn(
      db,
      sql`UPDATE parents SET last_login_at = NOW()
           WHERE auth_provider = ${provider} AND auth_provider_id = ${identity.subject}
             AND deleted_at IS NULL
          RETURNING ${PARENT_COLUMNS}`,
      client,
    );
    if (existing) return existing;
    try {
      return await createSocialParent(db, identity, client);
    } catch (err) {
      // Either unique index (provider id or email) may report the race; a real email conflict
      // fails again on the second pass, when no parent is linked to this identity.
      const lostRace = isAppError(err) && err.code === 'email_taken';
      if (attempt === 0 && lostRace) continue;
      throw err;
    }
  }
}

/**
 * A new parent for a verified identity. An email already used by another sign-in method is
 * not linked silently (409): its owner signs in with that method (no takeover via a provider).
 */
async function createSocialParent(
  db: Queryable,
  identity: VerifiedIdentity,
  client: ClientInfo,
): Promise<Session> {
  const session = await signIn(
    db,
    sql`INSERT INTO parents (id, email, auth_provider, auth_provider_id, display_name, last_login_at)
        VALUES (${randomUUID()}::uuid, ${normalizeEmail(identity.email)}, ${identity.provider},
                ${identity.subject}, ${identity.name ?? null}, NOW())
        RETURNING ${PARENT_COLUMNS}`,
    client,
  ).catch(mapParentInsertError);
  return signedIn(session);
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
  const db = await getDb();
  const [row] = await db.$queryRaw<(ParentRow & Pick<Parent, 'passwordHash'>)[]>`
    SELECT ${PARENT_COLUMNS}, password_hash AS "passwordHash" FROM parents
     WHERE id = ${parentId}::uuid AND deleted_at IS NULL`;
  if (!row) throw new AppError('invalid_token', 'The session has ended; sign in again');
  const limits = await rateLimits();
  const emailAndClient = `${normalizeEmail(row.email)}|${client.ip ?? 'unknown'}`;
  await limits.consume('loginPerEmailAndClient', emailAndClient);
  if (!row.passwordHash || !(await verifySecret(row.passwordHash, input.currentPassword))) {
    throw new AppError('invalid_credentials', 'The current password is wrong', {
      fieldErrors: [{ path: 'body.currentPassword', message: 'Wrong password' }],
    });
  }
  await limits.refund('loginPerEmailAndClient', emailAndClient);
  await assertStrongPassword(input.newPassword, {
    email: row.email,
    name: row.displayName ?? undefined,
  });
  const passwordHash = await hashSecret(input.newPassword);
  return inTransaction(parentActor(parentId), async (tx) => {
    // Every earlier sign-in ends first; the new one is made after.
    await revokeAllForParent(tx, parentId);
    const session = await signIn(
      tx,
      sql`UPDATE parents SET password_hash = ${passwordHash}
           WHERE id = ${parentId}::uuid AND deleted_at IS NULL RETURNING ${PARENT_COLUMNS}`,
      client,
    );
    if (!session) throw new AppError('invalid_token', 'The session has ended; sign in again');
    return session;
  });
}
