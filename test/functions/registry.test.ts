// The registry is what the local server, the bundler and Terraform read: every entry must
// point at a module that registers exactly that function, and every functions/ folder must
// be in the registry.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFunction } from '@google-cloud/functions-framework/testing';
import { describe, expect, it } from 'vitest';
import { functionRegistry } from '../../shared/registry.ts';
import { routeTables } from '../../shared/runtime/http.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('function registry', () => {
  it('has unique names that match their folders', () => {
    const names = functionRegistry.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const fn of functionRegistry) expect(fn.source).toBe(`functions/${fn.name}/index.ts`);
    const folders = readdirSync(path.join(root, 'functions'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(folders).toEqual([...names].sort());
  });

  it('gives every job a schedule and no HTTP function one', () => {
    for (const fn of functionRegistry) {
      if (fn.kind === 'job') expect(fn.schedule?.cron).toMatch(/^(\S+\s+){4}\S+$/);
      else expect(fn.schedule).toBeUndefined();
    }
  });

  it.each(functionRegistry.map((f) => [f.name, f] as const))(
    '%s registers itself on import',
    async (name, fn) => {
      expect(existsSync(path.join(root, fn.source))).toBe(true);
      await import(path.join(root, fn.source));
      expect(getFunction(name)).toBeTypeOf('function');
    },
  );

  // One export shape: every module exports `handler` (what the framework serves); an HTTP
  // function also exports `routes`, the very table its handler was built from.
  it.each(functionRegistry.map((f) => [f.name, f] as const))(
    '%s exports the one function shape',
    async (name, fn) => {
      const mod = (await import(path.join(root, fn.source))) as Record<string, unknown>;
      expect(mod.handler).toBeTypeOf('function');
      const expected = fn.kind === 'http' ? ['handler', 'routes'] : ['handler'];
      expect(Object.keys(mod).sort()).toEqual(expected);
      if (fn.kind === 'http') expect(mod.routes).toBe(routeTables.get(name));
    },
  );
});
