// Sessions that end (issue 14): logout, account deletion and a PIN change end the access and
// child tokens they should, checked in the statement that resolves the caller; tokens with a
// future iat/nbf or claims that are not UUIDs are refused with 401, never a 500. Plus the input
// and password rules from the same review: dashboard dates, identity-token emails, weak
// passwords, and the login limit a stranger cannot turn against the owner.
import { randomBytes, randomUUID } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { type CryptoKey, importJWK, type JWTPayload, SignJWT } from 'jose';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import '../../functions/consents/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/dashboard/index.ts';
import '../../functions/parents/index.ts';
import '../../functions/streaks/index.ts';
import { createRateLimits } from '../../shared/accounts/rate-limits.ts';
import { config, resetConfigForTests } from '../../shared/config.ts';
import {
  childToken,
  configureTestEnvironment,
  createFamily,
  createParent,
  setupAccountsTest,
  teardownAccountsTest,
} from '../helpers/factories.ts';
import { startJwksServer } from '../helpers/jwks-server.ts';

const db = await setupAccountsTest();
const google = await startJwksServer();
process.env.GOOGLE_JWKS_URL = google.url;
process.env.GOOGLE_CLIENT_IDS = 'web-client.apps.googleusercontent.com';
resetConfigForTests();
afterAll(async () => {
  await google.close();
  await teardownAccountsTest(db);
});

const api = (fn: string) => request(getTestServer(fn));
const fromIp = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const bearer = (token: string) => `Bearer ${token}`;

/** Signs a token with this process's own key: only the claims are hostile. */
async function ownToken(claims: JWTPayload, header: { typ?: string } = {}): Promise<string> {
  const { privateJwk, kid } = await configureTestEnvironment();
  const key = (await importJWK(privateJwk, 'ES256')) as CryptoKey;
  const cfg = config();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid, typ: header.typ ?? 'at+jwt' })
    .setIssuer(cfg.JWT_ISSUER)
    .setAudience(cfg.JWT_AUDIENCE)
    .sign(key);
}

describe('sessions that end', () => {
  it('logout ends the access token of that sign-in and the child sessions opened with it', async () => {
    const { parent, child } = await createFamily();
    const session = await api('children')
      .post(`/${child.id}/session`)
      .set('authorization', bearer(parent.accessToken));
    expect(session.status).toBe(201);
    const kid = session.body.accessToken as string;
    expect(
      (await api('parents').get('/me').set('authorization', bearer(parent.accessToken))).status,
    ).toBe(200);
    expect(
      (await api('children').get(`/${child.id}`).set('authorization', bearer(kid))).status,
    ).toBe(200);

    const out = await api('auth').post('/logout').send({ refreshToken: parent.refreshToken });
    expect(out.status).toBe(204);

    const me = await api('parents').get('/me').set('authorization', bearer(parent.accessToken));
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('invalid_token');
    const write = await api('children')
      .post('/')
      .set('authorization', bearer(parent.accessToken))
      .send({ name: 'Late', birthDate: '2018-01-01' });
    expect(write.status).toBe(401);
    const kidAfter = await api('children').get(`/${child.id}`).set('authorization', bearer(kid));
    expect(kidAfter.status).toBe(401);
  });

  it('logout on one device leaves the sign-in of another device working', async () => {
    const parent = await createParent();
    const other = await api('auth')
      .post('/login')
      .set('x-forwarded-for', fromIp())
      .send({ email: parent.email, password: parent.password });
    expect(other.status).toBe(200);
    await api('auth').post('/logout').send({ refreshToken: parent.refreshToken });
    const me = await api('parents').get('/me').set('authorization', bearer(other.body.accessToken));
    expect(me.status).toBe(200);
  });

  it("account deletion ends the token at once: a deleted account's token reads and revokes nothing", async () => {
    const { parent } = await createFamily();
    const token = parent.accessToken;
    expect((await api('parents').delete('/me').set('authorization', bearer(token))).status).toBe(
      204,
    );
    const read = await api('consents').get('/').set('authorization', bearer(token));
    expect(read.status).toBe(401);
    const revoke = await api('consents').delete('/marketing').set('authorization', bearer(token));
    expect(revoke.status).toBe(401);
  });

  it("a PIN change ends that child's sessions, not a sibling's", async () => {
    const { parent, child } = await createFamily();
    const sibling = (
      await api('children')
        .post('/')
        .set('authorization', bearer(parent.accessToken))
        .send({ name: 'Sib', birthDate: child.birthDate, interests: ['space'] })
    ).body as { id: string };
    const kid = await childToken(parent, child);
    const sib = await childToken(parent, sibling);
    expect(
      (await api('children').get(`/${child.id}`).set('authorization', bearer(kid))).status,
    ).toBe(200);
    const pin = await api('children')
      .put(`/${child.id}/pin`)
      .set('authorization', bearer(parent.accessToken))
      .send({ pin: '4821' });
    expect(pin.status).toBe(200);
    const after = await api('children').get(`/${child.id}`).set('authorization', bearer(kid));
    expect(after.status).toBe(401);
    expect(
      (await api('children').get(`/${sibling.id}`).set('authorization', bearer(sib))).status,
    ).toBe(200);
    // A new session with the new PIN works.
    const fresh = await api('children')
      .post(`/${child.id}/session`)
      .set('authorization', bearer(parent.accessToken))
      .send({ pin: '4821' });
    expect(fresh.status).toBe(201);
    expect(
      (
        await api('children')
          .get(`/${child.id}`)
          .set('authorization', bearer(fresh.body.accessToken))
      ).status,
    ).toBe(200);
  });

  it('a password change ends every sign-in of the account and its child sessions; the caller gets a new one', async () => {
    const { parent, child } = await createFamily();
    const kid = await childToken(parent, child);
    const other = await api('auth')
      .post('/login')
      .set('x-forwarded-for', fromIp())
      .send({ email: parent.email, password: parent.password });
    expect(other.status).toBe(200);
    const wrong = await api('parents')
      .put('/me/password')
      .set('authorization', bearer(parent.accessToken))
      .send({ currentPassword: 'not the password', newPassword: 'violet harbour lantern' });
    expect(wrong.status).toBe(401);
    const weak = await api('parents')
      .put('/me/password')
      .set('authorization', bearer(parent.accessToken))
      .send({ currentPassword: parent.password, newPassword: 'password123' });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('weak_password');

    const changed = await api('parents')
      .put('/me/password')
      .set('authorization', bearer(parent.accessToken))
      .send({ currentPassword: parent.password, newPassword: 'violet harbour lantern' });
    expect(changed.status).toBe(200);
    for (const token of [parent.accessToken, other.body.accessToken as string]) {
      expect((await api('parents').get('/me').set('authorization', bearer(token))).status).toBe(
        401,
      );
    }
    expect(
      (await api('children').get(`/${child.id}`).set('authorization', bearer(kid))).status,
    ).toBe(401);
    const refreshed = await api('auth')
      .post('/refresh')
      .send({ refreshToken: other.body.refreshToken });
    expect(refreshed.status).toBe(401);
    expect(
      (await api('parents').get('/me').set('authorization', bearer(changed.body.accessToken)))
        .status,
    ).toBe(200);
    const login = await api('auth')
      .post('/login')
      .set('x-forwarded-for', fromIp())
      .send({ email: parent.email, password: 'violet harbour lantern' });
    expect(login.status).toBe(200);
  });

  it('refuses an iat or nbf in the future beyond the skew (a day ahead)', async () => {
    const parent = await createParent();
    const now = Math.floor(Date.now() / 1000);
    const base = { kind: 'parent', sub: parent.id, sid: parent.sessionId, jti: randomUUID() };
    for (const claims of [
      { ...base, iat: now + 86_400, exp: now + 86_400 + 600 },
      { ...base, nbf: now + 3_600 },
    ]) {
      const res = await api('parents')
        .get('/me')
        .set('authorization', bearer(await ownToken(claims)));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_token');
    }
    // Within the skew is fine.
    const skewed = await ownToken({ ...base, iat: now + 30 });
    expect((await api('parents').get('/me').set('authorization', bearer(skewed))).status).toBe(200);
  });

  it('refuses claims that are not UUIDs with 401, never a 500', async () => {
    const { parent, child } = await createFamily();
    const cases: JWTPayload[] = [
      { kind: 'parent', sub: 'not-a-uuid', sid: parent.sessionId },
      { kind: 'parent', sub: parent.id, sid: "x' OR 1=1" },
      { kind: 'child', sub: child.id, pid: '12345', sid: parent.sessionId, cv: 0 },
      { kind: 'child', sub: '0000', pid: parent.id, sid: parent.sessionId, cv: 0 },
      { kind: 'child', sub: child.id, pid: parent.id, sid: parent.sessionId, cv: 'zero' },
    ];
    for (const claims of cases) {
      const token = await ownToken(claims);
      const path = claims.kind === 'child' ? `/children/${child.id}` : `/children/${child.id}`;
      const res = await api('streaks').get(path).set('authorization', bearer(token));
      expect(res.status, JSON.stringify(claims)).toBe(401);
    }
  });

  it('a token without the sign-in claim (issued before sessions could end) is refused', async () => {
    const parent = await createParent();
    const token = await ownToken({ kind: 'parent', sub: parent.id });
    expect((await api('parents').get('/me').set('authorization', bearer(token))).status).toBe(401);
  });
});

describe('inputs', () => {
  it.each(['0000-01-01', '0001-01-01', '1999-12-31', '2200-01-01', '9999-12-31'])(
    'dashboard range date %s: 400, never 500',
    async (date) => {
      const { parent, child } = await createFamily();
      for (const query of [{ from: date }, { to: date }, { from: date, to: date }]) {
        const res = await api('dashboard')
          .get(`/children/${child.id}/activity`)
          .query(query)
          .set('authorization', bearer(parent.accessToken));
        expect(res.status, JSON.stringify(query)).toBe(400);
      }
    },
  );

  it('an in-range dashboard date is fine', async () => {
    const { parent, child } = await createFamily();
    const res = await api('dashboard')
      .get(`/children/${child.id}/activity`)
      .query({ to: new Date().toISOString().slice(0, 10) })
      .set('authorization', bearer(parent.accessToken));
    expect(res.status).toBe(200);
  });

  it.each([
    ['over 255 characters', `${'a'.repeat(250)}@example.test`],
    ['no @', 'nobody.example.test'],
    ['a space', 'some one@example.test'],
  ])(
    'a Google ID token whose email has %s: 401 invalid_credentials, nothing stored',
    async (_, email) => {
      const sub = `g-${randomBytes(6).toString('hex')}`;
      const idToken = await google.signIdToken({
        iss: 'https://accounts.google.com',
        aud: 'web-client.apps.googleusercontent.com',
        sub,
        email,
        email_verified: true,
      });
      const res = await api('auth')
        .post('/google')
        .set('x-forwarded-for', fromIp())
        .send({ idToken });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_credentials');
      const { rows } = await db.pool.query('SELECT 1 FROM parents WHERE auth_provider_id = $1', [
        sub,
      ]);
      expect(rows).toHaveLength(0);
    },
  );
});

describe('passwords (NIST SP 800-63B)', () => {
  const signup = (email: string, password: string, displayName?: string) =>
    api('auth')
      .post('/signup')
      .set('x-forwarded-for', fromIp())
      .send({ email, password, ...(displayName ? { displayName } : {}) });

  it.each([
    ['a sequence', '1234567890'],
    ['a common password', 'password123'],
    ['a keyboard walk', 'qwertyuiop'],
    ['a repeat', 'aaaaaaaaaaaa'],
  ])('refuses %s with 400 weak_password', async (_, password) => {
    const res = await signup(`p-${randomBytes(5).toString('hex')}@example.test`, password);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('weak_password');
    expect(res.body.errors[0].path).toBe('body.password');
  });

  it("refuses the account's own email, or one built from the email or name", async () => {
    const local = `jordan.mcallister${randomBytes(2).toString('hex')}`;
    const email = `${local}@example.test`;
    for (const password of [email, `${local.replace('.', '')}2024`, 'Whitfield1985!']) {
      const res = await signup(email, password, 'Casey Whitfield');
      expect(res.status, password).toBe(400);
      expect(res.body.code).toBe('weak_password');
    }
    const { rows } = await db.pool.query('SELECT 1 FROM parents WHERE email = $1', [email]);
    expect(rows).toHaveLength(0);
  });

  it('accepts a long, unrelated passphrase', async () => {
    const res = await signup(
      `p-${randomBytes(5).toString('hex')}@example.test`,
      'violet harbour lantern',
    );
    expect(res.status).toBe(201);
  });
});

describe('login limits', () => {
  it('a per-email ceiling (60 failures an hour from any address) bounds a distributed guesser', async () => {
    const limits = await createRateLimits({ redis: null, keyPrefix: `ceiling:${randomUUID()}:` });
    const email = 'owner@example.test';
    let refusedAt = -1;
    for (let i = 0; i < 70 && refusedAt < 0; i++) {
      try {
        await limits.consume('loginPerEmailAndClient', `${email}|10.0.0.${i}`);
        await limits.consume('loginPerEmail', email);
      } catch {
        refusedAt = i;
      }
    }
    expect(refusedAt).toBe(60);
  });
});
