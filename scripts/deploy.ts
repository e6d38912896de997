// Deploys BrainSpark to one environment (one Google Cloud project):
//   scripts/deploy --env dev [--release ID] [--auto-approve] [--skip-build] [--dry-run]
// Steps: check the manifest, build, create the buckets if missing, upload the release,
// apply the infrastructure the migration needs, create the first token-signing key if none
// exists, run the migrate job inside the VPC (migrations, then the functions' database grants,
// then the idempotent seed), then apply everything (the new functions go live only after the
// schema they need is there), and probe the health function.
// --dry-run prints every step and command and touches nothing.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { functionRegistry } from '../shared/registry.ts';
import {
  capture,
  type EnvironmentSettings,
  parseFlags,
  readEnvironment,
  renderPlan,
  runPlan,
  type Step,
  StepFailed,
} from './ops.ts';

export interface DeployOptions {
  env: EnvironmentSettings;
  release: string;
  stateBucket: string;
  autoApprove: boolean;
  skipBuild: boolean;
}

const tf = (...args: string[]) => ['terraform', '-chdir=terraform', ...args];

/** A new ES256 key set in the format JWT_SIGNING_KEYS expects (array of private JWKs). */
export async function generateSigningKeys(): Promise<string> {
  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return JSON.stringify([{ ...jwk, kid: randomUUID(), alg: 'ES256', use: 'sig' }]);
}

export function defaultRelease(now = new Date()): string {
  const sha = capture(['git', 'rev-parse', '--short=12', 'HEAD']);
  const dirty = capture(['git', 'status', '--porcelain', '--untracked-files=no']) ? '-dirty' : '';
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${sha}${dirty}-${stamp}`;
}

export function deployPlan(o: DeployOptions): Step[] {
  const { projectId, region, artifactsBucket, varFile, name } = o.env;
  const project = `--project=${projectId}`;
  const releasePrefix = `gs://${artifactsBucket}/releases/${o.release}/`;
  const tfVars = [`-var-file=${varFile}`, `-var=release=${o.release}`];
  const approve = o.autoApprove ? ['-auto-approve'] : [];
  const bucket = (b: string) => ({
    unless: ['gcloud', 'storage', 'buckets', 'describe', `gs://${b}`, project],
    argv: [
      'gcloud',
      'storage',
      'buckets',
      'create',
      `gs://${b}`,
      project,
      `--location=${region}`,
      '--uniform-bucket-level-access',
      '--public-access-prevention',
    ],
  });
  // Named from the registry (what the build writes), so a missing zip fails the upload.
  const zips = functionRegistry.map((f) => `dist/${f.name}.zip`);

  const steps: Step[] = [
    {
      title: 'Check that terraform/functions.json matches the function registry',
      why: 'Terraform deploys exactly the functions listed there; a stale manifest would skip or orphan one.',
      commands: [{ argv: ['npx', 'tsx', 'scripts/manifest.ts', '--check'] }],
    },
  ];
  if (!o.skipBuild) {
    steps.push({
      title: 'Build one bundle and zip per function, and the migrate/seed/restore bundle',
      why: 'Each function ships only what it imports; sizes are printed.',
      commands: [{ argv: ['npm', 'run', 'build'] }],
    });
  }
  steps.push(
    {
      title: 'Bootstrap: APIs Terraform itself needs, state and artifacts buckets',
      why: 'Terraform enables every other API, but needs these to start; buckets are created once and reused.',
      commands: [
        {
          argv: [
            'gcloud',
            'services',
            'enable',
            'serviceusage.googleapis.com',
            'cloudresourcemanager.googleapis.com',
            'storage.googleapis.com',
            project,
          ],
        },
        bucket(o.stateBucket),
        {
          argv: [
            'gcloud',
            'storage',
            'buckets',
            'update',
            `gs://${o.stateBucket}`,
            '--versioning',
            project,
          ],
        },
        bucket(artifactsBucket),
      ],
    },
    {
      title: `Upload release ${o.release}`,
      why: 'Function zips and the migration bundle go to a new folder per release; older releases stay for rollback.',
      commands: [
        {
          argv: ['gcloud', 'storage', 'cp', ...zips, releasePrefix, project],
        },
        {
          argv: ['gcloud', 'storage', 'cp', '--recursive', 'dist/migrate', releasePrefix, project],
        },
      ],
    },
    {
      title: 'terraform init',
      why: `State lives in gs://${o.stateBucket}/brainspark/${name}.`,
      commands: [
        {
          argv: tf(
            'init',
            '-input=false',
            `-backend-config=bucket=${o.stateBucket}`,
            `-backend-config=prefix=brainspark/${name}`,
          ),
        },
      ],
    },
    {
      title: 'Apply what the migration needs (network, Cloud SQL, users, secrets, migration job)',
      why: 'The schema must be migrated before new function code goes live; -target applies the job and everything it depends on, and creates the signing-key secret.',
      commands: [
        {
          argv: tf(
            'apply',
            ...tfVars,
            '-target=google_cloud_run_v2_job.migrate',
            '-target=google_secret_manager_secret.jwt_signing_keys',
            ...approve,
          ),
        },
      ],
    },
    {
      title: 'Create the first access-token signing key set if the secret has none',
      why: 'Functions read JWT_SIGNING_KEYS from Secret Manager; the private key is made here and never enters Terraform state.',
      commands: [
        {
          unless: [
            'sh',
            '-c',
            `test -n "$(gcloud secrets versions list brainspark-jwt-signing-keys ${project} --filter=state=enabled --limit=1 --format='value(name)')"`,
          ],
          argv: [
            'gcloud',
            'secrets',
            'versions',
            'add',
            'brainspark-jwt-signing-keys',
            '--data-file=-',
            project,
          ],
          stdin: {
            describe: 'a new ES256 private JWK set (generated in memory)',
            produce: generateSigningKeys,
          },
        },
      ],
    },
    {
      title: 'Migrate, grant and seed the database inside the VPC',
      why: "The Cloud Run job brainspark-migrate runs the release bundle as the migrator over the private IP (server certificate verified): migrations, then the functions' database grants, then the idempotent seed (topics, the week's brain sparks). Any failure stops the deploy before a function changes.",
      commands: [
        {
          argv: [
            'gcloud',
            'run',
            'jobs',
            'execute',
            'brainspark-migrate',
            `--region=${region}`,
            '--wait',
            `--update-env-vars=RELEASE=${o.release}`,
            project,
          ],
        },
      ],
    },
    {
      title: 'Apply everything: functions on the new release, triggers, schedules, alerts',
      why: 'Each function is rebuilt from its new zip; Cloud Functions switches traffic once the new revision is healthy.',
      commands: [{ argv: tf('apply', ...tfVars, ...approve) }],
    },
    {
      title: 'Probe the health function',
      why: 'The deploy ends green only if the live health function answers 200 (database reachable).',
      commands: [
        {
          argv: [
            'sh',
            '-c',
            'curl --fail --silent --show-error --max-time 30 "$(terraform -chdir=terraform output -raw health_url)"',
          ],
        },
        { argv: tf('output', 'function_urls') },
      ],
    },
  );
  return steps;
}

async function main(args: readonly string[]): Promise<number> {
  const { values, switches } = parseFlags(args, {
    values: ['env', 'release', 'state-bucket'],
    switches: ['dry-run', 'auto-approve', 'skip-build', 'help'],
  });
  if (switches.has('help') || !values.get('env')) {
    process.stdout.write(
      'usage: scripts/deploy --env <dev|prod|...> [--release ID] [--state-bucket NAME] [--auto-approve] [--skip-build] [--dry-run]\n',
    );
    return switches.has('help') ? 0 : 1;
  }
  const env = await readEnvironment(values.get('env') ?? '');
  const options: DeployOptions = {
    env,
    release: values.get('release') ?? defaultRelease(),
    stateBucket: values.get('state-bucket') ?? `${env.projectId}-tfstate`,
    autoApprove: switches.has('auto-approve'),
    skipBuild: switches.has('skip-build'),
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(options.release)) {
    throw new StepFailed(`Bad release id: ${options.release}`);
  }
  const steps = deployPlan(options);
  if (switches.has('dry-run')) {
    process.stdout.write(
      `Deploy plan for ${env.name} (project ${env.projectId}, release ${options.release}); dry run, nothing is executed:\n\n`,
    );
    process.stdout.write(renderPlan(steps));
    return 0;
  }
  await runPlan(steps);
  process.stdout.write(`\nDeployed release ${options.release} to ${env.projectId}.\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    process.stderr.write(`deploy: ${error.message}\n`);
    process.exitCode = 1;
  }
}
