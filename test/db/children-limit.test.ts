// At most 4 live children per parent, enforced by a trigger (the spec's CHECK with a
// subquery is not valid SQL). Proven sequentially, on undelete and move, and under
// concurrent inserts from separate connections.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { childRow, createChild, createParent, insert } from './schema-fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const limitReached = {
  code: '23514',
  constraint: 'children_per_parent_limit',
  message: 'child_limit_reached',
};

const liveChildren = async (parentId: string): Promise<number> => {
  const { rows } = await db.pool.query<{ n: number }>(
    'SELECT COUNT(*)::int AS n FROM children WHERE parent_id = $1 AND deleted_at IS NULL',
    [parentId],
  );
  return rows[0]?.n ?? -1;
};

describe('children per parent', () => {
  test('the fifth live child is refused; deleted children do not count', async () => {
    const parent = await createParent(db.pool);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(await createChild(db.pool, parent, { name: `Child ${i}` }));
    await expect(insert(db.pool, 'children', childRow(parent))).rejects.toMatchObject(limitReached);

    await db.pool.query('UPDATE children SET deleted_at = NOW() WHERE id = $1', [ids[0]]);
    await createChild(db.pool, parent);
    expect(await liveChildren(parent)).toBe(4);
    // A row that is already deleted takes no slot (e.g. restoring an export).
    await createChild(db.pool, parent, { deleted_at: new Date() });
    // Updating a live child at the limit is not a new slot.
    await db.pool.query(`UPDATE children SET name = 'Renamed' WHERE id = $1`, [ids[1]]);
  });

  test('undeleting a child needs a free slot', async () => {
    const parent = await createParent(db.pool);
    const first = await createChild(db.pool, parent);
    await db.pool.query('UPDATE children SET deleted_at = NOW() WHERE id = $1', [first]);
    for (let i = 0; i < 4; i++) await createChild(db.pool, parent);
    await expect(
      db.pool.query('UPDATE children SET deleted_at = NULL WHERE id = $1', [first]),
    ).rejects.toMatchObject(limitReached);
    expect(await liveChildren(parent)).toBe(4);
  });

  test('moving a live child to a parent at the limit is refused', async () => {
    const full = await createParent(db.pool);
    for (let i = 0; i < 4; i++) await createChild(db.pool, full);
    const other = await createChild(db.pool);
    await expect(
      db.pool.query('UPDATE children SET parent_id = $1 WHERE id = $2', [full, other]),
    ).rejects.toMatchObject(limitReached);
  });

  test('8 concurrent inserts from separate connections: exactly 4 succeed', async () => {
    const parent = await createParent(db.pool);
    const clients = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        return client;
      }),
    );
    try {
      // Every transaction is open before any inserts, and each holds its insert for a moment
      // before committing, so they genuinely overlap.
      await Promise.all(clients.map((c) => c.query('BEGIN')));
      const results = await Promise.allSettled(
        clients.map(async (client, i) => {
          try {
            await client.query(
              'INSERT INTO children (parent_id, name, birth_date, age_group) VALUES ($1, $2, $3, $4)',
              [parent, `Twin ${i}`, '2019-05-01', 'curious_explorers'],
            );
            await client.query('SELECT pg_sleep(0.05)');
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
      expect(refused).toHaveLength(4);
      for (const r of refused)
        expect((r as PromiseRejectedResult).reason).toMatchObject(limitReached);
      expect(await liveChildren(parent)).toBe(4);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test('under SERIALIZABLE the limit also holds (losers get child_limit_reached or a serialization failure)', async () => {
    const parent = await createParent(db.pool);
    await createChild(db.pool, parent);
    const clients = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        return client;
      }),
    );
    try {
      await Promise.all(clients.map((c) => c.query('BEGIN ISOLATION LEVEL SERIALIZABLE')));
      const results = await Promise.allSettled(
        clients.map(async (client, i) => {
          try {
            await client.query(
              'INSERT INTO children (parent_id, name, birth_date, age_group) VALUES ($1, $2, $3, $4)',
              [parent, `Serial ${i}`, '2019-05-01', 'curious_explorers'],
            );
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }),
      );
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(['23514', '40001']).toContain((r.reason as { code?: string }).code);
        }
      }
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(3);
      expect(await liveChildren(parent)).toBeLessThanOrEqual(4);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
