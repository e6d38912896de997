// Measures what one request costs the database, per route: how long it holds a pooled
// connection (the figure the connection budget and docs/CAPACITY.md are built on) and how
// many statements it sends. Runs the real HTTP functions in process (Functions Framework)
// against a dedicated, seeded database on DATABASE_URL's server (`brainspark_capacity`,
// dropped and re-created), requests one at a time so nothing queues for a connection.
// Also the database server's own CPU per request: the pool keeps two connections for the whole
// run and their backends' CPU time is read from /proc (PostgreSQL on the same machine, Linux).
//   npm run bench:requests [-- --families 20]
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import pg from 'pg';
import { processCpuMs } from './lib/proc-cpu.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const families = Number(process.argv[process.argv.indexOf('--families') + 1] || 20) || 20;

interface RouteStats {
  requests: number;
  holdMs: number[];
  statements: number[];
  wallMs: number[];
  serverCpuMs: number;
}

async function main(): Promise<void> {
  const admin = new URL(
    process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  );
  const dbUrl = new URL(admin);
  dbUrl.pathname = '/brainspark_capacity';
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  await adminClient.query('DROP DATABASE IF EXISTS brainspark_capacity WITH (FORCE)');
  await adminClient.query('CREATE DATABASE brainspark_capacity');
  await adminClient.end();

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  process.env.JWT_SIGNING_KEYS = JSON.stringify([
    { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'ES256' },
  ]);
  process.env.NODE_ENV = 'production';
  process.env.LOG_LEVEL = 'silent';
  process.env.DATABASE_URL = dbUrl.toString();
  delete process.env.REDIS_URL;

  const { migrateUp } = await import('../shared/db/migrator.ts');
  const { seedDatabase } = await import('../shared/db/seed.ts');
  const { useDatabasePool, closeDatabase } = await import('../shared/db/client.ts');
  const { httpFunctions } = await import('../shared/registry.ts');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');

  // The pool of one function instance in production: DB_POOL_MAX 2.
  // Connections never idle out, so the two backends measured are the ones doing the work.
  const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 2, idleTimeoutMillis: 0 });
  const [setup, other] = await Promise.all([pool.connect(), pool.connect()]);
  await migrateUp(setup);
  await seedDatabase(setup);
  const pids: number[] = [];
  for (const c of [setup, other]) {
    pids.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0);
  }
  setup.release();
  other.release();
  useDatabasePool(pool);

  // Connection hold time: from checkout to release; statements: every Client#query call.
  let holdMs = 0;
  let statements = 0;
  const since = new WeakMap<pg.PoolClient, number>();
  pool.on('acquire', (c) => since.set(c, performance.now()));
  pool.on('release', (_err, c) => {
    holdMs += performance.now() - (since.get(c) ?? performance.now());
  });
  const originalQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof originalQuery;

  const servers = new Map<string, http.Server>();
  for (const fn of httpFunctions) {
    await import(path.resolve(root, fn.source));
    servers.set(fn.name, getTestServer(fn.name));
  }
  const front = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, name = '', ...rest] = url.pathname.split('/');
    req.url = `/${rest.join('/')}${url.search}`;
    servers.get(name)?.emit('request', req, res);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(front.address() as { port: number }).port}`;

  const stats = new Map<string, RouteStats>();
  async function call(
    route: string,
    method: string,
    pathname: string,
    token?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Record<string, unknown>> {
    holdMs = 0;
    statements = 0;
    const cpuBefore = processCpuMs(pids);
    const started = performance.now();
    const res = await fetch(`${base}${pathname}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const wall = performance.now() - started;
    const cpu = processCpuMs(pids) - cpuBefore;
    if (res.status >= 400) throw new Error(`${route}: ${res.status} ${text.slice(0, 200)}`);
    const s = stats.get(route) ?? {
      requests: 0,
      holdMs: [],
      statements: [],
      wallMs: [],
      serverCpuMs: 0,
    };
    s.requests++;
    s.serverCpuMs += cpu;
    s.holdMs.push(holdMs);
    s.statements.push(statements);
    s.wallMs.push(wall);
    stats.set(route, s);
    return text ? JSON.parse(text) : {};
  }

  const { createParentForBench } = await benchFactories();
  for (let i = 0; i < families; i++) {
    const { parentToken, refreshToken, childId, childToken } = await createParentForBench(pool, i);
    await call('health GET /', 'GET', '/health/');
    await call('auth POST /refresh', 'POST', '/auth/refresh', undefined, { refreshToken });
    const constellation = await call(
      'topics GET constellation',
      'GET',
      `/topics/children/${childId}/constellation`,
      childToken,
    );
    const topics = constellation.topics as Array<{ id: string; slug: string }>;
    const topicId = (topics.find((t) => t.slug === 'space') ?? topics[0])?.id;
    const start = await call(
      'conversations POST start',
      'POST',
      `/conversations/children/${childId}`,
      childToken,
      { type: 'exploration', topicId },
    );
    const conv = (start.conversation as { id: string }).id;
    const answers = [
      { text: 'I think it is dark because there is no air up there' },
      { choiceIndex: 0 },
      { text: 'Maybe planets would go faster if the sun was bigger' },
      { choiceIndex: 1 },
    ];
    for (const [n, answer] of answers.entries()) {
      await call(
        'conversations POST message',
        'POST',
        `/conversations/children/${childId}/${conv}/messages`,
        childToken,
        answer,
        { 'idempotency-key': `bench-${i}-${n}` },
      );
    }
    await call(
      'conversations POST end',
      'POST',
      `/conversations/children/${childId}/${conv}/end`,
      childToken,
    );
    await call(
      'brain-sparks GET today',
      'GET',
      `/brain-sparks/children/${childId}/today`,
      childToken,
    );
    await call('streaks GET', 'GET', `/streaks/children/${childId}`, childToken);
    await call('rewards GET', 'GET', `/rewards/children/${childId}`, childToken);
    await call('progress GET', 'GET', `/progress/children/${childId}`, childToken);
    await call('dashboard GET child', 'GET', `/dashboard/children/${childId}`, parentToken);
    await call('children GET list', 'GET', '/children/', parentToken);
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] ?? 0;
  };
  const p90 = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length * 0.9)] ?? 0;
  };
  console.log(`families: ${families}; pool max 2; one request at a time`);
  console.log(
    '| route | requests | statements | connection held, median ms | p90 ms | PostgreSQL CPU, mean ms | wall median ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [route, s] of stats) {
    console.log(
      `| ${route} | ${s.requests} | ${median(s.statements)} | ${median(s.holdMs).toFixed(2)} | ${p90(s.holdMs).toFixed(2)} | ${(s.serverCpuMs / s.requests).toFixed(2)} | ${median(s.wallMs).toFixed(1)} |`,
    );
  }
  front.close();
  await closeDatabase();
}

/** Families made directly (signup and login are argon2-bound and rare; not measured here). */
async function benchFactories() {
  const { randomUUID } = await import('node:crypto');
  const { hashSecret } = await import('../shared/accounts/passwords.ts');
  const { parentActor } = await import('../shared/accounts/db.ts');
  const { inTransaction } = await import('../shared/db/transaction.ts');
  const { insertRefreshToken } = await import('../shared/accounts/refresh-tokens.ts');
  const { issueAccessToken } = await import('../shared/auth/access-token.ts');
  const { grantConsent } = await import('../shared/accounts/consents.ts');
  const { createChild } = await import('../shared/accounts/children.ts');
  const passwordHash = await hashSecret('bench password 123');
  return {
    async createParentForBench(pool: pg.Pool, i: number) {
      const id = randomUUID();
      const refresh = await inTransaction(parentActor(id), async (tx) => {
        await tx.$executeRaw`INSERT INTO parents (id, email, password_hash, display_name, timezone)
          VALUES (${id}::uuid, ${`bench-${i}-${id.slice(0, 8)}@example.test`}, ${passwordHash}, 'Bench', 'UTC')`;
        return insertRefreshToken(tx, id, { userAgent: 'bench' });
      });
      for (const type of ['coppa', 'terms', 'privacy'] as const) {
        await grantConsent(id, { type }, { ip: '127.0.0.1', userAgent: 'bench' });
      }
      const d = new Date();
      d.setUTCFullYear(d.getUTCFullYear() - 8);
      d.setUTCDate(d.getUTCDate() - 30);
      const child = await createChild(id, {
        name: `Kid ${i}`,
        birthDate: d.toISOString().slice(0, 10),
        interests: ['space'],
      });
      await pool.query('UPDATE children SET settings = settings || $2::jsonb WHERE id = $1', [
        child.id,
        JSON.stringify({ bedtime_start: null, bedtime_end: null, daily_time_limit_minutes: null }),
      ]);
      // Access tokens name their sign-in (the refresh token's family) and, for a child, the
      // child's session version: without them assert_live_session refuses every request.
      const sessionId = refresh.familyId;
      const parentToken = await issueAccessToken({ kind: 'parent', parentId: id, sessionId });
      const childToken = await issueAccessToken({
        kind: 'child',
        parentId: id,
        childId: child.id,
        sessionId,
        sessionVersion: 0,
      });
      return {
        parentToken: parentToken.token,
        refreshToken: refresh.refreshToken,
        childId: child.id,
        childToken: childToken.token,
      };
    },
  };
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
