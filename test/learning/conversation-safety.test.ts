// Safety inside a conversation: what is stored, what the tutor sees, and parent alerts.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../../functions/dashboard/index.ts';
import '../../functions/conversations/index.ts';
import { type AlertMessage, setAlertPublisherForTests } from '../../shared/learning/alerts.ts';
import { postMessage, startConversation } from '../../shared/learning/conversations.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest, streakRow, topicIdOf } from './helpers.ts';

let db: TestDatabase;
let published: AlertMessage[] = [];

beforeAll(async () => {
  db = await setupLearningTest();
  setAlertPublisherForTests({ publish: async (m) => void published.push(m) });
});
afterAll(async () => {
  setAlertPublisherForTests(undefined);
  await teardownAccountsTest(db);
});
beforeEach(() => {
  published = [];
});

async function conversationFor() {
  const family = await createLearner(db.pool);
  const space = await topicIdOf(db.pool, 'space');
  const { conversation } = await startConversation(
    family.learner,
    { type: 'exploration', topicId: space },
    new Date(),
  );
  return { ...family, conversationId: conversation.id };
}

async function storedUserMessages(conversationId: string) {
  const { rows } = await db.pool.query(
    `SELECT content, was_filtered, filter_reason, is_free_form FROM messages
      WHERE conversation_id = $1 AND role = 'user' ORDER BY created_at`,
    [conversationId],
  );
  return rows;
}

describe('child text in a conversation', () => {
  it.each([
    ['email', 'you can write to me at maya.k@school.org because I like stars', 'maya.k@school.org'],
    ['phone', 'my mum phone is 07700 900123 and stars are hot', '07700 900123'],
    ['address', 'I live at 14 Elm Road and I can see stars', '14 Elm Road'],
    ['url', 'I saw it on https://stars.example.com/video because it is cool', 'stars.example.com'],
  ])('stores the %s redacted and still answers', async (kind, text, secret) => {
    const c = await conversationFor();
    const r = await postMessage(c.learner, c.conversationId, { text }, { now: new Date() });
    expect(r.safety.redacted).toEqual([kind]);
    expect(r.message.content).not.toContain(secret);
    expect(r.reply.content).not.toContain(secret);
    const [stored] = await storedUserMessages(c.conversationId);
    expect(stored.content).not.toContain(secret);
    expect(stored.was_filtered).toBe(true);
    expect(stored.filter_reason).toBe(`pii_${kind}`);
    expect(r.rewards.streak.current).toBe(1); // a redacted answer is still learning
    expect(published).toHaveLength(0);
  });

  it('filters profanity: stored censored, gently redirected, no learning credit', async () => {
    const c = await conversationFor();
    const r = await postMessage(
      c.learner,
      c.conversationId,
      { text: 'this is shit' },
      { now: new Date() },
    );
    expect(r.message.content).not.toMatch(/shit/);
    expect(r.message.wasFiltered).toBe(true);
    expect(r.reply.content).toMatch(/kind, safe words/);
    expect(r.conversation.depthReached).toBe(0);
    expect(r.rewards.starsEarned).toBe(0);
    expect(await streakRow(db.pool, c.childId)).toBeUndefined();
  });

  it('raises a high-severity alert on a danger phrase, published and answered kindly', async () => {
    const c = await conversationFor();
    const r = await postMessage(
      c.learner,
      c.conversationId,
      { text: 'nobody likes me and I want to die' },
      { now: new Date() },
    );
    expect(r.reply.content).toMatch(/grown-up you trust/);
    const { rows } = await db.pool.query(
      'SELECT parent_id, child_id, conversation_id, message_id, severity, reason, read_at FROM parent_alerts WHERE child_id = $1',
      [c.childId],
    );
    expect(rows).toEqual([
      {
        parent_id: c.parent.id,
        child_id: c.childId,
        conversation_id: c.conversationId,
        message_id: r.message.id,
        severity: 'high',
        reason: 'self_harm_signal',
        read_at: null,
      },
    ]);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      parentId: c.parent.id,
      childId: c.childId,
      severity: 'high',
      reason: 'self_harm_signal',
    });
    expect(JSON.stringify(published[0])).not.toMatch(/want to die/);
    const [stored] = await storedUserMessages(c.conversationId);
    expect(stored.filter_reason).toBe('danger_self_harm');
  });

  it('raises an alert when someone wants to meet', async () => {
    const c = await conversationFor();
    await postMessage(
      c.learner,
      c.conversationId,
      { text: "let's meet at the park tomorrow" },
      { now: new Date() },
    );
    expect(published.map((m) => m.reason)).toEqual(['meeting_request']);
  });

  it('shows the parent the alert and lets them mark it read', async () => {
    const c = await conversationFor();
    await postMessage(
      c.learner,
      c.conversationId,
      { text: 'my brother hits me every day' },
      { now: new Date() },
    );
    const auth = { authorization: `Bearer ${c.parent.accessToken}` };
    const list = await request(getTestServer('dashboard')).get('/alerts?unread=true').set(auth);
    expect(list.status).toBe(200);
    expect(list.body.alerts).toHaveLength(1);
    expect(list.body.alerts[0]).toMatchObject({
      childId: c.childId,
      severity: 'high',
      reason: 'abuse_signal',
      readAt: null,
    });
    const read = await request(getTestServer('dashboard'))
      .post(`/alerts/${list.body.alerts[0].id}/read`)
      .set(auth);
    expect(read.status).toBe(200);
    expect(read.body.readAt).not.toBeNull();
    const unread = await request(getTestServer('dashboard')).get('/alerts?unread=true').set(auth);
    expect(unread.body.alerts).toHaveLength(0);
    const flags = await request(getTestServer('dashboard'))
      .get(`/children/${c.childId}/flags`)
      .set(auth);
    expect(flags.body.flags[0].reasons).toEqual(['danger_abuse']);
  });
});

describe('unsafe content and what the child sees', () => {
  it('redirects unsafe content with a medium alert and no learning credit', async () => {
    const c = await conversationFor();
    const r = await postMessage(
      c.learner,
      c.conversationId,
      { text: 'tell me how to make a bomb' },
      { now: new Date() },
    );
    expect(r.reply.content).toMatch(/kind, safe words/);
    expect(r.rewards.starsEarned).toBe(0);
    expect(published.map((m) => [m.severity, m.reason])).toEqual([['medium', 'unsafe_content']]);
  });

  it("keeps the danger reason out of the child's own post response, replays included", async () => {
    const c = await conversationFor();
    const post = () =>
      request(getTestServer('conversations'))
        .post(`/children/${c.childId}/${c.conversationId}/messages`)
        .set('authorization', `Bearer ${c.childToken}`)
        .set('idempotency-key', 'danger-1')
        .send({ text: 'my uncle hits me' });
    for (const response of [await post(), await post()]) {
      expect(response.status).toBe(201);
      expect(response.body.message.filterReason).toBeNull();
      expect(response.body.reply.filterReason).toBeNull();
      expect(JSON.stringify(response.body)).not.toMatch(/danger|abuse/);
    }
    expect(published.map((m) => m.reason)).toEqual(['abuse_signal']);
  });

  it('shows the parent why a message was flagged, but not the child', async () => {
    const c = await conversationFor();
    await postMessage(
      c.learner,
      c.conversationId,
      { text: 'my number is 555 123 4567 because' },
      { now: new Date() },
    );
    const path = `/children/${c.childId}/${c.conversationId}`;
    const asParent = await request(getTestServer('conversations'))
      .get(path)
      .set('authorization', `Bearer ${c.parent.accessToken}`);
    const asChild = await request(getTestServer('conversations'))
      .get(path)
      .set('authorization', `Bearer ${c.childToken}`);
    expect(asParent.body.messages[1].filterReason).toBe('pii_phone');
    expect(asChild.body.messages[1].filterReason).toBeNull();
    expect(asChild.body.messages[1].content).toContain('[phone number removed]');
    expect(asChild.body.parentCanRead).toBe(true);
    const list = await request(getTestServer('conversations'))
      .get(`/children/${c.childId}`)
      .set('authorization', `Bearer ${c.childToken}`);
    expect(list.body.conversations.map((x: { id: string }) => x.id)).toEqual([c.conversationId]);
  });
});
