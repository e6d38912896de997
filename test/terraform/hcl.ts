// Loads the Terraform configuration the way Terraform sees it (every *.tf file of the module
// merged), parsed offline by @cdktf/hcl2json. Every block comes back as an array of objects.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';

export const terraformDir = fileURLToPath(new URL('../../terraform/', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: parsed HCL is untyped JSON, navigated by the tests.
export type Hcl = any;

export interface TerraformModule {
  files: Record<string, Hcl>;
  resource: Record<string, Record<string, Hcl[]>>;
  data: Record<string, Record<string, Hcl[]>>;
  variable: Record<string, Hcl[]>;
  output: Record<string, Hcl[]>;
  locals: Record<string, unknown>;
  terraform: Hcl[];
}

export async function tfFiles(dir = terraformDir, ext = '.tf'): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(ext)).sort();
}

export async function parseFile(path: string, name = path): Promise<Hcl> {
  return parse(name, await readFile(path, 'utf8'));
}

export async function loadModule(dir = terraformDir): Promise<TerraformModule> {
  const mod: TerraformModule = {
    files: {},
    resource: {},
    data: {},
    variable: {},
    output: {},
    locals: {},
    terraform: [],
  };
  for (const file of await tfFiles(dir)) {
    const tf = await parseFile(`${dir}${file}`, file);
    mod.files[file] = tf;
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, byName] of Object.entries<Record<string, Hcl[]>>(tf[kind] ?? {})) {
        mod[kind][type] ??= {};
        for (const [name, blocks] of Object.entries(byName)) {
          if (mod[kind][type][name]) throw new Error(`${kind} ${type}.${name} declared twice`);
          mod[kind][type][name] = blocks;
        }
      }
    }
    for (const kind of ['variable', 'output'] as const) {
      for (const [name, blocks] of Object.entries<Hcl[]>(tf[kind] ?? {})) {
        if (mod[kind][name]) throw new Error(`${kind} ${name} declared twice`);
        mod[kind][name] = blocks;
      }
    }
    for (const block of tf.locals ?? []) {
      for (const [name, value] of Object.entries(block)) {
        if (name in mod.locals) throw new Error(`local ${name} declared twice`);
        mod.locals[name] = value;
      }
    }
    mod.terraform.push(...(tf.terraform ?? []));
  }
  return mod;
}

/** The single body of `resource "<type>" "<name>"`; fails when it is missing. */
export function resource(mod: TerraformModule, type: string, name: string): Hcl {
  const body = mod.resource[type]?.[name]?.[0];
  if (!body) throw new Error(`resource ${type}.${name} is not declared`);
  return body;
}

/** Every string anywhere inside a parsed value (attribute values, nested blocks). */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}
