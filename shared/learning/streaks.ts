// The live streak path: a meaningful activity on the family's local day counts once. The
// hourly streak-reset job (shared/jobs/streak-reset.ts) settles days that end without
// activity; this path settles any gap the job has not handled yet with the same rule, so the
// result does not depend on which ran first: missed days are taken in order, each covered by
// a held freeze while any remain, and the first uncovered day resets the streak.

import type { Queryable } from '../db/client.ts';
import { addDays, daysBetween } from './clock.ts';

export const MAX_FREEZES = 2;
export const FREEZE_EVERY_DAYS = 7;
export const HISTORY_DAYS = 365;

export interface StreakHistoryEntry {
  date: string;
  streak: number;
  activity: boolean;
  /** Snake case like the job's entries: a missed day (activity false) a freeze covered. */
  freeze_used?: boolean;
}

export interface StreakState {
  current: number;
  longest: number;
  lastActivityDate: string | null;
  freezes: number;
  history: StreakHistoryEntry[];
}

export interface ActivityOutcome {
  state: StreakState;
  incremented: boolean;
  freezesUsed: number;
  freezeEarned: boolean;
}

const isFrozenEntry = (e: Record<string, unknown>) =>
  e.activity === false && e.freeze_used === true;

/** The last day the streak is known to cover: an activity day or a day a freeze covered. */
export function coveredThrough(state: StreakState): string | null {
  let covered = state.lastActivityDate;
  for (const entry of state.history as unknown as Record<string, unknown>[]) {
    if (
      typeof entry.date === 'string' &&
      isFrozenEntry(entry) &&
      (covered === null || entry.date > covered)
    ) {
      covered = entry.date;
    }
  }
  return covered;
}

export function trimHistory(history: StreakHistoryEntry[]): StreakHistoryEntry[] {
  return history.slice(-HISTORY_DAYS);
}

/** Pure rule: records an activity on local day `today`. */
export function applyActivity(state: StreakState, today: string): ActivityOutcome {
  if (state.lastActivityDate !== null && state.lastActivityDate >= today) {
    return { state, incremented: false, freezesUsed: 0, freezeEarned: false };
  }
  const coveredDay = coveredThrough(state);
  const history = [...state.history];
  let current = state.current;
  let freezes = state.freezes;
  let freezesUsed = 0;
  const missed = coveredDay === null ? 0 : Math.max(0, daysBetween(coveredDay, today) - 1);
  if (coveredDay === null || current === 0) {
    current = 1;
  } else if (missed === 0) {
    current += 1;
  } else {
    const covered = Math.min(missed, freezes);
    for (let i = 1; i <= covered; i++) {
      history.push({
        date: addDays(coveredDay, i),
        streak: current,
        activity: false,
        freeze_used: true,
      });
    }
    freezes -= covered;
    freezesUsed = covered;
    if (missed > covered) {
      history.push({
        date: addDays(coveredDay, covered + 1),
        streak: 0,
        activity: false,
        freeze_used: false,
      });
      current = 1;
    } else {
      current += 1;
    }
  }
  let freezeEarned = false;
  if (current % FREEZE_EVERY_DAYS === 0 && freezes < MAX_FREEZES) {
    freezes += 1;
    freezeEarned = true;
  }
  history.push({ date: today, streak: current, activity: true });
  return {
    state: {
      current,
      longest: Math.max(state.longest, current),
      lastActivityDate: today,
      freezes,
      history: trimHistory(history),
    },
    incremented: true,
    freezesUsed,
    freezeEarned,
  };
}

interface StreakRow {
  current_streak: number;
  longest_streak: number;
  last_activity_date: string | null;
  streak_freezes_available: number;
  streak_history: StreakHistoryEntry[];
}

const stateOf = (row: StreakRow | undefined): StreakState =>
  row
    ? {
        current: row.current_streak,
        longest: row.longest_streak,
        lastActivityDate: row.last_activity_date,
        freezes: row.streak_freezes_available,
        history: Array.isArray(row.streak_history) ? row.streak_history : [],
      }
    : { current: 0, longest: 0, lastActivityDate: null, freezes: 0, history: [] };

/**
 * Records today's activity for one child in its own statements (the requests settle the streak
 * with applyActivity inside their one write: conversations/settle.ts). Kept for callers outside
 * a request, e.g. the test that checks the streak-reset job against this live rule. Run it
 * inside the child's lock.
 */
export async function recordStreakActivity(
  tx: Queryable,
  childId: string,
  today: string,
): Promise<ActivityOutcome> {
  const rows = await tx.$queryRaw<StreakRow[]>`
    SELECT current_streak, longest_streak, to_char(last_activity_date, 'YYYY-MM-DD') AS last_activity_date,
           streak_freezes_available, streak_history
      FROM streaks WHERE child_id = ${childId}::uuid FOR UPDATE`;
  const before = stateOf(rows[0]);
  const outcome = applyActivity(before, today);
  if (!outcome.incremented) return outcome;
  // The upsert repeats the once-a-day rule in SQL, so even a caller without the lock cannot
  // count a day twice.
  await tx.$executeRaw`
    INSERT INTO streaks (child_id, current_streak, longest_streak, last_activity_date,
        streak_freezes_available, streak_history)
    VALUES (${childId}::uuid, ${outcome.state.current}::int, ${outcome.state.longest}::int, ${today}::date,
        ${outcome.state.freezes}::int, ${JSON.stringify(outcome.state.history)}::jsonb)
    ON CONFLICT (child_id) DO UPDATE SET current_streak = EXCLUDED.current_streak,
        longest_streak = EXCLUDED.longest_streak, last_activity_date = EXCLUDED.last_activity_date,
        streak_freezes_available = EXCLUDED.streak_freezes_available, streak_history = EXCLUDED.streak_history
    WHERE streaks.last_activity_date IS NULL OR streaks.last_activity_date < EXCLUDED.last_activity_date`;
  return outcome;
}

/** What the child sees now: a streak whose last day is older than yesterday and cannot be
 * covered by freezes is already broken, even if the nightly job has not run yet. */
export function streakAsOf(
  state: StreakState,
  today: string,
): { current: number; activeToday: boolean; atRisk: boolean } {
  const covered = coveredThrough(state);
  if (covered === null) return { current: 0, activeToday: false, atRisk: false };
  const missed = Math.max(0, daysBetween(covered, today) - 1);
  const broken = missed > state.freezes;
  return {
    current: broken ? 0 : state.current,
    activeToday: state.lastActivityDate === today,
    atRisk: !broken && state.lastActivityDate !== today && state.current > 0,
  };
}
