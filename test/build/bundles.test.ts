// Every function bundle builds on its own, and imports and registers its function in a fresh
// Node process (its cold import time is printed); the migration bundle runs without any
// node_modules, as it does in the Cloud Run job.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BundleResult,
  buildFunction,
  buildMigrate,
  bundleLockfile,
  externalPackages,
  formatBytes,
  type PackageLock,
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
      // The install Cloud Build runs is pinned by a lock matching package.json.
      const lock = JSON.parse(await readFile(path.join(bundle.dir, 'package-lock.json'), 'utf8'));
      expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
      expect(lock.packages['node_modules/@google-cloud/functions-framework'].version).toBe(
        rootPkg.dependencies['@google-cloud/functions-framework'],
      );

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
      'package-lock.json',
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

describe('build robustness', () => {
  it('a failed build leaves the previous bundle and its zip as they were, and no scratch folder', async () => {
    const dir = path.join(outDir, 'robust');
    await mkdir(dir, { recursive: true });
    const health = functionRegistry.find((f) => f.name === 'health');
    if (!health) throw new Error('health is not registered');
    const good = await buildFunction({ ...health, name: 'fn' }, dir, true);
    const before = await readFile(good.zipPath ?? '');
    const entryBefore = await readFile(good.entry);
    // A source that cannot be bundled (an import that does not resolve).
    const broken = path.join(dir, 'broken.ts');
    await writeFile(
      broken,
      "import { nothing } from './does-not-exist.ts';\nexport { nothing };\n",
    );
    const spec = { ...health, name: 'fn', source: path.relative(repoRoot, broken) };
    await expect(buildFunction(spec, dir, true)).rejects.toThrow(/does-not-exist/);
    expect((await readFile(path.join(dir, 'fn.zip'))).equals(before)).toBe(true);
    expect((await readFile(path.join(dir, 'fn', 'index.mjs'))).equals(entryBefore)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['broken.ts', 'fn', 'fn.zip']);
  }, 120_000);

  it('npm run build works on a fresh clone: it generates the Prisma client first', async () => {
    // The tracked files only (no shared/db/generated), with the installed node_modules.
    const clone = await mkdtemp(path.join(tmpdir(), 'brainspark-clone-'));
    try {
      const files = spawnSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
        .stdout.split('\0')
        .filter(Boolean);
      for (const file of files) {
        if (!existsSync(path.join(repoRoot, file))) continue;
        await mkdir(path.dirname(path.join(clone, file)), { recursive: true });
        await cp(path.join(repoRoot, file), path.join(clone, file));
      }
      await symlink(path.join(repoRoot, 'node_modules'), path.join(clone, 'node_modules'));
      expect(existsSync(path.join(clone, 'shared/db/generated'))).toBe(false);
      const run = spawnSync('npm', ['run', 'build', '--', 'health', '--no-zip'], {
        cwd: clone,
        encoding: 'utf8',
        timeout: 180_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      expect(run.stderr).not.toContain('Could not resolve');
      expect(run.status).toBe(0);
      expect(existsSync(path.join(clone, 'dist/health/index.mjs'))).toBe(true);
    } finally {
      await rm(clone, { recursive: true, force: true });
    }
  }, 200_000);
});

describe('bundle lock files', () => {
  it('hold exactly what the external packages reach in the repo lock, platform binaries optional', async () => {
    const rootLock = JSON.parse(
      await readFile(path.join(repoRoot, 'package-lock.json'), 'utf8'),
    ) as PackageLock;
    const rootPkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8'));
    const deps = {
      '@google-cloud/functions-framework':
        rootPkg.dependencies['@google-cloud/functions-framework'],
      '@node-rs/argon2': rootPkg.dependencies['@node-rs/argon2'],
    };
    const lock = bundleLockfile(rootLock, 'brainspark-x', deps, { node: '>=22' });
    expect(lock.lockfileVersion).toBe(3);
    expect(lock.packages['']).toEqual({
      name: 'brainspark-x',
      dependencies: deps,
      engines: { node: '>=22' },
    });
    const keys = Object.keys(lock.packages);
    // What the framework needs at run time is there, with the repo's versions and hashes.
    for (const key of [
      'node_modules/express',
      'node_modules/cloudevents',
      'node_modules/body-parser',
    ]) {
      expect(lock.packages[key]?.version).toBe(rootLock.packages[key]?.version);
      expect(lock.packages[key]?.integrity).toBe(rootLock.packages[key]?.integrity);
    }
    // Nothing else: no dev tools, none of the bundled libraries.
    for (const key of [
      'node_modules/vitest',
      'node_modules/esbuild',
      'node_modules/zod',
      'node_modules/pg',
    ])
      expect(keys).not.toContain(key);
    expect(keys.some((k) => rootLock.packages[k]?.dev)).toBe(false);
    // Per-platform binaries stay optional so npm installs only the matching one.
    expect(lock.packages['node_modules/@node-rs/argon2-linux-x64-gnu']?.optional).toBe(true);
    expect(lock.packages['node_modules/@node-rs/argon2']?.optional).toBeUndefined();
    expect(lock.packages['node_modules/express']?.optional).toBeUndefined();
  });

  it('refuse a dependency missing from the repo lock', () => {
    expect(() =>
      bundleLockfile({ lockfileVersion: 3, packages: { '': {} } }, 'x', { nope: '1.0.0' }),
    ).toThrow(/nope is not in package-lock.json/);
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
