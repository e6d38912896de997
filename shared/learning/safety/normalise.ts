// Text normalisation before every safety check. Children (and people who want to get words past
// a filter) disguise text: look-alike letters from other scripts (a Cyrillic "а"), zero-width
// and control characters, full-width letters, accents, digits or symbols for letters ("k1ll",
// "sh!t"), spaced or dotted letters ("k i l l", "k.i.l.l"), stretched letters ("diiie"), and
// chat spellings ("u", "wanna", "askd"). Two forms come out:
// - `fold`: Unicode-folded text with, for every UTF-16 unit, the span of the original text it
//   came from, so a redaction found on the folded text maps back to the child's own characters;
// - `plainForms`: lower-case, de-disguised words for matching danger and unsafe phrases (no
//   spans needed: nothing is cut out of the text for a danger signal).

export interface Folded {
  text: string;
  /** Original index where output unit i starts / ends (exclusive). */
  start: number[];
  end: number[];
}

// Invisible characters that carry no meaning in a child's message: zero-width spaces and
// joiners, soft hyphens, bidi controls, the BOM, variation selectors, and C0/C1 controls except
// line breaks and tabs.
const INVISIBLE_RANGES: [number, number][] = [
  [0x0000, 0x0008],
  [0x000b, 0x000c],
  [0x000e, 0x001f],
  [0x007f, 0x009f],
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
];

/** Characters that are invisible in the text a child sees; removed from what is stored too. */
export function isInvisible(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  return INVISIBLE_RANGES.some(([from, to]) => cp >= from && cp <= to);
}
const MARK = /\p{M}/u;
const SPACE = /\s/u;
const APOSTROPHE = /[\u2018\u2019\u02bc\u02b9\u0060\u00b4\u2032]/u;
const QUOTE = /[\u201c\u201d\u2033]/u;

// The confusables table (~200 KB of JSON) loads on the first scan, not at cold start, like the
// profanity word list.
let table: Record<string, string> | undefined;
export async function loadFolding(): Promise<void> {
  table ??= (await import('unhomoglyph/data.json', { with: { type: 'json' } })).default as Record<
    string,
    string
  >;
}

/** A single non-ASCII character's Latin look-alike, when the confusables table has one. */
function foldChar(ch: string): string {
  if (ch.charCodeAt(0) < 0x80) return ch;
  if (SPACE.test(ch)) return ' ';
  if (APOSTROPHE.test(ch)) return "'";
  if (QUOTE.test(ch)) return '"';
  if (!table) throw new Error('call loadFolding() before fold()');
  const target = table[ch];
  return target && /^[\x20-\x7e]+$/.test(target) ? target : ch;
}

export function fold(input: string): Folded {
  const out: string[] = [];
  const start: number[] = [];
  const end: number[] = [];
  let i = 0;
  for (const cp of input) {
    const from = i;
    i += cp.length;
    if (isInvisible(cp)) continue;
    // Compatibility decomposition folds full-width and styled letters (math bold, circled)
    // and splits accents off, which are then dropped ("Zürich" -> "Zurich").
    for (const part of cp.normalize('NFKD')) {
      if (MARK.test(part)) continue;
      for (const unit of foldChar(part)) {
        out.push(unit);
        start.push(from);
        end.push(i);
      }
    }
  }
  return { text: out.join(''), start, end };
}

/** The original span of folded[from, to). */
export function originalSpan(f: Folded, from: number, to: number): [number, number] {
  return [f.start[from] ?? 0, f.end[to - 1] ?? f.end[f.end.length - 1] ?? 0];
}

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '9': 'g',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
  '+': 't',
  '€': 'e',
};

// Chat spellings and common misspellings of the words the danger patterns use. Words only
// (whole tokens), so "dye" is left alone in "dye my hair" by the patterns, not here.
const WORDS: Record<string, string> = {
  u: 'you',
  ur: 'your',
  r: 'are',
  ya: 'you',
  yu: 'you',
  rn: 'right now',
  im: 'i am',
  ive: 'i have',
  id: 'i would',
  ill: 'i will',
  wanna: 'want to',
  wana: 'want to',
  wnt: 'want',
  whant: 'want',
  gonna: 'going to',
  gona: 'going to',
  gunna: 'going to',
  dont: 'do not',
  doesnt: 'does not',
  didnt: 'did not',
  cant: 'can not',
  cannot: 'can not',
  wont: 'will not',
  shouldnt: 'should not',
  isnt: 'is not',
  wasnt: 'was not',
  werent: 'were not',
  arent: 'are not',
  hes: 'he is',
  shes: 'she is',
  theyre: 'they are',
  youre: 'you are',
  youll: 'you will',
  itll: 'it will',
  hell: 'he will',
  shell: 'she will',
  theyll: 'they will',
  hed: 'he would',
  shed: 'she would',
  whats: 'what is',
  wats: 'what is',
  wat: 'what',
  wot: 'what',
  wher: 'where',
  whe: 'where',
  wen: 'when',
  ded: 'dead',
  deth: 'death',
  kil: 'kill',
  kiled: 'killed',
  myslef: 'myself',
  meself: 'myself',
  mysef: 'myself',
  urself: 'yourself',
  liv: 'live',
  lve: 'live',
  hous: 'house',
  howse: 'house',
  adress: 'address',
  addres: 'address',
  adres: 'address',
  askd: 'asked',
  aksed: 'asked',
  axed: 'asked',
  sum1: 'someone',
  some1: 'someone',
  sumone: 'someone',
  any1: 'anyone',
  no1: 'no one',
  noone: 'no one',
  nobdy: 'nobody',
  evry: 'every',
  ppl: 'people',
  pic: 'photo',
  pics: 'photos',
  pix: 'photos',
  picture: 'photo',
  pictures: 'photos',
  foto: 'photo',
  fotos: 'photos',
  selfie: 'photo',
  selfies: 'photos',
  bf: 'boyfriend',
  gf: 'girlfriend',
  boyfrend: 'boyfriend',
  dm: 'message',
  dmed: 'messaged',
  dmd: 'messaged',
  snap: 'snapchat',
  insta: 'instagram',
  ig: 'instagram',
  cam: 'camera',
  webcam: 'camera',
  vid: 'video',
  vids: 'videos',
  facetime: 'video call',
  skype: 'video call',
  pls: 'please',
  plz: 'please',
  skool: 'school',
  shud: 'should',
  wud: 'would',
  cud: 'could',
  realy: 'really',
  mabey: 'maybe',
  mayb: 'maybe',
  unkl: 'uncle',
  uncl: 'uncle',
  privat: 'private',
  babysiter: 'babysitter',
  kiks: 'kicks',
  kiked: 'kicked',
  dissapear: 'disappear',
  disapear: 'disappear',
  tabletts: 'tablets',
  mom: 'mum',
  mommy: 'mummy',
  mam: 'mum',
  ma: 'mum',
  momma: 'mummy',
  mama: 'mummy',
  dady: 'daddy',
  papa: 'daddy',
  stepdad: 'step dad',
  stepmum: 'step mum',
  stepmom: 'step mum',
  stepmother: 'step mum',
  stepfather: 'step dad',
  bro: 'brother',
  sis: 'sister',
  tho: 'though',
  cuz: 'because',
  coz: 'because',
  bc: 'because',
  b4: 'before',
  '2day': 'today',
  '2moro': 'tomorrow',
  '2morrow': 'tomorrow',
  tmrw: 'tomorrow',
  tmr: 'tomorrow',
  irl: 'in real life',
  tbh: 'to be honest',
  fr: 'for real',
  kys: 'kill yourself',
};

const LETTERISH = /[a-z]/;

/** Digits and symbols inside words become the letters they stand for ("k1ll" -> "kill"). */
function unleet(text: string): string {
  const tokens = text.split(/(\s+)/);
  // A text written in leet throughout ("1 w4n7 70 d13") converts its all-digit words too.
  const mixed = tokens.filter((t) => /\d/.test(t) && LETTERISH.test(t)).length;
  const leety = mixed >= 2 && mixed * 3 >= tokens.filter((t) => t.trim()).length;
  return tokens
    .map((t) => {
      if (!t.trim()) return t;
      const hasLetter = LETTERISH.test(t);
      if (!hasLetter && !leety) return t.replace(/[$@!|]/g, (c) => LEET[c] ?? c);
      // Keep the word's edges: "hi!" stays "hi!", "2moro" is a chat word, not leet.
      return t.replace(/([a-z0-9$@!|+€]+)/g, (w) => {
        if (WORDS[w]) return w;
        if (!hasLetter && !leety) return w;
        if (/^\d+(st|nd|rd|th|s|am|pm|k|m|km|kg|cm|mm|yo)?$/.test(w) && !leety) return w;
        return [...w]
          .map((c, i) => (c === '!' && i === w.length - 1 ? c : (LEET[c] ?? c)))
          .join('');
      });
    })
    .join('');
}

/**
 * "k i l l", "k.i.l.l", "k-i-l-l" -> "kill" (three or more single letters in a row). With
 * `keepLeadingWord`, a run starting with "a " or "i " keeps that word apart ("a p e r s o n"
 * -> "a person"), as it may be the article or the pronoun.
 */
const joinSpaced = (text: string, keepLeadingWord: boolean) =>
  text.replace(/(?<![a-z])(?:[a-z][\s.\-_*]+){2,}[a-z](?![a-z])/g, (run) => {
    const lead = keepLeadingWord ? /^([ai])\s+/.exec(run) : null;
    return lead
      ? `${lead[1]} ${run.slice(lead[0].length).replace(/[^a-z]/g, '')}`
      : run.replace(/[^a-z]/g, '');
  });

/**
 * Lower-case, de-disguised forms of the folded text for phrase matching: apostrophes dropped
 * ("don't" -> "dont" -> "do not"), leet undone, spaced letters joined, chat words expanded,
 * spacing collapsed; letters stretched three or more times appear once in one form and twice
 * in the other ("diiie" -> "die", "sleeeep" -> "sleep").
 */
export function plainForms(folded: string): string[] {
  let t = folded.toLowerCase().replace(/['"`]/g, '');
  t = unleet(t);
  t = t.replace(/(?<=[a-z])[*#](?=[a-z])/g, 'u');
  const joined = [joinSpaced(t, false), joinSpaced(t, true)].map((x) =>
    x.replace(/[^a-z0-9.,!?;:\s]/g, ' '),
  );
  const words = (s: string) =>
    s
      .split(/\s+/)
      .map((w) => {
        const m = /^([a-z0-9]+)(.*)$/.exec(w);
        if (!m) return w;
        const base = m[1] as string;
        return (WORDS[base] ?? base) + (m[2] ?? '');
      })
      .join(' ')
      .trim();
  const forms = joined.flatMap((j) => [
    words(j.replace(/([a-z])\1{2,}/g, '$1')),
    words(j.replace(/([a-z])\1{2,}/g, '$1$1')),
  ]);
  return [...new Set(forms)];
}

/**
 * For text with stretched letters ("meeeeet meee"), the first plain form with every doubled
 * letter written once; matched against rules squeezed the same way (danger.ts).
 */
export function squeezedForm(folded: string, forms: string[]): string | undefined {
  const first = forms[0];
  if (!first || !/(\p{L})\1{2,}/iu.test(folded)) return undefined;
  return first.replace(/([a-z])\1+/g, '$1');
}
