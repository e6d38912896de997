// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations are plain strings here.
// What issue 9 found wrong with the deployed estate, each checked where it is decided:
// timeouts the API would refuse, the uptime check's host, Redis and migrator TLS, deletion
// protection, seeding and restores as jobs inside the VPC with no VM needed.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, manifestPath } from '../../scripts/manifest.ts';
import { functionRegistry } from '../../shared/registry.ts';
import { type Hcl, loadModule, resource, strings, type TerraformModule } from './hcl.ts';

/** Cloud Functions 2nd gen: event-triggered functions time out after at most 540 s. */
const EVENT_LIMIT_SECONDS = 540;
const HTTP_LIMIT_SECONDS = 3600;

let mod: TerraformModule;
let manifest: Manifest;

beforeAll(async () => {
  mod = await loadModule();
  manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
});

const hasTerraform = spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0;

/** Evaluates one HCL expression with `terraform console` (no configuration, offline). */
async function evaluate(expression: string): Promise<unknown> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tf-eval-'));
  try {
    const result = spawnSync('terraform', ['console'], {
      cwd: dir,
      // The console reads one line at a time: a multi-line expression is joined first.
      input: `jsonencode(${expression.replace(/\n\s*/g, ' ')})\n`,
      encoding: 'utf8',
      env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
    });
    if (result.status !== 0) throw new Error(result.stderr);
    return JSON.parse(JSON.parse(result.stdout.trim()));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('function timeouts', () => {
  it('keep every job (an event-triggered function) within 540 s, in the registry and the manifest', () => {
    const jobs = functionRegistry.filter((f) => f.kind === 'job');
    expect(jobs.length).toBeGreaterThan(0);
    for (const f of jobs) expect(f.timeoutSeconds, f.name).toBeLessThanOrEqual(EVENT_LIMIT_SECONDS);
    // Terraform gives an event trigger to exactly the manifest's jobs, with their timeout.
    const fn = resource(mod, 'google_cloudfunctions2_function', 'function');
    expect(fn.dynamic.event_trigger[0].for_each).toBe(
      '${each.value.kind == "job" ? [each.key] : []}',
    );
    expect(fn.service_config[0].timeout_seconds).toBe('${each.value.timeout_seconds}');
    for (const f of manifest.functions) {
      const limit = f.kind === 'job' ? EVENT_LIMIT_SECONDS : HTTP_LIMIT_SECONDS;
      expect(f.timeout_seconds, f.name).toBeLessThanOrEqual(limit);
      expect(f.timeout_seconds, f.name).toBeGreaterThan(0);
    }
  });
});

describe('the uptime check', () => {
  it('requests path / on the bare hostname of the health function', () => {
    const check = resource(mod, 'google_monitoring_uptime_check_config', 'health');
    expect(check.http_check[0].path).toBe('/');
    expect(check.http_check[0].use_ssl).toBe(true);
    expect(check.monitored_resource[0].type).toBe('uptime_url');
    expect(check.monitored_resource[0].labels.host).toBe('${local.health_host}');
  });

  it.skipIf(!hasTerraform)(
    'computes a hostname with no scheme, port or path from the health URI (evaluated by terraform)',
    async () => {
      const expression = String(mod.locals.health_host).replace(/^\$\{|\}$/g, '');
      const reference = 'google_cloudfunctions2_function.function["health"].service_config[0].uri';
      // The Cloud Run URI serves the function at "/" (the cloudfunctions.net url adds a path).
      expect(expression).toContain(reference);
      for (const [uri, host] of [
        ['https://health-x7k2abcdqa-uc.a.run.app', 'health-x7k2abcdqa-uc.a.run.app'],
        ['https://health-x7k2abcdqa-uc.a.run.app/', 'health-x7k2abcdqa-uc.a.run.app'],
        [
          'https://us-central1-brainspark-dev.cloudfunctions.net/health',
          'us-central1-brainspark-dev.cloudfunctions.net',
        ],
      ] as const) {
        expect(await evaluate(expression.replace(reference, JSON.stringify(uri)))).toBe(host);
      }
    },
    60_000,
  );
});

describe('Redis in transit', () => {
  it('is TLS with server authentication, reached with rediss:// and verified against its CA', () => {
    const redis = resource(mod, 'google_redis_instance', 'cache');
    expect(redis.transit_encryption_mode).toBe('SERVER_AUTHENTICATION');
    const url = resource(mod, 'google_secret_manager_secret_version', 'redis_url').secret_data;
    expect(url).toMatch(/^rediss:\/\//);
    const ca = resource(mod, 'google_secret_manager_secret_version', 'redis_ca').secret_data;
    expect(ca).toBe('${join("", [for c in google_redis_instance.cache.server_ca_certs : c.cert])}');
    for (const local of ['function_secrets', 'job_secrets']) {
      expect((mod.locals[local] as Record<string, string>).REDIS_TLS_CA, local).toBe(
        '${google_secret_manager_secret.redis_ca}',
      );
    }
  });
});

describe('the migrator', () => {
  it('verifies the Cloud SQL server: no sslmode in its URL, the instance CA and name given', () => {
    const url = resource(mod, 'google_secret_manager_secret_version', 'migrator_database_url')
      .secret_data as string;
    expect(url).not.toMatch(/sslmode|no-verify/);
    expect(resource(mod, 'google_secret_manager_secret_version', 'db_server_ca').secret_data).toBe(
      '${google_sql_database_instance.brainspark.server_ca_cert[0].cert}',
    );
    expect(mod.locals.database_server_name).toBe(
      '${var.project_id}:${google_sql_database_instance.brainspark.name}',
    );
    for (const name of ['migrate', 'restore']) {
      const container = resource(mod, 'google_cloud_run_v2_job', name).template[0].template[0]
        .containers[0];
      const env = container.env.find((e: Hcl) => e.name === 'DB_SERVER_NAME');
      expect(env?.value, name).toBe('${local.database_server_name}');
      expect(container.dynamic.env[0].for_each, name).toBe('${local.migrator_secrets}');
    }
    expect(Object.keys(mod.locals.migrator_secrets as object).sort()).toEqual([
      'DATABASE_URL',
      'DB_SERVER_CA',
    ]);
    expect(strings(mod.resource)).not.toContain('no-verify');
  });
});

describe('the database instance', () => {
  it('has deletion protection in the API as well as in Terraform', () => {
    const db = resource(mod, 'google_sql_database_instance', 'brainspark');
    expect(db.settings[0].deletion_protection_enabled).toBe(true);
    expect(db.deletion_protection).toBe(true);
  });
});

describe('operations inside the VPC', () => {
  it.skipIf(!hasTerraform)(
    'seed the database in the migrate job, after migrations and grants',
    async () => {
      const raw = (mod.locals.operations_jobs as Hcl).migrate.script as string;
      // A join(...) expression: evaluated by terraform into the shell line the job runs.
      const script = String(await evaluate(raw.replace(/^\$\{|\}$/g, '')));
      const at = (s: string) => script.indexOf(s);
      expect(at('migrate/index.mjs" up')).toBeGreaterThanOrEqual(0);
      expect(at('migrate/grants.mjs')).toBeGreaterThan(at('migrate/index.mjs'));
      expect(at('migrate/seed.mjs')).toBeGreaterThan(at('migrate/grants.mjs'));
      // Each step must succeed before the next one runs.
      expect(script.split('&&')).toHaveLength(3);
      expect(script).toMatch(
        /^node "\/artifacts\/releases\/\$RELEASE\/migrate\/index\.mjs" up && /,
      );
    },
    60_000,
  );

  it('run only files the build writes into dist/migrate/', async () => {
    const { buildMigrate } = await import('../../scripts/build.ts');
    const out = await mkdtemp(path.join(tmpdir(), 'migrate-bundle-'));
    try {
      const bundle = await buildMigrate(out);
      const jobs = mod.locals.operations_jobs as Record<string, { script: string }>;
      const named = Object.values(jobs).flatMap((j) =>
        [...j.script.matchAll(/migrate\/(\w+\.mjs)/g)].map((m) => m[1] ?? ''),
      );
      expect(named.sort()).toEqual(['grants.mjs', 'index.mjs', 'restore.mjs', 'seed.mjs']);
      for (const file of named) {
        await expect(readFile(path.join(bundle.dir, file), 'utf8'), file).resolves.toContain('');
      }
      // The seed reads its catalogue and spark bank next to the bundle.
      expect(bundle.assets).toContain('prisma/seed');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('run table restores as a Cloud Run job on the VPC connector, as the migrator', () => {
    const job = resource(mod, 'google_cloud_run_v2_job', 'restore');
    const tpl = job.template[0].template[0];
    expect(job.name).toBe('${local.operations_jobs.restore.name}');
    expect((mod.locals.operations_jobs as Hcl).restore.name).toBe('brainspark-restore');
    expect((mod.locals.operations_jobs as Hcl).restore.script).toContain(
      '/artifacts/releases/$RELEASE/migrate/restore.mjs',
    );
    expect(tpl.service_account).toBe('${google_service_account.migrator.email}');
    expect(tpl.vpc_access[0].connector).toBe('${google_vpc_access_connector.functions.id}');
    expect(tpl.vpc_access[0].egress).toBe('PRIVATE_RANGES_ONLY');
  });

  it('need no VM, NAT or firewall opening: nothing of the kind is declared or documented', async () => {
    for (const type of [
      'google_compute_instance',
      'google_compute_router',
      'google_compute_router_nat',
      'google_compute_firewall',
    ]) {
      expect(mod.resource[type], type).toBeUndefined();
    }
    for (const doc of ['docs/DEPLOY.md', 'docs/RUNBOOK.md']) {
      const text = await readFile(new URL(`../../${doc}`, import.meta.url), 'utf8');
      expect(text, doc).not.toMatch(
        /ops VM|compute instances create|compute ssh|cloud-sql-proxy|npm run db:seed/,
      );
    }
  });
});
