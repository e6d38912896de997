// Rewards, star balance, badge catalogue, cosmetics bought with stars.
import { z } from 'zod';
import { actorOf, learnerFor } from '../../shared/learning/access.ts';
import { readDb } from '../../shared/learning/db.ts';
import {
  BADGES,
  COSMETICS,
  getRewards,
  purchaseCosmetic,
  STARS,
} from '../../shared/learning/rewards.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.object({ childId: idSchema });

export const handler = defineHttpFunction('rewards', [
  route({
    method: 'GET',
    path: '/catalogue',
    auth: 'public',
    handler: async () => ({ badges: BADGES, cosmetics: COSMETICS, stars: STARS }),
  }),
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parentOrChild',
    params: childParams,
    handler: async ({ params, principal }) => {
      await learnerFor(principal, params.childId, new Date());
      return getRewards(await readDb(), params.childId);
    },
  }),
  route({
    method: 'POST',
    path: '/children/:childId/cosmetics',
    auth: 'parentOrChild',
    params: childParams,
    body: z.object({ itemId: z.string().min(1).max(100) }),
    handler: async ({ params, principal, body }) => {
      const now = new Date();
      await learnerFor(principal, params.childId, now);
      return respond(
        201,
        await purchaseCosmetic(params.childId, body.itemId, actorOf(principal), now),
      );
    },
  }),
]);
