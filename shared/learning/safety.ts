// Safety checks run on every text before it is stored or sent anywhere: the child's free text
// on the way in, the tutor's reply on the way out. Personal details are redacted, profanity and
// unsafe content filtered, and danger signals (self-harm, abuse, someone wanting to meet)
// reported so the caller raises a parent alert and answers with a safe, kind reply.
import type { RegExpMatcher, TextCensor } from 'obscenity';
import type { AgeGroup } from './types.ts';

export type PiiKind = 'email' | 'phone' | 'address' | 'url';
export type DangerKind = 'self_harm' | 'abuse' | 'meeting';

export interface SafetyResult {
  /** The text with personal details redacted and profanity censored: the only form stored. */
  text: string;
  redacted: PiiKind[];
  profanity: boolean;
  unsafe: boolean;
  danger: DangerKind | undefined;
  /** Something was changed or flagged (messages.was_filtered). */
  filtered: boolean;
  /** Comma-separated reasons for messages.filter_reason, or undefined. */
  reason: string | undefined;
}

const PLACEHOLDER: Record<PiiKind, string> = {
  email: '[email removed]',
  phone: '[phone number removed]',
  address: '[address removed]',
  url: '[link removed]',
};

const EMAIL = /[A-Z0-9._%+-]+@[A-Z0-9-]+(?:\.[A-Z0-9-]+)*\.[A-Z]{2,}/gi;
// Children space out or spell out an address to get it past a filter: "sam @ gmail . com",
// "sam at gmail dot com", "sam(at)gmail(dot)com".
const SPACED_EMAIL = /[A-Z0-9._%+-]+\s*@\s*[A-Z0-9-]+(?:\s*\.\s*[A-Z0-9-]+)*\s*\.\s*[A-Z]{2,}\b/gi;
const WORDED_EMAIL =
  /\b[A-Z0-9._%+-]+\s*(?:\(at\)|\[at\]|\sat\s)\s*[A-Z0-9-]+(?:\s*(?:\(dot\)|\[dot\]|\sdot\s)\s*[A-Z0-9-]+)+/gi;
const URL_WITH_SCHEME = /\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s<>"']+/gi;
const BARE_DOMAIN =
  /\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|edu|gov|io|co|uk|us|ca|au|nz|ie|eu|de|fr|es|nl|ru|jp|br|mx|za|ai|app|dev|xyz|info|biz|me|tv|fm|gg|ly|link|site|online|club|games|live|store|shop|blog|tk)\b(?:\/[^\s<>"']*)?/gi;
// At least 7 digits with the usual separators; the digit count is checked after matching.
const PHONE_CANDIDATE = /(?<![\w.])\+?\(?\d[\d\s().-]{5,}\d(?![\w])/g;
// A list of years ("in 2019 2020 and 2021") is not a phone number.
const YEARS_ONLY = /^(?:(?:19|20)\d\d\D+)+(?:19|20)\d\d$/;
// Seven or more digits written as words: "five five five one two three four".
const DIGIT_WORD = '(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\\d)';
const WORDED_PHONE = new RegExp(`\\b${DIGIT_WORD}(?:[\\s,-]+${DIGIT_WORD}){6,}\\b`, 'gi');
const STREET_SUFFIX =
  'street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|pl|terrace|close|crescent|highway|hwy|parkway|pkwy|square|sq';
// Words that show a number counts something ("5 miles down the road"), not a house.
const NOT_A_STREET_NAME =
  'down|up|to|of|and|along|across|from|around|over|into|my|our|your|his|her|their|miles?|km|kilometres?|kilometers?|blocks?|minutes?|mins?|hours?|times|steps?|metres?|meters?|feet|houses?|cars?|kids|people';
const STREET_ADDRESS = new RegExp(
  `\\b\\d{1,5}[a-z]?\\s+(?:(?!(?:${NOT_A_STREET_NAME})\\b)[a-z0-9'.-]+\\s+){0,3}(?:${STREET_SUFFIX})\\b\\.?`,
  'gi',
);
// "I live at/on ..." names a place even without a house number.
const LIVE_AT = /\b(i|we)\s+live\s+(at|on)\s+([^.,!?\n]+)/gi;
// "My address is ..." names it up to the end of the sentence (commas included).
const ADDRESS_IS = /\b(my|our)\s+(home\s+|house\s+)?address\s+is\s+[^.!?\n]+/gi;
const UK_POSTCODE = /\b[A-Z]{1,2}\d[A-Z\d]?\s*\d(?!st|nd|rd|th)[A-Z]{2}\b/gi;
const ZIP_CODE = /\bzip(?:\s*code)?(?:\s+is)?[\s:]*\d{5}(?:-\d{4})?\b/gi;

const DANGER_PATTERNS: Record<DangerKind, RegExp> = {
  self_harm:
    /\b(kill(ing)? myself|unalive\w*|kms|hurt(ing)? myself|cut(ting)? myself|harm(ing)? myself|hate myself|want(ed)? to die|wanna die|wish i (was|were) dead|end my life|suicid\w*|(don'?t|do not) want to (live|be alive|wake up)|no reason to live|better off (dead|without me)|nobody would (care|miss me)|no ?one would (care|miss me)|want to disappear)\b/i,
  abuse:
    /\b((hits?|hitting|beats?|beating|hurts?|kicks?|kicking|touch(es|ed|ing)?|chokes?) me\b|abus\w*|(scared|afraid) to go home|keep (it|this) a secret from my (mum|mom|dad|parents?)|told me not to tell|(don'?t|do not) tell your (mum|mom|dad|parents?))/i,
  // The child asking to meet, or telling us someone else (often met online) wants to.
  meeting:
    /\b(let'?s meet|lets meet|meet me|meet up|can we meet|(wants?|wanted|asked|asks|asking|told|tells|invited) me to meet|wants? to meet (me|up)|(he|she|they|someone|somebody|a man|a woman|a stranger|a guy|a girl|a boy) (wants?|wanted|asked|said) to meet|meet (in real life|in person|irl)|where do you live|what'?s your address|what is your address|come (to|over to) my house|send (me )?(a )?(photo|picture|pic|selfie)s?|(asked|asks|wants?) (me )?(for|to send) (a |some )?(photo|picture|pic|selfie)s?|what school do you go to|are you alone)\b/i,
};

// Words a science chat uses innocently are excluded: the naked eye, naked mole rats, sextants,
// sextillions, weeding a garden, an asteroid that would "kill them all". Violence counts as
// unsafe when the child states the intent.
const UNSAFE =
  /\b(porn\w*|sex|sexy|sexual\w*|sexting|nudes?|nudity|naked(?!\s+(eye|mole|singularity|flame))|cocaine|heroin|meth|vap(e|es|ing)|(smok\w*|vap\w*)\s+weed|weed\s+(pens?|vapes?|gumm\w*|brownies?)|how to make (a )?(bomb|gun|weapon|poison)|(i'?m going to|i am going to|i'?m gonna|gonna|i want to|i wanna|i will|i'?ll) (kill|shoot|stab|murder) (you|him|her|them|people|everyone|everybody|my \w+))\b/i;

// Names and nature words obscenity's list would censor: birds, plants, a book, a town, a degree.
const INNOCENT_TERMS = [
  ...['blue', 'great', 'coal', 'marsh', 'willow', 'crested', 'long-tailed'].flatMap((kind) => [
    `${kind} tit`,
    `${kind} tits`,
  ]),
  'moby dick',
  'pussy willow',
  'pussywillow',
  'penistone',
  'cum laude',
];

// obscenity builds its word list when imported (tens of ms): load it on the first scan, not at
// cold start, so routes that never scan text (lists, transcripts) do not pay for it.
let profanityFilter: Promise<{ matcher: RegExpMatcher; censor: TextCensor }> | undefined;
function loadProfanityFilter() {
  profanityFilter ??= import('obscenity').then((o) => {
    const dataset = o.englishDataset.build();
    return {
      matcher: new o.RegExpMatcher({
        ...dataset,
        whitelistedTerms: [...(dataset.whitelistedTerms ?? []), ...INNOCENT_TERMS],
        ...o.englishRecommendedTransformers,
      }),
      censor: new o.TextCensor().setStrategy(o.fixedPhraseCensorStrategy('***')),
    };
  });
  return profanityFilter;
}

function redactPhones(text: string, found: Set<PiiKind>): string {
  return text.replace(PHONE_CANDIDATE, (match) => {
    const digits = match.replace(/\D/g, '').length;
    if (digits < 7 || digits > 15 || YEARS_ONLY.test(match.trim())) return match;
    found.add('phone');
    return PLACEHOLDER.phone;
  });
}

function replaceAll(text: string, pattern: RegExp, kind: PiiKind, found: Set<PiiKind>): string {
  return text.replace(pattern, () => {
    found.add(kind);
    return PLACEHOLDER[kind];
  });
}

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
};

/** Undoes the usual disguises before looking for danger: "k1ll mys3lf", "k i l l  myself". */
function deobfuscate(text: string): string {
  return text
    .replace(/[013457@$]/g, (c) => LEET[c] ?? c)
    .replace(/\b(?:[a-z] ){2,}[a-z]\b/gi, (spaced) => spaced.replaceAll(' ', ''))
    .replace(/\s+/g, ' ');
}

/** Normalises curly apostrophes so "let’s meet" matches like "let's meet". */
const normalise = (text: string) => text.replace(/[\u2018\u2019\u02bc]/g, "'");

export async function scanText(input: string): Promise<SafetyResult> {
  const found = new Set<PiiKind>();
  const original = normalise(input);
  // Order matters: emails before bare domains (an email contains one), URLs before phones
  // (a URL may contain digit runs), addresses before phones (house numbers are short anyway).
  let text = replaceAll(original, EMAIL, 'email', found);
  text = replaceAll(text, SPACED_EMAIL, 'email', found);
  text = replaceAll(text, WORDED_EMAIL, 'email', found);
  text = replaceAll(text, URL_WITH_SCHEME, 'url', found);
  text = replaceAll(text, BARE_DOMAIN, 'url', found);
  text = text.replace(ADDRESS_IS, (match) => {
    found.add('address');
    return `${match.slice(0, match.toLowerCase().indexOf('address') + 'address is'.length)} ${PLACEHOLDER.address}`;
  });
  text = text.replace(LIVE_AT, (_m, who: string, prep: string) => {
    found.add('address');
    return `${who} live ${prep} ${PLACEHOLDER.address}`;
  });
  text = replaceAll(text, STREET_ADDRESS, 'address', found);
  text = replaceAll(text, UK_POSTCODE, 'address', found);
  text = replaceAll(text, ZIP_CODE, 'address', found);
  text = redactPhones(text, found);
  text = replaceAll(text, WORDED_PHONE, 'phone', found);

  const { matcher, censor } = await loadProfanityFilter();
  const matches = matcher.getAllMatches(text, true);
  const profanity = matches.length > 0;
  if (profanity) text = censor.applyTo(text, matches);

  const plain = deobfuscate(original);
  const danger = (Object.keys(DANGER_PATTERNS) as DangerKind[]).find(
    (kind) => DANGER_PATTERNS[kind].test(original) || DANGER_PATTERNS[kind].test(plain),
  );
  const unsafe = UNSAFE.test(original);
  const redacted = [...found];
  const reasons = [
    ...redacted.map((kind) => `pii_${kind}`),
    ...(profanity ? ['profanity'] : []),
    ...(unsafe ? ['unsafe_content'] : []),
    ...(danger ? [`danger_${danger}`] : []),
  ];
  return {
    text,
    redacted,
    profanity,
    unsafe,
    danger,
    filtered: reasons.length > 0,
    reason: reasons.length > 0 ? reasons.join(',') : undefined,
  };
}

// A tutor must never ask for personal details, even ones a child may share freely elsewhere.
const PERSONAL_QUESTION =
  /\b(what'?s|what is|tell me) your (full |real |last |first )?(name|surname|age|birthday|phone|number|email|school|address|town|city|postcode)\b|\bhow old are you\b|\bwhere (do|did) you (live|go to school)\b|\bsend (me )?(a )?(photo|picture|pic|selfie)/i;

/** The checks a tutor's reply must pass: everything a child's text is checked for, and no
 * questions about the child's personal details. Returns the reasons, or undefined when clean. */
export async function tutorReplyProblems(texts: readonly string[]): Promise<string | undefined> {
  const checks = await Promise.all(texts.map(scanText));
  const flagged = checks.find((c) => c.filtered);
  if (flagged) return flagged.reason;
  if (texts.some((t) => PERSONAL_QUESTION.test(normalise(t)))) return 'personal_question';
  return undefined;
}

/** What a parent alert says, without the child's words (the alert points at the message). */
export const ALERT_REASON: Record<DangerKind | 'unsafe', string> = {
  self_harm: 'self_harm_signal',
  abuse: 'abuse_signal',
  meeting: 'meeting_request',
  unsafe: 'unsafe_content',
};

const SAFE_REPLIES: Record<DangerKind, Record<AgeGroup, string>> = {
  self_harm: {
    wonder_cubs:
      'Thank you for telling me. That sounds like a big, sad feeling. Please go and find a grown-up you love right now and tell them, so they can give you a hug and help. You are very important.',
    curious_explorers:
      'Thank you for telling me. That sounds really hard, and you deserve help with it. Please talk to a grown-up you trust right now, like your mum, dad, a teacher or another adult you feel safe with. If you feel in danger, ask an adult to call your local emergency number. You are not alone.',
    mind_masters:
      "Thank you for trusting me with that. What you're feeling matters, and you don't have to handle it alone. Please talk to a trusted adult right now, a parent, teacher or school counsellor. If you might hurt yourself, call your local emergency number or a children's helpline straight away.",
  },
  abuse: {
    wonder_cubs:
      'Thank you for telling me. Nobody is allowed to hurt you. Please tell a grown-up you trust, like a teacher or someone in your family, right away. You did the right thing by saying it.',
    curious_explorers:
      'Thank you for telling me. Nobody is allowed to hurt you or make you feel unsafe, and it is never your fault. Please tell a grown-up you trust, like a teacher, school nurse or family member, as soon as you can. You were brave to say it.',
    mind_masters:
      "Thank you for telling me. Nobody has the right to hurt you or make you keep secrets that feel wrong, and it's not your fault. Please talk to an adult you trust, like a teacher or school counsellor, as soon as you can; a children's helpline can also listen and help.",
  },
  meeting: {
    wonder_cubs:
      "I'm a computer helper, so I can't meet anyone. Let's keep where you live a secret that only your family knows. Shall we keep exploring?",
    curious_explorers:
      "I'm a computer program, so I can't meet anyone. Never share where you live or plan to meet someone from the internet without your grown-up. Shall we get back to exploring?",
    mind_masters:
      "I'm an AI tutor, so meeting up isn't something I can do. A good rule online: never share your address, school or photos, and never agree to meet someone without a parent knowing. Want to get back to our topic?",
  },
};

export function safeReplyFor(kind: DangerKind, ageGroup: AgeGroup): string {
  return SAFE_REPLIES[kind][ageGroup];
}

export const SAFE_CONTINUE_CHOICES: Record<AgeGroup, string[]> = {
  wonder_cubs: ['Keep exploring', 'Stop for now'],
  curious_explorers: ['I want to keep exploring', "I'd like to stop for now"],
  mind_masters: ['Back to the topic', "I'd like to stop for now"],
};
