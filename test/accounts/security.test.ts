// The shared security suite over every route of auth, parents, consents and children.
import { afterAll } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import '../../functions/consents/index.ts';
import '../../functions/parents/index.ts';
import { setupAccountsTest, teardownAccountsTest } from '../helpers/factories.ts';
import { describeSecurity } from '../helpers/security-suite.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

const child = (f: { familyA: { childX: { id: string } } }) => `/${f.familyA.childX.id}`;

describeSecurity('children', [
  {
    name: 'POST /',
    method: 'POST',
    auth: 'parent',
    path: () => '/',
    body: { name: 'Ann', birthDate: '2017-03-04' },
    ownsResource: false,
  },
  { name: 'GET /', method: 'GET', auth: 'parent', path: () => '/', ownsResource: false },
  { name: 'GET /:childId', method: 'GET', auth: 'parentOrChild', path: child },
  {
    name: 'PATCH /:childId',
    method: 'PATCH',
    auth: 'parent',
    path: child,
    body: { name: 'Renamed' },
  },
  { name: 'DELETE /:childId', method: 'DELETE', auth: 'parent', path: child },
  {
    name: 'PUT /:childId/pin',
    method: 'PUT',
    auth: 'parent',
    path: (f) => `${child(f)}/pin`,
    body: { pin: '1234' },
  },
  {
    name: 'DELETE /:childId/pin',
    method: 'DELETE',
    auth: 'parent',
    path: (f) => `${child(f)}/pin`,
  },
  {
    name: 'POST /:childId/session',
    method: 'POST',
    auth: 'parent',
    path: (f) => `${child(f)}/session`,
    body: {},
  },
]);

describeSecurity('parents', [
  { name: 'GET /me', method: 'GET', auth: 'parent', path: () => '/me', ownsResource: false },
  {
    name: 'PATCH /me',
    method: 'PATCH',
    auth: 'parent',
    path: () => '/me',
    body: { displayName: 'X' },
    ownsResource: false,
  },
  {
    name: 'GET /me/export',
    method: 'GET',
    auth: 'parent',
    path: () => '/me/export',
    ownsResource: false,
  },
  {
    name: 'PUT /me/password',
    method: 'PUT',
    auth: 'parent',
    path: () => '/me/password',
    body: { currentPassword: 'whatever it was', newPassword: 'violet harbour lantern' },
    ownsResource: false,
  },
  { name: 'DELETE /me', method: 'DELETE', auth: 'parent', path: () => '/me', ownsResource: false },
  {
    name: 'GET /me/devices',
    method: 'GET',
    auth: 'parent',
    path: () => '/me/devices',
    ownsResource: false,
  },
  {
    name: 'POST /me/devices',
    method: 'POST',
    auth: 'parent',
    path: () => '/me/devices',
    body: { platform: 'ios', token: `fcm-security-${'x'.repeat(40)}` },
    ownsResource: false,
  },
]);

// A device of family A's parent: another parent must get 404.
describeSecurity(
  'parents',
  [
    {
      name: 'DELETE /me/devices/:deviceId',
      method: 'DELETE',
      auth: 'parent',
      path: (_f, deviceId: string) => `/me/devices/${deviceId}`,
    },
    // The one-click unsubscribe link is public: the signed token in it is the credential.
    {
      name: 'GET /unsubscribe',
      method: 'GET',
      auth: 'public',
      path: () => `/unsubscribe?token=${'x'.repeat(40)}`,
    },
    {
      name: 'POST /unsubscribe',
      method: 'POST',
      auth: 'public',
      path: () => `/unsubscribe?token=${'x'.repeat(40)}`,
    },
  ],
  {
    prepare: async (f) => {
      const { registerDevice } = await import('../../shared/notify/devices.ts');
      const { device } = await registerDevice(f.familyA.parent.id, {
        platform: 'android',
        token: `fcm-owned-${'y'.repeat(40)}`,
      });
      return device.id;
    },
  },
);

describeSecurity('consents', [
  { name: 'GET /', method: 'GET', auth: 'parent', path: () => '/', ownsResource: false },
  {
    name: 'POST /',
    method: 'POST',
    auth: 'parent',
    path: () => '/',
    body: { type: 'marketing' },
    ownsResource: false,
  },
  {
    name: 'DELETE /:type',
    method: 'DELETE',
    auth: 'parent',
    path: () => '/marketing',
    ownsResource: false,
  },
]);

// Public routes: no token needed, but a presented token must still be valid.
describeSecurity('auth', [
  {
    name: 'POST /signup',
    method: 'POST',
    auth: 'public',
    path: () => '/signup',
    body: { email: 'a@b.test', password: 'long-enough-pw' },
  },
  {
    name: 'POST /login',
    method: 'POST',
    auth: 'public',
    path: () => '/login',
    body: { email: 'a@b.test', password: 'x' },
  },
  {
    name: 'POST /google',
    method: 'POST',
    auth: 'public',
    path: () => '/google',
    body: { idToken: 'x'.repeat(40) },
  },
  {
    name: 'POST /apple',
    method: 'POST',
    auth: 'public',
    path: () => '/apple',
    body: { idToken: 'x'.repeat(40) },
  },
  {
    name: 'POST /refresh',
    method: 'POST',
    auth: 'public',
    path: () => '/refresh',
    body: { refreshToken: 'x'.repeat(40) },
  },
  {
    name: 'POST /logout',
    method: 'POST',
    auth: 'public',
    path: () => '/logout',
    body: { refreshToken: 'x'.repeat(40) },
  },
]);
