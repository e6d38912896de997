import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  migrateUp,
  migrationStatus,
  readMigrations,
  resolveFailed,
  rollbackLast,
} from '../../shared/db/migrator.ts';
import { splitSqlStatements } from '../../shared/db/sql-split.ts';
import { createEmptyDatabase, type TestDatabase } from '../helpers/db.ts';

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const tableCount = (c: pg.Client) =>
  c
    .query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
    )
    .then((r) => r.rows[0]?.n ?? 0);

describe('migration runner on the real migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(async () => db.drop());

  it('applies everything, then nothing, then round-trips a rollback', async () => {
    const files = await readMigrations();
    expect(files.length).toBeGreaterThanOrEqual(1);
    await withClient(db.url, async (c) => {
      const first = await migrateUp(c);
      expect(first).toEqual(files.map((f) => f.name));
      expect(await migrateUp(c)).toEqual([]);

      const status = await migrationStatus(c);
      expect(status.pending).toEqual([]);
      expect(status.applied.map((a) => a.name)).toEqual(files.map((f) => f.name));

      // Recorded exactly as `prisma migrate deploy` would: sha256 of the file, finished, one step.
      const rows = await c.query(
        `SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM "_prisma_migrations" ORDER BY migration_name`,
      );
      expect(rows.rows.map((r) => r.checksum)).toEqual(files.map((f) => f.checksum));
      expect(
        rows.rows.every((r) => r.finished_at && r.applied_steps_count === 1 && !r.rolled_back_at),
      ).toBe(true);

      const tablesBefore = await tableCount(c);
      const last = files.at(-1)?.name;
      expect(await rollbackLast(c)).toBe(last);
      expect((await migrationStatus(c)).pending).toEqual([last]);
      expect(await migrateUp(c)).toEqual([last]);
      expect(await tableCount(c)).toBe(tablesBefore);
    });
  });

  it('rolls every migration back to an empty schema', async () => {
    const scratch = await createEmptyDatabase();
    try {
      await withClient(scratch.url, async (c) => {
        await migrateUp(c);
        while ((await rollbackLast(c)) !== null) {
          /* keep rolling back */
        }
        expect(await tableCount(c)).toBe(0);
        const leftovers = await c.query(
          `SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'`,
        );
        expect(leftovers.rows[0]?.n).toBe(0);
      });
    } finally {
      await scratch.drop();
    }
  });
});

describe('migration runner safety', () => {
  let dir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-migrations-'));
    db = await createEmptyDatabase();
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function writeMigration(name: string, up: string, down: string): Promise<void> {
    const folder = path.join(dir, name);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'migration.sql'), up);
    await writeFile(path.join(folder, 'down.sql'), down);
  }

  it('refuses a changed applied migration, naming it', async () => {
    await writeMigration('20990101000000_one', 'CREATE TABLE one (id int);', 'DROP TABLE one;');
    await withClient(db.url, async (c) => {
      expect(await migrateUp(c, { dir })).toEqual(['20990101000000_one']);
      await writeFile(
        path.join(dir, '20990101000000_one', 'migration.sql'),
        'CREATE TABLE one (id bigint);',
      );
      await expect(migrateUp(c, { dir })).rejects.toThrow(/20990101000000_one was changed/);
      await writeFile(
        path.join(dir, '20990101000000_one', 'migration.sql'),
        'CREATE TABLE one (id int);',
      );
      expect(await migrateUp(c, { dir })).toEqual([]);
    });
  });

  it('rolls back a failing transactional migration completely and records nothing', async () => {
    await writeMigration(
      '20990101000100_broken',
      'CREATE TABLE two (id int); SELECT 1/0;',
      'DROP TABLE two;',
    );
    await withClient(db.url, async (c) => {
      await expect(migrateUp(c, { dir })).rejects.toThrow(
        /20990101000100_broken failed and was rolled back/,
      );
      const two = await c.query(`SELECT to_regclass('two') AS t`);
      expect(two.rows[0]?.t).toBeNull();
      expect((await migrationStatus(c, dir)).failed).toEqual([]);
      await writeFile(
        path.join(dir, '20990101000100_broken', 'migration.sql'),
        'CREATE TABLE two (id int);',
      );
      expect(await migrateUp(c, { dir })).toEqual(['20990101000100_broken']);
    });
  });

  it('runs a no-transaction migration statement by statement and refuses after a half-way failure', async () => {
    await writeMigration(
      '20990101000200_concurrent',
      '-- brainspark:no-transaction\nCREATE INDEX CONCURRENTLY one_id ON one (id);\nSELECT 1/0;\n',
      'DROP INDEX one_id;',
    );
    await withClient(db.url, async (c) => {
      await expect(migrateUp(c, { dir })).rejects.toThrow(
        /20990101000200_concurrent failed half-way/,
      );
      const index = await c.query(`SELECT to_regclass('one_id') AS i`);
      expect(index.rows[0]?.i).toBe('one_id');
      // Every later run refuses, naming the migration, until an engineer resolves it.
      await expect(migrateUp(c, { dir })).rejects.toThrow(
        /20990101000200_concurrent failed half-way in an earlier run/,
      );
      await c.query('DROP INDEX one_id');
      expect(await resolveFailed(c, '20990101000200_concurrent')).toBe(true);
      await writeFile(
        path.join(dir, '20990101000200_concurrent', 'migration.sql'),
        '-- brainspark:no-transaction\nCREATE INDEX CONCURRENTLY one_id ON one (id);\n',
      );
      expect(await migrateUp(c, { dir })).toEqual(['20990101000200_concurrent']);
    });
  });

  it('lets exactly one of two concurrent runs apply a migration', async () => {
    await writeMigration(
      '20990101000300_slow',
      'SELECT pg_sleep(0.5); CREATE TABLE slow (id int);',
      'DROP TABLE slow;',
    );
    const results = await Promise.all([
      withClient(db.url, (c) => migrateUp(c, { dir })),
      withClient(db.url, (c) => migrateUp(c, { dir })),
    ]);
    expect(results.flat()).toEqual(['20990101000300_slow']);
    await withClient(db.url, async (c) => {
      const rows = await c.query(
        `SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE migration_name = $1`,
        ['20990101000300_slow'],
      );
      expect(rows.rows[0]?.n).toBe(1);
    });
  });
});

describe('splitSqlStatements', () => {
  it('keeps dollar-quoted bodies, quotes and comments intact', () => {
    const sql = `-- a; comment\nCREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\nSELECT 'a;b', "x;y" FROM t; /* c; */ SELECT $tag$;$tag$;`;
    expect(splitSqlStatements(sql)).toEqual([
      '-- a; comment\nCREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql',
      `SELECT 'a;b', "x;y" FROM t`,
      '/* c; */ SELECT $tag$;$tag$',
    ]);
  });
});
