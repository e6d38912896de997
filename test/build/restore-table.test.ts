// scripts/restore-table: the dry run prints spec 9.3's procedure and runs nothing; the
// database steps themselves (copy, pg_dump -t, import beside the live table, validation,
// putting missing rows back) run for real between two PostgreSQL 15 databases standing in for
// the recovery instance and production.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runPlan } from '../../scripts/ops.ts';
import { type Connection, restorePlan, tableNamePattern } from '../../scripts/restore-table.ts';
import { adminUrl, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

function run(args: string[]) {
  return spawnSync(path.join(repoRoot, 'scripts', 'restore-table'), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    // No cloud tool can be reached: a dry run must not need one. A moved test clock
    // (scripts/test-shifted-clock.sh) must reach the script too, or "2 hours ago" is its future.
    env: {
      PATH: `/nonexistent:${process.env.PATH}`,
      HOME: process.env.HOME,
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k === 'LD_PRELOAD' || k.startsWith('FAKETIME')),
      ),
    },
  });
}

const hoursAgo = (h: number) =>
  new Date(Date.now() - h * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');

describe('scripts/restore-table --dry-run', () => {
  it('prints the point-in-time recovery procedure of spec 9.3 in order', () => {
    const result = run([
      '--env',
      'prod',
      '--table',
      'children',
      '--point-in-time',
      hoursAgo(2),
      '--dry-run',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = result.stdout;
    const order = [
      'gcloud sql instances clone brainspark-db brainspark-recovery-',
      'cloud-sql-proxy --private-ip --port=6543',
      'cloud-sql-proxy --private-ip --port=6544 brainspark-prod:us-central1:brainspark-db',
      'CREATE TABLE recovered.children AS TABLE public.children',
      'pg_dump --host=127.0.0.1 --port=6543',
      '--table=recovered.children',
      '--single-transaction --file=',
      'SELECT COUNT(*), MAX(created_at)',
      'gcloud sql instances delete brainspark-recovery-',
    ].map((needle) => {
      const i = out.indexOf(needle);
      expect(i, needle).toBeGreaterThanOrEqual(0);
      return i;
    });
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).not.toContain('INSERT INTO public.children');
  });

  it('restores from a backup id into a new private instance, and puts rows back only with --apply', () => {
    const out = run([
      '--env',
      'prod',
      '--table',
      'children',
      '--backup-id',
      '1732521600000',
      '--apply',
      '--dry-run',
    ]).stdout;
    expect(out).toContain('gcloud sql instances create brainspark-recovery-');
    expect(out).toContain('--no-assign-ip');
    expect(out).toContain('--network=projects/brainspark-prod/global/networks/brainspark-vpc');
    expect(out).toContain(
      'gcloud sql backups restore 1732521600000 --restore-instance=brainspark-recovery-',
    );
    expect(out).toContain('INSERT INTO public.children');
  });

  it('refuses table names that are not identifiers, two sources or none, and stale points in time', () => {
    expect(tableNamePattern.test('children; DROP TABLE parents')).toBe(false);
    expect(
      run(['--env', 'prod', '--table', 'children;x', '--backup-id', '1', '--dry-run']).status,
    ).toBe(1);
    expect(run(['--env', 'prod', '--table', 'children', '--dry-run']).status).toBe(1);
    expect(
      run([
        '--env',
        'prod',
        '--table',
        'children',
        '--backup-id',
        '1',
        '--point-in-time',
        hoursAgo(1),
        '--dry-run',
      ]).status,
    ).toBe(1);
    expect(
      run([
        '--env',
        'prod',
        '--table',
        'children',
        '--point-in-time',
        hoursAgo(8 * 24),
        '--dry-run',
      ]).stderr,
    ).toContain('older than the 7 days');
  }, 90_000); // four script starts (tsx each): slow on a loaded 2-core machine
});

describe('the database steps, run for real', () => {
  let recovery: TestDatabase;
  let production: TestDatabase;
  let dumpDir: string;

  const conn = (db: TestDatabase): Connection => {
    const url = new URL(adminUrl());
    return {
      host: url.hostname,
      port: Number(url.port || 5432),
      database: db.name,
      user: decodeURIComponent(url.username) || 'postgres',
    };
  };

  beforeAll(async () => {
    recovery = await createTestDatabase();
    production = await createTestDatabase();
    dumpDir = await mkdtemp(path.join(tmpdir(), 'restore-test-'));
    // The past (recovery instance): one family with three children.
    for (const db of [recovery, production]) {
      await db.pool.query(
        `INSERT INTO parents (id, email) VALUES ('00000000-0000-4000-8000-0000000000a1', 'restore@example.com')`,
      );
      await db.pool.query(
        `INSERT INTO children (id, parent_id, name, birth_date, age_group, created_at)
         SELECT ('00000000-0000-4000-8000-00000000000' || n)::uuid, '00000000-0000-4000-8000-0000000000a1',
                'Child ' || n, current_date - interval '8 years', 'curious_explorers', now() - (n || ' days')::interval
           FROM generate_series(1, 3) AS n`,
      );
    }
    // The present (production): one child deleted by mistake, one renamed since.
    await production.pool.query(
      `DELETE FROM children WHERE id = '00000000-0000-4000-8000-000000000002'`,
    );
    await production.pool.query(
      `UPDATE children SET name = 'Renamed' WHERE id = '00000000-0000-4000-8000-000000000001'`,
    );
  });

  afterAll(async () => {
    await recovery?.drop();
    await production?.drop();
    await rm(dumpDir, { recursive: true, force: true });
  });

  it('imports the old table beside the live one and puts back only the missing row', async () => {
    const steps = restorePlan({
      env: {
        name: 'test',
        varFile: '',
        projectId: 'p',
        region: 'us-central1',
        artifactsBucket: 'b',
      },
      table: 'children',
      source: { pointInTime: hoursAgo(1) },
      recoveryInstance: 'unused',
      apply: true,
      keepRecovery: true,
      dumpFile: path.join(dumpDir, 'children.sql'),
      recovery: conn(recovery),
      production: conn(production),
      startProxies: false,
      password: () => 'unused-with-trust-auth',
    });
    // Everything but creating the Cloud SQL recovery instance.
    const databaseSteps = steps.filter((s) => s.commands.every((c) => c.argv[0] !== 'gcloud'));
    expect(databaseSteps.map((s) => s.commands[0]?.argv[0])).toEqual([
      'psql',
      'pg_dump',
      'psql',
      'psql',
      'psql',
    ]);
    await runPlan(databaseSteps, { quiet: true });

    const recovered = await production.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM recovered.children',
    );
    expect(recovered.rows[0]?.n).toBe(3);
    const live = await production.pool.query<{ id: string; name: string }>(
      'SELECT id, name FROM children ORDER BY id',
    );
    expect(live.rows.map((r) => r.name)).toEqual(['Renamed', 'Child 2', 'Child 3']);

    // A second run finds nothing missing and changes nothing.
    await runPlan(databaseSteps, { quiet: true });
    const again = await production.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM children',
    );
    expect(again.rows[0]?.n).toBe(3);
    // The recovery side was only read from (plus its own staging copy).
    const past = await recovery.pool.query<{ name: string }>(
      'SELECT name FROM children ORDER BY id',
    );
    expect(past.rows.map((r) => r.name)).toEqual(['Child 1', 'Child 2', 'Child 3']);
  }, 60_000);
});
