// Every function bundle builds on its own, and imports and registers its function in a fresh
// Node process (its cold import time is printed); the migration bundle runs without any
// node_modules, as it does in the Cloud Run job.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BundleResult,
  buildFunction,
  buildMigrate,
  externalPackages,
  formatBytes,
  repoRoot,
} from '../../scripts/build.ts';
import { functionRegistry } from '../../shared/registry.ts';
import { createEmptyDatabase } from '../helpers/db.ts';

// Inside the repo so the bundles' external packages resolve from its node_modules, as they
// resolve from the function's own node_modules once Cloud Build has installed them.
const outDir = path.join(repoRoot, 'dist', `.test-${randomBytes(4).toString('hex')}`);
const available = functionRegistry.filter((f) => existsSync(path.join(repoRoot, f.source)));
const report: string[] = [];

// Runs in a child process: import the bundle, then ask the framework for the function.
const probe = `
const started = performance.now();
await import(process.env.BUNDLE_URL);
const importMs = performance.now() - started;
const { getFunction } = await import('@google-cloud/functions-framework/testing');
const fn = getFunction(process.env.FUNCTION_NAME);
process.stdout.write(JSON.stringify({ importMs, registered: typeof fn }));
`;

function coldImport(bundle: BundleResult): { importMs: number; registered: string } {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      BUNDLE_URL: pathToFileURL(bundle.entry).href,
      FUNCTION_NAME: bundle.name,
      METADATA_SERVER_DETECTION: 'none',
      LOG_LEVEL: 'silent',
    },
  });
  if (child.status !== 0) throw new Error(`import of ${bundle.name} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout);
}

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
  await rm(`${outDir}.zip`, { force: true });
  if (report.length > 0) console.log(`bundle sizes and cold import times:\n${report.join('\n')}`);
});

describe('function bundles', () => {
  it('cover every registered function whose source exists', () => {
    const missing = functionRegistry.filter((f) => !available.includes(f)).map((f) => f.source);
    if (missing.length > 0) console.warn(`not built yet (no source): ${missing.join(', ')}`);
    expect(available.map((f) => f.name)).toContain('health');
  });

  it.each(available.map((f) => [f.name, f] as const))(
    '%s builds alone, imports in a fresh Node process and registers itself',
    async (_name, spec) => {
      const bundle = await buildFunction(spec, outDir, spec.name === 'health');
      const { importMs, registered } = coldImport(bundle);
      expect(registered).toBe('function');

      // Only packages that cannot be bundled are left to npm, pinned to the project's versions.
      const pkg = JSON.parse(await readFile(path.join(bundle.dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({ type: 'module', main: 'index.mjs' });
      const rootPkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8'));
      expect(pkg.dependencies['@google-cloud/functions-framework']).toBe(
        rootPkg.dependencies['@google-cloud/functions-framework'],
      );
      for (const [dep, version] of Object.entries(pkg.dependencies)) {
        expect(externalPackages).toContain(dep);
        expect(version).toBe(rootPkg.dependencies[dep]);
      }

      // Files the code finds through import.meta.url sit where the rewritten URL points.
      for (const asset of bundle.assets)
        expect(existsSync(path.join(bundle.dir, asset)), asset).toBe(true);

      report.push(
        `  ${spec.name.padEnd(24)} ${formatBytes(bundle.bundleBytes).padStart(10)}  cold import ${importMs.toFixed(0).padStart(5)} ms`,
      );
      console.log(
        `${spec.name}: bundle ${formatBytes(bundle.bundleBytes)}, cold import ${importMs.toFixed(0)} ms`,
      );
    },
    120_000,
  );

  it('zips a bundle with its entry and package.json at the root, byte for byte reproducibly', async () => {
    const health = functionRegistry.find((f) => f.name === 'health');
    if (!health) throw new Error('health is not registered');
    const first = await buildFunction(health, outDir, true);
    const firstBytes = await readFile(first.zipPath ?? '');
    expect(first.zipBytes).toBeGreaterThan(0);
    expect(first.zipBytes).toBeLessThan(first.bundleBytes);
    // unzip, an independent reader, finds every entry intact.
    const check = spawnSync('unzip', ['-t', first.zipPath ?? ''], { encoding: 'utf8' });
    expect(check.stdout).toContain('No errors detected');
    const listing = spawnSync('unzip', ['-Z1', first.zipPath ?? ''], { encoding: 'utf8' });
    expect(listing.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'index.mjs',
      'package.json',
    ]);
    const second = await buildFunction(health, outDir, true);
    expect((await readFile(second.zipPath ?? '')).equals(firstBytes)).toBe(true);
  }, 120_000);

  it('zips nested folders (assets such as prisma/seed) so they unpack in place', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zip-assets-'));
    try {
      const { writeZip } = await import('../../scripts/build.ts');
      await mkdir(path.join(dir, 'in', 'prisma', 'seed'), { recursive: true });
      await writeFile(path.join(dir, 'in', 'index.mjs'), 'export {};\n');
      await writeFile(path.join(dir, 'in', 'prisma', 'seed', 'sparks.json'), '{"ok":true}\n');
      await writeZip(path.join(dir, 'in'), path.join(dir, 'out.zip'));
      const out = spawnSync('unzip', ['-q', path.join(dir, 'out.zip'), '-d', path.join(dir, 'x')]);
      expect(out.status).toBe(0);
      expect(await readFile(path.join(dir, 'x', 'prisma', 'seed', 'sparks.json'), 'utf8')).toBe(
        '{"ok":true}\n',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migration bundle', () => {
  it('applies the migrations from a folder with no node_modules, then finds nothing to do', async () => {
    const bundle = await buildMigrate(outDir);
    expect(bundle.assets).toContain(path.join('prisma', 'migrations'));
    expect(bundle.dependencies).toEqual({});
    // Where the job's plain Node image sees it: no node_modules anywhere up the tree.
    const isolated = await mkdtemp(path.join(tmpdir(), 'brainspark-migrate-'));
    await cp(bundle.dir, isolated, { recursive: true });
    const db = await createEmptyDatabase();
    try {
      const run = (command: string) =>
        spawnSync(process.execPath, [path.join(isolated, 'index.mjs'), command], {
          cwd: isolated,
          encoding: 'utf8',
          timeout: 60_000,
          env: {
            PATH: process.env.PATH,
            DATABASE_URL: db.url,
            NODE_ENV: 'production',
            LOG_LEVEL: 'silent',
          },
        });
      const first = run('up');
      expect(first.stderr).toBe('');
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/Applied \d+ migration/);
      const { rows } = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL',
      );
      expect(rows[0]?.n).toBeGreaterThan(0);
      const second = run('up');
      expect(second.status).toBe(0);
      expect(second.stdout).toContain('nothing applied');
    } finally {
      await db.drop();
      await rm(isolated, { recursive: true, force: true });
    }
  }, 120_000);
});
