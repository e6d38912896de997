// A local server in FCM HTTP v1's REST shape (POST /v1/projects/{p}/messages:send, errors as
// google.rpc.Status with FcmError details) plus the metadata server's token endpoint, so the
// push code runs its real HTTP path, OAuth included. Bounded: it only answers requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FcmRequest {
  project: string;
  token: string;
  message: {
    token: string;
    notification?: { title: string; body: string };
    data?: Record<string, string>;
  };
  status: number;
}

export interface FakeResponse {
  status: number;
  errorCode?: string;
  retryAfter?: string;
}

export interface FakeFcm {
  url: string;
  /** Every messages:send call, answered or not. */
  requests: FcmRequest[];
  /** Only the pushes FCM accepted (200). */
  delivered(): FcmRequest[];
  /** Tokens FCM reports as UNREGISTERED (404). */
  unregistered: Set<string>;
  /** Answers for the next calls with this token, in order (then 200 again). */
  queue(token: string, ...responses: FakeResponse[]): void;
  /** Delay before answering (to let racing senders overlap). */
  delayMs: number;
  tokensIssued: number;
  close(): Promise<void>;
}

const STATUS_NAME: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export async function startFakeFcm(): Promise<FakeFcm> {
  const requests: FcmRequest[] = [];
  const queued = new Map<string, FakeResponse[]>();
  const issued = new Set<string>();
  const state = { delayMs: 0, tokensIssued: 0 };
  const unregistered = new Set<string>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = req.url ?? '';
      if (
        req.method === 'GET' &&
        url === '/computeMetadata/v1/instance/service-accounts/default/token'
      ) {
        if (req.headers['metadata-flavor'] !== 'Google') {
          res.writeHead(403).end();
          return;
        }
        state.tokensIssued += 1;
        const token = `ya29.fake-${state.tokensIssued}`;
        issued.add(token);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
        return;
      }
      const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url);
      if (req.method !== 'POST' || !match) {
        res.writeHead(404).end();
        return;
      }
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        message: FcmRequest['message'];
      };
      const token = body.message.token;
      const answer = (status: number, errorCode?: string, headers: Record<string, string> = {}) => {
        requests.push({
          project: decodeURIComponent(match[1] ?? ''),
          token,
          message: body.message,
          status,
        });
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        if (status === 200) {
          res.end(JSON.stringify({ name: `projects/${match[1]}/messages/${requests.length}` }));
          return;
        }
        res.end(
          JSON.stringify({
            error: {
              code: status,
              message: 'fake FCM error',
              status: STATUS_NAME[status] ?? 'UNKNOWN',
              details: errorCode
                ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }]
                : [],
            },
          }),
        );
      };
      if (!bearer || !issued.has(bearer)) return answer(401);
      const next = queued.get(token)?.shift();
      if (next)
        return answer(
          next.status,
          next.errorCode,
          next.retryAfter ? { 'retry-after': next.retryAfter } : {},
        );
      if (unregistered.has(token)) return answer(404, 'UNREGISTERED');
      return answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    delivered: () => requests.filter((r) => r.status === 200),
    unregistered,
    queue(token, ...responses) {
      queued.set(token, [...(queued.get(token) ?? []), ...responses]);
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    get tokensIssued() {
      return state.tokensIssued;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
