// `npm start` serves the API contract: GET /openapi.json (generated from the route tables the
// server runs, its server URL set to this server) and GET /docs, a human reference rendered by
// Scalar's standalone bundle, served from node_modules so it works offline.
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { routeTables } from '../runtime/http.ts';
import { buildDocument } from './openapi.ts';

const require = createRequire(import.meta.url);
// The package's exports hide its browser bundle: it sits beside the main entry (dist/).
const scalarDir = () =>
  path.join(path.dirname(require.resolve('@scalar/api-reference')), 'browser');

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BrainSpark API</title>
</head>
<body>
<div id="app"></div>
<script src="/docs/assets/standalone.js"></script>
<script>
  Scalar.createApiReference('#app', {
    url: '/openapi.json',
    // Offline: no web fonts from Scalar's servers, no telemetry, no hosted client.
    withDefaultFonts: false,
    telemetry: false,
    hideClientButton: true,
    showDeveloperTools: 'never',
    // Every function's operations listed at once (not one group at a time).
    defaultOpenAllTags: true,
    agent: { disabled: true },
    mcp: { disabled: true },
  });
</script>
</body>
</html>
`;

let documentJson: string | undefined;

/** Answers /openapi.json, /docs and /docs/assets/*; false for any other path. */
export function serveApiDocs(pathname: string, baseUrl: string, res: http.ServerResponse): boolean {
  if (pathname === '/openapi.json') {
    if (!documentJson) {
      const { document } = buildDocument(routeTables);
      documentJson = JSON.stringify({
        ...document,
        servers: [{ url: baseUrl, description: 'This server (npm start)' }],
      });
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(documentJson);
    return true;
  }
  if (pathname === '/docs' || pathname === '/docs/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
    return true;
  }
  const asset = /^\/docs\/assets\/((?:chunks\/)?[A-Za-z0-9._-]+\.js)$/.exec(pathname)?.[1];
  if (asset) {
    Promise.resolve()
      .then(() => readFile(path.join(scalarDir(), asset)))
      .then(
        (content) => {
          res.writeHead(200, {
            'content-type': 'text/javascript; charset=utf-8',
            'cache-control': 'public, max-age=3600',
          });
          res.end(content);
        },
        () => {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found');
        },
      );
    return true;
  }
  return false;
}
