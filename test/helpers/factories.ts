// Test data for the account functions and everything built on them. Each test makes its own
// parents and children through these (never shared fixtures), against a real database.
//
//   const db = await setupAccountsTest();     // fresh DB, pool injected, Redis prefix per run
//   const parent = await createParent();       // { id, email, password, accessToken, refreshToken }
//   await grantRequiredConsents(parent);
//   const child = await createChild(parent, { birthDate: yearsAgo(8) });
//   const token = await childToken(parent, child);
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import {
  type ChildView,
  createChild as createChildRecord,
  setPin,
} from '../../shared/accounts/children.ts';
import { grantConsent } from '../../shared/accounts/consents.ts';
import { parentActor } from '../../shared/accounts/db.ts';
import { hashSecret } from '../../shared/accounts/passwords.ts';
import { resetRateLimitsForTests } from '../../shared/accounts/rate-limits.ts';
import { insertRefreshToken } from '../../shared/accounts/refresh-tokens.ts';
import { issueAccessToken, resetKeyRingForTests } from '../../shared/auth/access-token.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import { getPool, useDatabasePool } from '../../shared/db/client.ts';
import { inTransaction } from '../../shared/db/transaction.ts';
import { closeRedis } from '../../shared/redis.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let signingKey: Promise<{ privateJwk: Record<string, unknown>; kid: string }> | undefined;

/**
 * Pins this process's access-token key (the security suite signs hostile tokens with it),
 * a Redis key prefix unique to this test file, and resets cached config and limiters.
 */
export function configureTestEnvironment(): Promise<{
  privateJwk: Record<string, unknown>;
  kid: string;
}> {
  signingKey ??= (async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `test-${randomBytes(4).toString('hex')}`;
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
    process.env.JWT_SIGNING_KEYS = JSON.stringify([privateJwk]);
    process.env.REDIS_URL ??= TEST_REDIS_URL;
    process.env.RATE_LIMIT_KEY_PREFIX = `test:${randomBytes(6).toString('hex')}:`;
    process.env.NODE_ENV = 'test';
    resetConfigForTests();
    resetKeyRingForTests();
    resetRateLimitsForTests();
    await closeRedis();
    return { privateJwk, kid };
  })();
  return signingKey;
}

/** A fresh migrated database for this file, injected into the runtime. Call `db.drop()` afterwards. */
export async function setupAccountsTest(): Promise<TestDatabase> {
  await configureTestEnvironment();
  const db = await createTestDatabase();
  useDatabasePool(db.pool);
  return db;
}

export async function teardownAccountsTest(db: TestDatabase): Promise<void> {
  await closeRedis();
  await db.drop();
}

export interface TestParent {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** The refresh token family: the sign-in the access token belongs to. */
  sessionId: string;
}

/** A signed-up parent (email + password) with a live access token and refresh token. */
export async function createParent(
  overrides: { email?: string; password?: string; timezone?: string; displayName?: string } = {},
): Promise<TestParent> {
  const id = randomUUID();
  const email = overrides.email ?? `parent-${randomBytes(5).toString('hex')}@example.test`;
  const password = overrides.password ?? `pw-${randomBytes(8).toString('hex')}`;
  const passwordHash = await hashSecret(password);
  const refresh = await inTransaction(parentActor(id), async (tx) => {
    await tx.$executeRaw`INSERT INTO parents (id, email, password_hash, display_name, timezone)
      VALUES (${id}::uuid, ${email}, ${passwordHash}, ${overrides.displayName ?? 'Test Parent'},
              ${overrides.timezone ?? 'UTC'})`;
    return insertRefreshToken(tx, id, { userAgent: 'factory' });
  });
  const access = await issueAccessToken({
    kind: 'parent',
    parentId: id,
    sessionId: refresh.familyId,
  });
  return {
    id,
    email,
    password,
    accessToken: access.token,
    refreshToken: refresh.refreshToken,
    sessionId: refresh.familyId,
  };
}

/** Grants coppa, terms and privacy at their current versions (what child features require). */
export async function grantRequiredConsents(parent: { id: string }): Promise<void> {
  for (const type of ['coppa', 'terms', 'privacy'] as const) {
    await grantConsent(parent.id, { type }, { ip: '127.0.0.1', userAgent: 'factory' });
  }
}

/** A birth date `years` years (and `extraDays` days) before today, as YYYY-MM-DD. */
export function yearsAgo(years: number, extraDays = 0): string {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCDate(d.getUTCDate() - extraDays);
  return d.toISOString().slice(0, 10);
}

export async function createChild(
  parent: { id: string },
  input: { name?: string; birthDate?: string; interests?: string[]; pin?: string } = {},
): Promise<ChildView> {
  const child = await createChildRecord(parent.id, {
    name: input.name ?? `Kid ${randomBytes(2).toString('hex')}`,
    birthDate: input.birthDate ?? yearsAgo(8, 30),
    interests: input.interests ?? ['space'],
  });
  if (input.pin) return setPin(parent.id, child.id, input.pin);
  return child;
}

/** A child-session access token for `child` (what POST /children/{id}/session returns). */
export async function childToken(
  parent: { id: string; sessionId?: string },
  child: { id: string },
): Promise<string> {
  // Like the route: bound to a live sign-in of the parent and the child's session version.
  const { rows } = await (await getPool()).query<{ family_id: string | null; version: number }>(
    `SELECT (SELECT family_id FROM refresh_tokens WHERE parent_id = $1 AND revoked_at IS NULL
              ORDER BY created_at DESC LIMIT 1) AS family_id,
            (SELECT session_version FROM children WHERE id = $2) AS version`,
    [parent.id, child.id],
  );
  const sessionId = parent.sessionId ?? rows[0]?.family_id ?? undefined;
  return (
    await issueAccessToken({
      kind: 'child',
      parentId: parent.id,
      childId: child.id,
      ...(sessionId ? { sessionId } : {}),
      sessionVersion: rows[0]?.version ?? 0,
    })
  ).token;
}

/** A parent with the required consents and one child, with both tokens. */
export async function createFamily(childInput: Parameters<typeof createChild>[1] = {}) {
  const parent = await createParent();
  await grantRequiredConsents(parent);
  const child = await createChild(parent, childInput);
  return { parent, child, childToken: await childToken(parent, child) };
}
