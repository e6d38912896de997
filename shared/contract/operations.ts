// What each route answers: its success responses (status, body schema, headers), the error
// codes it can give beyond those every route of its kind can give, and an example request.
// Keyed by `<function> <METHOD> <path>` exactly as the route table declares it; a route
// without an entry here (or an entry without a route) fails test/contract/document.test.ts.
import type { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import * as S from './schemas.ts';

export interface SuccessResponse {
  status: number;
  description: string;
  /** Undefined: no body (204). */
  body?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  /** Other media types the same status may carry (a page: `{ type: 'string' }`). */
  alsoAs?: readonly string[];
  headers?: readonly ResponseHeader[];
}

export type ResponseHeader = 'Idempotent-Replayed' | 'Content-Disposition' | 'Retry-After';

export interface OperationContract {
  summary: string;
  description?: string;
  responses: readonly SuccessResponse[];
  /** Codes this route can answer beyond the ones its auth mode and inputs imply. */
  errors?: readonly ErrorCode[];
  /** The route acts on a child (path param childId): consent, bedtime and time limits apply. */
  learner?: boolean;
  /** Request headers the route reads. */
  requestHeaders?: readonly 'Idempotency-Key'[];
  requestExample?: unknown;
  tags?: readonly string[];
}

export type OperationKey = `${string} ${'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} /${string}`;

const ok = <B extends z.ZodType>(body: B, description = 'OK') => ({
  status: 200 as const,
  description,
  body,
});
const created = <B extends z.ZodType>(body: B, description = 'Created') => ({
  status: 201 as const,
  description,
  body,
});
const noContent = (description = 'Done, no body'): SuccessResponse => ({
  status: 204,
  description,
});
const html: SuccessResponse = {
  status: 200,
  description: 'An HTML page for the person who opened the link',
  contentType: 'text/html',
};

const notReady: SuccessResponse = {
  status: 503,
  description: 'Not ready: the database did not answer in time (same body, with Retry-After)',
  body: S.Health,
  headers: ['Retry-After'],
};

const signIn = ['invalid_credentials', 'rate_limited'] as const;
const childPin = '1234';

export const operations = {
  // ---- auth ----
  'auth POST /signup': {
    summary: 'Create a parent account (email and password)',
    responses: [created(S.Session, 'Signed up and signed in')],
    errors: ['email_taken', 'weak_password', 'rate_limited', 'invalid_request'],
    requestExample: {
      email: 'sam@example.com',
      password: 'correct horse battery staple',
      displayName: 'Sam',
      timezone: 'Europe/London',
    },
  },
  'auth POST /login': {
    summary: 'Sign in with email and password',
    responses: [ok(S.Session)],
    errors: signIn,
    requestExample: { email: 'sam@example.com', password: 'correct horse battery staple' },
  },
  'auth POST /google': {
    summary: 'Sign in with a Google ID token',
    responses: [ok(S.Session)],
    errors: [...signIn, 'invalid_token', 'email_taken'],
  },
  'auth POST /apple': {
    summary: 'Sign in with an Apple ID token',
    responses: [ok(S.Session)],
    errors: [...signIn, 'invalid_token', 'email_taken'],
  },
  'auth POST /refresh': {
    summary: 'Trade a refresh token for a new token pair (rotation)',
    responses: [ok(S.TokenPair)],
    errors: ['invalid_token', 'rate_limited'],
  },
  'auth POST /logout': {
    summary: 'End the sign-in of a refresh token (and its child sessions)',
    responses: [noContent('Signed out')],
  },

  // ---- parents ----
  'parents GET /me': {
    summary: 'The signed-in parent',
    responses: [ok(S.Parent)],
    errors: ['not_found'],
  },
  'parents PATCH /me': {
    summary: 'Update the profile and settings',
    responses: [ok(S.Parent)],
    requestExample: { displayName: 'Sam', settings: { notifications: { email_digest: false } } },
  },
  'parents DELETE /me': {
    summary: 'Delete the account and all family data',
    responses: [noContent('Deleted')],
  },
  'parents GET /me/devices': {
    summary: 'Registered push devices',
    responses: [ok(S.DeviceList)],
  },
  'parents POST /me/devices': {
    summary: 'Register a push device (FCM token)',
    responses: [created(S.Device, 'Registered'), ok(S.Device, 'Already registered')],
    requestExample: { platform: 'ios', token: 'fcm-registration-token-0123456789' },
  },
  'parents DELETE /me/devices/{deviceId}': {
    summary: 'Remove a push device',
    responses: [noContent('Removed')],
  },
  'parents GET /unsubscribe': {
    summary: 'The unsubscribe page of a notification email (asks, changes nothing)',
    responses: [html],
    errors: ['invalid_request'],
  },
  'parents POST /unsubscribe': {
    summary: 'One-click unsubscribe (RFC 8058)',
    responses: [
      {
        status: 200,
        description: 'Unsubscribed: JSON, or an HTML page when the client accepts text/html',
        body: S.Unsubscribed,
        alsoAs: ['text/html'],
      },
    ],
    errors: ['invalid_request'],
  },
  'parents GET /me/export': {
    summary: 'Export every row of the family (GDPR / COPPA access)',
    responses: [{ ...ok(S.FamilyExport), headers: ['Content-Disposition'] }],
  },
  'parents PUT /me/password': {
    summary: 'Change the password (ends every other sign-in)',
    responses: [ok(S.Session, 'Changed; a fresh session')],
    errors: ['invalid_credentials', 'weak_password', 'rate_limited'],
  },

  // ---- children ----
  'children POST /': {
    summary: 'Add a child profile',
    responses: [created(S.Child)],
    errors: ['consent_required', 'child_limit_reached', 'age_out_of_range'],
    requestExample: { name: 'Ada', birthDate: '2018-05-04', interests: ['space', 'animals'] },
  },
  'children GET /': { summary: "The family's children", responses: [ok(S.ChildList)] },
  'children GET /{childId}': {
    summary: 'A child profile (a child session sees its own, with a notice)',
    responses: [ok(S.Child.or(S.ChildForChild))],
    errors: ['consent_required'],
  },
  'children PATCH /{childId}': {
    summary: 'Update a child profile',
    responses: [ok(S.Child)],
    errors: ['consent_required', 'age_out_of_range'],
    requestExample: { settings: { daily_time_limit_minutes: 45, bedtime_start: '20:00' } },
  },
  'children DELETE /{childId}': {
    summary: 'Delete a child (restorable during the grace period)',
    responses: [noContent('Scheduled for deletion')],
  },
  'children POST /{childId}/restore': {
    summary: 'Undo a deletion during the grace period',
    responses: [ok(S.Child)],
    errors: ['consent_required', 'child_limit_reached'],
  },
  'children PUT /{childId}/pin': {
    summary: "Set the child's PIN",
    responses: [ok(S.Child)],
    errors: ['consent_required'],
    requestExample: { pin: childPin },
  },
  'children DELETE /{childId}/pin': {
    summary: "Remove the child's PIN",
    responses: [ok(S.Child)],
    errors: ['consent_required'],
  },
  'children POST /{childId}/session': {
    summary: 'Open a child session on this device',
    responses: [created(S.ChildSession)],
    errors: ['consent_required', 'invalid_pin', 'rate_limited'],
    requestExample: { pin: childPin },
  },

  // ---- consents ----
  'consents GET /': { summary: 'Consent status and history', responses: [ok(S.ConsentList)] },
  'consents POST /': {
    summary: 'Grant a consent at its current version',
    responses: [created(S.Consent, 'Granted'), ok(S.Consent, 'Already granted')],
    requestExample: { type: 'coppa' },
  },
  'consents DELETE /{type}': {
    summary: 'Revoke a consent (coppa schedules every child for deletion)',
    responses: [ok(S.ConsentRevocation)],
  },

  // ---- conversations ----
  'conversations GET /children/{childId}': {
    summary: "A child's conversations, newest first",
    responses: [ok(S.ConversationList)],
    learner: true,
  },
  'conversations POST /children/{childId}': {
    summary: 'Start a conversation with the tutor',
    responses: [created(S.StartedConversation)],
    learner: true,
    errors: ['topic_locked', 'message_limit_reached'],
    requestExample: { type: 'exploration' },
  },
  'conversations GET /children/{childId}/{conversationId}': {
    summary: 'A transcript (the child does not see why a message was flagged)',
    responses: [ok(S.Transcript)],
    learner: true,
  },
  'conversations POST /children/{childId}/{conversationId}/messages': {
    summary: 'Answer the tutor (a choice or free text); safe to retry with Idempotency-Key',
    responses: [
      {
        ...created(S.PostedMessage, 'The message and the tutor reply'),
        headers: ['Idempotent-Replayed'],
      },
    ],
    learner: true,
    requestHeaders: ['Idempotency-Key'],
    errors: [
      'conversation_ended',
      'message_limit_reached',
      'idempotency_key_reused',
      'rate_limited',
    ],
    requestExample: { choiceIndex: 0 },
  },
  'conversations POST /children/{childId}/{conversationId}/end': {
    summary: 'End a conversation (stars for a complete one)',
    responses: [ok(S.EndedConversation)],
    learner: true,
    errors: ['conversation_ended'],
  },

  // ---- brain-sparks ----
  'brain-sparks GET /children/{childId}/today': {
    summary: "Today's brain spark (the family's local date)",
    responses: [ok(S.TodaysSpark)],
    learner: true,
  },
  'brain-sparks POST /children/{childId}/today/complete': {
    summary: "Start or complete today's brain spark",
    responses: [
      created(S.SparkCompletion, 'Started (action `started`)'),
      ok(S.SparkCompletion, 'In progress or completed'),
    ],
    learner: true,
    errors: ['conversation_ended', 'message_limit_reached'],
  },

  // ---- topics ----
  'topics GET /': {
    summary: 'The topic catalogue of an age group',
    responses: [ok(S.TopicCatalogue)],
  },
  'topics GET /children/{childId}/constellation': {
    summary: "A child's constellation: topics, unlocks, depth, connections",
    responses: [ok(S.Constellation)],
    learner: true,
  },

  // ---- progress, streaks, rewards, leaderboard ----
  'progress GET /children/{childId}': {
    summary: "A child's progress per topic",
    responses: [ok(S.ProgressList)],
    learner: true,
  },
  'progress GET /children/{childId}/topics/{topicId}': {
    summary: "A child's progress on one topic",
    responses: [ok(S.TopicProgress)],
    learner: true,
  },
  'streaks GET /children/{childId}': {
    summary: "A child's streak and history",
    responses: [ok(S.Streak)],
    learner: true,
  },
  'rewards GET /catalogue': {
    summary: 'Badges, cosmetics and star values',
    responses: [ok(S.RewardCatalogue)],
  },
  'rewards GET /children/{childId}': {
    summary: "A child's stars, badges and cosmetics",
    responses: [ok(S.Rewards)],
    learner: true,
  },
  'rewards POST /children/{childId}/cosmetics': {
    summary: 'Buy a cosmetic with stars',
    responses: [created(S.Purchase)],
    learner: true,
    errors: ['insufficient_stars', 'already_owned'],
    requestExample: { itemId: 'hat_astronaut' },
  },
  'leaderboard GET /children/{childId}': {
    summary: "The opt-in streak leaderboard of the child's age group",
    responses: [ok(S.Leaderboard)],
    learner: true,
  },
  'leaderboard PUT /children/{childId}/opt-in': {
    summary: 'Opt the child in or out (parents only)',
    responses: [ok(S.LeaderboardOptIn)],
    learner: true,
    requestExample: { optIn: true },
  },

  // ---- dashboard ----
  'dashboard GET /children/{childId}': {
    summary: "A child's overview for the parent",
    responses: [ok(S.Overview)],
    learner: true,
  },
  'dashboard GET /children/{childId}/activity': {
    summary: 'Daily activity over a date range',
    responses: [ok(S.DailyActivity)],
    learner: true,
    errors: ['invalid_request'],
  },
  'dashboard GET /children/{childId}/cognitive-metrics': {
    summary: 'Cognitive metrics over a date range',
    responses: [ok(S.CognitiveMetrics)],
    learner: true,
    errors: ['invalid_request'],
  },
  'dashboard GET /children/{childId}/flags': {
    summary: 'Flagged messages',
    responses: [ok(S.Flags)],
    learner: true,
  },
  'dashboard GET /alerts': { summary: "The family's safety alerts", responses: [ok(S.AlertList)] },
  'dashboard POST /alerts/{alertId}/read': {
    summary: 'Mark an alert read',
    responses: [ok(S.AlertRead)],
  },

  // ---- health ----
  'health GET /': {
    summary: 'Readiness: the database answers within a deadline',
    responses: [ok(S.Health, 'Ready'), notReady],
  },
  'health GET /live': { summary: 'Liveness: the process answers', responses: [ok(S.Live)] },
} satisfies Record<OperationKey, OperationContract>;

export type KnownOperation = keyof typeof operations;

/**
 * The body type a route's success responses may carry, from its schemas: a handler can be typed
 * by it, e.g. `handler: async (ctx): Promise<SuccessBody<'streaks GET /children/{childId}'>> => ...`.
 */
export type SuccessBody<K extends KnownOperation> =
  (typeof operations)[K]['responses'][number] extends infer R
    ? R extends { body: infer B extends z.ZodType }
      ? z.output<B>
      : never
    : never;

/** The contract of a route, or undefined when it has none. */
export const contractOf = (key: string): OperationContract | undefined =>
  (operations as Record<string, OperationContract>)[key];
