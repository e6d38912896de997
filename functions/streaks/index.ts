// A child's streak and history, as of the family's local date.
import { z } from 'zod';
import { learnerFor } from '../../shared/learning/access.ts';
import { streakView } from '../../shared/learning/progress.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

export const handler = defineHttpFunction('streaks', [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: z.object({ childId: idSchema }),
    handler: async ({ params, principal }) => {
      const now = new Date();
      return streakView(await learnerFor(principal, params.childId, now), now);
    },
  }),
]);
