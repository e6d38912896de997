// The CLI engineers run: `npm run db:migrate [-- status]`, `db:rollback`, `db:reset`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../shared/db/migrator.ts';
import { createEmptyDatabase, type TestDatabase } from '../helpers/db.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let db: TestDatabase;

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent', ...env },
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

beforeAll(async () => {
  db = await createEmptyDatabase();
});
afterAll(async () => db.drop());

describe('db CLI', () => {
  it('migrates, reports status, rolls back and refuses a production reset', async () => {
    const names = (await readMigrations()).map((m) => m.name);
    const up = cli([]);
    expect(up.status).toBe(0);
    expect(up.out).toContain(`Applied ${names.length} migration(s)`);
    expect(cli([]).out).toContain('nothing applied');

    const status = cli(['status']);
    expect(status.status).toBe(0);
    for (const name of names) expect(status.out).toMatch(new RegExp(`applied\\s+${name}`));

    const rollback = cli(['rollback']);
    expect(rollback.out).toContain(`Rolled back ${names.at(-1)}`);
    expect(cli(['status']).out).toMatch(new RegExp(`pending\\s+${names.at(-1)}`));

    const refused = cli(['reset'], { NODE_ENV: 'production' });
    expect(refused.status).not.toBe(0);
    expect(refused.out).toContain('refuses to run with NODE_ENV=production');
    // Nothing was dropped: the first migration is still applied.
    expect(cli(['status']).out).toMatch(new RegExp(`applied\\s+${names[0]}`));

    expect(cli(['reset']).out).toContain(`applied ${names.length} migration(s)`);
    expect(cli(['bogus']).status).not.toBe(0);
    // Nine CLI processes, each starting tsx: over 30 s on a loaded 2-core machine.
  }, 120_000);
});
