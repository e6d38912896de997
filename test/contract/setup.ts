// vitest setupFiles: every response an HTTP function sends during any test is checked against
// docs/openapi.json (test/contract/validator.ts). A test during which a response broke the
// contract fails in its afterEach, naming the route and the mismatch.
// CONTRACT_CHECK=off turns it off (e.g. to see a handler's own failure first).
import { afterEach } from 'vitest';
import { observeResponses } from '../../shared/runtime/http.ts';
import { type ContractValidator, createValidator } from './validator.ts';

let violations: string[] = [];

/** The violations seen since the last call (test/contract/validator.test.ts checks its own). */
export function takeContractViolations(): string[] {
  const found = violations;
  violations = [];
  return found;
}

if (process.env.CONTRACT_CHECK !== 'off') {
  let validator: ContractValidator | undefined;
  observeResponses((response) => {
    validator ??= createValidator();
    violations.push(...validator.check(response));
  });
  afterEach(() => {
    const found = takeContractViolations();
    if (found.length > 0) {
      throw new Error(`Responses broke the API contract (docs/openapi.json):\n${found.join('\n')}`);
    }
  });
}
