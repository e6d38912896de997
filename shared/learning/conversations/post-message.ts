// Posting a child's answer. One read (the conversation, its recent messages, topic and spark,
// the Idempotency-Key's stored response and the child's settle facts), then the tutor is asked
// with no lock or connection held, then one guarded write statement (messages, conversation
// counters, progress, unlocks, stars, streak, freeze, badges, daily activity, parent alert,
// last_active_at and the stored response) that is its own transaction: its guard names the
// actor, takes the child's lock and only then checks that nothing it was planned from changed.
// Statements per request: the runtime's learner lookup, the read, the write. When the guard
// fails, a transaction under the child's lock reads and writes again.
import { createHash, randomUUID } from 'node:crypto';
import { config } from '../../config.ts';
import { getDb, type Queryable } from '../../db/client.ts';
import { type Sql, sql } from '../../db/sql.ts';
import { AppError } from '../../errors.ts';
import { type AlertMessage, publishAlerts } from '../alerts.ts';
import { localDate } from '../clock.ts';
import { MASTERY_DEPTH } from '../constellation.ts';
import { childActor, type Learner } from '../learner.ts';
import { assertMessageCap } from '../limits.ts';
import { ALERT_REASON, ALERT_SEVERITY } from '../safety.ts';
import { SPARK_JSON } from '../spark-bank.ts';
import { skillForTurn } from '../tutor/builtin.ts';
import type { Category } from '../types.ts';
import {
  CURRENT_PROGRESS,
  childWriteGuardSql,
  dueUnlocks,
  guardedWriteSql,
  type ProgressFact,
  runGuardedWrite,
  type SettleFactsRow,
  STARS,
  type StreakView,
  settle,
  settleFactsOf,
  settleFactsSql,
  tutorMessagesToday,
  unlockWrites,
} from './settle.ts';
import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  type ConversationView,
  insertMessagesSql,
  MAX_DEPTH,
  MESSAGE_JSON,
  type MessageJson,
  type MessageView,
  messageFromJson,
  messageView,
  type NewMessage,
  toConversation,
} from './store.ts';
import {
  type Answer,
  categoryFor,
  childAnswer,
  HISTORY_FOR_TUTOR,
  isBlocked,
  replyTo,
  type TurnSubject,
  tutorContext,
  tutorHistory,
} from './tutor-turn.ts';

/** Idle gaps longer than this do not count as time spent. */
export const MAX_SECONDS_PER_MESSAGE = 120;
/** Reading the tutor's question and answering takes at least this long, however fast the post. */
export const MIN_SECONDS_PER_MESSAGE = 10;

export type MessageInput =
  | { choiceIndex: number; text?: undefined }
  | { text: string; choiceIndex?: undefined };

export interface PostResult {
  message: MessageView;
  reply: MessageView;
  conversation: ConversationView;
  rewards: {
    starsEarned: number;
    badgesEarned: string[];
    topicsUnlocked: string[];
    streak: StreakView;
  };
  safety: { redacted: string[]; filtered: boolean };
  parentCanRead: true;
}

export interface PostOptions {
  idempotencyKey?: string | undefined;
  now: Date;
}

const IDEMPOTENT_ROUTE = 'conversations.post_message';

function requestHash(conversationId: string, input: MessageInput): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        conversationId,
        choiceIndex: input.choiceIndex ?? null,
        text: input.text ?? null,
      }),
    )
    .digest('hex');
}

interface PostStateRow extends SettleFactsRow, Partial<ConversationRow> {
  version: string | null;
  idem: { hash: string | null; response: PostResult | null } | null;
  recent: MessageJson[] | null;
  topic: (NonNullable<TurnSubject['topic']> & { id: string }) | null;
  spark: TurnSubject['spark'];
}

async function readPostState(
  db: Queryable,
  learner: Learner,
  conversationId: string,
  key: string | undefined,
  today: string,
) {
  const rows = await db.$queryRaw<PostStateRow[]>`
    SELECT ${CONVERSATION_COLUMNS}, c.xmin::text AS version,
      (SELECT json_build_object('hash', k.request_hash, 'response', k.response) FROM idempotency_keys k
        WHERE k.child_id = ${learner.childId}::uuid AND k.key = ${key ?? null}::text) AS idem,
      (SELECT json_agg(${MESSAGE_JSON} ORDER BY r.created_at DESC, r.id DESC)
         FROM conversation_messages(c.id, c.started_at - INTERVAL '1 day', ${HISTORY_FOR_TUTOR}::int) r) AS recent,
      (SELECT json_build_object('id', t.id, 'name', t.name, 'slug', t.slug, 'description', t.description,
                'category', t.category) FROM topics t WHERE t.id = c.topic_id) AS topic,
      (SELECT ${SPARK_JSON} FROM brain_sparks s LEFT JOIN topics st ON st.id = s.topic_id WHERE s.id = c.brain_spark_id) AS spark,
      ${settleFactsSql(learner.childId, learner.ageGroup, today)}
    FROM (SELECT 1) AS one
    LEFT JOIN conversations c ON c.id = ${conversationId}::uuid AND c.child_id = ${learner.childId}::uuid`;
  const row = rows[0] as PostStateRow;
  return {
    conversation: row.id ? (row as ConversationRow) : undefined,
    version: row.version,
    idem: row.idem,
    // Oldest first.
    recent: (row.recent ?? []).map(messageFromJson).reverse(),
    topic: row.topic,
    spark: row.spark,
    facts: settleFactsOf(row, learner.ageGroup),
  };
}

type PostState = Awaited<ReturnType<typeof readPostState>>;

/** The stored response of a replayed Idempotency-Key, or a 422 when it was for another request. */
function replayOf(state: PostState, hash: string): PostResult | undefined {
  if (!state.idem) return undefined;
  if (state.idem.hash !== hash) {
    throw new AppError(
      'idempotency_key_reused',
      'This Idempotency-Key was used for a different request',
    );
  }
  return state.idem.response ?? undefined;
}

function openConversation(state: PostState, learner: Learner, now: Date): ConversationRow {
  const conversation = state.conversation;
  if (!conversation) throw new AppError('not_found', 'No such conversation');
  if (conversation.endedAt) throw new AppError('conversation_ended', 'This conversation has ended');
  assertMessageCap(learner, tutorMessagesToday(state.facts), config().TUTOR_DAILY_MESSAGE_CAP, now);
  return conversation;
}

interface Turn {
  input: MessageInput;
  childText: string;
  safety: Awaited<ReturnType<typeof childAnswer>>['safety'];
  answer: Answer;
  userId: string;
  replyId: string;
  alertId: string;
}

/** Everything the answer changes, decided from `state`; one guarded statement writes it. */
function plan(
  learner: Learner,
  state: PostState,
  conversation: ConversationRow,
  turn: Turn,
  key: string | undefined,
  hash: string,
  today: string,
  now: Date,
): { write: Sql; response: PostResult; alert: AlertMessage | undefined } {
  const { safety, answer } = turn;
  const meaningful = !isBlocked(safety);
  const depthChange = meaningful ? Math.max(0, Math.min(1, answer.reply.depthChange)) : 0;
  const aha = meaningful && answer.reply.ahaMoment;
  const newDepth = Math.min(MAX_DEPTH, conversation.depthReached + depthChange);
  const depthIncrease = newDepth - conversation.depthReached;
  const skill =
    depthIncrease > 0 ? skillForTurn(learner.ageGroup, conversation.questionsAsked) : null;
  const last = state.recent.at(-1)?.createdAt;
  const gap = last ? Math.round((now.getTime() - last.getTime()) / 1000) : 0;
  const seconds = Math.min(MAX_SECONDS_PER_MESSAGE, Math.max(MIN_SECONDS_PER_MESSAGE, gap));
  const conversationId = conversation.id;
  const topicId = conversation.topicId;

  const messages: NewMessage[] = [
    {
      id: turn.userId,
      role: 'user',
      content: turn.childText,
      selectedChoiceIndex: turn.input.choiceIndex ?? null,
      isFreeForm: turn.input.text !== undefined,
      wasFiltered: safety?.filtered ?? false,
      filterReason: safety?.reason ?? null,
      createdAt: now,
    },
    {
      id: turn.replyId,
      role: 'assistant',
      content: answer.reply.text,
      choices: answer.reply.choices,
      tokensUsed: answer.reply.tokensUsed,
      processingTimeMs: answer.ms,
      wasFiltered: answer.filtered,
      filterReason: answer.filterReason,
      createdAt: new Date(now.getTime() + 1),
    },
  ];

  // Progress as it will be after this answer, for unlocks and badges.
  const facts = state.facts;
  let progress = facts.progress;
  let unlocked: string[] = [];
  let unlock: ReturnType<typeof unlockWrites> = {
    progress: undefined,
    rewards: undefined,
    unlocksCurrent: false,
  };
  if (topicId) {
    const before = progress.find((p) => p.topicId === topicId);
    const after: ProgressFact = {
      topicId,
      depth: Math.max(before?.depth ?? 0, newDepth),
      unlocked: before?.unlocked ?? false,
      questions: (before?.questions ?? 0) + 1,
      depth5: (before?.depth5 ?? false) || newDepth >= 5,
      category: (before?.category ?? state.topic?.category) as Category,
    };
    progress = [...progress.filter((p) => p.topicId !== topicId), after];
    if (depthIncrease > 0) {
      const due = dueUnlocks(facts.topics, progress);
      unlocked = due.map((t) => t.id);
      unlock = unlockWrites(learner.childId, now, due, topicId);
    }
  }

  const stars = meaningful
    ? STARS.answer + (depthIncrease > 0 ? STARS.deeperAnswer : 0) + (aha ? STARS.ahaMoment : 0)
    : 0;
  const settlement = settle(
    learner.childId,
    today,
    now,
    { ...facts, progress, answered: true },
    {
      countsForStreak: meaningful,
      stars: [
        {
          rewardId: 'answer',
          stars,
          trigger: { type: 'message', id: turn.userId },
          metadata: { conversationId, depth: newDepth, aha },
        },
      ],
      badgeTrigger: { type: 'message', id: turn.userId },
      activity: {
        timeSeconds: seconds,
        questionsAsked: 1,
        depthIncreases: depthIncrease,
        ahaMoments: aha ? 1 : 0,
        topicsExplored: topicId ? [topicId] : [],
        newTopicsUnlocked: unlocked,
      },
      alwaysTouchActivity: true,
    },
  );

  const alertKind = safety?.danger ?? (safety?.unsafe ? ('unsafe' as const) : undefined);
  const alert: AlertMessage | undefined = alertKind
    ? {
        alertId: turn.alertId,
        parentId: learner.parentId,
        childId: learner.childId,
        conversationId,
        severity: ALERT_SEVERITY[alertKind],
        reason: ALERT_REASON[alertKind],
        createdAt: now.toISOString(),
      }
    : undefined;

  const metadata = conversation.metadata;
  const response: PostResult = {
    message: messageView(messages[0] as NewMessage),
    reply: messageView(messages[1] as NewMessage),
    conversation: toConversation({
      ...conversation,
      questionsAsked: conversation.questionsAsked + 1,
      depthReached: newDepth,
      ahaMoments: conversation.ahaMoments + (aha ? 1 : 0),
      metadata: skill ? { ...metadata, skills: [...(metadata.skills ?? []), skill] } : metadata,
    }),
    rewards: {
      starsEarned: settlement.starsEarned,
      badgesEarned: settlement.badgesEarned,
      topicsUnlocked: unlocked,
      streak: settlement.streak,
    },
    safety: { redacted: safety?.redacted ?? [], filtered: safety?.filtered ?? false },
    parentCanRead: true,
  };

  const guard = childWriteGuardSql(childActor(learner), learner, today, facts, {
    conversation: { id: conversationId, version: state.version },
    ...(key ? { idempotencyKey: key } : {}),
  });
  const write = guardedWriteSql(guard, [
    key
      ? sql`INSERT INTO idempotency_keys (child_id, key, route, request_hash, status_code, response, created_at)
          SELECT ${learner.childId}::uuid, ${key}::text, ${IDEMPOTENT_ROUTE}::text, ${hash}::text, 201,
                 ${JSON.stringify(response)}::jsonb, ${now}::timestamptz FROM guard`
      : undefined,
    insertMessagesSql(conversationId, messages),
    sql`UPDATE conversations
           SET questions_asked = questions_asked + 1, depth_reached = ${newDepth}::int,
               aha_moments = aha_moments + ${aha ? 1 : 0}::int,
               metadata = CASE WHEN ${skill}::text IS NULL THEN metadata
                               ELSE jsonb_set(metadata, '{skills}', COALESCE(metadata->'skills', '[]'::jsonb) || to_jsonb(${skill}::text)) END
         WHERE id = ${conversationId}::uuid AND EXISTS (SELECT 1 FROM guard)`,
    topicId
      ? {
          name: CURRENT_PROGRESS,
          body: sql`INSERT INTO progress (child_id, topic_id, depth_level, time_spent_seconds, questions_asked,
              last_interaction, first_depth_5_at, mastered_at, unlocked_at)
            SELECT ${learner.childId}::uuid, ${topicId}::uuid, ${newDepth}::int, ${seconds}::int, 1, ${now}::timestamptz,
                   CASE WHEN ${newDepth}::int >= 5 THEN ${now}::timestamptz END,
                   CASE WHEN ${newDepth}::int >= ${MASTERY_DEPTH}::int THEN ${now}::timestamptz END,
                   CASE WHEN ${unlock.unlocksCurrent}::boolean THEN ${now}::timestamptz END
              FROM guard
            ON CONFLICT (child_id, topic_id) DO UPDATE SET
              depth_level = GREATEST(progress.depth_level, EXCLUDED.depth_level),
              time_spent_seconds = progress.time_spent_seconds + EXCLUDED.time_spent_seconds,
              questions_asked = progress.questions_asked + 1,
              last_interaction = EXCLUDED.last_interaction,
              first_depth_5_at = COALESCE(progress.first_depth_5_at, EXCLUDED.first_depth_5_at),
              mastered_at = COALESCE(progress.mastered_at, EXCLUDED.mastered_at),
              unlocked_at = COALESCE(progress.unlocked_at, EXCLUDED.unlocked_at)
            RETURNING topic_id, unlocked_at = ${now}::timestamptz AS unlocked_now`,
        }
      : undefined,
    unlock.progress,
    unlock.rewards, // reads the two above
    ...settlement.writes,
    alert
      ? sql`INSERT INTO parent_alerts (id, parent_id, child_id, conversation_id, message_id, message_created_at,
              severity, reason, created_at)
            SELECT ${alert.alertId}::uuid, ${learner.parentId}::uuid, ${learner.childId}::uuid, ${conversationId}::uuid,
                   ${turn.userId}::uuid, ${now}::timestamptz, ${alert.severity}::text, ${alert.reason}::text,
                   ${now}::timestamptz FROM guard`
      : undefined,
    sql`UPDATE children SET last_active_at = ${now}::timestamptz
         WHERE id = ${learner.childId}::uuid AND EXISTS (SELECT 1 FROM guard)
           AND (last_active_at IS NULL OR last_active_at < ${now}::timestamptz - INTERVAL '5 minutes')`,
  ]);
  return { write, response, alert };
}

export async function postMessage(
  learner: Learner,
  conversationId: string,
  input: MessageInput,
  options: PostOptions,
): Promise<PostResult & { replayed: boolean }> {
  const { now } = options;
  const key = options.idempotencyKey;
  const today = localDate(learner.timezone, now);
  const hash = requestHash(conversationId, input);
  const state = await readPostState(await getDb(), learner, conversationId, key, today);
  const stored = replayOf(state, hash);
  if (stored) return { ...stored, replayed: true };
  const conversation = openConversation(state, learner, now);

  const offered = state.recent.findLast((m) => m.role === 'assistant')?.choices;
  const { text: childText, safety } = await childAnswer(input, offered);
  const subject: TurnSubject = { topic: state.topic, spark: state.spark };
  const ctx = tutorContext(
    learner,
    conversation.conversationType,
    conversation.metadata.category ?? categoryFor(conversation.conversationType, subject),
    subject,
    {
      turn: conversation.questionsAsked + 1,
      depth: conversation.depthReached,
      childMessage: {
        text: childText,
        isFreeForm: input.text !== undefined,
        choiceIndex: input.choiceIndex ?? null,
      },
      history: tutorHistory(state.recent),
    },
  );
  const turn: Turn = {
    input,
    childText,
    safety,
    answer: await replyTo(learner, ctx, safety, conversation.questionsAsked),
    userId: randomUUID(),
    replyId: randomUUID(),
    alertId: randomUUID(),
  };

  const planned = (p: ReturnType<typeof plan>) => ({
    write: p.write,
    result: { ...p.response, replayed: false, alert: p.alert },
  });
  const { alert, ...result } = await runGuardedWrite(
    childActor(learner),
    learner,
    planned(plan(learner, state, conversation, turn, key, hash, today, now)),
    async (tx) => {
      // Another write for this child came first: read again under the lock, plan again.
      const fresh = await readPostState(tx, learner, conversationId, key, today);
      const replay = replayOf(fresh, hash);
      if (replay) return { result: { ...replay, replayed: true, alert: undefined } };
      const current = openConversation(fresh, learner, now);
      return planned(plan(learner, fresh, current, turn, key, hash, today, now));
    },
  );
  if (alert) await publishAlerts([alert]);
  return result;
}
