// Queueing a query on a pg client that is still running one is deprecated and refused from
// pg 9. Transactions run on one client, so the learning loop must await each query in turn.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchQueryOverlaps } from '../helpers/pg-overlaps.ts';
import '../../functions/topics/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/dashboard/index.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
});
afterAll(async () => teardownAccountsTest(db));

describe('one query at a time per connection', () => {
  it('holds for the constellation, a conversation and the dashboard', async () => {
    const family = await createLearner(db.pool);
    const child = { authorization: `Bearer ${family.childToken}` };
    const parent = { authorization: `Bearer ${family.parent.accessToken}` };
    const watch = watchQueryOverlaps();
    try {
      const constellation = await request(getTestServer('topics'))
        .get(`/children/${family.childId}/constellation`)
        .set(child);
      expect(constellation.status).toBe(200);
      const space = constellation.body.topics.find((t: { slug: string }) => t.slug === 'space');
      const start = await request(getTestServer('conversations'))
        .post(`/children/${family.childId}`)
        .set(child)
        .send({ topicId: space.id });
      expect(start.status).toBe(201);
      const answer = await request(getTestServer('conversations'))
        .post(`/children/${family.childId}/${start.body.conversation.id}/messages`)
        .set(child)
        .send({ choiceIndex: 0 });
      expect(answer.status).toBe(201);
      expect(answer.body.conversation.depthReached).toBe(1);
      const overview = await request(getTestServer('dashboard'))
        .get(`/children/${family.childId}`)
        .set(parent);
      expect(overview.status).toBe(200);
    } finally {
      watch.stop();
    }
    expect(watch.calls()).toBeGreaterThan(10);
    expect(watch.overlaps()).toBe(0);
  });
});
