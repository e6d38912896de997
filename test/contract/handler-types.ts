// Compile-time half of the contract (issue 11): what each route's handler resolves to must be
// a body its response schemas allow (shared/contract/operations.ts). `npm test` type-checks
// before it runs, so a handler that returns a field the contract does not have, misses a
// required one or changes a type does not build. (The runtime half validates every response
// the suite receives: test/contract/setup.ts.)
import type { z } from 'zod';
import type { routes as auth } from '../../functions/auth/index.ts';
import type { routes as brainSparks } from '../../functions/brain-sparks/index.ts';
import type { routes as children } from '../../functions/children/index.ts';
import type { routes as consents } from '../../functions/consents/index.ts';
import type { routes as conversations } from '../../functions/conversations/index.ts';
import type { routes as dashboard } from '../../functions/dashboard/index.ts';
import type { routes as health } from '../../functions/health/index.ts';
import type { routes as leaderboard } from '../../functions/leaderboard/index.ts';
import type { routes as parents } from '../../functions/parents/index.ts';
import type { routes as progress } from '../../functions/progress/index.ts';
import type { routes as rewards } from '../../functions/rewards/index.ts';
import type { routes as streaks } from '../../functions/streaks/index.ts';
import type { routes as topics } from '../../functions/topics/index.ts';
import type { KnownOperation, operations } from '../../shared/contract/operations.ts';
import type { RouteResult, TypedRoute } from '../../shared/runtime/http.ts';

/** `/children/:childId/x` -> `/children/{childId}/x`, as the contract's keys spell paths. */
type OpenApiPath<P extends string> = P extends `${infer A}:${infer Name}/${infer Rest}`
  ? `${A}{${Name}}/${OpenApiPath<Rest>}`
  : P extends `${infer A}:${infer Name}`
    ? `${A}{${Name}}`
    : P;

/**
 * Bodies a route's success responses allow: its schemas' outputs, a page (text) where a
 * response may also be HTML, and no body (204) or a page where a response has no schema.
 */
type Allowed<K extends KnownOperation> = (typeof operations)[K]['responses'][number] extends infer R
  ? R extends { body: infer B extends z.ZodType }
    ? z.output<B> | (R extends { alsoAs: readonly string[] } ? string : never)
    : undefined | string
  : never;

/** Every top-level field name any allowed body has (a union's members each add theirs). */
type FieldsOf<T> = T extends readonly unknown[] ? never : T extends object ? keyof T : never;

/** The body a handler's result carries: `respond(status, body)` or the value itself. */
type BodyOf<R> = R extends RouteResult<infer B> ? B : R;

type Verdict<F extends string, T> =
  T extends TypedRoute<infer M, infer P, infer R>
    ? `${F} ${M} ${OpenApiPath<P>}` extends infer K
      ? K extends KnownOperation
        ? 0 extends 1 & BodyOf<R> // `any` would pass every check: refuse it
          ? { route: K; handlerReturns: 'any' }
          : [BodyOf<R>] extends [Allowed<K>]
            ? // Assignability lets extra fields through: name any the contract does not have.
              [Exclude<FieldsOf<BodyOf<R>>, FieldsOf<Allowed<K>>>] extends [never]
              ? true
              : {
                  route: K;
                  fieldsNotInContract: Exclude<FieldsOf<BodyOf<R>>, FieldsOf<Allowed<K>>>;
                }
            : { route: K; handlerReturns: BodyOf<R>; contractAllows: Allowed<K> }
        : { routeWithoutContract: K }
      : never
    : { notATypedRoute: T };

/** `true` when every route of the function passes; else the routes that do not. */
type Each<F extends string, Rs extends readonly unknown[]> = [
  Exclude<Verdict<F, Rs[number]>, true>,
] extends [never]
  ? true
  : Exclude<Verdict<F, Rs[number]>, true>;

// Each entry fails to compile, naming the route, if one of the function's handlers drifts;
// test/contract/document.test.ts checks that every HTTP function has an entry.
export const checkedFunctions = {
  auth: true satisfies Each<'auth', typeof auth>,
  'brain-sparks': true satisfies Each<'brain-sparks', typeof brainSparks>,
  children: true satisfies Each<'children', typeof children>,
  consents: true satisfies Each<'consents', typeof consents>,
  conversations: true satisfies Each<'conversations', typeof conversations>,
  dashboard: true satisfies Each<'dashboard', typeof dashboard>,
  health: true satisfies Each<'health', typeof health>,
  leaderboard: true satisfies Each<'leaderboard', typeof leaderboard>,
  parents: true satisfies Each<'parents', typeof parents>,
  progress: true satisfies Each<'progress', typeof progress>,
  rewards: true satisfies Each<'rewards', typeof rewards>,
  streaks: true satisfies Each<'streaks', typeof streaks>,
  topics: true satisfies Each<'topics', typeof topics>,
};
