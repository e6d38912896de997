// Migration CLI (Prisma's migrate engine cannot be downloaded offline; see prisma/README.md).
//   npm run db:migrate                 apply pending migrations
//   npm run db:migrate -- status       list applied and pending
//   npm run db:migrate -- resolve NAME mark a half-failed migration as rolled back
//   npm run db:rollback                revert the last migration with its down.sql
//   npm run db:reset                   drop everything and re-apply (never in production)
import pg from 'pg';
import { config } from '../shared/config.ts';
import {
  MigrationError,
  migrateUp,
  migrationStatus,
  resetDatabase,
  resolveFailed,
  rollbackLast,
} from '../shared/db/migrator.ts';
import { keepAliveOnError } from '../shared/db/resilience.ts';
import { operationsClientConfig } from './db-connection.ts';

async function main(): Promise<void> {
  const [command = 'up', ...rest] = process.argv.slice(2);
  const cfg = config();
  if (!cfg.DATABASE_URL) throw new MigrationError('DATABASE_URL is not set');
  if (command === 'reset' && cfg.NODE_ENV === 'production') {
    throw new MigrationError('db:reset refuses to run with NODE_ENV=production');
  }
  const client = new pg.Client(operationsClientConfig(cfg));
  // A backend terminated mid-run must fail this command, not crash it with an unhandled event.
  keepAliveOnError(client);
  await client.connect();
  const started = performance.now();
  try {
    switch (command) {
      case 'up': {
        const applied = await migrateUp(client, {
          onApplied: (name, ms) => console.log(`applied ${name} (${ms.toFixed(0)} ms)`),
        });
        console.log(
          applied.length === 0
            ? 'Database is up to date; nothing applied.'
            : `Applied ${applied.length} migration(s) in ${(performance.now() - started).toFixed(0)} ms.`,
        );
        break;
      }
      case 'status': {
        const status = await migrationStatus(client);
        for (const m of status.applied)
          console.log(`applied  ${m.name}  ${m.finishedAt.toISOString()}`);
        for (const name of status.pending) console.log(`pending  ${name}`);
        for (const name of status.failed) console.log(`FAILED   ${name}`);
        for (const name of status.changed) console.log(`CHANGED  ${name}`);
        for (const name of status.missing) console.log(`MISSING  ${name}`);
        if (status.failed.length + status.changed.length + status.missing.length > 0)
          process.exitCode = 1;
        break;
      }
      case 'rollback': {
        const name = await rollbackLast(client);
        console.log(name ? `Rolled back ${name}.` : 'Nothing to roll back.');
        break;
      }
      case 'reset': {
        const applied = await resetDatabase(client);
        console.log(`Reset the database and applied ${applied.length} migration(s).`);
        break;
      }
      case 'resolve': {
        const name = rest[0];
        if (!name)
          throw new MigrationError('Usage: npm run db:migrate -- resolve <migration_name>');
        console.log(
          (await resolveFailed(client, name))
            ? `Marked ${name} as rolled back.`
            : `${name} is not failed.`,
        );
        break;
      }
      default:
        throw new MigrationError(
          `Unknown command "${command}" (use up, status, rollback, reset, resolve)`,
        );
    }
  } finally {
    await client.end();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof MigrationError || err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
