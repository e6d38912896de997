// Child profiles: create, list, read, update, soft-delete, PIN, and opening a child session.
import { z } from 'zod';
import {
  clearPin,
  createChild,
  deleteChild,
  getChild,
  listChildren,
  openChildSession,
  PARENT_CAN_READ_NOTICE,
  restoreChild,
  setPin,
  updateChild,
} from '../../shared/accounts/children.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';
import { idSchema } from '../../shared/runtime/ids.ts';

const childParams = z.strictObject({ childId: idSchema });
// The format admits year 0000, which no calendar (nor PostgreSQL) has.
const isoDate = z.iso.date('Use YYYY-MM-DD').refine((d) => d >= '0001-01-01', 'There is no year 0');
const pinSchema = z.string().regex(/^\d{4,6}$/, '4 to 6 digits');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (24 h)');

// The settings the server enforces (time limit, bedtime) are typed so they stay usable.
const childSettings = z.strictObject({
  sound_enabled: z.boolean().optional(),
  voice_over_enabled: z.boolean().optional(),
  animation_level: z.enum(['full', 'reduced', 'none']).optional(),
  daily_time_limit_minutes: z.number().int().min(5).max(600).optional(),
  bedtime_start: hhmm.optional(),
  bedtime_end: hhmm.optional(),
});
const name = z.string().trim().min(1).max(100);
const avatarId = z.string().regex(/^[a-z0-9_-]{1,50}$/, 'Lowercase letters, digits, _ and -');
const interests = z.array(z.string().trim().min(1).max(50)).max(20);

export const routes = [
  route({
    method: 'POST',
    path: '/',
    auth: 'parent',
    body: z.strictObject({
      name,
      birthDate: isoDate,
      avatarId: avatarId.optional(),
      interests: interests.optional(),
      settings: childSettings.optional(),
    }),
    handler: async (ctx) => respond(201, await createChild(ctx.principal.parentId, ctx.body)),
  }),
  route({
    method: 'GET',
    path: '/',
    auth: 'parent',
    handler: async (ctx) => listChildren(ctx.principal.parentId),
  }),
  route({
    method: 'GET',
    path: '/:childId',
    auth: 'parentOrChild',
    params: childParams,
    handler: async (ctx) => {
      const child = await getChild(ctx.principal, ctx.params.childId);
      // Child-facing payloads remind the child that the parent can read conversations.
      return ctx.principal.kind === 'child' ? { ...child, notice: PARENT_CAN_READ_NOTICE } : child;
    },
  }),
  route({
    method: 'PATCH',
    path: '/:childId',
    auth: 'parent',
    params: childParams,
    body: z
      .strictObject({
        name: name.optional(),
        birthDate: isoDate.optional(),
        avatarId: avatarId.optional(),
        interests: interests.optional(),
        settings: childSettings.optional(),
      })
      .refine((b) => Object.keys(b).length > 0, 'Send at least one field'),
    handler: async (ctx) => updateChild(ctx.principal.parentId, ctx.params.childId, ctx.body),
  }),
  route({
    method: 'DELETE',
    path: '/:childId',
    auth: 'parent',
    params: childParams,
    handler: async (ctx) => {
      await deleteChild(ctx.principal.parentId, ctx.params.childId);
      return respond(204);
    },
  }),
  route({
    method: 'POST',
    path: '/:childId/restore',
    auth: 'parent',
    params: childParams,
    handler: async (ctx) => restoreChild(ctx.principal.parentId, ctx.params.childId),
  }),
  route({
    method: 'PUT',
    path: '/:childId/pin',
    auth: 'parent',
    params: childParams,
    body: z.strictObject({ pin: pinSchema }),
    handler: async (ctx) => setPin(ctx.principal.parentId, ctx.params.childId, ctx.body.pin),
  }),
  route({
    method: 'DELETE',
    path: '/:childId/pin',
    auth: 'parent',
    params: childParams,
    handler: async (ctx) => clearPin(ctx.principal.parentId, ctx.params.childId),
  }),
  route({
    method: 'POST',
    path: '/:childId/session',
    auth: 'parent',
    params: childParams,
    // No body at all is fine for a child without a PIN.
    body: z.strictObject({ pin: pinSchema.optional() }).optional(),
    handler: async (ctx) =>
      respond(
        201,
        await openChildSession(
          ctx.principal.parentId,
          ctx.params.childId,
          ctx.body?.pin,
          ctx.principal.sessionId,
        ),
      ),
  }),
];

export const handler = defineHttpFunction('children', routes);
