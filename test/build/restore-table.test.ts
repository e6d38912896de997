// scripts/restore-table: the dry run prints spec 9.3's procedure and runs nothing, and every
// database step is the Cloud Run job brainspark-restore inside the VPC (no VM, no proxy). The
// job's work (scripts/restore-job.ts: copy beside the live table, validation, putting missing
// rows back) runs for real between two PostgreSQL 15 databases standing in for the recovery
// instance and production.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/ops.ts';
import { applyMissingRows, stageTable, validateTable } from '../../scripts/restore-job.ts';
import { tableNamePattern } from '../../scripts/restore-table.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

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
      'gcloud run jobs execute brainspark-restore --region=us-central1 --project=brainspark-prod --wait',
      'RESTORE_MODE=stage,RESTORE_TABLE=children,RESTORE_SOURCE_NAME=brainspark-prod:brainspark-recovery-',
      'RESTORE_SOURCE_HOST=$(gcloud sql instances describe brainspark-recovery-',
      'RESTORE_SOURCE_CA_B64=$(gcloud sql instances describe brainspark-recovery-',
      'gcloud logging read',
      'gcloud sql instances delete brainspark-recovery-',
    ].map((needle) => {
      const i = out.indexOf(needle);
      expect(i, needle).toBeGreaterThanOrEqual(0);
      return i;
    });
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).not.toContain('RESTORE_MODE=apply');
    // Nothing needs a machine inside the VPC.
    for (const tool of ['cloud-sql-proxy', 'psql', 'pg_dump', 'gcloud compute']) {
      expect(out).not.toContain(tool);
    }
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
    expect(out).toContain('--update-env-vars="RESTORE_MODE=apply,RESTORE_TABLE=children"');
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
  }, 120_000); // four script starts (tsx each): slow on a loaded 2-core machine
});

describe('the restore job, run for real', () => {
  let recovery: TestDatabase;
  let production: TestDatabase;

  beforeAll(async () => {
    recovery = await createTestDatabase();
    production = await createTestDatabase();
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
  });

  const withClients = async <T>(work: (src: pg.Client, prod: pg.Client) => Promise<T>) => {
    const src = new pg.Client({ connectionString: recovery.url });
    const prod = new pg.Client({ connectionString: production.url });
    await Promise.all([src.connect(), prod.connect()]);
    try {
      return await work(src, prod);
    } finally {
      await Promise.all([src.end(), prod.end()]);
    }
  };

  it('copies the old table beside the live one, validates, and puts back only the missing row', async () => {
    await withClients(async (src, prod) => {
      // Batches of 2 rows: the copy spans several fetches.
      expect(await stageTable(src, prod, 'children', 2)).toBe(3);
      const v = await validateTable(prod, 'children');
      expect(v.recovered.rows).toBe(3);
      expect(v.live.rows).toBe(2);
      expect(v.missingFromLive).toBe(1);
      expect(await applyMissingRows(prod, 'children')).toBe(1);
      // A second run finds nothing missing and changes nothing.
      expect(await stageTable(src, prod, 'children')).toBe(3);
      expect(await applyMissingRows(prod, 'children')).toBe(0);
      expect((await validateTable(prod, 'children')).missingFromLive).toBe(0);
    });
    const live = await production.pool.query<{ name: string }>(
      'SELECT name FROM children ORDER BY id',
    );
    expect(live.rows.map((r) => r.name)).toEqual(['Renamed', 'Child 2', 'Child 3']);
    // The recovery side was only read from.
    const past = await recovery.pool.query<{ name: string; schemas: number }>(
      `SELECT name, (SELECT count(*)::int FROM pg_namespace WHERE nspname = 'recovered') AS schemas
         FROM children ORDER BY id`,
    );
    expect(past.rows.map((r) => r.name)).toEqual(['Child 1', 'Child 2', 'Child 3']);
    expect(past.rows[0]?.schemas).toBe(0);
  }, 60_000);

  it('refuses a table name that is not an identifier, before touching anything', async () => {
    await withClients(async (src, prod) => {
      await expect(stageTable(src, prod, 'children; DROP TABLE parents')).rejects.toThrow(
        /Not a table name/,
      );
    });
  });
});
