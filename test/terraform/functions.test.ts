// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations are plain strings here.
// The functions Terraform deploys are exactly the registry's, with the documented triggers,
// schedules, identities and secrets.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildManifest,
  type Manifest,
  manifestPath,
  renderManifest,
} from '../../scripts/manifest.ts';
import { functionRegistry, httpFunctions, jobFunctions } from '../../shared/registry.ts';
import { type Hcl, loadModule, resource, strings, type TerraformModule } from './hcl.ts';

let mod: TerraformModule;
let fn: Hcl;
let committed: Manifest;

beforeAll(async () => {
  mod = await loadModule();
  fn = resource(mod, 'google_cloudfunctions2_function', 'function');
  committed = JSON.parse(await readFile(manifestPath, 'utf8'));
});

describe('terraform/functions.json, the manifest Terraform reads', () => {
  it('is byte for byte what scripts/manifest.ts generates from the registry', async () => {
    expect(await readFile(manifestPath, 'utf8')).toBe(renderManifest());
  });

  it('deploys every registered function and nothing else', () => {
    const deployed = committed.functions.map((f) => f.name).sort();
    expect(deployed).toEqual(functionRegistry.map((f) => f.name).sort());
    expect(new Set(deployed).size).toBe(deployed.length);
  });

  it('carries each function kind, entry point, memory, timeout, concurrency and scaling', () => {
    for (const spec of functionRegistry) {
      const entry = committed.functions.find((f) => f.name === spec.name);
      expect(entry, spec.name).toMatchObject({
        kind: spec.kind,
        entry_point: spec.name,
        memory: spec.memory,
        timeout_seconds: spec.timeoutSeconds,
        concurrency: spec.concurrency,
        min_instances: spec.minInstances,
        max_instances: spec.maxInstances,
        db_pool_max: spec.dbPoolMax,
      });
    }
  });

  it('gives every job its documented cron and time zone, and no HTTP function a schedule', () => {
    for (const spec of jobFunctions) {
      expect(spec.schedule, spec.name).toBeDefined();
      const entry = committed.functions.find((f) => f.name === spec.name);
      expect(entry?.schedule).toEqual({
        cron: spec.schedule?.cron,
        time_zone: spec.schedule?.timeZone,
      });
      expect(entry?.schedule?.cron.split(' ')).toHaveLength(5);
    }
    for (const spec of httpFunctions) {
      expect(committed.functions.find((f) => f.name === spec.name)?.schedule).toBeNull();
    }
  });

  it('would notice a registry change (the generator is not a constant)', () => {
    const extra = { ...functionRegistry[0], name: 'extra' } as (typeof functionRegistry)[number];
    expect(buildManifest([...functionRegistry, extra]).functions).toHaveLength(
      functionRegistry.length + 1,
    );
    expect(renderManifest(buildManifest([...functionRegistry, extra]))).not.toBe(renderManifest());
  });
});

describe('google_cloudfunctions2_function "function"', () => {
  it('is made with for_each over the manifest read with jsondecode(file(...))', () => {
    expect(mod.locals.manifest).toBe('${jsondecode(file("${path.module}/functions.json"))}');
    expect(mod.locals.functions).toBe('${{ for f in local.manifest.functions : f.name => f }}');
    expect(mod.locals.http_functions).toBe(
      '${{ for name, f in local.functions : name => f if f.kind == "http" }}',
    );
    expect(mod.locals.job_functions).toBe(
      '${{ for name, f in local.functions : name => f if f.kind == "job" }}',
    );
    expect(fn.for_each).toBe('${local.functions}');
    expect(fn.name).toBe('${each.key}');
    expect(fn.location).toBe('${var.region}');
  });

  it('builds on nodejs22 from the release zip in the artifacts bucket', () => {
    const build = fn.build_config[0];
    expect(build.runtime).toBe('nodejs22');
    expect(build.entry_point).toBe('${each.value.entry_point}');
    const source = build.source[0].storage_source[0];
    expect(source.bucket).toBe('${var.artifacts_bucket}');
    expect(source.object).toBe('releases/${var.release}/${each.value.source_object}');
    expect(build.service_account).toBe('${google_service_account.builder.id}');
  });

  it('takes memory, timeout, concurrency and scaling from the manifest', () => {
    const svc = fn.service_config[0];
    expect(svc.available_memory).toBe('${each.value.memory}');
    expect(svc.timeout_seconds).toBe('${each.value.timeout_seconds}');
    expect(svc.max_instance_request_concurrency).toBe('${each.value.concurrency}');
    expect(svc.min_instance_count).toBe('${each.value.min_instances}');
    // An environment may lower (or raise) one function's cap; the budget test counts it.
    expect(svc.max_instance_count).toBe(
      '${lookup(var.function_max_instances, each.key, each.value.max_instances)}',
    );
  });

  it('runs HTTP functions and jobs as their own service accounts, reaching private ranges only through the VPC connector', () => {
    const svc = fn.service_config[0];
    expect(svc.service_account_email).toBe(
      '${each.value.kind == "http" ? google_service_account.functions.email : google_service_account.jobs.email}',
    );
    expect(svc.vpc_connector).toBe('${google_vpc_access_connector.functions.id}');
    expect(svc.vpc_connector_egress_settings).toBe('PRIVATE_RANGES_ONLY');
  });

  it('admits public traffic only for HTTP functions', () => {
    expect(fn.service_config[0].ingress_settings).toBe(
      '${each.value.kind == "http" ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"}',
    );
  });

  it('has a Pub/Sub event trigger with retries for jobs only', () => {
    const trigger = fn.dynamic.event_trigger[0];
    expect(trigger.for_each).toBe('${each.value.kind == "job" ? [each.key] : []}');
    const content = trigger.content[0];
    expect(content.event_type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
    expect(content.pubsub_topic).toBe('${google_pubsub_topic.job[event_trigger.value].id}');
    expect(content.retry_policy).toBe('RETRY_POLICY_RETRY');
    expect(content.service_account_email).toBe('${google_service_account.job_invoker.email}');
  });

  it('gives the functions the configuration shared/config.ts reads', () => {
    const env = mod.locals.function_environment as Record<string, string>;
    expect(fn.service_config[0].environment_variables).toContain(
      'merge(local.function_environment',
    );
    // Each kind logs in to PostgreSQL as its own IAM user.
    expect(fn.service_config[0].environment_variables).toContain(
      'DB_IAM_USER = each.value.kind == "http" ? google_sql_user.functions.name : google_sql_user.jobs.name',
    );
    expect(env.NODE_ENV).toBe('production');
    expect(env.INSTANCE_CONNECTION_NAME).toBe(
      '${google_sql_database_instance.brainspark.connection_name}',
    );
    expect(env.DB_NAME).toBe('${google_sql_database.brainspark.name}');
    expect(env.PUBSUB_ALERTS_TOPIC).toBe('${google_pubsub_topic.parent_alerts.name}');
    // No password-style connection string: the functions use the connector with IAM auth.
    expect(env.DATABASE_URL).toBeUndefined();
  });
});

describe('secrets', () => {
  const secretLike = /KEY|SECRET|PASSWORD|TOKEN|PRIVATE|CREDENTIAL|AUTH/i;

  it('puts no secret in a plain environment variable anywhere', () => {
    const plainEnvNames: string[] = [...Object.keys(mod.locals.function_environment as object)];
    for (const byName of Object.values(mod.resource)) {
      for (const blocks of Object.values(byName)) {
        for (const block of blocks) {
          const env = block.service_config?.[0]?.environment_variables;
          if (env && typeof env === 'object') plainEnvNames.push(...Object.keys(env));
          // Cloud Run job containers: `env` blocks with a literal value are plain variables.
          for (const container of block.template?.[0]?.template?.[0]?.containers ?? []) {
            for (const e of container.env ?? [])
              if (e.value !== undefined) plainEnvNames.push(e.name);
          }
        }
      }
    }
    expect(plainEnvNames.length).toBeGreaterThan(5);
    expect(plainEnvNames.filter((n) => secretLike.test(n))).toEqual([]);
    // Nor do values built from generated passwords or Redis AUTH strings end up in them.
    const plainValues = strings(mod.locals.function_environment);
    expect(plainValues.filter((v) => /random_password|auth_string|secret_data/.test(v))).toEqual(
      [],
    );
  });

  it('passes JWT keys, the Redis URL and its CA as Secret Manager secret environment variables', () => {
    const dyn = fn.service_config[0].dynamic.secret_environment_variables[0];
    expect(dyn.for_each).toBe(
      '${merge(each.value.kind == "http" ? local.function_secrets : local.job_secrets, local.notification_secrets[each.value.kind])}',
    );
    expect(dyn.content[0].secret).toBe('${secret_environment_variables.value.secret_id}');
    const secrets = mod.locals.function_secrets as Record<string, string>;
    expect(fn.service_config[0].environment_variables).not.toMatch(/secret|password|auth_string/i);
    expect(secrets.JWT_SIGNING_KEYS).toBe('${google_secret_manager_secret.jwt_signing_keys}');
    expect(secrets.REDIS_URL).toBe('${google_secret_manager_secret.redis_url}');
    expect(secrets.REDIS_TLS_CA).toBe('${google_secret_manager_secret.redis_ca}');
    // Jobs never sign tokens, so they do not get the signing keys.
    expect(Object.keys(mod.locals.job_secrets as object).sort()).toEqual([
      'REDIS_TLS_CA',
      'REDIS_URL',
    ]);
  });

  it('lets the functions read exactly those secrets, one grant per secret', () => {
    const grant = resource(mod, 'google_secret_manager_secret_iam_member', 'functions');
    expect(grant.for_each).toBe('${local.function_secrets}');
    expect(grant.role).toBe('roles/secretmanager.secretAccessor');
    expect(grant.member).toBe('${google_service_account.functions.member}');
    const jobsGrant = resource(mod, 'google_secret_manager_secret_iam_member', 'jobs');
    expect(jobsGrant.for_each).toBe('${local.job_secrets}');
    expect(jobsGrant.member).toBe('${google_service_account.jobs.member}');
    const projectRoles = strings(mod.resource.google_project_iam_member);
    expect(projectRoles.filter((r) => r.includes('secretmanager'))).toEqual([]);
  });
});

describe('invocation', () => {
  it('makes only HTTP functions invokable by allUsers', () => {
    const publicGrants: Array<[string, Hcl]> = [];
    for (const [type, byName] of Object.entries(mod.resource)) {
      for (const [name, blocks] of Object.entries(byName)) {
        for (const block of blocks) {
          if (block.member === 'allUsers' || block.members?.includes?.('allUsers')) {
            publicGrants.push([`${type}.${name}`, block]);
          }
        }
      }
    }
    expect(publicGrants.map(([id]) => id)).toEqual([
      'google_cloud_run_v2_service_iam_member.http_public',
    ]);
    const grant = publicGrants[0]?.[1];
    expect(grant.for_each).toBe('${local.http_functions}');
    expect(grant.role).toBe('roles/run.invoker');
    expect(grant.name).toBe('${google_cloudfunctions2_function.function[each.key].name}');
  });

  it('lets only the trigger identity invoke the job functions', () => {
    const grant = resource(mod, 'google_cloud_run_v2_service_iam_member', 'job_invoker');
    expect(grant.for_each).toBe('${local.job_functions}');
    expect(grant.member).toBe('${google_service_account.job_invoker.member}');
    expect(grant.role).toBe('roles/run.invoker');
  });
});

describe('jobs', () => {
  it('has a topic per job', () => {
    const topic = resource(mod, 'google_pubsub_topic', 'job');
    expect(topic.for_each).toBe('${local.job_functions}');
    expect(topic.name).toBe('job-${each.key}');
  });

  it('has a Cloud Scheduler job per job with the manifest cron and time zone, publishing to its topic', () => {
    const scheduler = resource(mod, 'google_cloud_scheduler_job', 'job');
    expect(scheduler.for_each).toBe('${local.job_functions}');
    expect(scheduler.schedule).toBe('${each.value.schedule.cron}');
    expect(scheduler.time_zone).toBe('${each.value.schedule.time_zone}');
    expect(scheduler.pubsub_target[0].topic_name).toBe('${google_pubsub_topic.job[each.key].id}');
  });

  it('expands, for the registry, to a topic, trigger and schedule for each job', () => {
    // What Terraform's for expressions produce from the committed manifest.
    const jobs = Object.fromEntries(
      committed.functions.filter((f) => f.kind === 'job').map((f) => [f.name, f]),
    );
    expect(Object.keys(jobs).sort()).toEqual(jobFunctions.map((f) => f.name).sort());
    for (const spec of jobFunctions) {
      expect(jobs[spec.name]?.schedule?.cron).toBe(spec.schedule?.cron);
    }
  });
});

describe('the parent-alerts topic', () => {
  it('exists and only the functions may publish to it', () => {
    expect(resource(mod, 'google_pubsub_topic', 'parent_alerts').name).toBe('parent-alerts');
    const grant = resource(
      mod,
      'google_pubsub_topic_iam_member',
      'functions_publish_parent_alerts',
    );
    expect(grant.role).toBe('roles/pubsub.publisher');
    expect(grant.for_each).toEqual({
      functions: '${google_service_account.functions.member}',
      jobs: '${google_service_account.jobs.member}',
    });
    expect(grant.topic).toBe('${google_pubsub_topic.parent_alerts.id}');
  });
});

describe('configuration names', () => {
  it('sets only variables that shared/config.ts reads', async () => {
    const source = await readFile(new URL('../../shared/config.ts', import.meta.url), 'utf8');
    const known = new Set([...source.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]));
    const names = [
      ...Object.keys(mod.locals.function_environment as object),
      ...Object.keys(mod.locals.function_secrets as object),
      ...Object.keys(mod.locals.job_secrets as object),
      'DB_IAM_USER',
      'DB_POOL_MAX',
    ];
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });
});
