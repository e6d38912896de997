// cognitive-scoring (nightly): one cognitive_metrics row per child active in the 30 days
// ending on the assessment date D (window: local dates D-29..D for daily_activity, instants
// [D-29 00:00Z, D+1 00:00Z) for conversations and messages), written with one
// INSERT ... SELECT ... ON CONFLICT (child_id, assessment_date) DO UPDATE over all children.
// "Active" = a daily_activity row or a conversation in the window; soft-deleted children are
// skipped. A re-run for the same date rewrites a row only if a score changed. The children
// are split into JOB_SHARDS child_id ranges scored side by side.
//
// Evidence per child (counts over the window unless noted):
//   questions   daily_activity.questions_asked       depth_ups   daily_activity.depth_increases
//   aha         daily_activity.aha_moments           days        days with a daily_activity row
//   started     daily_activity.conversations_started sparks      days with brain_spark_completed
//   unlocked_new   daily_activity.new_topics_unlocked (array lengths)
//   convs       conversations started                deep_convs  ... with depth_reached >= 3
//   depth_sum   sum of depth_reached                 debates / stories: conversations of that type
//   insights    key_insights entries                 conv_topics / conv_categories: distinct ones
//   free_form   the child's free-text answers        choices     the child's picked choices
//   messages    all of the child's messages
//   progress (state as of the end of the window): unlocked topics, topics at depth >= 3,
//   mastered topics, distinct categories with depth > 0.
//
// Scores: each is 100 * (1 - exp(-x / k)), rounded, where x is a weighted sum of evidence:
//   critical_thinking    x = questions + 2*depth_ups + 3*deep_convs                      k = 60
//   creative_thinking    x = free_form + 4*stories + 3*aha + insights                     k = 40
//   logical_reasoning    x = choices + 5*debates + depth_sum                              k = 60
//   knowledge_connection x = 3*conv_topics + 5*conv_categories + unlocked_topics
//                            + 2*deep_topics + 4*mastered_topics + 3*progress_categories k = 40
//   curiosity_index      x = 3*days + 2*started + 2*sparks + 3*unlocked_new + messages/5  k = 60
// Every weight is positive and 1 - exp(-x/k) increases with x, so more evidence never lowers
// a score (no ratios: a ratio could fall when evidence is added). Scores approach 100 slowly
// (x = 3k gives 95), so a child cannot max out in a few days.
//   conversations_analyzed = convs
//   confidence_level = 1 - exp(-(convs + messages/10) / 10), rounded to 3 decimals: 0 with no
//   conversations, 0.63 after about 10 conversations' worth of evidence, approaching 1.
import { type Sql, sql } from '../db/sql.ts';
import { inKeyRange, inShards, type KeyRange, withJobLock } from './lock.ts';
import { addDays, resolveDate } from './time.ts';
import type { JobArgs, JobResult } from './types.ts';

export const SCORING_WINDOW_DAYS = 30;

function scoreActiveChildren(date: string, windowStart: string, range: KeyRange): Sql {
  const assessed = sql`${date}::date`;
  const windowStartDate = sql`${windowStart}::date`;
  const from = sql`${`${windowStart}T00:00:00Z`}::timestamptz`;
  const until = sql`${`${addDays(date, 1)}T00:00:00Z`}::timestamptz`;
  return sql`
WITH da AS (
    SELECT child_id,
           COUNT(*) AS days,
           SUM(questions_asked) AS questions,
           SUM(depth_increases) AS depth_ups,
           SUM(aha_moments) AS aha,
           SUM(conversations_started) AS started,
           COUNT(*) FILTER (WHERE brain_spark_completed) AS sparks,
           SUM(cardinality(new_topics_unlocked)) AS unlocked_new
      FROM daily_activity
     WHERE activity_date BETWEEN ${windowStartDate} AND ${assessed}
       ${inKeyRange('child_id', range)}
     GROUP BY child_id
), conv AS (
    SELECT c.child_id,
           COUNT(*) AS convs,
           COUNT(*) FILTER (WHERE c.depth_reached >= 3) AS deep_convs,
           SUM(c.depth_reached) AS depth_sum,
           COUNT(*) FILTER (WHERE c.conversation_type = 'debate') AS debates,
           COUNT(*) FILTER (WHERE c.conversation_type = 'story') AS stories,
           SUM(jsonb_array_length(c.key_insights)) AS insights,
           COUNT(DISTINCT c.topic_id) AS conv_topics,
           COUNT(DISTINCT t.category) AS conv_categories
      FROM conversations c
      LEFT JOIN topics t ON t.id = c.topic_id
     WHERE c.started_at >= ${from} AND c.started_at < ${until}
       ${inKeyRange('c.child_id', range)}
     GROUP BY c.child_id
), msg AS (
    SELECT c.child_id,
           COUNT(*) AS messages,
           COUNT(*) FILTER (WHERE m.is_free_form) AS free_form,
           COUNT(*) FILTER (WHERE m.selected_choice_index IS NOT NULL) AS choices
      FROM messages m
      JOIN conversations c ON c.id = m.conversation_id
     WHERE m.created_at >= ${from} AND m.created_at < ${until}
       AND m.role = 'user'
       ${inKeyRange('c.child_id', range)}
     GROUP BY c.child_id
), active AS (
    SELECT a.child_id
      FROM (SELECT child_id FROM da UNION SELECT child_id FROM conv) AS a
      JOIN children ch ON ch.id = a.child_id AND ch.deleted_at IS NULL
), prog AS (
    SELECT p.child_id,
           COUNT(*) FILTER (WHERE p.unlocked_at IS NOT NULL) AS unlocked_topics,
           COUNT(*) FILTER (WHERE p.depth_level >= 3) AS deep_topics,
           COUNT(*) FILTER (WHERE p.mastered_at IS NOT NULL AND p.mastered_at < ${until}) AS mastered_topics,
           COUNT(DISTINCT t.category) FILTER (WHERE p.depth_level > 0) AS progress_categories
      FROM progress p
      JOIN active a ON a.child_id = p.child_id
      JOIN topics t ON t.id = p.topic_id
     WHERE p.created_at < ${until}
     GROUP BY p.child_id
), evidence AS (
    SELECT a.child_id,
           COALESCE(da.days, 0) AS days,
           COALESCE(da.questions, 0) AS questions,
           COALESCE(da.depth_ups, 0) AS depth_ups,
           COALESCE(da.aha, 0) AS aha,
           COALESCE(da.started, 0) AS started,
           COALESCE(da.sparks, 0) AS sparks,
           COALESCE(da.unlocked_new, 0) AS unlocked_new,
           COALESCE(conv.convs, 0) AS convs,
           COALESCE(conv.deep_convs, 0) AS deep_convs,
           COALESCE(conv.depth_sum, 0) AS depth_sum,
           COALESCE(conv.debates, 0) AS debates,
           COALESCE(conv.stories, 0) AS stories,
           COALESCE(conv.insights, 0) AS insights,
           COALESCE(conv.conv_topics, 0) AS conv_topics,
           COALESCE(conv.conv_categories, 0) AS conv_categories,
           COALESCE(msg.messages, 0) AS messages,
           COALESCE(msg.free_form, 0) AS free_form,
           COALESCE(msg.choices, 0) AS choices,
           COALESCE(prog.unlocked_topics, 0) AS unlocked_topics,
           COALESCE(prog.deep_topics, 0) AS deep_topics,
           COALESCE(prog.mastered_topics, 0) AS mastered_topics,
           COALESCE(prog.progress_categories, 0) AS progress_categories
      FROM active a
      LEFT JOIN da ON da.child_id = a.child_id
      LEFT JOIN conv ON conv.child_id = a.child_id
      LEFT JOIN msg ON msg.child_id = a.child_id
      LEFT JOIN prog ON prog.child_id = a.child_id
), scored AS (
    SELECT child_id,
           round(100 * (1 - exp(-(questions + 2 * depth_ups + 3 * deep_convs) / 60.0)))::int AS critical_thinking,
           round(100 * (1 - exp(-(free_form + 4 * stories + 3 * aha + insights) / 40.0)))::int AS creative_thinking,
           round(100 * (1 - exp(-(choices + 5 * debates + depth_sum) / 60.0)))::int AS logical_reasoning,
           round(100 * (1 - exp(-(3 * conv_topics + 5 * conv_categories + unlocked_topics + 2 * deep_topics
                                  + 4 * mastered_topics + 3 * progress_categories) / 40.0)))::int AS knowledge_connection,
           round(100 * (1 - exp(-(3 * days + 2 * started + 2 * sparks + 3 * unlocked_new + messages / 5.0) / 60.0)))::int
               AS curiosity_index,
           convs::int AS conversations_analyzed,
           round((1 - exp(-(convs + messages / 10.0) / 10.0))::numeric, 3)::float8 AS confidence_level
      FROM evidence
), written AS (
    INSERT INTO cognitive_metrics AS cm
           (child_id, assessment_date, critical_thinking, creative_thinking, logical_reasoning,
            knowledge_connection, curiosity_index, conversations_analyzed, confidence_level)
    SELECT child_id, ${assessed}, critical_thinking, creative_thinking, logical_reasoning,
           knowledge_connection, curiosity_index, conversations_analyzed, confidence_level
      FROM scored
    ON CONFLICT (child_id, assessment_date) DO UPDATE
       SET critical_thinking = EXCLUDED.critical_thinking,
           creative_thinking = EXCLUDED.creative_thinking,
           logical_reasoning = EXCLUDED.logical_reasoning,
           knowledge_connection = EXCLUDED.knowledge_connection,
           curiosity_index = EXCLUDED.curiosity_index,
           conversations_analyzed = EXCLUDED.conversations_analyzed,
           confidence_level = EXCLUDED.confidence_level
     WHERE (cm.critical_thinking, cm.creative_thinking, cm.logical_reasoning, cm.knowledge_connection,
            cm.curiosity_index, cm.conversations_analyzed, cm.confidence_level)
           IS DISTINCT FROM
           (EXCLUDED.critical_thinking, EXCLUDED.creative_thinking, EXCLUDED.logical_reasoning,
            EXCLUDED.knowledge_connection, EXCLUDED.curiosity_index, EXCLUDED.conversations_analyzed,
            EXCLUDED.confidence_level)
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT COUNT(*) FROM active)::int AS active_children,
       COUNT(*) FILTER (WHERE inserted)::int AS inserted,
       COUNT(*) FILTER (WHERE NOT inserted)::int AS updated
  FROM written`;
}

export async function runCognitiveScoring(args: JobArgs): Promise<JobResult> {
  const date = resolveDate(args);
  const windowStart = addDays(date, -(SCORING_WINDOW_DAYS - 1));
  return withJobLock('cognitive-scoring', async (job) => {
    const shards = await inShards(job, async (tx, range) => {
      const rows = await tx.$queryRaw<ShardRow[]>(scoreActiveChildren(date, windowStart, range));
      const r = rows[0] ?? { active_children: 0, inserted: 0, updated: 0 };
      args.onProgress?.({ step: 'cognitive_metrics', done: r.inserted + r.updated });
      return r;
    });
    const sum = (key: keyof ShardRow) => shards.reduce((total, r) => total + r[key], 0);
    return {
      rowsTouched: sum('inserted') + sum('updated'),
      counts: { metricsInserted: sum('inserted'), metricsUpdated: sum('updated') },
      details: {
        assessmentDate: date,
        windowStart,
        activeChildren: sum('active_children'),
        shards: shards.length,
      },
    };
  });
}

interface ShardRow {
  active_children: number;
  inserted: number;
  updated: number;
}
