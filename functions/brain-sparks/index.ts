// Today's brain spark for a child (by the family's local date); complete it.
import { z } from 'zod';
import { actorOf, learnerFor } from '../../shared/learning/access.ts';
import { todaysSpark } from '../../shared/learning/brain-sparks.ts';
import { localDate } from '../../shared/learning/clock.ts';
import {
  endConversation,
  openSparkConversation,
  startConversation,
} from '../../shared/learning/conversations.ts';
import { queryRows, readDb } from '../../shared/learning/db.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.object({ childId: idSchema });

async function completedOn(childId: string, date: string): Promise<boolean> {
  const rows = await queryRows<{ done: boolean }>(
    'SELECT brain_spark_completed AS done FROM daily_activity WHERE child_id = $1 AND activity_date = $2::date',
    [childId, date],
  );
  return rows[0]?.done ?? false;
}

export const handler = defineHttpFunction('brain-sparks', [
  route({
    method: 'GET',
    path: '/children/:childId/today',
    auth: 'parentOrChild',
    params: childParams,
    handler: async ({ params, principal }) => {
      const now = new Date();
      const learner = await learnerFor(principal, params.childId, now);
      const spark = await todaysSpark(await readDb(), learner, now);
      const open = await openSparkConversation(learner.childId, spark.id);
      return {
        spark,
        localDate: spark.sparkDate,
        completedToday: await completedOn(learner.childId, localDate(learner.timezone, now)),
        openConversationId: open?.id ?? null,
      };
    },
  }),
  route({
    method: 'POST',
    path: '/children/:childId/today/complete',
    auth: 'child',
    params: childParams,
    handler: async ({ params, principal }) => {
      const now = new Date();
      const learner = await learnerFor(principal, params.childId, now);
      const spark = await todaysSpark(await readDb(), learner, now);
      const open = await openSparkConversation(learner.childId, spark.id);
      if (!open) {
        const started = await startConversation(learner, { type: 'brain_spark' }, now);
        return respond(201, { action: 'started', spark, ...started });
      }
      if (open.questionsAsked === 0) {
        return {
          action: 'in_progress',
          spark,
          conversation: open,
          hint: 'Answer the spark first, then complete it.',
        };
      }
      const ended = await endConversation(learner, open.id, actorOf(principal), now);
      return { action: 'completed', spark, ...ended };
    },
  }),
]);
