import { getPool } from './db/client.ts';
import { reportUnavailable } from './db/resilience.ts';

export interface DatabaseHealth {
  ready: boolean;
  latencyMs: number;
  /** Latest applied migration, so a deploy can tell the schema is current. */
  migration?: string | null;
}

const DEADLINE_MS = 2_000;

export async function checkDatabase(): Promise<DatabaseHealth> {
  const started = performance.now();
  try {
    const pool = await getPool();
    const query = pool.query<{ migration: string | null }>(
      `SELECT (SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL
                 AND rolled_back_at IS NULL ORDER BY migration_name DESC LIMIT 1) AS migration`,
    );
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('database check timed out')), DEADLINE_MS).unref(),
    );
    const result = await Promise.race([query, timeout]);
    return {
      ready: true,
      latencyMs: Math.round(performance.now() - started),
      migration: result.rows[0]?.migration ?? null,
    };
  } catch (err) {
    reportUnavailable('database', err); // once per burst, like the 503s requests get
    return { ready: false, latencyMs: Math.round(performance.now() - started) };
  }
}
