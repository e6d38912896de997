// The production rehearsal: `npm run rehearse`. Runs the deploy artifacts the way Google Cloud
// runs them, on this machine, and fails on anything that would fail there:
//   1. `npm run build` (Prisma client, one bundle per function, the migration bundle);
//   2. each function bundle copied outside the repo and installed as the Cloud Functions
//      Node.js buildpack does (`npm install --omit=dev` from its own package.json and lock,
//      on Node.js 22, one shared npm cache, a few installs at a time);
//   3. a fresh database set up as the deploy sets it up: a stand-in for Cloud SQL's
//      `cloudsqlsuperuser` owns the database, the `migrator` password user is its member,
//      the functions' and jobs' users are plain logins; the migration bundle runs as the
//      migrator, then its grants.mjs, exactly the Cloud Run migration job's command;
//   4. every function started with the Functions Framework from its installed copy, on
//      Node.js 22, NODE_ENV=production, the production configuration (fresh ES256 signing
//      keys, Redis, pool size...), HTTP functions as the API user, jobs as the jobs user;
//   5. a whole account and learning flow across the HTTP functions, every job of
//      shared/registry.ts through a Pub/Sub CloudEvent (partition-maintenance for a month
//      far enough ahead to create new partitions), then a new migration that ALTERs the
//      partitioned tables, applied by the migration bundle, then health naming it;
//   6. a function started with a bad configuration value must exit non-zero, naming it.
// Prints a table (function, install s, cold start ms to the first 2xx, result), exits 1 on
// any failure, and drops its database, roles, Redis keys and processes whatever happens.
//   npm run rehearse                       everything
//   npm run rehearse -- --skip-build       reuse dist/ (after a build)
//   npm run rehearse -- --keep             keep the scratch folder (installed bundles, logs)
// Environment: REHEARSE_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
// REHEARSE_REDIS_URL (default redis://127.0.0.1:6379), REHEARSE_INSTALL_CONCURRENCY (3).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from './lib/free-port.ts';
import { ensureNode22 as installNode22, NODE22 as node22 } from './lib/node22.ts';
import {
  formatTable,
  midMonth,
  partitionSuffix,
  probeMigration,
  probeMigrationName,
  pubsubCloudEvent,
  type RehearsalRow,
  runName,
} from './rehearse/parts.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const skipBuild = args.includes('--skip-build');
const keep = args.includes('--keep');
const adminUrl = process.env.REHEARSE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REHEARSE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const installConcurrency = Number(process.env.REHEARSE_INSTALL_CONCURRENCY ?? 3);
const cacheDir = path.join(repoRoot, '.cache');
const npmCache = path.join(cacheDir, 'npm');

const suffix = randomBytes(4).toString('hex');
const names = {
  database: runName('rehearse', suffix),
  owner: runName('rh', suffix, 'cloudsqlsuperuser'),
  migrator: runName('rh', suffix, 'migrator'),
  api: runName('rh', suffix, 'api'),
  jobs: runName('rh', suffix, 'jobs'),
};
const password = randomBytes(16).toString('hex');
const keyPrefix = `rehearse:${suffix}:`;
const rows: RehearsalRow[] = [];
const children: ChildProcess[] = [];
let workDir = '';
let failed = false;

const started = performance.now();
const say = (message: string) =>
  process.stdout.write(
    `[rehearse ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`,
  );

class StepError extends Error {}

function record(row: RehearsalRow): void {
  rows.push(row);
  if (!row.ok) failed = true;
  say(`${row.ok ? 'ok' : 'FAILED'} ${row.name}: ${row.result}`);
}

/** Runs a command to completion, output to a log file; rejects with the log's tail on failure. */
function run(
  command: string,
  commandArgs: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; log: string; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    const out = createWriteStream(options.log, { flags: 'a' });
    const collect = (d: Buffer) => {
      output += d.toString();
      out.write(d);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      out.end();
      if (code === 0) resolve(output);
      else
        reject(
          new StepError(
            `${path.basename(command)} ${commandArgs.join(' ')} exited ${code}:\n${output.slice(-3000)}`,
          ),
        );
    });
  });
}

async function admin<T>(work: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const url = new URL(adminUrl);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function urlFor(role: string): string {
  const url = new URL(adminUrl);
  url.username = role;
  url.password = password;
  url.pathname = `/${names.database}`;
  return url.toString();
}

/** The npm CLI the system uses, run by Node 22 (the buildpack runs npm on the runtime's Node). */
function npmCli(): string {
  const fromEnv = process.env.npm_execpath;
  if (fromEnv?.endsWith('.js') && existsSync(fromEnv)) return fromEnv;
  const which = spawnSyncOut('sh', ['-c', 'command -v npm']).trim();
  const real = realpathSync(which);
  const cli = real.endsWith('.js') ? real : path.join(path.dirname(real), 'npm-cli.js');
  if (!existsSync(cli)) throw new StepError(`cannot find npm-cli.js next to ${which}`);
  return cli;
}

function spawnSyncOut(command: string, commandArgs: readonly string[]): string {
  const result = spawnSync(command, commandArgs, { encoding: 'utf8' });
  return result.stdout ?? '';
}

async function ensureNode22(): Promise<string> {
  try {
    return installNode22(path.join(workDir, 'node22-install.log'));
  } catch (err) {
    throw new StepError((err as Error).message);
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

interface Running {
  name: string;
  port: number;
  child: ChildProcess;
  spawnedAt: number;
  log: () => string;
  exited: Promise<number | null>;
  coldStartMs?: number;
}

const running = new Map<string, Running>();
let mailCatcher: import('../shared/dev/mail-catcher.ts').MailCatcher | undefined;

function startFunction(
  name: string,
  kind: 'http' | 'job' | 'event',
  env: Record<string, string>,
  port: number,
): Running {
  const dir = path.join(workDir, 'functions', name);
  // What the buildpack's launcher runs: the framework's binary from the installed bundle.
  const bin = path.join(dir, 'node_modules', '.bin', 'functions-framework');
  const child = spawn(node22, [realpathSync(bin), `--target=${name}`, `--port=${port}`], {
    cwd: dir,
    env: {
      PATH: `${path.dirname(node22)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '/tmp',
      PORT: String(port),
      K_SERVICE: name,
      K_REVISION: `${name}-rehearsal`,
      FUNCTION_TARGET: name,
      FUNCTION_SIGNATURE_TYPE: kind === 'http' ? 'http' : 'cloudevent',
      METADATA_SERVER_DETECTION: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const file = createWriteStream(path.join(workDir, 'logs', `${name}.log`), { flags: 'a' });
  const collect = (d: Buffer) => {
    output += d.toString();
    file.write(d);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      file.end();
      resolve(code);
    }),
  );
  return { name, port, child, spawnedAt: performance.now(), log: () => output, exited };
}

interface CallOptions {
  method?: string;
  path?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  expect?: number[];
}

/**
 * One request to a running function. The first one waits for the instance to listen (the
 * cold start is measured from spawn to the first 2xx, as a user's first request sees it).
 */
async function call(
  fn: Running,
  options: CallOptions = {},
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON the steps check field by field
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (fn.child.exitCode !== null)
      throw new StepError(`${fn.name} exited with ${fn.child.exitCode}:\n${fn.log().slice(-2000)}`);
    let response: Response;
    try {
      response = await fetch(`http://127.0.0.1:${fn.port}${options.path ?? '/'}`, {
        method: options.method ?? 'GET',
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
      if (!refused || performance.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    const expected = options.expect ?? [200, 201, 204];
    if (!expected.includes(response.status))
      throw new StepError(
        `${fn.name} ${options.method ?? 'GET'} ${options.path ?? '/'} answered ${response.status}: ${text.slice(0, 500)}`,
      );
    if (fn.coldStartMs === undefined && response.status >= 200 && response.status < 300)
      fn.coldStartMs = performance.now() - fn.spawnedAt;
    return { status: response.status, body };
  }
}

async function main(): Promise<void> {
  workDir = await mkdtemp(path.join(tmpdir(), `brainspark-rehearse-${suffix}-`));
  await mkdir(path.join(workDir, 'logs'), { recursive: true });
  await mkdir(npmCache, { recursive: true });
  say(`scratch folder ${workDir}, database ${names.database}`);

  // The registry is read now, from the source: a new function or job is rehearsed too.
  const { functionRegistry } = await import('../shared/registry.ts');

  // 1. Build, as CI and the deploy do.
  if (!skipBuild) {
    const t = performance.now();
    await run('npm', ['run', 'build'], {
      cwd: repoRoot,
      log: path.join(workDir, 'logs', 'build.log'),
      timeoutMs: 600_000,
    });
    record({
      name: 'npm run build',
      ok: true,
      result: `${((performance.now() - t) / 1000).toFixed(1)} s, ${functionRegistry.length} functions + migrate`,
    });
  }
  for (const spec of functionRegistry)
    if (!existsSync(path.join(repoRoot, 'dist', spec.name, 'package.json')))
      throw new StepError(`dist/${spec.name} is missing: run without --skip-build`);

  // 2. Node.js 22 and the buildpack-style installs.
  const node = await ensureNode22();
  const npm = npmCli();
  say(
    `${spawnSyncOut(node, ['--version']).trim()} at ${node}; npm ${spawnSyncOut(node, [npm, '--version']).trim()}`,
  );
  const installSeconds = new Map<string, number>();
  const installFailures = new Map<string, string>();
  await pool(functionRegistry, installConcurrency, async (spec) => {
    const dir = path.join(workDir, 'functions', spec.name);
    await cp(path.join(repoRoot, 'dist', spec.name), dir, { recursive: true });
    const lockBefore = await readFile(path.join(dir, 'package-lock.json'), 'utf8');
    const t = performance.now();
    try {
      await run(
        node,
        [
          npm,
          'install',
          '--omit=dev',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
          '--cache',
          npmCache,
        ],
        {
          cwd: dir,
          env: { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH ?? ''}` },
          log: path.join(workDir, 'logs', `${spec.name}-install.log`),
        },
      );
      installSeconds.set(spec.name, (performance.now() - t) / 1000);
      // Reproducible: npm found nothing to change in the lock build wrote.
      const lockAfter = await readFile(path.join(dir, 'package-lock.json'), 'utf8');
      if (lockAfter !== lockBefore)
        installFailures.set(spec.name, 'npm install rewrote package-lock.json (lock out of sync)');
    } catch (error) {
      installFailures.set(spec.name, (error as Error).message.slice(0, 400));
    }
  });
  say(`installed ${functionRegistry.length} bundles (${installConcurrency} at a time)`);
  const migrateDir = path.join(workDir, 'migrate');
  await cp(path.join(repoRoot, 'dist', 'migrate'), migrateDir, { recursive: true });

  // 3. The database, as Terraform and the migration job leave it.
  await admin(async (c) => {
    const q = pg.escapeIdentifier;
    const lit = pg.escapeLiteral;
    await c.query(`CREATE ROLE ${q(names.owner)} NOLOGIN CREATEDB CREATEROLE`);
    await c.query(
      `CREATE ROLE ${q(names.migrator)} LOGIN CREATEDB CREATEROLE PASSWORD ${lit(password)} IN ROLE ${q(names.owner)}`,
    );
    await c.query(`CREATE ROLE ${q(names.api)} LOGIN PASSWORD ${lit(password)}`);
    await c.query(`CREATE ROLE ${q(names.jobs)} LOGIN PASSWORD ${lit(password)}`);
    await c.query(`CREATE DATABASE ${q(names.database)} OWNER ${q(names.owner)}`);
  });
  const migrateEnv = {
    PATH: `${path.dirname(node)}:${process.env.PATH ?? ''}`,
    NODE_ENV: 'production',
    DATABASE_URL: urlFor(names.migrator),
  };
  const migrate = async (label: string) => {
    const t = performance.now();
    const out = await run(node, [path.join(migrateDir, 'index.mjs'), 'up'], {
      cwd: migrateDir,
      env: migrateEnv,
      log: path.join(workDir, 'logs', 'migrate.log'),
    });
    await run(
      node,
      [path.join(migrateDir, 'grants.mjs'), '--api-user', names.api, '--jobs-user', names.jobs],
      { cwd: migrateDir, env: migrateEnv, log: path.join(workDir, 'logs', 'migrate.log') },
    );
    // The migrate job's last command (terraform/migrate.tf): the idempotent seed.
    const seeded = existsSync(path.join(migrateDir, 'seed.mjs'));
    if (seeded)
      await run(node, [path.join(migrateDir, 'seed.mjs')], {
        cwd: migrateDir,
        env: migrateEnv,
        log: path.join(workDir, 'logs', 'migrate.log'),
      });
    record({
      name: label,
      ok: true,
      result: `${(out.match(/Applied \d+ migration\(s\)|nothing applied/) ?? ['applied'])[0]}, then grants.mjs${seeded ? ', seed.mjs' : ''} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
    });
  };
  await migrate('migrate + grants (as migrator)');

  // 4. Production configuration, per kind of function.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKeys = JSON.stringify([
    { ...privateKey.export({ format: 'jwk' }), kid: `rehearsal-${suffix}`, alg: 'ES256' },
  ]);
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    REDIS_URL: redisUrl,
    RATE_LIMIT_KEY_PREFIX: `${keyPrefix}rl:`,
    CACHE_KEY_PREFIX: `${keyPrefix}cache:`,
    JWT_ISSUER: 'https://auth.brainspark.app',
    JWT_AUDIENCE: 'brainspark-api',
    TUTOR_PROVIDER: 'builtin',
    CORS_ORIGINS: 'https://app.brainspark.app',
  };
  // Mail goes to a real SMTP server in this process (the local mail catcher), as it goes to
  // the provider in production; the unsubscribe-link key is a secret like the signing keys.
  const { startMailCatcher } = await import('../shared/dev/mail-catcher.ts');
  mailCatcher = await startMailCatcher();
  const notifyEnv = {
    NOTIFY_TOKEN_KEY: randomBytes(32).toString('hex'),
    PUBLIC_APP_URL: 'https://app.brainspark.app',
    PUBLIC_API_URL: 'https://api.brainspark.app',
  };
  const httpEnv = {
    ...common,
    ...notifyEnv,
    DATABASE_URL: urlFor(names.api),
    JWT_SIGNING_KEYS: signingKeys,
  };
  const jobEnv = {
    ...common,
    ...notifyEnv,
    SMTP_URL: mailCatcher.url,
    DATABASE_URL: urlFor(names.jobs),
  };

  const specs = new Map(functionRegistry.map((f) => [f.name, f]));
  /** The running instance of a function, started on first use (its cold start). */
  const fn = async (name: string): Promise<Running> => {
    const existing = running.get(name);
    if (existing) return existing;
    const spec = specs.get(name);
    if (!spec) throw new StepError(`${name} is not in shared/registry.ts`);
    if (installFailures.has(name)) throw new StepError(`${name} did not install`);
    const instance = startFunction(
      name,
      spec.kind,
      // Each function's pool size is the registry's, as Terraform sets it.
      { ...(spec.kind === 'http' ? httpEnv : jobEnv), DB_POOL_MAX: String(spec.dbPoolMax) },
      await freePort(),
    );
    running.set(name, instance);
    return instance;
  };
  const checks = new Map<string, string[]>();
  const note = (name: string, what: string) =>
    checks.set(name, [...(checks.get(name) ?? []), what]);
  const functionErrors = new Map<string, string>();
  const step = async (name: string, what: string, work: () => Promise<void>) => {
    if (functionErrors.has(name)) return;
    try {
      await work();
      note(name, what);
    } catch (error) {
      functionErrors.set(name, `${what}: ${(error as Error).message.slice(0, 600)}`);
      failed = true;
      say(`FAILED ${name} ${what}: ${(error as Error).message.slice(0, 2000)}`);
    }
  };

  // 5a. Health under the API user.
  const migrations = (await readdir(path.join(migrateDir, 'prisma', 'migrations'))).filter((n) =>
    /^\d{14}_/.test(n),
  );
  const latest = [...migrations].sort().at(-1);
  await step('health', 'GET / 200 as the API user, latest migration named', async () => {
    const { body } = await call(await fn('health'), { expect: [200] });
    if (body?.database?.migration !== latest)
      throw new StepError(`health names ${body?.database?.migration}, expected ${latest}`);
  });

  // 5b. A family's whole first session, across the HTTP bundles.
  const email = `rehearsal-${suffix}@example.com`;
  let parent = '';
  let refreshToken = '';
  let childId = '';
  let kid = '';
  let topicId = '';
  let conversationId = '';
  await step('auth', 'signup 201', async () => {
    const { body } = await call(await fn('auth'), {
      method: 'POST',
      path: '/signup',
      body: {
        email,
        password: 'correct horse battery staple',
        displayName: 'Rehearsal',
        timezone: 'Pacific/Kiritimati',
      },
      expect: [201],
    });
    parent = body.accessToken;
    refreshToken = body.refreshToken;
    if (!parent || !refreshToken) throw new StepError('no tokens in the signup answer');
  });
  await step('consents', 'coppa, terms, privacy granted', async () => {
    for (const type of ['coppa', 'terms', 'privacy'])
      await call(await fn('consents'), {
        method: 'POST',
        path: '/',
        token: parent,
        body: { type },
      });
    await call(await fn('consents'), { path: '/', token: parent, expect: [200] });
  });
  await step('children', 'child, PIN, child session', async () => {
    const birth = new Date();
    birth.setUTCFullYear(birth.getUTCFullYear() - 8);
    const { body } = await call(await fn('children'), {
      method: 'POST',
      path: '/',
      token: parent,
      body: {
        name: 'Maya',
        birthDate: birth.toISOString().slice(0, 10),
        interests: ['space'],
        // A one-minute bedtime: the rehearsal works at any hour.
        settings: { bedtime_start: '23:59', bedtime_end: '00:00' },
      },
      expect: [201],
    });
    childId = body.id;
    await call(await fn('children'), {
      method: 'PUT',
      path: `/${childId}/pin`,
      token: parent,
      body: { pin: '2468' },
    });
    const session = await call(await fn('children'), {
      method: 'POST',
      path: `/${childId}/session`,
      token: parent,
      body: { pin: '2468' },
    });
    kid = session.body.accessToken;
    if (!kid) throw new StepError('no child session token');
  });
  await step('topics', 'constellation for the child', async () => {
    const { body } = await call(await fn('topics'), {
      path: `/children/${childId}/constellation`,
      token: kid,
      expect: [200],
    });
    const topics = (
      (body?.topics ?? []) as { id: string; slug: string; unlocked: boolean }[]
    ).filter((t) => t.unlocked);
    topicId = (topics.find((t) => t.slug === 'space') ?? topics[0])?.id ?? '';
    if (!topicId) throw new StepError('no unlocked topic in the constellation (seed missing?)');
  });
  await step('conversations', 'start, 3 messages, end', async () => {
    const start = await call(await fn('conversations'), {
      method: 'POST',
      path: `/children/${childId}`,
      token: kid,
      body: { type: 'exploration', topicId },
    });
    conversationId = start.body?.conversation?.id;
    if (!conversationId) throw new StepError('no conversation id');
    const answers = [
      { text: 'I think it is dark because there is no air up there' },
      { choiceIndex: 0 },
      { text: 'Maybe gravity pulls the planets so they keep going round' },
    ];
    for (const [i, body] of answers.entries())
      await call(await fn('conversations'), {
        method: 'POST',
        path: `/children/${childId}/${conversationId}/messages`,
        token: kid,
        headers: { 'idempotency-key': `rehearsal-${suffix}-${i}` },
        body,
      });
    await call(await fn('conversations'), {
      method: 'POST',
      path: `/children/${childId}/${conversationId}/end`,
      token: kid,
    });
  });
  // A danger message: its parent alert, delivered by the alert-delivery bundle (the CloudEvent
  // Pub/Sub pushes), must be in the parent's inbox within 60 s, without the child's words.
  await step('alert-delivery', 'safety alert email within 60 s of the message', async () => {
    const started = performance.now();
    const start = await call(await fn('conversations'), {
      method: 'POST',
      path: `/children/${childId}`,
      token: kid,
      body: { type: 'exploration', topicId },
    });
    const words = 'sometimes I want to die';
    await call(await fn('conversations'), {
      method: 'POST',
      path: `/children/${childId}/${start.body?.conversation?.id}/messages`,
      token: kid,
      body: { text: words },
    });
    const alertId = await admin(
      async (c) =>
        (
          await c.query<{ id: string }>(
            `SELECT id FROM parent_alerts WHERE child_id = $1 AND severity = 'high' ORDER BY created_at DESC LIMIT 1`,
            [childId],
          )
        ).rows[0]?.id,
      names.database,
    );
    if (!alertId) throw new StepError('the danger message raised no high-severity alert');
    await call(await fn('alert-delivery'), {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: pubsubCloudEvent('brainspark-rehearsal', 'parent-alerts', { alertId }, new Date()),
      expect: [200, 204],
    });
    const mail = await (mailCatcher as NonNullable<typeof mailCatcher>).waitFor(
      (m) => m.envelopeTo.includes(email),
      60_000,
    );
    const seconds = (performance.now() - started) / 1000;
    if (seconds > 60) throw new StepError(`alert email after ${seconds.toFixed(1)} s`);
    if (!mail.subject.startsWith('Safety alert for'))
      throw new StepError(`unexpected subject ${mail.subject}`);
    if (`${mail.text}${mail.html}`.includes(words))
      throw new StepError("the email quotes the child's words");
    say(`alert email "${mail.subject}" ${seconds.toFixed(1)} s after the message`);
  });
  await step('dashboard', "parent's child view and activity", async () => {
    const { body } = await call(await fn('dashboard'), {
      path: `/children/${childId}`,
      token: parent,
      expect: [200],
    });
    if (!body || typeof body !== 'object') throw new StepError('empty dashboard');
    await call(await fn('dashboard'), { path: `/children/${childId}/activity`, token: parent });
  });
  await step('parents', 'GET /me', async () => {
    await call(await fn('parents'), { path: '/me', token: parent, expect: [200] });
  });
  await step('progress', "the child's progress", async () => {
    await call(await fn('progress'), { path: `/children/${childId}`, token: kid, expect: [200] });
  });
  await step('streaks', 'streak after the conversation', async () => {
    const { body } = await call(await fn('streaks'), {
      path: `/children/${childId}`,
      token: kid,
      expect: [200],
    });
    if (!(Number(body?.current) >= 1)) throw new StepError(`streak ${JSON.stringify(body)}`);
  });
  await step('rewards', 'stars and badges', async () => {
    await call(await fn('rewards'), { path: `/children/${childId}`, token: kid, expect: [200] });
  });
  await step('leaderboard', 'opt in, then the board', async () => {
    await call(await fn('leaderboard'), {
      method: 'PUT',
      path: `/children/${childId}/opt-in`,
      token: parent,
      body: { optIn: true },
    });
    await call(await fn('leaderboard'), {
      path: `/children/${childId}`,
      token: kid,
      expect: [200],
    });
  });
  await step('auth', 'refresh rotates the token', async () => {
    await call(await fn('auth'), { method: 'POST', path: '/refresh', body: { refreshToken } });
  });

  // 5c. Every job, through the CloudEvent Eventarc delivers, as the jobs user.
  const now = new Date();
  const partitionDate = midMonth(now, 2);
  const newestMonth = partitionSuffix(midMonth(now, 6));
  for (const spec of functionRegistry.filter((f) => f.kind === 'job')) {
    const payload = spec.name === 'partition-maintenance' ? { date: partitionDate } : {};
    await step(spec.name, `CloudEvent ${JSON.stringify(payload)}, job finished`, async () => {
      const instance = await fn(spec.name);
      const before = instance.log().length;
      await call(instance, {
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: pubsubCloudEvent('brainspark-rehearsal', `job-${spec.name}`, payload, new Date()),
        expect: [200, 204],
      });
      // 204 also acknowledges a payload the job refused: only its report line proves the run.
      const finished = instance
        .log()
        .slice(before)
        .split('\n')
        .some((l) => l.includes('"job finished"') && l.includes(`"job":"${spec.name}"`));
      if (!finished) throw new StepError(`no "job finished" line:\n${instance.log().slice(-1500)}`);
    });
  }
  await step('brain-sparks', "today's spark after the rollout job", async () => {
    const { body } = await call(await fn('brain-sparks'), {
      path: `/children/${childId}/today`,
      token: kid,
      expect: [200],
    });
    if (!body || typeof body !== 'object') throw new StepError('no spark');
  });
  await step(
    'partition-maintenance',
    `new partitions for ${newestMonth} owned by the migrator`,
    async () => {
      const owners = await admin(
        async (c) =>
          (
            await c.query<{ relname: string; owner: string }>(
              `SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = ANY($1)`,
              [[`messages_${newestMonth}`, `daily_activity_${newestMonth}`]],
            )
          ).rows,
        names.database,
      );
      if (owners.length !== 2 || owners.some((o) => o.owner !== names.migrator))
        throw new StepError(`partitions and owners: ${JSON.stringify(owners)}`);
    },
  );

  // Least privilege: every connection the functions hold is the API or the jobs user.
  const users = await admin(
    async (c) =>
      (
        await c.query<{ usename: string }>(
          `SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [names.database],
        )
      ).rows.map((r) => r.usename),
    names.database,
  );
  const unexpected = users.filter((u) => u !== names.api && u !== names.jobs);
  record({
    name: 'database users',
    ok: unexpected.length === 0 && users.includes(names.api) && users.includes(names.jobs),
    result: `functions connected as ${users
      .map((u) => u.replace(`rh_${suffix}_`, ''))
      .sort()
      .join(', ')}${unexpected.length ? ` (unexpected: ${unexpected.join(', ')})` : ''}`,
  });

  // 5d. The next schema change after the job made partitions: ALTER the partitioned tables.
  const probe = probeMigrationName(migrations);
  const probeDir = path.join(migrateDir, 'prisma', 'migrations', probe);
  await mkdir(probeDir, { recursive: true });
  await writeFile(path.join(probeDir, 'migration.sql'), probeMigration.up);
  await writeFile(path.join(probeDir, 'down.sql'), probeMigration.down);
  try {
    await migrate('migration ALTERing messages, daily_activity');
    const columns = await admin(
      async (c) =>
        (
          await c.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_attribute
              WHERE attname = 'rehearsal_probe' AND attrelid IN ($1::regclass, $2::regclass)`,
            [`messages_${newestMonth}`, `daily_activity_${newestMonth}`],
          )
        ).rows[0]?.n,
      names.database,
    );
    if (columns !== 2) throw new StepError('the new column did not reach the job-made partitions');
    await step('health', `names ${probe} after the migration`, async () => {
      const { body } = await call(await fn('health'), { expect: [200] });
      if (body?.database?.migration !== probe)
        throw new StepError(`health names ${body?.database?.migration}`);
    });
  } catch (error) {
    record({
      name: 'migration ALTERing messages, daily_activity',
      ok: false,
      result: (error as Error).message.slice(0, 600),
    });
  }

  // 6. A bad configuration value stops a function at start, naming the variable.
  {
    const t = performance.now();
    const bad = startFunction(
      'auth',
      'http',
      { ...httpEnv, JWT_SIGNING_KEYS: 'notjson' },
      await freePort(),
    );
    const code = await Promise.race([
      bad.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000)),
    ]);
    if (code === 'timeout') bad.child.kill('SIGKILL');
    const critical = bad
      .log()
      .split('\n')
      .find((l) => l.includes('"severity":"CRITICAL"') && l.includes('JWT_SIGNING_KEYS'));
    const ok =
      code !== 'timeout' && code !== 0 && Boolean(critical) && !bad.log().includes('notjson');
    record({
      name: 'auth with JWT_SIGNING_KEYS=notjson',
      ok,
      result: ok
        ? `exited ${code} after ${Math.round(performance.now() - t)} ms, CRITICAL log names JWT_SIGNING_KEYS`
        : `exit ${code}; log: ${bad.log().slice(-800)}`,
    });
  }

  // The table: one row per function, in registry order.
  const functionRows: RehearsalRow[] = functionRegistry.map((spec) => {
    const instance = running.get(spec.name);
    const error = installFailures.get(spec.name) ?? functionErrors.get(spec.name);
    return {
      name: spec.name,
      installSeconds: installSeconds.get(spec.name),
      coldStartMs: instance?.coldStartMs,
      ok: !error && instance?.coldStartMs !== undefined,
      result: error ?? (checks.get(spec.name) ?? ['never started']).join('; '),
    };
  });
  if (functionRows.some((r) => !r.ok)) failed = true;
  rows.unshift(...functionRows);
}

async function cleanup(): Promise<void> {
  await mailCatcher?.close().catch(() => undefined);
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  try {
    await admin(async (c) => {
      const q = pg.escapeIdentifier;
      await c.query(`DROP DATABASE IF EXISTS ${q(names.database)} WITH (FORCE)`);
      for (const role of [names.api, names.jobs, names.migrator, names.owner])
        await c.query(`DROP ROLE IF EXISTS ${q(role)}`);
    });
  } catch (error) {
    process.stderr.write(`cleanup of ${names.database} failed: ${(error as Error).message}\n`);
  }
  try {
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
  } catch (error) {
    process.stderr.write(
      `cleanup of Redis keys ${keyPrefix}* failed: ${(error as Error).message}\n`,
    );
  }
  if (workDir && !keep && !failed) await rm(workDir, { recursive: true, force: true });
  else if (workDir) process.stdout.write(`logs and installed bundles kept in ${workDir}\n`);
}

let cleaning: Promise<void> | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    failed = true;
    cleaning ??= cleanup();
    void cleaning.then(() => process.exit(130));
  });

try {
  await main();
} catch (error) {
  failed = true;
  record({ name: 'rehearsal', ok: false, result: (error as Error).message.slice(0, 3000) });
} finally {
  cleaning ??= cleanup();
  await cleaning;
}
process.stdout.write(
  `\n${formatTable(rows)}\n\nNode ${node22 && existsSync(node22) ? spawnSyncOut(node22, ['--version']).trim() : '?'}, ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s in all: ${failed ? 'FAILED' : 'passed'}\n`,
);
process.exitCode = failed ? 1 : 0;
