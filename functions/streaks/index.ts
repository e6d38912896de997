// A child's streak and history, as of the family's local date.
import { z } from 'zod';
import { streakView } from '../../shared/learning/progress.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

export const routes = [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: z.strictObject({ childId: idSchema }),
    learner: 'childId',
    handler: async ({ learner, now }) => streakView(learner, now),
  }),
];

export const handler = defineHttpFunction('streaks', routes);
