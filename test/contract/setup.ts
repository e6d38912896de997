// vitest setupFiles: every response an HTTP function sends during any test is checked against
// docs/openapi.json (test/contract/validator.ts). A test during which a response broke the
// contract fails in its afterEach, naming the route and the mismatch. The observer only keeps
// the response; checking waits for afterEach, so it never slows the requests a test times or
// races (e.g. 50 parallel posts on a small pool).
// CONTRACT_CHECK=off turns it off (e.g. to see a handler's own failure first).
import { afterEach } from 'vitest';
import { observeResponses } from '../../shared/runtime/http.ts';
import { type ContractValidator, createValidator, type ObservedResponse } from './validator.ts';

let seen: ObservedResponse[] = [];
let validator: ContractValidator | undefined;

/** The contract violations among the responses seen since the last call. */
export function takeContractViolations(): string[] {
  const responses = seen;
  seen = [];
  if (responses.length === 0) return [];
  validator ??= createValidator();
  const checker = validator;
  return responses.flatMap((r) => checker.check(r));
}

if (process.env.CONTRACT_CHECK !== 'off') {
  observeResponses((response) => {
    seen.push(response);
  });
  afterEach(() => {
    const found = takeContractViolations();
    if (found.length > 0) {
      throw new Error(`Responses broke the API contract (docs/openapi.json):\n${found.join('\n')}`);
    }
  });
}
