// What the migration job does in production, on real PostgreSQL 15: the migration bundle runs
// as a non-superuser `migrator` owning the database, then grants.mjs gives the HTTP functions'
// user data access only and the jobs' user the owner rights partition maintenance needs.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMigrate, repoRoot } from '../../scripts/build.ts';
import { grantStatements } from '../../scripts/db-grants.ts';
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

  it('cannot change the schema, nor touch the migration ledger', async () => {
    await as(roles.api, async (c) => {
      await expect(c.query('CREATE TABLE intruder (id int)')).rejects.toThrow(/permission denied/);
      await expect(c.query('DROP TABLE children')).rejects.toThrow(/must be owner/);
      await expect(c.query('ALTER TABLE parents ADD COLUMN x int')).rejects.toThrow(
        /must be owner/,
      );
      await expect(c.query('SELECT * FROM "_prisma_migrations"')).rejects.toThrow(
        /permission denied/,
      );
    });
  });
});

describe('the jobs database user', () => {
  it('creates and drops partitions of the partitioned tables, which the API user can then use', async () => {
    await as(roles.jobs, async (c) => {
      await c.query(
        `CREATE TABLE messages_2099_01 PARTITION OF messages FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')`,
      );
    });
    await as(roles.api, async (c) => {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM messages WHERE created_at >= '2099-01-01'`,
      );
      expect(rows[0]?.n).toBe(0);
    });
    await as(roles.jobs, async (c) => {
      // Tables referencing messages hold per-partition constraints: detach first, as retention does.
      await c.query('ALTER TABLE messages DETACH PARTITION messages_2099_01');
      await c.query('DROP TABLE messages_2099_01');
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
    expect(sql.at(-1)).toBe('GRANT "migrator" TO "jobs@p.iam"');
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
