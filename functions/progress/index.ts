// A child's progress per topic.
import { z } from 'zod';
import { listProgress, topicProgress } from '../../shared/learning/progress.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

export const routes = [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: z.strictObject({ childId: idSchema }),
    learner: 'childId',
    handler: async ({ learner }) => listProgress(learner),
  }),
  route({
    method: 'GET',
    path: '/children/:childId/topics/:topicId',
    auth: 'parentOrChild',
    params: z.strictObject({ childId: idSchema, topicId: idSchema }),
    learner: 'childId',
    handler: async ({ learner, params }) => topicProgress(learner, params.topicId),
  }),
];

export const handler = defineHttpFunction('progress', routes);
