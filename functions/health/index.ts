// Liveness (`GET /`) and readiness (`GET /ready`, also checks the database within a deadline).
import { checkDatabase } from '../../shared/health.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';

export const health = defineHttpFunction('health', [
  route({
    method: 'GET',
    path: '/',
    auth: 'public',
    handler: async () => {
      const database = await checkDatabase();
      return respond(database.ready ? 200 : 503, {
        status: database.ready ? 'ok' : 'degraded',
        database,
      });
    },
  }),
  route({
    method: 'GET',
    path: '/live',
    auth: 'public',
    handler: async () => ({ status: 'ok' }),
  }),
]);
