// Topic catalogue for an age group; a child's constellation.
import { z } from 'zod';
import { catalogue, constellationFor } from '../../shared/learning/constellation.ts';
import { AGE_GROUPS } from '../../shared/learning/types.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

export const routes = [
  route({
    method: 'GET',
    path: '/',
    auth: 'public',
    query: z.object({ ageGroup: z.enum(AGE_GROUPS) }),
    handler: async ({ query }) => ({
      ageGroup: query.ageGroup,
      topics: await catalogue(query.ageGroup),
    }),
  }),
  route({
    method: 'GET',
    path: '/children/:childId/constellation',
    auth: 'parentOrChild',
    params: z.strictObject({ childId: idSchema }),
    learner: 'childId',
    handler: async ({ learner, now }) => constellationFor(learner, now),
  }),
];

export const handler = defineHttpFunction('topics', routes);
