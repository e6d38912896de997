// The Functions Framework parses bodies with body-parser before our handler runs, and a
// malformed JSON body would otherwise get Express's HTML error page. We wrap the app's final
// handler (of the very Express instance the framework uses) so such errors leave as
// problem+json like every other error.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

let installed = false;

interface BodyParserError {
  type?: string;
  status?: number;
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
    return originalHandle.call(this, req, res, (err?: unknown) => {
      const given = req.headers['x-request-id'];
      const requestId =
        typeof given === 'string' && /^[A-Za-z0-9._-]{8,128}$/.test(given) ? given : randomUUID();
      const send = (status: number, code: string, title: string, detail: string) => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/problem+json');
        res.setHeader('x-request-id', requestId);
        res.end(
          JSON.stringify({
            type: `https://brainspark.app/problems/${code.replaceAll('_', '-')}`,
            title,
            status,
            detail,
            code,
            requestId,
          }),
        );
      };
      // The framework's router decodes the path before our handler runs; a broken
      // percent-escape would otherwise leave as an HTML page (with a stack trace outside
      // production).
      if (err instanceof URIError) {
        send(400, 'invalid_request', 'Invalid request', 'The URL has a broken percent-encoding');
        return;
      }
      const bodyError = err as BodyParserError | undefined;
      if (!bodyError?.type?.startsWith('entity.') && bodyError?.type !== 'encoding.unsupported') {
        fallback(err);
        return;
      }
      const tooLarge = bodyError.type === 'entity.too.large';
      const status = tooLarge ? 413 : bodyError.status === 415 ? 415 : 400;
      const code = tooLarge
        ? 'payload_too_large'
        : status === 415
          ? 'unsupported_media_type'
          : 'malformed_json';
      send(
        status,
        code,
        'The request body could not be read',
        tooLarge ? 'The body is too large' : 'The body is not valid JSON',
      );
    });
  };
}
