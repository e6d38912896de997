// Tutor conversations: start, list, transcript, post a message (idempotent), end.
import { z } from 'zod';
import { AppError } from '../../shared/errors.ts';
import { actorOf } from '../../shared/learning/access.ts';
import {
  endConversation,
  getTranscript,
  listConversations,
  postMessage,
  startConversation,
} from '../../shared/learning/conversations.ts';
import { CONVERSATION_TYPES } from '../../shared/learning/types.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.strictObject({ childId: idSchema });
const conversationParams = z.strictObject({ childId: idSchema, conversationId: idSchema });

const startBody = z.strictObject({
  type: z.enum(CONVERSATION_TYPES).default('exploration'),
  topicId: idSchema.optional(),
});

const messageBody = z.union([
  z.strictObject({ choiceIndex: z.number().int().min(0).max(3) }),
  z.strictObject({ text: z.string().trim().min(1).max(1000) }),
]);

function idempotencyKeyOf(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const value = headers['idempotency-key'];
  if (value === undefined) return undefined;
  const key = Array.isArray(value) ? value[0] : value;
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new AppError('validation_failed', 'Invalid Idempotency-Key header', {
      fieldErrors: [{ path: 'headers.idempotency-key', message: '1-255 visible ASCII characters' }],
    });
  }
  return key;
}

// Why a message was flagged is for the parent; the child sees the conversation itself (someone
// looking over a child's shoulder must not learn that a disclosure alerted the parent).
const withoutFilterReason = <M extends { filterReason: string | null }>(m: M): M => ({
  ...m,
  filterReason: null,
});

export const routes = [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    learner: 'childId',
    params: childParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      type: z.enum(CONVERSATION_TYPES).optional(),
    }),
    handler: async ({ query, learner }) => ({
      conversations: await listConversations(learner, query),
    }),
  }),
  route({
    method: 'POST',
    path: '/children/:childId',
    auth: 'child',
    learner: 'childId',
    params: childParams,
    body: startBody,
    handler: async ({ body, learner, now }) =>
      respond(201, await startConversation(learner, body, now)),
  }),
  route({
    method: 'GET',
    path: '/children/:childId/:conversationId',
    auth: 'parentOrChild',
    learner: 'childId',
    params: conversationParams,
    handler: async ({ params, principal, learner }) => {
      const transcript = await getTranscript(learner, params.conversationId);
      if (principal.kind === 'parent') return transcript;
      return { ...transcript, messages: transcript.messages.map(withoutFilterReason) };
    },
  }),
  route({
    method: 'POST',
    path: '/children/:childId/:conversationId/messages',
    auth: 'child',
    learner: 'childId',
    params: conversationParams,
    body: messageBody,
    handler: async ({ params, body, headers, learner, now }) => {
      const idempotencyKey = idempotencyKeyOf(headers);
      const { replayed, ...result } = await postMessage(learner, params.conversationId, body, {
        idempotencyKey,
        now,
      });
      return respond(
        201,
        {
          ...result,
          message: withoutFilterReason(result.message),
          reply: withoutFilterReason(result.reply),
        },
        replayed ? { 'idempotent-replayed': 'true' } : undefined,
      );
    },
  }),
  route({
    method: 'POST',
    path: '/children/:childId/:conversationId/end',
    auth: 'parentOrChild',
    learner: 'childId',
    params: conversationParams,
    handler: async ({ params, principal, learner, now }) =>
      endConversation(learner, params.conversationId, actorOf(principal), now),
  }),
];

export const handler = defineHttpFunction('conversations', routes);
