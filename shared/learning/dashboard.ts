// Parent views: daily activity over a date range, cognitive metrics over time, flagged
// messages and alerts (with mark-read). Parents only; the routes check ownership first.
import { AppError } from '../errors.ts';
import { daysBetween, localDate } from './clock.ts';
import { queryRows, readDb } from './db.ts';
import type { Learner } from './learner.ts';
import { getRewards } from './rewards.ts';
import { readStreak, streakAsOf } from './streaks.ts';

export const MAX_RANGE_DAYS = 366;

export function resolveRange(
  learner: Learner,
  now: Date,
  from?: string,
  to?: string,
): { from: string; to: string } {
  const end = to ?? localDate(learner.timezone, now);
  const start =
    from ?? new Date(Date.parse(`${end}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
  const span = daysBetween(start, end);
  if (span < 0) throw new AppError('invalid_request', '`from` must not be after `to`');
  if (span >= MAX_RANGE_DAYS)
    throw new AppError('invalid_request', `A range may span at most ${MAX_RANGE_DAYS} days`);
  return { from: start, to: end };
}

interface ActivityRow {
  activity_date: string;
  total_time_seconds: number;
  session_count: number;
  conversations_started: number;
  questions_asked: number;
  depth_increases: number;
  aha_moments: number;
  topics_explored: string[];
  new_topics_unlocked: string[];
  brain_spark_completed: boolean;
  stars_earned: number;
  badges_earned: string[];
}

export async function dailyActivity(learner: Learner, range: { from: string; to: string }) {
  const rows = await queryRows<ActivityRow>(
    `SELECT to_char(activity_date, 'YYYY-MM-DD') AS activity_date, total_time_seconds, session_count,
            conversations_started, questions_asked, depth_increases, aha_moments, topics_explored,
            new_topics_unlocked, brain_spark_completed, stars_earned, badges_earned
       FROM daily_activity WHERE child_id = $1 AND activity_date BETWEEN $2::date AND $3::date
      ORDER BY activity_date`,
    [learner.childId, range.from, range.to],
  );
  const days = rows.map((r) => ({
    date: r.activity_date,
    timeSeconds: r.total_time_seconds,
    sessions: r.session_count,
    conversationsStarted: r.conversations_started,
    questionsAsked: r.questions_asked,
    depthIncreases: r.depth_increases,
    ahaMoments: r.aha_moments,
    topicsExplored: r.topics_explored,
    newTopicsUnlocked: r.new_topics_unlocked,
    brainSparkCompleted: r.brain_spark_completed,
    starsEarned: r.stars_earned,
    badgesEarned: r.badges_earned,
  }));
  return {
    ...range,
    timezone: learner.timezone,
    days,
    totals: {
      activeDays: days.length,
      timeSeconds: days.reduce((s, d) => s + d.timeSeconds, 0),
      questionsAsked: days.reduce((s, d) => s + d.questionsAsked, 0),
      ahaMoments: days.reduce((s, d) => s + d.ahaMoments, 0),
      starsEarned: days.reduce((s, d) => s + d.starsEarned, 0),
    },
  };
}

export async function cognitiveMetrics(learner: Learner, range: { from: string; to: string }) {
  const rows = await queryRows<{
    assessment_date: string;
    critical_thinking: number | null;
    creative_thinking: number | null;
    logical_reasoning: number | null;
    knowledge_connection: number | null;
    curiosity_index: number | null;
    conversations_analyzed: number | null;
    confidence_level: number | null;
  }>(
    `SELECT to_char(assessment_date, 'YYYY-MM-DD') AS assessment_date, critical_thinking, creative_thinking,
            logical_reasoning, knowledge_connection, curiosity_index, conversations_analyzed, confidence_level
       FROM cognitive_metrics WHERE child_id = $1 AND assessment_date BETWEEN $2::date AND $3::date
      ORDER BY assessment_date`,
    [learner.childId, range.from, range.to],
  );
  return {
    ...range,
    points: rows.map((r) => ({
      date: r.assessment_date,
      criticalThinking: r.critical_thinking,
      creativeThinking: r.creative_thinking,
      logicalReasoning: r.logical_reasoning,
      knowledgeConnection: r.knowledge_connection,
      curiosityIndex: r.curiosity_index,
      conversationsAnalyzed: r.conversations_analyzed,
      confidence: r.confidence_level,
    })),
  };
}

export async function flaggedMessages(learner: Learner, limit: number) {
  const rows = await queryRows<{
    id: string;
    conversation_id: string;
    role: string;
    content: string;
    filter_reason: string | null;
    created_at: Date;
  }>(
    `SELECT m.id, m.conversation_id, m.role, m.content, m.filter_reason, m.created_at
       FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE c.child_id = $1 AND m.was_filtered
      ORDER BY m.created_at DESC LIMIT $2`,
    [learner.childId, limit],
  );
  return rows.map((r) => ({
    messageId: r.id,
    conversationId: r.conversation_id,
    role: r.role,
    content: r.content,
    reasons: r.filter_reason?.split(',') ?? [],
    createdAt: r.created_at.toISOString(),
  }));
}

export async function listAlerts(
  parentId: string,
  options: { unreadOnly: boolean; childId?: string | undefined; limit: number },
) {
  const rows = await queryRows<{
    id: string;
    child_id: string;
    conversation_id: string | null;
    message_id: string | null;
    severity: string;
    reason: string;
    created_at: Date;
    read_at: Date | null;
  }>(
    `SELECT a.id, a.child_id, a.conversation_id, a.message_id, a.severity, a.reason, a.created_at, a.read_at
       FROM parent_alerts a JOIN children c ON c.id = a.child_id AND c.deleted_at IS NULL
      WHERE a.parent_id = $1 AND (NOT $2 OR a.read_at IS NULL) AND ($3::uuid IS NULL OR a.child_id = $3)
      ORDER BY a.created_at DESC LIMIT $4`,
    [parentId, options.unreadOnly, options.childId ?? null, options.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    childId: r.child_id,
    conversationId: r.conversation_id,
    messageId: r.message_id,
    severity: r.severity,
    reason: r.reason,
    createdAt: r.created_at.toISOString(),
    readAt: r.read_at?.toISOString() ?? null,
  }));
}

/** Marks one of the parent's alerts read; another family's alert is 404. */
export async function markAlertRead(parentId: string, alertId: string, now: Date) {
  const db = await readDb();
  const { rows } = await db.query<{ id: string; read_at: Date }>(
    `UPDATE parent_alerts SET read_at = COALESCE(read_at, $3)
      WHERE id = $1 AND parent_id = $2 RETURNING id, read_at`,
    [alertId, parentId, now],
  );
  if (!rows[0]) throw new AppError('not_found', 'No such alert');
  return { id: rows[0].id, readAt: rows[0].read_at.toISOString() };
}

export async function overview(learner: Learner, now: Date) {
  const db = await readDb();
  const today = localDate(learner.timezone, now);
  const [state, rewards, alerts, recent] = await Promise.all([
    readStreak(db, learner.childId),
    getRewards(db, learner.childId),
    db.query<{ unread: number }>(
      'SELECT COUNT(*)::int AS unread FROM parent_alerts WHERE child_id = $1 AND read_at IS NULL',
      [learner.childId],
    ),
    queryRows<{
      id: string;
      conversation_type: string;
      summary: string | null;
      started_at: Date;
      depth_reached: number;
    }>(
      `SELECT id, conversation_type, summary, started_at, depth_reached FROM conversations
        WHERE child_id = $1 ORDER BY started_at DESC LIMIT 5`,
      [learner.childId],
    ),
  ]);
  const streak = streakAsOf(state, today);
  return {
    childId: learner.childId,
    today,
    streak: {
      current: streak.current,
      longest: state.longest,
      activeToday: streak.activeToday,
      freezes: state.freezes,
    },
    stars: rewards.stars,
    badges: rewards.badges,
    unreadAlerts: alerts.rows[0]?.unread ?? 0,
    recentConversations: recent.map((c) => ({
      id: c.id,
      type: c.conversation_type,
      summary: c.summary,
      startedAt: c.started_at.toISOString(),
      depthReached: c.depth_reached,
    })),
  };
}
