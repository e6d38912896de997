// Embedded PostgreSQL for trying BrainSpark without a database server: PGlite (PostgreSQL
// compiled to WASM) behind a wire-protocol socket so pg and Prisma talk to it unchanged.
// For local use only; tests and CI use real PostgreSQL 15 (PGlite is a newer major version).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { hardenPool, reportUnavailable } from '../db/resilience.ts';

export interface EmbeddedDatabase {
  url: string;
  /** A pool of exactly one connection: larger pools break PGlite's single session. */
  pool: pg.Pool;
  stop(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PGlite has no lock of its own: two processes on one folder would silently diverge. */
function takeLock(dir: string): () => void {
  const lockFile = path.join(dir, '..', `${path.basename(dir)}.lock`);
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, 'utf8'));
    if (pid && pid !== process.pid && processAlive(pid)) {
      throw new Error(
        `The embedded database in ${dir} is in use by process ${pid}. Stop it, or set DATABASE_URL.`,
      );
    }
  }
  writeFileSync(lockFile, String(process.pid));
  return () => rmSync(lockFile, { force: true });
}

export async function startEmbeddedDatabase(dir: string): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  const releaseLock = takeLock(dir);
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  const db = await PGlite.create(dir);
  // At least 2: with 1, the pool's reconnect after any SQL error is refused.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const url = `postgresql://postgres@${server.getServerConn()}/postgres`;
  // The socket server reports a client's failure as an event; nothing else may crash us.
  server.addEventListener('error', (event) =>
    reportUnavailable('embedded database', (event as CustomEvent).detail),
  );
  const pool = hardenPool(new pg.Pool({ connectionString: url, max: 1 }));
  return {
    url,
    pool,
    async stop() {
      await pool.end().catch(() => undefined);
      await server.stop().catch(() => undefined);
      await db.close().catch(() => undefined);
      releaseLock();
    },
  };
}
