// scripts/deploy --dry-run prints the whole plan in the right order and runs nothing; the
// first signing key set it creates is one the auth code accepts.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys } from '../../scripts/deploy.ts';
import { repoRoot } from '../../scripts/ops.ts';
import { functionRegistry } from '../../shared/registry.ts';

let fakeBin: string;
let callLog: string;

// Stand-ins for the cloud tools that record any call: a dry run must make none.
beforeAll(async () => {
  fakeBin = await mkdtemp(path.join(tmpdir(), 'deploy-fake-bin-'));
  callLog = path.join(fakeBin, 'calls.log');
  for (const tool of [
    'gcloud',
    'terraform',
    'gsutil',
    'curl',
    'cloud-sql-proxy',
    'psql',
    'pg_dump',
  ]) {
    await writeFile(
      path.join(fakeBin, tool),
      `#!/bin/sh\necho "${tool} $*" >> "${callLog}"\nexit 0\n`,
      {
        mode: 0o755,
      },
    );
  }
});

afterAll(async () => {
  await rm(fakeBin, { recursive: true, force: true });
});

function run(script: string, args: string[]) {
  return spawnSync(path.join(repoRoot, 'scripts', script), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
  });
}

/** Every call the stand-in tools recorded. */
async function calls(): Promise<string[]> {
  const log = await readFile(callLog, 'utf8').catch(() => '');
  return log.split('\n').filter(Boolean);
}

describe('scripts/deploy --dry-run', () => {
  it('prints build, upload, migrate and apply, in that order, for the environment', async () => {
    const result = run('deploy', [
      '--env',
      'prod',
      '--release',
      'abc123-20260101T000000Z',
      '--dry-run',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = result.stdout;
    const at = (needle: string) => {
      const i = out.indexOf(needle);
      expect(i, needle).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = [
      at('npx tsx scripts/manifest.ts --check'),
      at('$ npm run build'),
      at('gcloud storage buckets create gs://brainspark-prod-tfstate'),
      at('gcloud storage buckets create gs://brainspark-prod-artifacts'),
      at('gs://brainspark-prod-artifacts/releases/abc123-20260101T000000Z/'),
      at('gcloud storage cp --recursive dist/migrate'),
      at(
        'terraform -chdir=terraform init -input=false -backend-config=bucket=brainspark-prod-tfstate -backend-config=prefix=brainspark/prod',
      ),
      at('-target=google_cloud_run_v2_job.migrate'),
      at('gcloud secrets versions add brainspark-jwt-signing-keys --data-file=-'),
      at(
        'gcloud run jobs execute brainspark-migrate --region=us-central1 --wait --update-env-vars=RELEASE=abc123-20260101T000000Z --project=brainspark-prod',
      ),
      at(
        'terraform -chdir=terraform apply -var-file=environments/prod.tfvars -var=release=abc123-20260101T000000Z\n',
      ),
      at('output -raw health_url'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Every function's zip is uploaded.
    for (const f of functionRegistry) expect(out).toContain(`dist/${f.name}.zip`);
    // Nothing asks for approval to be skipped unless told to.
    expect(out).not.toContain('-auto-approve');
    expect(await calls()).toEqual([]);
  });

  it('prints exactly the deploy steps for dev: build, migrate+grants+seed job, functions, health', () => {
    const result = run('deploy', ['--env', 'dev', '--release', 'r1', '--dry-run']);
    expect(result.status).toBe(0);
    const titles = result.stdout.split('\n').filter((l) => /^\d+\. /.test(l));
    expect(titles).toEqual([
      '1. Check that terraform/functions.json matches the function registry',
      '2. Build one bundle and zip per function, and the migrate/seed/restore bundle',
      '3. Bootstrap: APIs Terraform itself needs, state and artifacts buckets',
      '4. Upload release r1',
      '5. terraform init',
      '6. Apply what the migration needs (network, Cloud SQL, users, secrets, migration job)',
      '7. Create the first access-token signing key set if the secret has none',
      '8. Migrate, grant and seed the database inside the VPC',
      '9. Apply everything: functions on the new release, triggers, schedules, alerts',
      '10. Probe the health function',
    ]);
    const out = result.stdout;
    expect(out).toContain(
      'gcloud run jobs execute brainspark-migrate --region=us-central1 --wait --update-env-vars=RELEASE=r1 --project=brainspark-dev',
    );
    expect(out).toContain(
      'curl --fail --silent --show-error --max-time 30 "$(terraform -chdir=terraform output -raw health_url)"',
    );
    // Seeding is part of the deploy, and no step needs a machine inside the VPC.
    expect(out).not.toMatch(/db:seed|cloud-sql-proxy|psql|gcloud compute/);
  });

  it('adds -auto-approve to both applies when asked', () => {
    const out = run('deploy', [
      '--env',
      'dev',
      '--release',
      'r1',
      '--dry-run',
      '--auto-approve',
    ]).stdout;
    expect(out.match(/ apply .*-auto-approve/g)).toHaveLength(2);
  });

  it('refuses unknown arguments, unknown environments and bad release ids', () => {
    expect(run('deploy', ['--env', 'dev', '--dry-run', '--force']).status).not.toBe(0);
    expect(run('deploy', ['--env', 'nowhere', '--dry-run']).stderr).toContain(
      'No terraform/environments/nowhere.tfvars',
    );
    expect(
      run('deploy', ['--env', 'dev', '--release', 'bad release', '--dry-run']).stderr,
    ).toContain('Bad release id');
  });
});

describe('the first signing key set', () => {
  it('is accepted by the auth code: a token it signs verifies', async () => {
    const keys = await generateSigningKeys();
    const parsed = JSON.parse(keys) as Array<Record<string, string>>;
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(parsed[0]?.d).toBeTruthy();
    expect(parsed[0]?.kid).toMatch(/^[0-9a-f-]{36}$/);

    process.env.JWT_SIGNING_KEYS = keys;
    process.env.NODE_ENV = 'production';
    const { resetConfigForTests } = await import('../../shared/config.ts');
    resetConfigForTests();
    const { issueAccessToken, verifyAccessToken } = await import(
      '../../shared/auth/access-token.ts'
    );
    const principal = { kind: 'parent', parentId: '00000000-0000-4000-8000-000000000001' } as const;
    const { token } = await issueAccessToken(principal);
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString());
    expect(header.kid).toBe(parsed[0]?.kid);
    expect(await verifyAccessToken(token)).toEqual(principal);
  });
});
