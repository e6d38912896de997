import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inShards, uuidRanges, withJobLock } from '../../shared/jobs/lock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

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
    const seen = await withJobLock(db.pool, 'test-job', async (lockClient) => {
      const other = await db.pool.connect();
      try {
        const { rows } = await other.query<{ free: boolean }>(
          `SELECT pg_try_advisory_lock(${0x4a4f4253}, hashtext('test-job')) AS free`,
        );
        expect(rows[0]?.free).toBe(false);
      } finally {
        other.release();
      }
      return inShards(db.pool, lockClient, 'test-job', async (client, range) => {
        const { rows } = await client.query<{ id: string }>(
          `SELECT id::text FROM unnest($1::uuid[]) AS id
            WHERE ($2::uuid IS NULL OR id >= $2::uuid) AND ($3::uuid IS NULL OR id < $3::uuid)`,
          [ids, range.from, range.to],
        );
        return rows.map((r) => r.id);
      });
    });
    expect(seen).toHaveLength(2);
    expect(seen.flat().sort()).toEqual([...ids].sort());
  });

  it('uses the lock session alone when the pool has a single connection', async () => {
    const single = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const ranges = await withJobLock(single, 'test-job-single', (lockClient) =>
        inShards(single, lockClient, 'test-job-single', async (_client, range) => range),
      );
      expect(ranges).toEqual([{ from: null, to: null }]);
    } finally {
      await single.end();
    }
  });
});
