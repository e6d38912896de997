// `npm start` serves the contract: /openapi.json (the document of the routes it runs), /docs
// (Scalar's reference page, offline from node_modules) rendering every operation in headless
// Chromium with no console error, and the typed client (clients/typescript) walks the README's
// child session against it, each answer checked against the document as well.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrainSparkClient } from '../../clients/typescript/src/index.ts';
import { freePort } from '../../scripts/lib/free-port.ts';
import { realClockEnv } from '../helpers/browser.ts';
import { type ContractValidator, createValidator, loadDocument } from './validator.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

let dataDir: string;
let base: string;
let child: ChildProcess;
let output = '';

beforeAll(async () => {
  dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'bs-contract-')), 'pglite');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), EMBEDDED_DB_DIR: dataDir };
  delete env.DATABASE_URL;
  child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: root, env });
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 120_000;
  while (!output.includes('BrainSpark functions on')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 130_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  if (dataDir) await rm(path.dirname(dataDir), { recursive: true, force: true });
});

type Json = Record<string, unknown>;
const headersOf = (headers: Headers) => {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
};
const operationsOf = (doc: Json) =>
  Object.entries(doc.paths as Record<string, Record<string, { summary: string }>>).flatMap(
    ([p, item]) => Object.entries(item).map(([method, op]) => ({ path: p, method, ...op })),
  );

describe('npm start serves the API contract', () => {
  it('serves /openapi.json: the committed document, its server set to this one', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const served = (await res.json()) as Json;
    const committed = loadDocument();
    expect(served.servers).toEqual([{ url: base, description: 'This server (npm start)' }]);
    expect({ ...served, servers: committed.servers }).toEqual(committed);
  });

  it('renders /docs in headless Chromium with every operation and no console error', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`).toBe(true);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      env: realClockEnv(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const offsite: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      // Offline: anything not served by this server is refused (and listed).
      await page.route('**/*', (r) => {
        if (r.request().url().startsWith(base)) return r.continue();
        offsite.push(r.request().url());
        return r.abort();
      });
      await page.goto(`${base}/docs`, { waitUntil: 'load' });
      const doc = loadDocument();
      const operations = operationsOf(doc);
      // Each function's group lists its operations as `METHOD /path`.
      const wanted = operations.map((op) => `${op.method.toUpperCase()} ${op.path}`).sort();
      await page.waitForFunction(
        (n) => document.querySelectorAll('.endpoint').length >= n,
        wanted.length,
        { timeout: 60_000 },
      );
      const listed = await page.evaluate(() =>
        Array.from(document.querySelectorAll('.endpoint'), (e) =>
          ['.endpoint-method', '.endpoint-path']
            .map((part) => (e.querySelector(part)?.textContent ?? '').replace(/\s+/g, ''))
            .join(' '),
        ),
      );
      // The page shows methods in capitals by CSS, DELETE as DEL.
      const normalised = listed.map((e) =>
        e.replace(/^\S+/, (m) => m.toUpperCase().replace(/^DEL$/, 'DELETE')),
      );
      expect(normalised.sort()).toEqual(wanted);
      const text = await page.evaluate(() => document.body.textContent ?? '');
      expect(text).toContain('BrainSpark API');
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
      await page.screenshot({ path: path.join(root, 'test-artifacts/api-docs.png') });
    } finally {
      await browser.close();
    }
  }, 120_000);

  it("walks the README's child session through the typed client", async () => {
    const validator: ContractValidator = createValidator();
    const violations: string[] = [];
    const checked: Middleware = {
      async onResponse({ response, schemaPath, request }) {
        const [, functionName = '', ...rest] = schemaPath.split('/');
        violations.push(
          ...validator.check({
            functionName,
            method: request.method,
            routePath: `/${rest.join('/')}`,
            status: response.status,
            headers: headersOf(response.headers),
            body: await response.clone().text(),
          }),
        );
      },
    };
    const api = createBrainSparkClient({ baseUrl: base });
    // Every answer the client gets is checked against the document too.
    api.use(checked);

    const signup = await api.POST('/auth/signup', {
      body: {
        email: 'sam@example.com',
        password: 'correct horse battery',
        displayName: 'Sam',
        timezone: 'Pacific/Kiritimati',
      },
    });
    expect(signup.response.status).toBe(201);
    const parentToken = signup.data?.accessToken ?? '';
    api.useToken(parentToken);
    for (const type of ['coppa', 'terms', 'privacy'] as const) {
      const granted = await api.POST('/consents', { body: { type } });
      expect(granted.response.status).toBe(201);
    }
    const consents = await api.GET('/consents');
    expect(consents.data?.status.filter((s) => s.granted).map((s) => s.type)).toEqual([
      'coppa',
      'terms',
      'privacy',
    ]);

    const created = await api.POST('/children', {
      body: {
        name: 'Maya',
        birthDate: '2018-03-14',
        interests: ['space'],
        settings: { bedtime_start: '23:59', bedtime_end: '00:00' },
      },
    });
    expect(created.response.status).toBe(201);
    const childId = created.data?.id ?? '';
    const pin = await api.PUT('/children/{childId}/pin', {
      params: { path: { childId } },
      body: { pin: '2468' },
    });
    expect(pin.data?.hasPin).toBe(true);
    const session = await api.POST('/children/{childId}/session', {
      params: { path: { childId } },
      body: { pin: '2468' },
    });
    expect(session.response.status).toBe(201);
    expect(session.data?.notice).toMatch(/grown-up/);

    // The child's device.
    const kid = createBrainSparkClient({ baseUrl: base, token: session.data?.accessToken ?? '' });
    kid.use(checked);
    const sky = await kid.GET('/topics/children/{childId}/constellation', {
      params: { path: { childId } },
    });
    const space = sky.data?.topics.find((t) => t.slug === 'space');
    expect(space?.unlocked).toBe(true);
    const start = await kid.POST('/conversations/children/{childId}', {
      params: { path: { childId } },
      body: { type: 'exploration', topicId: space?.id ?? '' },
    });
    expect(start.response.status).toBe(201);
    expect(start.data?.message.choices?.length).toBeGreaterThanOrEqual(2);
    const conversationId = start.data?.conversation.id ?? '';

    const answers = [
      { text: 'I think it is dark because there is no air up there' },
      { choiceIndex: 0 },
      { text: 'Maybe planets would go faster if the sun was bigger' },
      { choiceIndex: 1 },
      { text: 'Oh I get it, gravity pulls them so they keep going round' },
    ];
    let depth = 0;
    let stars = 0;
    for (const [i, body] of answers.entries()) {
      const posted = await kid.POST('/conversations/children/{childId}/{conversationId}/messages', {
        params: {
          path: { childId, conversationId },
          header: { 'Idempotency-Key': `maya-answer-${i + 1}` },
        },
        body,
      });
      expect(posted.response.status, JSON.stringify(posted.error)).toBe(201);
      depth = posted.data?.conversation.depthReached ?? 0;
      stars += posted.data?.rewards.starsEarned ?? 0;
    }
    expect(depth).toBeGreaterThanOrEqual(3);
    expect(stars).toBeGreaterThan(0);
    // A retry with the same key replays the first answer.
    const replay = await kid.POST('/conversations/children/{childId}/{conversationId}/messages', {
      params: {
        path: { childId, conversationId },
        header: { 'Idempotency-Key': 'maya-answer-5' },
      },
      body: answers[4] ?? { choiceIndex: 0 },
    });
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');

    const ended = await kid.POST('/conversations/children/{childId}/{conversationId}/end', {
      params: { path: { childId, conversationId } },
    });
    expect(ended.data?.conversation.endedAt).not.toBeNull();
    const streak = await kid.GET('/streaks/children/{childId}', { params: { path: { childId } } });
    expect(streak.data?.current).toBe(1);
    const rewards = await kid.GET('/rewards/children/{childId}', { params: { path: { childId } } });
    expect(rewards.data?.stars).toBeGreaterThan(0);

    const overview = await api.GET('/dashboard/children/{childId}', {
      params: { path: { childId } },
    });
    expect(overview.data?.stars).toBe(rewards.data?.stars);
    const activity = await api.GET('/dashboard/children/{childId}/activity', {
      params: { path: { childId } },
    });
    expect(activity.data?.days.length).toBe(1);

    // Errors come back typed as problem+json.
    const locked = await kid.GET('/dashboard/children/{childId}', {
      params: { path: { childId } },
    });
    expect(locked.response.status).toBe(403);
    expect(locked.error?.code).toBe('forbidden');

    expect(violations).toEqual([]);
  }, 120_000);
});
