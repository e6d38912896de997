// Vertex AI Gemini tutor over the REST generateContent API. Used only for children whose parent
// granted data_sharing (the caller decides); any failure, timeout or malformed answer falls
// back to the built-in tutor so a child is never left without a reply.
import { z } from 'zod';
import { errorFields, logger } from '../../log.ts';
import type { Tutor, TutorContext, TutorReply } from './types.ts';

export interface VertexTutorOptions {
  endpoint: string;
  project: string;
  location: string;
  model: string;
  timeoutMs: number;
  auth: 'metadata' | 'none';
  fallback: Tutor;
}

const modelAnswer = z.object({
  text: z.string().trim().min(1).max(1200),
  choices: z.array(z.string().trim().min(1).max(160)).min(2).max(4),
  deeper: z.boolean(),
  aha: z.boolean(),
});

const generateContentResponse = z.object({
  candidates: z
    .array(
      z.object({ content: z.object({ parts: z.array(z.object({ text: z.string() })).min(1) }) }),
    )
    .min(1),
  usageMetadata: z.object({ totalTokenCount: z.number().int().nonnegative() }).partial().optional(),
});

const AGE_STYLE = {
  wonder_cubs:
    'The child is 4-6 years old: use very short, simple sentences and 2-3 choices of a few words.',
  curious_explorers: 'The child is 7-10 years old: use clear sentences and 3 choices.',
  mind_masters: 'The child is 11-14 years old: you may use richer vocabulary and 3-4 choices.',
} as const;

export function systemInstruction(ctx: TutorContext): string {
  const topic = ctx.topic ? `${ctx.topic.name} (${ctx.category})` : ctx.category;
  return [
    'You are BrainSpark, a kind Socratic tutor for children. Never lecture: ask one question at a time,',
    "give hints rather than answers, and offer tappable choices. Never repeat the child's words back.",
    'Never ask for or mention personal details (names, addresses, schools, photos, contact details),',
    'never suggest meeting, and keep everything suitable for children.',
    AGE_STYLE[ctx.ageGroup],
    `Conversation type: ${ctx.conversationType}. Topic: ${topic}.`,
    ctx.brainSpark ? `Today's puzzle: ${ctx.brainSpark.question}` : '',
    'Answer only with JSON: {"text": string, "choices": string[2..4], "deeper": boolean (did the',
    'child\'s last answer show deeper thinking), "aha": boolean (did the child have an insight)}.',
  ]
    .filter(Boolean)
    .join(' ');
}

// The strictest threshold Vertex offers for every harm category it filters (civic integrity is
// deprecated and no longer filtered). A blocked answer comes back without content and falls
// back to the built-in tutor; our own scan checks every reply as well.
export const SAFETY_SETTINGS = [
  'HARM_CATEGORY_HATE_SPEECH',
  'HARM_CATEGORY_DANGEROUS_CONTENT',
  'HARM_CATEGORY_HARASSMENT',
  'HARM_CATEGORY_SEXUALLY_EXPLICIT',
].map((category) => ({ category, threshold: 'BLOCK_LOW_AND_ABOVE' }));

function requestBody(ctx: TutorContext): unknown {
  const contents = ctx.history.map((turn) => ({
    role: turn.role === 'assistant' ? 'model' : 'user',
    parts: [{ text: turn.content }],
  }));
  contents.push({
    role: 'user',
    parts: [{ text: ctx.childMessage ? ctx.childMessage.text : 'Please start the conversation.' }],
  });
  return {
    systemInstruction: { parts: [{ text: systemInstruction(ctx) }] },
    contents,
    safetySettings: SAFETY_SETTINGS,
    // No "thinking" budget: a child waits for the reply, and thinking tokens would eat the
    // output budget and truncate the JSON (which then falls back to the built-in tutor).
    generationConfig: {
      responseMimeType: 'application/json',
      temperature: 0.6,
      maxOutputTokens: 1024,
      thinkingConfig: { thinkingBudget: 0 },
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

let cachedToken: { value: string; expiresAt: number } | undefined;

async function accessToken(
  auth: VertexTutorOptions['auth'],
  signal: AbortSignal,
): Promise<string | undefined> {
  if (auth === 'none') return undefined;
  if (cachedToken && cachedToken.expiresAt > Date.now() + 60_000) return cachedToken.value;
  const res = await fetch(
    'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token',
    { headers: { 'Metadata-Flavor': 'Google' }, signal },
  );
  if (!res.ok) throw new Error(`metadata token request failed with ${res.status}`);
  const body = z
    .object({ access_token: z.string(), expires_in: z.number() })
    .parse(await res.json());
  cachedToken = { value: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
  return body.access_token;
}

export function createVertexTutor(options: VertexTutorOptions): Tutor {
  const url = `${options.endpoint.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(options.project)}/locations/${encodeURIComponent(options.location)}/publishers/google/models/${encodeURIComponent(options.model)}:generateContent`;

  async function ask(ctx: TutorContext): Promise<TutorReply> {
    const signal = AbortSignal.timeout(options.timeoutMs);
    const token = await accessToken(options.auth, signal);
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(requestBody(ctx)),
      signal,
    });
    if (!res.ok) throw new Error(`Vertex AI answered ${res.status}`);
    const parsed = generateContentResponse.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new Error('Vertex AI response is not a generateContent response');
    const raw = parsed.data.candidates[0]?.content.parts.map((p) => p.text).join('') ?? '';
    // JSON.parse's error quotes the start of its input, which may echo the child's words: keep
    // the model's text out of the error (and so out of the logs).
    const answer = modelAnswer.safeParse(parseJson(raw));
    if (!answer.success) throw new Error('Vertex AI answer is not the JSON asked for');
    return {
      text: answer.data.text,
      choices: answer.data.choices,
      depthChange: ctx.childMessage && answer.data.deeper ? 1 : 0,
      ahaMoment: Boolean(ctx.childMessage) && answer.data.aha,
      tokensUsed: parsed.data.usageMetadata?.totalTokenCount ?? 0,
    };
  }

  return {
    name: 'vertex',
    async reply(ctx) {
      try {
        return await ask(ctx);
      } catch (err) {
        // Never log the conversation; the error's type and message are enough to diagnose.
        logger.warn('vertex tutor failed; using the built-in tutor', errorFields(err));
        return options.fallback.reply(ctx);
      }
    },
  };
}
