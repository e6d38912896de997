import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabasePool } from '../../shared/db/client.ts';
import {
  AGE_GROUPS,
  dayNumber,
  loadSparkBank,
  pickSparkForDate,
  type SparkBankEntry,
} from '../../shared/db/seed.ts';
import { runBrainSparkRollout } from '../../shared/jobs/brain-spark-rollout.ts';
import { addDays } from '../../shared/jobs/time.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { otherDatabase } from './fixtures.ts';

const log = createLogger({ test: 'brain-spark-rollout' });
const bank = loadSparkBank();

interface SparkRow {
  spark_date: string;
  age_group: string;
  source: string;
  curator_notes: string | null;
  question: string;
}

async function sparks(db: TestDatabase): Promise<SparkRow[]> {
  const { rows } = await db.pool.query<SparkRow>(
    `SELECT to_char(spark_date, 'YYYY-MM-DD') AS spark_date, age_group, source, curator_notes, question
       FROM brain_sparks ORDER BY spark_date, age_group`,
  );
  return rows;
}

/** Smallest distance in days between two uses of one key by one age group. */
function smallestRepeatGap(rows: readonly SparkRow[]): number {
  const last = new Map<string, number>();
  let smallest = Number.POSITIVE_INFINITY;
  for (const r of rows) {
    const k = `${r.age_group}/${r.curator_notes}`;
    const day = dayNumber(r.spark_date);
    const prev = last.get(k);
    if (prev !== undefined) smallest = Math.min(smallest, day - prev);
    last.set(k, day);
  }
  return smallest;
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
});
afterAll(async () => {
  await db.drop();
});

describe('brain-spark-rollout', () => {
  it('gives every age group a bank spark for the date and the next 6 days, once', async () => {
    const report = await runBrainSparkRollout({ date: '2027-02-01', log });
    expect(report.rowsTouched).toBe(21);
    const rows = await sparks(db);
    expect(rows).toHaveLength(21);
    for (const group of AGE_GROUPS) {
      const mine = rows.filter((r) => r.age_group === group);
      expect(mine.map((r) => r.spark_date)).toEqual(
        Array.from({ length: 7 }, (_, i) => addDays('2027-02-01', i)),
      );
      expect(new Set(mine.map((r) => r.curator_notes)).size).toBe(7);
      // With no history the job serves the seed's rotation, so seed and job agree.
      for (const r of mine)
        expect(r.curator_notes).toBe(pickSparkForDate(bank, group, r.spark_date).key);
    }
    expect(rows.every((r) => r.source === 'curated_bank')).toBe(true);
    const again = await runBrainSparkRollout({ date: '2027-02-01', log });
    expect(again.rowsTouched).toBe(0);
    expect(await sparks(db)).toEqual(rows);
  });

  it('leaves existing sparks alone and fills only the missing days', async () => {
    await db.pool.query(
      `INSERT INTO brain_sparks (spark_date, age_group, spark_type, question, source)
       VALUES ('2027-03-03', 'wonder_cubs', 'riddle', 'A curator wrote this one by hand?', 'curator')`,
    );
    const report = await runBrainSparkRollout({ date: '2027-03-01', log });
    expect(report.rowsTouched).toBe(20);
    expect(report.counts).toEqual({ wonder_cubs: 6, curious_explorers: 7, mind_masters: 7 });
    const handWritten = (await sparks(db)).find(
      (r) => r.spark_date === '2027-03-03' && r.age_group === 'wonder_cubs',
    );
    expect(handWritten).toMatchObject({
      source: 'curator',
      question: 'A curator wrote this one by hand?',
    });
  });

  it('run daily for 90 days, a 30-entry bank repeats every 30 days and never sooner', async () => {
    const other = await otherDatabase(db);
    try {
      for (let d = 0; d < 90; d++)
        await runBrainSparkRollout({ date: addDays('2027-05-01', d), log });
      const rows = await sparks(other);
      expect(rows).toHaveLength(96 * 3);
      expect(smallestRepeatGap(rows)).toBe(30);
    } finally {
      await other.drop();
    }
  });

  it('with a bank of 70 entries per group, no entry repeats within 60 days, even when history disagrees with the rotation', async () => {
    const other = await otherDatabase(db);
    try {
      const big: SparkBankEntry[] = AGE_GROUPS.flatMap((group) =>
        Array.from({ length: 70 }, (_, i) => ({
          ...(bank.find((b) => b.age_group === group) as SparkBankEntry),
          key: `${group.replace('_', '-')}-synthetic-${i}`,
          topic: null,
        })),
      );
      // Sparks already served on the previous days (as an older bank version would have).
      await other.pool.query(
        `INSERT INTO brain_sparks (spark_date, age_group, spark_type, question, source, curator_notes)
         SELECT '2027-06-01'::date - k, g, 'riddle', 'An older question?', 'curated_bank',
                replace(g, '_', '-') || '-synthetic-' || (k % 70)
           FROM generate_series(1, 50) AS k, unnest($1::text[]) AS g`,
        [AGE_GROUPS],
      );
      for (let d = 0; d < 40; d++)
        await runBrainSparkRollout({ date: addDays('2027-06-01', d), log }, big);
      expect(smallestRepeatGap(await sparks(other))).toBeGreaterThanOrEqual(60);
    } finally {
      await other.drop();
    }
  });

  it('two concurrent runs insert each spark once', async () => {
    const other = await otherDatabase(db);
    try {
      const [a, b] = await Promise.all([
        runBrainSparkRollout({ date: '2027-09-09', log }),
        runBrainSparkRollout({ date: '2027-09-09', log }),
      ]);
      expect(a.rowsTouched + b.rowsTouched).toBe(21);
      expect(await sparks(other)).toHaveLength(21);
    } finally {
      await other.drop();
    }
  });
});
