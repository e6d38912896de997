// daily_activity for the child's local date: one row per child and day, counters only grow.
import { empty, type Sql, sql } from '../db/sql.ts';

export interface ActivityDelta {
  timeSeconds?: number;
  sessions?: number;
  conversationsStarted?: number;
  questionsAsked?: number;
  depthIncreases?: number;
  ahaMoments?: number;
  topicsExplored?: string[];
  newTopicsUnlocked?: string[];
  starsEarned?: number;
  badgesEarned?: string[];
  /** Today's brain spark is done (set once; see settle). */
  brainSparkCompleted?: boolean;
}

/**
 * The upsert of today's row, adding `delta`. With `from` (a CTE name such as `guard`) it is a
 * data-modifying CTE body that writes only when `from` has a row.
 */
export function dailyActivitySql(
  childId: string,
  date: string,
  delta: ActivityDelta,
  from?: Sql,
): Sql {
  return sql`INSERT INTO daily_activity (child_id, activity_date, total_time_seconds, session_count,
        conversations_started, questions_asked, depth_increases, aha_moments, topics_explored,
        new_topics_unlocked, stars_earned, badges_earned, brain_spark_completed)
     SELECT ${childId}::uuid, ${date}::date, ${delta.timeSeconds ?? 0}::int, ${delta.sessions ?? 0}::int,
            ${delta.conversationsStarted ?? 0}::int, ${delta.questionsAsked ?? 0}::int,
            ${delta.depthIncreases ?? 0}::int, ${delta.ahaMoments ?? 0}::int,
            ${delta.topicsExplored ?? []}::uuid[], ${delta.newTopicsUnlocked ?? []}::uuid[],
            ${delta.starsEarned ?? 0}::int, ${delta.badgesEarned ?? []}::text[],
            ${delta.brainSparkCompleted ?? false}::boolean
       ${from ? sql`FROM ${from}` : empty}
     ON CONFLICT (child_id, activity_date) DO UPDATE SET
        total_time_seconds = daily_activity.total_time_seconds + EXCLUDED.total_time_seconds,
        session_count = daily_activity.session_count + EXCLUDED.session_count,
        conversations_started = daily_activity.conversations_started + EXCLUDED.conversations_started,
        questions_asked = daily_activity.questions_asked + EXCLUDED.questions_asked,
        depth_increases = daily_activity.depth_increases + EXCLUDED.depth_increases,
        aha_moments = daily_activity.aha_moments + EXCLUDED.aha_moments,
        topics_explored = ARRAY(SELECT DISTINCT unnest(daily_activity.topics_explored || EXCLUDED.topics_explored)),
        new_topics_unlocked = ARRAY(SELECT DISTINCT unnest(daily_activity.new_topics_unlocked || EXCLUDED.new_topics_unlocked)),
        stars_earned = daily_activity.stars_earned + EXCLUDED.stars_earned,
        badges_earned = ARRAY(SELECT DISTINCT unnest(daily_activity.badges_earned || EXCLUDED.badges_earned)),
        brain_spark_completed = daily_activity.brain_spark_completed OR EXCLUDED.brain_spark_completed`;
}
