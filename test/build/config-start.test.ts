// A bad configuration value stops a function at its cold start, naming the variable: each
// function is started the way Cloud Functions starts it (the Functions Framework's binary,
// here loading the TypeScript source through tsx) and must exit non-zero with one JSON log
// line that names the variable and not its value. A good configuration serves.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/build.ts';
import { ConfigError, parseConfig, productionProblems } from '../../shared/config.ts';

const frameworkMain = path.join(
  repoRoot,
  'node_modules/@google-cloud/functions-framework/build/src/main.js',
);

function signingKeys(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return JSON.stringify([
    { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'ES256' },
  ]);
}

interface Started {
  child: ChildProcess;
  exit: Promise<{ code: number | null; stderr: string; stdout: string }>;
}

function startFunction(name: string, env: Record<string, string>, port = 0): Started {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      frameworkMain,
      `--target=${name}`,
      `--source=${path.join(repoRoot, 'functions', name, 'index.ts')}`,
      `--port=${port}`,
    ],
    { cwd: repoRoot, env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', ...env } },
  );
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  const exit = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr, stdout })),
  );
  return { child, exit };
}

function criticalLine(stderr: string): { message: string; invalidVariables: string[] } {
  const line = stderr
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { severity?: string; message: string; invalidVariables: string[] };
      } catch {
        return undefined;
      }
    })
    .find((l) => l?.severity === 'CRITICAL');
  if (!line) throw new Error(`no CRITICAL JSON line in:\n${stderr}`);
  return line;
}

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
};

describe('a function cold start with a bad configuration', () => {
  it.each([
    ['auth', 'JWT_SIGNING_KEYS', { ...production, JWT_SIGNING_KEYS: 'notjson' }, 'notjson'],
    ['consents', 'JWT_SIGNING_KEYS', { ...production }, undefined],
    ['streak-reset', 'DB_POOL_MAX', { ...production, DB_POOL_MAX: 'lots' }, 'lots'],
    ['partition-maintenance', 'INSTANCE_CONNECTION_NAME', { NODE_ENV: 'production' }, undefined],
  ] as const)(
    '%s exits non-zero naming %s',
    async (name, variable, env, value) => {
      const { exit } = startFunction(name, env as Record<string, string>);
      const result = await exit;
      expect(result.code).not.toBe(0);
      const line = criticalLine(result.stderr);
      expect(line.invalidVariables).toContain(variable);
      expect(line.message).toContain(variable);
      // A value may be a secret: never echoed.
      if (value) expect(result.stderr).not.toContain(value);
    },
    60_000,
  );

  it('with a good configuration, the same function starts and serves', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const { child, exit } = startFunction(
      'health',
      { ...production, JWT_SIGNING_KEYS: signingKeys(), LOG_LEVEL: 'silent' },
      port,
    );
    try {
      let status = 0;
      for (let i = 0; i < 200 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/live`)
          .then((r) => r.status)
          .catch(() => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
        if (child.exitCode !== null) break;
      }
      expect(status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exit;
    }
  }, 60_000);
});

describe('configuration checks', () => {
  it('name every faulty variable, values aside', () => {
    try {
      parseConfig({ DB_POOL_MAX: '0', PORT: 'x', JWT_SIGNING_KEYS: '[]' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables).toEqual(['DB_POOL_MAX', 'PORT', 'JWT_SIGNING_KEYS']);
    }
  });

  it('require a database, and signing keys for HTTP functions, only in production', () => {
    const dev = parseConfig({ NODE_ENV: 'development' });
    expect(productionProblems(dev, 'http')).toEqual([]);
    const prod = parseConfig({ NODE_ENV: 'production' });
    expect(productionProblems(prod, 'http').map(([v]) => v)).toEqual([
      'INSTANCE_CONNECTION_NAME',
      'JWT_SIGNING_KEYS',
    ]);
    expect(productionProblems(prod, 'job').map(([v]) => v)).toEqual(['INSTANCE_CONNECTION_NAME']);
    const connector = parseConfig({ NODE_ENV: 'production', INSTANCE_CONNECTION_NAME: 'p:r:i' });
    expect(productionProblems(connector, 'job').map(([v]) => v)).toEqual(['DB_IAM_USER']);
  });
});
