// The default tutor: deterministic, offline, Socratic. It never lectures and never repeats the
// child's words back; each turn is an acknowledgement, a category "lens" and the next question
// of an age-tuned ladder, with 2-4 choices. Content lives in content/socratic.json.

import type { AgeGroup } from '../types.ts';
import content from './content/socratic.json' with { type: 'json' };
import type { Tutor, TutorContext, TutorReply } from './types.ts';

interface Move {
  id: string;
  prompt: string;
  choices: string[];
}

const REASONING = /\b(because|so|then|if|maybe|might|think|means|since|but|instead|why|how)\b/i;
const AHA =
  /\b(oh+|aha|i get it|now i (see|get|know)|that'?s why|that means|i realised|i realized|makes sense)\b/i;

const ageContent = (group: AgeGroup) => content.ageGroups[group];

function pick<T>(items: readonly T[], index: number): T {
  const item = items[((index % items.length) + items.length) % items.length];
  if (item === undefined) throw new Error('tutor content list is empty');
  return item;
}

function fill(template: string, topicName: string): string {
  return template.replaceAll('{topic}', topicName);
}

function topicLabel(ctx: TutorContext): string {
  return ctx.topic?.name.toLowerCase() ?? content.defaultTopic[ctx.ageGroup];
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => /[a-z0-9]/i.test(w)).length;
}

/** Did the child's answer go deeper, and was it an "aha"? Judged on its shape, never echoed. */
export function judgeAnswer(ctx: TutorContext): {
  deeper: boolean;
  aha: boolean;
  askedForHint: boolean;
} {
  const answer = ctx.childMessage;
  if (!answer) return { deeper: false, aha: false, askedForHint: false };
  const age = ageContent(ctx.ageGroup);
  if (!answer.isFreeForm) {
    const askedForHint = answer.text === age.hintChoice;
    return { deeper: !askedForHint, aha: false, askedForHint };
  }
  const words = wordCount(answer.text);
  const deeper = words >= age.minWordsToDeepen || (words >= 2 && REASONING.test(answer.text));
  const aha =
    deeper &&
    ctx.depth >= 1 &&
    (AHA.test(answer.text) || (REASONING.test(answer.text) && words >= age.minWordsToDeepen * 2));
  return { deeper, aha, askedForHint: false };
}

function movePrompt(ctx: TutorContext, move: Move): string {
  // A brain spark first works through its own follow-up questions.
  const followUp = ctx.brainSpark?.followUps[ctx.turn - 1];
  return followUp ?? fill(move.prompt, topicLabel(ctx));
}

function opening(ctx: TutorContext): string {
  const topic = topicLabel(ctx);
  const category = content.categories[ctx.category][ctx.ageGroup];
  const moves = ageContent(ctx.ageGroup).moves;
  if (ctx.conversationType === 'brain_spark' && ctx.brainSpark) {
    return `${content.types.brain_spark[ctx.ageGroup]} ${ctx.brainSpark.question}`;
  }
  const intro =
    ctx.conversationType === 'story' || ctx.conversationType === 'debate'
      ? fill(content.types[ctx.conversationType][ctx.ageGroup], topic)
      : fill(category.opener, topic);
  const description =
    ctx.conversationType === 'exploration' && ctx.topic?.description
      ? ` ${ctx.topic.description}`
      : '';
  return `${intro}${description} ${fill(pick(moves, 0).prompt, topic)}`;
}

export function builtinReply(ctx: TutorContext): TutorReply {
  const age = ageContent(ctx.ageGroup);
  const category = content.categories[ctx.category][ctx.ageGroup];
  const move = pick<Move>(age.moves, ctx.turn);
  const choices = [...move.choices, age.hintChoice].slice(0, 4);
  if (!ctx.childMessage) {
    return { text: opening(ctx), choices, depthChange: 0, ahaMoment: false, tokensUsed: 0 };
  }
  const verdict = judgeAnswer(ctx);
  let lead: string;
  if (verdict.askedForHint) {
    const hints = ctx.brainSpark?.hints.length ? ctx.brainSpark.hints : category.hints;
    lead = `${pick(age.acknowledgements.hint, ctx.turn)} ${pick(hints, ctx.turn)}`;
    // After a hint the same question comes back, so the child can try again.
    const previous = pick<Move>(age.moves, ctx.turn - 1);
    return {
      text: `${lead} ${movePrompt({ ...ctx, turn: ctx.turn - 1 }, previous)}`,
      choices: [...previous.choices].slice(0, 3),
      depthChange: 0,
      ahaMoment: false,
      tokensUsed: 0,
    };
  }
  const acks = ctx.childMessage.isFreeForm
    ? verdict.deeper
      ? age.acknowledgements.deep
      : age.acknowledgements.short
    : age.acknowledgements.choice;
  lead = `${pick(acks, ctx.turn)} ${pick(category.lenses, ctx.turn)}`;
  return {
    text: `${lead} ${movePrompt(ctx, move)}`,
    choices,
    depthChange: verdict.deeper ? 1 : 0,
    ahaMoment: verdict.aha,
    tokensUsed: 0,
  };
}

export function closingLine(group: AgeGroup): string {
  return ageContent(group).closing;
}

export const builtinTutor: Tutor = {
  name: 'builtin',
  reply: async (ctx) => builtinReply(ctx),
};

/** The thinking move the child answered at `answeredTurn` (0 = the opening question). */
export function skillForTurn(group: AgeGroup, answeredTurn: number): string {
  return pick<Move>(ageContent(group).moves, answeredTurn).id;
}
