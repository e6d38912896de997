import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, useDatabasePool } from '../../shared/db/client.ts';
import { resolveStreakInstant, runStreakReset } from '../../shared/jobs/streak-reset.ts';
import { recordStreakActivity } from '../../shared/learning/streaks.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { familyWithStreak, otherDatabase, readStreak } from './fixtures.ts';

const log = createLogger({ test: 'streak-reset' });
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
});
afterAll(async () => {
  await db.drop();
});

const run = (at: string) => runStreakReset({ at: new Date(at), log });

describe('streak-reset: local days per family time zone', () => {
  it('settles Pacific/Kiritimati (UTC+14) at its own midnight, not before', async () => {
    // 2026-11-25T09:30Z is 23:30 on Nov 25 in Kiritimati; 10:30Z is 00:30 on Nov 26.
    const child = await familyWithStreak(db.pool, 'Pacific/Kiritimati', {
      current_streak: 5,
      longest_streak: 9,
      last_activity_date: '2026-11-24',
    });
    await run('2026-11-25T09:30:00Z');
    expect((await readStreak(db.pool, child)).current_streak).toBe(5);
    await run('2026-11-25T10:30:00Z');
    const after = await readStreak(db.pool, child);
    expect(after.current_streak).toBe(0);
    expect(after.longest_streak).toBe(9);
    expect(after.streak_history).toEqual([
      { date: '2026-11-25', streak: 0, activity: false, freeze_used: false },
    ]);
  });

  it('settles Pacific/Pago_Pago (UTC-11) a day later in UTC terms', async () => {
    // 2026-11-26T10:30Z is 23:30 on Nov 25 in Pago Pago; 11:30Z is 00:30 on Nov 26.
    const child = await familyWithStreak(db.pool, 'Pacific/Pago_Pago', {
      current_streak: 3,
      last_activity_date: '2026-11-24',
    });
    await run('2026-11-25T12:00:00Z'); // Nov 25 01:00 local: Nov 24 just ended, with activity
    await run('2026-11-26T10:30:00Z');
    expect((await readStreak(db.pool, child)).current_streak).toBe(3);
    await run('2026-11-26T11:30:00Z');
    expect((await readStreak(db.pool, child)).current_streak).toBe(0);
  });

  it('follows America/New_York across the end of DST (UTC-4 to UTC-5 on 2026-11-01)', async () => {
    const child = await familyWithStreak(db.pool, 'America/New_York', {
      current_streak: 4,
      last_activity_date: '2026-10-31',
    });
    // 04:30Z on Nov 2 is 23:30 on Nov 1 in EST; with the summer offset it would already be Nov 2.
    await run('2026-11-02T04:30:00Z');
    expect((await readStreak(db.pool, child)).current_streak).toBe(4);
    await run('2026-11-02T05:05:00Z');
    const after = await readStreak(db.pool, child);
    expect(after.current_streak).toBe(0);
    expect(after.streak_history.at(-1)?.date).toBe('2026-11-01');
  });

  it('follows America/New_York across the start of DST (UTC-5 to UTC-4 on 2026-03-08)', async () => {
    const child = await familyWithStreak(db.pool, 'America/New_York', {
      current_streak: 2,
      streak_freezes_available: 1,
      last_activity_date: '2026-03-07',
    });
    // 03:30Z on Mar 9 is 23:30 on Mar 8 in EDT (UTC-4); 04:05Z is 00:05 on Mar 9.
    await run('2026-03-09T03:30:00Z');
    expect((await readStreak(db.pool, child)).streak_freezes_available).toBe(1);
    await run('2026-03-09T04:05:00Z');
    const after = await readStreak(db.pool, child);
    expect(after.streak_freezes_available).toBe(0);
    expect(after.current_streak).toBe(2);
    expect(after.last_activity_date).toBe('2026-03-07');
    expect(after.streak_history.at(-1)?.date).toBe('2026-03-08');
  });
});

describe('streak-reset: run for a date', () => {
  it('settles that day in every time zone, from Pago Pago (UTC-11) to Kiritimati (UTC+14)', async () => {
    expect(resolveStreakInstant({ date: '2026-02-28' }).toISOString()).toBe(
      '2026-03-01T12:00:00.000Z',
    );
    const west = await familyWithStreak(db.pool, 'Pacific/Pago_Pago', {
      current_streak: 3,
      last_activity_date: '2026-02-27',
    });
    const east = await familyWithStreak(db.pool, 'Pacific/Kiritimati', {
      current_streak: 3,
      last_activity_date: '2026-02-27',
    });
    await runStreakReset({ date: '2026-02-28', log });
    for (const child of [west, east]) {
      expect((await readStreak(db.pool, child)).streak_history).toEqual([
        { date: '2026-02-28', streak: 0, activity: false, freeze_used: false },
      ]);
    }
  });
});

describe('streak-reset: freezes', () => {
  it('consumes a freeze exactly once per missed day, however often it runs', async () => {
    const child = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 8,
      streak_freezes_available: 2,
      last_activity_date: '2026-06-01',
      streak_history: [{ date: '2026-06-01', streak: 8, activity: true }],
    });
    // June 2 missed: every hour of June 3 sees it, only the first run may consume a freeze.
    for (const hour of ['00:05', '01:05', '13:05', '23:55']) await run(`2026-06-03T${hour}:00Z`);
    let s = await readStreak(db.pool, child);
    expect(s.streak_freezes_available).toBe(1);
    expect(s.current_streak).toBe(8);
    expect(s.last_activity_date).toBe('2026-06-01');
    expect(s.streak_history).toEqual([
      { date: '2026-06-01', streak: 8, activity: true },
      { date: '2026-06-02', streak: 8, activity: false, freeze_used: true },
    ]);
    // June 3 missed too: the second freeze.
    for (const hour of ['00:05', '05:05']) await run(`2026-06-04T${hour}:00Z`);
    s = await readStreak(db.pool, child);
    expect(s.streak_freezes_available).toBe(0);
    expect(s.current_streak).toBe(8);
    expect(s.streak_history).toHaveLength(3);
    // June 4 missed without a freeze: reset, longest kept.
    await run('2026-06-05T00:05:00Z');
    await run('2026-06-05T01:05:00Z');
    s = await readStreak(db.pool, child);
    expect(s.current_streak).toBe(0);
    expect(s.longest_streak).toBe(8);
    expect(s.streak_history).toHaveLength(4);
    expect(s.streak_history.at(-1)).toEqual({
      date: '2026-06-04',
      streak: 0,
      activity: false,
      freeze_used: false,
    });
  });

  it('two missed days with one freeze: the freeze covers the first, the second resets', async () => {
    const child = await familyWithStreak(db.pool, 'Europe/London', {
      current_streak: 10,
      longest_streak: 10,
      streak_freezes_available: 1,
      last_activity_date: '2026-07-10',
    });
    const report = await run('2026-07-13T09:00:00Z'); // July 11 and 12 ended without activity
    expect(report.counts).toMatchObject({ streaksReset: 1, freezesUsed: 1 });
    const s = await readStreak(db.pool, child);
    expect(s).toMatchObject({ current_streak: 0, longest_streak: 10, streak_freezes_available: 0 });
    expect(s.last_activity_date).toBe('2026-07-10');
    expect(s.streak_history).toEqual([
      { date: '2026-07-11', streak: 10, activity: false, freeze_used: true },
      { date: '2026-07-12', streak: 0, activity: false, freeze_used: false },
    ]);
  });

  it('three missed days with one freeze: one freeze, one reset, nothing for the third day', async () => {
    const child = await familyWithStreak(db.pool, 'Asia/Tokyo', {
      current_streak: 6,
      streak_freezes_available: 1,
      last_activity_date: '2026-08-01',
    });
    await run('2026-08-05T00:00:00Z'); // 09:00 on Aug 5 in Tokyo: Aug 2, 3, 4 missed
    const s = await readStreak(db.pool, child);
    expect(s).toMatchObject({
      current_streak: 0,
      streak_freezes_available: 0,
      last_activity_date: '2026-08-01',
    });
    expect(s.streak_history.map((e) => [e.date, e.freeze_used])).toEqual([
      ['2026-08-02', true],
      ['2026-08-03', false],
    ]);
    await run('2026-08-06T00:00:00Z');
    expect((await readStreak(db.pool, child)).streak_history).toHaveLength(2);
  });

  it('two missed days with two freezes keep the streak alive through both', async () => {
    const child = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 14,
      streak_freezes_available: 2,
      last_activity_date: '2026-09-01',
    });
    await run('2026-09-04T02:00:00Z');
    const s = await readStreak(db.pool, child);
    expect(s).toMatchObject({
      current_streak: 14,
      streak_freezes_available: 0,
      last_activity_date: '2026-09-01',
    });
    expect(s.streak_history.map((e) => [e.date, e.freeze_used])).toEqual([
      ['2026-09-02', true],
      ['2026-09-03', true],
    ]);
    // Covered through Sep 3 by the freeze entries: later runs that day add nothing.
    await run('2026-09-04T20:00:00Z');
    expect((await readStreak(db.pool, child)).streak_history).toHaveLength(2);
  });

  it('caps history at 365 entries, dropping the oldest', async () => {
    const history = Array.from({ length: 365 }, (_, i) => ({
      date: new Date(Date.UTC(2025, 0, 1 + i)).toISOString().slice(0, 10),
      streak: i + 1,
      activity: true,
    }));
    const child = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 365,
      streak_freezes_available: 1,
      last_activity_date: '2025-12-31',
      streak_history: history,
    });
    await run('2026-01-02T00:30:00Z');
    const s = await readStreak(db.pool, child);
    expect(s.streak_history).toHaveLength(365);
    expect(s.streak_history[0]?.date).toBe('2025-01-02');
    expect(s.streak_history.at(-1)).toEqual({
      date: '2026-01-01',
      streak: 365,
      activity: false,
      freeze_used: true,
    });
  });

  it('leaves streaks with activity yesterday or today, zero streaks and deleted families alone', async () => {
    const active = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 3,
      last_activity_date: '2026-10-09',
    });
    const today = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 3,
      last_activity_date: '2026-10-10',
    });
    const zero = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 0,
      longest_streak: 4,
      last_activity_date: '2026-09-01',
    });
    const deletedChild = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 3,
      last_activity_date: '2026-09-01',
    });
    await db.pool.query('UPDATE children SET deleted_at = now() WHERE id = $1', [deletedChild]);
    const before = await Promise.all(
      [active, today, zero, deletedChild].map((c) => readStreak(db.pool, c)),
    );
    await run('2026-10-10T18:00:00Z');
    const after = await Promise.all(
      [active, today, zero, deletedChild].map((c) => readStreak(db.pool, c)),
    );
    expect(after).toEqual(before);
  });
});

describe('streak-reset: idempotence and concurrency', () => {
  it('a second run and two concurrent runs change nothing more', async () => {
    const other = await otherDatabase(db);
    try {
      const children: string[] = [];
      for (let i = 0; i < 30; i++) {
        const tz = [
          'Pacific/Kiritimati',
          'Pacific/Pago_Pago',
          'America/New_York',
          'Asia/Kolkata',
          'UTC',
        ][i % 5]!;
        children.push(
          await familyWithStreak(other.pool, tz, {
            current_streak: 5 + i,
            streak_freezes_available: i % 3,
            last_activity_date: `2026-04-${String(10 + (i % 5)).padStart(2, '0')}`,
          }),
        );
      }
      const at = new Date('2026-04-16T06:00:00Z');
      const snapshot = async () =>
        (await other.pool.query('SELECT * FROM streaks ORDER BY child_id')).rows;
      const [a, b] = await Promise.all([runStreakReset({ at, log }), runStreakReset({ at, log })]);
      expect(a.rowsTouched + b.rowsTouched).toBeGreaterThan(20);
      expect(Math.min(a.rowsTouched, b.rowsTouched)).toBe(0);
      const first = await snapshot();
      const again = await runStreakReset({ at, log });
      expect(again.rowsTouched).toBe(0);
      expect(await snapshot()).toEqual(first);
    } finally {
      await other.drop();
    }
  });
});

describe('streak-reset agrees with the live path (shared/learning/streaks.ts)', () => {
  const scenarios = [
    { name: 'one missed day, one freeze', freezes: 1, last: '2026-05-01', today: '2026-05-03' },
    { name: 'two missed days, one freeze', freezes: 1, last: '2026-05-01', today: '2026-05-04' },
    { name: 'three missed days, two freezes', freezes: 2, last: '2026-05-01', today: '2026-05-05' },
    { name: 'two missed days, no freeze', freezes: 0, last: '2026-05-01', today: '2026-05-04' },
  ];
  for (const sc of scenarios) {
    it(`${sc.name}: job then activity equals activity alone`, async () => {
      const initial = {
        current_streak: 9,
        longest_streak: 12,
        streak_freezes_available: sc.freezes,
        last_activity_date: sc.last,
        streak_history: [{ date: sc.last, streak: 9, activity: true }],
      };
      const viaJob = await familyWithStreak(db.pool, 'Asia/Kolkata', initial);
      const liveOnly = await familyWithStreak(db.pool, 'Asia/Kolkata', initial);
      // Every hour of the missed days, as the scheduler would.
      for (
        let t = Date.parse(`${sc.last}T20:00:00Z`);
        t < Date.parse(`${sc.today}T00:00:00Z`);
        t += 3600_000
      ) {
        await runStreakReset({ at: new Date(t), log });
      }
      const prisma = await getDb();
      await recordStreakActivity(prisma, viaJob, sc.today);
      await recordStreakActivity(prisma, liveOnly, sc.today);
      expect(await readStreak(db.pool, viaJob)).toEqual(await readStreak(db.pool, liveOnly));
    });
  }
});
