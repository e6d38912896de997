// The database half of a table recovery (spec 9.3), run inside the VPC by the Cloud Run job
// brainspark-restore (terraform/migrate.tf) as the migrator; scripts/restore-table starts it.
//   RESTORE_MODE=stage  copy public.<table> of the recovery instance into production's
//                       recovered.<table> (beside the live table, never over it), then validate
//   RESTORE_MODE=apply  insert the rows whose id the live table lacks, in one transaction,
//                       then validate again
//   RESTORE_MODE=validate  only print the validation
//   RESTORE_MODE=drop   drop recovered.<table> once the recovery is done
// RESTORE_TABLE names the table. The recovery instance is RESTORE_SOURCE_HOST (its private IP),
// verified against RESTORE_SOURCE_CA_B64 (its CA, base64 PEM) and RESTORE_SOURCE_NAME
// (`<project>:<instance>`); production is DATABASE_URL with DB_SERVER_CA / DB_SERVER_NAME.
// Results are JSON log lines (the job's logs), never row contents: they hold children's data.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { config } from '../shared/config.ts';
import { operationsClientConfig } from './db-connection.ts';

/** Table names are identifiers from the schema, never arbitrary text. */
export const tableNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

function checkedTable(table: string): string {
  if (!tableNamePattern.test(table)) throw new Error(`Not a table name: ${table}`);
  return pg.escapeIdentifier(table);
}

/**
 * Copies public.<table> of `source` into recovered.<table> of `production` in batches, in one
 * production transaction (a failure leaves no half copy) and one snapshot of the source.
 * Rows travel as JSON and are rebuilt with json_populate_recordset, so every column type
 * round-trips without a per-type codec. Returns the number of rows copied.
 */
export async function stageTable(
  source: pg.Client,
  production: pg.Client,
  table: string,
  batchRows = 2000,
): Promise<number> {
  const t = checkedTable(table);
  let copied = 0;
  await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await production.query('BEGIN');
  try {
    await production.query('CREATE SCHEMA IF NOT EXISTS recovered');
    await production.query(`DROP TABLE IF EXISTS recovered.${t}`);
    // Same columns, no constraints or triggers: a staging copy, not a second live table.
    await production.query(`CREATE TABLE recovered.${t} (LIKE public.${t})`);
    await source.query(
      `DECLARE rows_to_copy NO SCROLL CURSOR FOR SELECT row_to_json(r)::text AS row FROM public.${t} r`,
    );
    for (;;) {
      const { rows } = await source.query<{ row: string }>(`FETCH ${batchRows} FROM rows_to_copy`);
      if (rows.length === 0) break;
      await production.query(
        `INSERT INTO recovered.${t} SELECT * FROM json_populate_recordset(NULL::recovered.${t}, $1::json)`,
        [`[${rows.map((r) => r.row).join(',')}]`],
      );
      copied += rows.length;
    }
    await production.query('COMMIT');
  } catch (err) {
    await production.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await source.query('ROLLBACK').catch(() => undefined);
  }
  return copied;
}

export interface Validation {
  recovered: { rows: number; newest: string | null };
  live: { rows: number; newest: string | null };
  missingFromLive: number;
}

/** Spec 9.3's validation: count and newest created_at of both copies, rows missing from live. */
export async function validateTable(production: pg.Client, table: string): Promise<Validation> {
  const t = checkedTable(table);
  const { rows } = await production.query<{
    copy: 'recovered' | 'live';
    rows: number;
    newest: Date | null;
  }>(
    `SELECT 'recovered' AS copy, count(*)::int AS rows, max(created_at) AS newest FROM recovered.${t}
     UNION ALL
     SELECT 'live', count(*)::int, max(created_at) FROM public.${t}`,
  );
  const missing = await production.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM recovered.${t} r
      WHERE NOT EXISTS (SELECT 1 FROM public.${t} l WHERE l.id = r.id)`,
  );
  const pick = (copy: 'recovered' | 'live') => {
    const row = rows.find((r) => r.copy === copy);
    return { rows: row?.rows ?? 0, newest: row?.newest?.toISOString() ?? null };
  };
  return {
    recovered: pick('recovered'),
    live: pick('live'),
    missingFromLive: missing.rows[0]?.n ?? 0,
  };
}

/**
 * Inserts into public.<table> the recovered rows whose id it lacks, never overwriting a row.
 * Generated columns are left to PostgreSQL; triggers run as for any insert (audit log, the
 * 4-children limit). Returns the number of rows put back.
 */
export async function applyMissingRows(production: pg.Client, table: string): Promise<number> {
  const t = checkedTable(table);
  await production.query('BEGIN');
  try {
    const { rows } = await production.query<{ name: string }>(
      `SELECT attname AS name FROM pg_attribute
        WHERE attrelid = to_regclass('public.' || quote_ident($1)) AND attnum > 0
          AND NOT attisdropped AND attgenerated = ''
        ORDER BY attnum`,
      [table],
    );
    if (rows.length === 0) throw new Error(`No table public.${table}`);
    const cols = rows.map((r) => pg.escapeIdentifier(r.name)).join(', ');
    const result = await production.query(
      `INSERT INTO public.${t} (${cols})
       SELECT ${cols} FROM recovered.${t} r
        WHERE NOT EXISTS (SELECT 1 FROM public.${t} l WHERE l.id = r.id)`,
    );
    await production.query('COMMIT');
    return result.rowCount ?? 0;
  } catch (err) {
    await production.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

const log = (message: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ severity: 'INFO', message, ...fields }));

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const mode = env.RESTORE_MODE ?? '';
  const table = env.RESTORE_TABLE ?? '';
  if (!['stage', 'apply', 'validate', 'drop'].includes(mode))
    throw new Error('RESTORE_MODE must be stage, apply, validate or drop');
  checkedTable(table);
  const cfg = config();
  const production = new pg.Client(operationsClientConfig(cfg));
  await production.connect();
  try {
    if (mode === 'stage') {
      const host = env.RESTORE_SOURCE_HOST ?? '';
      if (!/^[0-9a-fA-F.:]+$/.test(host)) throw new Error('RESTORE_SOURCE_HOST must be an IP');
      const url = new URL(cfg.DATABASE_URL ?? '');
      url.hostname = host;
      const ca = env.RESTORE_SOURCE_CA_B64
        ? Buffer.from(env.RESTORE_SOURCE_CA_B64, 'base64').toString('utf8')
        : undefined;
      if (cfg.NODE_ENV === 'production' && !ca)
        throw new Error('RESTORE_SOURCE_CA_B64 is required: the recovery instance is verified');
      const source = new pg.Client(
        operationsClientConfig(
          {
            ...cfg,
            DB_SERVER_CA: ca,
            DB_SERVER_NAME: env.RESTORE_SOURCE_NAME,
          },
          url.toString(),
        ),
      );
      await source.connect();
      try {
        log('recovered copy staged', { table, rows: await stageTable(source, production, table) });
      } finally {
        await source.end();
      }
    } else if (mode === 'apply') {
      log('missing rows put back', { table, rows: await applyMissingRows(production, table) });
    } else if (mode === 'drop') {
      await production.query(`DROP TABLE IF EXISTS recovered.${pg.escapeIdentifier(table)}`);
      log('recovered copy dropped', { table });
      return;
    }
    log('restore validation', { table, ...(await validateTable(production, table)) });
  } finally {
    await production.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.env).catch((err: unknown) => {
    console.error(
      JSON.stringify({
        severity: 'ERROR',
        message: 'restore failed',
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    process.exitCode = 1;
  });
}
