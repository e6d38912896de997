// Applies the hand-written SQL migrations in prisma/migrations without Prisma's native
// engine, recording them in `_prisma_migrations` exactly as `prisma migrate deploy` does
// (same table, sha256 checksums), so `prisma migrate status` agrees wherever it can run.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { splitSqlStatements } from './sql-split.ts';

export const defaultMigrationsDir = fileURLToPath(
  new URL('../../prisma/migrations', import.meta.url),
);

/** Prisma's own advisory lock key, so this runner and `prisma migrate` also exclude each other. */
const ADVISORY_LOCK_KEY = 72707369;
const NO_TRANSACTION_MARKER = /^\s*--\s*brainspark:no-transaction\b/;

export interface MigrationFile {
  name: string;
  sql: string;
  downSql: string | undefined;
  checksum: string;
  transactional: boolean;
}

interface AppliedRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
  logs: string | null;
}

export interface MigrationStatus {
  applied: { name: string; finishedAt: Date }[];
  pending: string[];
  /** Applied files whose content no longer matches the recorded checksum. */
  changed: string[];
  /** Started but never finished (a non-transactional migration that failed half-way). */
  failed: string[];
  /** Recorded in the database but absent from the migrations folder. */
  missing: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

type Queryable = Pick<pg.ClientBase, 'query'>;

export async function readMigrations(dir = defaultMigrationsDir): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && /^\d{14}_[a-z0-9_]+$/.test(e.name))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      const downPath = path.join(dir, name, 'down.sql');
      const downSql = existsSync(downPath) ? await readFile(downPath, 'utf8') : undefined;
      return {
        name,
        sql,
        downSql,
        checksum: createHash('sha256').update(sql).digest('hex'),
        transactional: !NO_TRANSACTION_MARKER.test(sql),
      };
    }),
  );
}

async function ensureMigrationsTable(db: Queryable): Promise<void> {
  // Prisma's definition of the table, verbatim in shape.
  await db.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`);
}

async function appliedRows(db: Queryable): Promise<AppliedRow[]> {
  const exists = await db.query<{ present: boolean }>(
    `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present`,
  );
  if (!exists.rows[0]?.present) return [];
  const result = await db.query<AppliedRow>(
    `SELECT id, migration_name, checksum, finished_at, rolled_back_at, started_at, logs
       FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name`,
  );
  return result.rows;
}

function computeStatus(files: MigrationFile[], rows: AppliedRow[]): MigrationStatus {
  const byName = new Map(files.map((f) => [f.name, f]));
  const finished = rows.filter((r) => r.finished_at !== null);
  const finishedNames = new Set(finished.map((r) => r.migration_name));
  return {
    applied: finished.map((r) => ({ name: r.migration_name, finishedAt: r.finished_at as Date })),
    pending: files.filter((f) => !finishedNames.has(f.name)).map((f) => f.name),
    changed: finished
      .filter((r) => {
        const file = byName.get(r.migration_name);
        return file !== undefined && file.checksum !== r.checksum;
      })
      .map((r) => r.migration_name),
    failed: rows.filter((r) => r.finished_at === null).map((r) => r.migration_name),
    missing: finished.filter((r) => !byName.has(r.migration_name)).map((r) => r.migration_name),
  };
}

export async function migrationStatus(
  db: Queryable,
  dir = defaultMigrationsDir,
): Promise<MigrationStatus> {
  return computeStatus(await readMigrations(dir), await appliedRows(db));
}

function assertSafeToProceed(status: MigrationStatus): void {
  if (status.failed.length > 0) {
    throw new MigrationError(
      `Migration ${status.failed[0]} failed half-way in an earlier run. Repair the database by hand, then run \`npm run db:migrate -- resolve ${status.failed[0]}\`.`,
    );
  }
  if (status.changed.length > 0) {
    throw new MigrationError(
      `Migration ${status.changed[0]} was changed after it was applied (checksum mismatch). Restore the original file and put the change in a new migration.`,
    );
  }
  if (status.missing.length > 0) {
    throw new MigrationError(
      `Migration ${status.missing[0]} is applied in the database but missing from the migrations folder.`,
    );
  }
}

async function withLock<T>(db: Queryable, work: () => Promise<T>): Promise<T> {
  await db.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
  try {
    return await work();
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
  }
}

export interface MigrateOptions {
  dir?: string;
  onApplied?: (name: string, ms: number) => void;
}

/**
 * Applies every pending migration in order and returns their names. `db` must be one
 * connection (a pg.Client or a checked-out PoolClient): the advisory lock is per session.
 */
export async function migrateUp(db: Queryable, options: MigrateOptions = {}): Promise<string[]> {
  const files = await readMigrations(options.dir);
  return withLock(db, async () => {
    await ensureMigrationsTable(db);
    const status = computeStatus(files, await appliedRows(db));
    assertSafeToProceed(status);
    const applied: string[] = [];
    for (const file of files.filter((f) => status.pending.includes(f.name))) {
      const started = performance.now();
      await applyOne(db, file);
      applied.push(file.name);
      options.onApplied?.(file.name, performance.now() - started);
    }
    return applied;
  });
}

async function applyOne(db: Queryable, file: MigrationFile): Promise<void> {
  const id = randomUUID();
  if (file.transactional) {
    await db.query('BEGIN');
    try {
      await db.query(file.sql);
      await db.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), now(), 1)`,
        [id, file.checksum, file.name],
      );
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK');
      // Nothing was applied, so nothing is recorded: fix the file and run again.
      throw new MigrationError(
        `Migration ${file.name} failed and was rolled back: ${(err as Error).message}`,
      );
    }
    return;
  }
  // Outside a transaction a failure can leave work half-done: record the attempt first,
  // as Prisma does, so later runs refuse until an engineer resolves it.
  await db.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), 0)`,
    [id, file.checksum, file.name],
  );
  let done = 0;
  try {
    for (const statement of splitSqlStatements(file.sql)) {
      await db.query(statement);
      done += 1;
    }
  } catch (err) {
    await db.query(
      `UPDATE "_prisma_migrations" SET logs = $2, applied_steps_count = $3 WHERE id = $1`,
      [id, (err as Error).message, done],
    );
    throw new MigrationError(
      `Migration ${file.name} failed half-way (after ${done} statements): ${(err as Error).message}`,
    );
  }
  await db.query(
    `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
    [id],
  );
}

/** Reverts the most recently applied migration with its down.sql; returns its name or null. */
export async function rollbackLast(
  db: Queryable,
  options: { dir?: string } = {},
): Promise<string | null> {
  const files = await readMigrations(options.dir);
  return withLock(db, async () => {
    const rows = await appliedRows(db);
    assertSafeToProceed(computeStatus(files, rows));
    const last = rows.filter((r) => r.finished_at !== null).at(-1);
    if (!last) return null;
    const file = files.find((f) => f.name === last.migration_name);
    if (!file?.downSql)
      throw new MigrationError(`Migration ${last.migration_name} has no down.sql`);
    await db.query('BEGIN');
    try {
      await db.query(file.downSql);
      // Prisma has no "down": removing the row makes `prisma migrate status` show it pending.
      await db.query(`DELETE FROM "_prisma_migrations" WHERE id = $1`, [last.id]);
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK');
      throw new MigrationError(`Rollback of ${file.name} failed: ${(err as Error).message}`);
    }
    return file.name;
  });
}

/** Marks a half-failed migration as rolled back (like `prisma migrate resolve --rolled-back`). */
export async function resolveFailed(db: Queryable, name: string): Promise<boolean> {
  const result = await db.query(
    `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
    [name],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Drops everything in the public schema and applies all migrations again. */
export async function resetDatabase(
  db: Queryable,
  options: MigrateOptions = {},
): Promise<string[]> {
  await withLock(db, async () => {
    await db.query('DROP SCHEMA public CASCADE');
    await db.query('CREATE SCHEMA public');
  });
  return migrateUp(db, options);
}
