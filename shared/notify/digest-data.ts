// What a weekly digest says about each child, for the local week Monday..Sunday that ends on
// `weekEnd`: minutes per day, streak, topics explored (with the depth reached), stars and
// badges earned, and the cognitive metrics trend over the last four weeks. One statement
// for the whole family, whatever the number of children.
import type { Queryable } from '../db/client.ts';
import { addDays } from '../jobs/time.ts';
import { BADGES } from '../learning/rewards.ts';

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
  // One statement: the family's children, then what each did in the week, as JSON arrays.
  const [family] = await db.$queryRaw<
    {
      children: ChildRow[];
      activity: {
        child_id: string;
        day: string;
        seconds: number;
        stars: number;
        badges: string[];
      }[];
      topics: { child_id: string; name: string; depth: number }[];
      metrics: (Record<MetricKey, number | null> & { child_id: string })[];
    }[]
  >`
    WITH kids AS (
      SELECT c.id, c.name, c.created_at, s.current_streak, s.longest_streak
        FROM children c LEFT JOIN streaks s ON s.child_id = c.id
       WHERE c.parent_id = ${parentId}::uuid AND c.deleted_at IS NULL
    ), week AS (
      SELECT d.* FROM daily_activity d
       WHERE d.child_id IN (SELECT id FROM kids)
         AND d.activity_date BETWEEN ${weekStart}::date AND ${weekEnd}::date
    )
    SELECT
      COALESCE((SELECT json_agg(json_build_object('id', k.id, 'name', k.name,
                       'current_streak', k.current_streak, 'longest_streak', k.longest_streak)
                       ORDER BY k.created_at, k.id) FROM kids k), '[]') AS children,
      COALESCE((SELECT json_agg(json_build_object('child_id', w.child_id,
                       'day', to_char(w.activity_date, 'YYYY-MM-DD'), 'seconds', w.total_time_seconds,
                       'stars', w.stars_earned, 'badges', w.badges_earned)) FROM week w), '[]') AS activity,
      COALESCE((SELECT json_agg(json_build_object('child_id', e.child_id, 'name', t.name,
                       'depth', COALESCE(p.depth_level, 0))
                       ORDER BY e.child_id, COALESCE(p.depth_level, 0) DESC, t.name)
                  FROM (SELECT DISTINCT child_id, unnest(topics_explored) AS topic_id FROM week) e
                  JOIN topics t ON t.id = e.topic_id
                  LEFT JOIN progress p ON p.child_id = e.child_id AND p.topic_id = e.topic_id), '[]') AS topics,
      COALESCE((SELECT json_agg(json_build_object('child_id', m.child_id,
                       'critical_thinking', m.critical_thinking, 'creative_thinking', m.creative_thinking,
                       'logical_reasoning', m.logical_reasoning,
                       'knowledge_connection', m.knowledge_connection, 'curiosity_index', m.curiosity_index)
                       ORDER BY m.child_id, m.assessment_date)
                  FROM cognitive_metrics m
                 WHERE m.child_id IN (SELECT id FROM kids)
                   AND m.assessment_date BETWEEN ${addDays(weekEnd, -27)}::date AND ${weekEnd}::date), '[]') AS metrics`;
  const children = family?.children ?? [];
  const activity = family?.activity ?? [];
  const topics = family?.topics ?? [];
  const metrics = family?.metrics ?? [];

  const badgeName = (id: string) => BADGES.find((b) => b.id === id)?.name ?? id;
  return {
    weekStart,
    weekEnd,
    children: children.map((child) => {
      const rows = activity.filter((r) => r.child_id === child.id);
      const days = Array.from({ length: 7 }, (_, i) => {
        const date = addDays(weekStart, i);
        const seconds = rows.find((r) => r.day === date)?.seconds ?? 0;
        return { date, minutes: Math.round(seconds / 60) };
      });
      const assessed = metrics.filter((r) => r.child_id === child.id);
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
        topics: topics
          .filter((t) => t.child_id === child.id)
          .map((t) => ({ name: t.name, depth: t.depth })),
        stars: rows.reduce((n, r) => n + r.stars, 0),
        badges: rows.flatMap((r) => r.badges).map(badgeName),
        trend,
      };
    }),
  };
}
