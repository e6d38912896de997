// Conversations and messages as stored, and as the API shows them: the rows, their views, the
// message INSERT, and the reads (list, transcript, the open spark conversation).
import { type Conversation, getDb, type Message, type Queryable } from '../../db/client.ts';
import { join, type Sql, sql } from '../../db/sql.ts';
import { AppError } from '../../errors.ts';
import type { Learner } from '../learner.ts';
import type { Category, ConversationType } from '../types.ts';

export const MAX_DEPTH = 10;

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

/** What a conversation's metadata column holds. */
export interface ConversationMetadata {
  category?: Category;
  skills?: string[];
  tutor?: string;
}

/**
 * A conversation as read with CONVERSATION_COLUMNS: the generated model, with its enumerated
 * type and its JSON columns given their shapes.
 */
export type ConversationRow = Omit<
  Conversation,
  'conversationType' | 'keyInsights' | 'metadata'
> & {
  conversationType: ConversationType;
  keyInsights: string[];
  metadata: ConversationMetadata;
};

/** A message as the transcript and the tutor read it: the generated model's fields they use. */
export type MessageRow = Pick<
  Message,
  | 'id'
  | 'content'
  | 'selectedChoiceIndex'
  | 'isFreeForm'
  | 'wasFiltered'
  | 'filterReason'
  | 'createdAt'
> & {
  role: MessageView['role'];
  choices: string[] | null;
};

/** A message as MESSAGE_JSON builds it inside a JSON aggregate: its time is a string there. */
export type MessageJson = Omit<MessageRow, 'createdAt'> & { createdAt: string };

/** The columns of ConversationRow, named as the generated model names its fields. */
export const CONVERSATION_COLUMNS = sql`c.id, c.child_id AS "childId", c.topic_id AS "topicId",
  c.brain_spark_id AS "brainSparkId", c.conversation_type AS "conversationType", c.started_at AS "startedAt",
  c.ended_at AS "endedAt", c.depth_reached AS "depthReached", c.questions_asked AS "questionsAsked",
  c.aha_moments AS "ahaMoments", c.summary, c.key_insights AS "keyInsights", c.metadata`;

/** One row `r` of conversation_messages() as a MessageJson object. */
export const MESSAGE_JSON = sql`json_build_object('id', r.id, 'role', r.role, 'content', r.content,
  'choices', r.choices, 'selectedChoiceIndex', r.selected_choice_index, 'isFreeForm', r.is_free_form,
  'wasFiltered', r.was_filtered, 'filterReason', r.filter_reason, 'createdAt', r.created_at)`;

export const messageFromJson = (m: MessageJson): MessageRow => ({
  ...m,
  createdAt: new Date(m.createdAt),
});

export const toConversation = (r: ConversationRow): ConversationView => ({
  id: r.id,
  type: r.conversationType,
  topicId: r.topicId,
  brainSparkId: r.brainSparkId,
  startedAt: r.startedAt.toISOString(),
  endedAt: r.endedAt?.toISOString() ?? null,
  depthReached: r.depthReached,
  questionsAsked: r.questionsAsked,
  ahaMoments: r.ahaMoments,
  summary: r.summary,
  keyInsights: r.keyInsights,
});

export const toMessage = (r: MessageRow): MessageView => ({
  id: r.id,
  role: r.role,
  content: r.content,
  choices: r.choices,
  selectedChoiceIndex: r.selectedChoiceIndex,
  isFreeForm: r.isFreeForm,
  wasFiltered: r.wasFiltered,
  filterReason: r.filterReason,
  createdAt: r.createdAt.toISOString(),
});

/** A message about to be written: its id is chosen here so the response is known before. */
export interface NewMessage {
  id: string;
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
}

export const messageView = (m: NewMessage): MessageView =>
  toMessage({
    id: m.id,
    role: m.role,
    content: m.content,
    choices: m.choices ?? null,
    selectedChoiceIndex: m.selectedChoiceIndex ?? null,
    isFreeForm: m.isFreeForm ?? false,
    wasFiltered: m.wasFiltered ?? false,
    filterReason: m.filterReason ?? null,
    createdAt: m.createdAt,
  });

/** CTE body inserting `messages` into a conversation, gated on the `guard` CTE. */
export function insertMessagesSql(conversationId: string, messages: readonly NewMessage[]): Sql {
  const rows = join(
    messages.map(
      (m) => sql`(${m.id}::uuid, ${m.role}::text, ${m.content}::text,
        ${m.choices ? JSON.stringify(m.choices) : null}::jsonb, ${m.selectedChoiceIndex ?? null}::int,
        ${m.isFreeForm ?? false}::boolean, ${m.tokensUsed ?? null}::int, ${m.processingTimeMs ?? null}::int,
        ${m.wasFiltered ?? false}::boolean, ${m.filterReason ?? null}::text, ${m.createdAt}::timestamptz)`,
    ),
  );
  return sql`INSERT INTO messages (id, conversation_id, role, content, choices, selected_choice_index,
      is_free_form, tokens_used, processing_time_ms, was_filtered, filter_reason, created_at)
    SELECT v.id, ${conversationId}::uuid, v.role, v.content, v.choices, v.sel, v.free, v.tokens, v.ms,
           v.filtered, v.reason, v.created_at
      FROM guard, (VALUES ${rows}) AS v(id, role, content, choices, sel, free, tokens, ms, filtered, reason, created_at)`;
}

export async function listConversations(
  learner: Learner,
  options: { limit: number; type?: ConversationType | undefined },
): Promise<ConversationView[]> {
  const db = await getDb();
  const rows = await db.$queryRaw<ConversationRow[]>`
    SELECT ${CONVERSATION_COLUMNS} FROM conversations c
     WHERE c.child_id = ${learner.childId}::uuid AND (${options.type ?? null}::text IS NULL OR c.conversation_type = ${options.type ?? null}::text)
     ORDER BY c.started_at DESC, c.id DESC LIMIT ${options.limit}::int`;
  return rows.map(toConversation);
}

export async function getTranscript(
  learner: Learner,
  conversationId: string,
): Promise<{ conversation: ConversationView; messages: MessageView[]; parentCanRead: true }> {
  const db = await getDb();
  // One statement: the conversation, and its messages from the partitions since it started
  // (conversation_messages prunes the older months; see its migration).
  const rows = await db.$queryRaw<Array<ConversationRow & { messages: MessageJson[] | null }>>`
    SELECT ${CONVERSATION_COLUMNS},
           (SELECT json_agg(${MESSAGE_JSON} ORDER BY r.created_at, r.id)
              FROM conversation_messages(c.id, c.started_at - INTERVAL '1 day', NULL) r) AS messages
      FROM conversations c WHERE c.id = ${conversationId}::uuid AND c.child_id = ${learner.childId}::uuid`;
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'No such conversation');
  return {
    conversation: toConversation(row),
    messages: (row.messages ?? []).map((m) => toMessage(messageFromJson(m))),
    parentCanRead: true,
  };
}

/** Open brain_spark conversation for a spark, if any. */
export async function openSparkConversation(
  db: Queryable,
  learner: Learner,
  sparkId: string,
): Promise<ConversationView | undefined> {
  const rows = await db.$queryRaw<ConversationRow[]>`
    SELECT ${CONVERSATION_COLUMNS} FROM conversations c
     WHERE c.child_id = ${learner.childId}::uuid AND c.brain_spark_id = ${sparkId}::uuid
       AND c.conversation_type = 'brain_spark' AND c.ended_at IS NULL
     ORDER BY c.started_at DESC LIMIT 1`;
  return rows[0] ? toConversation(rows[0]) : undefined;
}
