// One error type for the whole backend. Domain services throw AppError with a stable code;
// the HTTP edge (shared/runtime/http.ts) maps the code to a status with `statusByCode`.
// Add a code here (and only here) when a new failure needs its own meaning for clients.

export const statusByCode = {
  invalid_request: 400,
  validation_failed: 400,
  malformed_json: 400,
  weak_password: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  forbidden: 403,
  consent_required: 403,
  invalid_pin: 403,
  bedtime: 403,
  time_limit_reached: 403,
  topic_locked: 403,
  not_found: 404,
  method_not_allowed: 405,
  email_taken: 409,
  child_limit_reached: 409,
  insufficient_stars: 409,
  conversation_ended: 409,
  already_owned: 409,
  idempotency_key_reused: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  age_out_of_range: 422,
  message_limit_reached: 429,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof statusByCode;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  /** Extra, client-safe members of the problem document (e.g. `retryAfterSeconds`, `opensAt`). */
  readonly details: Record<string, unknown> | undefined;
  readonly fieldErrors: FieldError[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: Record<string, unknown>;
      fieldErrors?: FieldError[];
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.fieldErrors = options.fieldErrors;
  }

  get status(): number {
    return statusByCode[this.code];
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

/** Short, client-facing titles; the `detail` carries the specific message. */
export function titleFor(code: ErrorCode): string {
  return code
    .split('_')
    .map((w, i) => (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w))
    .join(' ');
}
