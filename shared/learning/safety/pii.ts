// Personal details in a child's text, found on the folded text (normalise.ts) as spans, so the
// caller cuts them out of the child's own characters. Only the detail itself is cut: "my name
// is [name removed] and I like space" still tells the tutor what the child means.
import { AMBIGUOUS_NAMES, FIRST_NAMES } from './names.ts';

export type PiiKind =
  | 'email'
  | 'phone'
  | 'address'
  | 'url'
  | 'name'
  | 'school'
  | 'handle'
  | 'coordinates'
  | 'card'
  | 'id_number';

export interface Span {
  kind: PiiKind;
  start: number;
  end: number;
}

const MASK = '\u2588';

/** Blanks found spans out so later detectors do not find parts of them again. */
export function mask(text: string, spans: readonly Span[]): string {
  let out = text;
  for (const s of spans)
    out = out.slice(0, s.start) + MASK.repeat(s.end - s.start) + out.slice(s.end);
  return out;
}

/** Every match of `pattern` (global); `group` picks the part to cut (whole match by default). */
function spansOf(text: string, pattern: RegExp, kind: PiiKind, group?: number): Span[] {
  const spans: Span[] = [];
  for (const m of text.matchAll(pattern)) {
    if (m.index === undefined) continue;
    if (group === undefined) {
      spans.push({ kind, start: m.index, end: m.index + m[0].length });
      continue;
    }
    const part = m[group];
    if (!part) continue;
    const offset = m.indices?.[group]?.[0] ?? m.index + m[0].lastIndexOf(part);
    spans.push({ kind, start: offset, end: offset + part.length });
  }
  return spans;
}

// --- emails ----------------------------------------------------------------------------
const TLD =
  'com|net|org|edu|gov|io|co|uk|us|ca|au|nz|ie|eu|de|fr|es|nl|it|ru|jp|br|mx|za|in|ai|app|dev|me|tv|info|biz|xyz|online|email|mail';
const AT = '(?:\\s*@\\s*|\\s*[([{]\\s*at\\s*[)\\]}]\\s*|\\s+at\\s+)';
const DOT = '(?:\\s*\\.\\s*|\\s*[([{]\\s*dot\\s*[)\\]}]\\s*|\\s+dot\\s+)';
const LOCAL = `[a-z0-9_%+-]+(?:${DOT}[a-z0-9_%+-]+)*`;
const DOMAIN = `[a-z0-9-]+(?:${DOT}[a-z0-9-]+)*${DOT}(?:${TLD})\\b`;
const EMAIL = new RegExp(`(?<![\\w.])${LOCAL}${AT}${DOMAIN}`, 'gi');
// The name part given apart from the domain: "it's at gmail dot com, the name part is jake22".
const MAIL_PROVIDER = new RegExp(
  `(?:${AT.replace('\\s+at\\s+', '\\bat\\s+')})(?:gmail|googlemail|hotmail|outlook|yahoo|icloud|aol|live|msn|protonmail|proton|btinternet|gmx|mail)${DOT}(?:${TLD})(?:${DOT}(?:${TLD}))?\\b`,
  'gi',
);
const HAS_MAIL_PROVIDER = new RegExp(MAIL_PROVIDER.source, 'i');
const PROVIDER =
  /\b(?:gmail|googlemail|hotmail|outlook|yahoo|icloud|aol|live|msn|protonmail|proton|btinternet|gmx|mail)\b/i;
const EMAIL_TALK = /\b(?:e-?mail|mail|contact|write to|inbox)\b/i;
const EMAIL_NAME_PART =
  /\b(?:name part|first part|user ?name part|part before the at|bit before the at|before the at)\s*(?:is|=|:)?\s*([a-z0-9._%+-]+)/gi;

// --- links -----------------------------------------------------------------------------
const URL_WITH_SCHEME = /\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s<>"']+/gi;
const BARE_DOMAIN =
  /\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|edu|gov|io|co|uk|us|ca|au|nz|ie|eu|de|fr|es|nl|ru|jp|br|mx|za|ai|app|dev|xyz|info|biz|me|tv|fm|gg|ly|link|site|online|club|games|live|store|shop|blog|tk)\b(?:\/[^\s<>"']*)?/gi;

// --- numbers: cards (Luhn), ID numbers, coordinates, phones ----------------------------
const CARD_CANDIDATE = /(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d.,]\d)/g;
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const ID_WORDS =
  '(?:passport|ssn|social security|social insurance|national insurance|ni|nhs|medicare|student|school|pupil|library|id|identity|identification|driving licen[cs]e|licen[cs]e|account|bank account|sort code|tax|citizen|health card|insurance)';
const ID_AFTER_WORD = new RegExp(
  `\\b${ID_WORDS}\\s*(?:id\\s*)?(?:number|no\\.?|num|#|code|card)?\\s*(?:is|=|:|-)?\\s*([a-z]{0,2}\\d(?:[\\s-]?[\\da-z]){4,}\\d)\\b`,
  'gi',
);
const SSN = /\b\d{3}-\d{2}-\d{4}\b/g;
const UK_NI = /\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b/g;

const LAT = '[-+]?(?:[0-8]?\\d|90)\\.\\d{2,}';
const LON = '[-+]?(?:1[0-7]\\d|0?\\d{1,2}|180)\\.\\d{2,}';
const DEG = '\\s*°?\\s*';
const COORD_PAIR = new RegExp(
  `(?<![\\d.])(${LAT})${DEG}([NS])?\\s*(?:,|\\s)\\s*(${LON})${DEG}([EW])?(?![\\d.])`,
  'gi',
);
const COORD_LABELLED =
  /\b(?:lat(?:itude)?|lon(?:g(?:itude)?)?|lng)\s*[:=]?\s*([-+]?\d{1,3}\.\d+)/gi;
const COORD_DMS = /\d{1,3}\s*°\s*\d{1,2}\s*['′]\s*(?:\d{1,2}(?:\.\d+)?\s*["″]\s*)?[NSEW]/gi;
const LOCATION_WORDS =
  /\b(?:coordinates?|co-ordinates?|gps|location|lat|long|house|home|live|find me|we are at|i am at|i'm at|im at|address|where i am)\b/i;

const PHONE_CANDIDATE = /(?<![\w.])\+?\(?\d[\d\s().-]{5,}\d(?![\w])/g;
const YEARS_ONLY = /^(?:(?:19|20)\d\d\D+)+(?:19|20)\d\d$/;
const PHONE_WORDS =
  /\b(?:phone|mobile|cell|call|ring|text|txt|whatsapp|contact|tel|(?:my|mums?|mom'?s|dads?|his|her|their|our|home|phone|mobile|cell) number|on)\b[^.!?]{0,20}$/i;
const UNIT_AFTER =
  /^\s*(?:km|kilomet|met|m\b|miles?|mph|kg|g\b|years?|light|people|times|stars|degrees|percent|%|metres|meters|feet|ft|cm|mm|seconds|minutes|hours|days|dollars|pounds|euros|robux|points|coins|km\/h|per)/i;
const DIGIT_WORD = '(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|\\d)';
const WORDED_PHONE = new RegExp(`\\b${DIGIT_WORD}(?:[\\s,-]+${DIGIT_WORD}){6,}\\b`, 'gi');

// --- addresses and postcodes -----------------------------------------------------------
const STREET_SUFFIX =
  'street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|pl|terrace|close|crescent|highway|hwy|parkway|pkwy|square|sq|grove|gardens|mews|row|hill|walk|view|rise';
const NOT_A_STREET_NAME =
  'down|up|to|of|and|along|across|from|around|over|into|my|our|your|his|her|their|the|a|miles?|km|kilometres?|kilometers?|blocks?|minutes?|mins?|hours?|times|steps?|metres?|meters?|feet|houses?|cars?|kids|people|years?|days?';
const STREET_ADDRESS = new RegExp(
  `\\b\\d{1,5}[a-z]?,?\\s+(?:(?!(?:${NOT_A_STREET_NAME})\\b)[\\p{L}'.-]+\\s+){0,3}(?:${STREET_SUFFIX})\\b\\.?`,
  'giu',
);
// Continental street names carry the street word inside: Hauptstraße 12, Kerkstraat 45.
const COMPOUND_STREET =
  /\b[\p{L}-]*(?:straße|strasse|str\.|straat|gasse|weg|laan|plein|gade|vej|gatan|vägen|vagen|veien|allee|platz|dijk|kade|steeg|gracht|ulica)\s+\d{1,5}[a-z]?\b/giu;
// Street word first: Calle Mayor 23, Via Roma 8, 7 rue de la Paix, Avenida Paulista 1000.
const PREFIX_STREET =
  /(?:\b\d{1,5}[a-z]?,?\s+)?\b(?:calle|avenida|avda|av\.|rua|rue|chemin|carrer|piazza|corso|viale|largo|travessa|paseo|plaza|strada|boulevard|bd|ulica|ul\.|allee|impasse|quai)\s+(?:[\p{L}'-]+\s+){0,3}?[\p{L}'-]+(?:,?\s*\d{1,5}[a-z]?\b)?/giu;
const VIA_STREET = /\bvia\s+[\p{Lu}][\p{L}'-]*(?:\s+[\p{L}'-]+){0,2}\s*,?\s*\d{1,5}[a-z]?\b/gu;
const LIVE_AT =
  /\b(?:i|we|my family|my mum|my dad|my nan|my gran)\s+(?:live|lives|stay|stays|moved)\s+(?:at|on|to)\s+((?:number\s+)?[^.,!?\n]+)/gi;
const ADDRESS_IS =
  /\b(?:my|our|his|her|their)\s+(?:home\s+|house\s+|new\s+|full\s+)?(?:address|adress|addres|adres)\s*(?:(?:is|=|:|-)\s*|(?=\d))([^.!?\n]+)/gi;
const HOUSE_ON =
  /\b(?:my|our)\s+(?:house|home|flat|apartment)\b[^.!?\n]{0,30}?\b(?:on|in|at)\s+((?:[\p{L}'-]+\s+){0,3}(?:street|st|avenue|ave|road|rd|lane|drive|close|way|crescent|terrace|grove|court|place|gardens))\b/giu;
const HOUSE_IS =
  /\b(?:my|our)\s+(?:house|home|flat)\s+is\s+(?:at\s+)?((?:number\s+)?\d[^.!?\n]*|[\p{L}-]+(?:straße|strasse|straat|gasse|weg|laan)\s+\d[^.!?\n]*)/giu;
const SEND_TO = /\bsend (?:it|them|stuff|things|a present|presents?) to\s+(\d[^.!?\n]*)/gi;
const UK_POSTCODE = /\b[A-Z]{1,2}\d[A-Z\d]?\s*\d(?!st|nd|rd|th)[A-Z]{2}\b/gi;
const CA_POSTCODE = /\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b/gi;
const US_STATE_ZIP = /\b[A-Z]{2}\s+(\d{5}(?:-\d{4})?)\b/g;
const ZIP_CODE =
  /\b(?:zip|zipcode|postal|postcode|post code|plz|cep|pin code)(?:\s*code)?(?:\s+is)?[\s:]*([A-Z0-9]{3,5}(?:[\s-]?[A-Z0-9]{3,4})?)\b/gi;
// Four or five digits before a town name, or Dutch 1234 AB: weak alone, so only in a message
// that already gives an address or says it is one.
const CONTINENTAL_POSTCODE = /\b(\d{4,5}(?:\s?[A-Z]{2}(?=\s+\p{Lu}))?)\s+\p{Lu}[\p{L}-]+/gu;
const ADDRESS_CONTEXT =
  /\b(?:address|adress|live|lives|house|home|postcode|zip|moved to|send it to)\b/i;

// --- names -----------------------------------------------------------------------------
const STOP = new Set(
  `and or but so because i im i'm me my is was am are be the a an in at on to from of for with by
btw lol haha hi hey hello and yes no not too also just really very year years old aged age grade
class like love likes loves play plays who what when where why how this that it its it's nice
thanks thank please ok okay you your u ur we our they their he she his her him them there here
then now today tomorrow yesterday sorry um er well wait oh ah called named`.split(/\s+/),
);
const NAME_WORD = "[\\p{L}][\\p{L}'-]*";
const NAME_INTRO = new RegExp(
  `\\b(?:my\\s+(?:full\\s+|real\\s+|first\\s+|last\\s+|whole\\s+)?(?:name|nam|naem)\\s*(?:'s|s|is|=|:)|my\\s+(?:name|nam)'?s\\s+is|i\\s+am\\s+called|i'?m\\s+called|im\\s+called|call\\s+me|they\\s+call\\s+me|people\\s+call\\s+me|(?:his|her|their)\\s+name\\s+is)\\s+(?:is\\s+)?((?:${NAME_WORD})(?:\\s+${NAME_WORD}){0,2})`,
  'giu',
);
const RELATION =
  '(?:best\\s+friend|friend|bff|sister|brother|cousin|mum|mom|mummy|dad|daddy|step\\s?dad|step\\s?mum|uncle|aunt|auntie|nan|nana|grandma|grandad|grandpa|granny|neighbou?r|teacher|coach|tutor|babysitter|boyfriend|girlfriend|crush|classmate)';
const RELATION_NAMED = new RegExp(
  `\\bmy\\s+(?:\\w+\\s+)?${RELATION}(?:'?s)?\\s+(?:(?:full\\s+)?name\\s+is|is\\s+called|is\\s+named|called|named|'?s\\s+name\\s+is)\\s+((?:${NAME_WORD})(?:\\s+${NAME_WORD}){0,2})`,
  'giu',
);
// "my brother Leo Martin": a capitalised name right after the relation (case-sensitive).
const RELATION_CAPITALISED = new RegExp(
  `\\b[Mm]y\\s+(?:\\w+\\s+)?${RELATION}\\s+(\\p{Lu}\\p{Ll}+(?:\\s+\\p{Lu}\\p{Ll}+)?)\\b`,
  'gu',
);
const TITLE_NAME =
  /\b(?:Mr|Mrs|Ms|Miss|Mx|Sir|Madam)\.?\s+(\p{Lu}[\p{L}'-]+(?:-\p{Lu}[\p{L}'-]+)?)/gu;
const I_AM = new RegExp(
  `\\b(?:i'?m|im|i\\s+am|this\\s+is|it'?s)\\s+(${NAME_WORD})((?:\\s+${NAME_WORD}){0,2})`,
  'giu',
);

function nameTokens(words: string, text: string, offset: number): Span | undefined {
  // Keep the words up to the first stop word; a name has at most three.
  const parts = words.split(/\s+/);
  const kept: string[] = [];
  for (const w of parts) {
    if (STOP.has(w.toLowerCase()) || /\d/.test(w)) break;
    kept.push(w);
  }
  if (kept.length === 0) return undefined;
  const name = kept.join(' ');
  const start = text.indexOf(name, offset);
  if (start < 0) return undefined;
  return { kind: 'name', start, end: start + name.length };
}

function names(text: string): Span[] {
  const spans: Span[] = [];
  for (const pattern of [NAME_INTRO, RELATION_NAMED]) {
    for (const m of text.matchAll(pattern)) {
      const words = m[1];
      if (!words || m.index === undefined) continue;
      const span = nameTokens(words, text, m.index + m[0].length - words.length);
      if (span) spans.push(span);
    }
  }
  spans.push(...spansOf(text, RELATION_CAPITALISED, 'name', 1));
  spans.push(...spansOf(text, TITLE_NAME, 'name', 1));
  for (const m of text.matchAll(I_AM)) {
    const first = m[1];
    if (!first || m.index === undefined) continue;
    const lower = first.toLowerCase();
    const capital = /^\p{Lu}/u.test(first);
    if (!FIRST_NAMES.has(lower)) continue;
    if (AMBIGUOUS_NAMES.has(lower) && !capital) continue;
    const firstStart = m.index + m[0].length - first.length - (m[2]?.length ?? 0);
    if (text[firstStart + first.length] === "'") continue; // "I'm Sam's friend"
    // A surname: the next word, when it is not a stop word and is capitalised like the first
    // name (or everything is in lower case).
    const rest = (m[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const words = [first];
    for (const w of rest) {
      if (STOP.has(w.toLowerCase()) || /\d/.test(w)) break;
      if (capital !== /^\p{Lu}/u.test(w)) break;
      if (!capital && COMMON_AFTER_NAME.has(w)) break;
      words.push(w);
      break;
    }
    const span = nameTokens(words.join(' '), text, firstStart);
    if (span) spans.push(span);
  }
  return spans;
}
const COMMON_AFTER_NAME = new Set(
  'going gonna here back home done bored sad happy good fine tired hungry cool ready excited sorry new from in at'.split(
    ' ',
  ),
);

// --- schools ---------------------------------------------------------------------------
const SCHOOL_TYPE =
  '(?:primary|elementary|junior|infants?|middle|high|secondary|grammar|prep|preparatory|catholic|c\\s?of\\s?e|academy|college|school|montessori|kindergarten|gymnasium|lyc[eé]e|escuela|colegio|scuola|grundschule)';
const SCHOOL_LEAD =
  "(?:go(?:es)?\\s+to|went\\s+to|attend(?:s)?|study\\s+at|studying\\s+at|(?:year|grade|class)\\s+\\d+\\s+at|(?:i'?m|im|i\\s+am|we\\s+are)\\s+at|at|from|my\\s+school(?:'s|s)?\\s+(?:is\\s+called|is\\s+named|name\\s+is|is)|school\\s+is\\s+called)";
const NON_NAME = new Set(
  `the a an my our your their his her this that every which what no school home primary high secondary middle
junior elementary college academy big small new old local same other best worst football swimming music art
science maths math reading coding dance drama sunday summer after before`.split(/\s+/),
);
const SCHOOL_AFTER_LEAD = new RegExp(
  `\\b${SCHOOL_LEAD}\\s+((?:[\\p{L}'.-]+\\s+){1,4}?${SCHOOL_TYPE}(?:\\s+(?:school|academy|college))?)\\b`,
  'giu',
);
const SCHOOL_CAPITALISED =
  /((?:\p{Lu}[\p{L}'.-]*\s+){1,4}(?:Primary|Elementary|Junior|Infants?|Middle|High|Secondary|Grammar|Prep|Academy|College|School|Montessori)(?:\s+(?:School|Academy|College))?)\b/gu;
const SCHOOL_CALLED = new RegExp(
  `\\bmy\\s+school(?:'?s)?\\s+(?:is\\s+called|is\\s+named|name\\s+is)\\s+((?:${NAME_WORD})(?:\\s+${NAME_WORD}){0,3})`,
  'giu',
);

const NOT_IN_NAME = new RegExp(
  `^(?:${[...STOP].join('|')}|after|before|near|next|behind|by|during|until|till|since|every|each)$`,
  'i',
);

function schools(text: string): Span[] {
  const spans: Span[] = [];
  const accept = (name: string, at: number) => {
    const words = name.split(/\s+/);
    // The name must start with a word that is a name, not "the", "my", "football"...
    while (words.length > 1 && NON_NAME.has((words[0] as string).toLowerCase())) {
      at += (words.shift() as string).length + 1;
    }
    if (words.length < 2 && !/^\p{Lu}/u.test(words[0] ?? '')) return;
    if (words.slice(1).some((w) => NOT_IN_NAME.test(w) && !/^(?:of|de|la|st)$/i.test(w))) return;
    const first = (words[0] as string).toLowerCase();
    if (NON_NAME.has(first) || new RegExp(`^${SCHOOL_TYPE}$`, 'i').test(first)) return;
    const joined = words.join(' ');
    spans.push({ kind: 'school', start: at, end: at + joined.length });
  };
  for (const m of text.matchAll(SCHOOL_AFTER_LEAD)) {
    const name = m[1];
    if (!name || m.index === undefined) continue;
    accept(name, m.index + m[0].length - name.length);
  }
  for (const m of text.matchAll(SCHOOL_CAPITALISED)) {
    const name = m[1];
    if (!name || m.index === undefined) continue;
    accept(name, m.index);
  }
  for (const m of text.matchAll(SCHOOL_CALLED)) {
    const words = m[1];
    if (!words || m.index === undefined) continue;
    const span = nameTokens(words, text, m.index + m[0].length - words.length);
    if (span) spans.push({ ...span, kind: 'school' });
  }
  return spans;
}

// --- social handles and game usernames -------------------------------------------------
const PLATFORM =
  '(?:clash\\s+royale|brawl\\s+stars|epic\\s+games|pokemon\\s+go|xbox\\s+live|playstation|among\\s+us|tik\\s?tok|minecraft|instagram|fortnite|snapchat|whatsapp|telegram|facebook|nintendo|discord|youtube|twitter|threads|genshin|roblox|tiktok|twitch|switch|insta|steam|snap|xbox|epic|psn|ps4|ps5|kik|ig|yt|fb|x)(?![\\p{L}\\d])';
const HANDLE_WORD =
  '(?:user\\s?name|name|tag|gamertag|gamer\\s?tag|handle|id|account|channel|profile|ign|code)';
const HANDLE = '@?([\\p{L}\\d_.#-]{3,32})';
const HANDLE_AFTER_PLATFORM = new RegExp(
  `\\b(?:my|add\\s+me\\s+on|follow\\s+me\\s+on|find\\s+me\\s+on|friend\\s+me\\s+on|dm\\s+me\\s+on|message\\s+me\\s+on|i'?m\\s+on|im\\s+on|i\\s+am\\s+on)\\s+${PLATFORM}(?:\\s+${HANDLE_WORD})?\\s*(?:is|=|:|-|as|its|it's|i'?m|im)?\\s*(?:called\\s+)?${HANDLE}`,
  'giu',
);
const HANDLE_AFTER_WORD = new RegExp(
  `\\bmy\\s+(?:${PLATFORM}\\s+)?(?:user\\s?name|gamertag|gamer\\s?tag|handle|ign|psn|epic\\s+name|xbox\\s+name|channel)(?:\\s+(?:on|in|for)\\s+${PLATFORM})?\\s*(?:is|=|:|-)?\\s*(?:called\\s+)?${HANDLE}`,
  'giu',
);
const HANDLE_AFTER_VERB = new RegExp(
  `\\b(?:snap|add|follow|dm|message|friend)\\s+me\\s*(?:on\\s+${PLATFORM}\\s*)?[:=-]?\\s*${HANDLE}`,
  'giu',
);
const AT_HANDLE = /(?<![\w.@])@([\p{L}\d_.]{3,30})/gu;
const SELF_CONTEXT = /\b(?:my|me|i'?m|im|i am|add|follow|dm|mine|its|it's)\b/i;
const NOT_HANDLE = new Set(
  'everyone here channel all the a an and me you it this that my called on is'.split(' '),
);
// A username has a digit, an underscore, a dot, a # tag, or a capital inside.
const HANDLE_SHAPED = /^(?=.*(?:[\d_.#]|\p{Ll}\p{Lu}))[\p{L}\d_.#-]{3,32}$/u;

function handles(text: string): Span[] {
  const spans: Span[] = [];
  const add = (pattern: RegExp, needShape: boolean) => {
    for (const m of text.matchAll(pattern)) {
      const h = m[1]?.replace(/[.,;:!?-]+$/, '');
      if (!h || m.index === undefined || NOT_HANDLE.has(h.toLowerCase())) continue;
      if (needShape && !HANDLE_SHAPED.test(h)) continue;
      const at = m.index + m[0].lastIndexOf(m[1] as string);
      spans.push({ kind: 'handle', start: at, end: at + h.length });
    }
  };
  add(HANDLE_AFTER_PLATFORM, false);
  add(HANDLE_AFTER_WORD, false);
  add(HANDLE_AFTER_VERB, true);
  if (SELF_CONTEXT.test(text)) add(AT_HANDLE, false);
  return spans;
}

// --- all together ----------------------------------------------------------------------
function phones(view: string, digitView: string): Span[] {
  const spans: Span[] = [];
  for (const m of digitView.matchAll(PHONE_CANDIDATE)) {
    if (m.index === undefined) continue;
    const match = m[0];
    const digits = match.replace(/\D/g, '').length;
    if (digits < 7 || digits > 15 || YEARS_ONLY.test(match.trim())) continue;
    const before = view.slice(Math.max(0, m.index - 40), m.index);
    const after = view.slice(m.index + match.length);
    const grouped = /^\+|^\(|^0\d/.test(match.trim()) || /\d[\s().-]+\d/.test(match);
    if (UNIT_AFTER.test(after) && !PHONE_WORDS.test(before)) continue;
    if (!PHONE_WORDS.test(before) && !grouped) continue;
    if (/\d\.\d/.test(match) && !PHONE_WORDS.test(before)) continue;
    spans.push({ kind: 'phone', start: m.index, end: m.index + match.length });
  }
  return spans;
}

const HANDLE_HINT = new RegExp(
  `@|\\b${PLATFORM}|\\b(?:user\\s?name|gamer\\s?tag|handle|ign|channel|add me|follow me|dm me|snap me|friend me|message me)`,
  'iu',
);
const SCHOOL_HINT = new RegExp(`\\b${SCHOOL_TYPE}\\b`, 'iu');
const NAME_HINT =
  /\b(?:name|nam|naem|called|call me|i'?m|im|i am|this is|it'?s|mr|mrs|ms|miss|mx|sir|madam|my)\b/i;

type Detector = (view: string, folded: string) => Span[];

const DETECTORS: Detector[] = [
  // "at" written as a word is ordinary English ("my channel at youtube.com"): such a match
  // is an email only with a mail provider's domain, a spelled-out "dot", or email talk.
  (v) =>
    spansOf(v, EMAIL, 'email').filter((s) => {
      const m = v.slice(s.start, s.end);
      return (
        m.includes('@') ||
        /\bdot\b|[([{]\s*at\s*[)\]}]/i.test(m) ||
        PROVIDER.test(m) ||
        EMAIL_TALK.test(v)
      );
    }),
  (v, folded) =>
    HAS_MAIL_PROVIDER.test(folded)
      ? [...spansOf(v, MAIL_PROVIDER, 'email'), ...spansOf(v, EMAIL_NAME_PART, 'email', 1)]
      : [],
  (v) => spansOf(v, URL_WITH_SCHEME, 'url'),
  (v) => spansOf(v, BARE_DOMAIN, 'url'),
  (v) =>
    [...v.matchAll(CARD_CANDIDATE)]
      .filter((m) => luhn(m[0].replace(/\D/g, '')))
      .map((m) => ({ kind: 'card' as const, start: m.index, end: m.index + m[0].length })),
  (v) => [...spansOf(v, ID_AFTER_WORD, 'id_number', 1), ...spansOf(v, SSN, 'id_number')],
  (v) => spansOf(v, UK_NI, 'id_number'),
  (v) => {
    const pairs = [...v.matchAll(COORD_PAIR)].filter((m) => {
      const decimals = Math.max(
        (m[1] ?? '').split('.')[1]?.length ?? 0,
        (m[3] ?? '').split('.')[1]?.length ?? 0,
      );
      return Boolean(m[2] || m[4]) || decimals >= 4 || LOCATION_WORDS.test(v);
    });
    const spans: Span[] = pairs.map((m) => ({
      kind: 'coordinates',
      start: m.index,
      end: m.index + m[0].length,
    }));
    spans.push(...spansOf(v, COORD_DMS, 'coordinates'));
    if (LOCATION_WORDS.test(v)) spans.push(...spansOf(v, COORD_LABELLED, 'coordinates', 1));
    return spans;
  },
  (v) => {
    // Letters children type for digits in a phone number: "o7 7oo 9oo 123".
    const digitView = v.replace(/\b[\doO]*\d[\doO]*\b/g, (t) => t.replace(/[oO]/g, '0'));
    return phones(v, digitView);
  },
  (v) => spansOf(v, WORDED_PHONE, 'phone'),
  (v) => [
    ...spansOf(v, ADDRESS_IS, 'address', 1),
    ...spansOf(v, LIVE_AT, 'address', 1),
    ...spansOf(v, HOUSE_IS, 'address', 1),
    ...spansOf(v, HOUSE_ON, 'address', 1),
    ...spansOf(v, SEND_TO, 'address', 1),
  ],
  (v) => [
    ...spansOf(v, STREET_ADDRESS, 'address'),
    ...spansOf(v, COMPOUND_STREET, 'address'),
    ...spansOf(v, PREFIX_STREET, 'address'),
    ...spansOf(v, VIA_STREET, 'address'),
  ],
  (v) => [
    ...spansOf(v, UK_POSTCODE, 'address').filter(
      (s) => /[A-Z]/.test(v.slice(s.start, s.end)) || ADDRESS_CONTEXT.test(v),
    ),
    ...spansOf(v, CA_POSTCODE, 'address'),
    ...spansOf(v, US_STATE_ZIP, 'address', 1),
    ...spansOf(v, ZIP_CODE, 'address', 1),
  ],
  (v) => (ADDRESS_CONTEXT.test(v) ? spansOf(v, CONTINENTAL_POSTCODE, 'address', 1) : []),
  // The costlier word-based detectors run only when a word they start from is there.
  (v) => (HANDLE_HINT.test(v) ? handles(v) : []),
  (v) => (SCHOOL_HINT.test(v) ? schools(v) : []),
  (v) => (NAME_HINT.test(v) ? names(v) : []),
];

/** Spans of personal details in the folded text, without overlaps, in text order. */
export function findPii(folded: string): Span[] {
  const found: Span[] = [];
  let view = folded;
  for (const detect of DETECTORS) {
    const spans = detect(view, folded).filter(
      (s) =>
        s.end > s.start &&
        !view.slice(s.start, s.end).includes(MASK) &&
        view.slice(s.start, s.end).trim(),
    );
    // Trim trailing spaces and commas so "[address removed], Paris" keeps its comma.
    for (const s of spans) {
      while (s.end > s.start && /[\s,;:]/.test(folded[s.end - 1] ?? '')) s.end--;
      while (s.end > s.start && /\s/.test(folded[s.start] ?? '')) s.start++;
    }
    const fresh = spans.filter(
      (s) => s.end > s.start && !found.some((f) => s.start < f.end && f.start < s.end),
    );
    // Among this detector's own spans keep the longest of overlapping ones.
    fresh.sort((a, b) => a.start - b.start || b.end - a.end);
    for (const s of fresh) {
      if (found.some((f) => s.start < f.end && f.start < s.end)) continue;
      found.push(s);
    }
    view = mask(folded, found);
  }
  return found.sort((a, b) => a.start - b.start);
}
