// Consents: list (current status and full history), grant (current version, IP, user agent), revoke.
import { z } from 'zod';
import {
  consentTypes,
  grantConsent,
  listConsents,
  revokeConsent,
} from '../../shared/accounts/consents.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';

const consentType = z.enum(consentTypes);

export const routes = [
  route({
    method: 'GET',
    path: '/',
    auth: 'parent',
    handler: async (ctx) => listConsents(ctx.principal.parentId),
  }),
  route({
    method: 'POST',
    path: '/',
    auth: 'parent',
    body: z.strictObject({ type: consentType }),
    handler: async (ctx) => {
      const { consent, created } = await grantConsent(ctx.principal.parentId, ctx.body, {
        ip: ctx.ip,
        userAgent: ctx.userAgent,
      });
      return respond(created ? 201 : 200, consent);
    },
  }),
  route({
    method: 'DELETE',
    path: '/:type',
    auth: 'parent',
    params: z.strictObject({ type: consentType }),
    handler: async (ctx) =>
      revokeConsent(ctx.principal.parentId, ctx.params.type, {
        ip: ctx.ip,
        userAgent: ctx.userAgent,
      }),
  }),
];

export const handler = defineHttpFunction('consents', routes);
