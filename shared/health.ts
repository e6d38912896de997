import { getDb } from './db/client.ts';
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
    const db = await getDb();
    // Through a SECURITY DEFINER function: the functions' database user may not read the
    // migration ledger itself (scripts/db-grants.ts).
    const query = db.$queryRaw<{ migration: string | null }[]>`
      SELECT latest_applied_migration()::text AS migration`;
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('database check timed out')), DEADLINE_MS).unref(),
    );
    const result = await Promise.race([query, timeout]);
    return {
      ready: true,
      latencyMs: Math.round(performance.now() - started),
      migration: result[0]?.migration ?? null,
    };
  } catch (err) {
    reportUnavailable('database', err); // once per burst, like the 503s requests get
    return { ready: false, latencyMs: Math.round(performance.now() - started) };
  }
}
