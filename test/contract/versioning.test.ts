// The document carries a semver version. Compared with the last released document
// (docs/openapi.released.json, written by `npm run openapi -- --release`), a breaking change
// (removed operation, removed or newly required field, changed type, a request value no longer
// accepted or a new response value) needs a new major version.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { breakingChanges, majorOf } from '../../shared/contract/breaking.ts';
import { DOCUMENT_PATH, RELEASED_DOCUMENT_PATH } from '../../shared/contract/openapi.ts';

type Json = Record<string, unknown>;
const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Json;
const versionOf = (doc: Json) => (doc.info as { version: string }).version;
const clone = <T>(v: T): T => structuredClone(v);

describe('API versioning', () => {
  it('makes no breaking change since the last release unless the major version changed', () => {
    const released = read(RELEASED_DOCUMENT_PATH);
    const current = read(DOCUMENT_PATH);
    const changes = breakingChanges(released, current);
    if (majorOf(versionOf(current)) === majorOf(versionOf(released))) {
      // On failure: make the change compatible, or raise the major version in
      // shared/contract/version.ts (and release with `npm run openapi -- --release`).
      expect(changes).toEqual([]);
    }
    expect(majorOf(versionOf(current))).toBeGreaterThanOrEqual(majorOf(versionOf(released)));
  });

  describe('the breaking-change check', () => {
    const base = read(DOCUMENT_PATH);
    type Doc = {
      paths: Record<string, Record<string, Json>>;
      components: { schemas: Record<string, Json & { properties: Record<string, Json> }> };
    };

    it('finds nothing between a document and itself', () => {
      expect(breakingChanges(base, clone(base))).toEqual([]);
    });

    it('finds a removed operation', () => {
      const next = clone(base) as Doc & Json;
      delete next.paths['/streaks/children/{childId}']?.get;
      expect(breakingChanges(base, next)).toEqual([
        'GET /streaks/children/{childId}: operation removed',
      ]);
    });

    it('finds a removed response field and a changed type', () => {
      const next = clone(base) as Doc & Json;
      const child = next.components.schemas.Child as Json & { properties: Record<string, Json> };
      delete child.properties.nickname;
      child.properties.age = { type: 'string' };
      const changes = breakingChanges(base, next);
      expect(changes).toContain('PATCH /children/{childId} 200.nickname: removed');
      expect(changes).toContain('GET /children/{childId} 200<0>.nickname: removed');
      expect(changes.some((c) => /\.age: type changed from number to string/.test(c))).toBe(true);
    });

    it('finds a newly required request field and a newly required parameter', () => {
      const next = clone(base) as Doc & Json;
      const signup = next.paths['/auth/signup']?.post as {
        requestBody: { content: { 'application/json': { schema: { required: string[] } } } };
      };
      signup.requestBody.content['application/json'].schema.required.push('displayName');
      const list = next.paths['/conversations/children/{childId}']?.get as {
        parameters: Array<{ name: string; required: boolean }>;
      };
      for (const p of list.parameters) if (p.name === 'limit') p.required = true;
      const changes = breakingChanges(base, next);
      expect(changes).toContain('POST /auth/signup body.displayName: newly required');
      expect(changes).toContain(
        'GET /conversations/children/{childId} query:limit: newly required',
      );
    });

    it('lets an optional response field or request field be added', () => {
      const next = clone(base) as Doc & Json;
      const child = next.components.schemas.Child as Json & { properties: Record<string, Json> };
      child.properties.favouriteColour = { type: 'string' };
      const signup = next.paths['/auth/signup']?.post as {
        requestBody: { content: { 'application/json': { schema: { properties: Json } } } };
      };
      signup.requestBody.content['application/json'].schema.properties.referrer = {
        type: 'string',
      };
      expect(breakingChanges(base, next)).toEqual([]);
    });

    type StartBody = {
      requestBody: {
        content: { 'application/json': { schema: { properties: { type: { enum: string[] } } } } };
      };
    };
    const startType = (doc: Doc) => {
      const op = doc.paths['/conversations/children/{childId}']?.post as StartBody | undefined;
      if (!op) throw new Error('no POST /conversations/children/{childId} in the document');
      return op.requestBody.content['application/json'].schema.properties.type;
    };

    it('finds a request value no longer accepted and a response value clients never saw', () => {
      const next = clone(base) as Doc & Json;
      const type = startType(next);
      type.enum = type.enum.filter((v) => v !== 'debate');
      const ageGroup = next.components.schemas.AgeGroup as unknown as { enum: string[] };
      ageGroup.enum = [...ageGroup.enum, 'teen_titans'];
      const changes = breakingChanges(base, next);
      expect(changes).toContain(
        'POST /conversations/children/{childId} body.type: no longer accepts "debate"',
      );
      expect(
        changes.some((c) => /ageGroup: may now answer "teen_titans"$/.test(c)),
        changes.join('\n'),
      ).toBe(true);
    });

    it('lets a request accept more values and a response give fewer', () => {
      const next = clone(base) as Doc & Json;
      const type = startType(next);
      type.enum = [...type.enum, 'quiz'];
      const child = next.components.schemas.Child as Json & { properties: Record<string, Json> };
      child.properties.ageGroup = { type: 'string', enum: ['wonder_cubs', 'curious_explorers'] };
      expect(breakingChanges(base, next)).toEqual([]);
    });
  });
});
