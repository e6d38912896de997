// Streak rules (pure) and the live path in the family's local day: both ends of the world and
// a DST change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postMessage, startConversation } from '../../shared/learning/conversations.ts';
import {
  applyActivity,
  HISTORY_DAYS,
  MAX_FREEZES,
  type StreakState,
  streakAsOf,
} from '../../shared/learning/streaks.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import {
  createLearner,
  ensurePartitions,
  setupLearningTest,
  streakRow,
  topicIdOf,
} from './helpers.ts';

const empty: StreakState = {
  current: 0,
  longest: 0,
  lastActivityDate: null,
  freezes: 0,
  history: [],
};

function run(state: StreakState, days: string[]): StreakState {
  return days.reduce((s, d) => applyActivity(s, d).state, state);
}

describe('streak rules', () => {
  it('counts a local day once', () => {
    const once = applyActivity(empty, '2026-11-25');
    expect(once.state.current).toBe(1);
    const twice = applyActivity(once.state, '2026-11-25');
    expect(twice.incremented).toBe(false);
    expect(twice.state.current).toBe(1);
  });

  it('grows on consecutive days and resets after a missed day without a freeze', () => {
    const s = run(empty, ['2026-11-01', '2026-11-02', '2026-11-03']);
    expect(s.current).toBe(3);
    const after = applyActivity(s, '2026-11-05');
    expect(after.state.current).toBe(1);
    expect(after.state.longest).toBe(3);
  });

  it('earns a freeze per 7-day streak, holds at most 2, and spends one per missed day', () => {
    const days = Array.from({ length: 21 }, (_, i) => `2026-10-${String(i + 1).padStart(2, '0')}`);
    const s = run(empty, days);
    expect(s.current).toBe(21);
    expect(s.freezes).toBe(MAX_FREEZES); // 3 earned at 7, 14, 21, capped at 2
    const bridged = applyActivity(s, '2026-10-24'); // 22 and 23 missed
    expect(bridged.freezesUsed).toBe(2);
    expect(bridged.state.current).toBe(22);
    expect(bridged.state.freezes).toBe(0);
    expect(bridged.state.history.filter((h) => h.freeze_used).map((h) => h.date)).toEqual([
      '2026-10-22',
      '2026-10-23',
    ]);
  });

  it('like the nightly job: freezes cover the first missed days, the first uncovered day resets', () => {
    const s = { ...run(empty, ['2026-10-01', '2026-10-02']), freezes: 1 };
    const after = applyActivity(s, '2026-10-06'); // 03, 04, 05 missed
    expect(after.state.current).toBe(1);
    expect(after.state.freezes).toBe(0);
    expect(after.state.longest).toBe(2);
    expect(after.state.history.slice(-3)).toEqual([
      { date: '2026-10-03', streak: 2, activity: false, freeze_used: true },
      { date: '2026-10-04', streak: 0, activity: false, freeze_used: false },
      { date: '2026-10-06', streak: 1, activity: true },
    ]);
  });

  it('continues after the job moved last_activity_date over a frozen day', () => {
    const s: StreakState = {
      current: 4,
      longest: 4,
      lastActivityDate: '2026-10-06',
      freezes: 0,
      history: [],
    };
    expect(applyActivity(s, '2026-10-07').state.current).toBe(5);
  });

  it('continues after a day the nightly job covered with a freeze', () => {
    const s: StreakState = {
      current: 5,
      longest: 5,
      lastActivityDate: '2026-10-05',
      freezes: 0,
      history: [{ date: '2026-10-06', streak: 5, activity: false, freeze_used: true }],
    };
    expect(applyActivity(s, '2026-10-07').state.current).toBe(6);
  });

  it('keeps at most 365 days of history', () => {
    let s = empty;
    const start = Date.parse('2025-01-01T00:00:00Z');
    for (let i = 0; i < 400; i++)
      s = applyActivity(s, new Date(start + i * 86_400_000).toISOString().slice(0, 10)).state;
    expect(s.history).toHaveLength(HISTORY_DAYS);
    expect(s.history[0]?.date).toBe(new Date(start + 35 * 86_400_000).toISOString().slice(0, 10));
  });

  it('shows a broken streak as 0 before the nightly job runs', () => {
    const s = run(empty, ['2026-11-01', '2026-11-02']);
    expect(streakAsOf(s, '2026-11-03')).toMatchObject({ current: 2, atRisk: true });
    expect(streakAsOf(s, '2026-11-05').current).toBe(0);
  });
});

describe('the live path in the family time zone', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await setupLearningTest();
    await ensurePartitions(
      db.pool,
      new Date('2026-10-15T00:00:00Z'),
      new Date('2026-11-15T00:00:00Z'),
    );
  });
  afterAll(async () => teardownAccountsTest(db));

  async function answerAt(timezone: string, instants: string[]) {
    const family = await createLearner(db.pool, { timezone });
    const space = await topicIdOf(db.pool, 'space');
    const first = new Date(instants[0] as string);
    const { conversation } = await startConversation(
      family.learner,
      { type: 'exploration', topicId: space },
      new Date(first.getTime() - 1000),
    );
    const streaks: number[] = [];
    for (const at of instants) {
      const r = await postMessage(
        family.learner,
        conversation.id,
        { choiceIndex: 0 },
        { now: new Date(at) },
      );
      streaks.push(r.rewards.streak.current);
    }
    const days = await db.pool.query<{ d: string; q: number }>(
      "SELECT to_char(activity_date, 'YYYY-MM-DD') AS d, questions_asked AS q FROM daily_activity WHERE child_id = $1 ORDER BY 1",
      [family.childId],
    );
    return { streaks, days: days.rows, row: await streakRow(db.pool, family.childId) };
  }

  // 09:30Z and 10:30Z on 2026-11-25: 23:30 and 00:30 in Kiritimati (UTC+14), crossing its midnight.
  const instants = ['2026-11-25T09:30:00Z', '2026-11-25T10:30:00Z'];

  it('Pacific/Kiritimati: the two answers fall on two local days', async () => {
    const { streaks, days, row } = await answerAt('Pacific/Kiritimati', instants);
    expect(streaks).toEqual([1, 2]);
    expect(days.map((d) => d.d)).toEqual(['2026-11-25', '2026-11-26']);
    expect(row?.last_activity_date).toBe('2026-11-26');
  });

  it('Pacific/Pago_Pago: the same instants are one local day (the day before)', async () => {
    const { streaks, days, row } = await answerAt('Pacific/Pago_Pago', instants);
    expect(streaks).toEqual([1, 1]);
    expect(days).toEqual([{ d: '2026-11-24', q: 2 }]);
    expect(row?.last_activity_date).toBe('2026-11-24');
  });

  it('America/New_York across the end of DST', async () => {
    const { streaks, days } = await answerAt('America/New_York', [
      '2026-11-01T03:30:00Z', // Oct 31 23:30 EDT
      '2026-11-01T04:30:00Z', // Nov 1 00:30 EDT
      '2026-11-02T04:30:00Z', // Nov 1 23:30 EST: still Nov 1 (a fixed -4h offset would say Nov 2)
      '2026-11-02T05:30:00Z', // Nov 2 00:30 EST
    ]);
    expect(streaks).toEqual([1, 2, 2, 3]);
    expect(days.map((d) => [d.d, d.q])).toEqual([
      ['2026-10-31', 1],
      ['2026-11-01', 2],
      ['2026-11-02', 1],
    ]);
  });
});
