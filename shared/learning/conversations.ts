// Conversations with the tutor. Posting a message is one transaction under the child's lock:
// message rows, conversation counters, progress, unlocks, daily_activity for the family's local
// date, the streak (once per local day), stars, badges and any parent alert. The tutor is asked
// before the transaction so no lock or connection is held while a model thinks.
import { createHash } from 'node:crypto';
import { config } from '../config.ts';
import { AppError } from '../errors.ts';
import { addDailyActivity, markBrainSparkCompleted } from './activity.ts';
import { type AlertMessage, insertAlert, publishAlerts } from './alerts.ts';
import { type BrainSpark, sparkById, sparkCategory, todaysSpark } from './brain-sparks.ts';
import { localDate } from './clock.ts';
import {
  isUnlocked,
  isVisibleTo,
  MASTERY_DEPTH,
  syncUnlocks,
  type TopicRow,
  topicById,
} from './constellation.ts';
import { type Queryable, queryRows, readDb, withChildLock } from './db.ts';
import { childActor, type Learner } from './learner.ts';
import { assertMessageCap, todayUsage, tutorMessagesToday } from './limits.ts';
import {
  awardMilestoneBadges,
  CONVERSATION_COMPLETE_ANSWERS,
  grantFreeze,
  grantStars,
  STARS,
} from './rewards.ts';
import {
  ALERT_REASON,
  ALERT_SEVERITY,
  SAFE_CONTINUE_CHOICES,
  type SafetyResult,
  safeReplyFor,
  scanText,
  tutorReplyProblems,
} from './safety.ts';
import { recordStreakActivity } from './streaks.ts';
import { closingLine, skillForTurn } from './tutor/builtin.ts';
import {
  builtinTutor,
  type Tutor,
  type TutorContext,
  type TutorReply,
  tutorFor,
} from './tutor/index.ts';
import { type Category, type ConversationType, PARENT_CAN_READ_NOTICE } from './types.ts';

export const MAX_DEPTH = 10;
/** Idle gaps longer than this do not count as time spent. */
export const MAX_SECONDS_PER_MESSAGE = 120;
/** Reading the tutor's question and answering takes at least this long, however fast the post. */
export const MIN_SECONDS_PER_MESSAGE = 10;
const HISTORY_FOR_TUTOR = 20;

export interface ConversationView {
  id: string;
  type: ConversationType;
  topicId: string | null;
  brainSparkId: string | null;
  startedAt: string;
  endedAt: string | null;
  depthReached: number;
  questionsAsked: number;
  ahaMoments: number;
  summary: string | null;
  keyInsights: string[];
}

export interface MessageView {
  id: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  choices: string[] | null;
  selectedChoiceIndex: number | null;
  isFreeForm: boolean;
  wasFiltered: boolean;
  filterReason: string | null;
  createdAt: string;
}

interface ConversationRow {
  id: string;
  child_id: string;
  topic_id: string | null;
  brain_spark_id: string | null;
  conversation_type: ConversationType;
  started_at: Date;
  ended_at: Date | null;
  depth_reached: number;
  questions_asked: number;
  aha_moments: number;
  summary: string | null;
  key_insights: string[];
  metadata: { category?: Category; skills?: string[] };
}

interface MessageRow {
  id: string;
  role: MessageView['role'];
  content: string;
  choices: string[] | null;
  selected_choice_index: number | null;
  is_free_form: boolean;
  was_filtered: boolean;
  filter_reason: string | null;
  created_at: Date;
}

const CONVERSATION_COLUMNS = `id, child_id, topic_id, brain_spark_id, conversation_type, started_at, ended_at,
  depth_reached, questions_asked, aha_moments, summary, key_insights, metadata`;
const MESSAGE_COLUMNS = `id, role, content, choices, selected_choice_index, is_free_form, was_filtered,
  filter_reason, created_at`;

const toConversation = (r: ConversationRow): ConversationView => ({
  id: r.id,
  type: r.conversation_type,
  topicId: r.topic_id,
  brainSparkId: r.brain_spark_id,
  startedAt: r.started_at.toISOString(),
  endedAt: r.ended_at?.toISOString() ?? null,
  depthReached: r.depth_reached,
  questionsAsked: r.questions_asked,
  ahaMoments: r.aha_moments,
  summary: r.summary,
  keyInsights: r.key_insights,
});

const toMessage = (r: MessageRow): MessageView => ({
  id: r.id,
  role: r.role,
  content: r.content,
  choices: r.choices,
  selectedChoiceIndex: r.selected_choice_index,
  isFreeForm: r.is_free_form,
  wasFiltered: r.was_filtered,
  filterReason: r.filter_reason,
  createdAt: r.created_at.toISOString(),
});

async function insertMessage(
  tx: Queryable,
  conversationId: string,
  m: {
    role: 'user' | 'assistant';
    content: string;
    choices?: string[] | null;
    selectedChoiceIndex?: number | null;
    isFreeForm?: boolean;
    tokensUsed?: number | null;
    processingTimeMs?: number | null;
    wasFiltered?: boolean;
    filterReason?: string | null;
    createdAt: Date;
  },
): Promise<MessageRow> {
  const { rows } = await tx.query<MessageRow>(
    `INSERT INTO messages (conversation_id, role, content, choices, selected_choice_index, is_free_form,
        tokens_used, processing_time_ms, was_filtered, filter_reason, created_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11)
     RETURNING ${MESSAGE_COLUMNS}`,
    [
      conversationId,
      m.role,
      m.content,
      m.choices ? JSON.stringify(m.choices) : null,
      m.selectedChoiceIndex ?? null,
      m.isFreeForm ?? false,
      m.tokensUsed ?? null,
      m.processingTimeMs ?? null,
      m.wasFiltered ?? false,
      m.filterReason ?? null,
      m.createdAt,
    ],
  );
  return rows[0] as MessageRow;
}

/** Asks the tutor, then checks its reply like a child's text; an unsafe reply is replaced. */
async function askTutor(
  tutor: Tutor,
  ctx: TutorContext,
): Promise<{ reply: TutorReply; ms: number; filtered: boolean; filterReason: string | null }> {
  const started = performance.now();
  let reply = await tutor.reply(ctx);
  const problems = await tutorReplyProblems([reply.text, ...reply.choices]);
  if (problems) reply = await builtinTutor.reply(ctx);
  return {
    reply,
    ms: Math.round(performance.now() - started),
    filtered: problems !== undefined,
    filterReason: problems ? `tutor_reply:${problems}` : null,
  };
}

function categoryFor(
  type: ConversationType,
  topic: TopicRow | undefined,
  spark: BrainSpark | undefined,
): Category {
  if (spark) return sparkCategory(spark);
  if (topic) return topic.category;
  return type === 'debate' ? 'philosophy' : 'creative';
}

async function unlockedDepths(db: Queryable, childId: string): Promise<Map<string, number>> {
  const { rows } = await db.query<{ topic_id: string; depth_level: number }>(
    'SELECT topic_id, depth_level FROM progress WHERE child_id = $1',
    [childId],
  );
  return new Map(rows.map((r) => [r.topic_id, r.depth_level]));
}

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

export async function startConversation(
  learner: Learner,
  input: StartInput,
  now: Date,
): Promise<StartResult> {
  const pool = await readDb();
  let topic: TopicRow | undefined;
  let spark: BrainSpark | undefined;
  if (input.type === 'brain_spark') {
    spark = await todaysSpark(pool, learner, now);
    if (spark.topicId) topic = await topicById(pool, spark.topicId);
  } else if (input.topicId) {
    topic = await topicById(pool, input.topicId);
    if (!topic || !isVisibleTo(topic, learner.ageGroup))
      throw new AppError('not_found', 'No such topic');
  } else if (input.type === 'exploration') {
    throw new AppError('validation_failed', 'An exploration needs a topic', {
      fieldErrors: [{ path: 'body.topicId', message: 'Required for an exploration' }],
    });
  }
  const checkUnlocked = async (db: Queryable) => {
    if (
      topic &&
      input.type !== 'brain_spark' &&
      !isUnlocked(topic, await unlockedDepths(db, learner.childId))
    ) {
      throw new AppError(
        'topic_locked',
        'This star is still locked. Explore its neighbours first!',
        {
          details: {
            prerequisites: topic.prerequisites,
            prerequisiteDepth: topic.prerequisite_depth,
          },
        },
      );
    }
  };
  await checkUnlocked(pool);
  const cap = config().TUTOR_DAILY_MESSAGE_CAP;
  assertMessageCap(learner, tutorMessagesToday(await todayUsage(pool, learner, now)), cap, now);
  const category = categoryFor(input.type, topic, spark);
  const ctx: TutorContext = {
    ageGroup: learner.ageGroup,
    category,
    conversationType: input.type,
    topic: topic ? { name: topic.name, slug: topic.slug, description: topic.description } : null,
    brainSpark: spark
      ? { question: spark.question, hints: spark.hints, followUps: spark.followUps }
      : null,
    turn: 0,
    depth: 0,
    childMessage: null,
    history: [],
  };
  const tutor = tutorFor(learner);
  const opener = await askTutor(tutor, ctx);
  const today = localDate(learner.timezone, now);

  return withChildLock(learner.childId, childActor(learner), async (tx) => {
    await syncUnlocks(tx, learner, now);
    await checkUnlocked(tx);
    assertMessageCap(learner, tutorMessagesToday(await todayUsage(tx, learner, now)), cap, now);
    const { rows } = await tx.query<ConversationRow>(
      `INSERT INTO conversations (child_id, topic_id, brain_spark_id, conversation_type, started_at, metadata)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING ${CONVERSATION_COLUMNS}`,
      [
        learner.childId,
        topic?.id ?? null,
        spark?.id ?? null,
        input.type,
        now,
        JSON.stringify({ category, tutor: tutor.name, skills: [] }),
      ],
    );
    const conversation = rows[0] as ConversationRow;
    const message = await insertMessage(tx, conversation.id, {
      role: 'assistant',
      content: opener.reply.text,
      choices: opener.reply.choices,
      tokensUsed: opener.reply.tokensUsed,
      processingTimeMs: opener.ms,
      wasFiltered: opener.filtered,
      filterReason: opener.filterReason,
      createdAt: now,
    });
    if (topic) {
      await tx.query(
        `INSERT INTO progress (child_id, topic_id, conversations_count, last_interaction)
         VALUES ($1, $2, 1, $3)
         ON CONFLICT (child_id, topic_id) DO UPDATE
           SET conversations_count = progress.conversations_count + 1, last_interaction = EXCLUDED.last_interaction`,
        [learner.childId, topic.id, now],
      );
    }
    await addDailyActivity(tx, learner.childId, today, {
      sessions: 1,
      conversationsStarted: 1,
      topicsExplored: topic ? [topic.id] : [],
    });
    return {
      conversation: toConversation(conversation),
      message: toMessage(message),
      parentCanRead: true as const,
      notice: PARENT_CAN_READ_NOTICE,
    };
  });
}

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
    streak: {
      current: number;
      longest: number;
      countedToday: boolean;
      freezes: number;
      freezeEarned: boolean;
    };
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

async function storedResponse(
  db: Queryable,
  childId: string,
  key: string,
  hash: string,
): Promise<PostResult | undefined> {
  const { rows } = await db.query<{ request_hash: string | null; response: PostResult | null }>(
    'SELECT request_hash, response FROM idempotency_keys WHERE child_id = $1 AND key = $2',
    [childId, key],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.request_hash !== hash) {
    throw new AppError(
      'idempotency_key_reused',
      'This Idempotency-Key was used for a different request',
    );
  }
  return row.response ?? undefined;
}

async function loadConversation(
  db: Queryable,
  childId: string,
  conversationId: string,
  lock = false,
): Promise<ConversationRow> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND child_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [conversationId, childId],
  );
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'No such conversation');
  return row;
}

/**
 * messages is partitioned by month: bounding created_at by the conversation's start lets the
 * planner skip every older partition (a day of slack covers clock skew between instances).
 */
const messagesSince = (startedAt: Date) => new Date(startedAt.getTime() - 86_400_000);

async function recentMessages(
  db: Queryable,
  conversation: Pick<ConversationRow, 'id' | 'started_at'>,
  limit: number,
): Promise<MessageRow[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND created_at >= $3
      ORDER BY created_at DESC, id DESC LIMIT $2`,
    [conversation.id, limit, messagesSince(conversation.started_at)],
  );
  return rows.reverse();
}

const BLOCKED_REASON = /(?:^|,)(?:profanity|unsafe_content|danger_\w+)(?:,|$)/;

/** What the tutor may see: blocked answers and the safe replies to them never leave again. */
function tutorHistory(messages: MessageRow[]): TutorContext['history'] {
  const turns: TutorContext['history'] = [];
  let skipReply = false;
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'user' && m.filter_reason && BLOCKED_REASON.test(m.filter_reason)) {
      skipReply = true;
      continue;
    }
    if (m.role === 'assistant' && skipReply) {
      skipReply = false;
      continue;
    }
    skipReply = false;
    turns.push({ role: m.role, content: m.content });
  }
  return turns;
}

export async function postMessage(
  learner: Learner,
  conversationId: string,
  input: MessageInput,
  options: PostOptions,
): Promise<PostResult & { replayed: boolean }> {
  const { now } = options;
  const pool = await readDb();
  const hash = requestHash(conversationId, input);
  if (options.idempotencyKey) {
    const stored = await storedResponse(pool, learner.childId, options.idempotencyKey, hash);
    if (stored) return { ...stored, replayed: true };
  }
  const conversation = await loadConversation(pool, learner.childId, conversationId);
  if (conversation.ended_at)
    throw new AppError('conversation_ended', 'This conversation has ended');
  const cap = config().TUTOR_DAILY_MESSAGE_CAP;
  assertMessageCap(learner, tutorMessagesToday(await todayUsage(pool, learner, now)), cap, now);

  const history = await recentMessages(pool, conversation, HISTORY_FOR_TUTOR);
  const lastAssistant = [...history].reverse().find((m) => m.role === 'assistant');
  let childText: string;
  let safety: SafetyResult | undefined;
  if (input.choiceIndex !== undefined) {
    const chosen = lastAssistant?.choices?.[input.choiceIndex];
    if (chosen === undefined) {
      throw new AppError('validation_failed', 'Pick one of the offered choices', {
        fieldErrors: [{ path: 'body.choiceIndex', message: 'No such choice' }],
      });
    }
    childText = chosen;
  } else {
    safety = await scanText(input.text ?? '');
    childText = safety.text;
  }
  const topic = conversation.topic_id ? await topicById(pool, conversation.topic_id) : undefined;
  const spark = conversation.brain_spark_id
    ? await sparkById(pool, conversation.brain_spark_id)
    : undefined;
  const category =
    conversation.metadata.category ?? categoryFor(conversation.conversation_type, topic, spark);
  const turn = conversation.questions_asked + 1;
  const ctx: TutorContext = {
    ageGroup: learner.ageGroup,
    category,
    conversationType: conversation.conversation_type,
    topic: topic ? { name: topic.name, slug: topic.slug, description: topic.description } : null,
    brainSpark: spark
      ? { question: spark.question, hints: spark.hints, followUps: spark.followUps }
      : null,
    turn,
    depth: conversation.depth_reached,
    childMessage: {
      text: childText,
      isFreeForm: input.text !== undefined,
      choiceIndex: input.choiceIndex ?? null,
    },
    history: tutorHistory(history),
  };

  // A danger signal or unsafe/profane text never reaches the tutor: the child gets a safe,
  // kind reply and the exchange does not count as learning.
  const blocked =
    safety?.danger !== undefined || safety?.unsafe === true || safety?.profanity === true;
  let answer: { reply: TutorReply; ms: number; filtered: boolean; filterReason: string | null };
  if (safety?.danger) {
    answer = {
      reply: {
        text: safeReplyFor(safety.danger, learner.ageGroup),
        choices: SAFE_CONTINUE_CHOICES[learner.ageGroup],
        depthChange: 0,
        ahaMoment: false,
        tokensUsed: 0,
      },
      ms: 0,
      filtered: false,
      filterReason: null,
    };
  } else if (blocked) {
    const redirect = await builtinTutor.reply({
      ...ctx,
      childMessage: null,
      turn: conversation.questions_asked,
    });
    const kindWords = "Let's use kind, safe words here.";
    answer = {
      reply: {
        ...redirect,
        text: `${kindWords} ${redirect.text}`,
        depthChange: 0,
        ahaMoment: false,
      },
      ms: 0,
      filtered: false,
      filterReason: null,
    };
  } else {
    answer = await askTutor(tutorFor(learner), ctx);
  }
  const meaningful = !blocked;
  const depthChange = meaningful ? Math.max(0, Math.min(1, answer.reply.depthChange)) : 0;
  const aha = meaningful && answer.reply.ahaMoment;
  const today = localDate(learner.timezone, now);
  const alerts: AlertMessage[] = [];

  const result = await withChildLock(learner.childId, childActor(learner), async (tx) => {
    if (options.idempotencyKey) {
      const inserted = await tx.query(
        `INSERT INTO idempotency_keys (child_id, key, route, request_hash, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (child_id, key) DO NOTHING`,
        [learner.childId, options.idempotencyKey, IDEMPOTENT_ROUTE, hash, now],
      );
      if ((inserted.rowCount ?? 0) === 0) {
        const stored = await storedResponse(tx, learner.childId, options.idempotencyKey, hash);
        if (stored) return { ...stored, replayed: true };
      }
    }
    const current = await loadConversation(tx, learner.childId, conversationId, true);
    if (current.ended_at) throw new AppError('conversation_ended', 'This conversation has ended');
    assertMessageCap(learner, tutorMessagesToday(await todayUsage(tx, learner, now)), cap, now);

    const { rows: lastRows } = await tx.query<{ last: Date | null }>(
      'SELECT MAX(created_at) AS last FROM messages WHERE conversation_id = $1 AND created_at >= $2',
      [conversationId, messagesSince(current.started_at)],
    );
    const last = lastRows[0]?.last;
    const gap = last ? Math.round((now.getTime() - last.getTime()) / 1000) : 0;
    const seconds = Math.min(MAX_SECONDS_PER_MESSAGE, Math.max(MIN_SECONDS_PER_MESSAGE, gap));

    const userMessage = await insertMessage(tx, conversationId, {
      role: 'user',
      content: childText,
      selectedChoiceIndex: input.choiceIndex ?? null,
      isFreeForm: input.text !== undefined,
      wasFiltered: safety?.filtered ?? false,
      filterReason: safety?.reason ?? null,
      createdAt: now,
    });
    const replyMessage = await insertMessage(tx, conversationId, {
      role: 'assistant',
      content: answer.reply.text,
      choices: answer.reply.choices,
      tokensUsed: answer.reply.tokensUsed,
      processingTimeMs: answer.ms,
      wasFiltered: answer.filtered,
      filterReason: answer.filterReason,
      createdAt: new Date(now.getTime() + 1),
    });

    const newDepth = Math.min(MAX_DEPTH, current.depth_reached + depthChange);
    const depthIncrease = newDepth - current.depth_reached;
    const skill =
      depthIncrease > 0 ? skillForTurn(learner.ageGroup, current.questions_asked) : null;
    const { rows: updatedRows } = await tx.query<ConversationRow>(
      `UPDATE conversations
          SET questions_asked = questions_asked + 1, depth_reached = $2, aha_moments = aha_moments + $3,
              metadata = CASE WHEN $4::text IS NULL THEN metadata
                              ELSE jsonb_set(metadata, '{skills}', COALESCE(metadata->'skills', '[]'::jsonb) || to_jsonb($4::text)) END
        WHERE id = $1 RETURNING ${CONVERSATION_COLUMNS}`,
      [conversationId, newDepth, aha ? 1 : 0, skill],
    );
    const updated = updatedRows[0] as ConversationRow;

    let unlocked: string[] = [];
    if (current.topic_id) {
      await tx.query(
        `INSERT INTO progress (child_id, topic_id, depth_level, time_spent_seconds, questions_asked,
            last_interaction, first_depth_5_at, mastered_at)
         VALUES ($1, $2, $3, $4, 1, $5, CASE WHEN $3 >= 5 THEN $5::timestamptz END,
                 CASE WHEN $3 >= $6 THEN $5::timestamptz END)
         ON CONFLICT (child_id, topic_id) DO UPDATE SET
            depth_level = GREATEST(progress.depth_level, EXCLUDED.depth_level),
            time_spent_seconds = progress.time_spent_seconds + EXCLUDED.time_spent_seconds,
            questions_asked = progress.questions_asked + 1,
            last_interaction = EXCLUDED.last_interaction,
            first_depth_5_at = COALESCE(progress.first_depth_5_at, EXCLUDED.first_depth_5_at),
            mastered_at = COALESCE(progress.mastered_at, EXCLUDED.mastered_at)`,
        [learner.childId, current.topic_id, newDepth, seconds, now, MASTERY_DEPTH],
      );
      if (depthIncrease > 0) unlocked = await syncUnlocks(tx, learner, now);
    }

    const stars = meaningful
      ? STARS.answer + (depthIncrease > 0 ? STARS.deeperAnswer : 0) + (aha ? STARS.ahaMoment : 0)
      : 0;
    await grantStars(
      tx,
      learner.childId,
      'answer',
      stars,
      { type: 'message', id: userMessage.id },
      now,
      {
        conversationId,
        depth: newDepth,
        aha,
      },
    );

    let streak = { current: 0, longest: 0, countedToday: false, freezes: 0, freezeEarned: false };
    let badges: string[] = [];
    if (meaningful) {
      const outcome = await recordStreakActivity(tx, learner.childId, today);
      if (outcome.freezeEarned) await grantFreeze(tx, learner.childId, outcome.state.current, now);
      streak = {
        current: outcome.state.current,
        longest: outcome.state.longest,
        countedToday: outcome.state.lastActivityDate === today,
        freezes: outcome.state.freezes,
        freezeEarned: outcome.freezeEarned,
      };
      badges = await awardMilestoneBadges(
        tx,
        learner.childId,
        learner.ageGroup,
        outcome.state.current,
        {
          type: 'message',
          id: userMessage.id,
        },
        now,
      );
    }

    await addDailyActivity(tx, learner.childId, today, {
      timeSeconds: seconds,
      questionsAsked: 1,
      depthIncreases: depthIncrease,
      ahaMoments: aha ? 1 : 0,
      topicsExplored: current.topic_id ? [current.topic_id] : [],
      newTopicsUnlocked: unlocked,
      starsEarned: stars,
      badgesEarned: badges,
    });

    const alertKind = safety?.danger ?? (safety?.unsafe ? ('unsafe' as const) : undefined);
    if (alertKind) {
      alerts.push(
        await insertAlert(
          tx,
          {
            parentId: learner.parentId,
            childId: learner.childId,
            conversationId,
            message: { id: userMessage.id, createdAt: userMessage.created_at },
            severity: ALERT_SEVERITY[alertKind],
            reason: ALERT_REASON[alertKind],
          },
          now,
        ),
      );
    }

    await tx.query(
      `UPDATE children SET last_active_at = $2
        WHERE id = $1 AND (last_active_at IS NULL OR last_active_at < $2::timestamptz - INTERVAL '5 minutes')`,
      [learner.childId, now],
    );

    const response: PostResult = {
      message: toMessage(userMessage),
      reply: toMessage(replyMessage),
      conversation: toConversation(updated),
      rewards: { starsEarned: stars, badgesEarned: badges, topicsUnlocked: unlocked, streak },
      safety: { redacted: safety?.redacted ?? [], filtered: safety?.filtered ?? false },
      parentCanRead: true,
    };
    if (options.idempotencyKey) {
      await tx.query(
        'UPDATE idempotency_keys SET status_code = 201, response = $3::jsonb WHERE child_id = $1 AND key = $2',
        [learner.childId, options.idempotencyKey, JSON.stringify(response)],
      );
    }
    return { ...response, replayed: false };
  });
  await publishAlerts(alerts);
  return result;
}

export interface EndResult {
  conversation: ConversationView;
  closing: MessageView | null;
  starsEarned: number;
  brainSparkCompleted: boolean;
  badgesEarned: string[];
}

const SKILL_LABELS: Record<string, string> = {
  notice: 'Noticed details',
  observe: 'Made careful observations',
  wonder: 'Asked their own question',
  question: 'Asked their own question',
  guess: 'Made a prediction',
  predict: 'Made a prediction',
  compare: 'Compared ideas',
  why: 'Gave reasons',
  reason: 'Gave reasons',
  cause: 'Reasoned about causes and effects',
  pretend: 'Used their imagination',
  imagine: 'Used their imagination',
  feel: 'Talked about feelings',
  connect: 'Connected ideas across topics',
  share: 'Explained an idea to others',
  analogy: 'Explained with an analogy',
  remember: 'Reflected on what they learned',
  reflect: 'Reflected on what they learned',
  test: 'Planned how to test an idea',
  perspective: 'Considered another point of view',
  define: 'Described an idea in their own words',
  assume: 'Questioned an assumption',
  evidence: 'Thought about evidence',
  counter: 'Weighed a counter-argument',
  implication: 'Followed an idea to its consequences',
  ethics: 'Thought about right and wrong',
};

function summarise(row: ConversationRow, subject: string): { summary: string; insights: string[] } {
  const answers = row.questions_asked;
  const aha = row.aha_moments;
  const summary = `${subject}: ${answers} ${answers === 1 ? 'answer' : 'answers'}, reached depth ${row.depth_reached}, ${aha} aha ${aha === 1 ? 'moment' : 'moments'}.`;
  const skills = [...new Set(row.metadata.skills ?? [])];
  const insights = skills.map((s) => SKILL_LABELS[s] ?? s);
  if (aha > 0) insights.push(`Had ${aha} aha ${aha === 1 ? 'moment' : 'moments'}`);
  if (insights.length === 0)
    insights.push(answers > 0 ? 'Took first steps into the topic' : 'Opened the conversation');
  return { summary, insights };
}

export async function endConversation(
  learner: Learner,
  conversationId: string,
  actor: string,
  now: Date,
): Promise<EndResult> {
  const today = localDate(learner.timezone, now);
  return withChildLock(learner.childId, actor, async (tx) => {
    const row = await loadConversation(tx, learner.childId, conversationId, true);
    if (row.ended_at) {
      return {
        conversation: toConversation(row),
        closing: null,
        starsEarned: 0,
        brainSparkCompleted: false,
        badgesEarned: [],
      };
    }
    const topic = row.topic_id ? await topicById(tx, row.topic_id) : undefined;
    const subject =
      row.conversation_type === 'brain_spark'
        ? 'Brain Spark'
        : topic
          ? `Explored ${topic.name}`
          : `A ${row.conversation_type}`;
    const { summary, insights } = summarise(row, subject);
    const closing = await insertMessage(tx, conversationId, {
      role: 'assistant',
      content: closingLine(learner.ageGroup),
      tokensUsed: 0,
      processingTimeMs: 0,
      createdAt: now,
    });
    const { rows } = await tx.query<ConversationRow>(
      `UPDATE conversations SET ended_at = GREATEST($2::timestamptz, started_at), summary = $3, key_insights = $4::jsonb
        WHERE id = $1 RETURNING ${CONVERSATION_COLUMNS}`,
      [conversationId, now, summary, JSON.stringify(insights)],
    );
    let stars = 0;
    if (row.questions_asked >= CONVERSATION_COMPLETE_ANSWERS) {
      stars += STARS.conversationComplete;
      await grantStars(
        tx,
        learner.childId,
        'conversation_complete',
        STARS.conversationComplete,
        { type: 'conversation', id: conversationId },
        now,
      );
    }
    let sparkDone = false;
    let badges: string[] = [];
    if (row.conversation_type === 'brain_spark' && row.questions_asked > 0) {
      sparkDone = await markBrainSparkCompleted(tx, learner.childId, today);
      if (sparkDone) {
        stars += STARS.brainSpark;
        await grantStars(
          tx,
          learner.childId,
          'brain_spark',
          STARS.brainSpark,
          { type: 'brain_spark', id: row.brain_spark_id },
          now,
        );
        const outcome = await recordStreakActivity(tx, learner.childId, today);
        if (outcome.freezeEarned)
          await grantFreeze(tx, learner.childId, outcome.state.current, now);
        badges = await awardMilestoneBadges(
          tx,
          learner.childId,
          learner.ageGroup,
          outcome.state.current,
          {
            type: 'brain_spark',
            id: row.brain_spark_id,
          },
          now,
        );
      }
    }
    if (stars > 0 || badges.length > 0) {
      await addDailyActivity(tx, learner.childId, today, {
        starsEarned: stars,
        badgesEarned: badges,
      });
    }
    return {
      conversation: toConversation(rows[0] as ConversationRow),
      closing: toMessage(closing),
      starsEarned: stars,
      brainSparkCompleted: sparkDone,
      badgesEarned: badges,
    };
  });
}

export async function listConversations(
  childId: string,
  options: { limit: number; type?: ConversationType | undefined },
): Promise<ConversationView[]> {
  const rows = await queryRows<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations
      WHERE child_id = $1 AND ($2::text IS NULL OR conversation_type = $2)
      ORDER BY started_at DESC, id DESC LIMIT $3`,
    [childId, options.type ?? null, options.limit],
  );
  return rows.map(toConversation);
}

export async function getTranscript(
  childId: string,
  conversationId: string,
): Promise<{ conversation: ConversationView; messages: MessageView[]; parentCanRead: true }> {
  const pool = await readDb();
  const conversation = await loadConversation(pool, childId, conversationId);
  const messages = await queryRows<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND created_at >= $2
      ORDER BY created_at, id`,
    [conversationId, messagesSince(conversation.started_at)],
  );
  return {
    conversation: toConversation(conversation),
    messages: messages.map(toMessage),
    parentCanRead: true,
  };
}

/** Open brain_spark conversation for a spark, if any. */
export async function openSparkConversation(
  childId: string,
  sparkId: string,
): Promise<ConversationView | undefined> {
  const rows = await queryRows<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations
      WHERE child_id = $1 AND brain_spark_id = $2 AND conversation_type = 'brain_spark' AND ended_at IS NULL
      ORDER BY started_at DESC LIMIT 1`,
    [childId, sparkId],
  );
  return rows[0] ? toConversation(rows[0]) : undefined;
}
