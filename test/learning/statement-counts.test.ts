// Round trips per request (issue 10): after one warm-up request, one request each, counting
// every pg Client#query call the functions' pool makes while it is in flight (BEGIN, COMMIT and
// each statement are one each). Targets: constellation GET <= 3, streak GET <= 2, posting a
// tutor message <= 6 and starting a conversation <= 6 (both held at the 3 they take since their
// writes became one statement), parent login <= 3, child PIN login <= 3 (argon2 is CPU, not a
// round trip). A failure prints the measured count and the statements.
import { randomBytes } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/auth/index.ts';
import '../../functions/children/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/streaks/index.ts';
import '../../functions/topics/index.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import type { TestDatabase } from '../helpers/db.ts';
import {
  createChild,
  createParent,
  grantRequiredConsents,
  teardownAccountsTest,
} from '../helpers/factories.ts';
import {
  describeStatements,
  type SentStatement,
  type StatementWatch,
  watchStatements,
} from '../helpers/statements.ts';
import {
  createLearner,
  setupLearningTest,
  type TestLearner,
  topicIdOf,
  UNLIMITED,
} from './helpers.ts';

let db: TestDatabase;
let watch: StatementWatch;
let family: TestLearner;
let space: string;

beforeAll(async () => {
  db = await setupLearningTest();
  process.env.CACHE_KEY_PREFIX = `test:${randomBytes(6).toString('hex')}:`;
  resetConfigForTests();
  watch = watchStatements(db.pool);
  family = await createLearner(db.pool);
  space = await topicIdOf(db.pool, 'space');
});
afterAll(async () => {
  watch.stop();
  delete process.env.CACHE_KEY_PREFIX;
  resetConfigForTests();
  await teardownAccountsTest(db);
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The statements one request sends; `status` is checked so a refused request never passes. */
async function measure(
  send: () => request.Test,
  status: number,
): Promise<{ body: Record<string, unknown>; count: number; statements: SentStatement[] }> {
  const { result, count, statements } = await watch.during(async () => await send());
  expect(result.status, JSON.stringify(result.body)).toBe(status);
  return { body: result.body as Record<string, unknown>, count, statements };
}

function expectAtMost(
  what: string,
  measured: { count: number; statements: SentStatement[] },
  target: number,
): void {
  // Zero would mean the watch missed the functions' pool, not a perfect route.
  expect(measured.count, `${what}: no statement seen on the functions' pool`).toBeGreaterThan(0);
  expect(
    measured.count,
    `${what}: ${measured.count} round trips, target <= ${target}:\n${describeStatements(measured.statements)}`,
  ).toBeLessThanOrEqual(target);
}

describe('round trips per request, after a warm-up request', () => {
  it('constellation GET: at most 3', async () => {
    const get = () =>
      request(getTestServer('topics'))
        .get(`/children/${family.childId}/constellation`)
        .set(bearer(family.childToken));
    await measure(get, 200); // warm-up
    const measured = await measure(get, 200);
    expect(Array.isArray(measured.body.topics)).toBe(true);
    expectAtMost('constellation GET', measured, 3);
  });

  it('streak GET: at most 2', async () => {
    const get = () =>
      request(getTestServer('streaks'))
        .get(`/children/${family.childId}`)
        .set(bearer(family.childToken));
    await measure(get, 200); // warm-up
    expectAtMost('streak GET', await measure(get, 200), 2);
  });

  it('starting a conversation: at most 3', async () => {
    const start = () =>
      request(getTestServer('conversations'))
        .post(`/children/${family.childId}`)
        .set(bearer(family.childToken))
        .send({ type: 'exploration', topicId: space });
    await measure(start, 201); // warm-up
    expectAtMost('starting a conversation', await measure(start, 201), 3);
  });

  it('posting a tutor message (free text, with an Idempotency-Key): at most 3', async () => {
    const started = await request(getTestServer('conversations'))
      .post(`/children/${family.childId}`)
      .set(bearer(family.childToken))
      .send({ type: 'exploration', topicId: space });
    expect(started.status).toBe(201);
    const conversationId = (started.body.conversation as { id: string }).id;
    let n = 0;
    const post = (text: string) => () =>
      request(getTestServer('conversations'))
        .post(`/children/${family.childId}/${conversationId}/messages`)
        .set(bearer(family.childToken))
        .set('idempotency-key', `statement-count-${n++}`)
        .send({ text });
    await measure(post('Maybe the sky is dark because there is no air up there'), 201); // warm-up
    const measured = await measure(post('I think planets go faster near a bigger sun'), 201);
    expectAtMost('posting a message', measured, 3);
  });

  it('parent login: at most 3 (argon2 aside)', async () => {
    const parent = await createParent();
    const login = () =>
      request(getTestServer('auth'))
        .post('/login')
        .send({ email: parent.email, password: parent.password });
    await measure(login, 200); // warm-up
    const measured = await measure(login, 200);
    expect(typeof measured.body.accessToken).toBe('string');
    expectAtMost('parent login', measured, 3);
  });

  it('child PIN login: at most 3 (argon2 aside)', async () => {
    const parent = await createParent();
    await grantRequiredConsents(parent);
    const child = await createChild(parent, { pin: '4826' });
    await db.pool.query('UPDATE children SET settings = settings || $2::jsonb WHERE id = $1', [
      child.id,
      JSON.stringify(UNLIMITED),
    ]);
    const open = () =>
      request(getTestServer('children'))
        .post(`/${child.id}/session`)
        .set(bearer(parent.accessToken))
        .send({ pin: '4826' });
    await measure(open, 201); // warm-up
    expectAtMost('child PIN login', await measure(open, 201), 3);
  });
});
