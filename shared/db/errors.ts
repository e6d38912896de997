// Database errors as the services need them, whichever layer raised them: pg itself (the
// migrator, the embedded database) or the Prisma client, which wraps a failed raw query as
// P2010 and keeps the server's SQLSTATE and constraint in its driver-adapter cause.
import { sqlStateOf } from './resilience.ts';

export interface DbError {
  /** SQLSTATE, e.g. 23505; a network code for connection failures. */
  code?: string;
  /** The constraint or index a violation names. */
  constraint?: string;
  message?: string;
}

interface AdapterCause {
  originalCode?: string;
  originalMessage?: string;
  constraint?: { index?: string; fields?: string[] };
}

export function dbErrorOf(err: unknown): DbError {
  if (typeof err !== 'object' || err === null) return {};
  const cause = (err as { meta?: { driverAdapterError?: { cause?: AdapterCause } } }).meta
    ?.driverAdapterError?.cause;
  if (cause) {
    return {
      ...(cause.originalCode ? { code: cause.originalCode } : {}),
      ...(cause.constraint?.index ? { constraint: cause.constraint.index } : {}),
      ...(cause.originalMessage ? { message: cause.originalMessage } : {}),
    };
  }
  const plain = err as { constraint?: unknown; message?: unknown };
  const code = sqlStateOf(err);
  return {
    ...(code ? { code } : {}),
    ...(typeof plain.constraint === 'string' ? { constraint: plain.constraint } : {}),
    ...(typeof plain.message === 'string' ? { message: plain.message } : {}),
  };
}
