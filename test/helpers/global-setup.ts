// Runs once per `vitest run`: migrates a template database that each test file clones.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateUp } from '../../shared/db/migrator.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    testDatabasePrefix: string;
  }
}

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = randomBytes(4).toString('hex');
  const prefix = `bs_test_${runId}_`;
  const template = `bs_template_${runId}`;
  await withClient(ADMIN_URL, (c) => c.query(`CREATE DATABASE "${template}"`));
  const templateUrl = new URL(ADMIN_URL);
  templateUrl.pathname = `/${template}`;
  await withClient(templateUrl.toString(), (c) => migrateUp(c));
  project.provide('adminDatabaseUrl', ADMIN_URL);
  project.provide('templateDatabase', template);
  project.provide('testDatabasePrefix', prefix);

  return async () => {
    await withClient(ADMIN_URL, async (c) => {
      const { rows } = await c.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2',
        [`${prefix}%`, template],
      );
      for (const { datname } of rows)
        await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    });
  };
}
