// Writes the systematic variants of the hand-written safety corpus (test/safety-corpus/): the
// same messages disguised the way children get words past a filter (look-alike letters from
// other scripts, zero-width characters, full-width letters, digits for letters, spaced or
// dotted letters, stretched vowels, odd case and spacing). Deterministic: the same corpus
// gives the same variants. Run after editing a hand-written file:
//   npx tsx scripts/safety-corpus-variants.ts
// Variants of the held-out split stay in the held-out split.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Entry {
  age: number;
  text: string;
  danger?: string;
  pii?: Record<string, string[]>;
  profanity?: boolean;
  unsafe?: boolean;
  tag?: string;
  variant?: string;
}

const CYRILLIC: Record<string, string> = {
  a: '\u0430',
  e: '\u0435',
  o: '\u043e',
  p: '\u0440',
  c: '\u0441',
  x: '\u0445',
  y: '\u0443',
  i: '\u0456',
};
const LEET: Record<string, string> = { a: '4', e: '3', i: '1', o: '0', s: '5', t: '7' };

/** Every other occurrence of each letter that has a Cyrillic twin. */
function cyrillic(text: string): string {
  const seen: Record<string, number> = {};
  return [...text]
    .map((ch) => {
      const twin = CYRILLIC[ch];
      if (!twin) return ch;
      seen[ch] = (seen[ch] ?? 0) + 1;
      return seen[ch] % 2 === 1 ? twin : ch;
    })
    .join('');
}

const zeroWidth = (text: string) =>
  text.replace(/\b([a-z]{2})([a-z]{2,})/gi, (_m, a: string, b: string) => `${a}\u200b${b}`);

const fullWidth = (text: string) =>
  [...text]
    .map((ch) => {
      const code = ch.codePointAt(0) ?? 0;
      if (ch === ' ') return '\u3000';
      return code >= 0x21 && code <= 0x7e ? String.fromCodePoint(code + 0xfee0) : ch;
    })
    .join('');

const leet = (text: string) => text.replace(/[aeiost]/g, (ch) => LEET[ch] ?? ch);

function longestWord(text: string): string | undefined {
  return (text.match(/[a-z]{4,}/gi) ?? []).sort((a, b) => b.length - a.length)[0];
}

function onLongest(text: string, f: (word: string) => string): string {
  const word = longestWord(text);
  return word ? text.replace(word, f(word)) : text;
}

const spaced = (text: string) => onLongest(text, (w) => [...w].join(' '));
const dotted = (text: string) => onLongest(text, (w) => [...w].join('.'));
const stretched = (text: string) => text.replace(/([aeiou])(?=[a-z]*\b)/gi, '$1$1$1');
const oddCase = (text: string) =>
  [...text]
    .map((ch, i) => (i % 2 ? ch.toUpperCase() : ch.toLowerCase()))
    .join('')
    .replace(/ /g, '   ');

const ALL = { cyrillic, zeroWidth, fullWidth, leet, spaced, dotted, stretched, oddCase };
type Kind = keyof typeof ALL;
const ORDER = Object.keys(ALL) as Kind[];
// PII values must stay findable in the variant, so only letter-for-letter disguises apply.
const PII_SAFE: Kind[] = ['cyrillic', 'fullWidth'];

function variantsOf(entries: Entry[]): Entry[] {
  const out: Entry[] = [];
  let danger = 0;
  let benign = 0;
  let profane = 0;
  let pii = 0;
  for (const e of entries) {
    if (e.pii) {
      if (pii++ % 4 !== 0) continue;
      const kind = PII_SAFE[(pii >> 2) % PII_SAFE.length] as Kind;
      const f = ALL[kind];
      const values = Object.fromEntries(Object.entries(e.pii).map(([k, v]) => [k, v.map(f)]));
      out.push({ ...e, text: f(e.text), pii: values, variant: kind });
    } else if (e.danger) {
      if (danger++ % 2 !== 0) continue;
      const kind = ORDER[(danger >> 1) % ORDER.length] as Kind;
      out.push({ ...e, text: ALL[kind](e.text), variant: kind });
    } else if (e.profanity) {
      if (profane++ % 3 !== 0) continue;
      const kind = ORDER[profane % ORDER.length] as Kind;
      out.push({ ...e, text: ALL[kind](e.text), variant: kind });
    } else if (e.tag?.startsWith('lookalike')) {
      if (benign++ % 3 !== 0) continue;
      const kind = ORDER[benign % ORDER.length] as Kind;
      out.push({ ...e, text: ALL[kind](e.text), variant: kind });
    }
  }
  return out;
}

const dir = join(import.meta.dirname, '..', 'test', 'safety-corpus');
for (const split of ['tuning', 'heldout']) {
  const entries = readFileSync(join(dir, `${split}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Entry);
  const variants = variantsOf(entries);
  writeFileSync(
    join(dir, `${split}.variants.jsonl`),
    `${variants.map((v) => JSON.stringify(v)).join('\n')}\n`,
  );
  console.log(`${split}: ${entries.length} hand-written, ${variants.length} variants`);
}
