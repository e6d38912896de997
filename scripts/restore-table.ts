// Recovers one table from a backup or a point in time (spec 9.3) without touching anything
// else in production, from any machine with gcloud (nothing here needs a route into the VPC):
//   scripts/restore-table --env prod --table children --point-in-time 2026-11-25T09:00:00Z
//   scripts/restore-table --env prod --table children --backup-id 1732521600000 [--apply]
// 1. a recovery instance: a clone of brainspark-db at the point in time, or a new private
//    instance restored from a backup; 2. the Cloud Run job brainspark-restore, inside the VPC,
//    copies the table from it into production's `recovered` schema, beside the live table,
//    and logs the validation (count, newest created_at, rows missing from the live table);
//    3. with --apply, the same job inserts the missing rows back in one transaction and
//    validates again; 4. the recovery instance is deleted (unless --keep-recovery).
// The database work is scripts/restore-job.ts; it verifies both servers' certificates.
// --dry-run prints every step and command and touches nothing.
import { fileURLToPath } from 'node:url';
import {
  type Command,
  type EnvironmentSettings,
  formatCommand,
  parseFlags,
  readEnvironment,
  renderPlan,
  runPlan,
  type Step,
  StepFailed,
} from './ops.ts';
import { tableNamePattern } from './restore-job.ts';

export { tableNamePattern };
export const primaryInstance = 'brainspark-db';
export const restoreJob = 'brainspark-restore';

export interface RestoreOptions {
  env: EnvironmentSettings;
  table: string;
  source: { pointInTime: string } | { backupId: string };
  recoveryInstance: string;
  apply: boolean;
  keepRecovery: boolean;
}

/** `gcloud run jobs execute brainspark-restore` for one mode, with per-execution variables. */
function executeRestoreJob(o: RestoreOptions, mode: 'stage' | 'apply'): Command {
  const { projectId, region } = o.env;
  const vars = [`RESTORE_MODE=${mode}`, `RESTORE_TABLE=${o.table}`];
  if (mode === 'stage') {
    const describe = (format: string) =>
      formatCommand([
        'gcloud',
        'sql',
        'instances',
        'describe',
        o.recoveryInstance,
        `--project=${projectId}`,
        `--format=${format}`,
      ]);
    // The recovery instance's private IP and CA are known only once it exists: the shell
    // fills them in when the command runs. Its certificate names "<project>:<instance>".
    vars.push(
      `RESTORE_SOURCE_NAME=${projectId}:${o.recoveryInstance}`,
      `RESTORE_SOURCE_HOST=$(${describe('value(ipAddresses[0].ipAddress)')})`,
      `RESTORE_SOURCE_CA_B64=$(${describe('value(serverCaCert.cert)')} | base64 -w0)`,
    );
  }
  const execute = formatCommand([
    'gcloud',
    'run',
    'jobs',
    'execute',
    restoreJob,
    `--region=${region}`,
    `--project=${projectId}`,
    '--wait',
  ]);
  return { argv: ['sh', '-c', `${execute} --update-env-vars="${vars.join(',')}"`] };
}

function readJobLog(o: RestoreOptions): Command {
  return {
    argv: [
      'gcloud',
      'logging',
      'read',
      `resource.type="cloud_run_job" AND resource.labels.job_name="${restoreJob}" AND jsonPayload.table="${o.table}"`,
      `--project=${o.env.projectId}`,
      '--freshness=1h',
      '--limit=4',
      '--format=json(timestamp,jsonPayload)',
    ],
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
    {
      title: `Copy ${t} into production as recovered.${t}, beside the live table, and validate`,
      why: `Spec 9.3 steps 2-4 inside the VPC (Cloud Run job ${restoreJob}, as the migrator, both server certificates verified); the live table is untouched.`,
      commands: [executeRestoreJob(o, 'stage'), readJobLog(o)],
    },
  ];
  if (o.apply) {
    steps.push({
      title: `Put the missing rows back into public.${t} (one transaction), then validate again`,
      why: 'Only rows whose id the live table lacks are inserted; existing rows are never overwritten.',
      commands: [executeRestoreJob(o, 'apply'), readJobLog(o)],
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
    values: ['env', 'table', 'point-in-time', 'backup-id'],
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
  const options: RestoreOptions = {
    env,
    table,
    source: pointInTime
      ? { pointInTime: parsePointInTime(pointInTime) }
      : { backupId: backupId ?? '' },
    recoveryInstance: `brainspark-recovery-${stamp}`,
    apply: switches.has('apply'),
    keepRecovery: switches.has('keep-recovery'),
  };
  const steps = restorePlan(options);
  if (switches.has('dry-run')) {
    process.stdout.write(
      `Restore plan for table ${table} in ${env.name} (project ${env.projectId}); dry run, nothing is executed.\n` +
        `The database steps run inside the VPC as the Cloud Run job ${restoreJob} (the migrator).\n\n`,
    );
    process.stdout.write(renderPlan(steps));
    return 0;
  }
  await runPlan(steps);
  process.stdout.write(
    `\nDone. Compare the validation log lines above (recovered vs live, missing rows).\n` +
      `Re-run with --apply to put the missing rows back. Then drop the copy (it holds children's data):\n` +
      `  gcloud run jobs execute ${restoreJob} --region=${env.region} --project=${env.projectId} --wait --update-env-vars=RESTORE_MODE=drop,RESTORE_TABLE=${table}\n`,
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
