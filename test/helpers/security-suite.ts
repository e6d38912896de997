// The ONE table-driven security suite. Every function lists its routes here, so a new route
// cannot skip these checks. Usage, inside a test file that set up a database (top-level
// `await setupAccountsTest()` or your own createTestDatabase + useDatabasePool + a call to
// `configureTestEnvironment()` BEFORE any token is issued) and imported the function module:
//
//   describeSecurity('children', [
//     { name: 'GET /:id', method: 'GET', auth: 'parentOrChild', path: (f) => `/${f.familyA.childX.id}` },
//     { name: 'PATCH /:id', method: 'PATCH', auth: 'parent', path: (f) => `/${f.familyA.childX.id}`, body: { name: 'Zed' } },
//     { name: 'GET /', method: 'GET', auth: 'parent', path: () => '/', ownsResource: false },
//   ]);
//
// `path` builds the URL of a resource owned by family A (child X for child-scoped routes);
// `prepare(f)` may create extra resources once (e.g. a conversation of child X) and its
// result is passed to `path`/`body` as the second argument. For every route it asserts:
// missing token 401 + WWW-Authenticate; expired, wrong-audience, wrong-issuer, alg none,
// HS256 signed with the public key, foreign-key and wrong-typ tokens 401; another family's parent 404
// (id routes); a child token on a parent-only route 403; a child token for child Y (or of
// another family) cannot act for child X (403/404).
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { type CryptoKey, generateKeyPair, importJWK, type JWTPayload, SignJWT } from 'jose';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChildView } from '../../shared/accounts/children.ts';
import { INVALID_ACCESS_TOKEN_DETAIL } from '../../shared/auth/access-token.ts';
import { config } from '../../shared/config.ts';
import {
  childToken,
  configureTestEnvironment,
  createChild,
  createParent,
  grantRequiredConsents,
  type TestParent,
} from './factories.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SecurityFixture {
  familyA: {
    parent: TestParent;
    childX: ChildView;
    childY: ChildView;
    childXToken: string;
    childYToken: string;
  };
  familyB: { parent: TestParent; child: ChildView; childToken: string };
}

export interface SecurityRoute<E = unknown> {
  method: HttpMethod;
  /** Shown in the test names, e.g. 'PATCH /:childId'. */
  name: string;
  /** Who the route admits (as declared in its route()). */
  auth: 'public' | 'parent' | 'child' | 'parentOrChild';
  path: (f: SecurityFixture, extra: E) => string;
  /** A valid body, so that only authentication and ownership can fail. */
  body?: unknown | ((f: SecurityFixture, extra: E) => unknown);
  /** The path names a resource of family A (default true unless auth is public). */
  ownsResource?: boolean;
  /** The resource belongs to child X, so child Y's session must be refused (default: ownsResource). */
  childScoped?: boolean;
}

export interface SecurityOptions<E> {
  prepare?: (f: SecurityFixture) => Promise<E>;
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface HostileTokens {
  expired: string;
  wrongAudience: string;
  wrongIssuer: string;
  algNone: string;
  hs256WithPublicKey: string;
  foreignKey: string;
  /** Signed with our key but not typed as an access token (e.g. some other JWT we sign). */
  wrongTyp: string;
}

async function hostileTokens(parentId: string): Promise<HostileTokens> {
  const { privateJwk, kid } = await configureTestEnvironment();
  const cfg = config();
  const ourKey = (await importJWK(privateJwk, 'ES256')) as CryptoKey;
  const foreign = await generateKeyPair('ES256');
  const claims: JWTPayload = { kind: 'parent' };
  const sign = (
    key: CryptoKey | Uint8Array,
    alg: string,
    over: { iss?: string; aud?: string; exp?: number; typ?: string } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: over.typ ?? 'at+jwt' })
      .setSubject(parentId)
      .setIssuer(over.iss ?? cfg.JWT_ISSUER)
      .setAudience(over.aud ?? cfg.JWT_AUDIENCE)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setJti(crypto.randomUUID())
      .setExpirationTime(over.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(key);
  const { d: _d, ...publicJwk } = privateJwk;
  const now = Math.floor(Date.now() / 1000);
  return {
    expired: await sign(ourKey, 'ES256', { exp: now - 60 }),
    wrongAudience: await sign(ourKey, 'ES256', { aud: 'someone-else' }),
    wrongIssuer: await sign(ourKey, 'ES256', { iss: 'https://evil.example' }),
    algNone: `${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${b64({
      kind: 'parent',
      sub: parentId,
      iss: cfg.JWT_ISSUER,
      aud: cfg.JWT_AUDIENCE,
      iat: now,
      exp: now + 600,
    })}.`,
    // The classic key-confusion attack: the public key used as an HMAC secret.
    hs256WithPublicKey: await sign(new TextEncoder().encode(JSON.stringify(publicJwk)), 'HS256'),
    foreignKey: await sign(foreign.privateKey, 'ES256'),
    wrongTyp: await sign(ourKey, 'ES256', { typ: 'JWT' }),
  };
}

async function buildFixture(): Promise<SecurityFixture> {
  const parentA = await createParent();
  await grantRequiredConsents(parentA);
  const childX = await createChild(parentA, { name: 'Xena' });
  const childY = await createChild(parentA, { name: 'Yuri' });
  const parentB = await createParent();
  await grantRequiredConsents(parentB);
  const childB = await createChild(parentB, { name: 'Bea' });
  return {
    familyA: {
      parent: parentA,
      childX,
      childY,
      childXToken: await childToken(parentA, childX),
      childYToken: await childToken(parentA, childY),
    },
    familyB: { parent: parentB, child: childB, childToken: await childToken(parentB, childB) },
  };
}

export function describeSecurity<E = undefined>(
  functionName: string,
  routes: readonly SecurityRoute<E>[],
  options: SecurityOptions<E> = {},
): void {
  describe(`security suite: ${functionName}`, () => {
    let f: SecurityFixture;
    let extra: E;
    let hostile: HostileTokens;

    beforeAll(async () => {
      f = await buildFixture();
      extra = (options.prepare ? await options.prepare(f) : undefined) as E;
      hostile = await hostileTokens(f.familyA.parent.id);
    });

    const send = (r: SecurityRoute<E>, token: string | undefined) => {
      const path = r.path(f, extra);
      const agent = request(getTestServer(functionName));
      const method = r.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      let req = agent[method](path);
      if (token) req = req.set('authorization', `Bearer ${token}`);
      const body =
        typeof r.body === 'function'
          ? (r.body as (f: SecurityFixture, e: E) => unknown)(f, extra)
          : r.body;
      return body === undefined ? req : req.send(body as object);
    };

    for (const r of routes) {
      const ownsResource = r.ownsResource ?? r.auth !== 'public';
      const childScoped = r.childScoped ?? ownsResource;

      describe(r.name, () => {
        if (r.auth !== 'public') {
          it('refuses a request without a token: 401 with WWW-Authenticate', async () => {
            const res = await send(r, undefined);
            expect(res.status).toBe(401);
            expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
            expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
          });
        }

        for (const kind of [
          'expired',
          'wrongAudience',
          'wrongIssuer',
          'algNone',
          'hs256WithPublicKey',
          'foreignKey',
          'wrongTyp',
        ] as const) {
          if (r.auth === 'public') {
            it(`ignores a token that is ${kind} on a public route`, async () => {
              const res = await send(r, hostile[kind]);
              // The route may refuse its own input (a bad refresh token is also invalid_token),
              // but never because of the Authorization header.
              expect(res.body.detail).not.toBe(INVALID_ACCESS_TOKEN_DETAIL);
              expect(res.status).not.toBe(500);
            });
            continue;
          }
          it(`refuses a token that is ${kind}: 401`, async () => {
            const res = await send(r, hostile[kind]);
            expect(res.status).toBe(401);
            expect(res.body.code).toBe('invalid_token');
            expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
          });
        }

        if (ownsResource && r.auth !== 'child') {
          it("gives another family's parent 404", async () => {
            const res = await send(r, f.familyB.parent.accessToken);
            expect(res.status).toBe(404);
            expect(res.body.code).toBe('not_found');
            // Proves the route exists: a 404 from the router would not test ownership at all.
            expect(res.body.detail).not.toBe('No such route');
          });
        }

        if (r.auth === 'parent') {
          it('refuses a child token on a parent-only route: 403', async () => {
            const res = await send(r, f.familyA.childXToken);
            expect(res.status).toBe(403);
            expect(res.body.code).toBe('forbidden');
          });
        }

        if (childScoped && (r.auth === 'child' || r.auth === 'parentOrChild')) {
          it("refuses child Y's session acting for child X", async () => {
            const res = await send(r, f.familyA.childYToken);
            expect([403, 404]).toContain(res.status);
          });
          it("refuses another family's child session acting for child X", async () => {
            const res = await send(r, f.familyB.childToken);
            expect([403, 404]).toContain(res.status);
          });
        }
      });
    }
  });
}
