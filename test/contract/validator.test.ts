// The contract validator can fail: a handler that drifts from its schema (a wrong field) is
// caught through the same observer hook the whole suite runs under, and each kind of mismatch
// (body, status, content type, required header, undocumented route) is reported.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { routeTables } from '../../shared/runtime/http.ts';
import { takeContractViolations } from './setup.ts';
import { createValidator } from './validator.ts';

const validator = createValidator();
const headers = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r-12345678' };
const live = { functionName: 'health', method: 'GET', routePath: '/live', headers };

describe('contract validator', () => {
  it('accepts a response as documented', () => {
    expect(validator.check({ ...live, status: 200, body: '{"status":"ok"}' })).toEqual([]);
  });

  it('reports a wrong field value, an extra field and a missing field', () => {
    expect(validator.check({ ...live, status: 200, body: '{"status":"fine"}' })).toHaveLength(1);
    expect(
      validator.check({ ...live, status: 200, body: '{"status":"ok","extra":1}' }),
    ).toHaveLength(1);
    expect(validator.check({ ...live, status: 200, body: '{}' })).toHaveLength(1);
  });

  it('reports an undocumented status, a wrong content type and a missing required header', () => {
    expect(validator.check({ ...live, status: 201, body: '{"status":"ok"}' })[0]).toMatch(
      /status 201 is not documented/,
    );
    expect(
      validator.check({
        ...live,
        status: 200,
        headers: { ...headers, 'content-type': 'text/plain' },
        body: 'ok',
      })[0],
    ).toMatch(/content type text\/plain/);
    const problem = JSON.stringify({
      type: 'https://brainspark.app/problems/unauthenticated',
      title: 'Unauthenticated',
      status: 401,
      detail: 'Sign in to use this route',
      code: 'unauthenticated',
      requestId: 'r-12345678',
    });
    const me = { functionName: 'parents', method: 'GET', routePath: '/me', status: 401 };
    const problemHeaders = { ...headers, 'content-type': 'application/problem+json' };
    expect(
      validator.check({
        ...me,
        headers: { ...problemHeaders, 'www-authenticate': 'Bearer realm="brainspark"' },
        body: problem,
      }),
    ).toEqual([]);
    expect(validator.check({ ...me, headers: problemHeaders, body: problem })[0]).toMatch(
      /header WWW-Authenticate is missing/,
    );
    // A code this route cannot give.
    expect(
      validator.check({
        ...me,
        headers: { ...problemHeaders, 'www-authenticate': 'Bearer realm="brainspark"' },
        body: problem.replace('"code":"unauthenticated"', '"code":"invalid_pin"'),
      }),
    ).toHaveLength(1);
    expect(validator.check({ ...live, routePath: '/nowhere', status: 200, body: '{}' })[0]).toMatch(
      /not in the document/,
    );
  });

  it('fails a test whose handler answers a deliberately wrong field', async () => {
    await import('../../functions/rewards/index.ts');
    const routes = routeTables.get('rewards') ?? [];
    const catalogue = routes.find((r) => r.method === 'GET' && r.path === '/catalogue');
    if (!catalogue) throw new Error('no GET /rewards/catalogue');
    const original = catalogue.handler;
    const server = getTestServer('rewards');
    try {
      expect((await request(server).get('/catalogue')).status).toBe(200);
      expect(takeContractViolations()).toEqual([]);
      // The handler drifts: a star value becomes a string.
      catalogue.handler = async (ctx) => {
        const body = (await original(ctx)) as { stars: Record<string, unknown> };
        return { ...body, stars: { ...body.stars, answer: 'one' } };
      };
      expect((await request(server).get('/catalogue')).status).toBe(200);
      const violations = takeContractViolations();
      expect(violations).toHaveLength(1);
      expect(violations[0]).toMatch(
        /rewards GET \/catalogue -> 200: .*stars\/answer must be integer/,
      );
    } finally {
      catalogue.handler = original;
    }
  });
});
