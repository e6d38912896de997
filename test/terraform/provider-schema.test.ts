// Every resource and data block of terraform/*.tf checked against the Google provider's own
// schema (terraform/provider-schema.json, extracted from @cdktf/provider-google by
// scripts/extract-provider-schema.ts): each argument and nested block exists, required ones
// are written, and nothing the provider computes is set. The provider pin must allow the
// version the schema comes from, and start at it (older 6.x releases lack arguments used).
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BlockSchema,
  type ProviderSchema,
  schemaPath,
  usedTypes,
} from '../../scripts/extract-provider-schema.ts';
import { type Hcl, loadModule, type TerraformModule } from './hcl.ts';

const metaArguments = new Set([
  'count',
  'for_each',
  'depends_on',
  'lifecycle',
  'provider',
  'provisioner',
  'connection',
]);

/** Resource types of other providers, which the Google schema cannot cover. */
const otherProviders = ['random_password'];

/** Problems of one block body against its schema, each prefixed with where it is. */
function checkBlock(body: Hcl, schema: BlockSchema, where: string, top = false): string[] {
  const problems: string[] = [];
  const written = new Set<string>();
  const nested = (name: string, bodies: Hcl[]) => {
    const blockSchema = schema.blocks[name];
    if (!blockSchema) {
      problems.push(`${where}: ${name} is not a block of this type`);
      return;
    }
    written.add(name);
    bodies.forEach((b, i) => {
      problems.push(...checkBlock(b, blockSchema, `${where}.${name}[${i}]`));
    });
  };
  for (const [key, value] of Object.entries<Hcl>(body)) {
    if (top && metaArguments.has(key)) continue;
    if (key === 'dynamic') {
      for (const [name, generators] of Object.entries<Hcl[]>(value)) {
        for (const g of generators) nested(name, g.content ?? []);
      }
      continue;
    }
    if (key in schema.arguments) {
      written.add(key);
    } else if (key in schema.blocks) {
      nested(key, Array.isArray(value) ? value : [value]);
    } else if (schema.computed.includes(key)) {
      problems.push(`${where}: ${key} is computed by the provider and cannot be set`);
    } else {
      problems.push(`${where}: ${key} is not an argument of this type`);
    }
  }
  for (const [name, arg] of Object.entries(schema.arguments)) {
    if (arg.required && !written.has(name)) problems.push(`${where}: required ${name} missing`);
  }
  for (const [name, block] of Object.entries(schema.blocks)) {
    if (block.required && !written.has(name))
      problems.push(`${where}: required block ${name} missing`);
  }
  return problems;
}

let schema: ProviderSchema;
let mod: TerraformModule;

beforeAll(async () => {
  schema = JSON.parse(await readFile(schemaPath, 'utf8'));
  mod = await loadModule();
});

describe('the extracted provider schema', () => {
  it('comes from a known provider release and covers every Google type the module uses', async () => {
    expect(schema.provider).toBe('hashicorp/google');
    expect(schema.version).toMatch(/^6\.\d+\.\d+$/);
    expect(schema.package).toMatch(/^@cdktf\/provider-google@\d+\.\d+\.\d+$/);
    const used = await usedTypes();
    expect(Object.keys(schema.resources).sort()).toEqual(
      used.resources.filter((t) => !otherProviders.includes(t)),
    );
    expect(Object.keys(schema.data).sort()).toEqual(used.data);
    for (const type of used.resources.filter((t) => !t.startsWith('google_'))) {
      expect(otherProviders).toContain(type);
    }
  });

  it('is what the provider pin allows, from its lower bound', () => {
    const google = mod.terraform[0].required_providers[0].google;
    const constraint: string = google.version;
    expect(google.source).toBe(schema.provider);
    const lower = /^>= ?(\d+\.\d+\.\d+)/.exec(constraint)?.[1];
    const upper = /< ?(\d+)\.0\.0$/.exec(constraint)?.[1];
    expect(lower).toBe(schema.version);
    expect(Number(schema.version.split('.')[0])).toBeLessThan(Number(upper));
  });
});

describe('every block in terraform/*.tf against the provider schema', () => {
  it('finds wrong, missing and computed-only arguments (the checker can fail)', () => {
    const sql = schema.resources.google_sql_database_instance as BlockSchema;
    const problems = checkBlock(
      {
        name: 'x',
        connection_name: 'computed',
        settings: [{ tier: 'db-f1-micro', no_such_argument: 1 }],
        dynamic: { no_such_block: [{ for_each: [], content: [{}] }] },
      },
      sql,
      'sample',
      true,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'sample: connection_name is computed by the provider and cannot be set',
        'sample.settings[0]: no_such_argument is not an argument of this type',
        'sample: no_such_block is not a block of this type',
        'sample: required database_version missing',
      ]),
    );
    expect(checkBlock({ settings: [{}] }, sql, 's', true)).toContain(
      's.settings[0]: required tier missing',
    );
  });

  it('has no unknown argument or block, no missing required one, nothing computed set', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const kind of ['resource', 'data'] as const) {
      const types = kind === 'resource' ? schema.resources : schema.data;
      for (const [type, byName] of Object.entries(mod[kind])) {
        if (otherProviders.includes(type)) continue;
        const typeSchema = types[type];
        if (!typeSchema) {
          problems.push(`${kind} ${type}: not in the provider schema`);
          continue;
        }
        for (const [name, bodies] of Object.entries(byName)) {
          for (const body of bodies) {
            problems.push(...checkBlock(body, typeSchema, `${type}.${name}`, true));
            checked++;
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });
});
