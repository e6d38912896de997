// The safety scan held to its targets on the labelled corpus (test/safety-corpus): danger
// recall >= 0.97, PII recall >= 0.95, false alerts on benign messages <= 2%, on the full corpus.
// `npm run eval:safety` prints the same figures per category and per split.
import { describe, expect, it } from 'vitest';
import { scanText } from '../../shared/learning/safety.ts';
import { evaluate, loadCorpus, precision, type Report, recall } from '../safety-corpus/evaluate.ts';

const tuning = loadCorpus('tuning');
const heldout = loadCorpus('heldout');
const full = [...tuning, ...heldout];

describe('safety corpus', () => {
  it('is large and covers every category, in children of every age, in both splits', () => {
    expect(full.length).toBeGreaterThanOrEqual(600);
    expect(full.filter((e) => !e.variant).length).toBeGreaterThanOrEqual(600);
    for (const split of [tuning, heldout]) {
      const dangers = new Set(split.map((e) => e.danger).filter(Boolean));
      expect([...dangers].sort()).toEqual(['abuse', 'grooming', 'meeting', 'self_harm']);
      const pii = new Set(split.flatMap((e) => Object.keys(e.pii ?? {})));
      expect([...pii].sort()).toEqual([
        'address',
        'card',
        'coordinates',
        'email',
        'handle',
        'id_number',
        'name',
        'phone',
        'school',
        'url',
      ]);
      expect(split.some((e) => e.profanity)).toBe(true);
      expect(split.some((e) => e.unsafe)).toBe(true);
      expect(split.filter((e) => e.tag?.startsWith('lookalike')).length).toBeGreaterThan(20);
    }
    const ages = new Set(full.map((e) => e.age));
    expect(Math.min(...ages)).toBeLessThanOrEqual(6);
    expect(Math.max(...ages)).toBe(14);
    // The held-out split is its own messages, not copies of tuning ones.
    const tuningTexts = new Set(tuning.map((e) => e.text.toLowerCase()));
    expect(heldout.filter((e) => tuningTexts.has(e.text.toLowerCase()))).toEqual([]);
  });

  let report: Report;
  it('meets the targets on the full corpus', async () => {
    report = await evaluate(full, scanText);
    expect(recall(report.dangerAny)).toBeGreaterThanOrEqual(0.97);
    expect(recall(report.piiAll)).toBeGreaterThanOrEqual(0.95);
    expect(report.benign.alerts / report.benign.messages).toBeLessThanOrEqual(0.02);
    expect(precision(report.dangerAny)).toBeGreaterThanOrEqual(0.95);
    expect(recall(report.profanity)).toBeGreaterThanOrEqual(0.95);
    expect(recall(report.unsafe)).toBeGreaterThanOrEqual(0.95);
  });

  it('finds every danger category and every kind of personal detail', () => {
    for (const s of Object.values(report.danger)) expect(recall(s)).toBeGreaterThanOrEqual(0.9);
    for (const s of Object.values(report.pii)) expect(recall(s)).toBeGreaterThanOrEqual(0.9);
  });
});
