// Ending a conversation: the closing line, a summary for the parent, stars for a completed
// conversation and, for a brain spark answered today, the spark's stars, streak and badges
// (settle). One read, then one guarded write statement whose guard takes the child's lock.
import { randomUUID } from 'node:crypto';
import { getDb, type Queryable } from '../../db/client.ts';
import { sql } from '../../db/sql.ts';
import { AppError } from '../../errors.ts';
import { localDate } from '../clock.ts';
import type { Learner } from '../learner.ts';
import { closingLine } from '../tutor/builtin.ts';
import {
  CONVERSATION_COMPLETE_ANSWERS,
  childWriteGuardSql,
  guardedWriteSql,
  type Planned,
  runGuardedWrite,
  type SettleFactsRow,
  STARS,
  settle,
  settleFactsOf,
  settleFactsSql,
} from './settle.ts';
import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  type ConversationView,
  insertMessagesSql,
  type MessageView,
  messageView,
  type NewMessage,
  toConversation,
} from './store.ts';

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
  const answers = row.questionsAsked;
  const aha = row.ahaMoments;
  const summary = `${subject}: ${answers} ${answers === 1 ? 'answer' : 'answers'}, reached depth ${row.depthReached}, ${aha} aha ${aha === 1 ? 'moment' : 'moments'}.`;
  const skills = [...new Set(row.metadata.skills ?? [])];
  const insights = skills.map((s) => SKILL_LABELS[s] ?? s);
  if (aha > 0) insights.push(`Had ${aha} aha ${aha === 1 ? 'moment' : 'moments'}`);
  if (insights.length === 0)
    insights.push(answers > 0 ? 'Took first steps into the topic' : 'Opened the conversation');
  return { summary, insights };
}

interface EndStateRow extends SettleFactsRow, Partial<ConversationRow> {
  version: string | null;
  topic_name: string | null;
}

async function readEndState(
  db: Queryable,
  learner: Learner,
  conversationId: string,
  today: string,
) {
  const rows = await db.$queryRaw<EndStateRow[]>`
    SELECT ${CONVERSATION_COLUMNS}, c.xmin::text AS version,
           (SELECT t.name FROM topics t WHERE t.id = c.topic_id) AS topic_name,
           ${settleFactsSql(learner.childId, learner.ageGroup, today)}
      FROM conversations c WHERE c.id = ${conversationId}::uuid AND c.child_id = ${learner.childId}::uuid`;
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'No such conversation');
  return {
    conversation: row as ConversationRow,
    version: row.version,
    topicName: row.topic_name,
    facts: settleFactsOf(row, learner.ageGroup),
  };
}

type EndState = Awaited<ReturnType<typeof readEndState>>;

export async function endConversation(
  learner: Learner,
  conversationId: string,
  actor: string,
  now: Date,
): Promise<EndResult> {
  const today = localDate(learner.timezone, now);
  const state = await readEndState(await getDb(), learner, conversationId, today);
  const closing: NewMessage = {
    id: randomUUID(),
    role: 'assistant',
    content: closingLine(learner.ageGroup),
    tokensUsed: 0,
    processingTimeMs: 0,
    createdAt: now,
  };
  const alreadyEnded = (row: ConversationRow): EndResult => ({
    conversation: toConversation(row),
    closing: null,
    starsEarned: 0,
    brainSparkCompleted: false,
    badgesEarned: [],
  });
  if (state.conversation.endedAt) return alreadyEnded(state.conversation);

  const plan = (current: EndState): Planned<EndResult> => {
    const row = current.conversation;
    if (row.endedAt) return { result: alreadyEnded(row) };
    const subject =
      row.conversationType === 'brain_spark'
        ? 'Brain Spark'
        : current.topicName
          ? `Explored ${current.topicName}`
          : `A ${row.conversationType}`;
    const { summary, insights } = summarise(row, subject);
    const sparkDone =
      row.conversationType === 'brain_spark' &&
      row.questionsAsked > 0 &&
      !current.facts.activity.brainSparkCompleted;
    const settlement = settle(learner.childId, today, now, current.facts, {
      countsForStreak: sparkDone,
      stars: [
        {
          rewardId: 'conversation_complete',
          stars:
            row.questionsAsked >= CONVERSATION_COMPLETE_ANSWERS ? STARS.conversationComplete : 0,
          trigger: { type: 'conversation', id: conversationId },
        },
        {
          rewardId: 'brain_spark',
          stars: sparkDone ? STARS.brainSpark : 0,
          trigger: { type: 'brain_spark', id: row.brainSparkId },
        },
      ],
      badgeTrigger: { type: 'brain_spark', id: row.brainSparkId },
      activity: { brainSparkCompleted: sparkDone },
    });
    const endedAt = new Date(Math.max(now.getTime(), row.startedAt.getTime()));
    const guard = childWriteGuardSql(actor, learner, today, current.facts, {
      conversation: { id: conversationId, version: current.version },
    });
    return {
      write: guardedWriteSql(guard, [
        insertMessagesSql(conversationId, [closing]),
        sql`UPDATE conversations SET ended_at = ${endedAt}::timestamptz, summary = ${summary}::text,
              key_insights = ${JSON.stringify(insights)}::jsonb
            WHERE id = ${conversationId}::uuid AND EXISTS (SELECT 1 FROM guard)`,
        ...settlement.writes,
      ]),
      result: {
        conversation: toConversation({ ...row, endedAt, summary, keyInsights: insights }),
        closing: messageView(closing),
        starsEarned: settlement.starsEarned,
        brainSparkCompleted: sparkDone,
        badgesEarned: settlement.badgesEarned,
      },
    };
  };
  const first = plan(state);
  if (first.write === undefined) return first.result;
  // Another write for this child came first: read again under the lock, plan again.
  return runGuardedWrite(actor, learner, first, async (tx) =>
    plan(await readEndState(tx, learner, conversationId, today)),
  );
}
