// The signed-in parent: profile and settings, export of all family data, account deletion.
import { z } from 'zod';
import { changePassword } from '../../shared/accounts/auth.ts';
import {
  deleteAccount,
  exportFamily,
  getParent,
  updateParent,
} from '../../shared/accounts/parents.ts';
import {
  displayNameSchema,
  localeSchema,
  passwordSchema,
  settingsSchema,
  timezoneSchema,
} from '../../shared/accounts/schemas.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';

export const parents = defineHttpFunction('parents', [
  route({
    method: 'GET',
    path: '/me',
    auth: 'parent',
    handler: async (ctx) => getParent(ctx.principal.parentId),
  }),
  route({
    method: 'PATCH',
    path: '/me',
    auth: 'parent',
    body: z
      .strictObject({
        displayName: displayNameSchema.nullable().optional(),
        timezone: timezoneSchema.optional(),
        locale: localeSchema.optional(),
        settings: settingsSchema.optional(),
      })
      .refine((b) => Object.keys(b).length > 0, 'Send at least one field'),
    handler: async (ctx) => updateParent(ctx.principal.parentId, ctx.body),
  }),
  route({
    method: 'GET',
    path: '/me/export',
    auth: 'parent',
    handler: async (ctx) =>
      respond(200, await exportFamily(ctx.principal.parentId), {
        'content-disposition': 'attachment; filename="brainspark-export.json"',
        'cache-control': 'no-store',
      }),
  }),
  route({
    method: 'PUT',
    path: '/me/password',
    auth: 'parent',
    body: z.strictObject({
      currentPassword: z.string().min(1).max(200),
      newPassword: passwordSchema,
    }),
    // Ends every sign-in of the account; the caller gets a fresh session.
    handler: async (ctx) =>
      changePassword(ctx.principal.parentId, ctx.body, { ip: ctx.ip, userAgent: ctx.userAgent }),
  }),
  route({
    method: 'DELETE',
    path: '/me',
    auth: 'parent',
    handler: async (ctx) => {
      await deleteAccount(ctx.principal.parentId);
      return respond(204);
    },
  }),
]);
