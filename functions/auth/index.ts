// Parent authentication: signup, login, Google and Apple sign-in, refresh, logout.

import { z } from 'zod';
import { login, logout, refresh, signup, socialLogin } from '../../shared/accounts/auth.ts';
import {
  displayNameSchema,
  emailSchema,
  localeSchema,
  passwordSchema,
  refreshTokenSchema,
  timezoneSchema,
} from '../../shared/accounts/schemas.ts';
import { defineHttpFunction, respond, route } from '../../shared/runtime/http.ts';

const idTokenBody = z.strictObject({ idToken: z.string().min(20).max(10_000) });
const refreshBody = z.strictObject({ refreshToken: refreshTokenSchema });

export const routes = [
  route({
    method: 'POST',
    path: '/signup',
    auth: 'public',
    body: z.strictObject({
      email: emailSchema,
      password: passwordSchema,
      displayName: displayNameSchema.optional(),
      timezone: timezoneSchema.optional(),
      locale: localeSchema.optional(),
    }),
    handler: async (ctx) =>
      respond(201, await signup(ctx.body, { ip: ctx.ip, userAgent: ctx.userAgent })),
  }),
  route({
    method: 'POST',
    path: '/login',
    auth: 'public',
    body: z.strictObject({ email: emailSchema, password: z.string().min(1).max(200) }),
    handler: async (ctx) => login(ctx.body, { ip: ctx.ip, userAgent: ctx.userAgent }),
  }),
  route({
    method: 'POST',
    path: '/google',
    auth: 'public',
    body: idTokenBody,
    handler: async (ctx) =>
      socialLogin('google', ctx.body.idToken, { ip: ctx.ip, userAgent: ctx.userAgent }),
  }),
  route({
    method: 'POST',
    path: '/apple',
    auth: 'public',
    body: idTokenBody,
    handler: async (ctx) =>
      socialLogin('apple', ctx.body.idToken, { ip: ctx.ip, userAgent: ctx.userAgent }),
  }),
  route({
    method: 'POST',
    path: '/refresh',
    auth: 'public',
    body: refreshBody,
    handler: async (ctx) =>
      refresh(ctx.body.refreshToken, { ip: ctx.ip, userAgent: ctx.userAgent }),
  }),
  route({
    method: 'POST',
    path: '/logout',
    auth: 'public',
    body: refreshBody,
    handler: async (ctx) => {
      await logout(ctx.body.refreshToken);
      return respond(204);
    },
  }),
];

export const handler = defineHttpFunction('auth', routes);
