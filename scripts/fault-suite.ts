// `npm run test:faults`: fault injection against the HTTP functions (scripts/start.ts, the
// local server) on a PostgreSQL 15 cluster of its own (a temp dir, another port; never the
// shared one). Under concurrent keyed writes and reads it terminates idle and active backends,
// restarts the server, stops it for 20 s, freezes it (SIGSTOP) for 15 s, fills its connection
// slots and holds one child's lock; then checks in SQL that no acknowledged write was lost or
// duplicated, that retries with the same key replay, and that counters match the messages.
// Prints per fault the status codes seen, time to first 503 and time to recovery, and fails
// (exit 1) when a target is missed:
//   - the server process never exits;
//   - no 500: a database failure answers 503 (with Retry-After);
//   - during an outage every answer comes within 5 s;
//   - success resumes within 2 s of the database coming back;
//   - one child's held lock does not slow other families beyond the lock timeout.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrateUp } from '../shared/db/migrator.ts';
import { DB_LIMITS } from '../shared/db/resilience.ts';
import { freePort } from './lib/free-port.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const DB = 'brainspark';
const FAMILIES = 6;
const OUTAGE_ANSWER_MS = 5_000;
const RECOVERY_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const asRoot = process.getuid?.() === 0;

/** PostgreSQL refuses to run as root: run its tools as the postgres OS user. */
function pgTool(tool: string, args: string[]): string {
  const cmd = asRoot ? 'runuser' : path.join(BIN, tool);
  const full = asRoot ? ['-u', 'postgres', '--', path.join(BIN, tool), ...args] : args;
  return execFileSync(cmd, full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// ---------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------

class Cluster {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'bs-faults-'));
  readonly data = path.join(this.dir, 'data');
  port = 0;

  async init(): Promise<void> {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      chownSync(this.dir, uid, gid);
    }
    this.port = await freePort();
    pgTool('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    const conf = path.join(this.data, 'postgresql.conf');
    writeFileSync(
      conf,
      `${readFileSync(conf, 'utf8')}
port = ${this.port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '${this.dir}'
max_connections = 30
superuser_reserved_connections = 0
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
`,
    );
    this.start();
  }

  start(): void {
    pgTool('pg_ctl', [
      '-D',
      this.data,
      '-l',
      path.join(this.dir, 'log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    pgTool('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  restart(): void {
    pgTool('pg_ctl', [
      '-D',
      this.data,
      '-l',
      path.join(this.dir, 'log'),
      '-m',
      'fast',
      '-w',
      'restart',
    ]);
  }

  /** The postmaster and every process it started. */
  pids(): number[] {
    const postmaster = Number(
      readFileSync(path.join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const children: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === postmaster) children.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
    return [postmaster, ...children];
  }

  url(database = DB): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async admin<T>(work: (client: pg.Client) => Promise<T>, database = DB): Promise<T> {
    const client = new pg.Client({ connectionString: this.url(database) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  cleanup(): void {
    try {
      this.stop('immediate');
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// The application under test
// ---------------------------------------------------------------------------------------

interface Sample {
  start: number;
  end: number;
  status: number;
  family: number;
  kind: 'write' | 'read';
  retryAfter: string | null;
}

const samples: Sample[] = [];
let baseUrl = '';

async function call(
  method: string,
  url: string,
  options: {
    token?: string;
    body?: unknown;
    key?: string;
    family?: number;
    kind?: Sample['kind'];
  } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const start = Date.now();
  let status = 0;
  let body: Record<string, unknown> = {};
  let headers = new Headers();
  try {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.key ? { 'idempotency-key': options.key } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    status = res.status;
    headers = res.headers;
    const text = await res.text();
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    status = 0; // timeout or connection failure: the server did not answer
  }
  if (options.kind) {
    samples.push({
      start,
      end: Date.now(),
      status,
      family: options.family ?? -1,
      kind: options.kind,
      retryAfter: headers.get('retry-after'),
    });
  }
  return { status, body, headers };
}

interface Family {
  index: number;
  parentToken: string;
  childId: string;
  childToken: string;
  conversationId: string;
}

async function createFamily(index: number, topicId: string): Promise<Family> {
  const must = async (what: string, p: ReturnType<typeof call>, ok: number[]) => {
    const res = await p;
    if (!ok.includes(res.status))
      throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const signup = await must(
    'signup',
    call('POST', '/auth/signup', {
      body: {
        email: `fault-${index}-${randomBytes(4).toString('hex')}@example.test`,
        password: `violet ${randomBytes(4).toString('hex')} harbour lantern`,
        timezone: 'UTC',
      },
    }),
    [201],
  );
  const parentToken = signup.accessToken as string;
  for (const type of ['coppa', 'terms', 'privacy'])
    await must(
      'consent',
      call('POST', '/consents/', { token: parentToken, body: { type } }),
      [200, 201],
    );
  const birth = new Date();
  birth.setUTCFullYear(birth.getUTCFullYear() - 8);
  const child = await must(
    'child',
    call('POST', '/children/', {
      token: parentToken,
      body: {
        name: `Kid ${index}`,
        birthDate: birth.toISOString().slice(0, 10),
        interests: ['space'],
      },
    }),
    [201],
  );
  const childId = child.id as string;
  // No bedtime, a long time limit: the run must not depend on the hour it starts at.
  await must(
    'settings',
    call('PATCH', `/children/${childId}`, {
      token: parentToken,
      body: {
        settings: { bedtime_start: '00:00', bedtime_end: '00:00', daily_time_limit_minutes: 600 },
      },
    }),
    [200],
  );
  const session = await must(
    'session',
    call('POST', `/children/${childId}/session`, { token: parentToken }),
    [201],
  );
  const childToken = session.accessToken as string;
  const started = await must(
    'conversation',
    call('POST', `/conversations/children/${childId}`, {
      token: childToken,
      body: { type: 'exploration', topicId },
    }),
    [201],
  );
  const conversation = (started.conversation ?? started) as { id: string };
  return { index, parentToken, childId, childToken, conversationId: conversation.id };
}

interface Ack {
  family: number;
  key: string;
  messageId: string;
  replyId: string;
  attempts: number;
  body: unknown;
}

const acks: Ack[] = [];
let stopping = false;

async function writer(family: Family): Promise<void> {
  for (let n = 0; !stopping; n++) {
    const key = randomUUID();
    const body = n % 2 ? { choiceIndex: 0 } : { text: `Why is the sky blue, question ${n}?` };
    // A client retries with the same key until the write is acknowledged.
    for (let attempt = 1; ; attempt++) {
      const res = await call(
        'POST',
        `/conversations/children/${family.childId}/${family.conversationId}/messages`,
        {
          token: family.childToken,
          key,
          body,
          family: family.index,
          kind: 'write',
        },
      );
      if (res.status === 201) {
        const message = res.body.message as { id: string };
        const reply = res.body.reply as { id: string };
        acks.push({
          family: family.index,
          key,
          messageId: message.id,
          replyId: reply.id,
          attempts: attempt,
          body,
        });
        break;
      }
      if (res.status !== 503 && res.status !== 0 && res.status !== 409)
        console.error(`unexpected write status ${res.status}: ${JSON.stringify(res.body)}`);
      await sleep(250);
    }
    await sleep(30);
  }
}

async function reader(family: Family): Promise<void> {
  while (!stopping) {
    await call('GET', `/streaks/children/${family.childId}`, {
      token: family.parentToken,
      family: family.index,
      kind: 'read',
    });
    await sleep(40);
  }
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

interface FaultResult {
  name: string;
  statuses: Record<string, number>;
  firstUnavailableMs: number | null;
  recoveryMs: number | null;
  maxOutageAnswerMs: number;
  maxOtherFamiliesMs?: number;
  problems: string[];
}

const results: FaultResult[] = [];

async function terminate(cluster: Cluster, state: 'idle' | 'active'): Promise<number> {
  return cluster.admin(async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          AND (CASE WHEN $2 = 'idle' THEN state = 'idle' ELSE state <> 'idle' END)`,
      [DB, state],
    );
    return rows[0]?.n ?? 0;
  });
}

/**
 * Runs one fault: `inject` returns when the database is back (the instant recovery is
 * measured from). Success must then resume within RECOVERY_MS.
 */
async function fault(
  name: string,
  inject: () => Promise<{ restoredAt: number; outage: boolean; lockedFamily?: number }>,
): Promise<void> {
  const started = Date.now();
  const { restoredAt, outage, lockedFamily } = await inject();
  // Wait for the first success that started after the database came back.
  let recoveredAt: number | null = null;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const ok = samples.find((s) => s.start >= restoredAt && s.status >= 200 && s.status < 300);
    if (ok) {
      recoveredAt = ok.end;
      break;
    }
    await sleep(100);
  }
  await sleep(1_500);
  const window = samples.filter((s) => s.end >= started && s.start <= Date.now());
  const statuses: Record<string, number> = {};
  for (const s of window) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const first503 = window.find((s) => s.status === 503);
  const problems: string[] = [];
  const bad = window.filter((s) => s.status !== 503 && (s.status >= 500 || s.status === 0));
  if (bad.length > 0)
    problems.push(
      `${bad.length} answers neither success nor 503: ${[...new Set(bad.map((s) => s.status))].join(',')}`,
    );
  if (window.some((s) => s.status === 503 && !s.retryAfter))
    problems.push('a 503 without Retry-After');
  const during = window.filter((s) => s.start >= started && s.start < restoredAt);
  const maxOutageAnswerMs = Math.max(0, ...during.map((s) => s.end - s.start));
  if (outage && maxOutageAnswerMs > OUTAGE_ANSWER_MS)
    problems.push(`an answer during the outage took ${maxOutageAnswerMs} ms`);
  const recoveryMs = recoveredAt === null ? null : Math.max(0, recoveredAt - restoredAt);
  if (recoveryMs === null || recoveryMs > RECOVERY_MS)
    problems.push(`success resumed ${recoveryMs === null ? 'never' : `after ${recoveryMs} ms`}`);
  const result: FaultResult = {
    name,
    statuses,
    firstUnavailableMs: first503 ? first503.end - started : null,
    recoveryMs,
    maxOutageAnswerMs,
    problems,
  };
  if (lockedFamily !== undefined) {
    const others = during.filter((s) => s.family !== lockedFamily);
    result.maxOtherFamiliesMs = Math.max(0, ...others.map((s) => s.end - s.start));
    const slowOthers = others.filter((s) => s.status !== 200 && s.status !== 201);
    if (slowOthers.length > 0) problems.push(`${slowOthers.length} failures in other families`);
    if (result.maxOtherFamiliesMs > DB_LIMITS.lockTimeoutMs + 1_000)
      problems.push(`other families waited ${result.maxOtherFamiliesMs} ms`);
    const locked = during.filter((s) => s.family === lockedFamily && s.kind === 'write');
    if (!locked.some((s) => s.status === 503)) problems.push('the locked child never answered 503');
  }
  results.push(result);
  const codes = Object.entries(statuses)
    .map(([code, n]) => `${code}x${n}`)
    .join(' ');
  console.log(
    `${name.padEnd(28)} statuses ${codes.padEnd(26)} first 503 ${result.firstUnavailableMs ?? '-'} ms, ` +
      `recovery ${recoveryMs ?? '-'} ms, slowest answer in outage ${maxOutageAnswerMs} ms` +
      (result.maxOtherFamiliesMs !== undefined
        ? `, other families max ${result.maxOtherFamiliesMs} ms`
        : '') +
      (problems.length ? `  FAIL: ${problems.join('; ')}` : '  ok'),
  );
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}

// ---------------------------------------------------------------------------------------
// Checks in SQL
// ---------------------------------------------------------------------------------------

async function checkData(cluster: Cluster, families: Family[]): Promise<string[]> {
  const problems: string[] = [];
  await cluster.admin(async (db) => {
    const ids = acks.flatMap((a) => [a.messageId, a.replyId]);
    const { rows: found } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[])',
      [ids],
    );
    if (found[0]?.n !== ids.length)
      problems.push(`lost: ${ids.length - (found[0]?.n ?? 0)} acknowledged messages missing`);
    for (const family of families) {
      const keys = acks.filter((a) => a.family === family.index).length;
      const { rows } = await db.query<{
        user_messages: number;
        keys: number;
        questions: number;
        daily: number;
      }>(
        `SELECT (SELECT count(*)::int FROM messages WHERE conversation_id = $2 AND role = 'user') AS user_messages,
                (SELECT count(*)::int FROM idempotency_keys WHERE child_id = $1) AS keys,
                (SELECT questions_asked FROM conversations WHERE id = $2) AS questions,
                (SELECT COALESCE(sum(questions_asked), 0)::int FROM daily_activity WHERE child_id = $1) AS daily`,
        [family.childId, family.conversationId],
      );
      const r = rows[0];
      if (!r) continue;
      if (r.user_messages !== keys)
        problems.push(
          `family ${family.index}: ${r.user_messages} stored messages for ${keys} acknowledged keys (lost or duplicated)`,
        );
      if (r.keys !== keys)
        problems.push(
          `family ${family.index}: ${r.keys} idempotency keys for ${keys} acknowledged`,
        );
      if (r.questions !== r.user_messages || r.daily !== r.user_messages)
        problems.push(
          `family ${family.index}: counters ${r.questions}/${r.daily} vs ${r.user_messages} messages`,
        );
    }
  });
  // Retries of acknowledged writes replay the stored answer and write nothing.
  const before = await cluster.admin(
    async (db) =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages')).rows[0]?.n,
  );
  for (const ack of acks.slice(-12)) {
    const family = families[ack.family] as Family;
    const res = await call(
      'POST',
      `/conversations/children/${family.childId}/${family.conversationId}/messages`,
      {
        token: family.childToken,
        key: ack.key,
        body: ack.body,
      },
    );
    const message = res.body.message as { id?: string } | undefined;
    if (
      res.status !== 201 ||
      res.headers.get('idempotent-replayed') !== 'true' ||
      message?.id !== ack.messageId
    )
      problems.push(`retry of ${ack.key}: ${res.status}, not a replay of the acknowledged answer`);
  }
  const after = await cluster.admin(
    async (db) =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages')).rows[0]?.n,
  );
  if (before !== after)
    problems.push(`retries stored ${Number(after) - Number(before)} new messages`);
  return problems;
}

// ---------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const suiteStarted = Date.now();
  const cluster = new Cluster();
  let app: ReturnType<typeof spawn> | undefined;
  let appExited: string | undefined;
  let warnings = 0;
  const cleanup = () => {
    stopping = true;
    if (app && app.exitCode === null) app.kill('SIGTERM');
    cluster.cleanup();
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    await cluster.init();
    await cluster.admin((c) => c.query(`CREATE DATABASE ${DB}`), 'postgres');
    await cluster.admin((c) => migrateUp(c));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      DATABASE_URL: cluster.url(),
      PORT: String(port),
      LOG_LEVEL: 'warn',
      TUTOR_DAILY_MESSAGE_CAP: '10000',
      DB_POOL_MAX: '5',
    };
    delete env.REDIS_URL;
    delete env.JWT_SIGNING_KEYS;
    app = spawn(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'],
      {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    app.stdout?.resume();
    let startupOutput = '';
    app.stderr?.on('data', (d: Buffer) => {
      if (startupOutput.length < 10_000) startupOutput += d.toString();
      warnings += d
        .toString()
        .split('\n')
        .filter((l) => l.includes('"severity"')).length;
    });
    app.on('exit', (code, signal) => {
      appExited = `exit code ${code} signal ${signal}`;
    });
    for (let i = 0; ; i++) {
      if (appExited) throw new Error(`the server exited at start: ${appExited}\n${startupOutput}`);
      if ((await call('GET', '/health/live')).status === 200) break;
      if (i > 600) throw new Error('the server did not start');
      await sleep(100);
    }
    const families: Family[] = [];
    const topicId = await cluster.admin(
      async (c) =>
        (await c.query<{ id: string }>("SELECT id FROM topics WHERE slug = 'space'")).rows[0]?.id,
    );
    if (!topicId) throw new Error('the seed has no space topic');
    for (let i = 0; i < FAMILIES; i++) families.push(await createFamily(i, topicId));
    console.log(
      `cluster on port ${cluster.port}, server on ${port}, ${FAMILIES} families: load running`,
    );
    const load = [...families.map(writer), ...families.map(reader)];
    await sleep(3_000);
    const warningsBefore = warnings;

    await fault('terminate idle backends', async () => {
      await terminate(cluster, 'idle');
      return { restoredAt: Date.now(), outage: false };
    });
    await fault('terminate active backends', async () => {
      for (let i = 0; i < 5; i++) {
        await terminate(cluster, 'active');
        await sleep(300);
      }
      return { restoredAt: Date.now(), outage: false };
    });
    await fault('restart the server', async () => {
      cluster.restart();
      return { restoredAt: Date.now(), outage: true };
    });
    await fault('stop the server for 20 s', async () => {
      cluster.stop('fast');
      await sleep(20_000);
      cluster.start();
      return { restoredAt: Date.now(), outage: true };
    });
    await fault('freeze (SIGSTOP) for 15 s', async () => {
      const pids = cluster.pids();
      signalAll(pids, 'SIGSTOP');
      await sleep(15_000);
      signalAll(pids.slice(1), 'SIGCONT');
      signalAll(pids.slice(0, 1), 'SIGCONT');
      return { restoredAt: Date.now(), outage: true };
    });
    await fault('fill the connection slots', async () => {
      // Drop the server's pooled connections first, so it needs new ones while full.
      await terminate(cluster, 'idle');
      const held: pg.Client[] = [];
      for (;;) {
        const client = new pg.Client({ connectionString: cluster.url() });
        client.on('error', () => undefined);
        try {
          await client.connect();
          held.push(client);
        } catch {
          break;
        }
      }
      await sleep(8_000);
      await Promise.all(held.map((c) => c.end().catch(() => undefined)));
      return { restoredAt: Date.now(), outage: true };
    });
    const lockedFamily = families[0] as Family;
    await fault("hold one child's lock for 8 s", async () => {
      await cluster.admin(async (db) => {
        await db.query('BEGIN');
        await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `child:${lockedFamily.childId}`,
        ]);
        await sleep(8_000);
        await db.query('COMMIT');
      });
      return { restoredAt: Date.now(), outage: false, lockedFamily: lockedFamily.index };
    });

    stopping = true;
    await Promise.race([Promise.all(load), sleep(60_000)]);
    const dataProblems = await checkData(cluster, families);
    const retried = acks.filter((a) => a.attempts > 1).length;
    console.log(
      `writes acknowledged ${acks.length} (${retried} after retries with the same key), ` +
        `requests ${samples.length}, warning lines during faults ${warnings - warningsBefore}`,
    );
    const problems = [
      ...results.flatMap((r) => r.problems.map((p) => `${r.name}: ${p}`)),
      ...dataProblems,
      ...(appExited ? [`the server process exited: ${appExited}`] : []),
    ];
    console.log(
      `data checks: ${dataProblems.length === 0 ? 'no acknowledged write lost or duplicated, retries replay, counters match' : dataProblems.join('; ')}`,
    );
    console.log(
      `fault suite ${problems.length === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - suiteStarted) / 1000)} s`,
    );
    for (const p of problems) console.log(`  - ${p}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
