// The signed-in parent: profile and settings, push devices, export of all family data,
// account deletion; and the public one-click unsubscribe link of notification emails.
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
import { listDevices, registerDevice, removeDevice } from '../../shared/notify/devices.ts';
import { escapeHtml } from '../../shared/notify/format.ts';
import { unsubscribe, verifyUnsubscribeToken } from '../../shared/notify/unsubscribe.ts';
import { defineHttpFunction, type RouteResult, respond, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const SETTING_LABEL = {
  email_digest: 'the weekly digest email',
  push_enabled: 'alert notifications (safety alerts are still sent)',
  streak_reminders: 'streak reminders',
} as const;

function page(title: string, body: string): RouteResult<string> {
  return respond(
    200,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title></head><body style="font-family:Arial,Helvetica,sans-serif;max-width:480px;margin:48px auto;padding:0 16px;color:#1f2937"><h1 style="font-size:22px">${escapeHtml(title)}</h1>${body}</body></html>`,
    {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    },
  );
}

// A query string, not a body: not strict, so a mail client's added tracking parameters cannot
// break the link.
const unsubscribeQuery = z.object({ token: z.string().min(20).max(2000) });

export const routes = [
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
    path: '/me/devices',
    auth: 'parent',
    handler: async (ctx) => ({ devices: await listDevices(ctx.principal.parentId) }),
  }),
  route({
    method: 'POST',
    path: '/me/devices',
    auth: 'parent',
    body: z.strictObject({
      platform: z.enum(['ios', 'android', 'web']),
      // FCM registration tokens are opaque; today about 160-250 URL-safe characters.
      token: z
        .string()
        .min(20)
        .max(1024)
        .regex(/^[A-Za-z0-9_:.-]+$/, 'An FCM registration token'),
    }),
    handler: async (ctx) => {
      const { device, created } = await registerDevice(ctx.principal.parentId, ctx.body);
      return respond(created ? 201 : 200, device);
    },
  }),
  route({
    method: 'DELETE',
    path: '/me/devices/:deviceId',
    auth: 'parent',
    params: z.strictObject({ deviceId: idSchema }),
    handler: async (ctx) => {
      await removeDevice(ctx.principal.parentId, ctx.params.deviceId);
      return respond(204);
    },
  }),
  // RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to the
  // List-Unsubscribe URL. The link in the email body opens the GET page, which only asks
  // (link scanners fetch GETs: a GET must never change the setting).
  route({
    method: 'GET',
    path: '/unsubscribe',
    auth: 'public',
    query: unsubscribeQuery,
    handler: async (ctx) => {
      const { setting } = await verifyUnsubscribeToken(ctx.query.token);
      return page(
        'Unsubscribe',
        `<p>Stop ${escapeHtml(SETTING_LABEL[setting])}?</p><form method="post" action="?token=${encodeURIComponent(ctx.query.token)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit" style="background:#4f46e5;color:#fff;border:0;border-radius:6px;padding:10px 18px;font-size:15px">Unsubscribe</button></form>`,
      );
    },
  }),
  route({
    method: 'POST',
    path: '/unsubscribe',
    auth: 'public',
    query: unsubscribeQuery,
    handler: async (ctx) => {
      const result = await unsubscribe(ctx.query.token);
      if (ctx.headers.accept?.includes('text/html')) {
        return page(
          'You are unsubscribed',
          `<p>We will no longer send ${escapeHtml(SETTING_LABEL[result.setting])}. You can turn it back on in the app's notification settings.</p>`,
        );
      }
      return result;
    },
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
];

export const handler = defineHttpFunction('parents', routes);
