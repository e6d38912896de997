// docs/openapi.json is what the code generates (npm run openapi), it lists exactly the routes
// the functions serve (both ways), every operation has its inputs, responses and error codes,
// and the document passes Redocly's strict recommended rules.
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TYPES_PATH, clientTypesText } from '../../shared/contract/client-types.ts';
import {
  buildDocument,
  DOCUMENT_PATH,
  documentPath,
  documentText,
  loadRouteTables,
} from '../../shared/contract/openapi.ts';
import { statusByCode } from '../../shared/errors.ts';
import { httpFunctions } from '../../shared/registry.ts';
import type { Route } from '../../shared/runtime/http.ts';
import { checkedFunctions } from './handler-types.ts';

type Json = Record<string, unknown>;
type Operation = {
  operationId: string;
  security: Json[];
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
};

let tables: ReadonlyMap<string, readonly Route[]>;
let built: ReturnType<typeof buildDocument>;
let paths: Record<string, Record<string, Operation>>;

beforeAll(async () => {
  tables = await loadRouteTables();
  built = buildDocument(tables);
  paths = built.document.paths as typeof paths;
});

const methods = ['get', 'post', 'put', 'patch', 'delete'];

describe('docs/openapi.json', () => {
  it('is what `npm run openapi` generates from the code', () => {
    const committed = readFileSync(DOCUMENT_PATH, 'utf8');
    // On failure: run `npm run openapi` and commit docs/openapi.json.
    expect(committed === documentText(built.document)).toBe(true);
  });

  it("keeps the typed client's types generated from it", async () => {
    const committed = readFileSync(CLIENT_TYPES_PATH, 'utf8');
    // On failure: run `npm run openapi` and commit clients/typescript/src/schema.ts.
    expect(committed === (await clientTypesText(built.document))).toBe(true);
  });

  it("checks every HTTP function's handlers against the contract at compile time", () => {
    // test/contract/handler-types.ts: add the new function there.
    expect(Object.keys(checkedFunctions).sort()).toEqual(httpFunctions.map((f) => f.name).sort());
  });

  it('has a contract for every route and a route for every contract', () => {
    expect(built.missingContracts).toEqual([]);
    expect(built.unusedContracts).toEqual([]);
  });

  it('lists every route of every HTTP function, and nothing else', () => {
    const fromRoutes = new Set<string>();
    for (const fn of httpFunctions) {
      const routes = tables.get(fn.name) ?? [];
      expect(routes.length, fn.name).toBeGreaterThan(0);
      for (const r of routes)
        fromRoutes.add(`${r.method.toLowerCase()} ${documentPath(fn.name, r.path)}`);
    }
    const fromDocument = new Set<string>();
    for (const [p, item] of Object.entries(paths)) {
      for (const m of Object.keys(item)) if (methods.includes(m)) fromDocument.add(`${m} ${p}`);
    }
    expect([...fromDocument].sort()).toEqual([...fromRoutes].sort());
    expect(fromRoutes.size).toBeGreaterThanOrEqual(50);
  });

  it('gives each operation its parameters, request body, responses and error codes', () => {
    for (const fn of httpFunctions) {
      for (const route of tables.get(fn.name) ?? []) {
        const op = paths[documentPath(fn.name, route.path)]?.[route.method.toLowerCase()];
        const where = `${fn.name} ${route.method} ${route.path}`;
        expect(op, where).toBeDefined();
        if (!op) continue;
        const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(pathParams, where).toEqual(route.paramNames);
        expect(Boolean(op.requestBody), where).toBe(Boolean(route.body));
        expect(op.security.length === 0, where).toBe(route.auth === 'public');
        const statuses = Object.keys(op.responses).map(Number);
        expect(
          statuses.some((s) => s < 400),
          where,
        ).toBe(true);
        // Every error response names its codes, and each code has that status.
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400 || status === '503') continue;
          const schema = response.content?.['application/problem+json']?.schema as {
            allOf: [Json, { properties: { code: { enum: string[] } } }];
          };
          expect(schema, `${where} ${status}`).toBeDefined();
          for (const code of schema.allOf[1].properties.code.enum) {
            expect(statusByCode[code as keyof typeof statusByCode], `${where} ${code}`).toBe(
              Number(status),
            );
          }
        }
        if (route.auth !== 'public') expect(statuses, where).toContain(401);
        if (route.body || route.query || route.params) expect(statuses, where).toContain(400);
      }
    }
  });

  it('declares both token kinds and a semver version', () => {
    const doc = built.document as {
      openapi: string;
      info: { version: string };
      components: { securitySchemes: Json };
    };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'childToken',
      'parentToken',
    ]);
  });

  it("passes Redocly's recommended-strict lint", async () => {
    const config = await createConfig({
      extends: ['recommended-strict'],
      rules: {
        // Liveness, readiness and the public reward catalogue have no client error to give.
        'operation-4xx-response': 'off',
      },
    });
    const problems = await lintFromString({
      source: readFileSync(DOCUMENT_PATH, 'utf8'),
      absoluteRef: DOCUMENT_PATH,
      config,
    });
    expect(problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual(
      [],
    );
  });
});
