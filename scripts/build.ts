// Generates the Prisma client (the bundles include it), then bundles every function of
// shared/registry.ts on its own with esbuild into dist/<name>/index.mjs plus a package.json
// that names only the packages that cannot be bundled and a package-lock.json cut from the
// repo's lock (so the install Cloud Build runs is reproducible), zips it to dist/<name>.zip
// (what Cloud Functions builds from), and bundles the migration runner (scripts/db.ts) with
// its SQL files into dist/migrate/ for the Cloud Run migration job. Each bundle is written to
// a scratch folder and renamed into place only when complete, so a failed build leaves the
// previous folder and zip as they were. Prints each bundle's size.
//   npx tsx scripts/build.ts                 all functions and the migration bundle
//   npx tsx scripts/build.ts health auth     only these functions
//   npx tsx scripts/build.ts --no-zip        skip the zips (faster local checks)
//   npx tsx scripts/build.ts --no-generate   the Prisma client is already generated
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { type FunctionSpec, functionRegistry } from '../shared/registry.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const defaultOutDir = path.join(repoRoot, 'dist');

/**
 * Packages that must stay outside the bundle, with why:
 * - the Functions Framework: the runtime starts its own copy and looks the function up in
 *   that copy's registry, so the bundle must import the very same installed package;
 * - @node-rs/argon2: a native addon whose platform binary npm picks at install time;
 * - pg-native: an optional native driver pg loads only on request (never here);
 * - @resvg/resvg-js: the digest chart's renderer, a native addon like argon2.
 */
export const externalPackages = [
  '@google-cloud/functions-framework',
  '@node-rs/argon2',
  '@resvg/resvg-js',
  'pg-native',
];

// Bundled CommonJS code still calls require() for Node built-ins, and some of it reads
// __dirname; ESM has neither, so the bundle defines them once at the top.
const esmShim = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  "import { dirname as __bundleDirname } from 'node:path';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __filename = __bundleFileURLToPath(import.meta.url);',
  'const __dirname = __bundleDirname(__filename);',
].join('\n');

export interface BundleResult {
  name: string;
  /** Folder holding index.mjs (or the migration runner), package.json and any assets. */
  dir: string;
  entry: string;
  bundleBytes: number;
  zipPath?: string;
  zipBytes?: number;
  /** Packages left external and actually imported, with the versions package.json pins. */
  dependencies: Record<string, string>;
  /** Files and folders copied next to the bundle because code reads them at run time. */
  assets: string[];
}

function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * Modules that find files with `new URL('<relative>', import.meta.url)` (migrations, the
 * spark bank) keep working after bundling: their `import.meta.url` is rewritten to where the
 * module would sit under the bundle folder, and the file or folder it names is copied to the
 * same relative place. The bundle folder thus mirrors the repo for exactly those paths.
 */
function assetPlugin(assets: Set<string>): esbuild.Plugin {
  return {
    name: 'import-meta-assets',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const relFromRoot = path.relative(repoRoot, args.path).split(path.sep).join('/');
        for (const m of source.matchAll(
          /new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g,
        )) {
          const target = path.resolve(path.dirname(args.path), m[2] ?? '');
          if (existsSync(target) && target.startsWith(repoRoot))
            assets.add(path.relative(repoRoot, target));
        }
        // The bundle sits at the root of <dir>, so this URL is <dir>/<module's repo path>.
        // Only uses that locate files are rewritten; a bare import.meta.url (such as an
        // "am I the entry point?" check) keeps meaning the bundle itself.
        const moduleUrl = `new URL(${JSON.stringify(`./${relFromRoot}`)}, import.meta.url).href`;
        const contents = source
          .replace(
            /(new URL\(\s*(['"])[^'"]+\2\s*,\s*)import\.meta\.url(\s*\))/g,
            `$1${moduleUrl}$3`,
          )
          .replace(/createRequire\(\s*import\.meta\.url\s*\)/g, `createRequire(${moduleUrl})`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

async function rootDependencyVersions(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return pkg.dependencies ?? {};
}

/** One entry of package-lock.json's `packages` map (lockfileVersion 3). */
interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [key: string]: unknown;
}

export interface PackageLock {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/**
 * The lock of a bundle that depends on `dependencies` (a subset of the repo's, same
 * versions): every package those reach in the repo's lock, at the same place in the tree,
 * with the same versions and integrity hashes. So `npm install` in the bundle installs
 * exactly what the tests ran against, without asking the registry to resolve anything.
 * Dependencies are resolved as Node does, from the requiring package's folder upwards.
 * A package reached only through optional edges (argon2's per-platform binaries) stays
 * optional, so npm skips the ones for other platforms.
 */
export function bundleLockfile(
  rootLock: PackageLock,
  name: string,
  dependencies: Record<string, string>,
  engines?: Record<string, string>,
): PackageLock {
  const packages = rootLock.packages;
  const locate = (from: string, dep: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${dep}`;
      if (packages[candidate]) return candidate;
      if (!base) return undefined;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut >= 0 ? base.slice(0, cut) : '';
    }
  };
  const edges = (key: string, withOptional: boolean): string[] => {
    const entry = packages[key] ?? {};
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter(
        (p) => !entry.peerDependenciesMeta?.[p]?.optional,
      ),
      ...(withOptional ? Object.keys(entry.optionalDependencies ?? {}) : []),
    ];
    return names.map((dep) => locate(key, dep)).filter((k): k is string => k !== undefined);
  };
  const reach = (withOptional: boolean): Set<string> => {
    const seen = new Set<string>();
    const pending: string[] = [];
    for (const dep of Object.keys(dependencies)) {
      const key = locate('', dep);
      if (!key) throw new Error(`${dep} is not in package-lock.json: run npm install`);
      pending.push(key);
    }
    for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
      if (seen.has(key)) continue;
      seen.add(key);
      pending.push(...edges(key, withOptional));
    }
    return seen;
  };
  const required = reach(false);
  const all = [...reach(true)].sort();
  const sortedDeps = Object.fromEntries(Object.entries(dependencies).sort());
  const out: Record<string, LockEntry> = {
    '': { name, dependencies: sortedDeps, ...(engines ? { engines } : {}) },
  };
  for (const key of all) {
    // npm's own key order is kept (npm install then leaves the file byte for byte as is).
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[key] ?? {};
    if (required.has(key)) delete entry.optional;
    else entry.optional = true;
    out[key] = entry;
  }
  return { name, lockfileVersion: 3, requires: true, packages: out };
}

async function bundle(options: {
  name: string;
  /** Output name (without .mjs) => source relative to the repo; `index` is the main one. */
  entries: Record<string, string>;
  dir: string;
  zip: boolean;
}): Promise<BundleResult> {
  // Built beside its final place (same file system, so the rename is atomic) and moved there
  // only once complete: an esbuild error leaves the previous bundle and zip untouched.
  const scratch = `${options.dir}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    const res = await bundleInto(scratch, options);
    await rm(options.dir, { recursive: true, force: true });
    await rm(`${options.dir}.zip`, { force: true });
    await rename(scratch, options.dir);
    res.dir = options.dir;
    res.entry = path.join(options.dir, 'index.mjs');
    if (options.zip) {
      res.zipPath = `${options.dir}.zip`;
      await writeZip(options.dir, `${res.zipPath}.tmp`);
      await rename(`${res.zipPath}.tmp`, res.zipPath);
      res.zipBytes = (await stat(res.zipPath)).size;
    }
    return res;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(`${options.dir}.zip.tmp`, { force: true });
  }
}

async function bundleInto(
  dir: string,
  options: { name: string; entries: Record<string, string> },
): Promise<BundleResult> {
  await mkdir(dir, { recursive: true });
  const assets = new Set<string>();
  const result = await esbuild.build({
    // Each entry is a complete bundle on its own (no code splitting).
    entryPoints: Object.fromEntries(
      Object.entries(options.entries).map(([out, source]) => [out, path.join(repoRoot, source)]),
    ),
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: externalPackages,
    banner: { js: esmShim },
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'error',
    plugins: [assetPlugin(assets)],
  });

  const versions = await rootDependencyVersions();
  const dependencies: Record<string, string> = {};
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || builtins.has(imp.path)) continue;
      const pkg = packageNameOf(imp.path);
      // Not a dependency of the project (pg-native): an optional module nobody installs.
      const version = versions[pkg];
      if (version) dependencies[pkg] = version;
    }
  }

  for (const asset of assets) {
    await cp(path.join(repoRoot, asset), path.join(dir, asset), { recursive: true });
  }

  const packageName = `brainspark-${options.name}`;
  const packageJson = {
    name: packageName,
    private: true,
    type: 'module',
    main: 'index.mjs',
    engines: { node: '>=22' },
    dependencies: Object.fromEntries(Object.entries(dependencies).sort()),
  };
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  if (Object.keys(dependencies).length > 0) {
    const rootLock = JSON.parse(
      await readFile(path.join(repoRoot, 'package-lock.json'), 'utf8'),
    ) as PackageLock;
    const lock = bundleLockfile(rootLock, packageName, dependencies, packageJson.engines);
    await writeFile(path.join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  }

  return {
    name: options.name,
    dir,
    entry: path.join(dir, 'index.mjs'),
    bundleBytes: Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0),
    dependencies,
    assets: [...assets].sort(),
  };
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files;
}

/**
 * Writes `dir`'s files into a zip (deflate, no extra fields). Entries are sorted and dated
 * 1980-01-01, so the same bundle always gives the same bytes, and no zip tool is needed.
 */
export async function writeZip(dir: string, zipPath: string): Promise<void> {
  const dosDate = (1 << 5) | 1; // 1980-01-01
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const files = (await listFiles(dir)).sort();
  for (const rel of files) {
    const data = await readFile(path.join(dir, rel));
    const packed = deflateRawSync(data, { level: 9 });
    const name = Buffer.from(rel, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, spec 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    parts.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  await writeFile(zipPath, Buffer.concat([...parts, ...centrals, end]));
}

export function buildFunction(
  spec: FunctionSpec,
  outDir = defaultOutDir,
  zip = true,
): Promise<BundleResult> {
  return bundle({
    name: spec.name,
    entries: { index: spec.source },
    dir: path.join(outDir, spec.name),
    zip,
  });
}

/**
 * The migration runner, self-contained (the Cloud Run job's plain Node image has no
 * node_modules). Uploaded as a folder, not a zip: the job reads it through a bucket mount.
 */
export function buildMigrate(outDir = defaultOutDir): Promise<BundleResult> {
  return bundle({
    name: 'migrate',
    // index.mjs is the migration CLI (`up`, `status`...); grants.mjs and seed.mjs run after it
    // in the migrate job; restore.mjs is the restore job (terraform/migrate.tf).
    entries: {
      index: 'scripts/db.ts',
      grants: 'scripts/db-grants.ts',
      seed: 'scripts/seed.ts',
      restore: 'scripts/restore-job.ts',
    },
    dir: path.join(outDir, 'migrate'),
    zip: false,
  });
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(2)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(args: readonly string[]): Promise<number> {
  const zip = !args.includes('--no-zip');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !functionRegistry.some((f) => f.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`Not in shared/registry.ts: ${unknown.join(', ')}\n`);
    return 1;
  }
  const selected =
    names.length > 0 ? functionRegistry.filter((f) => names.includes(f.name)) : functionRegistry;
  const missing = selected.filter((f) => !existsSync(path.join(repoRoot, f.source)));
  if (missing.length > 0) {
    process.stderr.write(`Missing function sources: ${missing.map((f) => f.source).join(', ')}\n`);
    return 1;
  }
  // The bundles include the generated Prisma client, which a fresh clone does not have yet.
  if (!args.includes('--no-generate')) {
    const generate = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'scripts', 'generate.ts')],
      { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (generate.status !== 0) {
      process.stderr.write('prisma generate failed: nothing was built\n');
      return 1;
    }
  }
  const results: BundleResult[] = [];
  for (const spec of selected) results.push(await buildFunction(spec, defaultOutDir, zip));
  if (names.length === 0) results.push(await buildMigrate());

  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const deps = Object.keys(r.dependencies);
    process.stdout.write(
      `${r.name.padEnd(width)}  bundle ${formatBytes(r.bundleBytes).padStart(10)}` +
        (r.zipBytes === undefined ? '' : `  zip ${formatBytes(r.zipBytes).padStart(10)}`) +
        (deps.length ? `  installs ${deps.join(', ')}` : '') +
        (r.assets.length ? `  assets ${r.assets.join(', ')}` : '') +
        '\n',
    );
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`build failed: ${error instanceof Error ? error.message : error}\n`);
    return 1;
  });
}
