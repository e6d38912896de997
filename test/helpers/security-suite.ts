// The ONE table-driven security suite, over the route tables the functions export, so a new
// route cannot skip these checks. Usage, inside a test file that set up a database (top-level
// `await setupAccountsTest()` or your own createTestDatabase + useDatabasePool + a call to
// `configureTestEnvironment()` BEFORE any token is issued):
//
//   import '../../functions/children/index.ts';
//   describeRouteTable('children', routesOf('children'), {
//     params: (f) => ({ childId: f.familyA.childX.id }),
//     bodies: { 'PATCH /:childId': { name: 'Zed' }, 'POST /': { name: 'Ann', birthDate: '2017-03-04' } },
//   });
//
// Every route of the table is tested. `params` gives a value for every path param, naming a
// resource of family A (child X for child-scoped routes); `prepare(f)` may create extra
// resources once (e.g. a conversation of child X) and its result is passed to `params`/bodies
// as the second argument. A route with a body needs a valid one in `bodies` (keyed
// 'METHOD /path'), a path param without a value fails, so the suite cannot silently skip.
// For every route it asserts: missing token 401 + WWW-Authenticate; expired, wrong-audience,
// wrong-issuer, alg none, HS256 signed with the public key, foreign-key and wrong-typ tokens
// 401; another family's parent 404 (routes naming a resource); a child token on a parent-only
// route 403; a child token for child Y (or of another family) cannot act for child X
// (403/404); and bad input is a 400 before anything is read: each path param replaced by a
// non-id, a body with an unknown field (bodies are strict), a body that is not an object.
// `describeSecurity` takes a hand-written list instead (kept for suites not yet moved).
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { type CryptoKey, generateKeyPair, importJWK, type JWTPayload, SignJWT } from 'jose';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChildView } from '../../shared/accounts/children.ts';
import { INVALID_ACCESS_TOKEN_DETAIL } from '../../shared/auth/access-token.ts';
import { config } from '../../shared/config.ts';
import { type Route, routeTables } from '../../shared/runtime/http.ts';
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

export interface RouteTableOptions<E> extends SecurityOptions<E> {
  /** A value for every path param of the table, naming family A's resources. */
  params?: (f: SecurityFixture, extra: E) => Record<string, string>;
  /** A query string (without '?') per route key ('METHOD /path'), for routes that need one. */
  queries?: Record<string, string>;
  /** A valid body per route key, for every route that declares a body. */
  bodies?: Record<string, unknown | ((f: SecurityFixture, extra: E) => unknown)>;
  /** Per route key: whether the path names family A's resource / child X's (defaults from the route). */
  overrides?: Record<string, Partial<Pick<SecurityRoute, 'ownsResource' | 'childScoped'>>>;
}

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;

function fillPath(
  r: Route,
  values: Record<string, string>,
  query: string | undefined,
  replace?: { name: string; value: string },
): string {
  const path = r.path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const value = replace?.name === name ? replace.value : values[name];
    if (value === undefined) throw new Error(`security suite: no value for path param :${name}`);
    return encodeURIComponent(value);
  });
  return query ? `${path}?${query}` : path;
}

/** The security suite over a function's real route table (see the top of this file). */
export function describeRouteTable<E = undefined>(
  functionName: string,
  routes: readonly Route[],
  options: RouteTableOptions<E> = {},
): void {
  const values = (f: SecurityFixture, e: E): Record<string, string> => ({
    childId: f.familyA.childX.id,
    ...(options.params ? options.params(f, e) : {}),
  });
  const table: SecurityRoute<E>[] = routes.map((r) => {
    const key = routeKey(r);
    const override = options.overrides?.[key] ?? {};
    const ownsResource = r.auth !== 'public' && (override.ownsResource ?? r.paramNames.length > 0);
    return {
      method: r.method,
      name: key,
      auth: r.auth,
      path: (f, e) => fillPath(r, values(f, e), options.queries?.[key]),
      ...(r.body ? { body: options.bodies?.[key] } : {}),
      ownsResource,
      childScoped:
        override.childScoped ??
        (ownsResource && (r.learner !== undefined || r.paramNames.includes('childId'))),
    };
  });
  describeSecurity(functionName, table, options);

  describe(`bad input: ${functionName}`, () => {
    let f: SecurityFixture;
    let extra: E;
    beforeAll(async () => {
      f = await buildFixture();
      extra = (options.prepare ? await options.prepare(f) : undefined) as E;
    });
    // A token the route admits, of family A.
    const tokenFor = (r: Route) =>
      r.auth === 'public'
        ? undefined
        : r.auth === 'child'
          ? f.familyA.childXToken
          : f.familyA.parent.accessToken;
    const send = (r: Route, path: string, body: unknown) => {
      const method = r.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      let req = request(getTestServer(functionName))[method](path);
      const token = tokenFor(r);
      if (token) req = req.set('authorization', `Bearer ${token}`);
      return body === undefined ? req : req.send(body as object);
    };
    const validBody = (r: Route) => {
      const given = options.bodies?.[routeKey(r)];
      return typeof given === 'function'
        ? (given as (f: SecurityFixture, e: E) => unknown)(f, extra)
        : given;
    };

    for (const r of routes) {
      const key = routeKey(r);
      describe(key, () => {
        it('is fully described to the suite (a value for each path param, a valid body)', () => {
          const known = values(f, extra);
          expect(r.paramNames.filter((n) => known[n] === undefined)).toEqual([]);
          if (r.body) expect(options.bodies?.[key], `a valid body for ${key}`).toBeDefined();
        });
        for (const name of r.paramNames) {
          it(`refuses a :${name} that is not an id: 400 before any lookup`, async () => {
            const path = fillPath(r, values(f, extra), options.queries?.[key], {
              name,
              value: 'not-an-id',
            });
            const res = await send(r, path, r.body ? validBody(r) : undefined);
            expect(res.status, JSON.stringify(res.body)).toBe(400);
            expect(res.body.code).toBe('validation_failed');
          });
        }
        if (r.body) {
          const path = () => fillPath(r, values(f, extra), options.queries?.[key]);
          it('refuses a body with an unknown field: 400 (bodies are strict)', async () => {
            const body = validBody(r);
            const res = await send(r, path(), {
              ...(typeof body === 'object' && body !== null ? body : {}),
              unexpectedField: true,
            });
            expect(res.status, JSON.stringify(res.body)).toBe(400);
            expect(res.body.code).toBe('validation_failed');
          });
          it('refuses a body that is not an object: 400', async () => {
            const res = await send(r, path(), [1, 2]);
            expect(res.status, JSON.stringify(res.body)).toBe(400);
          });
        }
      });
    }
  });
}

/** A function's route table as its module registered it (import the module first). */
export function routesOf(functionName: string): readonly Route[] {
  const routes = routeTables.get(functionName);
  if (!routes) throw new Error(`security suite: no route table for ${functionName} (import it)`);
  return routes;
}
