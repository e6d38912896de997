// Opt-in, anonymised streak leaderboard (off by default for every child).
import { z } from 'zod';
import { actorOf, learnerFor } from '../../shared/learning/access.ts';
import { leaderboardFor, setLeaderboardOptIn } from '../../shared/learning/leaderboard.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.object({ childId: idSchema });

export const handler = defineHttpFunction('leaderboard', [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: childParams,
    handler: async ({ params, principal }) =>
      leaderboardFor(await learnerFor(principal, params.childId, new Date())),
  }),
  route({
    method: 'PUT',
    path: '/children/:childId/opt-in',
    auth: 'parent',
    params: childParams,
    body: z.object({ optIn: z.boolean() }),
    handler: async ({ params, principal, body }) => {
      const learner = await learnerFor(principal, params.childId, new Date());
      return setLeaderboardOptIn(learner, body.optIn, actorOf(principal));
    },
  }),
]);
