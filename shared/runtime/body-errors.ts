// The Functions Framework parses bodies with body-parser before our handler runs, and a
// body it cannot read (malformed JSON, too large, bad charset or encoding) would otherwise get
// Express's HTML error page. We wrap the app's final
// handler (of the very Express instance the framework uses) so such errors leave as
// problem+json like every other error.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { type ErrorCode, titleFor } from '../errors.ts';
import { errorFields, logger } from '../log.ts';

/** Largest request body any function accepts. */
export const MAX_BODY_BYTES = 100 * 1024;

let installed = false;

function sendProblem(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  detail: string,
): void {
  if (res.headersSent) return;
  const given = req.headers['x-request-id'];
  const requestId =
    typeof given === 'string' && /^[A-Za-z0-9._-]{8,128}$/.test(given) ? given : randomUUID();
  res.statusCode = status;
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('x-request-id', requestId);
  res.setHeader('cache-control', 'no-store');
  res.end(
    JSON.stringify({
      type: `https://brainspark.app/problems/${code.replaceAll('_', '-')}`,
      title: titleFor(code),
      status,
      detail,
      code,
      requestId,
    }),
  );
}

const LINGER_MS = 2_000;

/** The charset a Content-Type names, lower-cased, or undefined. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');
  return match ? (match[1] ?? '').toLowerCase() : undefined;
}

/**
 * Counts a body without a declared length (chunked) while it streams in and answers 413 the
 * moment it passes `limit`: nothing more is buffered or parsed. body-parser's own error path
 * would first read and buffer the whole body (the framework allows 1 GB) before answering.
 * Closing at once would lose the answer (a close with unread data resets the connection and
 * the client drops what it received), so, like a web server's lingering close, the rest is
 * discarded unparsed for at most LINGER_MS after the answer and the connection is then cut.
 */
function limitStreamedBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  refuse: () => void,
): void {
  let received = 0;
  let over = false;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (over) return false;
    if (chunk !== null && chunk !== undefined) {
      received += (chunk as { length: number }).length;
      if (received > limit) {
        over = true;
        process.nextTick(() => {
          res.once('finish', () =>
            setTimeout(() => {
              if (!req.complete) req.socket.destroy();
            }, LINGER_MS).unref(),
          );
          refuse();
        });
        return false; // the HTTP parser stops reading the socket
      }
    }
    return push(chunk, encoding);
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
}

export function installMalformedBodyHandler(): void {
  if (installed) return;
  installed = true;
  const requireFromHere = createRequire(import.meta.url);
  const requireFromFramework = createRequire(
    requireFromHere.resolve('@google-cloud/functions-framework'),
  );
  const express = requireFromFramework('express') as { application: Record<string, unknown> };
  const requireFromExpress = createRequire(requireFromFramework.resolve('express'));
  const finalhandler = requireFromExpress('finalhandler') as (
    req: IncomingMessage,
    res: ServerResponse,
    options: { env: string },
  ) => (err?: unknown) => void;

  const app = express.application;
  const originalHandle = app.handle as (this: unknown, ...args: unknown[]) => unknown;
  app.handle = function handle(
    this: { get(key: string): string },
    req: IncomingMessage,
    res: ServerResponse,
    callback?: (err?: unknown) => void,
  ) {
    if (callback) return originalHandle.call(this, req, res, callback);
    const fallback = finalhandler(req, res, { env: this.get('env') });
    const send = (status: number, code: ErrorCode, detail: string) =>
      sendProblem(req, res, status, code, detail);
    // Refused before the framework reads the body (its limit is 1 GB): a declared oversized
    // body, and compressed bodies, which a few KB can inflate to that limit.
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      send(413, 'payload_too_large', 'The body may be at most 100 KB');
      return undefined;
    }
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      send(415, 'unsupported_media_type', 'Send the body uncompressed');
      return undefined;
    }
    // JSON is UTF-8 (RFC 8259 8.1); body-parser would also decode utf-16 and utf-7.
    const charset = charsetOf(req.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      send(415, 'unsupported_media_type', 'Send the body as UTF-8');
      return undefined;
    }
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding']) {
      limitStreamedBody(req, res, MAX_BODY_BYTES, () =>
        send(413, 'payload_too_large', 'The body may be at most 100 KB'),
      );
    }
    return originalHandle.call(this, req, res, (err?: unknown) => {
      if (err === undefined || err === null) {
        fallback(err);
        return;
      }
      // The framework's router decodes the path before our handler runs; a broken
      // percent-escape would otherwise leave as an HTML page (with a stack trace outside
      // production).
      if (err instanceof URIError) {
        send(400, 'invalid_request', 'The URL has a broken percent-encoding');
        return;
      }
      // body-parser's errors (http-errors) carry a 4xx status: bad JSON, too large, an
      // unsupported charset or encoding, a corrupt compressed body, too many form fields.
      const readError = err as BodyParserError;
      const status = readError.status ?? readError.statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        if (readError.type === 'entity.parse.failed') {
          send(400, 'malformed_json', 'The body is not valid JSON');
        } else if (status === 413) {
          send(413, 'payload_too_large', 'The body may be at most 100 KB');
        } else if (status === 415) {
          send(415, 'unsupported_media_type', "The body's charset or encoding is not supported");
        } else {
          send(400, 'invalid_request', 'The request body could not be read');
        }
        return;
      }
      logger.error('request failed before the function ran', errorFields(err));
      send(500, 'internal', 'Something went wrong on our side');
    });
  };
}
