import { type AddressInfo, connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { issueAccessToken } from '../../shared/auth/access-token.ts';
import { ConfigError, parseConfig, resetConfigForTests } from '../../shared/config.ts';
import { AppError } from '../../shared/errors.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';
import type { TestDatabase } from '../helpers/db.ts';
import {
  createParent,
  setupAccountsTest,
  type TestParent,
  teardownAccountsTest,
} from '../helpers/factories.ts';

const FN = 'runtime-under-test';
const CHILD_ID = '7d0f1c1e-0b7c-4a67-9c39-1f8f2a2f5c11';
// Parent routes check the token's sign-in is live: a real parent in a real database.
let db: TestDatabase;
let parent: TestParent;
let PARENT_ID: string;
afterAll(async () => teardownAccountsTest(db));

beforeAll(async () => {
  db = await setupAccountsTest();
  parent = await createParent();
  PARENT_ID = parent.id;
  defineHttpFunction(FN, [
    route({
      method: 'POST',
      path: '/echo/:itemId',
      auth: 'public',
      params: z.object({ itemId: z.uuid() }),
      body: z.object({ name: z.string().min(1), count: z.number().int() }),
      handler: async ({ body, params }) => respond(201, { ...body, itemId: params.itemId }),
    }),
    route({
      method: 'GET',
      path: '/echo/:itemId',
      auth: 'public',
      handler: async ({ params }) => ({ itemId: params.itemId }),
    }),
    route({
      method: 'GET',
      path: '/parent-only',
      auth: 'parent',
      handler: async ({ principal }) => ({ parentId: principal.parentId }),
    }),
    route({
      method: 'GET',
      path: '/cacheable',
      auth: 'public',
      handler: async () => respond(200, { ok: true }, { 'cache-control': 'public, max-age=60' }),
    }),
    route({
      method: 'GET',
      path: '/boom',
      auth: 'public',
      handler: async () => {
        throw new Error('secret internal detail');
      },
    }),
    route({
      method: 'GET',
      path: '/limited',
      auth: 'public',
      handler: async () => {
        throw new AppError('rate_limited', 'Slow down', { details: { retryAfterSeconds: 42 } });
      },
    }),
  ]);
});

const server = () => getTestServer(FN);

function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe(code);
  expect(res.body.status).toBe(status);
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
}

describe('HTTP runtime', () => {
  it('validates params and body and maps the result', async () => {
    const itemId = crypto.randomUUID();
    const res = await request(server()).post(`/echo/${itemId}`).send({ name: 'Ada', count: 3 });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ name: 'Ada', count: 3, itemId });
  });

  it('returns field errors for invalid input', async () => {
    const res = await request(server()).post('/echo/not-a-uuid').send({ name: '', count: 'x' });
    expectProblem(res, 400, 'validation_failed');
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toContain('params.itemId');
  });

  it('answers a path with broken percent-encoding with a 400 problem document', async () => {
    const res = await request(server()).get('/echo/%E0%A4%A');
    expectProblem(res, 400, 'invalid_request');
    expect(res.text).not.toMatch(/URIError|at decode/);
  });

  it('answers malformed JSON with a 400 problem document', async () => {
    const res = await request(server())
      .post(`/echo/${crypto.randomUUID()}`)
      .set('content-type', 'application/json')
      .send('{"name": ');
    expectProblem(res, 400, 'malformed_json');
    expect(res.text).not.toContain('SyntaxError');
  });

  it('answers every body the framework cannot read with a problem document, never HTML', async () => {
    const post = () => request(server()).post(`/echo/${crypto.randomUUID()}`);
    expectProblem(
      await post().set('content-type', 'application/json; charset=latin1').send('{"name":"a"}'),
      415,
      'unsupported_media_type',
    );
    expectProblem(
      await post()
        .set('content-type', 'application/x-www-form-urlencoded')
        .send(Array.from({ length: 2000 }, (_, i) => `f${i}=1`).join('&')),
      413,
      'payload_too_large',
    );
    const badGzip = await post()
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .send('not gzip at all');
    expectProblem(badGzip, 415, 'unsupported_media_type');
    expect(badGzip.text).not.toMatch(/<html|incorrect header|zlib/i);
  });

  it('refuses a declared oversized body with 413 before reading or parsing it', async () => {
    // Malformed on purpose: parsed first, it would have been a 400.
    const res = await request(server())
      .post(`/echo/${crypto.randomUUID()}`)
      .set('content-type', 'application/json')
      .send(`{"name": "${'x'.repeat(200 * 1024)}`);
    expectProblem(res, 413, 'payload_too_large');
  });

  it.each([2, 20])(
    'refuses a chunked %i MB body with 413 after reading at most ~100 KB of it',
    async (mb) => {
      const listening = server().listen(0, '127.0.0.1');
      await new Promise((resolve) => listening.once('listening', resolve));
      const { port } = listening.address() as AddressInfo;
      try {
        // A raw socket: it keeps reading the answer while it is still sending, as a real
        // client on a real network sees an early 413.
        const outcome = await new Promise<{ head: string; sentAtAnswer: number }>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          const chunk = Buffer.alloc(64 * 1024, 'x');
          const total = mb * 1024 * 1024;
          let sent = 0;
          let received = '';
          let done = false;
          const finish = () => {
            if (done) return;
            done = true;
            socket.destroy();
            resolve({ head: received, sentAtAnswer: sent });
          };
          socket.on('data', (d: Buffer) => {
            received += d.toString();
            if (received.includes('\r\n\r\n') && received.includes('payload_too_large')) finish();
          });
          socket.on('error', () => undefined);
          socket.on('close', finish);
          const pump = () => {
            if (done || socket.destroyed) return;
            if (sent >= total) {
              socket.write('"}\r\n0\r\n\r\n');
              return;
            }
            sent += chunk.length;
            const ok = socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
            if (ok) setTimeout(pump, 1);
            else socket.once('drain', () => setTimeout(pump, 1));
          };
          socket.write(
            `POST /echo/${crypto.randomUUID()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
          );
          socket.write('a\r\n{"name": "\r\n');
          pump();
          setTimeout(finish, 30_000).unref();
        });
        expect(outcome.head).toMatch(/^HTTP\/1\.1 413/);
        expect(outcome.head).toContain('payload_too_large');
        // Answered long before the client finished sending: the rest was never read.
        expect(outcome.sentAtAnswer).toBeLessThan(1024 * 1024);
      } finally {
        listening.close();
      }
    },
    40_000,
  );

  it.each(['utf-7', 'utf-16le', 'iso-8859-1'])(
    'refuses JSON in charset %s with 415 (UTF-8 only)',
    async (charset) => {
      const res = await request(server())
        .post(`/echo/${crypto.randomUUID()}`)
        .set('content-type', `application/json; charset=${charset}`)
        .send(JSON.stringify({ name: 'Ada', count: 1 }));
      expectProblem(res, 415, 'unsupported_media_type');
      const utf8 = await request(server())
        .post(`/echo/${crypto.randomUUID()}`)
        .set('content-type', 'application/json; charset=UTF-8')
        .send(JSON.stringify({ name: 'Ada', count: 1 }));
      expect(utf8.status, JSON.stringify(utf8.body)).toBe(201);
    },
  );

  it('refuses compressed bodies (a small gzip can inflate to the 1 GB the framework allows)', async () => {
    const res = await request(server())
      .post(`/echo/${crypto.randomUUID()}`)
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .send(gzipSync(JSON.stringify({ name: 'Ada', count: 1 })));
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('refuses bodies over 100 KB with 413', async () => {
    const res = await request(server())
      .post(`/echo/${crypto.randomUUID()}`)
      .send({ name: 'x'.repeat(101 * 1024), count: 1 });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const res = await request(server()).delete(`/echo/${crypto.randomUUID()}`);
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('POST, GET');
  });

  it('answers an unknown path with 404', async () => {
    expectProblem(await request(server()).get('/nowhere'), 404, 'not_found');
  });

  it('hides unknown errors behind a 500 that reveals nothing', async () => {
    const res = await request(server()).get('/boom');
    expectProblem(res, 500, 'internal');
    expect(res.text).not.toContain('secret internal detail');
  });

  it('sets Retry-After from the error details', async () => {
    const res = await request(server()).get('/limited');
    expectProblem(res, 429, 'rate_limited');
    expect(res.headers['retry-after']).toBe('42');
  });

  it('asks for a token with WWW-Authenticate', async () => {
    const res = await request(server()).get('/parent-only');
    expectProblem(res, 401, 'unauthenticated');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="brainspark"/);
  });

  it('rejects a garbage token and a child token on a parent route', async () => {
    const garbage = await request(server())
      .get('/parent-only')
      .set('authorization', 'Bearer a.b.c');
    expectProblem(garbage, 401, 'invalid_token');
    expect(garbage.headers['www-authenticate']).toContain('error="invalid_token"');
    const { token } = await issueAccessToken({
      kind: 'child',
      childId: CHILD_ID,
      parentId: PARENT_ID,
    });
    expectProblem(
      await request(server()).get('/parent-only').set('authorization', `Bearer ${token}`),
      403,
      'forbidden',
    );
  });

  it('admits a parent token', async () => {
    const token = parent.accessToken;
    const res = await request(server()).get('/parent-only').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ parentId: PARENT_ID });
  });

  it('reads the auth scheme case-insensitively (RFC 9110), as clients send it', async () => {
    const token = parent.accessToken;
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await request(server())
        .get('/parent-only')
        .set('authorization', `${scheme} ${token}`);
      expect(res.status, scheme).toBe(200);
    }
  });

  it('marks responses no-store (tokens, personal data) unless the handler says otherwise', async () => {
    const token = parent.accessToken;
    const ok = await request(server()).get('/parent-only').set('authorization', `Bearer ${token}`);
    expect(ok.headers['cache-control']).toBe('no-store');
    const problem = await request(server()).get('/parent-only');
    expect(problem.headers['cache-control']).toBe('no-store');
    const cacheable = await request(server()).get('/cacheable');
    expect(cacheable.headers['cache-control']).toBe('public, max-age=60');
  });

  it('answers CORS only for the app origins in config', async () => {
    const previous = process.env.CORS_ORIGINS;
    process.env.CORS_ORIGINS = 'https://app.brainspark.test,https://admin.brainspark.test';
    resetConfigForTests();
    try {
      const allowed = await request(server())
        .get('/cacheable')
        .set('origin', 'https://app.brainspark.test');
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.brainspark.test');
      expect(allowed.headers.vary).toMatch(/Origin/);
      const preflight = await request(server())
        .options('/echo/x')
        .set('origin', 'https://admin.brainspark.test')
        .set('access-control-request-method', 'POST');
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(
        'https://admin.brainspark.test',
      );
      expect(preflight.headers['access-control-allow-methods']).toMatch(/POST/);
      expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
      for (const origin of ['https://evil.test', 'https://app.brainspark.test.evil.test']) {
        const refused = await request(server()).get('/cacheable').set('origin', origin);
        expect(refused.headers['access-control-allow-origin']).toBeUndefined();
        const refusedPreflight = await request(server())
          .options('/echo/x')
          .set('origin', origin)
          .set('access-control-request-method', 'POST');
        expect(refusedPreflight.headers['access-control-allow-origin']).toBeUndefined();
        expect(refusedPreflight.headers['access-control-allow-methods']).toBeUndefined();
      }
    } finally {
      if (previous === undefined) delete process.env.CORS_ORIGINS;
      else process.env.CORS_ORIGINS = previous;
      resetConfigForTests();
    }
  });

  it('keeps a sane caller request id and makes one otherwise', async () => {
    const res = await request(server()).get('/nowhere').set('x-request-id', 'abc12345-trace');
    expect(res.headers['x-request-id']).toBe('abc12345-trace');
    const bad = await request(server()).get('/nowhere').set('x-request-id', '<script>');
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('config', () => {
  it('fails loudly naming the bad variable', () => {
    expect(() => parseConfig({ DB_POOL_MAX: 'lots' })).toThrow(ConfigError);
    expect(() => parseConfig({ DB_POOL_MAX: 'lots' })).toThrow(/DB_POOL_MAX/);
    expect(() => parseConfig({ INSTANCE_CONNECTION_NAME: 'nope' })).toThrow(
      /INSTANCE_CONNECTION_NAME/,
    );
  });

  it('refuses unusable JWT_SIGNING_KEYS at parse time, naming the variable', () => {
    for (const value of [
      'not json',
      '[]',
      '{"kid":"a"}',
      '[{"kty":"EC","d":"x"}]',
      '[{"kid":"a"}]',
    ]) {
      expect(() => parseConfig({ JWT_SIGNING_KEYS: value }), value).toThrow(/JWT_SIGNING_KEYS/);
    }
    expect(
      parseConfig({ JWT_SIGNING_KEYS: '[{"kty":"EC","kid":"k1","d":"x"}]' }).JWT_SIGNING_KEYS,
    ).toBeDefined();
  });

  it('applies defaults', () => {
    const cfg = parseConfig({});
    expect(cfg.DB_POOL_MAX).toBe(5);
    expect(cfg.CORS_ORIGINS).toEqual([]);
  });
});
