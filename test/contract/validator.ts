// Checks one HTTP response against the OpenAPI document: the operation exists, the status is
// documented, the content type is one the document gives, the body validates against its
// schema (JSON Schema 2020-12, Ajv) and the headers the document requires are there.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { DOCUMENT_PATH, documentPath } from '../../shared/contract/openapi.ts';
import { httpFunctions } from '../../shared/registry.ts';
import type { ResponseObserver } from '../../shared/runtime/http.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
export type ObservedResponse = Parameters<ResponseObserver>[0];

const rewriteRefs = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"#/$defs/'));

export interface ContractValidator {
  /** Problems with the response (empty when it matches the document). */
  check(response: ObservedResponse): string[];
}

export function loadDocument(): Json {
  return JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8')) as Json;
}

export function createValidator(document: Json = loadDocument()): ContractValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const components = document.components as {
    schemas: Json;
    headers: Record<string, { required?: boolean }>;
  };
  const defs = rewriteRefs(components.schemas) as Json;
  const compiled = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: unknown): ValidateFunction => {
    let fn = compiled.get(key);
    if (!fn) {
      fn = ajv.compile({ $defs: defs, ...(rewriteRefs(schema) as Json) });
      compiled.set(key, fn);
    }
    return fn;
  };
  const paths = document.paths as Record<string, Record<string, Json>>;

  return {
    check(response) {
      const { functionName, method, routePath, status } = response;
      // A function a test defines for itself (test/runtime) is not part of the API.
      if (!httpFunctions.some((fn) => fn.name === functionName)) return [];
      const where = `${functionName} ${method} ${routePath ?? '(no route)'} -> ${status}`;
      const headers = response.headers;
      const contentType = String(headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim();
      const text =
        typeof response.body === 'string'
          ? response.body
          : Buffer.isBuffer(response.body)
            ? response.body.toString('utf8')
            : response.body === undefined
              ? ''
              : JSON.stringify(response.body);
      const parse = (): { ok: true; value: unknown } | { ok: false } => {
        try {
          return { ok: true, value: JSON.parse(text) };
        } catch {
          return { ok: false };
        }
      };

      // No route matched (404/405) or a CORS preflight: only the error model applies.
      if (!routePath) {
        if (status < 400) return [];
        if (contentType !== 'application/problem+json')
          return [`${where}: content type ${contentType}, expected application/problem+json`];
        const body = parse();
        if (!body.ok) return [`${where}: body is not JSON`];
        const validate = compile('Problem', { $ref: '#/components/schemas/Problem' });
        return validate(body.value) ? [] : [`${where}: ${ajv.errorsText(validate.errors)}`];
      }

      const docPath = documentPath(functionName, routePath);
      const operation = paths[docPath]?.[method.toLowerCase()] as
        | { responses: Record<string, Json> }
        | undefined;
      if (!operation) return [`${where}: ${method} ${docPath} is not in the document`];
      const documented = operation.responses[String(status)] as
        | { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }
        | undefined;
      if (!documented) return [`${where}: status ${status} is not documented`];

      const problems: string[] = [];
      for (const [name, header] of Object.entries(documented.headers ?? {})) {
        const ref = (header as { $ref?: string }).$ref;
        const spec = ref
          ? components.headers[ref.replace('#/components/headers/', '')]
          : (header as { required?: boolean });
        if (spec?.required && headers[name.toLowerCase()] === undefined)
          problems.push(`${where}: header ${name} is missing`);
      }
      if (!documented.content) {
        if (text !== '') problems.push(`${where}: a body was sent where none is documented`);
        return problems;
      }
      const media = documented.content[contentType ?? ''];
      if (!media) {
        problems.push(
          `${where}: content type ${contentType || '(none)'}, documented: ${Object.keys(documented.content).join(', ')}`,
        );
        return problems;
      }
      if (!contentType?.endsWith('json')) return problems;
      const body = parse();
      if (!body.ok) return [...problems, `${where}: body is not JSON`];
      const validate = compile(`${docPath} ${method} ${status} ${contentType}`, media.schema);
      if (!validate(body.value)) problems.push(`${where}: ${ajv.errorsText(validate.errors)}`);
      return problems;
    },
  };
}
