// Breaking changes between two OpenAPI documents, as a client built against the older one would
// feel them: an operation or success response removed, a request field newly required or no
// longer accepted, a response field removed or no longer always there, a type changed, a
// request value (enum/const) no longer accepted or a response value the client never saw.
// test/contract/versioning.test.ts fails on any of them unless the major version changed.

type Json = Record<string, unknown>;
type Schema = Json | boolean | undefined;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function resolver(document: Json) {
  const resolve = (schema: Schema, seen = 0): Schema => {
    if (typeof schema !== 'object' || schema === null) return schema;
    const ref = schema.$ref;
    if (typeof ref !== 'string' || seen > 20) return schema;
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], document);
    return resolve(target as Schema, seen + 1);
  };
  return resolve;
}

/** The set of JSON types a schema admits (anyOf/oneOf merged; null included). */
function typesOf(schema: Schema, resolve: (s: Schema) => Schema): Set<string> | undefined {
  const s = resolve(schema);
  if (typeof s !== 'object' || s === null) return undefined;
  if (typeof s.type === 'string') return new Set([s.type === 'integer' ? 'number' : s.type]);
  if (Array.isArray(s.type)) return new Set(s.type.map((t) => (t === 'integer' ? 'number' : t)));
  if ('const' in s) return new Set([s.const === null ? 'null' : typeof s.const]);
  const variants = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(variants)) {
    const out = new Set<string>();
    for (const v of variants) {
      const t = typesOf(v, resolve);
      if (!t) return undefined;
      for (const x of t) out.add(x);
    }
    return out;
  }
  if (Array.isArray(s.enum)) return new Set(s.enum.map((v) => (v === null ? 'null' : typeof v)));
  return undefined;
}

/**
 * The values a schema is limited to (enum/const, across anyOf/oneOf variants), or undefined
 * when any value of its type goes.
 */
function valuesOf(schema: Schema, resolve: (s: Schema) => Schema): Set<string> | undefined {
  const s = resolve(schema);
  if (typeof s !== 'object' || s === null) return undefined;
  if (Array.isArray(s.enum)) return new Set(s.enum.map((v) => JSON.stringify(v)));
  if ('const' in s) return new Set([JSON.stringify(s.const)]);
  const variants = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (!Array.isArray(variants)) return undefined;
  const out = new Set<string>();
  for (const v of variants) {
    // A variant that is only `null` adds the value null; any other open variant opens all.
    const only = resolve(v);
    if (typeof only === 'object' && only !== null && only.type === 'null') {
      out.add('null');
      continue;
    }
    const values = valuesOf(v, resolve);
    if (!values) return undefined;
    for (const x of values) out.add(x);
  }
  return out;
}

const objectParts = (schema: Schema, resolve: (s: Schema) => Schema) => {
  const s = resolve(schema);
  if (typeof s !== 'object' || s === null) return undefined;
  const properties = s.properties as Record<string, Schema> | undefined;
  if (!properties) return undefined;
  return {
    properties,
    required: new Set((s.required as string[] | undefined) ?? []),
    closed: s.additionalProperties === false,
  };
};

type Direction = 'request' | 'response';

function compareSchemas(
  before: Schema,
  after: Schema,
  where: string,
  direction: Direction,
  resolve: { before: (s: Schema) => Schema; after: (s: Schema) => Schema },
  out: string[],
  depth = 0,
): void {
  if (depth > 12) return;
  const tb = typesOf(before, resolve.before);
  const ta = typesOf(after, resolve.after);
  if (tb && ta) {
    // A request may widen what it accepts; a response may narrow what it gives.
    const [must, within] = direction === 'request' ? [tb, ta] : [ta, tb];
    const extra = [...must].filter((t) => !within.has(t));
    if (extra.length > 0) {
      out.push(`${where}: type changed from ${[...tb].join('|')} to ${[...ta].join('|')}`);
      return;
    }
  }
  // Enumerated values: a request may accept more of them, a response may give fewer.
  const vb = valuesOf(before, resolve.before);
  const va = valuesOf(after, resolve.after);
  if (direction === 'request' && vb !== undefined) {
    const dropped = va === undefined ? [] : [...vb].filter((v) => !va.has(v));
    if (dropped.length > 0) out.push(`${where}: no longer accepts ${dropped.join(', ')}`);
  } else if (direction === 'request' && va !== undefined) {
    out.push(`${where}: now limited to ${[...va].join(', ')}`);
  } else if (direction === 'response' && va !== undefined) {
    const added = vb === undefined ? [] : [...va].filter((v) => !vb.has(v));
    if (added.length > 0) out.push(`${where}: may now answer ${added.join(', ')}`);
  } else if (direction === 'response' && vb !== undefined) {
    out.push(`${where}: no longer limited to ${[...vb].join(', ')}`);
  }
  const ob = objectParts(before, resolve.before);
  const oa = objectParts(after, resolve.after);
  if (ob && oa) {
    for (const [name, schema] of Object.entries(ob.properties)) {
      const next = oa.properties[name];
      if (next === undefined) {
        if (direction === 'response') out.push(`${where}.${name}: removed`);
        else if (oa.closed) out.push(`${where}.${name}: no longer accepted`);
        continue;
      }
      if (direction === 'response' && ob.required.has(name) && !oa.required.has(name))
        out.push(`${where}.${name}: no longer always present`);
      compareSchemas(schema, next, `${where}.${name}`, direction, resolve, out, depth + 1);
    }
    if (direction === 'request') {
      for (const name of oa.required)
        if (!ob.required.has(name)) out.push(`${where}.${name}: newly required`);
    }
  }
  const ib = resolve.before(before);
  const ia = resolve.after(after);
  // Unions of the same arity (e.g. a child's view or a parent's): compared variant by variant.
  const ub =
    typeof ib === 'object' ? ((ib?.anyOf ?? ib?.oneOf) as Schema[] | undefined) : undefined;
  const ua =
    typeof ia === 'object' ? ((ia?.anyOf ?? ia?.oneOf) as Schema[] | undefined) : undefined;
  if (ub && ua && ub.length === ua.length) {
    ub.forEach((v, i) => {
      compareSchemas(v, ua[i], `${where}<${i}>`, direction, resolve, out, depth + 1);
    });
  }
  if (typeof ib === 'object' && typeof ia === 'object' && ib?.items && ia?.items) {
    compareSchemas(
      ib.items as Schema,
      ia.items as Schema,
      `${where}[]`,
      direction,
      resolve,
      out,
      depth + 1,
    );
  }
}

/** Every breaking change from `before` to `after` (empty: a client of `before` still works). */
export function breakingChanges(before: Json, after: Json): string[] {
  const out: string[] = [];
  const resolve = { before: resolver(before), after: resolver(after) };
  const pathsBefore = (before.paths ?? {}) as Record<string, Record<string, Json>>;
  const pathsAfter = (after.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [p, item] of Object.entries(pathsBefore)) {
    for (const method of METHODS) {
      const opBefore = item[method];
      if (!opBefore) continue;
      const where = `${method.toUpperCase()} ${p}`;
      const opAfter = pathsAfter[p]?.[method];
      if (!opAfter) {
        out.push(`${where}: operation removed`);
        continue;
      }
      // Parameters: a new required one, or a changed type.
      const params = (op: Json) =>
        new Map(((op.parameters as Json[] | undefined) ?? []).map((x) => [`${x.in}:${x.name}`, x]));
      const pb = params(opBefore);
      for (const [key, pa] of params(opAfter)) {
        const old = pb.get(key);
        if (!old) {
          if (pa.required) out.push(`${where} ${key}: newly required parameter`);
          continue;
        }
        if (pa.required && !old.required) out.push(`${where} ${key}: newly required`);
        compareSchemas(
          old.schema as Schema,
          pa.schema as Schema,
          `${where} ${key}`,
          'request',
          resolve,
          out,
        );
      }
      // Request body.
      const body = (op: Json) =>
        (op.requestBody as { required?: boolean; content?: Record<string, Json> } | undefined) ??
        undefined;
      const bb = body(opBefore);
      const ba = body(opAfter);
      if (ba?.required && !bb?.required) out.push(`${where} body: newly required`);
      if (bb?.content && ba?.content) {
        for (const [media, content] of Object.entries(bb.content)) {
          const next = ba.content[media];
          if (!next) {
            out.push(`${where} body ${media}: no longer accepted`);
            continue;
          }
          compareSchemas(
            content.schema as Schema,
            next.schema as Schema,
            `${where} body`,
            'request',
            resolve,
            out,
          );
        }
      }
      // Success responses.
      const rb = (opBefore.responses ?? {}) as Record<string, Json>;
      const ra = (opAfter.responses ?? {}) as Record<string, Json>;
      for (const [status, response] of Object.entries(rb)) {
        if (Number(status) >= 400) continue;
        const next = ra[status];
        if (!next) {
          out.push(`${where} ${status}: response removed`);
          continue;
        }
        const cb = (response.content ?? {}) as Record<string, Json>;
        const ca = (next.content ?? {}) as Record<string, Json>;
        for (const [media, content] of Object.entries(cb)) {
          const after = ca[media];
          if (!after) {
            out.push(`${where} ${status} ${media}: no longer given`);
            continue;
          }
          compareSchemas(
            content.schema as Schema,
            after.schema as Schema,
            `${where} ${status}`,
            'response',
            resolve,
            out,
          );
        }
      }
    }
  }
  return out;
}

export const majorOf = (version: string): number => Number(version.split('.')[0]);
