// Builds the OpenAPI 3.1 document of every HTTP function from the route tables the functions
// serve (shared/runtime/http.ts) and the response contracts (./operations.ts). Inputs come from
// the routes' own zod schemas, responses from ./schemas.ts, both through zod 4's JSON Schema
// output (draft 2020-12, OpenAPI 3.1's dialect). `npm run openapi` writes docs/openapi.json.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type ErrorCode, statusByCode } from '../errors.ts';
import { httpFunctions } from '../registry.ts';
import { type Route, routeTables } from '../runtime/http.ts';
import { contractOf, type OperationContract, type OperationKey, operations } from './operations.ts';
import * as schemas from './schemas.ts';
import { API_VERSION } from './version.ts';

type Json = Record<string, unknown>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Imports every HTTP function of the registry (registering its routes) and returns the tables. */
export async function loadRouteTables(): Promise<ReadonlyMap<string, readonly Route[]>> {
  for (const fn of httpFunctions) await import(path.resolve(root, fn.source));
  return routeTables;
}

/** `/children/:childId` -> `/children/{childId}` (the function-relative path of a route). */
export const openApiPath = (routePath: string): string =>
  routePath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** The document's path of a route: the function's base path plus the route's. */
export function documentPath(functionName: string, routePath: string): string {
  const relative = openApiPath(routePath).replace(/\/+$/, '');
  return `/${functionName}${relative}`;
}

export const operationKey = (functionName: string, route: Pick<Route, 'method' | 'path'>) =>
  `${functionName} ${route.method} ${openApiPath(route.path)}` as OperationKey;

function operationId(functionName: string, method: string, routePath: string): string {
  const words = [
    ...functionName.split('-'),
    method.toLowerCase(),
    ...openApiPath(routePath)
      .split('/')
      .filter(Boolean)
      .flatMap((s) => (s.startsWith('{') ? ['by', s.slice(1, -1)] : s.split('-'))),
  ];
  return words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

const jsonSchemaOptions = {
  target: 'draft-2020-12',
  unrepresentable: 'any',
} as const;

/** A route's input schema as JSON Schema (what a client sends, before transforms). */
function inputSchema(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, { ...jsonSchemaOptions, io: 'input' }) as Json;
  delete json.$schema;
  if (json.$defs) throw new Error('input schemas must not need $defs (inline them)');
  return json;
}

/** Codes a route can answer from its auth mode, its inputs and its contract. */
export function errorCodesOf(route: Route, contract: OperationContract): ErrorCode[] {
  const codes = new Set<ErrorCode>(['internal', 'unavailable']);
  if (route.params || route.query || route.body) codes.add('validation_failed');
  if (route.body) {
    for (const c of ['malformed_json', 'payload_too_large', 'unsupported_media_type'] as const)
      codes.add(c);
  }
  if (route.paramNames.length > 0) codes.add('not_found');
  if (route.auth !== 'public') {
    codes.add('unauthenticated');
    codes.add('invalid_token');
    codes.add('forbidden');
  }
  if (route.learner !== undefined || contract.learner) {
    for (const c of ['consent_required', 'bedtime', 'time_limit_reached', 'not_found'] as const)
      codes.add(c);
  }
  for (const c of contract.errors ?? []) codes.add(c);
  return [...codes].sort();
}

const retryAfterHeader = { $ref: '#/components/headers/Retry-After' };

function errorResponses(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = statusByCode[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Json = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
    if (status === 401)
      headers['WWW-Authenticate'] = { $ref: '#/components/headers/WWW-Authenticate' };
    if (status === 429) headers['Retry-After'] = retryAfterHeader;
    // The database or Redis being out says when to retry; a provider (Google's keys) does not.
    if (status === 503)
      headers['Retry-After'] = { ...headerComponents['Retry-After'], required: false };
    out[String(status)] = {
      description: `Problem: ${list.join(', ')}`,
      headers,
      content: {
        'application/problem+json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Problem' },
              {
                type: 'object',
                properties: { status: { const: status }, code: { enum: list } },
              },
            ],
          },
        },
      },
    };
  }
  return out;
}

const headerComponents: Record<string, Json> = {
  'X-Request-Id': {
    description:
      "The request's id (echoes a valid X-Request-Id); quote it when reporting a problem.",
    schema: { type: 'string' },
    required: true,
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
    required: true,
  },
  'WWW-Authenticate': {
    description: 'Bearer challenge (RFC 6750); `error="invalid_token"` for a bad or ended token.',
    schema: { type: 'string' },
    required: true,
  },
  'Idempotent-Replayed': {
    description: '`true` when this answer replays the one first given to the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
  'Content-Disposition': {
    description: 'Offers the export as a file download.',
    schema: { type: 'string' },
    required: true,
  },
};

const problemSchema: Json = {
  type: 'object',
  description:
    'RFC 9457 problem details. `code` is stable (shared/errors.ts); some problems add members, e.g. `retryAfterSeconds`, `opensAt`, `missingConsents`.',
  required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: Object.keys(statusByCode) },
    requestId: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      description: 'Field errors of a validation_failed problem.',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    retryAfterSeconds: { type: 'number' },
    opensAt: { type: 'string', format: 'date-time' },
  },
  additionalProperties: true,
};

/** The named response schemas plus one per operation body without a name of its own. */
function responseComponents(bodies: Array<{ schema: z.ZodType; fallbackId: string }>): {
  components: Record<string, Json>;
  refOf: (s: z.ZodType) => Json;
} {
  const registry = z.registry<{ id: string }>();
  const ids = new Map<z.ZodType, string>();
  for (const value of Object.values(schemas)) {
    const id = z.globalRegistry.get(value as z.ZodType)?.id;
    if (id && !ids.has(value as z.ZodType)) {
      ids.set(value as z.ZodType, id);
      registry.add(value as z.ZodType, { id });
    }
  }
  for (const { schema, fallbackId } of bodies) {
    if (ids.has(schema)) continue;
    ids.set(schema, fallbackId);
    registry.add(schema, { id: fallbackId });
  }
  const out = z.toJSONSchema(registry, {
    ...jsonSchemaOptions,
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  const components: Record<string, Json> = {};
  for (const id of [...Object.keys(out.schemas)].sort()) {
    const { $schema: _s, $id: _i, id: _id, ...rest } = out.schemas[id] as Json;
    components[id] = rest;
  }
  return {
    components,
    refOf: (s) => {
      const id = ids.get(s);
      if (!id) throw new Error('unregistered response schema');
      return { $ref: `#/components/schemas/${id}` };
    },
  };
}

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

const securityOf: Record<Route['auth'], Json[]> = {
  public: [],
  parent: [{ parentToken: [] }],
  child: [{ childToken: [] }],
  parentOrChild: [{ parentToken: [] }, { childToken: [] }],
};

export interface BuildResult {
  document: Json;
  /** Route keys without a contract, contract keys without a route (both must be empty). */
  missingContracts: string[];
  unusedContracts: string[];
}

export function buildDocument(tables: ReadonlyMap<string, readonly Route[]>): BuildResult {
  const missingContracts: string[] = [];
  const used = new Set<string>();
  const entries: Array<{ fn: string; route: Route; contract: OperationContract }> = [];
  for (const fn of httpFunctions) {
    for (const route of tables.get(fn.name) ?? []) {
      const key = operationKey(fn.name, route);
      const contract = contractOf(key);
      if (!contract) {
        missingContracts.push(key);
        continue;
      }
      used.add(key);
      entries.push({ fn: fn.name, route, contract });
    }
  }
  const unusedContracts = Object.keys(operations).filter((k) => !used.has(k));

  const bodies = entries.flatMap(({ fn, route, contract }) =>
    contract.responses.flatMap((r) =>
      r.body
        ? [
            {
              schema: r.body,
              fallbackId: `${pascal(operationId(fn, route.method, route.path))}${r.status}`,
            },
          ]
        : [],
    ),
  );
  const { components, refOf } = responseComponents(bodies);

  const paths: Record<string, Record<string, Json>> = {};
  for (const { fn, route, contract } of entries) {
    const docPath = documentPath(fn, route.path);
    const parameters: Json[] = [];
    const paramsJson = route.params ? inputSchema(route.params) : undefined;
    for (const name of route.paramNames) {
      const schema = (paramsJson?.properties as Record<string, Json> | undefined)?.[name] ?? {
        type: 'string',
      };
      parameters.push({ name, in: 'path', required: true, schema });
    }
    if (route.query) {
      const queryJson = inputSchema(route.query);
      const required = new Set((queryJson.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries(
        (queryJson.properties as Record<string, Json>) ?? {},
      )) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    for (const header of contract.requestHeaders ?? []) {
      parameters.push({
        name: header,
        in: 'header',
        required: false,
        description:
          'Makes a retry safe: the same key and body give the first answer again (Idempotent-Replayed: true); the same key with another body is 422.',
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
      });
    }
    const responses: Record<string, Json> = {};
    for (const r of contract.responses) {
      const headers: Json = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
      for (const h of r.headers ?? []) headers[h] = { $ref: `#/components/headers/${h}` };
      const contentType = r.contentType ?? 'application/json';
      responses[String(r.status)] = {
        description: r.description,
        headers,
        ...(r.body
          ? {
              content: {
                [contentType]: { schema: refOf(r.body) },
                ...Object.fromEntries(
                  (r.alsoAs ?? []).map((m) => [m, { schema: { type: 'string' } }]),
                ),
              },
            }
          : r.contentType
            ? { content: { [contentType]: { schema: { type: 'string' } } } }
            : {}),
      };
    }
    for (const [status, response] of Object.entries(
      errorResponses(errorCodesOf(route, contract)),
    )) {
      const given = responses[status];
      // A status with a body of its own too (health's 503 is JSON health or a problem).
      responses[status] = given
        ? {
            ...given,
            description: `${given.description}; or ${response.description}`,
            content: { ...(given.content as Json), ...(response.content as Json) },
          }
        : response;
    }

    const operation: Json = {
      operationId: operationId(fn, route.method, route.path),
      tags: [fn],
      summary: contract.summary,
      ...(contract.description ? { description: contract.description } : {}),
      security: securityOf[route.auth],
      ...(parameters.length > 0 ? { parameters } : {}),
    };
    if (route.body) {
      const optional = route.body.safeParse(undefined).success;
      operation.requestBody = {
        required: !optional,
        content: {
          'application/json': {
            schema: inputSchema(route.body),
            ...(contract.requestExample !== undefined ? { example: contract.requestExample } : {}),
          },
        },
      };
    }
    operation.responses = responses;
    paths[docPath] ??= {};
    (paths[docPath] as Record<string, Json>)[route.method.toLowerCase()] = operation;
  }

  const document: Json = {
    openapi: '3.1.1',
    info: {
      title: 'BrainSpark API',
      version: API_VERSION,
      summary: 'The HTTPS functions the BrainSpark apps call.',
      description:
        "Each Cloud Function is served under its own base path (`/<function-name>`): locally by `npm start` on one port, in the cloud at each function's URL. Errors are `application/problem+json` with a stable `code`. Parents sign in through `/auth` (access token: `parentToken`); a parent opens a child session through `POST /children/{childId}/session` (`childToken`).",
      license: { name: 'Proprietary', identifier: 'LicenseRef-BrainSpark' },
    },
    servers: [
      { url: 'http://127.0.0.1:8080', description: '`npm start` (every function on one port)' },
      {
        url: 'https://{region}-{project}.cloudfunctions.net',
        description: 'Deployed: each Cloud Function under its name, as locally',
        variables: {
          region: { default: 'us-central1', description: 'The deploy region' },
          project: { default: 'brainspark', description: 'The Google Cloud project id' },
        },
      },
    ],
    tags: httpFunctions.map((fn) => ({ name: fn.name, description: fn.description })),
    paths,
    components: {
      securitySchemes: {
        parentToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A parent access token from /auth (signup, login, google, apple, refresh).',
        },
        childToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A child session token from POST /children/{childId}/session; ends with the parent sign-in that opened it.',
        },
      },
      headers: headerComponents,
      schemas: { Problem: problemSchema, ...components },
    },
  };
  return { document: tidy(document) as Json, missingContracts, unusedContracts };
}

const SAFE_INT = 9007199254740991;

/**
 * Drops what zod adds for its own checking but says nothing to a reader or a client: the long
 * regex beside a standard `format` (date-time, date, uuid, email) and the safe-integer bounds.
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) out[key] = tidy(child);
  if (typeof out.format === 'string' && typeof out.pattern === 'string') delete out.pattern;
  if (out.minimum === -SAFE_INT) delete out.minimum;
  if (out.maximum === SAFE_INT) delete out.maximum;
  return out;
}

/** Stable JSON text of the document (what docs/openapi.json holds). */
export const documentText = (document: Json): string => `${JSON.stringify(document, null, 2)}\n`;

export const DOCUMENT_PATH = path.join(root, 'docs/openapi.json');
export const RELEASED_DOCUMENT_PATH = path.join(root, 'docs/openapi.released.json');
