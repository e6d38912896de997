// A whole child session over HTTP, as the README walks through it: constellation, start,
// five answers, end, then progress, streak, stars, badges and the parent dashboard.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/topics/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/progress/index.ts';
import '../../functions/streaks/index.ts';
import '../../functions/rewards/index.ts';
import '../../functions/dashboard/index.ts';
import '../../functions/brain-sparks/index.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest, type TestLearner } from './helpers.ts';

let db: TestDatabase;
let family: TestLearner;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  db = await setupLearningTest();
  family = await createLearner(db.pool, { timezone: 'Europe/London' });
});
afterAll(async () => teardownAccountsTest(db));

describe('a whole child session', () => {
  it('explores, earns and shows up on the parent dashboard', async () => {
    const child = bearer(family.childToken);
    const parent = bearer(family.parent.accessToken);
    const id = family.childId;

    const constellation = await request(getTestServer('topics'))
      .get(`/children/${id}/constellation`)
      .set(child);
    expect(constellation.status).toBe(200);
    const space = constellation.body.topics.find((t: { slug: string }) => t.slug === 'space');
    expect(space.unlocked).toBe(true);
    expect(space.unlockedAt).not.toBeNull();
    const planets = constellation.body.topics.find((t: { slug: string }) => t.slug === 'planets');
    expect(planets.unlocked).toBe(false);

    const conversations = request(getTestServer('conversations'));
    const locked = await conversations
      .post(`/children/${id}`)
      .set(child)
      .send({ type: 'exploration', topicId: planets.id });
    expect(locked.status).toBe(403);
    expect(locked.body.code).toBe('topic_locked');

    const start = await conversations
      .post(`/children/${id}`)
      .set(child)
      .send({ type: 'exploration', topicId: space.id });
    expect(start.status).toBe(201);
    expect(start.body.parentCanRead).toBe(true);
    expect(start.body.notice).toMatch(/grown-up can read/);
    expect(start.body.message.choices.length).toBeGreaterThanOrEqual(2);
    const conversationId = start.body.conversation.id;

    const answers = [
      { text: 'I think space is dark because there is no air to scatter light' },
      { choiceIndex: 0 },
      { text: 'Maybe the planets would move faster if the sun was bigger' },
      { choiceIndex: 1 },
      { text: 'Oh I get it, gravity pulls everything so planets keep going round' },
    ];
    let last: request.Response | undefined;
    for (const answer of answers) {
      last = await request(getTestServer('conversations'))
        .post(`/children/${id}/${conversationId}/messages`)
        .set(child)
        .send(answer);
      expect(last.status).toBe(201);
      expect(last.body.reply.choices.length).toBeGreaterThanOrEqual(2);
    }
    expect(last?.body.conversation.questionsAsked).toBe(5);
    expect(last?.body.conversation.depthReached).toBe(5);

    const end = await request(getTestServer('conversations'))
      .post(`/children/${id}/${conversationId}/end`)
      .set(child);
    expect(end.status).toBe(200);
    expect(end.body.conversation.summary).toMatch(/Explored Space: 5 answers, reached depth 5/);
    expect(end.body.conversation.keyInsights.length).toBeGreaterThan(0);

    const transcript = await request(getTestServer('conversations'))
      .get(`/children/${id}/${conversationId}`)
      .set(parent);
    expect(transcript.status).toBe(200);
    expect(transcript.body.messages).toHaveLength(12); // opener + 5 x (answer + reply) + closing

    const progress = await request(getTestServer('progress')).get(`/children/${id}`).set(child);
    expect(progress.status).toBe(200);
    const spaceProgress = progress.body.topics.find((t: { slug: string }) => t.slug === 'space');
    expect(spaceProgress.depth).toBe(5);
    expect(spaceProgress.firstDepth5At).not.toBeNull();

    const after = await request(getTestServer('topics'))
      .get(`/children/${id}/constellation`)
      .set(child);
    expect(after.body.topics.find((t: { slug: string }) => t.slug === 'planets').unlocked).toBe(
      true,
    );

    const streak = await request(getTestServer('streaks')).get(`/children/${id}`).set(child);
    expect(streak.status).toBe(200);
    expect(streak.body.current).toBe(1);
    expect(streak.body.activeToday).toBe(true);

    const rewards = await request(getTestServer('rewards')).get(`/children/${id}`).set(child);
    expect(rewards.status).toBe(200);
    expect(rewards.body.stars).toBeGreaterThan(5);
    const badgeIds = rewards.body.badges.map((b: { id: string }) => b.id);
    expect(badgeIds).toEqual(expect.arrayContaining(['first_conversation', 'first_depth_5']));

    const dashboard = await request(getTestServer('dashboard')).get(`/children/${id}`).set(parent);
    expect(dashboard.status).toBe(200);
    expect(dashboard.body.stars).toBe(rewards.body.stars);
    expect(dashboard.body.streak.current).toBe(1);
    expect(dashboard.body.recentConversations[0].summary).toMatch(/Explored Space/);

    const activity = await request(getTestServer('dashboard'))
      .get(`/children/${id}/activity`)
      .set(parent);
    expect(activity.status).toBe(200);
    expect(activity.body.days).toHaveLength(1);
    expect(activity.body.days[0].questionsAsked).toBe(5);
    expect(activity.body.days[0].sessions).toBe(1);
    expect(activity.body.days[0].timeSeconds).toBeGreaterThanOrEqual(5 * 10);
    expect(activity.body.days[0].starsEarned).toBe(rewards.body.stars);

    const childOnDashboard = await request(getTestServer('dashboard'))
      .get(`/children/${id}`)
      .set(child);
    expect(childOnDashboard.status).toBe(403);
  });
});
