// The built-in tutor must hold a sensible 10-turn conversation for every category and age
// group: a question every turn, 2-4 choices, no repetition, never the child's own words back.
import { describe, expect, it } from 'vitest';
import { scanText } from '../../shared/learning/safety.ts';
import { builtinReply, judgeAnswer } from '../../shared/learning/tutor/builtin.ts';
import type { TutorContext } from '../../shared/learning/tutor/types.ts';
import {
  AGE_GROUPS,
  type AgeGroup,
  CATEGORIES,
  type Category,
} from '../../shared/learning/types.ts';

const childAnswers = [
  'zorblax because the moon glows quietly',
  'maybe quibbletoe makes things float',
  'i think flarnish is why it spins so fast',
  'because wumpled rocks are heavy',
  'oh i get it snorkwhistle means it changes',
  'if plinkety goes up then the rest follows',
  'brindlewort is like my garden at home',
  'so the grommet idea connects to music',
  'i would invent a zazzlebox that flies',
  'the best part was the frobnic surprise',
];
const invented = [
  'zorblax',
  'quibbletoe',
  'flarnish',
  'wumpled',
  'snorkwhistle',
  'plinkety',
  'brindlewort',
  'grommet',
  'zazzlebox',
  'frobnic',
];

function context(
  ageGroup: AgeGroup,
  category: Category,
  turn: number,
  text: string | null,
  depth: number,
): TutorContext {
  return {
    ageGroup,
    category,
    conversationType: 'exploration',
    topic: { name: 'Volcanoes', slug: 'volcanoes', description: 'Mountains that breathe fire.' },
    brainSpark: null,
    turn,
    depth,
    childMessage: text === null ? null : { text, isFreeForm: true, choiceIndex: null },
    history: [],
  };
}

describe('built-in tutor: 10 turns for every category and age group', () => {
  for (const ageGroup of AGE_GROUPS) {
    for (const category of CATEGORIES) {
      it(`${category} x ${ageGroup}`, async () => {
        const opener = builtinReply(context(ageGroup, category, 0, null, 0));
        expect(opener.text.toLowerCase()).toContain('volcanoes');
        const replies = [opener.text];
        let depth = 0;
        for (let turn = 1; turn <= 10; turn++) {
          const answer = childAnswers[turn - 1] as string;
          const reply = builtinReply(context(ageGroup, category, turn, answer, depth));
          depth += reply.depthChange;
          expect(reply.text).toMatch(/\?/); // Socratic: every turn asks something
          expect(reply.choices.length).toBeGreaterThanOrEqual(2);
          expect(reply.choices.length).toBeLessThanOrEqual(4);
          for (const word of invented) expect(reply.text.toLowerCase()).not.toContain(word);
          expect(reply.text.toLowerCase()).not.toContain(answer);
          expect((await scanText(reply.text)).filtered).toBe(false);
          replies.push(reply.text);
        }
        expect(new Set(replies).size).toBe(replies.length);
        expect(depth).toBe(10);
      });
    }
  }

  it('is tuned per age group: younger children get shorter replies', () => {
    const averageWords = (group: AgeGroup) => {
      let words = 0;
      for (let turn = 1; turn <= 10; turn++) {
        words += builtinReply(
          context(group, 'science', turn, childAnswers[turn - 1] as string, 1),
        ).text.split(/\s+/).length;
      }
      return words / 10;
    };
    expect(averageWords('wonder_cubs')).toBeLessThan(averageWords('mind_masters'));
  });

  it('is tuned per category: the same turn reads differently in each category', () => {
    const texts = CATEGORIES.map(
      (c) => builtinReply(context('curious_explorers', c, 3, 'because it is hot inside', 1)).text,
    );
    expect(new Set(texts).size).toBe(CATEGORIES.length);
  });

  it('does not deepen on a one-word answer, and deepens on a reasoned one', () => {
    expect(judgeAnswer(context('mind_masters', 'logic', 2, 'yes', 1)).deeper).toBe(false);
    expect(
      judgeAnswer(
        context(
          'mind_masters',
          'logic',
          2,
          'it depends because the pattern repeats every three steps',
          1,
        ),
      ).deeper,
    ).toBe(true);
  });

  it('answers the hint choice with a hint and the same question again, without deepening', () => {
    const ctx = context('wonder_cubs', 'science', 2, 'Give me a hint', 1);
    const reply = builtinReply({
      ...ctx,
      childMessage: { text: 'Give me a hint', isFreeForm: false, choiceIndex: 3 },
    });
    expect(reply.depthChange).toBe(0);
    expect(reply.text).toMatch(/clue|hint|help/i);
  });
});
