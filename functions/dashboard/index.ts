// Parent views: daily activity, cognitive metrics, flags and alerts (mark read).
import { z } from 'zod';
import {
  cognitiveMetrics,
  dailyActivity,
  flaggedMessages,
  listAlerts,
  markAlertRead,
  overview,
  resolveRange,
} from '../../shared/learning/dashboard.ts';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.strictObject({ childId: idSchema });
// Sensible years only: PostgreSQL has no year 0, and a far date computes to a negative year.
const rangeDate = z.iso
  .date('Use YYYY-MM-DD')
  .refine((d) => d >= '2000-01-01' && d <= '2199-12-31', 'A date from 2000 to 2199');
const rangeQuery = z.object({ from: rangeDate.optional(), to: rangeDate.optional() });

export const routes = [
  route({
    method: 'GET',
    path: '/children/:childId',
    auth: 'parent',
    params: childParams,
    learner: 'childId',
    handler: async ({ learner, now }) => overview(learner, now),
  }),
  route({
    method: 'GET',
    path: '/children/:childId/activity',
    auth: 'parent',
    params: childParams,
    query: rangeQuery,
    learner: 'childId',
    handler: async ({ learner, now, query }) =>
      dailyActivity(learner, resolveRange(learner, now, query.from, query.to)),
  }),
  route({
    method: 'GET',
    path: '/children/:childId/cognitive-metrics',
    auth: 'parent',
    params: childParams,
    query: rangeQuery,
    learner: 'childId',
    handler: async ({ learner, now, query }) =>
      cognitiveMetrics(learner, resolveRange(learner, now, query.from, query.to)),
  }),
  route({
    method: 'GET',
    path: '/children/:childId/flags',
    auth: 'parent',
    params: childParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
    learner: 'childId',
    handler: async ({ learner, query }) => ({
      flags: await flaggedMessages(learner, query.limit),
    }),
  }),
  route({
    method: 'GET',
    path: '/alerts',
    auth: 'parent',
    query: z.object({
      unread: z.enum(['true', 'false']).default('false'),
      childId: idSchema.optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    handler: async ({ principal, query }) => ({
      alerts: await listAlerts(principal.parentId, {
        unreadOnly: query.unread === 'true',
        childId: query.childId,
        limit: query.limit,
      }),
    }),
  }),
  route({
    method: 'POST',
    path: '/alerts/:alertId/read',
    auth: 'parent',
    params: z.strictObject({ alertId: idSchema }),
    handler: async ({ principal, params, now }) =>
      markAlertRead(principal.parentId, params.alertId, now),
  }),
];

export const handler = defineHttpFunction('dashboard', routes);
