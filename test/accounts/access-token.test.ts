// Access tokens: signing-key rotation (the first key signs, every listed key verifies), and
// claims our own key signed that still must not pass (alg/kid mismatch, unknown kinds).
import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  issueAccessToken,
  resetKeyRingForTests,
  verifyAccessToken,
} from '../../shared/auth/access-token.ts';
import { config, resetConfigForTests } from '../../shared/config.ts';

async function makeKey(alg: 'ES256' | 'EdDSA') {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const kid = `${alg}-${randomUUID()}`;
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(privateKey)), kid, alg } };
}

function useKeys(jwks: object[]): void {
  process.env.JWT_SIGNING_KEYS = JSON.stringify(jwks);
  resetConfigForTests();
  resetKeyRingForTests();
}

afterEach(() => {
  delete process.env.JWT_SIGNING_KEYS;
  resetConfigForTests();
  resetKeyRingForTests();
});

const signWith = (
  key: CryptoKey,
  header: { alg: string; kid: string },
  claims: JWTPayload,
  subject: string,
) =>
  new SignJWT(claims)
    .setProtectedHeader({ ...header, typ: 'at+jwt' })
    .setSubject(subject)
    .setIssuer(config().JWT_ISSUER)
    .setAudience(config().JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);

const invalid = { name: 'AppError', code: 'invalid_token' };

describe('access tokens', () => {
  it('rotate: the first key signs, a retiring key still verifies until it is removed', async () => {
    const current = await makeKey('ES256');
    const retiring = await makeKey('EdDSA');
    useKeys([current.jwk, retiring.jwk]);
    const parentId = randomUUID();

    const { token } = await issueAccessToken({ kind: 'parent', parentId });
    expect(decodeProtectedHeader(token)).toMatchObject({ kid: current.kid, alg: 'ES256' });

    const old = await signWith(
      retiring.privateKey,
      { alg: 'EdDSA', kid: retiring.kid },
      { kind: 'parent' },
      parentId,
    );
    expect(await verifyAccessToken(old)).toEqual({ kind: 'parent', parentId });

    useKeys([current.jwk]);
    await expect(verifyAccessToken(old)).rejects.toMatchObject(invalid);
    expect(await verifyAccessToken(token)).toEqual({ kind: 'parent', parentId });
  });

  it("refuses a token whose header names one key's kid with another algorithm", async () => {
    const es = await makeKey('ES256');
    const ed = await makeKey('EdDSA');
    useKeys([es.jwk, ed.jwk]);
    const token = await signWith(
      ed.privateKey,
      { alg: 'EdDSA', kid: es.kid },
      { kind: 'parent' },
      randomUUID(),
    );
    await expect(verifyAccessToken(token)).rejects.toMatchObject(invalid);
  });

  it('refuses tokens of an unknown kind, and child tokens without their parent', async () => {
    const key = await makeKey('ES256');
    useKeys([key.jwk]);
    const header = { alg: 'ES256', kid: key.kid };
    for (const claims of [{ kind: 'admin' }, {}, { kind: 'child' }, { kind: 'child', pid: 42 }]) {
      const token = await signWith(key.privateKey, header, claims, randomUUID());
      await expect(verifyAccessToken(token), JSON.stringify(claims)).rejects.toMatchObject(invalid);
    }
    const [parentId, childId] = [randomUUID(), randomUUID()];
    const child = await signWith(key.privateKey, header, { kind: 'child', pid: parentId }, childId);
    expect(await verifyAccessToken(child)).toEqual({ kind: 'child', childId, parentId });
    // Claims reach SQL as UUIDs: anything else is refused here (401), never a 500 later.
    for (const [pid, sub] of [
      ['parent-1', childId],
      [parentId, 'child-1'],
    ] as const) {
      const bad = await signWith(key.privateKey, header, { kind: 'child', pid }, sub);
      await expect(verifyAccessToken(bad)).rejects.toMatchObject(invalid);
    }
  });

  it('a verified token is remembered until it expires, and nothing else rides on it', async () => {
    const key = await makeKey('ES256');
    useKeys([key.jwk]);
    const parentId = randomUUID();
    const { token, expiresIn } = await issueAccessToken({ kind: 'parent', parentId });
    const first = await verifyAccessToken(token);
    expect(first).toEqual({ kind: 'parent', parentId });
    // A caller that changes its principal does not change what the next request gets.
    (first as { parentId: string }).parentId = randomUUID();
    expect(await verifyAccessToken(token)).toEqual({ kind: 'parent', parentId });

    // The same token with its signature's last character changed, or its payload swapped
    // for another subject's, is verified on its own and refused.
    const [head, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${head}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(verifyAccessToken(flipped)).rejects.toMatchObject(invalid);
    const other = await issueAccessToken({ kind: 'parent', parentId: randomUUID() });
    const forged = `${head}.${other.token.split('.')[1]}.${signature}`;
    await expect(verifyAccessToken(forged)).rejects.toMatchObject(invalid);

    // At its expiry the remembered token is refused like any other expired token.
    // (Date only: jose reads `new Date()`, the cache `Date.now()`; both move.)
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + (expiresIn - 5) * 1000);
      expect(await verifyAccessToken(token)).toEqual({ kind: 'parent', parentId });
      vi.setSystemTime(Date.now() + 10 * 1000);
      await expect(verifyAccessToken(token)).rejects.toMatchObject(invalid);
    } finally {
      vi.useRealTimers();
    }
  });
});
