// The README is the newcomer's map: every configuration variable must be in its table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration variable', () => {
    const configSource = read('shared/config.ts');
    const schema = configSource.slice(configSource.indexOf('const configSchema'));
    const variables = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] as string);
    expect(variables.length).toBeGreaterThan(20);
    const readme = read('README.md');
    const documented = (name: string) => readme.includes(`\`${name}\``);
    expect(variables.filter((v) => !documented(v))).toEqual([]);
  });

  it('gives the two commands', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });
});
