// Read models for a child's progress per topic and streak.
import { getDb } from '../db/client.ts';
import { empty, type Sql, sql } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import { localDate } from './clock.ts';
import type { Learner } from './learner.ts';
import { type StreakHistoryEntry, type StreakState, streakAsOf } from './streaks.ts';

const iso = (d: Date | null) => d?.toISOString() ?? null;

async function progressRows(learner: Learner, topicId?: string) {
  const db = await getDb();
  return db.$queryRaw<
    Array<{
      topic_id: string;
      slug: string;
      name: string;
      category: string;
      depth_level: number;
      time_spent_seconds: number;
      questions_asked: number;
      conversations_count: number;
      unlocked_at: Date | null;
      first_depth_5_at: Date | null;
      mastered_at: Date | null;
      last_interaction: Date | null;
    }>
  >`
    SELECT p.topic_id, t.slug, t.name, t.category, p.depth_level, p.time_spent_seconds,
           p.questions_asked, p.conversations_count, p.unlocked_at, p.first_depth_5_at,
           p.mastered_at, p.last_interaction
      FROM progress p JOIN topics t ON t.id = p.topic_id
     WHERE p.child_id = ${learner.childId}::uuid
           ${topicId ? sql`AND p.topic_id = ${topicId}::uuid` : empty}
     ORDER BY p.last_interaction DESC NULLS LAST, t.slug`;
}

const toView = (r: Awaited<ReturnType<typeof progressRows>>[number]) => ({
  topicId: r.topic_id,
  slug: r.slug,
  name: r.name,
  category: r.category,
  depth: r.depth_level,
  timeSpentSeconds: r.time_spent_seconds,
  questionsAsked: r.questions_asked,
  conversations: r.conversations_count,
  unlockedAt: iso(r.unlocked_at),
  firstDepth5At: iso(r.first_depth_5_at),
  masteredAt: iso(r.mastered_at),
  lastInteraction: iso(r.last_interaction),
});

export async function listProgress(learner: Learner) {
  const topics = (await progressRows(learner)).map(toView);
  return {
    topics,
    totals: {
      topicsUnlocked: topics.filter((t) => t.unlockedAt).length,
      topicsExplored: topics.filter((t) => t.questionsAsked > 0).length,
      topicsMastered: topics.filter((t) => t.masteredAt).length,
      timeSpentSeconds: topics.reduce((s, t) => s + t.timeSpentSeconds, 0),
      questionsAsked: topics.reduce((s, t) => s + t.questionsAsked, 0),
    },
  };
}

export async function topicProgress(learner: Learner, topicId: string) {
  const [row] = await progressRows(learner, topicId);
  if (!row) throw new AppError('not_found', 'No progress on this topic yet');
  return toView(row);
}

/** Select-list item: the child's streak row as JSON, to map with `streakOf`. */
export function streakColumn(childId: string): Sql {
  return sql`
    (SELECT json_build_object('current', current_streak, 'longest', longest_streak,
              'last', to_char(last_activity_date, 'YYYY-MM-DD'), 'freezes', streak_freezes_available,
              'history', streak_history)
       FROM streaks WHERE child_id = ${childId}::uuid) AS streak`;
}

export interface StreakColumn {
  streak: {
    current: number;
    longest: number;
    last: string | null;
    freezes: number;
    history: StreakHistoryEntry[] | null;
  } | null;
}

/** The streak as the streak rules see it (a child without a streak row has 0). */
export function streakOf(read: StreakColumn): StreakState {
  const s = read.streak;
  if (!s) return { current: 0, longest: 0, lastActivityDate: null, freezes: 0, history: [] };
  return {
    current: s.current,
    longest: s.longest,
    lastActivityDate: s.last,
    freezes: s.freezes,
    history: Array.isArray(s.history) ? s.history : [],
  };
}

export async function streakState(learner: Pick<Learner, 'childId'>): Promise<StreakState> {
  const db = await getDb();
  const [read] = await db.$queryRaw<StreakColumn[]>`SELECT ${streakColumn(learner.childId)}`;
  return streakOf(read ?? { streak: null });
}

export async function streakView(learner: Learner, now: Date) {
  const state = await streakState(learner);
  const today = localDate(learner.timezone, now);
  const asOf = streakAsOf(state, today);
  return {
    current: asOf.current,
    longest: state.longest,
    lastActivityDate: state.lastActivityDate,
    today,
    activeToday: asOf.activeToday,
    atRisk: asOf.atRisk,
    freezesAvailable: state.freezes,
    history: state.history,
  };
}
