// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations are plain strings here.
// The database connection budget (docs/CAPACITY.md): for every environment file, the sum over
// the registry's functions of max instances x DB_POOL_MAX, plus the operations jobs and a
// reserve, must fit under that environment's max_connections flag. The registry is imported
// at test time, so a new function counts the moment it is registered.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { JOB_SHARDS } from '../../shared/jobs/lock.ts';
import { type FunctionSpec, functionRegistry } from '../../shared/registry.ts';
import { type Hcl, loadModule, resource, type TerraformModule, terraformDir } from './hcl.ts';

/** The migrate/seed job and the restore job: one connection each to the primary. */
const OPERATIONS_CONNECTIONS = 2;
/** superuser_reserved_connections (3), Cloud SQL's own agents, one operator session. */
const RESERVE = 10;

/** Cloud SQL for PostgreSQL's default max_connections by instance memory (GB, lower bound). */
const cloudSqlDefaultMaxConnections: Array<[number, number]> = [
  [120, 1000],
  [60, 800],
  [30, 600],
  [15, 500],
  [7.5, 400],
  [6, 200],
  [3.75, 100],
];

function tierDefaultMaxConnections(tier: string): number {
  const mb = Number(/^db-custom-\d+-(\d+)$/.exec(tier)?.[1]);
  if (!mb) throw new Error(`Not a custom tier: ${tier}`);
  const gb = mb / 1024;
  return cloudSqlDefaultMaxConnections.find(([min]) => gb >= min)?.[1] ?? 50;
}

interface Environment {
  file: string;
  maxConnections: number;
  maxInstances: Record<string, number>;
}

function connectionDemand(
  registry: readonly FunctionSpec[],
  maxInstances: Record<string, number>,
): { functions: number; total: number } {
  const functions = registry.reduce(
    (sum, f) => sum + (maxInstances[f.name] ?? f.maxInstances) * f.dbPoolMax,
    0,
  );
  return { functions, total: functions + OPERATIONS_CONNECTIONS + RESERVE };
}

let mod: TerraformModule;
let environments: Environment[];

beforeAll(async () => {
  mod = await loadModule();
  const defaults = {
    maxConnections: mod.variable.database_max_connections?.[0].default as number,
    maxInstances: (mod.variable.function_max_instances?.[0].default ?? {}) as Record<
      string,
      number
    >,
  };
  const dir = path.join(terraformDir, 'environments');
  environments = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.tfvars')).sort()) {
    const vars = (await parse(file, await readFile(path.join(dir, file), 'utf8'))) as Hcl;
    environments.push({
      file,
      maxConnections: vars.database_max_connections ?? defaults.maxConnections,
      maxInstances: vars.function_max_instances ?? defaults.maxInstances,
    });
  }
});

describe('the database connection budget', () => {
  it('is checked for every environment file', () => {
    expect(environments.map((e) => e.file)).toEqual(
      expect.arrayContaining(['dev.tfvars', 'prod.tfvars']),
    );
  });

  it('fits under max_connections in every environment', () => {
    for (const env of environments) {
      const { total } = connectionDemand(functionRegistry, env.maxInstances);
      expect(
        total,
        `${env.file}: demand ${total} vs max_connections ${env.maxConnections}`,
      ).toBeLessThanOrEqual(env.maxConnections);
    }
  });

  it('overrides only registered functions', () => {
    const names = new Set(functionRegistry.map((f) => f.name));
    for (const env of environments) {
      expect(
        Object.keys(env.maxInstances).filter((n) => !names.has(n)),
        env.file,
      ).toEqual([]);
    }
  });

  it('would fail for one function too many (the sum is not a constant)', () => {
    const extra: FunctionSpec = {
      ...(functionRegistry[0] as FunctionSpec),
      name: 'extra',
      maxInstances: 20,
      dbPoolMax: 5,
    };
    const before = connectionDemand(functionRegistry, {}).total;
    expect(connectionDemand([...functionRegistry, extra], {}).total).toBe(before + 100);
    expect(before + 100).toBeGreaterThan(100);
  });

  it('gives every sharded job the lock session plus its shard connections', () => {
    // Jobs that split their work with inShards need JOB_SHARDS connections beside the lock's
    // session; the notification jobs work on the lock's session (and one shared connection).
    const shards = (name: string) =>
      readFileSync(new URL(`../../shared/jobs/${name}.ts`, import.meta.url), 'utf8').includes(
        'inShards(',
      );
    const jobs = functionRegistry.filter((f) => f.kind === 'job');
    expect(jobs.filter((f) => shards(f.name)).length).toBeGreaterThan(0);
    for (const f of jobs) {
      expect(f.dbPoolMax, f.name).toBeGreaterThanOrEqual(shards(f.name) ? JOB_SHARDS + 1 : 1);
    }
  });

  it('is the max_connections flag of both instances, within the tier default', () => {
    const flag = (name: string) =>
      resource(mod, 'google_sql_database_instance', name).settings[0].database_flags.find(
        (f: Hcl) => f.name === 'max_connections',
      )?.value;
    expect(flag('brainspark')).toBe('${tostring(var.database_max_connections)}');
    // A replica must allow at least the primary's connections.
    expect(flag('brainspark_replica')).toBe('${tostring(var.database_max_connections)}');
    const tier = resource(mod, 'google_sql_database_instance', 'brainspark').settings[0].tier;
    expect(tierDefaultMaxConnections(tier)).toBe(100);
    for (const env of environments) {
      expect(env.maxConnections, env.file).toBeLessThanOrEqual(tierDefaultMaxConnections(tier));
    }
  });

  it('is the same arithmetic Terraform enforces with a precondition at plan time', () => {
    expect(mod.locals.operations_database_connections).toBe(OPERATIONS_CONNECTIONS);
    expect(mod.locals.database_connection_reserve).toBe(RESERVE);
    expect(String(mod.locals.function_database_connections).replace(/\s+/g, ' ')).toBe(
      '${{ for name, f in local.functions : name => lookup(var.function_max_instances, name, f.max_instances) * f.db_pool_max }}',
    );
    const db = resource(mod, 'google_sql_database_instance', 'brainspark');
    expect(db.lifecycle[0].precondition[0].condition).toBe(
      '${local.database_connection_demand <= var.database_max_connections}',
    );
  });
});
