// Logs never carry passwords, tokens or PINs: a whole account flow at debug level, including
// refusals, leaves none of them in any log line.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, expect, it, vi } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import {
  grantRequiredConsents,
  setupAccountsTest,
  teardownAccountsTest,
  yearsAgo,
} from '../helpers/factories.ts';

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

it('a signup, login, refresh and PIN session log requests but no secret', async () => {
  process.env.LOG_LEVEL = 'debug';
  resetConfigForTests();
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const secrets: string[] = [];
  try {
    const auth = () => request(getTestServer('auth'));
    const children = () => request(getTestServer('children'));
    const email = `logs-${crypto.randomUUID()}@example.test`;
    const password = `pw-${crypto.randomUUID()}`;
    secrets.push(password);

    const signup = await auth().post('/signup').send({ email, password });
    expect(signup.status).toBe(201);
    secrets.push(signup.body.accessToken, signup.body.refreshToken);
    expect(
      (
        await auth()
          .post('/login')
          .send({ email, password: `${password}x` })
      ).status,
    ).toBe(401);
    const login = await auth().post('/login').send({ email, password });
    expect(login.status).toBe(200);
    secrets.push(login.body.accessToken, login.body.refreshToken);
    const refreshed = await auth().post('/refresh').send({ refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    secrets.push(refreshed.body.accessToken, refreshed.body.refreshToken);
    // Reuse of the rotated token: refused, family revoked.
    expect(
      (await auth().post('/refresh').send({ refreshToken: login.body.refreshToken })).status,
    ).toBe(401);

    await grantRequiredConsents(signup.body.parent);
    const bearer = { authorization: `Bearer ${signup.body.accessToken}` };
    const child = await children()
      .post('/')
      .set(bearer)
      .send({ name: 'Quiet', birthDate: yearsAgo(8) });
    expect(child.status).toBe(201);
    const pin = '739164';
    secrets.push(pin);
    expect((await children().put(`/${child.body.id}/pin`).set(bearer).send({ pin })).status).toBe(
      200,
    );
    expect(
      (await children().post(`/${child.body.id}/session`).set(bearer).send({ pin: '000000' }))
        .status,
    ).toBe(403);
    const session = await children().post(`/${child.body.id}/session`).set(bearer).send({ pin });
    expect(session.status).toBe(201);
    secrets.push(session.body.accessToken);
    // A garbage token is refused; its text must not be echoed into the logs either.
    const garbage = `garbage.${crypto.randomUUID()}.token`;
    secrets.push(garbage);
    expect((await children().get('/').set('authorization', `Bearer ${garbage}`)).status).toBe(401);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.env.LOG_LEVEL = 'silent';
    resetConfigForTests();
  }
  const requestLogs = lines.filter((l) => l.includes('"message":"request"'));
  expect(requestLogs.length).toBeGreaterThanOrEqual(10);
  for (const line of requestLogs) expect(JSON.parse(line)).toHaveProperty('severity');
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(5);
    expect(lines.filter((l) => l.includes(secret))).toEqual([]);
  }
});
