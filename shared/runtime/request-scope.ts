// The Functions Framework wraps every request in `domain.create()` (function_wrappers.js).
// Constructing the first Domain enables Node's domain async hook for the rest of the process:
// from then on every promise anywhere (Prisma creates many per statement) runs an init
// callback and registers a destroy hook, a weak reference the garbage collector must process,
// whether or not a domain is active. Measured on this project's machine, 20 in flight: a
// one-row `$queryRaw` 0.076 -> 0.133 ms CPU, a two-statement `$transaction` 0.45 -> 0.65 ms.
//
// An HTTP function does not use what the domain offers: our handler awaits and catches
// everything (shared/runtime/http.ts), and a throw from a stray callback reaches the
// framework's process-level handler instead (a 500 for the request, then the instance is
// replaced), which Node recommends over resuming after one. So a process that serves HTTP
// functions gets a scope with the same surface and no hooks.
//
// Event functions (the jobs) need the real thing: the framework's CloudEvent wrapper calls
// `process.domain.bind()` while the request's domain is active. A process that defines a job
// (a job's deployment, `npm start`, tests) therefore keeps, or gets back, Node's domains.
import domain from 'node:domain';
import { EventEmitter } from 'node:events';

// The module object the framework calls `create()` on (`createDomain` is the same function).
const factory = domain as unknown as {
  create: () => domain.Domain;
  createDomain: () => domain.Domain;
};
const nodeCreate = factory.create;
let eventFunctionsHere = false;

/** What the framework's HTTP wrapper uses of a Domain: `on('error')` and `run()`. */
export class HttpRequestScope extends EventEmitter {
  run<A extends unknown[], T>(fn: (...args: A) => T, ...args: A): T {
    return fn(...args);
  }
  // The rest of the Domain surface, inert: nothing is entered, so nothing must be left.
  enter(): void {}
  exit(): void {}
  add(): void {}
  remove(): void {}
  bind<F>(callback: F): F {
    return callback;
  }
  intercept<F>(callback: F): F {
    return callback;
  }
}

const createScope = () => new HttpRequestScope() as unknown as domain.Domain;

/** Called when an HTTP function is defined: its requests get hook-free scopes. */
export function useHttpRequestScopes(): void {
  if (eventFunctionsHere) return;
  factory.create = createScope;
  factory.createDomain = createScope;
}

/** Called when an event function (job) is defined: every request gets Node's domain again. */
export function useNodeDomains(): void {
  eventFunctionsHere = true;
  factory.create = nodeCreate;
  factory.createDomain = nodeCreate;
}

/** Whether requests in this process currently get hook-free scopes (tests). */
export function httpRequestScopesInUse(): boolean {
  return factory.create === createScope;
}
