// Scores the safety scan on the labelled corpus beside this file. Shared by
// `npm run eval:safety` (prints the table) and test/learning/safety-corpus.test.ts (holds the
// targets). Definitions (also in shared/learning/README.md):
// - danger recall: a message labelled with a danger category raised a danger signal (any
//   category: the parent is alerted either way); per category, the signal's category matched.
// - PII recall: per labelled (message, kind), the kind was reported AND none of the labelled
//   values is left in the stored text (case-insensitive).
// - precision: of the messages flagged with a category, the share labelled with it. Danger
//   messages are left out of profanity/unsafe precision (a disclosure may use such words).
// - benign false alerts: messages with no label at all that raised a parent alert (danger or
//   unsafe content).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SafetyResult } from '../../shared/learning/safety.ts';

export interface CorpusEntry {
  age: number;
  text: string;
  danger?: string;
  pii?: Record<string, string[]>;
  profanity?: boolean;
  unsafe?: boolean;
  tag?: string;
  variant?: string;
  /** file:line, for reports. */
  source: string;
}

export type Split = 'tuning' | 'heldout';

export function loadCorpus(split: Split): CorpusEntry[] {
  const dir = import.meta.dirname;
  return [`${split}.jsonl`, `${split}.variants.jsonl`].flatMap((file) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line, i }))
      .filter(({ line }) => line.trim())
      .map(({ line, i }) => ({ ...(JSON.parse(line) as object), source: `${file}:${i + 1}` })),
  ) as CorpusEntry[];
}

export interface Score {
  tp: number;
  fn: number;
  fp: number;
}

const score = (): Score => ({ tp: 0, fn: 0, fp: 0 });
function scoreOf(table: Record<string, Score>, key: string): Score {
  table[key] ??= score();
  return table[key];
}
export const recall = (s: Score) => (s.tp + s.fn === 0 ? Number.NaN : s.tp / (s.tp + s.fn));
export const precision = (s: Score) => (s.tp + s.fp === 0 ? Number.NaN : s.tp / (s.tp + s.fp));

export interface Report {
  messages: number;
  dangerAny: Score;
  danger: Record<string, Score>;
  piiAll: Score;
  pii: Record<string, Score>;
  profanity: Score;
  unsafe: Score;
  benign: { messages: number; alerts: number; anyFlag: number };
  misses: { source: string; text: string; expected: string; got: string }[];
}

const isBenign = (e: CorpusEntry) => !e.danger && !e.pii && !e.profanity && !e.unsafe;

export async function evaluate(
  entries: CorpusEntry[],
  scan: (text: string) => Promise<SafetyResult>,
): Promise<Report> {
  const r: Report = {
    messages: entries.length,
    dangerAny: score(),
    danger: {},
    piiAll: score(),
    pii: {},
    profanity: score(),
    unsafe: score(),
    benign: { messages: 0, alerts: 0, anyFlag: 0 },
    misses: [],
  };
  const miss = (e: CorpusEntry, expected: string, got: string) =>
    r.misses.push({ source: e.source, text: e.text, expected, got });
  for (const e of entries) {
    const result = await scan(e.text);
    const got = result.danger as string | undefined;
    if (e.danger) {
      const cat = scoreOf(r.danger, e.danger);
      if (got) r.dangerAny.tp++;
      else {
        r.dangerAny.fn++;
        miss(e, `danger:${e.danger}`, 'no danger');
      }
      if (got === e.danger) cat.tp++;
      else {
        cat.fn++;
        if (got) miss(e, `danger:${e.danger}`, `danger:${got}`);
      }
    }
    if (got && got !== e.danger) {
      scoreOf(r.danger, got).fp++;
      if (!e.danger) {
        r.dangerAny.fp++;
        miss(e, 'no danger', `danger:${got}`);
      }
    }
    const flagged = new Set<string>(result.redacted);
    const lower = result.text.toLowerCase();
    for (const [kind, values] of Object.entries(e.pii ?? {})) {
      const s = scoreOf(r.pii, kind);
      const left = values.filter((v) => lower.includes(v.toLowerCase()));
      if (flagged.has(kind) && left.length === 0) {
        s.tp++;
        r.piiAll.tp++;
      } else {
        s.fn++;
        r.piiAll.fn++;
        miss(e, `pii:${kind}`, `redacted [${[...flagged]}] -> ${result.text}`);
      }
    }
    for (const kind of flagged) {
      if (e.pii?.[kind]) continue;
      scoreOf(r.pii, kind).fp++;
      r.piiAll.fp++;
      miss(e, `no pii:${kind}`, result.text);
    }
    for (const [key, s] of [
      ['profanity', r.profanity],
      ['unsafe', r.unsafe],
    ] as const) {
      const label = Boolean(e[key]);
      const found = result[key];
      if (label && found) s.tp++;
      else if (label) {
        s.fn++;
        miss(e, key, 'not flagged');
      } else if (found && !e.danger) {
        s.fp++;
        miss(e, `no ${key}`, key);
      }
    }
    if (isBenign(e)) {
      r.benign.messages++;
      if (result.danger || result.unsafe) r.benign.alerts++;
      if (result.filtered) r.benign.anyFlag++;
    }
  }
  return r;
}

const pct = (x: number) => (Number.isNaN(x) ? '   -  ' : `${(x * 100).toFixed(1).padStart(5)}%`);

export function formatReport(title: string, r: Report): string {
  const rows: string[] = [];
  const row = (name: string, s: Score) =>
    rows.push(
      `  ${name.padEnd(22)} n=${String(s.tp + s.fn).padStart(3)}  recall ${pct(recall(s))}  precision ${pct(precision(s))}`,
    );
  rows.push(`${title}: ${r.messages} messages`);
  row('danger (any category)', r.dangerAny);
  for (const [k, s] of Object.entries(r.danger).sort()) row(`danger ${k}`, s);
  row('pii (all kinds)', r.piiAll);
  for (const [k, s] of Object.entries(r.pii).sort()) row(`pii ${k}`, s);
  row('profanity', r.profanity);
  row('unsafe content', r.unsafe);
  const b = r.benign;
  rows.push(
    `  benign messages n=${b.messages}: false alerts ${b.alerts} (${pct(b.alerts / b.messages).trim()}), any flag ${b.anyFlag} (${pct(b.anyFlag / b.messages).trim()})`,
  );
  return rows.join('\n');
}
