// Surviving a database that drops, stalls or fills up (issue 14): a terminated backend costs
// only the requests using it (no crash: an unhandled 'error' event fails this file), failures
// answer 503 `unavailable` with Retry-After and log once per burst at WARNING, every wait is
// bounded (statement, lock, connect), and a full server is waited for briefly.

import net from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import pg from 'pg';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/health/index.ts';
import '../../functions/streaks/index.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import { poolOptions, useDatabasePool } from '../../shared/db/client.ts';
import {
  ANSWER_BUDGET_MS,
  DB_LIMITS,
  hardenPool,
  isUnavailable,
  resetUnavailableReportsForTests,
  sqlStateOf,
} from '../../shared/db/resilience.ts';
import { inTransaction } from '../../shared/db/transaction.ts';
import { startConversation } from '../../shared/learning/conversations.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest, topicIdOf } from '../learning/helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
});
afterAll(async () => teardownAccountsTest(db));
afterEach(() => {
  useDatabasePool(db.pool);
});

const backendPid = async (client: pg.PoolClient) =>
  (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;

async function terminate(pid: number | undefined): Promise<void> {
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

/** Captures WARNING/ERROR log lines written while `work` runs. */
async function capturingLogs(work: () => Promise<void>): Promise<string[]> {
  process.env.LOG_LEVEL = 'warn';
  resetConfigForTests();
  resetUnavailableReportsForTests();
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await work();
    return stderr.mock.calls.map((c) => String(c[0]));
  } finally {
    stderr.mockRestore();
    process.env.LOG_LEVEL = 'silent';
    resetConfigForTests();
  }
}

describe('dropped connections', () => {
  it('an idle pooled connection terminated by an admin costs nothing and crashes nothing', async () => {
    const pool = hardenPool(new pg.Pool({ connectionString: db.url, max: 2 }));
    try {
      const client = await pool.connect();
      const pid = await backendPid(client);
      client.release();
      await terminate(pid);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('a connection terminated mid-transaction fails that transaction only, as unavailable, and is discarded', async () => {
    const pool = hardenPool(new pg.Pool({ connectionString: db.url, max: 1 }));
    useDatabasePool(pool);
    try {
      const failure = await inTransaction('system:test', async (tx) => {
        const [me] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
        await terminate(me?.pid ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await tx.$queryRaw`SELECT 1`;
      }).catch((err: unknown) => err);
      expect(isUnavailable(failure)).toBe(true);
      // The single pool slot is usable again: the broken client was not handed back.
      const ok = await inTransaction(
        'system:test',
        async (tx) => (await tx.$queryRaw<{ n: number }[]>`SELECT 2::int AS n`)[0],
      );
      expect(ok).toEqual({ n: 2 });
    } finally {
      await pool.end();
    }
  });
});

describe('503 unavailable', () => {
  it('a database that refuses connections answers 503 with Retry-After, logged once per burst without a stack', async () => {
    const dead = hardenPool(
      new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:1/none', max: 2 }),
    );
    useDatabasePool(dead);
    const statuses: number[] = [];
    const lines = await capturingLogs(async () => {
      for (let i = 0; i < 5; i++) {
        const res = await request(getTestServer('auth'))
          .post('/login')
          .set('x-forwarded-for', `10.9.9.${i}`)
          .send({ email: `nobody${i}@example.test`, password: 'whatever it is' });
        statuses.push(res.status);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.code).toBe('unavailable');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    });
    await dead.end();
    expect(statuses).toEqual([503, 503, 503, 503, 503]);
    const reports = lines.filter((l) => l.includes('unavailable'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain('"severity":"WARNING"');
    expect(lines.join('')).not.toContain('"stack"');
  });

  it('/health/ agrees: 503 with Retry-After while the database is unreachable', async () => {
    const dead = hardenPool(
      new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:1/none' }),
    );
    useDatabasePool(dead);
    try {
      const res = await request(getTestServer('health')).get('/');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await dead.end();
    }
  });
});

describe('bounded waits', () => {
  it("a child's lock held elsewhere answers 503 with Retry-After after the lock timeout; other families are served", async () => {
    const locked = await createLearner(db.pool);
    const other = await createLearner(db.pool);
    const space = await topicIdOf(db.pool, 'space');
    const { conversation } = await startConversation(
      locked.learner,
      { type: 'exploration', topicId: space },
      new Date(),
    );
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`child:${locked.childId}`]);
      const started = Date.now();
      const [blocked, served] = await Promise.all([
        request(getTestServer('conversations'))
          .post(`/children/${locked.childId}/${conversation.id}/messages`)
          .set('authorization', `Bearer ${locked.childToken}`)
          .send({ text: 'Why do stars twinkle?' }),
        request(getTestServer('streaks'))
          .get(`/children/${other.childId}`)
          .set('authorization', `Bearer ${other.childToken}`),
      ]);
      const waited = Date.now() - started;
      expect(blocked.status).toBe(503);
      expect(blocked.body.code).toBe('unavailable');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(waited).toBeGreaterThanOrEqual(DB_LIMITS.lockTimeoutMs - 100);
      expect(waited).toBeLessThan(DB_LIMITS.lockTimeoutMs + 4_000);
      expect(served.status).toBe(200);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // Nothing was written for the refused post.
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND role = 'user'",
      [conversation.id],
    );
    expect(rows[0]?.n).toBe(0);
  }, 20_000);

  it('a statement that runs past the statement timeout is cancelled (unavailable), not waited for', async () => {
    const started = Date.now();
    const failure = await inTransaction(
      'system:test',
      (tx) => tx.$executeRaw`SELECT pg_sleep(30)`,
    ).catch((err: unknown) => err);
    expect(sqlStateOf(failure)).toBe('57014');
    expect(isUnavailable(failure)).toBe(true);
    expect(Date.now() - started).toBeLessThan(DB_LIMITS.statementTimeoutMs + 3_000);
  }, 20_000);

  it('a lock wait inside a transaction stops at the lock timeout', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['child:someone']);
      const failure = await inTransaction('system:test', async () => undefined, {
        lockKey: 'child:someone',
      }).catch((err: unknown) => err);
      expect(sqlStateOf(failure)).toBe('55P03');
      expect(isUnavailable(failure)).toBe(true);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  }, 20_000);
});

/**
 * A TCP proxy in front of the real server that can stop passing bytes, as a SIGSTOPped
 * server (or a network that black-holes packets) does: connections stay open, nothing answers.
 */
async function freezableProxy(targetPort: number) {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    const pass = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (!frozen) to.write(chunk);
      });
    pass(client, upstream);
    pass(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a frozen server', () => {
  it(`every request answers 503 within ${ANSWER_BUDGET_MS} ms, including those queued for a pool slot`, async () => {
    const learners = await Promise.all([1, 2, 3, 4, 5, 6].map(() => createLearner(db.pool)));
    const first = learners[0];
    if (!first) throw new Error('no learner');
    const { conversation } = await startConversation(
      first.learner,
      { type: 'exploration', topicId: await topicIdOf(db.pool, 'space') },
      new Date(),
    );
    const conversationId = conversation.id;
    const url = new URL(db.url);
    const proxy = await freezableProxy(Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    // One slot: the others wait for the slot the frozen server holds.
    const pool = new pg.Pool({ connectionString: url.toString(), ...poolOptions(1) });
    useDatabasePool(pool);
    try {
      const warm = await request(getTestServer('streaks'))
        .get(`/children/${learners[0]?.childId}`)
        .set('authorization', `Bearer ${learners[0]?.childToken}`);
      expect(warm.status).toBe(200);
      proxy.freeze();
      // One request waits for the slot until the first one's query bound fires: the frozen
      // client is discarded, and pg-pool starts a fresh connect bound for the new connection
      // (its wait for the slot and its connect are two bounds, not one).
      const worst = DB_LIMITS.queryTimeoutMs - DB_LIMITS.connectTimeoutMs + 300;
      const delays = [0, worst, 200, 600, 1200, 2000];
      const answers = await Promise.all(
        learners.map(async (l, i) => {
          await new Promise((resolve) => setTimeout(resolve, delays[i]));
          const started = Date.now();
          // The first is a write: a transaction whose client is handed back after its bound.
          const res =
            i === 0
              ? await request(getTestServer('conversations'))
                  .post(`/children/${l.childId}/${conversationId}/messages`)
                  .set('authorization', `Bearer ${l.childToken}`)
                  .send({ text: 'Why is the sky blue?' })
              : await request(getTestServer('streaks'))
                  .get(`/children/${l.childId}`)
                  .set('authorization', `Bearer ${l.childToken}`);
          return {
            status: res.status,
            ms: Date.now() - started,
            retry: res.headers['retry-after'],
          };
        }),
      );
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.retry).toBeDefined();
        expect(a.ms).toBeLessThan(ANSWER_BUDGET_MS);
      }
    } finally {
      await proxy.close();
      await pool.end().catch(() => undefined);
    }
  }, 30_000);
});

describe('a full server', () => {
  // A role's connection limit answers 53300 like a server out of slots (superusers, as the
  // tests connect, are exempt from limits, hence a role of this file's own).
  const role = `bs_full_${Math.random().toString(36).slice(2, 10)}`;
  let url: string;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  beforeAll(async () => {
    // Identifiers cannot be parameters; the name is generated above from [a-z0-9_].
    await admin(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`);
    const u = new URL(db.url);
    u.username = role;
    u.password = '';
    url = u.toString();
  });
  afterAll(async () => admin(`DROP ROLE IF EXISTS ${role}`));

  const blocker = async () => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  it('waits briefly for a free slot instead of failing at once', async () => {
    const held = await blocker();
    const pool = hardenPool(new pg.Pool({ connectionString: url, max: 1 }));
    try {
      const started = Date.now();
      setTimeout(() => void held.end(), 300);
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      await pool.end();
    }
  });

  it('gives up within the bound when no slot frees up: 53300, unavailable', async () => {
    const held = await blocker();
    const pool = hardenPool(new pg.Pool({ connectionString: url, max: 1 }));
    try {
      const started = Date.now();
      const failure = await pool.query('SELECT 1').catch((err: unknown) => err);
      const waited = Date.now() - started;
      expect((failure as { code?: string }).code).toBe('53300');
      expect(isUnavailable(failure)).toBe(true);
      expect(waited).toBeGreaterThan(300);
      expect(waited).toBeLessThan(DB_LIMITS.fullServerRetryMs + 1_500);
    } finally {
      await pool.end();
      await held.end();
    }
  });
});
