// `npm run job -- <name> [--date YYYY-MM-DD | --at ISO] [--json]`: runs one scheduled job
// now, against DATABASE_URL or (unset) the embedded database of `npm start` (migrated
// first), and prints what it did. Progress goes to stderr while it runs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { config } from '../shared/config.ts';
import { closeDatabase, getPool, useDatabasePool } from '../shared/db/client.ts';
import { migrateUp } from '../shared/db/migrator.ts';
import { liftRequestBounds } from '../shared/db/resilience.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../shared/dev/embedded-db.ts';
import { jobRunners } from '../shared/jobs/index.ts';
import type { JobProgress, JobReport } from '../shared/jobs/types.ts';
import { logger } from '../shared/log.ts';
import { jobFunctions } from '../shared/registry.ts';
import { jobPayloadSchema } from '../shared/runtime/job.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage(message?: string): never {
  if (message) console.error(message);
  console.error(
    `Usage: npm run job -- <name> [--date YYYY-MM-DD | --at ISO-8601] [--json]\nJobs: ${jobFunctions.map((j) => j.name).join(', ')}`,
  );
  process.exit(2);
}

/** One status line on stderr, rewritten in place on a terminal, throttled otherwise. */
function progressDisplay(job: string) {
  const started = performance.now();
  const tty = process.stderr.isTTY;
  let last: JobProgress | undefined;
  let lastPrinted = 0;
  const line = () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const what = last ? `${last.step}: ${last.done.toLocaleString('en-US')} rows` : 'working';
    return `[${job}] ${what} (${seconds} s)`;
  };
  const print = (force = false) => {
    const now = performance.now();
    if (tty) process.stderr.write(`\r\x1b[K${line()}`);
    else if (force || now - lastPrinted > 5000) {
      process.stderr.write(`${line()}\n`);
      lastPrinted = now;
    }
  };
  const timer = setInterval(() => print(), tty ? 250 : 1000);
  return {
    onProgress(p: JobProgress) {
      last = p;
      print();
    },
    stop() {
      clearInterval(timer);
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

function printReport(report: JobReport): void {
  const rows: Array<[string, string]> = [
    ['job', report.job],
    ['rows touched', report.rowsTouched.toLocaleString('en-US')],
    ['time', `${(report.durationMs / 1000).toFixed(2)} s`],
    ...Object.entries(report.counts).map(([k, v]): [string, string] => [
      `  ${k}`,
      v.toLocaleString('en-US'),
    ]),
    ...Object.entries(report.details)
      .filter(([, v]) => typeof v !== 'object')
      .map(([k, v]): [string, string] => [k, String(v)]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  for (const [k, v] of Object.entries(report.details)) {
    if (typeof v === 'object' && v !== null) console.log(`${k}: ${JSON.stringify(v)}`);
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      date: { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) usage();
  const runner = jobRunners[name];
  if (!runner) usage(`Unknown job "${name}".`);
  const payload = jobPayloadSchema.safeParse({
    ...(values.date === undefined ? {} : { date: values.date }),
    ...(values.at === undefined ? {} : { at: values.at }),
  });
  if (!payload.success)
    usage(
      payload.error.issues
        .map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`)
        .join('\n'),
    );

  const cfg = config();
  let embedded: EmbeddedDatabase | undefined;
  if (!cfg.DATABASE_URL) {
    embedded = await startEmbeddedDatabase(path.resolve(root, cfg.EMBEDDED_DB_DIR));
    useDatabasePool(embedded.pool);
  }
  const display = progressDisplay(name);
  try {
    const pool = await getPool();
    if (embedded) {
      const client = await pool.connect();
      try {
        await liftRequestBounds(client, '0', 3_600_000);
        await migrateUp(client);
      } finally {
        client.release(true);
      }
    }
    const started = performance.now();
    const result = await runner({
      log: logger.child({ job: name }),
      onProgress: display.onProgress,
      ...(payload.data.date ? { date: payload.data.date } : {}),
      ...(payload.data.at ? { at: new Date(payload.data.at) } : {}),
    });
    display.stop();
    const report: JobReport = {
      job: name,
      ...result,
      durationMs: Math.round(performance.now() - started),
    };
    if (values.json) console.log(JSON.stringify(report));
    else printReport(report);
  } finally {
    display.stop();
    await closeDatabase();
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exit(1);
});
