// `npm start`: every HTTP function of the registry on one local port, each under
// /<function-name>, exactly as the Functions Framework serves it in the cloud.
// Without DATABASE_URL an embedded PostgreSQL (PGlite) is started, migrated and seeded.
// Without SMTP_URL a local mail catcher takes the mail (shown at /dev/mail), and without a
// Google Cloud project parent alerts are delivered in-process (no Pub/Sub).
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { config } from '../shared/config.ts';
import { serveApiDocs } from '../shared/contract/docs-page.ts';
import { closeDatabase, getPool, useDatabasePool } from '../shared/db/client.ts';
import { migrateUp } from '../shared/db/migrator.ts';
import { liftRequestBounds } from '../shared/db/resilience.ts';
import { seedDatabase } from '../shared/db/seed.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../shared/dev/embedded-db.ts';
import type { MailCatcher } from '../shared/dev/mail-catcher.ts';
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

  let catcher: MailCatcher | undefined;
  if (!cfg.SMTP_URL) {
    const [{ startMailCatcher }, { useSmtpUrl }] = await Promise.all([
      import('../shared/dev/mail-catcher.ts'),
      import('../shared/notify/mailer.ts'),
    ]);
    catcher = await startMailCatcher({ port: cfg.DEV_SMTP_PORT });
    useSmtpUrl(catcher.url);
  }
  if (!cfg.GOOGLE_CLOUD_PROJECT) {
    const { deliverAlertsInProcess } = await import('../shared/notify/in-process.ts');
    deliverAlertsInProcess();
  }
  const mailPages = catcher
    ? (await import('../shared/dev/mail-pages.ts')).serveMailPages
    : undefined;

  const servers = new Map<string, http.Server>();
  for (const fn of httpFunctions) {
    await import(path.resolve(root, fn.source));
    servers.set(fn.name, getTestServer(fn.name));
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (catcher && mailPages && url.pathname.startsWith('/dev/mail')) {
      if (mailPages(catcher, url.pathname, res)) return;
    }
    // Jobs run in this process (the embedded database admits one process): POST
    // /dev/jobs/<name>?at=<ISO time> or ?date=YYYY-MM-DD, as Cloud Scheduler would trigger them.
    const job = /^\/dev\/jobs\/([a-z-]+)$/.exec(url.pathname);
    if (job && req.method === 'POST') {
      void runJobLocally(job[1] ?? '', url.searchParams, res);
      return;
    }
    // The API contract: /openapi.json and its reference page at /docs (shared/contract).
    if (serveApiDocs(url.pathname, `http://127.0.0.1:${cfg.PORT}`, res)) return;
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
    console.log(`API reference: ${base}/docs (document: ${base}/openapi.json)`);
    if (catcher) console.log(`Mail catcher: ${catcher.url}, caught mail at ${base}/dev/mail`);
  });

  const shutdown = async () => {
    server.close();
    await catcher?.close();
    await closeDatabase();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

async function runJobLocally(
  name: string,
  params: URLSearchParams,
  res: http.ServerResponse,
): Promise<void> {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    const { jobRunners } = await import('../shared/jobs/index.ts');
    const { jobPayloadSchema } = await import('../shared/runtime/job.ts');
    const runner = jobRunners[name];
    if (!runner) return reply(404, { error: 'unknown job', jobs: Object.keys(jobRunners) });
    const payload = jobPayloadSchema.safeParse(Object.fromEntries(params));
    if (!payload.success) return reply(400, { error: 'give date=YYYY-MM-DD or at=<ISO time>' });
    const { date, at } = payload.data;
    const report = await runner({
      log: logger.child({ job: name }),
      ...(date ? { date } : {}),
      ...(at ? { at: new Date(at) } : {}),
    });
    reply(200, { job: name, ...report });
  } catch (err) {
    reply(500, { job: name, error: err instanceof Error ? err.message : String(err) });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
