// Handlers can be typed by the response schemas: SuccessBody<'<function> <METHOD> <path>'> is
// the zod output type of the route's documented success body.
import { describe, expectTypeOf, it } from 'vitest';
import type { SuccessBody } from '../../shared/contract/operations.ts';

describe('SuccessBody', () => {
  it('gives the documented body type of a route', () => {
    expectTypeOf<SuccessBody<'streaks GET /children/{childId}'>>().toHaveProperty('current');
    expectTypeOf<
      SuccessBody<'streaks GET /children/{childId}'>['current']
    >().toEqualTypeOf<number>();
    expectTypeOf<
      SuccessBody<'children POST /{childId}/session'>['tokenType']
    >().toEqualTypeOf<'Bearer'>();
    // A route with two success statuses (201 created, 200 already granted): one body type.
    expectTypeOf<SuccessBody<'consents POST /'>['type']>().toEqualTypeOf<
      'coppa' | 'terms' | 'privacy' | 'marketing' | 'data_sharing'
    >();
  });
});
