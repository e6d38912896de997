// daily_activity for the child's local date: one row per child and day, counters only grow.
import type { Queryable } from './db.ts';

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
}

export async function addDailyActivity(
  tx: Queryable,
  childId: string,
  date: string,
  delta: ActivityDelta,
): Promise<void> {
  await tx.query(
    `INSERT INTO daily_activity (child_id, activity_date, total_time_seconds, session_count, conversations_started,
        questions_asked, depth_increases, aha_moments, topics_explored, new_topics_unlocked,
        stars_earned, badges_earned)
     VALUES ($1, $2::date, $3, $12, $4, $5, $6, $7, $8::uuid[], $9::uuid[], $10, $11::text[])
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
        badges_earned = ARRAY(SELECT DISTINCT unnest(daily_activity.badges_earned || EXCLUDED.badges_earned))`,
    [
      childId,
      date,
      delta.timeSeconds ?? 0,
      delta.conversationsStarted ?? 0,
      delta.questionsAsked ?? 0,
      delta.depthIncreases ?? 0,
      delta.ahaMoments ?? 0,
      delta.topicsExplored ?? [],
      delta.newTopicsUnlocked ?? [],
      delta.starsEarned ?? 0,
      delta.badgesEarned ?? [],
      delta.sessions ?? 0,
    ],
  );
}

/** Marks today's brain spark done; true only the first time that local day. */
export async function markBrainSparkCompleted(
  tx: Queryable,
  childId: string,
  date: string,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO daily_activity (child_id, activity_date, brain_spark_completed)
     VALUES ($1, $2::date, TRUE)
     ON CONFLICT (child_id, activity_date) DO UPDATE SET brain_spark_completed = TRUE
       WHERE NOT daily_activity.brain_spark_completed`,
    [childId, date],
  );
  return (rowCount ?? 0) > 0;
}
