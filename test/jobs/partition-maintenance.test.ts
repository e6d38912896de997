import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabasePool } from '../../shared/db/client.ts';
import {
  findGaps,
  PartitionGapError,
  runPartitionMaintenance,
} from '../../shared/jobs/partition-maintenance.ts';
import { addDays, toIsoDate } from '../../shared/jobs/time.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { insertChild, insertParent, otherDatabase } from './fixtures.ts';

const log = createLogger({ test: 'partition-maintenance' });
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
});
afterAll(async () => {
  await db.drop();
});

async function partitions(table: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ relname: string }>(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass ORDER BY c.relname`,
    [table],
  );
  return rows.map((r) => r.relname);
}

function monthName(table: string, date: string, add: number): string {
  const d = new Date(`${date.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + add);
  return `${table}_${d.toISOString().slice(0, 7).replace('-', '_')}`;
}

describe('findGaps', () => {
  it('finds holes and a short horizon, and none when ranges touch', () => {
    const p = [
      { lower: '2026-01', upper: '2026-02' },
      { lower: '2026-02', upper: '2026-03' },
      { lower: '2026-04', upper: '2026-05' },
    ];
    expect(findGaps(p, '2026-01', '2026-03')).toEqual([]);
    expect(findGaps(p, '2026-01', '2026-06')).toEqual([
      ['2026-03', '2026-04'],
      ['2026-05', '2026-06'],
    ]);
    expect(findGaps([], '2026-01', '2026-02')).toEqual([['2026-01', '2026-02']]);
  });
});

describe('partition-maintenance', () => {
  it('creates partitions 4 months ahead of a later run date, idempotently, and reports the horizon', async () => {
    const today = toIsoDate(new Date());
    const runDate = addDays(today, 31); // a month on: one more month must appear per table
    const first = await runPartitionMaintenance({ date: runDate, log });
    expect(first.counts.messagesPartitionsCreated).toBeGreaterThanOrEqual(1);
    expect(first.counts.daily_activityPartitionsCreated).toBe(
      first.counts.messagesPartitionsCreated,
    );
    const d = new Date(`${runDate.slice(0, 7)}-01T00:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() + 5);
    expect(first.details.horizon).toBe(`${d.toISOString().slice(0, 10)}T00:00:00Z`);
    for (const table of ['messages', 'daily_activity']) {
      const names = await partitions(table);
      for (let m = -1; m <= 4; m++) expect(names).toContain(monthName(table, runDate, m));
    }
    const before = { m: await partitions('messages'), d: await partitions('daily_activity') };
    const second = await runPartitionMaintenance({ date: runDate, log });
    expect(second.rowsTouched).toBe(0);
    expect({ m: await partitions('messages'), d: await partitions('daily_activity') }).toEqual(
      before,
    );
  });

  it('accepts rows up to the horizon and rejects rows beyond it (bounds are UTC months)', async () => {
    const other = await otherDatabase(db);
    try {
      const runDate = toIsoDate(new Date());
      const report = await runPartitionMaintenance({ date: runDate, log });
      const horizon = new Date(report.details.horizon as string);
      const parentId = await insertParent(other.pool);
      const childId = await insertChild(other.pool, parentId);
      const { rows } = await other.pool.query<{ id: string }>(
        'INSERT INTO conversations (child_id, started_at) VALUES ($1, $2) RETURNING id',
        [childId, new Date(horizon.getTime() - 60_000)],
      );
      const insertMessage = (at: Date) =>
        other.pool.query(
          `INSERT INTO messages (conversation_id, role, content, created_at) VALUES ($1, 'user', 'hi', $2)`,
          [rows[0]!.id, at],
        );
      await insertMessage(new Date(horizon.getTime() - 1000));
      await expect(insertMessage(horizon)).rejects.toThrow(/no partition/);
      await other.pool.query(
        `INSERT INTO daily_activity (child_id, activity_date) VALUES ($1, ($2::timestamptz - interval '1 day')::date)`,
        [childId, horizon],
      );
    } finally {
      await other.drop();
    }
  });

  it('two concurrent runs create each partition once and both succeed', async () => {
    const other = await otherDatabase(db);
    try {
      const runDate = addDays(toIsoDate(new Date()), 95);
      const [a, b] = await Promise.all([
        runPartitionMaintenance({ date: runDate, log }),
        runPartitionMaintenance({ date: runDate, log }),
      ]);
      expect(a.rowsTouched + b.rowsTouched).toBeGreaterThan(0);
      expect(Math.min(a.rowsTouched, b.rowsTouched)).toBe(0);
    } finally {
      await other.drop();
    }
  });

  it('fails loudly when a gap leaves rows nowhere to go', async () => {
    const other = await otherDatabase(db);
    try {
      const today = toIsoDate(new Date());
      // An old partition three months back, then the month between it and the rest is missing.
      await other.pool.query(
        `SELECT create_monthly_partition('daily_activity', ($1::date - interval '3 months')::date)`,
        [today],
      );
      await expect(runPartitionMaintenance({ date: today, log })).rejects.toThrow(
        PartitionGapError,
      );
      // Filling the hole makes it pass.
      await other.pool.query(
        `SELECT create_monthly_partition('daily_activity', ($1::date - interval '2 months')::date)`,
        [today],
      );
      await expect(runPartitionMaintenance({ date: today, log })).resolves.toMatchObject({
        rowsTouched: 0,
      });
    } finally {
      await other.drop();
    }
  });

  it('fails loudly when a month inside the horizon is detached', async () => {
    const other = await otherDatabase(db);
    try {
      const today = toIsoDate(new Date());
      const name = monthName('messages', today, 2);
      // A detached partition keeps its name: the job cannot re-create it and must not pretend.
      await other.pool.query(`ALTER TABLE messages DETACH PARTITION ${name}`);
      await expect(runPartitionMaintenance({ date: today, log })).rejects.toThrow(
        /not a partition/,
      );
    } finally {
      await other.drop();
    }
  });
});
