// The shared security suite over every route of auth, parents, consents, children and health:
// the real route tables the functions registered, so a route added to one is tested without
// anyone listing it here.
import { afterAll } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import '../../functions/consents/index.ts';
import '../../functions/health/index.ts';
import '../../functions/parents/index.ts';
import { setupAccountsTest, teardownAccountsTest } from '../helpers/factories.ts';
import { describeRouteTable, routesOf } from '../helpers/security-suite.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

describeRouteTable('children', routesOf('children'), {
  bodies: {
    'POST /': { name: 'Ann', birthDate: '2017-03-04' },
    'PATCH /:childId': { name: 'Renamed' },
    'PUT /:childId/pin': { pin: '1234' },
    'POST /:childId/session': {},
  },
});

describeRouteTable('parents', routesOf('parents'), {
  // A device of family A's parent: another parent must get 404.
  prepare: async (f) => {
    const { registerDevice } = await import('../../shared/notify/devices.ts');
    const { device } = await registerDevice(f.familyA.parent.id, {
      platform: 'android',
      token: `fcm-owned-${'y'.repeat(40)}`,
    });
    return device.id;
  },
  params: (_f, deviceId: string) => ({ deviceId }),
  // The one-click unsubscribe link is public: the signed token in it is the credential.
  queries: {
    'GET /unsubscribe': `token=${'x'.repeat(40)}`,
    'POST /unsubscribe': `token=${'x'.repeat(40)}`,
  },
  bodies: {
    'PATCH /me': { displayName: 'X' },
    'PUT /me/password': {
      currentPassword: 'whatever it was',
      newPassword: 'violet harbour lantern',
    },
    'POST /me/devices': { platform: 'ios', token: `fcm-security-${'x'.repeat(40)}` },
  },
});

describeRouteTable('consents', routesOf('consents'), {
  params: () => ({ type: 'marketing' }),
  bodies: { 'POST /': { type: 'marketing' } },
  // A consent type names no family's resource.
  overrides: { 'DELETE /:type': { ownsResource: false } },
});

// Public routes: no token needed, but a presented token must still be valid.
describeRouteTable('auth', routesOf('auth'), {
  bodies: {
    'POST /signup': { email: 'a@b.test', password: 'long-enough-pw' },
    'POST /login': { email: 'a@b.test', password: 'x' },
    'POST /google': { idToken: 'x'.repeat(40) },
    'POST /apple': { idToken: 'x'.repeat(40) },
    'POST /refresh': { refreshToken: 'x'.repeat(40) },
    'POST /logout': { refreshToken: 'x'.repeat(40) },
  },
});

describeRouteTable('health', routesOf('health'));
