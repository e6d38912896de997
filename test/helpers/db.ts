// Every test file gets its own database, cloned from a template that global-setup migrated
// once, so files run in parallel against real PostgreSQL 15 and leave nothing behind.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export const adminUrl = (): string => inject('adminDatabaseUrl');

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function create(template: string | undefined): Promise<TestDatabase> {
  const name = `${inject('testDatabasePrefix')}${randomBytes(5).toString('hex')}`;
  // Identifiers cannot be parameters; both names are generated here from hex and a fixed prefix.
  await adminQuery(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
  const url = databaseUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: 12 });
  return {
    name,
    url,
    pool,
    async drop() {
      // FORCE terminates connections pg may still be closing: don't let that surface as an error.
      pool.on('error', () => undefined);
      await pool.end();
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** A fresh database with every migration applied. */
export function createTestDatabase(): Promise<TestDatabase> {
  return create(inject('templateDatabase'));
}

/** A fresh, empty database (for migration-runner tests). */
export function createEmptyDatabase(): Promise<TestDatabase> {
  return create(undefined);
}
