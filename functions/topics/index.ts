// Topic catalogue for an age group; a child's constellation.
import { z } from 'zod';
import { actorOf, learnerFor } from '../../shared/learning/access.ts';
import { buildConstellation, catalogue, syncUnlocks } from '../../shared/learning/constellation.ts';
import { readDb, withChildLock } from '../../shared/learning/db.ts';
import { AGE_GROUPS } from '../../shared/learning/types.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.object({ childId: idSchema });

export const handler = defineHttpFunction('topics', [
  route({
    method: 'GET',
    path: '/',
    auth: 'public',
    query: z.object({ ageGroup: z.enum(AGE_GROUPS) }),
    handler: async ({ query }) => ({
      ageGroup: query.ageGroup,
      topics: await catalogue(await readDb(), query.ageGroup),
    }),
  }),
  route({
    method: 'GET',
    path: '/children/:childId/constellation',
    auth: 'parentOrChild',
    params: childParams,
    handler: async ({ params, principal }) => {
      const now = new Date();
      const learner = await learnerFor(principal, params.childId, now);
      // Topics that are open from the start are recorded as unlocked the first time they show.
      await withChildLock(learner.childId, actorOf(principal), (tx) =>
        syncUnlocks(tx, learner, now),
      );
      return buildConstellation(await readDb(), learner);
    },
  }),
]);
