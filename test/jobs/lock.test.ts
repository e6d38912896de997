import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabasePool } from '../../shared/db/client.ts';
import { inKeyRange, inShards, uuidRanges, withJobLock } from '../../shared/jobs/lock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
});
afterAll(async () => {
  await db.drop();
});

const JOB_LOCK = 0x4a4f4253;

/** Polls until `ready()` holds: no fixed sleep, so a slow or busy machine only waits longer. */
async function until(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function lockIsFree(name: string): Promise<boolean> {
  const other = await db.pool.connect();
  try {
    const { rows } = await other.query<{ free: boolean }>(
      'SELECT pg_try_advisory_lock($1, hashtext($2)) AS free',
      [JOB_LOCK, name],
    );
    if (rows[0]?.free)
      await other.query('SELECT pg_advisory_unlock($1, hashtext($2))', [JOB_LOCK, name]);
    return rows[0]?.free ?? false;
  } finally {
    other.release();
  }
}

describe('uuidRanges', () => {
  it('splits the key space into contiguous ranges', () => {
    expect(uuidRanges(1)).toEqual([{ from: null, to: null }]);
    expect(uuidRanges(2)).toEqual([
      { from: null, to: '80000000-0000-0000-0000-000000000000' },
      { from: '80000000-0000-0000-0000-000000000000', to: null },
    ]);
    const four = uuidRanges(4);
    for (let i = 1; i < four.length; i++) expect(four[i]?.from).toBe(four[i - 1]?.to);
    expect(four[1]?.from).toBe('40000000-0000-0000-0000-000000000000');
  });
});

describe('withJobLock and inShards', () => {
  it('runs every range once, in parallel transactions, while the lock is held', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++)
      ids.push((await db.pool.query<{ id: string }>('SELECT gen_random_uuid() AS id')).rows[0]!.id);
    const seen = await withJobLock('test-job', async (job) => {
      expect(await lockIsFree('test-job')).toBe(false);
      return inShards(job, async (tx, range) => {
        const rows = await tx.$queryRaw<{ id: string; backend: number; actor: string }[]>`
          SELECT id::text, pg_backend_pid() AS backend,
                 current_setting('brainspark.actor') AS actor
            FROM unnest(${ids}::uuid[]) AS id
           WHERE true ${inKeyRange('id', range)}`;
        for (const r of rows) expect(r.actor).toBe('job:test-job');
        return rows;
      });
    });
    expect(seen).toHaveLength(2);
    expect(
      seen
        .flat()
        .map((r) => r.id)
        .sort(),
    ).toEqual([...ids].sort());
    // Two shards, two connections.
    expect(new Set(seen.map((rows) => rows[0]?.backend)).size).toBe(2);
    expect(await lockIsFree('test-job')).toBe(true);
  });

  it('lifts the request bounds in its transactions, and leaves none behind on the pool', async () => {
    const settings = await withJobLock('test-job-bounds', (job) =>
      job.transaction(
        (tx) => tx.$queryRaw<{ statement_timeout: string; lock_timeout: string; jit: string }[]>`
          SELECT current_setting('statement_timeout') AS statement_timeout,
                 current_setting('lock_timeout') AS lock_timeout, current_setting('jit') AS jit`,
      ),
    );
    expect(settings[0]).toEqual({ statement_timeout: '530s', lock_timeout: '0', jit: 'off' });
    const { rows } = await db.pool.query<{ actor: string }>(
      "SELECT current_setting('brainspark.actor', true) AS actor",
    );
    expect(rows[0]?.actor ?? '').toBe('');
  });

  it("lifts a request pool's server and client bounds for the job's statements only", async () => {
    // Request bounds as production's pool has them, shortened: 300 ms on the server, 400 ms
    // in the client.
    const bounded = new pg.Pool({
      connectionString: db.url,
      max: 3,
      statement_timeout: 300,
      query_timeout: 400,
    });
    useDatabasePool(bounded);
    try {
      const { getDb } = await import('../../shared/db/client.ts');
      const client = await getDb();
      await expect(client.$executeRaw`SELECT pg_sleep(0.6)`).rejects.toThrow();
      const slept = await withJobLock('test-job-slow', (job) =>
        inShards(job, (tx) => tx.$executeRaw`SELECT pg_sleep(0.6)`),
      );
      expect(slept).toEqual([1, 1]);
      // After the job, connections checked out again carry the request bounds.
      await expect(client.$executeRaw`SELECT pg_sleep(0.6)`).rejects.toThrow();
    } finally {
      useDatabasePool(db.pool);
      await bounded.end();
    }
  });

  it('makes a second run wait for the first, and releases the lock when the work fails', async () => {
    const order: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = withJobLock('test-job-wait', async () => {
      order.push('first start');
      await firstHolds;
      order.push('first end');
      throw new Error('first failed');
    });
    // A run from another process (its own connection) waits for the lock too.
    await until('the first run holds the lock', () => order.includes('first start'));
    expect(await lockIsFree('test-job-wait')).toBe(false);
    const second = withJobLock('test-job-wait', async () => {
      order.push('second');
      return 'done';
    });
    // In this process the second run queues behind the first; either way it cannot start yet.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(order).toEqual(['first start']);
    releaseFirst();
    await expect(first).rejects.toThrow('first failed');
    expect(await second).toBe('done');
    expect(order).toEqual(['first start', 'first end', 'second']);
    expect(await lockIsFree('test-job-wait')).toBe(true);
  });

  it('uses one session, and one range, when the pool has a single connection', async () => {
    const single = new pg.Pool({ connectionString: db.url, max: 1 });
    useDatabasePool(single);
    try {
      const ranges = await withJobLock('test-job-single', async (job) => {
        expect(await lockIsFree('test-job-single')).toBe(false);
        const inside = await inShards(job, async (tx, range) => {
          await tx.$executeRaw`SELECT 1`;
          return range;
        });
        // Statements outside the job's transactions share that session.
        await job.db.$executeRaw`SELECT 1`;
        return inside;
      });
      expect(ranges).toEqual([{ from: null, to: null }]);
      expect(await lockIsFree('test-job-single')).toBe(true);
    } finally {
      useDatabasePool(db.pool);
      await single.end();
    }
  });
});
