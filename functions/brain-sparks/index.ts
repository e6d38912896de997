// Today's brain spark for a child (by the family's local date); complete it.
import { z } from 'zod';
import { actorOf } from '../../shared/learning/access.ts';
import { completeSpark, sparkToday } from '../../shared/learning/brain-sparks.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.strictObject({ childId: idSchema });

export const routes = [
  route({
    method: 'GET',
    path: '/children/:childId/today',
    auth: 'parentOrChild',
    learner: 'childId',
    params: childParams,
    handler: async ({ learner, now }) => sparkToday(learner, now),
  }),
  route({
    method: 'POST',
    path: '/children/:childId/today/complete',
    auth: 'child',
    learner: 'childId',
    params: childParams,
    handler: async ({ principal, learner, now }) => {
      const result = await completeSpark(learner, actorOf(principal), now);
      return result.action === 'started' ? respond(201, result) : result;
    },
  }),
];

export const handler = defineHttpFunction('brain-sparks', routes);
