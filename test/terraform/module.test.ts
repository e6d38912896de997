// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations are plain strings here.
// The module's shape: files, pinned providers, typed and described variables, described
// outputs, references that resolve, example tfvars, network, Redis, migrations and alerts.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Hcl,
  loadModule,
  parseFile,
  resource,
  strings,
  type TerraformModule,
  terraformDir,
  tfFiles,
} from './hcl.ts';

let mod: TerraformModule;

beforeAll(async () => {
  mod = await loadModule();
});

describe('layout', () => {
  it('has the conventional files plus one per concern', async () => {
    const files = await tfFiles();
    for (const f of [
      'versions.tf',
      'providers.tf',
      'variables.tf',
      'outputs.tf',
      'network.tf',
      'database.tf',
      'redis.tf',
      'functions.tf',
      'jobs.tf',
      'pubsub.tf',
      'secrets.tf',
      'iam.tf',
      'alerts.tf',
      'migrate.tf',
    ]) {
      expect(files).toContain(f);
    }
  });

  it('pins Terraform and the google and random providers to bounded ranges', () => {
    const tf = mod.terraform[0];
    expect(tf.required_version).toMatch(/^>= 1\.\d+\.\d+, < 2\.0\.0$/);
    const providers = tf.required_providers[0];
    // google-beta was declared but used by no resource: the schema check covers google only.
    expect(Object.keys(providers).sort()).toEqual(['google', 'random']);
    for (const name of ['google', 'random']) {
      expect(providers[name].source).toBe(`hashicorp/${name}`);
      expect(providers[name].version).toMatch(/^>= [\d.]+, < [\d.]+$/);
    }
  });

  it('keeps state in a GCS backend configured at init', () => {
    expect(mod.terraform[0].backend.gcs).toHaveLength(1);
  });
});

describe('variables and outputs', () => {
  it('gives every variable a type and a description', () => {
    const names = Object.keys(mod.variable);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      const v = mod.variable[name]?.[0];
      expect(v.type, name).toMatch(/^\$\{(string|number|bool|list\(string\)|map\(number\))\}$/);
      expect(v.description, name).toMatch(/\S{3,}/);
    }
  });

  it('validates every variable whose values can be checked', () => {
    for (const [name, [v]] of Object.entries(mod.variable) as Array<[string, Hcl[]]>) {
      expect(v.validation?.[0]?.condition, name).toContain(`var.${name}`);
      expect(v.validation?.[0]?.error_message, name).toBeTruthy();
    }
  });

  it('describes every output and marks secret ones sensitive', () => {
    for (const [name, [o]] of Object.entries(mod.output) as Array<[string, Hcl[]]>) {
      expect(o.description, name).toMatch(/\S{3,}/);
      const value = strings(o.value).join(' ');
      if (/random_password|auth_string|secret_data|private_key/.test(value)) {
        expect(o.sensitive, name).toBe(true);
      }
    }
  });

  it('outputs every HTTP function URL, the instance connection name and the Redis host', () => {
    expect(mod.output.function_urls?.[0].value).toContain(
      'google_cloudfunctions2_function.function[name].url',
    );
    expect(mod.output.function_urls?.[0].value).toContain('local.http_functions');
    expect(mod.output.instance_connection_name?.[0].value).toBe(
      '${google_sql_database_instance.brainspark.connection_name}',
    );
    expect(mod.output.redis_host?.[0].value).toBe('${google_redis_instance.cache.host}');
  });
});

describe('references', () => {
  const all = () => strings(mod.files);

  it('point only at declared resources and data sources', () => {
    const missing = new Set<string>();
    for (const s of all()) {
      for (const m of s.matchAll(
        /(?<![\w.])(data\.)?((?:google|google-beta|random)_[a-z0-9_]+)\.([a-z0-9_]+)/g,
      )) {
        const [, isData, type = '', name = ''] = m;
        const declared = isData ? mod.data[type]?.[name] : mod.resource[type]?.[name];
        if (!declared) missing.add(m[0]);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('use only declared variables and locals', () => {
    const text = all().join('\n');
    const vars = new Set([...text.matchAll(/\bvar\.([a-z0-9_]+)/g)].map((m) => m[1]));
    const locals = new Set([...text.matchAll(/\blocal\.([a-z0-9_]+)/g)].map((m) => m[1]));
    expect([...vars].filter((v) => v && !mod.variable[v])).toEqual([]);
    expect([...locals].filter((l) => l && !(l in mod.locals))).toEqual([]);
  });

  it('leave no variable unused', () => {
    const text = all().join('\n');
    const unused = Object.keys(mod.variable).filter((v) => !text.includes(`var.${v}`));
    expect(unused).toEqual([]);
  });
});

describe('environment examples', () => {
  it('has dev and prod tfvars that set only declared variables and every required one but release', async () => {
    const dir = `${terraformDir}environments/`;
    const files = await tfFiles(dir, '.tfvars');
    expect(files).toEqual(expect.arrayContaining(['dev.tfvars', 'prod.tfvars']));
    const required = Object.entries(mod.variable)
      .filter(([, [v]]) => !('default' in (v as object)))
      .map(([name]) => name)
      .filter((name) => name !== 'release');
    for (const file of files) {
      const vars = await parseFile(`${dir}${file}`, file);
      expect(
        Object.keys(vars).filter((k) => !mod.variable[k]),
        file,
      ).toEqual([]);
      for (const name of required) expect(vars, `${file} sets ${name}`).toHaveProperty(name);
      expect(vars.region ?? 'us-central1', file).toBe('us-central1');
    }
  });
});

describe('network', () => {
  it('has a custom-mode VPC and a subnet with private Google access', () => {
    expect(resource(mod, 'google_compute_network', 'vpc').auto_create_subnetworks).toBe(false);
    const subnet = resource(mod, 'google_compute_subnetwork', 'main');
    expect(subnet.network).toBe('${google_compute_network.vpc.id}');
    expect(subnet.private_ip_google_access).toBe(true);
  });

  it('reserves a private services access range and peers it with service networking', () => {
    const range = resource(mod, 'google_compute_global_address', 'private_services');
    expect(range.purpose).toBe('VPC_PEERING');
    expect(range.address_type).toBe('INTERNAL');
    expect(range.network).toBe('${google_compute_network.vpc.id}');
    const peering = resource(mod, 'google_service_networking_connection', 'private_services');
    expect(peering.service).toBe('servicenetworking.googleapis.com');
    expect(peering.reserved_peering_ranges).toEqual([
      '${google_compute_global_address.private_services.name}',
    ]);
  });

  it('has a Serverless VPC Access connector on the VPC', () => {
    const connector = resource(mod, 'google_vpc_access_connector', 'functions');
    expect(connector.network).toBe('${google_compute_network.vpc.name}');
    expect(connector.ip_cidr_range).toBe('${var.vpc_connector_cidr}');
  });
});

describe('redis', () => {
  it('is Memorystore for Redis 7 on the VPC through private services access, with AUTH', () => {
    const redis = resource(mod, 'google_redis_instance', 'cache');
    expect(redis.redis_version).toMatch(/^REDIS_7_/);
    expect(redis.authorized_network).toBe('${google_compute_network.vpc.id}');
    expect(redis.connect_mode).toBe('PRIVATE_SERVICE_ACCESS');
    expect(redis.auth_enabled).toBe(true);
    expect(redis.depends_on).toContain('${google_service_networking_connection.private_services}');
  });
});

describe('production migrations', () => {
  it('run as a Cloud Run job inside the VPC with the migrator URL from Secret Manager', () => {
    const job = resource(mod, 'google_cloud_run_v2_job', 'migrate');
    const tpl = job.template[0].template[0];
    expect(tpl.service_account).toBe('${google_service_account.migrator.email}');
    expect(tpl.vpc_access[0].connector).toBe('${google_vpc_access_connector.functions.id}');
    expect(tpl.vpc_access[0].egress).toBe('PRIVATE_RANGES_ONLY');
    expect(tpl.max_retries).toBe(0);
    const container = tpl.containers[0];
    // DATABASE_URL and the server CA come from Secret Manager (one env block per secret).
    const secretEnv = container.dynamic.env[0];
    expect(secretEnv.for_each).toBe('${local.migrator_secrets}');
    expect(secretEnv.content[0].value_source[0].secret_key_ref[0].secret).toBe(
      '${env.value.secret_id}',
    );
    expect(mod.locals.migrator_secrets).toEqual({
      DATABASE_URL: '${google_secret_manager_secret.migrator_database_url}',
      DB_SERVER_CA: '${google_secret_manager_secret.db_server_ca}',
    });
    // It runs the bundle scripts/build.ts writes for the release being deployed.
    expect(container.args).toEqual(['${local.operations_jobs.migrate.script}']);
    const script = (mod.locals.operations_jobs as Hcl).migrate.script as string;
    expect(script).toContain('/artifacts/releases/$RELEASE/migrate/index.mjs');
    expect(tpl.volumes[0].gcs[0].bucket).toBe('${var.artifacts_bucket}');
    // Then the functions' database users get their rights on the new schema.
    expect(script).toContain('/artifacts/releases/$RELEASE/migrate/grants.mjs');
    const envValue = (name: string) => container.env.find((e: Hcl) => e.name === name)?.value;
    expect(envValue('DB_API_USER')).toBe('${google_sql_user.functions.name}');
    expect(envValue('DB_JOBS_USER')).toBe('${google_sql_user.jobs.name}');
  });
});

describe('least privilege', () => {
  it('grants the functions only the project roles they need', () => {
    const grant = resource(mod, 'google_project_iam_member', 'functions');
    expect(grant.for_each).toBe('${local.functions_project_roles}');
    const text = strings(mod.files['iam.tf']?.locals).join(' ');
    for (const role of [
      'roles/cloudsql.client',
      'roles/cloudsql.instanceUser',
      'roles/logging.logWriter',
    ]) {
      expect(text).toContain(role);
    }
    for (const m of strings(mod.resource.google_project_iam_member)) {
      expect(m).not.toMatch(/roles\/(owner|editor|viewer)$/);
    }
  });
});

describe('alerts', () => {
  it('counts failed job runs with a log-based metric and alerts on it', () => {
    const metric = resource(mod, 'google_logging_metric', 'job_failures');
    expect(metric.filter).toContain('severity>=ERROR');
    expect(metric.filter).toContain('local.job_functions');
    const policy = resource(mod, 'google_monitoring_alert_policy', 'job_failed');
    expect(policy.conditions[0].condition_threshold[0].filter).toContain(
      'logging.googleapis.com/user/${google_logging_metric.job_failures.name}',
    );
  });

  it('alerts on Cloud SQL CPU and disk utilisation of the primary', () => {
    const cpu = resource(mod, 'google_monitoring_alert_policy', 'database_cpu');
    const disk = resource(mod, 'google_monitoring_alert_policy', 'database_disk');
    expect(cpu.conditions[0].condition_threshold[0].filter).toContain(
      'cloudsql.googleapis.com/database/cpu/utilization',
    );
    expect(disk.conditions[0].condition_threshold[0].filter).toContain(
      'cloudsql.googleapis.com/database/disk/utilization',
    );
    for (const p of [cpu, disk]) {
      expect(p.conditions[0].condition_threshold[0].filter).toContain(
        'google_sql_database_instance.brainspark.name',
      );
      expect(p.notification_channels).toEqual([
        '${google_monitoring_notification_channel.email.id}',
      ]);
    }
  });

  it('checks the health function URL and alerts when it fails', () => {
    // What the host evaluates to is tested in operations.test.ts.
    const check = resource(mod, 'google_monitoring_uptime_check_config', 'health');
    expect(check.monitored_resource[0].labels.host).toBe('${local.health_host}');
    expect(check.http_check[0].use_ssl).toBe(true);
    const policy = resource(mod, 'google_monitoring_alert_policy', 'health_down');
    expect(policy.conditions[0].condition_threshold[0].filter).toContain(
      'google_monitoring_uptime_check_config.health.uptime_check_id',
    );
  });
});

describe('terraform fmt', () => {
  const hasTerraform = spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!hasTerraform)('reports every file formatted (terraform fmt -check)', () => {
    const result = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', terraformDir], {
      encoding: 'utf8',
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
    });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
