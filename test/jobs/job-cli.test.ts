// `npm run job`: the CLI runs a job against DATABASE_URL and prints its report.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function job(...args: string[]) {
  return run(process.execPath, [tsx, 'scripts/job.ts', ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
}

describe('npm run job', () => {
  it('runs a job for a given date and prints its report', async () => {
    const { stdout } = await job('brain-spark-rollout', '--date', '2027-01-10', '--json');
    const report = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(report).toMatchObject({
      job: 'brain-spark-rollout',
      rowsTouched: 21,
      details: { from: '2027-01-10' },
    });
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT COUNT(*)::int AS n FROM brain_sparks',
    );
    expect(rows[0]?.n).toBe(21);

    const second = await job('brain-spark-rollout', '--date', '2027-01-10');
    expect(second.stdout).toMatch(/rows touched\s+0/);
  });

  it('rejects an unknown job or a bad date with exit code 2 and does nothing', async () => {
    await expect(job('no-such-job')).rejects.toMatchObject({ code: 2 });
    await expect(job('streak-reset', '--date', '2027-02-30')).rejects.toMatchObject({ code: 2 });
    await expect(
      job('streak-reset', '--date', '2027-02-03', '--at', '2027-02-03T00:00:00Z'),
    ).rejects.toMatchObject({
      code: 2,
    });
  });
});
