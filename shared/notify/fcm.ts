// Push through FCM HTTP v1 (projects/{project}/messages:send), one request per device token.
// The base URL is configurable so tests run against a local server in FCM's REST shape.
// Error mapping (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode):
//   UNREGISTERED (404) and SENDER_ID_MISMATCH (403): the token is dead: 'unregistered';
//   INVALID_ARGUMENT (400): permanent (the request or the token is malformed);
//   UNAVAILABLE (503), INTERNAL (500), QUOTA_EXCEEDED (429): transient, Retry-After honoured;
//   401: the cached access token is dropped, transient.
import { z } from 'zod';
import { config } from '../config.ts';
import { forgetAccessToken, metadataAccessToken } from './google-token.ts';
import { PermanentSendError, parseRetryAfter, TransientSendError } from './retry.ts';

export interface PushMessage {
  title: string;
  body: string;
  /** String values only (FCM's data map). */
  data: Record<string, string>;
}

export type PushResult = 'sent' | 'unregistered';

export interface PushSender {
  send(token: string, message: PushMessage): Promise<PushResult>;
}

const fcmError = z.object({
  error: z.object({
    code: z.number().optional(),
    status: z.string().optional(),
    details: z
      .array(z.object({ '@type': z.string().optional(), errorCode: z.string().optional() }))
      .optional(),
  }),
});

function errorCodeOf(body: unknown): string | undefined {
  const parsed = fcmError.safeParse(body);
  if (!parsed.success) return undefined;
  const detail = parsed.data.error.details?.find((d) => d.errorCode)?.errorCode;
  return detail ?? parsed.data.error.status;
}

export function createFcmSender(options: {
  endpoint: string;
  project: string;
  auth: 'metadata' | 'none';
  timeoutMs?: number;
}): PushSender {
  const url = `${options.endpoint.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(options.project)}/messages:send`;
  return {
    async send(token, message) {
      const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
      let res: Response;
      try {
        const accessToken =
          options.auth === 'metadata' ? await metadataAccessToken(signal) : undefined;
        res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
          },
          body: JSON.stringify({
            message: {
              token,
              notification: { title: message.title, body: message.body },
              data: message.data,
              android: { priority: 'HIGH' },
              apns: { headers: { 'apns-priority': '10' }, payload: { aps: { sound: 'default' } } },
            },
          }),
          signal,
        });
      } catch (err) {
        // Network failure or timeout: nothing was confirmed, try again.
        throw new TransientSendError(
          `FCM request failed: ${err instanceof Error ? err.name : 'error'}`,
        );
      }
      if (res.ok) {
        await res.body?.cancel();
        return 'sent';
      }
      const code = errorCodeOf(await res.json().catch(() => undefined));
      if (code === 'UNREGISTERED' || code === 'SENDER_ID_MISMATCH' || res.status === 404) {
        return 'unregistered';
      }
      if (res.status === 401) {
        forgetAccessToken();
        throw new TransientSendError('FCM refused the access token');
      }
      if (res.status === 429 || res.status >= 500) {
        throw new TransientSendError(
          `FCM answered ${res.status}${code ? ` ${code}` : ''}`,
          parseRetryAfter(res.headers.get('retry-after')),
        );
      }
      if (res.status === 400)
        throw new PermanentSendError(`FCM answered 400${code ? ` ${code}` : ''}`);
      // 403 (permission) and anything else: a configuration problem; retried, then dead-lettered.
      throw new TransientSendError(`FCM answered ${res.status}${code ? ` ${code}` : ''}`);
    },
  };
}

let override: PushSender | null | undefined;

export function setPushSenderForTests(sender: PushSender | null | undefined): void {
  override = sender;
}

/** The configured sender, or null when no Firebase project is configured (local runs). */
export function pushSender(): PushSender | null {
  if (override !== undefined) return override;
  const cfg = config();
  const project = cfg.FCM_PROJECT ?? cfg.GOOGLE_CLOUD_PROJECT;
  if (!project) return null;
  return createFcmSender({ endpoint: cfg.FCM_ENDPOINT, project, auth: cfg.FCM_AUTH });
}
