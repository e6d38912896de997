// Recovers one table from a backup or a point in time (spec 9.3) without touching anything
// else in production:
//   scripts/restore-table --env prod --table children --point-in-time 2026-11-25T09:00:00Z
//   scripts/restore-table --env prod --table children --backup-id 1732521600000 [--apply]
// 1. a recovery instance: a clone of brainspark-db at the point in time, or a new instance
//    restored from a backup; 2. cloud-sql-proxy to it and to production (private IP: run this
//    from a machine inside the VPC, see docs/RUNBOOK.md); 3. on the recovery instance, a copy of
//    the table in a `recovered` schema; 4. pg_dump -t of that copy; 5. import into production's
//    `recovered` schema, beside the live table; 6. the validation queries (count, max created_at,
//    rows missing from the live table); 7. with --apply, insert the missing rows back in one
//    transaction and validate again; 8. delete the recovery instance (unless --keep-recovery).
// --dry-run prints every step and command and touches nothing.
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Command,
  capture,
  type EnvironmentSettings,
  parseFlags,
  readEnvironment,
  renderPlan,
  runPlan,
  type Step,
  StepFailed,
} from './ops.ts';

export const primaryInstance = 'brainspark-db';
export const recoveryDumpDir = path.join(tmpdir(), 'brainspark-recovery');

export interface Connection {
  host: string;
  port: number;
  database: string;
  user: string;
}

export interface RestoreOptions {
  env: EnvironmentSettings;
  table: string;
  source: { pointInTime: string } | { backupId: string };
  recoveryInstance: string;
  apply: boolean;
  keepRecovery: boolean;
  /** Where the dump is written (kept afterwards as a record of what was restored). */
  dumpFile: string;
  recovery: Connection;
  production: Connection;
  /** Whether to start cloud-sql-proxy (false when the connections are reachable already). */
  startProxies: boolean;
  /** Supplies the migrator password (Secret Manager in real runs). */
  password: () => string;
}

/** Table names are identifiers from the schema, never arbitrary text. */
export const tableNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

// The SQL runs through psql with the table passed as a variable (-v table=...) and quoted by
// psql as an identifier (:"table") or a literal (:'table'), so no name is pasted into SQL.

export const stageOnRecoverySql = `
CREATE SCHEMA IF NOT EXISTS recovered;
DROP TABLE IF EXISTS recovered.:"table";
CREATE TABLE recovered.:"table" AS TABLE public.:"table";
SELECT count(*) AS rows_copied_on_recovery_instance FROM recovered.:"table";
`;

export const prepareProductionSql = `
CREATE SCHEMA IF NOT EXISTS recovered;
DROP TABLE IF EXISTS recovered.:"table";
`;

// Spec 9.3's validation queries, on the recovered copy and on the live table side by side.
export const validationSql = `
SELECT 'recovered' AS copy, count(*) AS rows, max(created_at) AS newest FROM recovered.:"table"
UNION ALL
SELECT 'live', count(*), max(created_at) FROM public.:"table";
SELECT count(*) AS rows_missing_from_live
  FROM recovered.:"table" r
 WHERE NOT EXISTS (SELECT 1 FROM public.:"table" l WHERE l.id = r.id);
`;

// Puts back only rows the live table no longer has (by id), never overwriting newer data.
// The column list comes from the catalogue (generated columns cannot be inserted into) and
// every identifier is quoted by format('%I'); \gexec runs the statement it builds.
export const applyMissingSql = `
BEGIN;
SELECT format(
         'INSERT INTO public.%I (%s) SELECT %s FROM recovered.%I r WHERE NOT EXISTS (SELECT 1 FROM public.%I l WHERE l.id = r.id)',
         :'table', cols, cols, :'table', :'table')
  FROM (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS cols
          FROM pg_attribute
         WHERE attrelid = format('public.%I', :'table')::regclass
           AND attnum > 0 AND NOT attisdropped AND attgenerated = '') AS c
\\gexec
COMMIT;
`;

function psql(
  conn: Connection,
  table: string,
  sql: string,
  describe: string,
  password: () => string,
): Command {
  return {
    argv: [
      'psql',
      `--host=${conn.host}`,
      `--port=${conn.port}`,
      `--username=${conn.user}`,
      `--dbname=${conn.database}`,
      '--no-psqlrc',
      '--set=ON_ERROR_STOP=1',
      `--set=table=${table}`,
    ],
    stdin: { describe, produce: () => sql },
    env: () => ({ PGPASSWORD: password() }),
  };
}

export function restorePlan(o: RestoreOptions): Step[] {
  const { projectId, region } = o.env;
  const project = `--project=${projectId}`;
  const t = o.table;
  const create: Command[] =
    'pointInTime' in o.source
      ? [
          {
            argv: [
              'gcloud',
              'sql',
              'instances',
              'clone',
              primaryInstance,
              o.recoveryInstance,
              `--point-in-time=${o.source.pointInTime}`,
              project,
            ],
          },
        ]
      : [
          {
            // Same machine, version, edition and private network as the primary; no public IP.
            argv: [
              'gcloud',
              'sql',
              'instances',
              'create',
              o.recoveryInstance,
              '--database-version=POSTGRES_15',
              '--tier=db-custom-2-4096',
              '--edition=enterprise',
              `--region=${region}`,
              `--network=projects/${projectId}/global/networks/brainspark-vpc`,
              '--no-assign-ip',
              project,
            ],
          },
          {
            argv: [
              'gcloud',
              'sql',
              'backups',
              'restore',
              o.source.backupId,
              `--restore-instance=${o.recoveryInstance}`,
              `--backup-instance=${primaryInstance}`,
              '--quiet',
              project,
            ],
          },
        ];

  const steps: Step[] = [
    {
      title:
        'pointInTime' in o.source
          ? `Create recovery instance ${o.recoveryInstance} as of ${o.source.pointInTime}`
          : `Create recovery instance ${o.recoveryInstance} from backup ${o.source.backupId}`,
      why: 'Production is never rewound: the old data is read from a separate, temporary instance.',
      commands: create,
    },
  ];
  if (o.startProxies) {
    steps.push({
      title: 'Connect to the recovery instance and to production through cloud-sql-proxy',
      why: 'Both have private IPs only; the proxy must run on a machine inside the VPC.',
      commands: [
        {
          argv: [
            'cloud-sql-proxy',
            '--private-ip',
            `--port=${o.recovery.port}`,
            `${projectId}:${region}:${o.recoveryInstance}`,
          ],
          background: true,
        },
        {
          argv: [
            'cloud-sql-proxy',
            '--private-ip',
            `--port=${o.production.port}`,
            `${projectId}:${region}:${primaryInstance}`,
          ],
          background: true,
        },
      ],
    });
  }
  steps.push(
    {
      title: `Copy ${t} into the recovered schema on the recovery instance`,
      why: 'Dumping a copy under another schema lets it be imported beside the live table instead of over it.',
      commands: [
        psql(
          o.recovery,
          t,
          stageOnRecoverySql,
          `CREATE TABLE recovered.${t} AS TABLE public.${t}`,
          o.password,
        ),
      ],
    },
    {
      title: `Export the table: pg_dump -t recovered.${t}`,
      why: `Spec 9.3 step 2; the dump is kept in ${o.dumpFile}.`,
      commands: [
        {
          argv: [
            'pg_dump',
            `--host=${o.recovery.host}`,
            `--port=${o.recovery.port}`,
            `--username=${o.recovery.user}`,
            `--dbname=${o.recovery.database}`,
            `--table=recovered.${t}`,
            '--no-owner',
            '--no-privileges',
            `--file=${o.dumpFile}`,
          ],
          env: () => ({ PGPASSWORD: o.password() }),
        },
      ],
    },
    {
      title: `Import into production as recovered.${t}, beside the live table`,
      why: 'Spec 9.3 step 3, without overwriting anything: the live table is untouched.',
      commands: [
        psql(
          o.production,
          t,
          prepareProductionSql,
          `CREATE SCHEMA recovered; DROP TABLE recovered.${t}`,
          o.password,
        ),
        {
          argv: [
            'psql',
            `--host=${o.production.host}`,
            `--port=${o.production.port}`,
            `--username=${o.production.user}`,
            `--dbname=${o.production.database}`,
            '--no-psqlrc',
            '--set=ON_ERROR_STOP=1',
            '--single-transaction',
            `--file=${o.dumpFile}`,
          ],
          env: () => ({ PGPASSWORD: o.password() }),
        },
      ],
    },
    {
      title: 'Validate: row counts, newest created_at, rows missing from the live table',
      why: 'Spec 9.3 data validation, for the recovered copy and the live table side by side.',
      commands: [
        psql(
          o.production,
          t,
          validationSql,
          `SELECT COUNT(*), MAX(created_at) ... ${t}`,
          o.password,
        ),
      ],
    },
  );
  if (o.apply) {
    steps.push({
      title: `Put the missing rows back into public.${t} (one transaction), then validate again`,
      why: 'Only rows whose id the live table lacks are inserted; existing rows are never overwritten.',
      commands: [
        psql(
          o.production,
          t,
          applyMissingSql,
          `INSERT INTO public.${t} SELECT ... missing ids`,
          o.password,
        ),
        psql(
          o.production,
          t,
          validationSql,
          `SELECT COUNT(*), MAX(created_at) ... ${t}`,
          o.password,
        ),
      ],
    });
  }
  if (!o.keepRecovery) {
    steps.push({
      title: `Delete the recovery instance ${o.recoveryInstance}`,
      why: `It costs money and holds a copy of children's data; recovered.${t} stays in production until you drop it.`,
      commands: [
        { argv: ['gcloud', 'sql', 'instances', 'delete', o.recoveryInstance, '--quiet', project] },
      ],
    });
  }
  return steps;
}

export function parsePointInTime(value: string): string {
  const date = new Date(value);
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ||
    Number.isNaN(date.getTime())
  ) {
    throw new StepFailed(
      `--point-in-time must be an ISO timestamp with a zone, e.g. 2026-11-25T09:00:00Z: ${value}`,
    );
  }
  if (date.getTime() > Date.now()) throw new StepFailed('--point-in-time is in the future');
  if (Date.now() - date.getTime() > 7 * 24 * 3600 * 1000) {
    throw new StepFailed(
      '--point-in-time is older than the 7 days of transaction logs kept; use --backup-id',
    );
  }
  return date.toISOString();
}

const usage =
  'usage: scripts/restore-table --env <env> --table <name> (--point-in-time ISO | --backup-id ID) [--apply] [--keep-recovery] [--dry-run]\n' +
  '       list backups with: gcloud sql backups list --instance=brainspark-db --project=<project>\n';

async function main(args: readonly string[]): Promise<number> {
  const { values, switches } = parseFlags(args, {
    values: ['env', 'table', 'point-in-time', 'backup-id', 'recovery-port', 'production-port'],
    switches: ['apply', 'keep-recovery', 'dry-run', 'help'],
  });
  if (switches.has('help')) {
    process.stdout.write(usage);
    return 0;
  }
  const table = values.get('table') ?? '';
  if (!values.get('env') || !tableNamePattern.test(table)) {
    process.stderr.write(`${table ? `Not a table name: ${table}\n` : ''}${usage}`);
    return 1;
  }
  const pointInTime = values.get('point-in-time');
  const backupId = values.get('backup-id');
  if (Boolean(pointInTime) === Boolean(backupId)) {
    process.stderr.write(`Give exactly one of --point-in-time and --backup-id.\n${usage}`);
    return 1;
  }
  if (backupId && !/^\d+$/.test(backupId))
    throw new StepFailed(`--backup-id must be numeric: ${backupId}`);
  const env = await readEnvironment(values.get('env') ?? '');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase();
  const port = (name: string, fallback: number) => Number(values.get(name) ?? fallback);
  let password: string | undefined;
  const options: RestoreOptions = {
    env,
    table,
    source: pointInTime
      ? { pointInTime: parsePointInTime(pointInTime) }
      : { backupId: backupId ?? '' },
    recoveryInstance: `brainspark-recovery-${stamp}`,
    apply: switches.has('apply'),
    keepRecovery: switches.has('keep-recovery'),
    // Outside the repo, readable by this user only: the dump holds children's data.
    dumpFile: path.join(recoveryDumpDir, `${table}-${stamp}.sql`),
    recovery: {
      host: '127.0.0.1',
      port: port('recovery-port', 6543),
      database: 'brainspark',
      user: 'migrator',
    },
    production: {
      host: '127.0.0.1',
      port: port('production-port', 6544),
      database: 'brainspark',
      user: 'migrator',
    },
    startProxies: true,
    password: () => {
      password ??= capture([
        'gcloud',
        'secrets',
        'versions',
        'access',
        'latest',
        '--secret=brainspark-db-migrator-password',
        `--project=${env.projectId}`,
      ]);
      return password;
    },
  };
  const steps = restorePlan(options);
  if (switches.has('dry-run')) {
    process.stdout.write(
      `Restore plan for table ${table} in ${env.name} (project ${env.projectId}); dry run, nothing is executed.\n` +
        'Database commands authenticate as migrator with PGPASSWORD from secret brainspark-db-migrator-password.\n\n',
    );
    process.stdout.write(renderPlan(steps));
    return 0;
  }
  await mkdir(recoveryDumpDir, { recursive: true, mode: 0o700 });
  await runPlan(steps);
  process.stdout.write(
    `\nDone. Compare the validation output above. When satisfied, drop the copy:\n` +
      `  psql ... -c 'DROP TABLE recovered.${table}'\n`,
  );
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    process.stderr.write(`restore-table: ${error.message}\n`);
    process.exitCode = 1;
  }
}
