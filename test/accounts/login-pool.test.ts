// Login checks the password (argon2: tens of ms, 19 MiB) without holding a pooled database
// connection, so a burst of logins cannot starve every other request of connections.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, expect, it, vi } from 'vitest';
import '../../functions/auth/index.ts';
import { createParent, setupAccountsTest, teardownAccountsTest } from '../helpers/factories.ts';

const inUseDuringChecks: number[] = [];

vi.mock('../../shared/accounts/passwords.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../shared/accounts/passwords.ts')>();
  return {
    ...original,
    verifySecret: async (hash: string, secret: string) => {
      inUseDuringChecks.push(db.pool.totalCount - db.pool.idleCount);
      return original.verifySecret(hash, secret);
    },
  };
});

const db = await setupAccountsTest();
afterAll(() => teardownAccountsTest(db));

it('holds no database connection while checking a password (right or wrong)', async () => {
  const parent = await createParent();
  const api = () => request(getTestServer('auth'));
  inUseDuringChecks.length = 0;
  const wrong = await api()
    .post('/login')
    .send({ email: parent.email, password: `${parent.password}x` });
  expect(wrong.status).toBe(401);
  const right = await api().post('/login').send({ email: parent.email, password: parent.password });
  expect(right.status).toBe(200);
  expect(inUseDuringChecks).toEqual([0, 0]);
});
