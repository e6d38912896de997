// `npm run db:seed [-- YYYY-MM-DD]`: seeds DATABASE_URL with the constellation and a week of
// brain sparks starting at the given date (default: today, UTC). Safe to run any number of
// times; prints one JSON line saying what changed.
import pg from 'pg';
import { config } from '../shared/config.ts';
import { keepAliveOnError } from '../shared/db/resilience.ts';
import { seedDatabase } from '../shared/db/seed.ts';
import { operationsClientConfig } from './db-connection.ts';

async function main(): Promise<void> {
  const [today] = process.argv.slice(2);
  const client = new pg.Client(operationsClientConfig(config()));
  // A backend terminated mid-run must fail this command, not crash it with an unhandled event.
  keepAliveOnError(client);
  await client.connect();
  const started = performance.now();
  try {
    const report = await seedDatabase(client, today ? { today } : {});
    console.log(
      JSON.stringify({
        severity: 'INFO',
        message: 'database seeded',
        ...report,
        ms: Math.round(performance.now() - started),
      }),
    );
  } finally {
    await client.end();
  }
}

main().catch((err: unknown) => {
  console.error(
    JSON.stringify({ severity: 'ERROR', message: 'seed failed', error: (err as Error).message }),
  );
  process.exitCode = 1;
});
