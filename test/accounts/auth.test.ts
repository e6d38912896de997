// The auth function: signup, login, refresh rotation and reuse detection, logout, and
// Google/Apple sign-in against a local JWKS server.
import { randomBytes } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/parents/index.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import { createParent, setupAccountsTest, teardownAccountsTest } from '../helpers/factories.ts';
import { startJwksServer } from '../helpers/jwks-server.ts';

const db = await setupAccountsTest();
const google = await startJwksServer();
const apple = await startJwksServer();
process.env.GOOGLE_JWKS_URL = google.url;
process.env.APPLE_JWKS_URL = apple.url;
process.env.GOOGLE_CLIENT_IDS =
  'web-client.apps.googleusercontent.com,ios-client.apps.googleusercontent.com';
process.env.APPLE_CLIENT_IDS = 'app.brainspark.ios';
resetConfigForTests();

afterAll(async () => {
  await google.close();
  await apple.close();
  await teardownAccountsTest(db);
});

const api = () => request(getTestServer('auth'));
/** A distinct client IP per test, so per-IP limits of one test do not leak into another. */
const fromIp = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const uniqueEmail = () => `p-${randomBytes(5).toString('hex')}@example.test`;
const count = async (sql: string, values: unknown[] = []) =>
  Number((await db.pool.query<{ n: string }>(sql, values)).rows[0]?.n);
const parentCount = () => count('SELECT COUNT(*) AS n FROM parents');

async function signup(email = uniqueEmail(), password = 'correct horse battery') {
  const res = await api()
    .post('/signup')
    .set('x-forwarded-for', fromIp())
    .send({ email, password, displayName: 'Pat', timezone: 'Europe/London' });
  expect(res.status).toBe(201);
  return { email, password, body: res.body };
}

describe('signup and login (happy paths)', () => {
  it('signs up: 201 with tokens and a camelCase parent, never the password hash', async () => {
    const { email, body } = await signup();
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(body.accessToken.split('.')).toHaveLength(3);
    expect(body.refreshToken.length).toBeGreaterThanOrEqual(40);
    expect(body.parent).toMatchObject({
      email,
      displayName: 'Pat',
      timezone: 'Europe/London',
      authProvider: 'email',
    });
    expect(JSON.stringify(body)).not.toMatch(/password|hash/i);
    const me = await request(getTestServer('parents'))
      .get('/me')
      .set('authorization', `Bearer ${body.accessToken}`);
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(body.parent.id);
  });

  it('stores the password as argon2id with at least 19 MiB, 2 iterations, parallelism 1', async () => {
    const { body } = await signup();
    const { rows } = await db.pool.query<{ password_hash: string }>(
      'SELECT password_hash FROM parents WHERE id = $1',
      [body.parent.id],
    );
    expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('stores refresh tokens only as SHA-256 hashes', async () => {
    const { body } = await signup();
    const { rows } = await db.pool.query<{ token_hash: string }>(
      'SELECT token_hash FROM refresh_tokens WHERE parent_id = $1',
      [body.parent.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]?.token_hash).not.toContain(body.refreshToken);
  });

  it('logs in with the right password, whatever the email case', async () => {
    const { email, password } = await signup();
    const res = await api()
      .post('/login')
      .set('x-forwarded-for', fromIp())
      .send({ email: email.toUpperCase(), password });
    expect(res.status).toBe(200);
    expect(res.body.parent.email).toBe(email);
    expect(res.body.parent.lastLoginAt).not.toBeNull();
  });

  it('signs up and logs in when the forwarded address is not an IP (none is stored)', async () => {
    const email = uniqueEmail();
    const res = await api()
      .post('/signup')
      .set('x-forwarded-for', '999.1.1.1')
      .send({ email, password: 'correct horse battery' });
    expect(res.status).toBe(201);
    const login = await api()
      .post('/login')
      .set('x-forwarded-for', '1.2.3.4.5')
      .send({ email, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    const { rows } = await db.pool.query(
      'SELECT ip_address FROM refresh_tokens WHERE parent_id = $1',
      [res.body.parent.id],
    );
    expect(rows).toEqual([{ ip_address: null }, { ip_address: null }]);
  });

  it('records the signup in the audit log as done by the parent', async () => {
    const { body } = await signup();
    const { rows } = await db.pool.query(
      "SELECT action, changed_by, new_values FROM audit_log WHERE table_name = 'parents' AND row_id = $1 ORDER BY changed_at",
      [body.parent.id],
    );
    expect(rows[0]).toMatchObject({ action: 'INSERT', changed_by: `parent:${body.parent.id}` });
    expect(JSON.stringify(rows)).not.toContain('argon2');
  });
});

describe('signup and login (bad input)', () => {
  const cases: [string, unknown][] = [
    ['missing password', { email: 'a@example.test' }],
    ['missing email', { password: 'long enough pw' }],
    ['mistyped email', { email: 42, password: 'long enough pw' }],
    ['not an email', { email: 'nope', password: 'long enough pw' }],
    ['short password', { email: 'a@example.test', password: 'short' }],
    ['unknown field', { email: 'a@example.test', password: 'long enough pw', admin: true }],
    [
      'unknown time zone',
      { email: 'a@example.test', password: 'long enough pw', timezone: 'Mars/Olympus' },
    ],
    [
      'bad locale',
      { email: 'a@example.test', password: 'long enough pw', locale: 'english please' },
    ],
  ];
  for (const [label, body] of cases) {
    it(`refuses ${label}: 400 problem+json, nothing written`, async () => {
      const before = await parentCount();
      const res = await api()
        .post('/signup')
        .set('x-forwarded-for', fromIp())
        .send(body as object);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('validation_failed');
      expect(await parentCount()).toBe(before);
    });
  }

  it('refuses malformed JSON with 400 and an oversized body with 413', async () => {
    const before = await parentCount();
    const malformed = await api()
      .post('/signup')
      .set('content-type', 'application/json')
      .send('{"email": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_json');
    const huge = await api()
      .post('/signup')
      .send({ email: uniqueEmail(), password: 'long enough pw', displayName: 'x'.repeat(110_000) });
    expect(huge.status).toBe(413);
    expect(huge.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await parentCount()).toBe(before);
  });

  it('refuses a second account with the same email (any case): 409 email_taken', async () => {
    const { email } = await signup();
    const res = await api()
      .post('/signup')
      .set('x-forwarded-for', fromIp())
      .send({ email: email.toUpperCase(), password: 'another long pw' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('email_taken');
  });

  it('refuses a wrong password and an unknown email alike: 401 invalid_credentials', async () => {
    const { email } = await signup();
    const wrong = await api()
      .post('/login')
      .set('x-forwarded-for', fromIp())
      .send({ email, password: 'wrong password' });
    const unknown = await api()
      .post('/login')
      .set('x-forwarded-for', fromIp())
      .send({ email: uniqueEmail(), password: 'wrong password' });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_credentials');
      expect(res.body.detail).toBe('Wrong email or password');
    }
  });
});

describe('refresh and logout', () => {
  const refresh = (refreshToken: string) => api().post('/refresh').send({ refreshToken });

  it('rotates the refresh token on every use and returns a working access token', async () => {
    const { body } = await signup();
    const first = await refresh(body.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(body.refreshToken);
    const me = await request(getTestServer('parents'))
      .get('/me')
      .set('authorization', `Bearer ${first.body.accessToken}`);
    expect(me.status).toBe(200);
    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);
  });

  it('treats reuse of a rotated token as theft: 401 and the whole family is revoked', async () => {
    const { body } = await signup();
    const rotated = await refresh(body.refreshToken);
    expect(rotated.status).toBe(200);
    const reuse = await refresh(body.refreshToken);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('invalid_token');
    // The legitimate holder's newer token dies with the family.
    expect((await refresh(rotated.body.refreshToken)).status).toBe(401);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM refresh_tokens WHERE parent_id = $1 AND revoked_at IS NULL',
        [body.parent.id],
      ),
    ).toBe(0);
  });

  it('refuses an unknown refresh token and a missing or mistyped one', async () => {
    expect((await refresh(randomBytes(32).toString('base64url'))).status).toBe(401);
    expect((await api().post('/refresh').send({})).status).toBe(400);
    expect((await api().post('/refresh').send({ refreshToken: 12345 })).status).toBe(400);
  });

  it('logs out: the family is revoked, logout is idempotent', async () => {
    const { body } = await signup();
    const out = await api().post('/logout').send({ refreshToken: body.refreshToken });
    expect(out.status).toBe(204);
    expect((await refresh(body.refreshToken)).status).toBe(401);
    expect((await api().post('/logout').send({ refreshToken: body.refreshToken })).status).toBe(
      204,
    );
  });

  it('refuses to refresh for a deleted account', async () => {
    const parent = await createParent();
    const del = await request(getTestServer('parents'))
      .delete('/me')
      .set('authorization', `Bearer ${parent.accessToken}`);
    expect(del.status).toBe(204);
    expect((await refresh(parent.refreshToken)).status).toBe(401);
  });
});

describe('concurrency', () => {
  it('8 parallel refreshes with the same token: exactly one wins, the family is revoked for the rest', async () => {
    const { body } = await signup();
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(body.refreshToken)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(7);
    const winner = winners[0] as (typeof results)[number];
    expect((await refresh(winner.body.refreshToken)).status).toBe(401);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM refresh_tokens WHERE parent_id = $1 AND revoked_at IS NULL',
        [body.parent.id],
      ),
    ).toBe(0);
  });

  it('parallel signups with one email: exactly one account', async () => {
    const email = uniqueEmail();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        api()
          .post('/signup')
          .set('x-forwarded-for', fromIp())
          .send({ email, password: 'long enough pw' }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(5);
    expect(await count('SELECT COUNT(*) AS n FROM parents WHERE email = $1', [email])).toBe(1);
  });

  function refresh(refreshToken: string) {
    return api().post('/refresh').send({ refreshToken });
  }
});

describe('Google and Apple sign-in (local JWKS)', () => {
  const googleClaims = (sub: string, email: string, over: Record<string, unknown> = {}) => ({
    iss: 'https://accounts.google.com',
    aud: 'web-client.apps.googleusercontent.com',
    sub,
    email,
    email_verified: true,
    name: 'Gale Google',
    ...over,
  });

  it('creates a parent on first Google sign-in and links the same parent afterwards', async () => {
    const sub = randomBytes(8).toString('hex');
    const email = uniqueEmail();
    const first = await api()
      .post('/google')
      .send({ idToken: await google.signIdToken(googleClaims(sub, email)) });
    expect(first.status).toBe(200);
    expect(first.body.parent).toMatchObject({
      email,
      authProvider: 'google',
      displayName: 'Gale Google',
    });
    // Google's short issuer form is accepted too, and the second client id.
    const again = await api()
      .post('/google')
      .send({
        idToken: await google.signIdToken(
          googleClaims(sub, email, {
            iss: 'accounts.google.com',
            aud: 'ios-client.apps.googleusercontent.com',
          }),
        ),
      });
    expect(again.status).toBe(200);
    expect(again.body.parent.id).toBe(first.body.parent.id);
    expect(
      await count('SELECT COUNT(*) AS n FROM parents WHERE auth_provider_id = $1', [sub]),
    ).toBe(1);
  });

  it('parallel first sign-ins with one Google account make one parent, and all succeed', async () => {
    const sub = randomBytes(8).toString('hex');
    const idToken = await google.signIdToken(googleClaims(sub, uniqueEmail()));
    const results = await Promise.all(
      Array.from({ length: 5 }, () => api().post('/google').send({ idToken })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.body.parent.id)).size).toBe(1);
    expect(
      await count('SELECT COUNT(*) AS n FROM parents WHERE auth_provider_id = $1', [sub]),
    ).toBe(1);
  });

  it('signs in with Apple (email_verified sent as the string "true")', async () => {
    const sub = `001234.${randomBytes(8).toString('hex')}.0123`;
    const email = uniqueEmail();
    const idToken = await apple.signIdToken({
      iss: 'https://appleid.apple.com',
      aud: 'app.brainspark.ios',
      sub,
      email,
      email_verified: 'true',
    });
    const res = await api().post('/apple').send({ idToken });
    expect(res.status).toBe(200);
    expect(res.body.parent).toMatchObject({ email, authProvider: 'apple' });
    expect(
      (await api().post('/refresh').send({ refreshToken: res.body.refreshToken })).status,
    ).toBe(200);
  });

  it('refuses an Apple ID token whose email_verified is the string "false"', async () => {
    const before = await parentCount();
    const idToken = await apple.signIdToken({
      iss: 'https://appleid.apple.com',
      aud: 'app.brainspark.ios',
      sub: `001234.${randomBytes(8).toString('hex')}.0123`,
      email: uniqueEmail(),
      email_verified: 'false',
    });
    const res = await api().post('/apple').send({ idToken });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_credentials');
    expect(await parentCount()).toBe(before);
  });

  const badGoogleTokens: [string, () => Promise<string>][] = [
    [
      'a wrong audience',
      () => google.signIdToken(googleClaims('s1', uniqueEmail(), { aud: 'someone-else' })),
    ],
    [
      'a wrong issuer',
      () => google.signIdToken(googleClaims('s2', uniqueEmail(), { iss: 'https://evil.example' })),
    ],
    [
      'an expired token',
      () => google.signIdToken(googleClaims('s3', uniqueEmail()), { expiresIn: '-1m' }),
    ],
    [
      'a key not in the JWKS',
      () => google.signIdToken(googleClaims('s4', uniqueEmail()), { foreignKey: true }),
    ],
    [
      'an unverified email',
      () => google.signIdToken(googleClaims('s5', uniqueEmail(), { email_verified: false })),
    ],
    ['no email', () => google.signIdToken(googleClaims('s6', uniqueEmail(), { email: undefined }))],
    ["Apple's key set", () => apple.signIdToken(googleClaims('s7', uniqueEmail()))],
  ];
  for (const [label, make] of badGoogleTokens) {
    it(`refuses a Google ID token with ${label}: 401, nothing written`, async () => {
      const before = await parentCount();
      const res = await api()
        .post('/google')
        .send({ idToken: await make() });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_credentials');
      expect(await parentCount()).toBe(before);
    });
  }

  it('answers 503 (not 401) when the provider key set cannot be fetched', async () => {
    const before = await parentCount();
    process.env.GOOGLE_JWKS_URL = 'http://127.0.0.1:1/keys';
    resetConfigForTests();
    try {
      const res = await api()
        .post('/google')
        .send({ idToken: await google.signIdToken(googleClaims('s8', uniqueEmail())) });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('unavailable');
      expect(await parentCount()).toBe(before);
    } finally {
      process.env.GOOGLE_JWKS_URL = google.url;
      resetConfigForTests();
    }
  });

  it('does not silently take over an email-password account with the same email: 409', async () => {
    const { email } = await signup();
    const res = await api()
      .post('/google')
      .send({
        idToken: await google.signIdToken(googleClaims(randomBytes(8).toString('hex'), email)),
      });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('email_taken');
  });
});

describe('login limits', () => {
  it('limits login failures per email and client (10 per 15 minutes) with 429 and Retry-After', async () => {
    const { email } = await signup();
    const attacker = fromIp();
    for (let i = 0; i < 10; i++) {
      const res = await api()
        .post('/login')
        .set('x-forwarded-for', attacker)
        .send({ email, password: 'wrong password' });
      expect(res.status).toBe(401);
    }
    const limited = await api()
      .post('/login')
      .set('x-forwarded-for', attacker)
      .send({ email, password: 'wrong password' });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it("a stranger's wrong passwords cannot lock the owner out (the owner signs in from elsewhere)", async () => {
    const { email, password } = await signup();
    const stranger = fromIp();
    for (let i = 0; i < 11; i++) {
      await api()
        .post('/login')
        .set('x-forwarded-for', stranger)
        .send({ email, password: 'wrong password' });
    }
    const owner = await api()
      .post('/login')
      .set('x-forwarded-for', fromIp())
      .send({ email, password });
    expect(owner.status).toBe(200);
    // The stranger stays limited, even with the right password.
    const still = await api()
      .post('/login')
      .set('x-forwarded-for', stranger)
      .send({ email, password });
    expect(still.status).toBe(429);
  });

  it('limits login attempts per IP across emails, even with a spoofed X-Forwarded-For prefix', async () => {
    const ip = fromIp();
    const statuses: number[] = [];
    for (let i = 0; i < 51; i++) {
      // The client writes the first entries; the front end appends the address it saw.
      const res = await api()
        .post('/login')
        .set('x-forwarded-for', `${fromIp()}, ${ip}`)
        .send({ email: uniqueEmail(), password: 'nope' });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 50).every((s) => s === 401)).toBe(true);
    expect(statuses[50]).toBe(429);
  });

  it('limits signups per IP (20 per hour) with 429 and Retry-After', async () => {
    const ip = fromIp();
    for (let i = 0; i < 20; i++) {
      const res = await api()
        .post('/signup')
        .set('x-forwarded-for', ip)
        .send({ email: uniqueEmail(), password: 'long enough pw' });
      expect(res.status).toBe(201);
    }
    const before = await parentCount();
    const limited = await api()
      .post('/signup')
      .set('x-forwarded-for', ip)
      .send({ email: uniqueEmail(), password: 'long enough pw' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3000);
    expect(await parentCount()).toBe(before);
  });
});
