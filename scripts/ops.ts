// Shared by scripts/deploy.ts and scripts/restore-table.ts: a plan is a list of steps, each a
// list of commands given as argument vectors (never shell strings), that is either printed
// (--dry-run, touching nothing) or run in order, stopping at the first failure.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const terraformDir = path.join(repoRoot, 'terraform');

export interface Command {
  argv: string[];
  /** Skip the command when this one succeeds (makes "create if missing" steps idempotent). */
  unless?: string[];
  /** Produces the command's standard input at run time (never printed). */
  stdin?: { describe: string; produce: () => Promise<string> | string };
  /** Extra environment at run time, e.g. PGPASSWORD (values are never printed). */
  env?: () => Promise<Record<string, string>> | Record<string, string>;
  /** Started in the background and stopped when the plan ends (cloud-sql-proxy). */
  background?: boolean;
  /** Wait after starting a background command, for it to listen. */
  settleMs?: number;
}

export interface Step {
  title: string;
  why: string;
  commands: Command[];
}

const safeWord = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(word: string): string {
  return safeWord.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

export function formatCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

export function renderPlan(steps: readonly Step[]): string {
  const lines: string[] = [];
  steps.forEach((step, i) => {
    lines.push(`${i + 1}. ${step.title}`);
    lines.push(`   # ${step.why}`);
    for (const c of step.commands) {
      const prefix = c.unless ? `unless \`${formatCommand(c.unless)}\` succeeds: ` : '';
      const bg = c.background ? ' &   # in the background until the end' : '';
      const input = c.stdin ? `   <<< ${c.stdin.describe}` : '';
      lines.push(`   $ ${prefix}${formatCommand(c.argv)}${bg}${input}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

export class StepFailed extends Error {
  override name = 'StepFailed';
}

/** Runs the plan; background commands are stopped at the end, whatever happens. */
export async function runPlan(
  steps: readonly Step[],
  { cwd = repoRoot, quiet = false }: { cwd?: string; quiet?: boolean } = {},
): Promise<void> {
  const background: ChildProcess[] = [];
  const out = quiet ? 'ignore' : 'inherit';
  const say = (text: string) => {
    if (!quiet) process.stdout.write(text);
  };
  try {
    for (const [i, step] of steps.entries()) {
      say(`\n==> ${i + 1}/${steps.length} ${step.title}\n`);
      for (const c of step.commands) {
        if (c.unless) {
          const probe = spawnSync(c.unless[0] ?? '', c.unless.slice(1), { cwd, stdio: 'ignore' });
          if (probe.status === 0) {
            say(`    (already done: ${formatCommand(c.unless)})\n`);
            continue;
          }
        }
        say(`    $ ${formatCommand(c.argv)}\n`);
        const env = { ...process.env, ...(c.env ? await c.env() : {}) };
        if (c.background) {
          const child = spawn(c.argv[0] ?? '', c.argv.slice(1), {
            cwd,
            env,
            stdio: ['ignore', out, 'inherit'],
          });
          background.push(child);
          await new Promise((resolve) => setTimeout(resolve, c.settleMs ?? 3000));
          if (child.exitCode !== null)
            throw new StepFailed(`${step.title}: ${c.argv[0]} exited early`);
          continue;
        }
        const input = c.stdin ? await c.stdin.produce() : undefined;
        const result = spawnSync(c.argv[0] ?? '', c.argv.slice(1), {
          cwd,
          env,
          input,
          stdio: [input === undefined ? 'inherit' : 'pipe', out, 'inherit'],
        });
        if (result.error || result.status !== 0) {
          throw new StepFailed(
            `${step.title} failed: ${formatCommand(c.argv)} (${result.error?.message ?? `exit ${result.status}`})`,
          );
        }
      }
    }
  } finally {
    for (const child of background) child.kill('SIGTERM');
  }
}

/** Output of a command that must succeed (used for values such as a secret or a git sha). */
export function capture(argv: readonly string[], cwd = repoRoot): string {
  const result = spawnSync(argv[0] ?? '', argv.slice(1), { cwd, encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new StepFailed(
      `${formatCommand(argv)} failed: ${result.error?.message ?? result.stderr}`,
    );
  }
  return result.stdout.trim();
}

export interface EnvironmentSettings {
  name: string;
  varFile: string;
  projectId: string;
  region: string;
  artifactsBucket: string;
}

/** Reads the environment's tfvars (the same file Terraform gets) for what the scripts need. */
export async function readEnvironment(name: string): Promise<EnvironmentSettings> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new StepFailed(`Bad environment name: ${name}`);
  const varFile = path.join('environments', `${name}.tfvars`);
  const text = await readFile(path.join(terraformDir, varFile), 'utf8').catch(() => {
    throw new StepFailed(`No terraform/${varFile}: copy environments/dev.tfvars and edit it`);
  });
  const vars = (await parse(varFile, text)) as Record<string, unknown>;
  const str = (key: string, fallback?: string): string => {
    const v = vars[key] ?? fallback;
    if (typeof v !== 'string' || v.length === 0)
      throw new StepFailed(`terraform/${varFile} must set ${key}`);
    return v;
  };
  return {
    name,
    varFile,
    projectId: str('project_id'),
    region: str('region', 'us-central1'),
    artifactsBucket: str('artifacts_bucket'),
  };
}

/** Minimal --flag value / --switch parser; unknown flags are errors, not silently ignored. */
export function parseFlags(
  args: readonly string[],
  spec: { values: readonly string[]; switches: readonly string[] },
): { values: Map<string, string>; switches: Set<string> } {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const [flag = '', inline] = arg.split(/=(.*)/s, 2);
    const name = flag.replace(/^--/, '');
    if (spec.switches.includes(name) && inline === undefined) {
      switches.add(name);
    } else if (spec.values.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new StepFailed(`${flag} needs a value`);
      values.set(name, value);
    } else {
      throw new StepFailed(`Unknown argument: ${arg}`);
    }
  }
  return { values, switches };
}
