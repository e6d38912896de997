// Cold start: the account functions must not load the heavy libraries at import. argon2 is
// needed only to hash or check a secret, jose only to sign or verify a token, Redis and the
// limiter only on rate-limited routes; Pub/Sub never. Each is imported dynamically on first use.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ACCOUNT_FUNCTIONS = ['auth', 'parents', 'consents', 'children', 'health'];
const LAZY_PACKAGES = [
  '@node-rs/argon2',
  'jose',
  'ioredis',
  'rate-limiter-flexible',
  '@google-cloud/pubsub',
];

describe('account functions load heavy libraries lazily', () => {
  it.each(ACCOUNT_FUNCTIONS)(
    '%s imports argon2, jose, Redis and Pub/Sub only dynamically',
    async (name) => {
      const result = await build({
        entryPoints: [`functions/${name}/index.ts`],
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      const imports = Object.entries(result.metafile.inputs).flatMap(([file, input]) =>
        input.imports.map((i) => ({ file, ...i })),
      );
      const eager = imports
        .filter((i) => LAZY_PACKAGES.includes(i.path) && i.kind !== 'dynamic-import')
        .map((i) => `${i.file} -> ${i.path}`);
      expect(eager).toEqual([]);
      // The check sees the packages at all (a renamed import would make it vacuous).
      expect(imports.some((i) => i.path === 'jose' && i.kind === 'dynamic-import')).toBe(true);
    },
  );
});
