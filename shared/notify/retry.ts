// Transient vs permanent send failures, and the in-process retry with backoff that every
// sender goes through. After the last in-process attempt a transient error is thrown on, so
// Pub/Sub (alerts) or the next scheduled run (jobs) tries again later.

/** Worth trying again (a 503, a 429, a dropped connection). */
export class TransientSendError extends Error {
  override name = 'TransientSendError';
  constructor(
    message: string,
    /** The server's Retry-After, when it gave one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Will fail the same way every time (a rejected recipient, a malformed request). */
export class PermanentSendError extends Error {
  override name = 'PermanentSendError';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryOptions {
  attempts: number;
  baseMs: number;
  /** Longest single wait, Retry-After included: an event handler must not idle for minutes. */
  maxWaitMs?: number;
}

/** Runs `work`, retrying TransientSendError with exponential backoff and full jitter. */
export async function withRetry<T>(work: () => Promise<T>, options: RetryOptions): Promise<T> {
  const maxWait = options.maxWaitMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof TransientSendError) || attempt >= options.attempts) throw err;
      const backoff = options.baseMs * 2 ** (attempt - 1);
      const wait = Math.min(
        maxWait,
        err.retryAfterMs ?? Math.round(backoff * (0.5 + Math.random() / 2)),
      );
      await sleep(wait);
    }
  }
}

/** Retry-After (seconds or an HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
