// Today's brain spark for a child (by the family's local date) and completing it: the state
// machine behind POST /today/complete (start the spark conversation, wait for an answer, end
// it, which settles the spark's stars and streak).
import { getDb } from '../db/client.ts';
import { localDate } from './clock.ts';
import { type EndResult, endConversation } from './conversations/end.ts';
import { type StartResult, startConversation } from './conversations/start.ts';
import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  type ConversationView,
  toConversation,
} from './conversations/store.ts';
import type { Learner } from './learner.ts';
import { type BrainSpark, sparkOnSql, withTodaysSpark } from './spark-bank.ts';

export type { BrainSpark } from './spark-bank.ts';

export interface SparkToday {
  spark: BrainSpark;
  localDate: string;
  completedToday: boolean;
  openConversationId: string | null;
}

/** Today's spark, whether it is done today and its open conversation, in one statement. */
async function readToday(learner: Learner, now: Date) {
  const db = await getDb();
  const today = localDate(learner.timezone, now);
  return withTodaysSpark(db, learner, now, async () => {
    const rows = await db.$queryRaw<
      Array<{
        spark: BrainSpark | null;
        done: boolean;
        // row_to_json: the instants arrive as strings.
        open: (Omit<ConversationRow, 'startedAt' | 'endedAt'> & { startedAt: string }) | null;
      }>
    >`
      WITH spark AS (SELECT ${sparkOnSql(learner.ageGroup, today)} AS spark)
      SELECT spark.spark,
             COALESCE((SELECT d.brain_spark_completed FROM daily_activity d
                        WHERE d.child_id = ${learner.childId}::uuid AND d.activity_date = ${today}::date), FALSE) AS done,
             (SELECT row_to_json(o) FROM (
                SELECT ${CONVERSATION_COLUMNS} FROM conversations c
                 WHERE c.child_id = ${learner.childId}::uuid AND c.brain_spark_id = (spark.spark->>'id')::uuid
                   AND c.conversation_type = 'brain_spark' AND c.ended_at IS NULL
                 ORDER BY c.started_at DESC LIMIT 1) o) AS open
        FROM spark`;
    const row = rows[0];
    const open: ConversationView | undefined = row?.open
      ? toConversation({ ...row.open, startedAt: new Date(row.open.startedAt), endedAt: null })
      : undefined;
    return { spark: row?.spark ?? null, done: row?.done ?? false, open };
  });
}

export async function sparkToday(learner: Learner, now: Date): Promise<SparkToday> {
  const { spark, done, open } = await readToday(learner, now);
  return {
    spark,
    localDate: spark.sparkDate,
    completedToday: done,
    openConversationId: open?.id ?? null,
  };
}

export type CompleteResult =
  | ({ action: 'started'; spark: BrainSpark } & StartResult)
  | { action: 'in_progress'; spark: BrainSpark; conversation: ConversationView; hint: string }
  | ({ action: 'completed'; spark: BrainSpark } & EndResult);

/** No open spark conversation: start one; open but unanswered: wait; answered: end it. */
export async function completeSpark(
  learner: Learner,
  actor: string,
  now: Date,
): Promise<CompleteResult> {
  const { spark, open } = await readToday(learner, now);
  if (!open) {
    const started = await startConversation(learner, { type: 'brain_spark' }, now);
    return { action: 'started', spark, ...started };
  }
  if (open.questionsAsked === 0) {
    return {
      action: 'in_progress',
      spark,
      conversation: open,
      hint: 'Answer the spark first, then complete it.',
    };
  }
  const ended = await endConversation(learner, open.id, actor, now);
  return { action: 'completed', spark, ...ended };
}
