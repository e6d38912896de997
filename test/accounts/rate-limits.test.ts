// Abuse limits: shared through Redis across instances, and still enforced in-process (with a
// logged warning) when Redis is unreachable. Never no limit at all.
import { randomBytes, randomUUID } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, describe, expect, it, vi } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import {
  createRateLimits,
  limitSpecs,
  resetRateLimitsForTests,
} from '../../shared/accounts/rate-limits.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import { isAppError } from '../../shared/errors.ts';
import { closeRedis, createRedisClient } from '../../shared/redis.ts';
import {
  createFamily,
  createParent,
  setupAccountsTest,
  TEST_REDIS_URL,
  teardownAccountsTest,
} from '../helpers/factories.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

const UNREACHABLE_REDIS = 'redis://127.0.0.1:1';
const prefix = () => `test:${randomBytes(6).toString('hex')}:`;

async function outcome(promise: Promise<void>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return isAppError(err) ? err.code : String(err);
  }
}

describe('limits on Redis', () => {
  it('are shared by every instance: two processes count against one limit', async () => {
    const keyPrefix = prefix();
    const redisA = await createRedisClient({ url: TEST_REDIS_URL });
    const redisB = await createRedisClient({ url: TEST_REDIS_URL });
    try {
      await Promise.all([redisA.ping(), redisB.ping()]);
      const a = await createRateLimits({ redis: redisA, keyPrefix });
      const b = await createRateLimits({ redis: redisB, keyPrefix });
      const child = randomUUID();
      for (let i = 0; i < 3; i++)
        expect(await outcome(a.consume('pinFailuresPerChild', child))).toBe('ok');
      for (let i = 0; i < 2; i++)
        expect(await outcome(b.consume('pinFailuresPerChild', child))).toBe('ok');
      expect(await outcome(a.consume('pinFailuresPerChild', child))).toBe('rate_limited');
      expect(await outcome(b.consume('pinFailuresPerChild', child))).toBe('rate_limited');
      expect(await redisA.exists(`${keyPrefix}pinFailuresPerChild:${child}`)).toBe(1);
    } finally {
      redisA.disconnect();
      redisB.disconnect();
    }
  });

  it('give back refunded points (only failures count)', async () => {
    const redis = await createRedisClient({ url: TEST_REDIS_URL });
    try {
      await redis.ping();
      const limits = await createRateLimits({ redis, keyPrefix: prefix() });
      for (let i = 0; i < 20; i++) {
        await limits.consume('pinFailuresPerChild', 'child-1');
        await limits.refund('pinFailuresPerChild', 'child-1');
      }
      expect(await outcome(limits.consume('pinFailuresPerChild', 'child-1'))).toBe('ok');
    } finally {
      redis.disconnect();
    }
  });

  it('limit refreshes per token family', async () => {
    const parent = await createParent();
    const api = () => request(getTestServer('auth'));
    let token = parent.refreshToken;
    for (let i = 0; i < limitSpecs.refreshPerFamily.points; i++) {
      const res = await api().post('/refresh').send({ refreshToken: token });
      expect(res.status).toBe(200);
      token = res.body.refreshToken;
    }
    const limited = await api().post('/refresh').send({ refreshToken: token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('Redis unreachable', () => {
  it('falls back to in-process limits and logs a warning', async () => {
    process.env.LOG_LEVEL = 'warn';
    resetConfigForTests();
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const redis = await createRedisClient({ url: UNREACHABLE_REDIS });
    try {
      const limits = await createRateLimits({ redis, keyPrefix: prefix() });
      const results: string[] = [];
      for (let i = 0; i < 6; i++)
        results.push(await outcome(limits.consume('pinFailuresPerChild', 'child-2')));
      expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'rate_limited']);
      const lines = stderr.mock.calls.map((c) => String(c[0]));
      // Said once per outage, not per call, and without a stack.
      const fallback = lines.filter(
        (l) => l.includes('"severity":"WARNING"') && l.includes('in-process'),
      );
      expect(fallback).toHaveLength(1);
      expect(fallback[0]).not.toContain('"stack"');
    } finally {
      stderr.mockRestore();
      redis.disconnect();
      process.env.LOG_LEVEL = 'silent';
      resetConfigForTests();
    }
  });

  it('falls back when Redis is connected but stops answering (no request hangs on it)', async () => {
    // Answers the connection's ready check, then swallows every command: a partitioned or
    // failing-over Redis whose socket still looks open.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      let ready = false;
      socket.on('data', (data) => {
        for (const [, command] of data.toString().matchAll(/\*\d+\r\n\$\d+\r\n([^\r]+)\r\n/g)) {
          if (ready) return;
          const name = command?.toLowerCase();
          if (name === 'info') {
            ready = true;
            const info = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';
            socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
          } else {
            // HELLO 3 (ioredis speaks RESP3): a minimal server map.
            socket.write(
              name === 'hello' ? '%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n' : '+OK\r\n',
            );
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const redis = await createRedisClient({
      url: `redis://127.0.0.1:${port}`,
      onUnavailable: () => undefined,
    });
    try {
      expect(redis.status).toBe('ready');
      const limits = await createRateLimits({ redis, keyPrefix: prefix() });
      const started = Date.now();
      const results: string[] = [];
      for (let i = 0; i < 6; i++)
        results.push(await outcome(limits.consume('pinFailuresPerChild', 'silent-redis')));
      expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'rate_limited']);
      // The circuit breaker: one command timeout, then Redis is skipped (not one per call).
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      redis.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 15_000);

  it('still locks a child after 5 wrong PINs through the API', async () => {
    const previous = process.env.REDIS_URL;
    process.env.REDIS_URL = UNREACHABLE_REDIS;
    resetConfigForTests();
    resetRateLimitsForTests();
    await closeRedis();
    try {
      const { parent, child } = await createFamily({ pin: '3141' });
      const api = () => request(getTestServer('children'));
      for (let i = 0; i < 5; i++) {
        const res = await api()
          .post(`/${child.id}/session`)
          .set('authorization', `Bearer ${parent.accessToken}`)
          .send({ pin: '0000' });
        expect(res.status).toBe(403);
      }
      const locked = await api()
        .post(`/${child.id}/session`)
        .set('authorization', `Bearer ${parent.accessToken}`)
        .send({ pin: '3141' });
      expect(locked.status).toBe(429);
    } finally {
      process.env.REDIS_URL = previous;
      resetConfigForTests();
      resetRateLimitsForTests();
      await closeRedis();
    }
  });

  it('without REDIS_URL, limits are in-process', async () => {
    const limits = await createRateLimits({ redis: null, keyPrefix: prefix() });
    const results: string[] = [];
    for (let i = 0; i < 11; i++)
      results.push(
        await outcome(limits.consume('loginPerEmailAndClient', 'a@example.test|10.0.0.1')),
      );
    expect(results.filter((r) => r === 'ok')).toHaveLength(10);
    expect(results[10]).toBe('rate_limited');
  });
});
