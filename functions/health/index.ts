// Readiness (`GET /`: the database answers within a deadline) and liveness (`GET /live`).
import { RETRY_AFTER_SECONDS } from '../../shared/db/resilience.ts';
import { checkDatabase } from '../../shared/health.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';

export const routes = [
  route({
    method: 'GET',
    path: '/',
    auth: 'public',
    handler: async () => {
      const database = await checkDatabase();
      // Not ready answers like every route does while the database is out: 503, Retry-After.
      return respond(
        database.ready ? 200 : 503,
        { status: database.ready ? ('ok' as const) : ('degraded' as const), database },
        database.ready ? undefined : { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    },
  }),
  route({
    method: 'GET',
    path: '/live',
    auth: 'public',
    handler: async () => ({ status: 'ok' as const }),
  }),
];

export const handler = defineHttpFunction('health', routes);
