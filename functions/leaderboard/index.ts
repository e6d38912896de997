// Opt-in, anonymised streak leaderboard (off by default for every child).
import { z } from 'zod';
import { actorOf } from '../../shared/learning/access.ts';
import { leaderboardFor, setLeaderboardOptIn } from '../../shared/learning/leaderboard.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.strictObject({ childId: idSchema });

export const routes = [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: childParams,
    learner: 'childId',
    handler: async ({ learner }) => leaderboardFor(learner),
  }),
  route({
    method: 'PUT',
    path: '/children/:childId/opt-in',
    auth: 'parent',
    params: childParams,
    body: z.strictObject({ optIn: z.boolean() }),
    learner: 'childId',
    handler: async ({ learner, principal, body }) =>
      setLeaderboardOptIn(learner, body.optIn, actorOf(principal)),
  }),
];

export const handler = defineHttpFunction('leaderboard', routes);
