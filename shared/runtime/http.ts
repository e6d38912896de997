// The one way to define an HTTP function: routes declare method, path, who may call and zod
// schemas for input; the handler calls a domain service and returns data. Everything about
// HTTP (parsing, auth, CORS, problem+json errors, logging) happens here, once.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from '@google-cloud/functions-framework';
import * as ff from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { verifyAccessToken } from '../auth/access-token.ts';
import type { AuthMode, Principal } from '../auth/principal.ts';
import { ensureSessionChecked, runWithPrincipal, sessionEndedError } from '../auth/session.ts';
import { config, loadConfigAtStart } from '../config.ts';
import { getDb } from '../db/client.ts';
import { isUnavailable, reportUnavailable, unavailableError } from '../db/resilience.ts';
import { AppError, type FieldError, isAppError, titleFor } from '../errors.ts';
import type { Learner } from '../learning/learner.ts';
import { errorFields, type Logger, logger } from '../log.ts';
import { installMalformedBodyHandler, MAX_BODY_BYTES } from './body-errors.ts';
import { useHttpRequestScopes } from './request-scope.ts';

export { MAX_BODY_BYTES };

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type AnySchema = z.ZodType;

export interface RouteContext<
  B,
  Q,
  P,
  A extends AuthMode,
  L extends string | undefined = undefined,
> {
  body: B;
  query: Q;
  params: P;
  principal: A extends 'public' ? Principal | null : Principal;
  /** The child the route acts on, resolved once by the runtime (routes declaring `learner`). */
  learner: L extends string ? Learner : undefined;
  /** The request's clock reading: every rule of one request sees the same instant. */
  now: Date;
  requestId: string;
  log: Logger;
  ip: string | undefined;
  userAgent: string | undefined;
  headers: IncomingHttpHeaders;
}

declare const fullResponse: unique symbol;

/** A handler's full response (status, headers, body), made by `respond()`. */
export interface RouteResult<B = unknown> {
  status?: number;
  body?: B;
  headers?: Record<string, string>;
  /** Type-level only: tells a full response from a body that has a `status` field. */
  readonly [fullResponse]: true;
}

export interface RouteDefinition<
  BS extends AnySchema | undefined,
  QS extends AnySchema | undefined,
  PS extends AnySchema | undefined,
  A extends AuthMode,
  L extends string | undefined = undefined,
  M extends Method = Method,
  P extends string = string,
  R = unknown,
> {
  method: M;
  /** Path relative to the function, e.g. `/children/:childId/session`. */
  path: P;
  auth: A;
  /**
   * The path parameter naming the child this route acts on. The runtime canonicalises it,
   * checks that the caller may act for that child (ownership, consents, a child session's
   * limits) and hands the handler `learner`; services take that, never a bare id.
   */
  learner?: L;
  body?: BS;
  query?: QS;
  params?: PS;
  handler: (
    ctx: RouteContext<
      BS extends AnySchema ? z.output<BS> : undefined,
      QS extends AnySchema ? z.output<QS> : Record<string, never>,
      PS extends AnySchema ? z.output<PS> : Record<string, string>,
      A,
      L
    >,
  ) => Promise<R>;
}

export interface Route {
  method: Method;
  path: string;
  auth: AuthMode;
  learner?: string;
  pattern: RegExp;
  paramNames: string[];
  body?: AnySchema;
  query?: AnySchema;
  params?: AnySchema;
  // biome-ignore lint/suspicious/noExplicitAny: erased at the registry boundary; typed in route()
  handler: (ctx: any) => Promise<unknown>;
}

/**
 * A route that keeps, for the compiler only, its method, path and what its handler resolves
 * to: test/contract/handler-types.ts checks that against the route's response schemas
 * (shared/contract/operations.ts), so a handler that drifts from its contract does not build.
 */
export interface TypedRoute<M extends Method = Method, P extends string = string, R = unknown>
  extends Route {
  method: M;
  path: P;
  /** Never set: carries the handler's result type. */
  readonly resultType?: R;
}

export function route<
  A extends AuthMode,
  BS extends AnySchema | undefined = undefined,
  QS extends AnySchema | undefined = undefined,
  PS extends AnySchema | undefined = undefined,
  L extends string | undefined = undefined,
  const M extends Method = Method,
  const P extends string = string,
  R = unknown,
>(def: RouteDefinition<BS, QS, PS, A, L, M, P, R>): TypedRoute<M, P, R> {
  if (def.learner !== undefined && !def.path.includes(`:${def.learner}`)) {
    throw new Error(`Route ${def.method} ${def.path}: learner names no path parameter`);
  }
  if (def.learner !== undefined && def.auth === 'public') {
    throw new Error(`Route ${def.method} ${def.path}: a learner route needs a caller`);
  }
  const paramNames: string[] = [];
  const source = def.path
    .replace(/\/+$/, '')
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        paramNames.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return {
    method: def.method,
    path: def.path,
    auth: def.auth,
    ...(def.learner !== undefined ? { learner: def.learner } : {}),
    pattern: new RegExp(`^${source}/?$`),
    paramNames,
    ...(def.body ? { body: def.body } : {}),
    ...(def.query ? { query: def.query } : {}),
    ...(def.params ? { params: def.params } : {}),
    handler: def.handler as Route['handler'],
  };
}

/** Marks a handler's result as a full response (status, headers) rather than a JSON body. */
export function respond<B = undefined>(
  status: number,
  body?: B,
  headers?: Record<string, string>,
): RouteResult<B> {
  return Object.assign(Object.create(responseMarker), { status, body, headers }) as RouteResult<B>;
}
const responseMarker = {};
const isRouteResult = (v: unknown): v is RouteResult =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === responseMarker;

function requestIdFrom(req: Request): string {
  const given = req.header('x-request-id');
  if (given && /^[A-Za-z0-9._-]{8,128}$/.test(given)) return given;
  const trace = req.header('x-cloud-trace-context')?.split('/')[0];
  if (trace && /^[a-f0-9]{32}$/.test(trace)) return trace;
  return randomUUID();
}

function fieldErrorsFrom(error: z.ZodError, location: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [location, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

// A surrogate without its pair (JSON allows it as an escape; JSONB refuses it).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unstorable = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text);

/**
 * Paths of strings (values or keys) PostgreSQL cannot store in text or JSONB (NUL, unpaired
 * surrogates): refused here rather than failing at the database. Iterative: no stack to overflow.
 */
function unstorablePaths(value: unknown, location: string): string[] {
  const found: string[] = [];
  const pending: [unknown, string][] = [[value, location]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, path] = next;
    if (typeof current === 'string') {
      if (unstorable(current)) found.push(path);
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, child] of Object.entries(current)) {
        if (unstorable(key)) found.push(path);
        else pending.push([child, `${path}.${key}`]);
      }
    }
  }
  return found;
}

/** Validates every input location and reports all field errors together. */
function parseInputs(
  route: Route,
  raw: { params: unknown; query: unknown; body: unknown },
): { params: unknown; query: unknown; body: unknown } {
  const fieldErrors: FieldError[] = [];
  const parsed = { ...raw };
  for (const location of ['params', 'query', 'body'] as const) {
    const schema = route[location];
    if (!schema) continue;
    const badText = unstorablePaths(raw[location], location);
    if (badText.length > 0) {
      fieldErrors.push(
        ...badText.map((path) => ({
          path,
          message: 'Must not contain NUL characters or unpaired surrogates',
        })),
      );
      continue;
    }
    const result = schema.safeParse(raw[location]);
    if (result.success) parsed[location] = result.data;
    else fieldErrors.push(...fieldErrorsFrom(result.error, location));
  }
  if (fieldErrors.length > 0) {
    throw new AppError('validation_failed', 'The request has invalid fields', { fieldErrors });
  }
  return parsed;
}

export function sendProblem(
  res: Response,
  err: AppError,
  requestId: string,
  instance?: string,
): void {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (err.status === 401) {
    headers['www-authenticate'] =
      err.code === 'invalid_token'
        ? 'Bearer realm="brainspark", error="invalid_token"'
        : 'Bearer realm="brainspark"';
  }
  const retryAfter = err.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(Math.ceil(retryAfter));
  res.status(err.status).set(headers);
  res.send(
    JSON.stringify({
      type: `https://brainspark.app/problems/${err.code.replaceAll('_', '-')}`,
      title: titleFor(err.code),
      status: err.status,
      detail: err.message,
      code: err.code,
      requestId,
      ...(instance ? { instance } : {}),
      ...(err.fieldErrors ? { errors: err.fieldErrors } : {}),
      ...(err.details ?? {}),
    }),
  );
}

function applyCors(req: Request, res: Response): boolean {
  const origin = req.header('origin');
  if (!origin || !config().CORS_ORIGINS.includes(origin)) return false;
  res.set({
    'access-control-allow-origin': origin,
    vary: 'Origin',
    'access-control-allow-credentials': 'false',
    'access-control-expose-headers': 'x-request-id, retry-after',
  });
  return true;
}

async function authenticate(req: Request, mode: AuthMode): Promise<Principal | null> {
  // Public routes never look at the header: an app that attaches its (possibly expired)
  // access token to every call must still be able to refresh it or sign in again.
  if (mode === 'public') return null;
  const header = req.header('authorization');
  if (!header) {
    throw new AppError('unauthenticated', 'Sign in to use this route');
  }
  // The scheme is case-insensitive (RFC 9110 section 11.1).
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (!match?.[1])
    throw new AppError('invalid_token', 'The Authorization header must be a Bearer token');
  const principal = await verifyAccessToken(match[1]);
  if (mode === 'parent' && principal.kind !== 'parent') {
    throw new AppError('forbidden', 'This route is for parents');
  }
  if (mode === 'child' && principal.kind !== 'child') {
    throw new AppError('forbidden', 'This route is for a child session');
  }
  return principal;
}

/**
 * The caller's address for per-IP limits. The framework trusts X-Forwarded-For, whose first
 * entry the client writes itself; Google's front end appends the address it actually saw, so
 * the last entry is the one a client cannot choose.
 */
function clientIp(req: Request): string | undefined {
  const forwarded = req.header('x-forwarded-for');
  const last = forwarded?.split(',').at(-1)?.trim();
  return last || req.socket.remoteAddress || undefined;
}

/**
 * Resolves a learner route's child. Loaded on first use: functions without learner routes
 * (auth, parents) never import the learning services.
 */
let accessModule: Promise<typeof import('../learning/access.ts')> | undefined;

async function resolveLearnerFor(principal: Principal, childId: unknown, now: Date) {
  // The params schema canonicalised it (idSchema); anything else is a route-table bug.
  if (typeof childId !== 'string') throw new Error('learner parameter missing after validation');
  accessModule ??= import('../learning/access.ts');
  const { resolveLearner } = await accessModule;
  return resolveLearner(principal, childId, now);
}

export type HttpHandler = (req: Request, res: Response) => Promise<void>;

export function createHttpHandler(name: string, routes: readonly Route[]): HttpHandler {
  return async (req, res) => {
    const started = performance.now();
    const requestId = requestIdFrom(req);
    const log = logger.child({ function: name, requestId });
    res.set('x-request-id', requestId);
    // Responses carry tokens and personal data: no cache may keep them (RFC 6749 5.1 for the
    // token responses). A handler can still allow caching through its own headers.
    res.set('cache-control', 'no-store');
    const path = req.path || '/';
    let routePath: string | undefined;
    const observer = responseObserver;
    let sent: unknown;
    if (observer) {
      const send = res.send.bind(res);
      res.send = (payload?: unknown) => {
        sent = payload;
        return send(payload);
      };
    }
    try {
      const corsAllowed = applyCors(req, res);
      if (req.method === 'OPTIONS') {
        if (corsAllowed) {
          res.set({
            'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
            'access-control-allow-headers':
              'authorization, content-type, idempotency-key, x-request-id',
            'access-control-max-age': '600',
          });
        }
        res.status(204).end();
        return;
      }
      const candidates = routes.filter((r) => r.pattern.test(path));
      if (candidates.length === 0) throw new AppError('not_found', 'No such route');
      const matched = candidates.find((r) => r.method === req.method);
      if (!matched) {
        res.set('allow', candidates.map((r) => r.method).join(', '));
        throw new AppError(
          'method_not_allowed',
          `Use ${candidates.map((r) => r.method).join(' or ')}`,
        );
      }
      routePath = matched.path;
      const size = req.rawBody?.length ?? Number(req.header('content-length') ?? 0);
      if (size > MAX_BODY_BYTES)
        throw new AppError('payload_too_large', 'The body may be at most 100 KB');

      const principal = await authenticate(req, matched.auth);
      const values = matched.pattern.exec(path)?.slice(1) ?? [];
      const rawParams = Object.fromEntries(
        matched.paramNames.map((n, i) => [n, decodeURIComponent(values[i] ?? '')]),
      );
      const isJson = Boolean(req.is('application/json'));
      if (matched.body && size > 0 && !isJson) {
        throw new AppError('unsupported_media_type', 'Send the body as application/json');
      }
      const inputs = parseInputs(matched, {
        params: rawParams,
        query: matched.query ? req.query : {},
        body: matched.body && isJson ? req.body : undefined,
      });
      const now = new Date();
      const result = await runWithPrincipal(principal, async () => {
        const learner =
          matched.learner !== undefined && principal
            ? await resolveLearnerFor(
                principal,
                (inputs.params as Record<string, unknown>)[matched.learner],
                now,
              )
            : undefined;
        const value = await matched.handler({
          ...inputs,
          principal,
          learner,
          now,
          requestId,
          log,
          ip: clientIp(req),
          userAgent: req.header('user-agent'),
          headers: req.headers,
        });
        // A route whose statements did not carry the session check runs it now, before
        // anything leaves (such routes only read: every write runs in a checked transaction).
        if (principal) await ensureSessionChecked(await getDb());
        return value;
      });
      const response: Omit<RouteResult, typeof fullResponse> = isRouteResult(result)
        ? result
        : { status: 200, body: result };
      if (response.headers) res.set(response.headers);
      if (response.body === undefined) res.status(response.status ?? 204).end();
      // A page (e.g. the unsubscribe confirmation) is sent as is, with the handler's type.
      else if (typeof response.body === 'string' && response.headers?.['content-type'])
        res.status(response.status ?? 200).send(response.body);
      else res.status(response.status ?? 200).json(response.body);
    } catch (err) {
      const ended = sessionEndedError(err);
      if (ended) {
        sendProblem(res, ended, requestId);
      } else if (isAppError(err)) {
        sendProblem(res, err, requestId);
        if (err.code === 'unavailable') reportUnavailable('dependency', err.cause ?? err);
        else if (err.status >= 500 && isUnavailable(err.cause)) reportUnavailable('database', err);
        else if (err.status >= 500) log.error('request failed', errorFields(err));
      } else if (isUnavailable(err)) {
        // The database or Redis is down, full, stalled or restarting: the client may retry
        // (writes keep their Idempotency-Key, so a retry is safe); one log line per burst.
        sendProblem(res, unavailableError(err), requestId);
        reportUnavailable('database', err);
      } else {
        log.error('unhandled error', errorFields(err));
        sendProblem(res, new AppError('internal', 'Something went wrong on our side'), requestId);
      }
    } finally {
      observer?.({
        functionName: name,
        method: req.method,
        routePath,
        status: res.statusCode,
        headers: res.getHeaders(),
        body: sent,
      });
      log.info('request', {
        method: req.method,
        route: routePath,
        status: res.statusCode,
        latencyMs: Math.round(performance.now() - started),
      });
    }
  };
}

/**
 * Tests only: called with every response a handler sends (the contract suite validates them
 * against docs/openapi.json). Undefined in production: one property read per request.
 */
export type ResponseObserver = (event: {
  functionName: string;
  method: string;
  /** The matched route's path (`/children/:childId`), or undefined when no route matched. */
  routePath: string | undefined;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: unknown;
}) => void;
let responseObserver: ResponseObserver | undefined;
export function observeResponses(observer: ResponseObserver | undefined): void {
  responseObserver = observer;
}

/** Builds the handler and registers it with the Functions Framework under `name`. */
export function defineHttpFunction(name: string, routes: readonly Route[]): HttpHandler {
  // At module load, i.e. the cold start: a bad configuration stops the instance here.
  loadConfigAtStart('http');
  installMalformedBodyHandler();
  const handler = createHttpHandler(name, routes);
  routeTables.set(name, routes);
  // No per-request Domain (and so no process-wide domain hook) in an HTTP-only process:
  // see request-scope.ts for why and what a job's process keeps.
  useHttpRequestScopes();
  ff.http(name, (req, res) => {
    // Where a job shares the process (npm start, tests) the framework's request runs in a real
    // domain; left entered, it would be attached to every promise the request creates.
    (process as { domain?: { exit(): void } | null }).domain?.exit();
    return handler(req, res);
  });
  return handler;
}

/**
 * Every HTTP function's routes by function name, as registered in this process: the route
 * table the security suite and the API document read, so no route can skip them.
 */
export const routeTables = new Map<string, readonly Route[]>();
