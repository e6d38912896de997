// Rewards, star balance, badge catalogue, cosmetics bought with stars.
import { z } from 'zod';
import { actorOf } from '../../shared/learning/access.ts';
import {
  BADGES,
  COSMETICS,
  getRewards,
  purchaseCosmetic,
  STARS,
} from '../../shared/learning/rewards.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.strictObject({ childId: idSchema });

export const routes = [
  route({
    method: 'GET',
    path: '/catalogue',
    auth: 'public',
    handler: async () => ({ badges: [...BADGES], cosmetics: [...COSMETICS], stars: STARS }),
  }),
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: childParams,
    learner: 'childId',
    handler: async ({ learner }) => getRewards(learner),
  }),
  route({
    method: 'POST',
    path: '/children/:childId/cosmetics',
    auth: 'parentOrChild',
    params: childParams,
    body: z.strictObject({ itemId: z.string().min(1).max(100) }),
    learner: 'childId',
    handler: async ({ learner, principal, body, now }) =>
      respond(201, await purchaseCosmetic(learner, body.itemId, actorOf(principal), now)),
  }),
];

export const handler = defineHttpFunction('rewards', routes);
