// Round trips of the account routes (issue 10): every pg Client#query the functions' pool
// sends during one request after a warm-up (the same count scripts/bench-requests.ts takes;
// BEGIN and COMMIT of a transaction count too). argon2 aside, a parent login is 2 statements
// (the lookup, then one statement that records the sign-in, issues the refresh token and names
// the audit actor) and a child PIN login 1 (the child, its PIN hash and session version, the
// family's consents and the parent's session check in one lookup).
import { randomBytes } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import '../../functions/consents/index.ts';
import '../../functions/parents/index.ts';
import {
  createFamily,
  createParent,
  setupAccountsTest,
  teardownAccountsTest,
} from '../helpers/factories.ts';
import { watchQueryOverlaps } from '../helpers/pg-overlaps.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

const fromIp = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The statements `send` makes the functions send, and its response. */
async function statementsOf<T>(send: () => Promise<T>): Promise<{ statements: number; res: T }> {
  const watch = watchQueryOverlaps();
  try {
    const res = await send();
    return { statements: watch.calls(), res };
  } finally {
    watch.stop();
  }
}

describe('round trips per request (after a warm-up)', () => {
  it('parent login: 2 statements (target <= 3), a wrong password 1', async () => {
    const parent = await createParent();
    const login = (password: string) =>
      request(getTestServer('auth'))
        .post('/login')
        .set('x-forwarded-for', fromIp())
        .send({ email: parent.email.toUpperCase(), password });
    expect((await login(parent.password)).status).toBe(200); // warm-up
    const right = await statementsOf(() => login(parent.password));
    expect(right.res.status).toBe(200);
    expect(right.statements).toBe(2);
    const wrong = await statementsOf(() => login(`${parent.password}x`));
    expect(wrong.res.status).toBe(401);
    expect(wrong.statements).toBe(1);
  });

  it('child PIN login: 1 statement (target <= 3), a wrong PIN too', async () => {
    const { parent, child } = await createFamily({ pin: '2468' });
    const open = (pin: string) =>
      request(getTestServer('children'))
        .post(`/${child.id}/session`)
        .set(bearer(parent.accessToken))
        .send({ pin });
    expect((await open('2468')).status).toBe(201); // warm-up
    const right = await statementsOf(() => open('2468'));
    expect(right.res.status).toBe(201);
    expect(right.statements).toBe(1);
    const wrong = await statementsOf(() => open('0000'));
    expect(wrong.res.status).toBe(403);
    expect(wrong.statements).toBe(1);
  });

  it('signup 1, refresh 2 (the family for its rate limit, then the rotation), logout 1', async () => {
    const api = () => request(getTestServer('auth'));
    const signup = await statementsOf(() =>
      api()
        .post('/signup')
        .set('x-forwarded-for', fromIp())
        .send({
          email: `rt-${randomBytes(4).toString('hex')}@example.test`,
          password: 'correct horse battery',
        }),
    );
    expect(signup.res.status).toBe(201);
    expect(signup.statements).toBe(1);
    const refresh = await statementsOf(() =>
      api().post('/refresh').send({ refreshToken: signup.res.body.refreshToken }),
    );
    expect(refresh.res.status).toBe(200);
    expect(refresh.statements).toBe(2);
    const logout = await statementsOf(() =>
      api().post('/logout').send({ refreshToken: refresh.res.body.refreshToken }),
    );
    expect(logout.res.status).toBe(204);
    expect(logout.statements).toBe(1);
  });

  it.each([
    ['parents', '/me'],
    ['parents', '/me/export'],
    ['children', '/'],
    ['consents', '/'],
  ])('GET %s%s: 1 statement (the session check rides on the read)', async (fn, path) => {
    const { parent } = await createFamily();
    const get = () => request(getTestServer(fn)).get(path).set(bearer(parent.accessToken));
    expect((await get()).status).toBe(200);
    const counted = await statementsOf(get);
    expect(counted.res.status).toBe(200);
    expect(counted.statements).toBe(1);
  });

  it('the lists still check the session when they find nothing', async () => {
    const parent = await createParent();
    await request(getTestServer('auth'))
      .post('/logout')
      .send({ refreshToken: parent.refreshToken });
    for (const fn of ['children', 'consents']) {
      const res = await request(getTestServer(fn)).get('/').set(bearer(parent.accessToken));
      expect(res.status).toBe(401);
    }
  });
});
