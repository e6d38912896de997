// `npm start` end to end: embedded database, every HTTP function on one port, health ready,
// and a second process refused the same embedded data folder.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/free-port.ts';
import { httpFunctions } from '../../shared/registry.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function startServer(port: number, dataDir: string): { child: ChildProcess; output: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), EMBEDDED_DB_DIR: dataDir };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env,
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  return { child, output: () => output };
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

let dataDir: string;
let port: number;
let server: ReturnType<typeof startServer>;

beforeAll(async () => {
  dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'bs-start-')), 'pglite');
  port = await freePort();
  server = startServer(port, dataDir);
  await waitFor(() => server.output().includes('BrainSpark functions on'), 90_000);
}, 100_000);

afterAll(async () => {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  await rm(path.dirname(dataDir), { recursive: true, force: true });
});

describe('npm start (embedded database)', () => {
  it('serves health with the database ready', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health/`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { database: { ready: boolean; migration: string } };
    expect(body.database.ready).toBe(true);
    expect(body.database.migration).toMatch(/^\d{14}_/);
  });

  it('mounts every HTTP function of the registry under its name', async () => {
    for (const fn of httpFunctions) {
      const res = await fetch(`http://127.0.0.1:${port}/${fn.name}/no-such-route`);
      // The function itself answers (problem+json 404), not the local router.
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const unknown = await fetch(`http://127.0.0.1:${port}/nope/`);
    expect(unknown.status).toBe(404);
  });

  it('serves the seeded catalogue', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/topics/?ageGroup=mind_masters`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { topics: unknown[] };
    expect(body.topics.length).toBeGreaterThanOrEqual(30);
  });

  it('refuses a second process on the same embedded data folder', async () => {
    const second = startServer(await freePort(), dataDir);
    const code = await new Promise<number | null>((r) => second.child.once('exit', r));
    expect(code).not.toBe(0);
    expect(second.output()).toContain('is in use by process');
  });
});
