// Child-route limits over HTTP, brain sparks by local date, rewards once per day, the
// opt-in leaderboard, cosmetics and the consent gate.
import { randomBytes } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/brain-sparks/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/leaderboard/index.ts';
import '../../functions/rewards/index.ts';
import '../../functions/streaks/index.ts';
import '../../functions/topics/index.ts';
import { revokeConsent } from '../../shared/accounts/consents.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import { localDate, zonedInstant } from '../../shared/learning/clock.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, grantTestStars, setupLearningTest, topicIdOf } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
  process.env.CACHE_KEY_PREFIX = `test:${randomBytes(6).toString('hex')}:`;
  resetConfigForTests();
});
afterAll(async () => {
  delete process.env.CACHE_KEY_PREFIX;
  delete process.env.TUTOR_DAILY_MESSAGE_CAP;
  resetConfigForTests();
  await teardownAccountsTest(db);
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const hhmm = (minutes: number) => {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

describe('limits on child routes', () => {
  it('refuses a child session during bedtime with when it opens, but not the parent', async () => {
    const now = new Date();
    const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
    const family = await createLearner(db.pool, {
      timezone: 'UTC',
      settings: { bedtime_start: hhmm(minute - 60), bedtime_end: hhmm(minute + 60) },
    });
    const res = await request(getTestServer('topics'))
      .get(`/children/${family.childId}/constellation`)
      .set(bearer(family.childToken));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('bedtime');
    const opensAt = new Date(res.body.opensAt);
    expect(opensAt.getTime()).toBeGreaterThan(now.getTime());
    expect(opensAt.getTime() - now.getTime()).toBeLessThanOrEqual(61 * 60_000);
    const parent = await request(getTestServer('topics'))
      .get(`/children/${family.childId}/constellation`)
      .set(bearer(family.parent.accessToken));
    expect(parent.status).toBe(200);
  });

  it('refuses a child session whose daily time is used up', async () => {
    const family = await createLearner(db.pool, {
      timezone: 'Asia/Kolkata',
      settings: { daily_time_limit_minutes: 1 },
    });
    const today = localDate('Asia/Kolkata', new Date());
    await db.pool.query(
      'INSERT INTO daily_activity (child_id, activity_date, total_time_seconds) VALUES ($1, $2, 60)',
      [family.childId, today],
    );
    const res = await request(getTestServer('streaks'))
      .get(`/children/${family.childId}`)
      .set(bearer(family.childToken));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('time_limit_reached');
    const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000)
      .toISOString()
      .slice(0, 10);
    expect(res.body.opensAt).toBe(zonedInstant('Asia/Kolkata', tomorrow, 0).toISOString());
  });

  it('caps tutor messages (openers and replies) per child per day with 429 and Retry-After', async () => {
    process.env.TUTOR_DAILY_MESSAGE_CAP = '3';
    resetConfigForTests();
    try {
      const family = await createLearner(db.pool);
      const space = await topicIdOf(db.pool, 'space');
      const conversations = request(getTestServer('conversations'));
      const start = await conversations
        .post(`/children/${family.childId}`)
        .set(bearer(family.childToken))
        .send({ topicId: space });
      const path = `/children/${family.childId}/${start.body.conversation.id}/messages`;
      for (let i = 0; i < 2; i++) {
        const ok = await request(getTestServer('conversations'))
          .post(path)
          .set(bearer(family.childToken))
          .send({ choiceIndex: 0 });
        expect(ok.status).toBe(201);
      }
      const capped = await request(getTestServer('conversations'))
        .post(path)
        .set(bearer(family.childToken))
        .send({ choiceIndex: 0 });
      expect(capped.status).toBe(429);
      expect(capped.body.code).toBe('message_limit_reached');
      expect(Number(capped.headers['retry-after'])).toBeGreaterThan(0);
      // Starting another conversation would make the tutor speak again: also capped.
      const another = await request(getTestServer('conversations'))
        .post(`/children/${family.childId}`)
        .set(bearer(family.childToken))
        .send({ topicId: space });
      expect(another.status).toBe(429);
      expect(another.body.code).toBe('message_limit_reached');
    } finally {
      delete process.env.TUTOR_DAILY_MESSAGE_CAP;
      resetConfigForTests();
    }
  });

  it('stops every child feature once a required consent is revoked', async () => {
    const family = await createLearner(db.pool);
    // (Revoking coppa goes further: it schedules the children for deletion, so they are 404.)
    await revokeConsent(family.parent.id, 'privacy', { ip: undefined, userAgent: undefined });
    const res = await request(getTestServer('streaks'))
      .get(`/children/${family.childId}`)
      .set(bearer(family.childToken));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('consent_required');
  });
});

describe('learner resolution (one statement per request)', () => {
  it('answers a parent 403 consent_required with pendingDeletion after a coppa revocation, and its child session 401', async () => {
    const family = await createLearner(db.pool);
    await revokeConsent(family.parent.id, 'coppa', { ip: undefined, userAgent: undefined });
    const parent = await request(getTestServer('streaks'))
      .get(`/children/${family.childId}`)
      .set(bearer(family.parent.accessToken));
    expect(parent.status).toBe(403);
    expect(parent.body.code).toBe('consent_required');
    expect(parent.body.missingConsents).toEqual([{ type: 'coppa', version: expect.any(String) }]);
    expect(
      Date.parse(parent.body.pendingDeletion.deleteAfter) -
        Date.parse(parent.body.pendingDeletion.deletedAt),
    ).toBe(30 * 24 * 3600 * 1000);
    const child = await request(getTestServer('topics'))
      .get(`/children/${family.childId}/constellation`)
      .set(bearer(family.childToken));
    expect(child.status).toBe(401);
    expect(child.body.code).toBe('invalid_token');
  });

  it('answers 404 for a child the parent deleted while consent is live, and for an unknown id', async () => {
    const family = await createLearner(db.pool);
    await db.pool.query('UPDATE children SET deleted_at = NOW() WHERE id = $1', [family.childId]);
    for (const id of [family.childId, '00000000-0000-4000-8000-000000000000']) {
      const res = await request(getTestServer('rewards'))
        .get(`/children/${id}`)
        .set(bearer(family.parent.accessToken));
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
  });

  it('ends a revoked sign-in with 401 whether or not the child id exists', async () => {
    const family = await createLearner(db.pool);
    await db.pool.query('UPDATE refresh_tokens SET revoked_at = NOW() WHERE parent_id = $1', [
      family.parent.id,
    ]);
    for (const id of [family.childId, '00000000-0000-4000-8000-000000000000']) {
      const res = await request(getTestServer('streaks'))
        .get(`/children/${id}`)
        .set(bearer(family.parent.accessToken));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_token');
    }
  });
});

describe('brain sparks', () => {
  it('serves each family the spark of its own local date', async () => {
    const east = await createLearner(db.pool, { timezone: 'Pacific/Kiritimati' });
    const west = await createLearner(db.pool, { timezone: 'Pacific/Pago_Pago' });
    const now = new Date();
    const a = await request(getTestServer('brain-sparks'))
      .get(`/children/${east.childId}/today`)
      .set(bearer(east.childToken));
    const b = await request(getTestServer('brain-sparks'))
      .get(`/children/${west.childId}/today`)
      .set(bearer(west.childToken));
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.spark.sparkDate).toBe(localDate('Pacific/Kiritimati', now));
    expect(b.body.spark.sparkDate).toBe(localDate('Pacific/Pago_Pago', now));
    expect(a.body.spark.sparkDate).not.toBe(b.body.spark.sparkDate);
    expect(a.body.spark.ageGroup).toBe('curious_explorers');
  });

  it('complete starts the spark, then ends it and rewards once per day', async () => {
    const family = await createLearner(db.pool);
    const auth = bearer(family.childToken);
    const complete = () =>
      request(getTestServer('brain-sparks'))
        .post(`/children/${family.childId}/today/complete`)
        .set(auth);
    const started = await complete();
    expect(started.status).toBe(201);
    expect(started.body.action).toBe('started');
    expect(started.body.message.content).toContain(started.body.spark.question);
    expect(started.body.parentCanRead).toBe(true);
    const early = await complete();
    expect(early.body.action).toBe('in_progress');
    const answer = (conversationId: string) =>
      request(getTestServer('conversations'))
        .post(`/children/${family.childId}/${conversationId}/messages`)
        .set(auth)
        .send({ text: 'I think it is a shadow because it follows me' });
    expect((await answer(started.body.conversation.id)).status).toBe(201);
    const done = await complete();
    expect(done.body.action).toBe('completed');
    expect(done.body.brainSparkCompleted).toBe(true);
    expect(done.body.starsEarned).toBe(10);

    const again = await complete();
    expect(again.body.action).toBe('started');
    await answer(again.body.conversation.id);
    const second = await complete();
    expect(second.body.action).toBe('completed');
    expect(second.body.brainSparkCompleted).toBe(false);
    expect(second.body.starsEarned).toBe(0);
    const { rows } = await db.pool.query(
      "SELECT COUNT(*)::int AS n FROM rewards WHERE child_id = $1 AND reward_id = 'brain_spark'",
      [family.childId],
    );
    expect(rows[0].n).toBe(1);
  });
});

describe('leaderboard', () => {
  async function withStreak(streak: number) {
    const family = await createLearner(db.pool, { ageGroup: 'mind_masters' });
    await db.pool.query(
      'INSERT INTO streaks (child_id, current_streak, longest_streak, last_activity_date) VALUES ($1, $2, $2, CURRENT_DATE)',
      [family.childId, streak],
    );
    return family;
  }
  const optIn = (family: Awaited<ReturnType<typeof withStreak>>, value: boolean) =>
    request(getTestServer('leaderboard'))
      .put(`/children/${family.childId}/opt-in`)
      .set(bearer(family.parent.accessToken))
      .send({ optIn: value });

  it('is off by default, opt-in shows only avatar and nickname, ranked by streak', async () => {
    const low = await withStreak(3);
    const high = await withStreak(9);
    const hidden = await withStreak(50);
    const view = (family: typeof low) =>
      request(getTestServer('leaderboard'))
        .get(`/children/${family.childId}`)
        .set(bearer(family.childToken));
    const before = await view(low);
    expect(before.status).toBe(200);
    expect(before.body.optedIn).toBe(false);
    expect(before.body.entries).toEqual([]);

    const turnedOn = await optIn(low, true);
    expect(turnedOn.status).toBe(200);
    expect(turnedOn.body.nickname).toMatch(/^[A-Z][a-z]+[A-Z][a-z]+\d{2}$/);
    await optIn(high, true);
    const board = await view(low);
    expect(board.body.entries.map((e: { currentStreak: number }) => e.currentStreak)).toEqual([
      9, 3,
    ]);
    expect(board.body.entries[1]).toEqual({
      rank: 2,
      nickname: turnedOn.body.nickname,
      avatarId: 'default_1',
      currentStreak: 3,
      isYou: true,
    });
    expect(JSON.stringify(board.body)).not.toContain(hidden.childId);
    const names = await db.pool.query('SELECT name FROM children WHERE id = ANY($1::uuid[])', [
      [low.childId, high.childId],
    ]);
    for (const { name } of names.rows) expect(JSON.stringify(board.body)).not.toContain(name);

    await optIn(high, false);
    const after = await view(low);
    expect(after.body.entries.map((e: { currentStreak: number }) => e.currentStreak)).toEqual([3]);
  });
});

describe('rewards route', () => {
  it('buys a cosmetic with stars and refuses a second copy', async () => {
    const family = await createLearner(db.pool);
    await grantTestStars(db.pool, family.childId, 20);
    const buy = () =>
      request(getTestServer('rewards'))
        .post(`/children/${family.childId}/cosmetics`)
        .set(bearer(family.childToken))
        .send({ itemId: 'glasses_star' });
    const first = await buy();
    expect(first.status).toBe(201);
    expect(first.body.stars).toBe(5);
    const second = await buy();
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('already_owned');
    const view = await request(getTestServer('rewards'))
      .get(`/children/${family.childId}`)
      .set(bearer(family.parent.accessToken));
    expect(view.body.stars).toBe(5);
    expect(view.body.cosmetics.map((c: { id: string }) => c.id)).toEqual(['glasses_star']);
  });
});
