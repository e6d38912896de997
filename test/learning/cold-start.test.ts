// Cold start: the learning functions must not load the heavy libraries at import. Pub/Sub
// (~500 ms) is only needed to publish an alert, obscenity (tens of ms) only to scan text; both
// are imported dynamically on first use (so is the confusables table), so a list or a transcript never pays for them.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const LEARNING_FUNCTIONS = [
  'topics',
  'conversations',
  'brain-sparks',
  'progress',
  'streaks',
  'rewards',
  'dashboard',
  'leaderboard',
];
const LAZY_PACKAGES = ['@google-cloud/pubsub', 'obscenity', 'unhomoglyph/data.json'];

describe('learning functions load heavy libraries lazily', () => {
  it.each(LEARNING_FUNCTIONS)('%s imports Pub/Sub and obscenity only dynamically', async (name) => {
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
    const eager = Object.entries(result.metafile.inputs).flatMap(([file, input]) =>
      input.imports
        .filter((i) => LAZY_PACKAGES.includes(i.path) && i.kind !== 'dynamic-import')
        .map((i) => `${file} -> ${i.path}`),
    );
    expect(eager).toEqual([]);
  });
});
