// Starting a conversation: one read (today's spark for a spark conversation, the topic, the
// child's settle facts), the tutor's opener with no lock held, then one guarded write statement
// whose guard takes the child's lock (unlocks due, the conversation, the opener, progress,
// today's activity). The runtime's learner lookup, the read, the write: 3 statements.
import { randomUUID } from 'node:crypto';
import { config } from '../../config.ts';
import { getDb, type Queryable } from '../../db/client.ts';
import { sql } from '../../db/sql.ts';
import { AppError } from '../../errors.ts';
import { localDate } from '../clock.ts';
import { isUnlocked, isVisibleTo } from '../constellation.ts';
import { childActor, type Learner } from '../learner.ts';
import { assertMessageCap } from '../limits.ts';
import { type BrainSpark, sparkOnSql, withTodaysSpark } from '../spark-bank.ts';
import { tutorFor } from '../tutor/index.ts';
import { type Category, type ConversationType, PARENT_CAN_READ_NOTICE } from '../types.ts';
import {
  CURRENT_PROGRESS,
  childWriteGuardSql,
  dueUnlocks,
  guardedWriteSql,
  type PlannedWrite,
  runGuardedWrite,
  type SettleFactsRow,
  settle,
  settleFactsOf,
  settleFactsSql,
  type TopicFact,
  tutorMessagesToday,
  unlockWrites,
} from './settle.ts';
import {
  type ConversationView,
  insertMessagesSql,
  type MessageView,
  messageView,
  type NewMessage,
  toConversation,
} from './store.ts';
import { askTutor, categoryFor, type TurnSubject, tutorContext } from './tutor-turn.ts';

export interface StartInput {
  type: ConversationType;
  topicId?: string | undefined;
}

export interface StartResult {
  conversation: ConversationView;
  message: MessageView;
  parentCanRead: true;
  notice: string;
}

type TopicJson = TopicFact & { name: string; description: string | null };

interface StartStateRow extends SettleFactsRow {
  spark: BrainSpark | null;
  topic: TopicJson | null;
}

async function readStartState(db: Queryable, learner: Learner, input: StartInput, today: string) {
  const isSpark = input.type === 'brain_spark';
  const topicId = isSpark
    ? sql`(SELECT s.topic_id FROM brain_sparks s WHERE s.spark_date = ${today}::date AND s.age_group = ${learner.ageGroup}::text)`
    : sql`${input.topicId ?? null}::uuid`;
  const rows = await db.$queryRaw<StartStateRow[]>`
    SELECT ${isSpark ? sparkOnSql(learner.ageGroup, today) : sql`NULL::json`} AS spark,
      (SELECT json_build_object('id', t.id, 'slug', t.slug, 'name', t.name, 'description', t.description,
                'category', t.category, 'prerequisites', t.prerequisites, 'prerequisiteDepth', t.prerequisite_depth,
                'ageGroups', t.age_groups, 'minAgeGroup', t.min_age_group)
         FROM topics t WHERE t.id = ${topicId}) AS topic,
      ${settleFactsSql(learner.childId, learner.ageGroup, today)}`;
  const row = rows[0] as StartStateRow;
  return {
    spark: row.spark,
    topic: row.topic ?? undefined,
    facts: settleFactsOf(row, learner.ageGroup),
  };
}

type StartState = Awaited<ReturnType<typeof readStartState>>;

/** The start's preconditions: the topic is the child's to see and unlocked; the day's cap. */
function check(learner: Learner, input: StartInput, state: StartState, now: Date): void {
  const topic = state.topic;
  if (input.type !== 'brain_spark' && topic) {
    if (!isVisibleTo(topic, learner.ageGroup)) throw new AppError('not_found', 'No such topic');
    const depth = new Map(state.facts.progress.map((p) => [p.topicId, p.depth]));
    if (!isUnlocked(topic, depth)) {
      throw new AppError(
        'topic_locked',
        'This star is still locked. Explore its neighbours first!',
        {
          details: {
            prerequisites: topic.prerequisites,
            prerequisiteDepth: topic.prerequisiteDepth,
          },
        },
      );
    }
  }
  assertMessageCap(learner, tutorMessagesToday(state.facts), config().TUTOR_DAILY_MESSAGE_CAP, now);
}

export async function startConversation(
  learner: Learner,
  input: StartInput,
  now: Date,
): Promise<StartResult> {
  if (input.type === 'exploration' && !input.topicId) {
    throw new AppError('validation_failed', 'An exploration needs a topic', {
      fieldErrors: [{ path: 'body.topicId', message: 'Required for an exploration' }],
    });
  }
  const today = localDate(learner.timezone, now);
  const db = await getDb();
  const state: StartState =
    input.type === 'brain_spark'
      ? await withTodaysSpark(db, learner, now, () => readStartState(db, learner, input, today))
      : await readStartState(db, learner, input, today);
  if (input.type !== 'brain_spark' && input.topicId && !state.topic)
    throw new AppError('not_found', 'No such topic');
  check(learner, input, state, now);

  const topic = state.topic;
  const spark = state.spark ?? null;
  const subject: TurnSubject = {
    topic: topic
      ? {
          name: topic.name,
          slug: topic.slug,
          description: topic.description,
          category: topic.category,
        }
      : null,
    spark,
  };
  const category: Category = categoryFor(input.type, subject);
  const tutor = tutorFor(learner);
  const opener = await askTutor(
    tutor,
    tutorContext(learner, input.type, category, subject, {
      turn: 0,
      depth: 0,
      childMessage: null,
      history: [],
    }),
  );
  const conversationId = randomUUID();
  const message: NewMessage = {
    id: randomUUID(),
    role: 'assistant',
    content: opener.reply.text,
    choices: opener.reply.choices,
    tokensUsed: opener.reply.tokensUsed,
    processingTimeMs: opener.ms,
    wasFiltered: opener.filtered,
    filterReason: opener.filterReason,
    createdAt: now,
  };
  const metadata = { category, tutor: tutor.name, skills: [] as string[] };

  const plan = (current: StartState): PlannedWrite<StartResult> => {
    const due = dueUnlocks(current.facts.topics, current.facts.progress);
    const unlock = unlockWrites(learner.childId, now, due, topic?.id ?? null);
    const settlement = settle(learner.childId, today, now, current.facts, {
      countsForStreak: false,
      stars: [],
      badgeTrigger: { type: 'conversation', id: conversationId },
      activity: {
        sessions: 1,
        conversationsStarted: 1,
        topicsExplored: topic ? [topic.id] : [],
      },
      alwaysTouchActivity: true,
    });
    const guard = childWriteGuardSql(childActor(learner), learner, today, current.facts);
    return {
      write: guardedWriteSql(guard, [
        sql`INSERT INTO conversations (id, child_id, topic_id, brain_spark_id, conversation_type, started_at, metadata)
            SELECT ${conversationId}::uuid, ${learner.childId}::uuid, ${topic?.id ?? null}::uuid,
                   ${spark?.id ?? null}::uuid, ${input.type}::text, ${now}::timestamptz,
                   ${JSON.stringify(metadata)}::jsonb FROM guard`,
        insertMessagesSql(conversationId, [message]),
        unlock.progress,
        topic
          ? {
              name: CURRENT_PROGRESS,
              body: sql`INSERT INTO progress (child_id, topic_id, conversations_count, last_interaction, unlocked_at)
                SELECT ${learner.childId}::uuid, ${topic.id}::uuid, 1, ${now}::timestamptz,
                       CASE WHEN ${unlock.unlocksCurrent}::boolean THEN ${now}::timestamptz END FROM guard
                ON CONFLICT (child_id, topic_id) DO UPDATE
                  SET conversations_count = progress.conversations_count + 1,
                      last_interaction = EXCLUDED.last_interaction,
                      unlocked_at = COALESCE(progress.unlocked_at, EXCLUDED.unlocked_at)
                RETURNING topic_id, unlocked_at = ${now}::timestamptz AS unlocked_now`,
            }
          : undefined,
        unlock.rewards, // reads the two above
        ...settlement.writes,
      ]),
      result: {
        conversation: toConversation({
          id: conversationId,
          childId: learner.childId,
          topicId: topic?.id ?? null,
          brainSparkId: spark?.id ?? null,
          conversationType: input.type,
          startedAt: now,
          endedAt: null,
          depthReached: 0,
          questionsAsked: 0,
          ahaMoments: 0,
          summary: null,
          keyInsights: [],
          metadata,
        }),
        message: messageView(message),
        parentCanRead: true as const,
        notice: PARENT_CAN_READ_NOTICE,
      },
    };
  };
  return runGuardedWrite(childActor(learner), learner, plan(state), async (tx) => {
    // Another write for this child came first: read again, under the lock now.
    const fresh = await readStartState(tx, learner, input, today);
    check(learner, input, fresh, now);
    return plan(fresh);
  });
}
