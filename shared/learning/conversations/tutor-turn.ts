// One tutor turn: the context the tutor sees (built in one place for openers and replies), the
// safety gating of the child's text, and the tutor's checked answer. No database access: the
// routes read what the turn needs in their one read statement.
import { AppError } from '../../errors.ts';
import type { Learner } from '../learner.ts';
import {
  SAFE_CONTINUE_CHOICES,
  type SafetyResult,
  safeReplyFor,
  scanText,
  tutorReplyProblems,
} from '../safety.ts';
import {
  builtinTutor,
  type Tutor,
  type TutorContext,
  type TutorReply,
  tutorFor,
} from '../tutor/index.ts';
import type { Category, ConversationType } from '../types.ts';
import type { MessageRow } from './store.ts';

export const HISTORY_FOR_TUTOR = 20;

/** What the turn knows of the topic and the spark (read with the conversation). */
export interface TurnSubject {
  topic: { name: string; slug: string; description: string | null; category: Category } | null;
  spark: {
    question: string;
    hints: string[];
    followUps: string[];
    sparkType: string;
    topicCategory: Category | null;
  } | null;
}

/** The tutor category of a spark: its topic's, else by its kind of question. */
export function sparkCategory(spark: {
  sparkType: string;
  topicCategory: Category | null;
}): Category {
  if (spark.topicCategory) return spark.topicCategory;
  if (spark.sparkType === 'philosophy' || spark.sparkType === 'debate') return 'philosophy';
  if (spark.sparkType === 'what_if') return 'science';
  return 'logic';
}

export function categoryFor(type: ConversationType, subject: TurnSubject): Category {
  if (subject.spark) return sparkCategory(subject.spark);
  if (subject.topic) return subject.topic.category;
  return type === 'debate' ? 'philosophy' : 'creative';
}

export function tutorContext(
  learner: Pick<Learner, 'ageGroup'>,
  type: ConversationType,
  category: Category,
  subject: TurnSubject,
  turn: Pick<TutorContext, 'turn' | 'depth' | 'childMessage' | 'history'>,
): TutorContext {
  const { topic, spark } = subject;
  return {
    ageGroup: learner.ageGroup,
    category,
    conversationType: type,
    topic: topic ? { name: topic.name, slug: topic.slug, description: topic.description } : null,
    brainSpark: spark
      ? { question: spark.question, hints: spark.hints, followUps: spark.followUps }
      : null,
    ...turn,
  };
}

export interface Answer {
  reply: TutorReply;
  ms: number;
  filtered: boolean;
  filterReason: string | null;
}

/** Asks the tutor, then checks its reply like a child's text; an unsafe reply is replaced. */
export async function askTutor(tutor: Tutor, ctx: TutorContext): Promise<Answer> {
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

const BLOCKED_REASON = /(?:^|,)(?:profanity|unsafe_content|danger_\w+)(?:,|$)/;

/** What the tutor may see: blocked answers and the safe replies to them never leave again. */
export function tutorHistory(messages: readonly MessageRow[]): TutorContext['history'] {
  const turns: TutorContext['history'] = [];
  let skipReply = false;
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'user' && m.filterReason && BLOCKED_REASON.test(m.filterReason)) {
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

/** The child's text as it will be stored: a chosen answer, or free text after the safety scan. */
export async function childAnswer(
  input: { choiceIndex?: number | undefined; text?: string | undefined },
  offered: readonly string[] | null | undefined,
): Promise<{ text: string; safety: SafetyResult | undefined }> {
  if (input.choiceIndex !== undefined) {
    const chosen = offered?.[input.choiceIndex];
    if (chosen === undefined) {
      throw new AppError('validation_failed', 'Pick one of the offered choices', {
        fieldErrors: [{ path: 'body.choiceIndex', message: 'No such choice' }],
      });
    }
    return { text: chosen, safety: undefined };
  }
  const safety = await scanText(input.text ?? '');
  return { text: safety.text, safety };
}

/** A danger signal or unsafe/profane text never reaches the tutor. */
export const isBlocked = (safety: SafetyResult | undefined): boolean =>
  safety?.danger !== undefined || safety?.unsafe === true || safety?.profanity === true;

/**
 * The reply to a child's answer: a safe, kind reply to a danger signal, a redirect after
 * unsafe or profane text (neither counts as learning), else the tutor's checked answer.
 */
export async function replyTo(
  learner: Learner,
  ctx: TutorContext,
  safety: SafetyResult | undefined,
  answeredSoFar: number,
): Promise<Answer> {
  if (safety?.danger) {
    return {
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
  }
  if (isBlocked(safety)) {
    const redirect = await builtinTutor.reply({ ...ctx, childMessage: null, turn: answeredSoFar });
    return {
      reply: {
        ...redirect,
        text: `Let's use kind, safe words here. ${redirect.text}`,
        depthChange: 0,
        ahaMoment: false,
      },
      ms: 0,
      filtered: false,
      filterReason: null,
    };
  }
  return askTutor(tutorFor(learner), ctx);
}
