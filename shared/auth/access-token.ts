// Short-lived access tokens: asymmetric JWTs (ES256/EdDSA) with kid, issuer, audience and typ.
// Keys come from config so they can rotate: the first key signs, every listed key verifies.
// Outside production, with no keys configured, an ephemeral key pair is made per process.
import type { CryptoKey, JWK } from 'jose';
import { config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Principal } from './principal.ts';

const ACCESS_TOKEN_TYP = 'at+jwt';
export const INVALID_ACCESS_TOKEN_DETAIL = 'The access token is invalid or expired';

interface KeyRing {
  signing: { kid: string; alg: string; key: CryptoKey };
  verifying: Map<string, { alg: string; key: CryptoKey }>;
}

let ringPromise: Promise<KeyRing> | undefined;
// jose is loaded on first use (cold start) and the module promise kept: a fresh import() per
// request is not free (a module-map lookup at best, a loader round trip under tsx).
let josePromise: Promise<typeof import('jose')> | undefined;
const loadJose = () => {
  josePromise ??= import('jose');
  return josePromise;
};

async function loadKeyRing(): Promise<KeyRing> {
  const jose = await loadJose();
  const cfg = config();
  let jwks: JWK[];
  if (cfg.JWT_SIGNING_KEYS) {
    jwks = JSON.parse(cfg.JWT_SIGNING_KEYS) as JWK[];
  } else {
    if (cfg.NODE_ENV === 'production')
      throw new Error('JWT_SIGNING_KEYS must be set in production');
    const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    jwks = [{ ...(await jose.exportJWK(privateKey)), kid: 'ephemeral', alg: 'ES256' }];
  }
  if (jwks.length === 0) throw new Error('JWT_SIGNING_KEYS holds no keys');
  const verifying = new Map<string, { alg: string; key: CryptoKey }>();
  let signing: KeyRing['signing'] | undefined;
  for (const jwk of jwks) {
    const alg = jwk.alg ?? (jwk.crv === 'Ed25519' ? 'EdDSA' : 'ES256');
    if (!jwk.kid || !['ES256', 'EdDSA'].includes(alg)) {
      throw new Error('Every JWT signing key needs a kid and alg ES256 or EdDSA');
    }
    const privateKey = (await jose.importJWK(jwk, alg)) as CryptoKey;
    const { d: _d, ...publicJwk } = jwk;
    const publicKey = (await jose.importJWK(publicJwk, alg)) as CryptoKey;
    verifying.set(jwk.kid, { alg, key: publicKey });
    signing ??= { kid: jwk.kid, alg, key: privateKey };
  }
  return { signing: signing as KeyRing['signing'], verifying };
}

function keyRing(): Promise<KeyRing> {
  ringPromise ??= loadKeyRing();
  return ringPromise;
}

export async function issueAccessToken(
  principal: Principal,
): Promise<{ token: string; expiresIn: number }> {
  const jose = await loadJose();
  const cfg = config();
  const { signing } = await keyRing();
  const expiresIn =
    principal.kind === 'child' ? cfg.CHILD_TOKEN_TTL_SECONDS : cfg.ACCESS_TOKEN_TTL_SECONDS;
  const session = principal.sessionId ? { sid: principal.sessionId } : {};
  const claims =
    principal.kind === 'child'
      ? {
          kind: 'child',
          pid: principal.parentId,
          ...session,
          ...(principal.sessionVersion === undefined ? {} : { cv: principal.sessionVersion }),
        }
      : { kind: 'parent', ...session };
  const token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: ACCESS_TOKEN_TYP })
    .setSubject(principal.kind === 'child' ? principal.childId : principal.parentId)
    .setIssuer(cfg.JWT_ISSUER)
    .setAudience(cfg.JWT_AUDIENCE)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(`${expiresIn}s`)
    .sign(signing.key);
  return { token, expiresIn };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidClaim = (value: unknown, name: string): string => {
  // Claims reach SQL as uuid parameters: anything else would be a 500, not a 401.
  if (typeof value !== 'string' || !UUID.test(value)) throw new Error(`${name} is not a UUID`);
  return value.toLowerCase();
};
const optionalUuidClaim = (value: unknown, name: string): string | undefined =>
  value === undefined ? undefined : uuidClaim(value, name);

/** Clock skew tolerated between instances for `iat` and `nbf`. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * Tokens this process has verified, until they expire. An app sends the same access token
 * with every call for its lifetime (15 min for a parent), and an ECDSA verification is a
 * sizeable share of a short request's CPU. The key is the token's exact text, so a hit is
 * the same signed bytes under the same keys; expiry is checked on every hit; whether the
 * sign-in is still live is not a property of the token and is checked in SQL per request
 * (shared/auth/session.ts), cached or not. Bounded: the oldest entry goes first.
 */
const verified = new Map<string, { principal: Principal; exp: number }>();
const MAX_VERIFIED = 10_000;

/**
 * Verifies signature (only our algorithms and keys), issuer, audience, typ and expiry; refuses
 * `iat`/`nbf` in the future beyond the skew, and claims that are not UUIDs.
 */
export async function verifyAccessToken(token: string): Promise<Principal> {
  const hit = verified.get(token);
  if (hit) {
    // jose refuses a token at `exp` (exp <= now): the same rule here.
    if (hit.exp > Math.floor(Date.now() / 1000)) return { ...hit.principal };
    verified.delete(token);
  }
  return verifySignedToken(token);
}

function remember(token: string, principal: Principal, exp: unknown): Principal {
  if (typeof exp !== 'number') return principal;
  if (verified.size >= MAX_VERIFIED) {
    const oldest = verified.keys().next();
    if (!oldest.done) verified.delete(oldest.value);
  }
  verified.set(token, { principal: Object.freeze({ ...principal }), exp });
  return principal;
}

async function verifySignedToken(token: string): Promise<Principal> {
  const jose = await loadJose();
  const cfg = config();
  const { verifying } = await keyRing();
  try {
    const { payload } = await jose.jwtVerify(
      token,
      async (header) => {
        const entry = header.kid ? verifying.get(header.kid) : undefined;
        if (!entry || entry.alg !== header.alg) throw new Error('unknown key');
        return entry.key;
      },
      {
        issuer: cfg.JWT_ISSUER,
        audience: cfg.JWT_AUDIENCE,
        algorithms: ['ES256', 'EdDSA'],
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ['sub', 'exp', 'iat'],
      },
    );
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number' || payload.iat > now + CLOCK_SKEW_SECONDS)
      throw new Error('iat is in the future');
    // jose refuses an nbf in the future without tolerance; an `nbf` we did not set is refused
    // the same way below if it is not even a number.
    if (payload.nbf !== undefined && !(typeof payload.nbf === 'number' && payload.nbf <= now))
      throw new Error('nbf is in the future');
    const sub = uuidClaim(payload.sub, 'sub');
    const sessionId = optionalUuidClaim(payload.sid, 'sid');
    const session = sessionId ? { sessionId } : {};
    if (payload.kind === 'parent')
      return remember(token, { kind: 'parent', parentId: sub, ...session }, payload.exp);
    if (payload.kind === 'child') {
      const cv = payload.cv;
      if (cv !== undefined && !(Number.isSafeInteger(cv) && (cv as number) >= 0))
        throw new Error('cv is not a version');
      const child: Principal = {
        kind: 'child',
        childId: sub,
        parentId: uuidClaim(payload.pid, 'pid'),
        ...session,
        ...(cv === undefined ? {} : { sessionVersion: cv as number }),
      };
      return remember(token, child, payload.exp);
    }
    throw new Error('unknown token kind');
  } catch (err) {
    throw new AppError('invalid_token', INVALID_ACCESS_TOKEN_DETAIL, { cause: err });
  }
}

export function resetKeyRingForTests(): void {
  ringPromise = undefined;
  verified.clear();
}
