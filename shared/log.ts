// JSON-lines logger in Cloud Logging's shape (`severity`, `message`, structured fields).
// Callers pass fields explicitly; secrets and children's text are never passed, and a
// redaction pass drops well-known secret keys in case one slips through.
import { config } from './config.ts';

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
const rank: Record<Severity, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };
const levelRank = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

const SECRET_KEYS =
  /^(password|pin|token|accessToken|refreshToken|idToken|authorization|content|text|secret)$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function write(severity: Severity, message: string, fields: LogFields): void {
  if (rank[severity] < levelRank[config().LOG_LEVEL]) return;
  const line = JSON.stringify({
    severity,
    message,
    time: new Date().toISOString(),
    ...(redact(fields) as LogFields),
  });
  if (rank[severity] >= rank.WARNING) process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

export function createLogger(base: LogFields = {}): Logger {
  return {
    debug: (m, f) => write('DEBUG', m, { ...base, ...f }),
    info: (m, f) => write('INFO', m, { ...base, ...f }),
    warn: (m, f) => write('WARNING', m, { ...base, ...f }),
    error: (m, f) => write('ERROR', m, { ...base, ...f }),
    child: (f) => createLogger({ ...base, ...f }),
  };
}

export const logger = createLogger();

/** Error details safe to log: name, message, code and stack, never the request body. */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { errorName: err.name, errorMessage: err.message, errorCode: code, stack: err.stack };
  }
  return { errorMessage: String(err) };
}
