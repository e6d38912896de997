// Parent views: daily activity over a date range, cognitive metrics over time, flagged
// messages and alerts (with mark-read). Parents only; the routes resolve the learner first.
import { getDb } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { addDays, daysBetween, localDate } from './clock.ts';
import type { Learner } from './learner.ts';
import { type StreakColumn, streakColumn, streakOf } from './progress.ts';
import { type RewardsColumns, rewardsColumns, rewardsOf } from './rewards.ts';
import { streakAsOf } from './streaks.ts';

export const MAX_RANGE_DAYS = 366;

export function resolveRange(
  learner: Learner,
  now: Date,
  from?: string,
  to?: string,
): { from: string; to: string } {
  const end = to ?? localDate(learner.timezone, now);
  const start = from ?? addDays(end, -29);
  const span = daysBetween(start, end);
  if (span < 0) throw new AppError('invalid_request', '`from` must not be after `to`');
  if (span >= MAX_RANGE_DAYS)
    throw new AppError('invalid_request', `A range may span at most ${MAX_RANGE_DAYS} days`);
  return { from: start, to: end };
}

/** A calendar date as Prisma reads and writes a DATE: UTC midnight. */
const asDate = (day: string) => new Date(`${day}T00:00:00Z`);
const dayOf = (date: Date) => date.toISOString().slice(0, 10);

export async function dailyActivity(learner: Learner, range: { from: string; to: string }) {
  const db = await getDb();
  const rows = await db.dailyActivity.findMany({
    where: {
      childId: learner.childId,
      activityDate: { gte: asDate(range.from), lte: asDate(range.to) },
    },
    orderBy: { activityDate: 'asc' },
  });
  const days = rows.map((r) => ({
    date: dayOf(r.activityDate),
    timeSeconds: r.totalTimeSeconds,
    sessions: r.sessionCount,
    conversationsStarted: r.conversationsStarted,
    questionsAsked: r.questionsAsked,
    depthIncreases: r.depthIncreases,
    ahaMoments: r.ahaMoments,
    topicsExplored: r.topicsExplored,
    newTopicsUnlocked: r.newTopicsUnlocked,
    brainSparkCompleted: r.brainSparkCompleted,
    starsEarned: r.starsEarned,
    badgesEarned: r.badgesEarned,
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
  const db = await getDb();
  const rows = await db.cognitiveMetric.findMany({
    where: {
      childId: learner.childId,
      assessmentDate: { gte: asDate(range.from), lte: asDate(range.to) },
    },
    orderBy: { assessmentDate: 'asc' },
  });
  return {
    ...range,
    points: rows.map((r) => ({
      date: dayOf(r.assessmentDate),
      criticalThinking: r.criticalThinking,
      creativeThinking: r.creativeThinking,
      logicalReasoning: r.logicalReasoning,
      knowledgeConnection: r.knowledgeConnection,
      curiosityIndex: r.curiosityIndex,
      conversationsAnalyzed: r.conversationsAnalyzed,
      confidence: r.confidenceLevel,
    })),
  };
}

export async function flaggedMessages(learner: Learner, limit: number) {
  const db = await getDb();
  const rows = await db.$queryRaw<
    Array<{
      id: string;
      conversation_id: string;
      role: string;
      content: string;
      filter_reason: string | null;
      created_at: Date;
    }>
  >`
    SELECT m.id, m.conversation_id, m.role, m.content, m.filter_reason, m.created_at
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE c.child_id = ${learner.childId}::uuid AND m.was_filtered
     ORDER BY m.created_at DESC LIMIT ${limit}::int`;
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
  const db = await getDb();
  const rows = await db.parentAlert.findMany({
    where: {
      parentId,
      child: { deletedAt: null },
      ...(options.unreadOnly ? { readAt: null } : {}),
      ...(options.childId ? { childId: options.childId } : {}),
    },
    orderBy: { createdAt: 'desc' },
    take: options.limit,
  });
  return rows.map((r) => ({
    id: r.id,
    childId: r.childId,
    conversationId: r.conversationId,
    messageId: r.messageId,
    severity: r.severity,
    reason: r.reason,
    createdAt: r.createdAt.toISOString(),
    readAt: r.readAt?.toISOString() ?? null,
  }));
}

/** Marks one of the parent's alerts read; another family's alert is 404. */
export async function markAlertRead(parentId: string, alertId: string, now: Date) {
  const db = await getDb();
  const [row] = await db.$queryRaw<Array<{ id: string; read_at: Date }>>`
    UPDATE parent_alerts SET read_at = COALESCE(read_at, ${now})
     WHERE id = ${alertId}::uuid AND parent_id = ${parentId}::uuid
    RETURNING id, read_at`;
  if (!row) throw new AppError('not_found', 'No such alert');
  return { id: row.id, readAt: row.read_at.toISOString() };
}

/** The parent's overview of one child in one read. */
export async function overview(learner: Learner, now: Date) {
  const db = await getDb();
  const today = localDate(learner.timezone, now);
  const [read] = await db.$queryRaw<
    Array<
      StreakColumn &
        RewardsColumns & {
          unread: number;
          recent: Array<{
            id: string;
            conversation_type: string;
            summary: string | null;
            started_at: string;
            depth_reached: number;
          }> | null;
        }
    >
  >`
    SELECT ${streakColumn(learner.childId)}, ${rewardsColumns(learner.childId)},
           (SELECT COUNT(*)::int FROM parent_alerts
             WHERE child_id = ${learner.childId}::uuid AND read_at IS NULL) AS unread,
           (SELECT json_agg(c ORDER BY c.started_at DESC)
              FROM (SELECT id, conversation_type, summary, started_at, depth_reached FROM conversations
                     WHERE child_id = ${learner.childId}::uuid ORDER BY started_at DESC LIMIT 5) c) AS recent`;
  const state = streakOf(read ?? { streak: null });
  const rewards = rewardsOf(read ?? { reward_stars: 0, reward_rows: [] });
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
    unreadAlerts: read?.unread ?? 0,
    recentConversations: (read?.recent ?? []).map((c) => ({
      id: c.id,
      type: c.conversation_type,
      summary: c.summary,
      startedAt: new Date(c.started_at).toISOString(),
      depthReached: c.depth_reached,
    })),
  };
}
