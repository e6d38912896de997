// A child's progress per topic.
import { z } from 'zod';
import { learnerFor } from '../../shared/learning/access.ts';
import { listProgress, topicProgress } from '../../shared/learning/progress.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

export const handler = defineHttpFunction('progress', [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: z.object({ childId: idSchema }),
    handler: async ({ params, principal }) => {
      await learnerFor(principal, params.childId, new Date());
      return listProgress(params.childId);
    },
  }),
  route({
    method: 'GET',
    path: '/children/:childId/topics/:topicId',
    auth: 'parentOrChild',
    params: z.object({ childId: idSchema, topicId: idSchema }),
    handler: async ({ params, principal }) => {
      await learnerFor(principal, params.childId, new Date());
      return topicProgress(params.childId, params.topicId);
    },
  }),
]);
