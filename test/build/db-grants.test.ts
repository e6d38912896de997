// What the migration job does in production, on real PostgreSQL 15: the migration bundle runs
// as a non-superuser `migrator` owning the database, then grants.mjs gives the HTTP functions'
// and the jobs' users data access only. The health check and partition maintenance then run
// under those users, and a later migration can still ALTER the partitioned tables.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMigrate, repoRoot } from '../../scripts/build.ts';
import { grantStatements } from '../../scripts/db-grants.ts';
import { closeDatabase, useDatabasePool } from '../../shared/db/client.ts';
import { checkDatabase } from '../../shared/health.ts';
import { runPartitionMaintenance } from '../../shared/jobs/partition-maintenance.ts';
import { createLogger } from '../../shared/log.ts';
import { adminUrl } from '../helpers/db.ts';

const suffix = randomBytes(4).toString('hex');
const roles = {
  migrator: `t_migrator_${suffix}`,
  api: `t_api_${suffix}`,
  jobs: `t_jobs_${suffix}`,
};
const database = `t_grants_${suffix}`;
const password = randomBytes(12).toString('hex');
const outDir = path.join(repoRoot, 'dist', `.test-grants-${suffix}`);

function urlFor(role: string): string {
  const url = new URL(adminUrl());
  url.username = role;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function as<T>(role: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlFor(role) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  // Role and database names are generated here from hex; the password is a hex literal.
  await admin(`CREATE ROLE ${roles.migrator} LOGIN CREATEROLE PASSWORD '${password}'`);
  await admin(`CREATE ROLE ${roles.api} LOGIN PASSWORD '${password}'`);
  await admin(`CREATE ROLE ${roles.jobs} LOGIN PASSWORD '${password}'`);
  await admin(`CREATE DATABASE ${database} OWNER ${roles.migrator}`);

  const bundle = await buildMigrate(outDir);
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL: urlFor(roles.migrator),
    NODE_ENV: 'production',
  };
  const up = spawnSync(process.execPath, [path.join(bundle.dir, 'index.mjs'), 'up'], {
    env,
    encoding: 'utf8',
  });
  if (up.status !== 0) throw new Error(`migrations failed as migrator:\n${up.stderr}`);
  const grants = spawnSync(
    process.execPath,
    [path.join(bundle.dir, 'grants.mjs'), '--api-user', roles.api, '--jobs-user', roles.jobs],
    { env, encoding: 'utf8' },
  );
  if (grants.status !== 0) throw new Error(`grants failed:\n${grants.stderr}`);
}, 120_000);

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  for (const role of [roles.jobs, roles.api, roles.migrator])
    await admin(`DROP ROLE IF EXISTS ${role}`);
  await rm(outDir, { recursive: true, force: true });
});

describe('the HTTP functions database user', () => {
  it('reads and writes application tables', async () => {
    await as(roles.api, async (c) => {
      await c.query(`INSERT INTO parents (email) VALUES ('grants@example.com')`);
      const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM parents');
      expect(rows[0]?.n).toBe(1);
      await c.query(`UPDATE parents SET locale = 'fr-FR' WHERE email = 'grants@example.com'`);
      await c.query(`DELETE FROM parents WHERE email = 'grants@example.com'`);
    });
  });

  it('cannot change the schema, touch the migration ledger nor create partitions', async () => {
    await as(roles.api, async (c) => {
      await expect(c.query('CREATE TABLE intruder (id int)')).rejects.toThrow(/permission denied/);
      await expect(c.query('DROP TABLE children')).rejects.toThrow(/must be owner/);
      await expect(c.query('ALTER TABLE parents ADD COLUMN x int')).rejects.toThrow(
        /must be owner/,
      );
      await expect(c.query('SELECT * FROM "_prisma_migrations"')).rejects.toThrow(
        /permission denied/,
      );
      await expect(
        c.query(`SELECT create_monthly_partition('messages', '2098-01-01')`),
      ).rejects.toThrow(/permission denied for function create_monthly_partition/);
    });
  });

  it('gets a ready health check naming the latest migration (shared/health.ts as this user)', async () => {
    const pool = new pg.Pool({ connectionString: urlFor(roles.api), max: 1 });
    useDatabasePool(pool);
    try {
      const health = await checkDatabase();
      expect(health.ready).toBe(true);
      const latest = (await readdir(path.join(repoRoot, 'prisma', 'migrations')))
        .filter((n) => /^\d{14}_/.test(n))
        .sort()
        .at(-1);
      expect(health.migration).toBe(latest);
    } finally {
      await closeDatabase();
    }
  });
});

describe('the jobs database user', () => {
  it('runs partition maintenance for a later month, and the migrator can still ALTER the partitioned tables', async () => {
    // Two months ahead: the migrations made partitions up to 4 months after today, so the
    // job's window (up to 4 months after its date) adds new ones, owned by whoever made them.
    const now = new Date();
    const monthAt = (offset: number) => {
      const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 15));
      return {
        date: d.toISOString().slice(0, 10),
        suffix: d.toISOString().slice(0, 7).replace('-', '_'),
      };
    };
    useDatabasePool(new pg.Pool({ connectionString: urlFor(roles.jobs), max: 2 }));
    try {
      const report = await runPartitionMaintenance({
        date: monthAt(2).date,
        log: createLogger({ test: 'db-grants' }),
      });
      expect(report.counts.messagesPartitionsCreated).toBeGreaterThanOrEqual(1);
      expect(report.counts.daily_activityPartitionsCreated).toBeGreaterThanOrEqual(1);
    } finally {
      await closeDatabase();
    }
    const newest = monthAt(6).suffix;
    await as(roles.migrator, async (c) => {
      const { rows } = await c.query<{ relname: string; owner: string }>(
        `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
          WHERE c.relname IN ($1, $2)`,
        [`messages_${newest}`, `daily_activity_${newest}`],
      );
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row.owner).toBe(roles.migrator);
      // What the next schema change does: recurses into every partition, the job's included.
      await c.query('ALTER TABLE messages ADD COLUMN grants_probe int');
      await c.query('ALTER TABLE daily_activity ADD COLUMN grants_probe int');
      await c.query('ALTER TABLE messages DROP COLUMN grants_probe');
      await c.query('ALTER TABLE daily_activity DROP COLUMN grants_probe');
    });
    await as(roles.api, async (c) => {
      // The new partitions got the API user's grants (default privileges of the owner).
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(`messages_${newest}`)}`,
      );
      expect(rows[0]?.n).toBe(0);
    });
  });

  it('cannot create tables or partitions directly, nor act as the owner', async () => {
    await as(roles.jobs, async (c) => {
      await expect(
        c.query(
          `CREATE TABLE messages_2099_01 PARTITION OF messages FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')`,
        ),
      ).rejects.toThrow(/permission denied|must be owner/);
      await expect(c.query('ALTER TABLE messages ADD COLUMN x int')).rejects.toThrow(
        /must be owner/,
      );
      await expect(c.query('SELECT * FROM "_prisma_migrations"')).rejects.toThrow(
        /permission denied/,
      );
      const { rows } = await c.query<{ member: boolean }>(
        'SELECT pg_has_role(current_user, $1, $2) AS member',
        [roles.migrator, 'MEMBER'],
      );
      expect(rows[0]?.member).toBe(false);
    });
  });
});

describe('grant statements', () => {
  it('quote every role name as an identifier', () => {
    const sql = grantStatements('migrator', {
      apiUser: 'api"; DROP TABLE x; --',
      jobsUser: 'jobs@p.iam',
    });
    expect(sql.join('\n')).toContain('"api""; DROP TABLE x; --"');
    expect(sql.at(-1)).toBe('REVOKE "migrator" FROM "jobs@p.iam"');
    expect(sql.join('\n')).not.toMatch(/GRANT "migrator" TO/);
  });

  it('refuse to run for a user that does not exist', () => {
    const run = spawnSync(
      process.execPath,
      [
        path.join(outDir, 'migrate', 'grants.mjs'),
        '--api-user',
        `missing_${suffix}`,
        '--jobs-user',
        roles.jobs,
      ],
      { env: { PATH: process.env.PATH, DATABASE_URL: urlFor(roles.migrator) }, encoding: 'utf8' },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`--api-user role missing_${suffix} does not exist`);
  });
});
