// The shared Prisma client is the data layer: nothing in the functions or the domain services
// talks to PostgreSQL around it. Only shared/db/ (the client's pool, the migrator) and the
// embedded database for `npm start` hold their own connections.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Files allowed their own connection, with why. */
const OWN_CONNECTION: Record<string, string> = {
  'shared/dev/embedded-db.ts': 'starts PGlite for `npm start` and hands its socket to the pool',
};

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith(`shared${path.sep}db${path.sep}`));
}

// `import pg from 'pg'`, `import type pg from 'pg'`, `import('pg')`, `require('pg')`.
const PG_IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]pg(?:\/[^'"]*)?['"]/;
// A driver call: `.query(` or `.query<Row>(`.
const DRIVER_CALL = /\.query\s*(?:<[^>]*>)?\s*\(/;

function offenders(files: readonly string[], read: (f: string) => string): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (OWN_CONNECTION[file.split(path.sep).join('/')]) continue;
    const text = read(file);
    text.split('\n').forEach((line, i) => {
      if (PG_IMPORT.test(line) || DRIVER_CALL.test(line))
        found.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

describe('the data layer', () => {
  it('has no pg import and no driver .query( outside shared/db/', () => {
    const files = [...sources('shared'), ...sources('functions')];
    expect(files.length).toBeGreaterThan(50);
    expect(offenders(files, (f) => readFileSync(path.join(root, f), 'utf8'))).toEqual([]);
  });

  it('the check catches each spelling it is meant to catch', () => {
    const samples: Record<string, string> = {
      'a.ts': "import pg from 'pg';",
      'b.ts': "import type { PoolClient } from 'pg';",
      'c.ts': "const { Pool } = await import('pg');",
      'd.ts': 'await client.query<Row>(`SELECT 1`);',
      'e.ts': "await db.query('SELECT 1', []);",
      'f.ts': 'await db.$queryRaw`SELECT 1`; // fine',
    };
    const hits = offenders(Object.keys(samples), (f) => samples[f] ?? '');
    expect(hits.map((h) => h.split(':')[0])).toEqual(['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts']);
  });
});
