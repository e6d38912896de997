// `npm start`: every HTTP function of the registry on one local port, each under
// /<function-name>, exactly as the Functions Framework serves it in the cloud.
// Without DATABASE_URL an embedded PostgreSQL (PGlite) is started, migrated and seeded.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { config } from '../shared/config.ts';
import { closeDatabase, getPool, useDatabasePool } from '../shared/db/client.ts';
import { migrateUp } from '../shared/db/migrator.ts';
import { liftRequestBounds } from '../shared/db/resilience.ts';
import { seedDatabase } from '../shared/db/seed.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../shared/dev/embedded-db.ts';
import { logger } from '../shared/log.ts';
import { httpFunctions } from '../shared/registry.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const started = performance.now();
  const cfg = config();
  let embedded: EmbeddedDatabase | undefined;
  if (!cfg.DATABASE_URL) {
    embedded = await startEmbeddedDatabase(path.resolve(root, cfg.EMBEDDED_DB_DIR));
    useDatabasePool(embedded.pool);
  }
  const pool = await getPool();
  const client = await pool.connect();
  try {
    // Migrating may wait for another migrator's lock and run long DDL.
    await liftRequestBounds(client, '0', 3_600_000);
    const applied = await migrateUp(client);
    await seedDatabase(client);
    logger.info('database ready', {
      embedded: Boolean(embedded),
      migrationsApplied: applied.length,
    });
  } finally {
    client.release(true);
  }

  const servers = new Map<string, http.Server>();
  for (const fn of httpFunctions) {
    await import(path.resolve(root, fn.source));
    servers.set(fn.name, getTestServer(fn.name));
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, name = '', ...rest] = url.pathname.split('/');
    const target = servers.get(name);
    if (!target) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'unknown function', functions: [...servers.keys()] }));
      return;
    }
    req.url = `/${rest.join('/')}${url.search}`;
    target.emit('request', req, res);
  });
  server.listen(cfg.PORT, '127.0.0.1', () => {
    const base = `http://127.0.0.1:${cfg.PORT}`;
    console.log(
      `BrainSpark functions on ${base} (ready in ${Math.round(performance.now() - started)} ms)`,
    );
    for (const name of servers.keys()) console.log(`  ${base}/${name}/`);
    console.log(embedded ? `Embedded database: ${embedded.url}` : 'Database: DATABASE_URL');
  });

  const shutdown = async () => {
    server.close();
    await closeDatabase();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
