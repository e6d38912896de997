// Conversations with the tutor: the public face of shared/learning/conversations/.
//   store.ts         rows, views, reads (list, transcript, the open spark conversation)
//   tutor-turn.ts    the tutor's context, safety gating, the checked answer
//   start.ts         starting a conversation
//   post-message.ts  posting an answer (idempotent)
//   end.ts           ending one (summary, completion and spark rewards)
//   settle.ts        stars, streak, freeze, badges and daily activity for all three
export { type EndResult, endConversation } from './conversations/end.ts';
export {
  MAX_SECONDS_PER_MESSAGE,
  type MessageInput,
  MIN_SECONDS_PER_MESSAGE,
  type PostOptions,
  type PostResult,
  postMessage,
} from './conversations/post-message.ts';
export { type StartInput, type StartResult, startConversation } from './conversations/start.ts';
export {
  type ConversationView,
  getTranscript,
  listConversations,
  MAX_DEPTH,
  type MessageView,
  openSparkConversation,
} from './conversations/store.ts';
