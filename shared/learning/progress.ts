// Read models for a child's progress per topic and streak.
import { AppError } from '../errors.ts';
import { localDate } from './clock.ts';
import { queryRows, readDb } from './db.ts';
import type { Learner } from './learner.ts';
import { readStreak, streakAsOf } from './streaks.ts';

interface ProgressRow {
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
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

const toView = (r: ProgressRow) => ({
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

const PROGRESS_SELECT = `SELECT p.topic_id, t.slug, t.name, t.category, p.depth_level, p.time_spent_seconds,
    p.questions_asked, p.conversations_count, p.unlocked_at, p.first_depth_5_at, p.mastered_at, p.last_interaction
  FROM progress p JOIN topics t ON t.id = p.topic_id`;

export async function listProgress(childId: string) {
  const rows = await queryRows<ProgressRow>(
    `${PROGRESS_SELECT} WHERE p.child_id = $1 ORDER BY p.last_interaction DESC NULLS LAST, t.slug`,
    [childId],
  );
  const topics = rows.map(toView);
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

export async function topicProgress(childId: string, topicId: string) {
  const rows = await queryRows<ProgressRow>(
    `${PROGRESS_SELECT} WHERE p.child_id = $1 AND p.topic_id = $2`,
    [childId, topicId],
  );
  if (!rows[0]) throw new AppError('not_found', 'No progress on this topic yet');
  return toView(rows[0]);
}

export async function streakView(learner: Learner, now: Date) {
  const state = await readStreak(await readDb(), learner.childId);
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
