// Safety checks run on every text before it is stored or sent anywhere: the child's free text
// on the way in, the tutor's reply on the way out. Personal details are redacted, profanity and
// unsafe content filtered, and danger signals (self-harm, abuse, someone wanting to meet)
// reported so the caller raises a parent alert and answers with a safe, kind reply.
import type { RegExpMatcher } from 'obscenity';
import { type DangerKind, detectDanger, detectUnsafe } from './safety/danger.ts';
import {
  fold,
  isInvisible,
  loadFolding,
  originalSpan,
  plainForms,
  squeezedForm,
} from './safety/normalise.ts';
import { findPii, type PiiKind } from './safety/pii.ts';
import type { AgeGroup } from './types.ts';

export type { DangerKind } from './safety/danger.ts';
export type { PiiKind } from './safety/pii.ts';

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
  name: '[name removed]',
  school: '[school removed]',
  handle: '[username removed]',
  coordinates: '[location removed]',
  card: '[card number removed]',
  id_number: '[ID number removed]',
};

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
let profanityFilter: Promise<RegExpMatcher> | undefined;
function loadProfanityFilter() {
  profanityFilter ??= import('obscenity').then((o) => {
    const dataset = o.englishDataset.build();
    return new o.RegExpMatcher({
      ...dataset,
      whitelistedTerms: [...(dataset.whitelistedTerms ?? []), ...INNOCENT_TERMS],
      ...o.englishRecommendedTransformers,
    });
  });
  return profanityFilter;
}

interface Cut {
  start: number;
  end: number;
  replacement: string;
}

/** The original text with the cuts applied and invisible characters dropped. */
function rebuild(original: string, cuts: Cut[]): string {
  const sorted = [...cuts].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let at = 0;
  for (const cut of sorted) {
    if (cut.start < at) continue;
    out += [...original.slice(at, cut.start)].filter((ch) => !isInvisible(ch)).join('');
    out += cut.replacement;
    at = cut.end;
  }
  return out + [...original.slice(at)].filter((ch) => !isInvisible(ch)).join('');
}

/** Words whose plain form is profane although the folded text is not ("sh!t", "f*ck"). */
function disguisedProfanity(
  folded: string,
  matcher: RegExpMatcher,
): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  for (const m of folded.matchAll(/\S*[^a-z\s]\S*/gi)) {
    const [plain] = plainForms(m[0]);
    if (plain && matcher.hasMatch(plain)) {
      spans.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  return spans;
}

export async function scanText(input: string): Promise<SafetyResult> {
  await loadFolding();
  const folded = fold(input);
  const forms = plainForms(folded.text);
  const pii = findPii(folded.text);
  const cuts: Cut[] = pii.map((s) => {
    const [start, end] = originalSpan(folded, s.start, s.end);
    return { start, end, replacement: PLACEHOLDER[s.kind] };
  });

  const matcher = await loadProfanityFilter();
  const profane = matcher
    .getAllMatches(folded.text, true)
    .map((m) => ({ start: m.startIndex, end: m.endIndex + 1 }));
  if (profane.length === 0) profane.push(...disguisedProfanity(folded.text, matcher));
  const spacedProfanity =
    profane.length === 0 &&
    forms.some((f) => matcher.hasMatch(f)) &&
    !matcher.hasMatch(folded.text);
  for (const p of profane) {
    const [start, end] = originalSpan(folded, p.start, p.end);
    if (!cuts.some((c) => start < c.end && c.start < end))
      cuts.push({ start, end, replacement: '***' });
  }
  const profanity = profane.length > 0 || spacedProfanity;

  const squeezed = squeezedForm(folded.text, forms);
  const danger = detectDanger(forms, squeezed);
  const unsafe = detectUnsafe(forms, squeezed);
  const redacted = [...new Set(pii.map((s) => s.kind))];
  const text = rebuild(input, cuts);
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

/** Normalises curly apostrophes so "what’s your name" matches like "what's your name". */
const normalise = (text: string) => fold(text).text;

// A tutor must never ask for personal details, even ones a child may share freely elsewhere.
const PERSONAL_QUESTION =
  /\b(what'?s|what is|tell me) your (full |real |last |first )?(name|surname|age|birthday|phone|number|email|school|address|town|city|postcode)\b|\bhow old are you\b|\bwhere (do|did) you (live|go to school)\b|\bsend (me )?(a )?(photo|picture|pic|selfie)/i;

// The verdict on a tutor text, by text. scanText is deterministic, and the built-in tutor says
// the same curated sentences over and over: each is scanned once per process instead of on
// every reply (about 2.5 ms of CPU per reply with its choices). Bounded: oldest first out.
const REPLY_VERDICTS_MAX = 5000;
const replyVerdicts = new Map<string, string | null>();

async function replyVerdict(text: string): Promise<string | null> {
  const cached = replyVerdicts.get(text);
  if (cached !== undefined) return cached;
  const scan = await scanText(text);
  const verdict = scan.filtered ? (scan.reason ?? 'filtered') : null;
  if (replyVerdicts.size >= REPLY_VERDICTS_MAX) {
    const oldest = replyVerdicts.keys().next();
    if (!oldest.done) replyVerdicts.delete(oldest.value);
  }
  replyVerdicts.set(text, verdict);
  return verdict;
}

/** The checks a tutor's reply must pass: everything a child's text is checked for, and no
 * questions about the child's personal details. Returns the reasons, or undefined when clean. */
export async function tutorReplyProblems(texts: readonly string[]): Promise<string | undefined> {
  const verdicts = await Promise.all(texts.map(replyVerdict));
  const flagged = verdicts.find((v) => v !== null);
  if (flagged) return flagged;
  if (texts.some((t) => PERSONAL_QUESTION.test(normalise(t)))) return 'personal_question';
  return undefined;
}

/** What a parent alert says, without the child's words (the alert points at the message). */
export const ALERT_REASON: Record<DangerKind | 'unsafe', string> = {
  self_harm: 'self_harm_signal',
  abuse: 'abuse_signal',
  meeting: 'meeting_request',
  grooming: 'grooming_signal',
  unsafe: 'unsafe_content',
};

/** How urgently the parent is told, per category (the alert carries the category only). */
export const ALERT_SEVERITY: Record<DangerKind | 'unsafe', 'low' | 'medium' | 'high'> = {
  self_harm: 'high',
  abuse: 'high',
  meeting: 'high',
  grooming: 'high',
  unsafe: 'medium',
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
  grooming: {
    wonder_cubs:
      "Thank you for telling me. Someone asking for pictures, secrets or where you live is something a grown-up needs to know about. Please show your grown-up right now. You haven't done anything wrong.",
    curious_explorers:
      "Thank you for telling me. When someone online asks for photos, where you live, or to keep secrets from your family, that is not okay, and it is never your fault. Please show a grown-up you trust right away, and don't send anything or reply until they have seen it.",
    mind_masters:
      "Thanks for telling me. Someone online asking for photos, personal details, video calls or secrecy is a warning sign, however friendly they seem, and it's not your fault. Please tell a parent or another adult you trust now, keep the messages, and don't send anything more. You can also report it in the app or game.",
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
