// What a weekly digest says about each child, for the local week Monday..Sunday that ends on
// `weekEnd`: minutes per day, streak, topics explored (with the depth reached), stars and
// badges earned, and the cognitive metrics trend over the last four weeks. Four statements
// for the whole family, whatever the number of children.
import type pg from 'pg';
import { addDays } from '../jobs/time.ts';
import { BADGES } from '../learning/rewards.ts';

// Until this module moves onto the Prisma client (issue 10): accounts/db.ts no longer has it.
type Queryable = Pick<pg.PoolClient, 'query'>;

export const COGNITIVE_METRICS = [
  ['critical_thinking', 'Critical thinking'],
  ['creative_thinking', 'Creative thinking'],
  ['logical_reasoning', 'Logical reasoning'],
  ['knowledge_connection', 'Connecting ideas'],
  ['curiosity_index', 'Curiosity'],
] as const;

export type MetricKey = (typeof COGNITIVE_METRICS)[number][0];

export interface MetricTrend {
  key: MetricKey;
  label: string;
  latest: number;
  change: number;
}

export interface ChildWeek {
  id: string;
  firstName: string;
  /** Seven entries, Monday first: [local date, minutes]. */
  days: { date: string; minutes: number }[];
  totalMinutes: number;
  currentStreak: number;
  longestStreak: number;
  topics: { name: string; depth: number }[];
  stars: number;
  badges: string[];
  trend: MetricTrend[];
}

export interface FamilyWeek {
  weekStart: string;
  weekEnd: string;
  children: ChildWeek[];
}

interface ChildRow {
  id: string;
  name: string;
  current_streak: number | null;
  longest_streak: number | null;
}

export async function loadFamilyWeek(
  db: Queryable,
  parentId: string,
  weekEnd: string,
): Promise<FamilyWeek> {
  const weekStart = addDays(weekEnd, -6);
  const children = (
    await db.query<ChildRow>(
      `SELECT c.id, c.name, s.current_streak, s.longest_streak
         FROM children c LEFT JOIN streaks s ON s.child_id = c.id
        WHERE c.parent_id = $1 AND c.deleted_at IS NULL
        ORDER BY c.created_at, c.id`,
      [parentId],
    )
  ).rows;
  const ids = children.map((c) => c.id);
  // One after another: `db` may be a single client, which takes one query at a time.
  const activity = await db.query<{
    child_id: string;
    day: string;
    seconds: number;
    stars: number;
    badges: string[];
  }>(
    `SELECT child_id, to_char(activity_date, 'YYYY-MM-DD') AS day, total_time_seconds AS seconds,
              stars_earned AS stars, badges_earned AS badges
         FROM daily_activity
        WHERE child_id = ANY($1::uuid[]) AND activity_date BETWEEN $2::date AND $3::date`,
    [ids, weekStart, weekEnd],
  );
  const topics = await db.query<{ child_id: string; name: string; depth: number }>(
    `SELECT e.child_id, t.name, COALESCE(p.depth_level, 0) AS depth
         FROM (SELECT DISTINCT child_id, unnest(topics_explored) AS topic_id
                 FROM daily_activity
                WHERE child_id = ANY($1::uuid[]) AND activity_date BETWEEN $2::date AND $3::date) e
         JOIN topics t ON t.id = e.topic_id
         LEFT JOIN progress p ON p.child_id = e.child_id AND p.topic_id = e.topic_id
        ORDER BY e.child_id, COALESCE(p.depth_level, 0) DESC, t.name`,
    [ids, weekStart, weekEnd],
  );
  const metrics = await db.query<Record<MetricKey, number | null> & { child_id: string }>(
    `SELECT child_id, critical_thinking, creative_thinking, logical_reasoning,
              knowledge_connection, curiosity_index
         FROM cognitive_metrics
        WHERE child_id = ANY($1::uuid[]) AND assessment_date BETWEEN $2::date AND $3::date
        ORDER BY child_id, assessment_date`,
    [ids, addDays(weekEnd, -27), weekEnd],
  );

  const badgeName = (id: string) => BADGES.find((b) => b.id === id)?.name ?? id;
  return {
    weekStart,
    weekEnd,
    children: children.map((child) => {
      const rows = activity.rows.filter((r) => r.child_id === child.id);
      const days = Array.from({ length: 7 }, (_, i) => {
        const date = addDays(weekStart, i);
        const seconds = rows.find((r) => r.day === date)?.seconds ?? 0;
        return { date, minutes: Math.round(seconds / 60) };
      });
      const assessed = metrics.rows.filter((r) => r.child_id === child.id);
      const trend: MetricTrend[] = [];
      for (const [key, label] of COGNITIVE_METRICS) {
        const values = assessed.map((r) => r[key]).filter((v): v is number => v !== null);
        const latest = values.at(-1);
        if (latest === undefined) continue;
        trend.push({ key, label, latest, change: latest - (values[0] ?? latest) });
      }
      return {
        id: child.id,
        firstName: child.name.trim().split(/\s+/)[0] ?? child.name,
        days,
        totalMinutes: days.reduce((n, d) => n + d.minutes, 0),
        currentStreak: child.current_streak ?? 0,
        longestStreak: child.longest_streak ?? 0,
        topics: topics.rows
          .filter((t) => t.child_id === child.id)
          .map((t) => ({ name: t.name, depth: t.depth })),
        stars: rows.reduce((n, r) => n + r.stars, 0),
        badges: rows.flatMap((r) => r.badges).map(badgeName),
        trend,
      };
    }),
  };
}
