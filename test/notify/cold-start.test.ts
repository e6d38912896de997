// The notification libraries are heavy (nodemailer, mjml, resvg, the mail catcher's SMTP
// server and parser): no function may load them at import, only on the path that sends,
// renders or catches mail.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const FUNCTIONS = [
  'parents',
  'conversations',
  'alert-delivery',
  'weekly-digest',
  'streak-reminders',
];
const LAZY = [
  'nodemailer',
  'mjml',
  '@resvg/resvg-js',
  'smtp-server',
  'mailparser',
  'playwright-core',
];

describe('notification libraries are imported lazily', () => {
  it.each(FUNCTIONS)('%s imports them only dynamically', async (name) => {
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
      .filter((i) => LAZY.includes(i.path) && i.kind !== 'dynamic-import')
      .map((i) => `${i.file} -> ${i.path}`);
    expect(eager).toEqual([]);
  });

  it('sees the dynamic imports at all (the check is not vacuous)', async () => {
    const result = await build({
      entryPoints: ['functions/weekly-digest/index.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const dynamic = Object.values(result.metafile.inputs)
      .flatMap((input) => input.imports)
      .filter((i) => i.kind === 'dynamic-import')
      .map((i) => i.path);
    expect(dynamic).toEqual(expect.arrayContaining(['nodemailer', 'mjml', '@resvg/resvg-js']));
  });
});
