// Concurrency and retries: 50 parallel posts count the day once with consistent counters; an
// idempotent retry writes nothing; badges are earned once; stars never go below zero.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/conversations/index.ts';
import {
  endConversation,
  postMessage,
  startConversation,
} from '../../shared/learning/conversations.ts';
import { getRewards, purchaseCosmetic } from '../../shared/learning/rewards.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import {
  createLearner,
  grantTestStars,
  setupLearningTest,
  streakRow,
  type TestLearner,
  topicIdOf,
} from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
});
afterAll(async () => teardownAccountsTest(db));

/** A new learner (own family) with an exploration of "space" just started. */
async function learnerInConversation(options: Parameters<typeof createLearner>[1] = {}) {
  const family = await createLearner(db.pool, options);
  const space = await topicIdOf(db.pool, 'space');
  const { conversation } = await startConversation(
    family.learner,
    { type: 'exploration', topicId: space },
    new Date(),
  );
  return { family, conversation };
}

async function counts(childId: string, conversationId: string) {
  const { rows } = await db.pool.query(
    `SELECT (SELECT COUNT(*)::int FROM messages WHERE conversation_id = $2) AS messages,
            (SELECT questions_asked FROM conversations WHERE id = $2) AS conversation_questions,
            (SELECT COALESCE(SUM(questions_asked), 0)::int FROM daily_activity WHERE child_id = $1) AS daily_questions,
            (SELECT COALESCE(SUM(stars_earned), 0)::int FROM daily_activity WHERE child_id = $1) AS daily_stars,
            (SELECT COALESCE(SUM(star_value), 0)::int FROM rewards WHERE child_id = $1) AS stars,
            (SELECT COUNT(*)::int FROM rewards WHERE child_id = $1) AS reward_rows,
            (SELECT COUNT(*)::int FROM rewards WHERE child_id = $1 AND reward_type = 'badge' AND reward_id = 'first_conversation') AS first_badges,
            (SELECT COALESCE(SUM(questions_asked), 0)::int FROM progress WHERE child_id = $1) AS progress_questions,
            (SELECT COUNT(*)::int FROM idempotency_keys WHERE child_id = $1) AS keys`,
    [childId, conversationId],
  );
  return rows[0];
}

describe('50 parallel posts for one child', () => {
  it('increment the streak exactly once that day and keep every counter consistent', async () => {
    const { family, conversation } = await learnerInConversation({ timezone: 'Asia/Tokyo' });
    const server = getTestServer('conversations');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request(server)
          .post(`/children/${family.childId}/${conversation.id}/messages`)
          .set('authorization', `Bearer ${family.childToken}`)
          .send(
            i % 2
              ? { choiceIndex: i % 3 }
              : { text: `I think it is because of reason number ${i}` },
          ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(201));
    const streak = await streakRow(db.pool, family.childId);
    expect(streak?.current_streak).toBe(1);
    expect(streak?.streak_history.filter((h) => h.activity)).toHaveLength(1);
    const c = await counts(family.childId, conversation.id);
    expect(c.messages).toBe(101);
    expect(c.conversation_questions).toBe(50);
    expect(c.daily_questions).toBe(50);
    expect(c.progress_questions).toBe(50);
    expect(c.first_badges).toBe(1);
    const starsFromReplies = responses.reduce((sum, r) => sum + r.body.rewards.starsEarned, 0);
    expect(c.daily_stars).toBe(starsFromReplies);
    expect(c.stars).toBe(starsFromReplies);
    const incremented = responses.filter((r) => r.body.rewards.streak.current === 1);
    expect(incremented).toHaveLength(50);
    const depth = await db.pool.query('SELECT depth_reached FROM conversations WHERE id = $1', [
      conversation.id,
    ]);
    expect(depth.rows[0].depth_reached).toBeLessThanOrEqual(10);
  });
});

describe('the one-statement writes and their guard', () => {
  /** Resolves once a backend of this test's database waits for an advisory lock. */
  async function someoneWaitsForALock(): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS n FROM pg_locks
          WHERE locktype = 'advisory' AND NOT granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      if (rows[0].n > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('no one waited for the advisory lock');
  }

  /**
   * A learner with an open conversation; another writer of the child (an ending, a spark,
   * another device) holds the child's lock while `write` starts, and commits `meanwhile` only
   * once the write waits for the lock, i.e. after the write's statement (and its snapshot)
   * began. Resolves to what the write returned and the conversation's row afterwards.
   */
  async function writeWhileLocked<T>(
    write: (family: TestLearner, conversationId: string) => Promise<T>,
    meanwhile: string,
  ) {
    const { family, conversation } = await learnerInConversation();
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`child:${family.childId}`]);
      const writing = write(family, conversation.id);
      await someoneWaitsForALock();
      await holder.query(meanwhile, [conversation.id]);
      await holder.query('COMMIT');
      const result = await writing;
      const { rows } = await db.pool.query(
        `SELECT depth_reached, questions_asked, summary, ended_at IS NOT NULL AS ended
           FROM conversations WHERE id = $1`,
        [conversation.id],
      );
      return { result, row: rows[0] };
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
  }

  it('a message waits for the child lock, then sees what the holder committed and re-plans on it', async () => {
    // The holder deepens the conversation: a guard checked against the statement's own
    // snapshot would miss it and write the depth back down.
    const { result, row } = await writeWhileLocked(
      (family, id) =>
        postMessage(
          family.learner,
          id,
          { text: 'Maybe the moon pulls the sea towards it' },
          { now: new Date() },
        ),
      'UPDATE conversations SET depth_reached = 4, questions_asked = questions_asked + 1 WHERE id = $1',
    );
    expect(row.questions_asked).toBe(2);
    expect(row.depth_reached).toBeGreaterThanOrEqual(4);
    expect(result.conversation.depthReached).toBe(row.depth_reached);
    expect(result.conversation.questionsAsked).toBe(2);
  });

  it('an ending waits for the lock too, and summarises what the holder committed', async () => {
    // Answers land while the ending waits: its summary must count them.
    const { result, row } = await writeWhileLocked(
      (family, id) => endConversation(family.learner, id, `child:${family.childId}`, new Date()),
      'UPDATE conversations SET questions_asked = 3, depth_reached = 2 WHERE id = $1',
    );
    expect(result.conversation.summary).toMatch(/3 answers, reached depth 2/);
    expect(row).toMatchObject({ summary: result.conversation.summary, ended: true });
  });

  it('names the child as the actor of what it changes (the audit trail)', async () => {
    const { family, conversation } = await learnerInConversation();
    await db.pool.query('UPDATE children SET last_active_at = NULL WHERE id = $1', [
      family.childId,
    ]);
    await postMessage(family.learner, conversation.id, { choiceIndex: 0 }, { now: new Date() });
    const { rows } = await db.pool.query(
      `SELECT changed_by FROM audit_log
        WHERE table_name = 'children' AND row_id = $1 AND 'last_active_at' = ANY (changed_columns)
        ORDER BY changed_at DESC LIMIT 1`,
      [family.childId],
    );
    expect(rows).toEqual([{ changed_by: `child:${family.childId}` }]);
  });
});

describe('Idempotency-Key', () => {
  it('a retried post returns the first result and writes nothing', async () => {
    const { family, conversation } = await learnerInConversation();
    const post = () =>
      request(getTestServer('conversations'))
        .post(`/children/${family.childId}/${conversation.id}/messages`)
        .set('authorization', `Bearer ${family.childToken}`)
        .set('idempotency-key', 'answer-1')
        .send({ text: 'Because the stars are very far away' });
    const first = await post();
    expect(first.status).toBe(201);
    const before = await counts(family.childId, conversation.id);
    const retry = await post();
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await counts(family.childId, conversation.id)).toEqual(before);
    expect(before.keys).toBe(1);

    const reused = await request(getTestServer('conversations'))
      .post(`/children/${family.childId}/${conversation.id}/messages`)
      .set('authorization', `Bearer ${family.childToken}`)
      .set('idempotency-key', 'answer-1')
      .send({ choiceIndex: 0 });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
  });

  it('parallel retries with one key write once', async () => {
    const { family, conversation } = await learnerInConversation();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        postMessage(
          family.learner,
          conversation.id,
          { choiceIndex: 0 },
          { idempotencyKey: 'same', now: new Date() },
        ),
      ),
    );
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const c = await counts(family.childId, conversation.id);
    expect(c.messages).toBe(3);
    expect(c.daily_questions).toBe(1);
  });
});

describe('badges', () => {
  it('are earned once when the answers that earn them race in different conversations', async () => {
    const family = await createLearner(db.pool);
    const space = await topicIdOf(db.pool, 'space');
    const conversations = [];
    for (let i = 0; i < 8; i++) {
      conversations.push(
        (
          await startConversation(
            family.learner,
            { type: 'exploration', topicId: space },
            new Date(),
          )
        ).conversation,
      );
    }
    // Each answer is decided from a read made before the child's lock: all eight see no badge
    // yet, and the guard makes the later ones read again under the lock.
    const posted = await Promise.all(
      conversations.map((c) =>
        postMessage(family.learner, c.id, { choiceIndex: 0 }, { now: new Date() }),
      ),
    );
    const reported = posted.flatMap((p) => p.rewards.badgesEarned);
    expect(reported).toEqual(['first_conversation']);
    const { rows } = await db.pool.query(
      "SELECT reward_id, COUNT(*)::int AS n FROM rewards WHERE child_id = $1 AND reward_type = 'badge' GROUP BY reward_id ORDER BY 1",
      [family.childId],
    );
    expect(rows).toEqual([{ reward_id: 'first_conversation', n: 1 }]);
    expect(posted.filter((p) => p.rewards.streak.freezeEarned)).toHaveLength(0);
    expect(new Set(posted.map((p) => p.rewards.streak.current))).toEqual(new Set([1]));
  });

  it('the unique index refuses a second badge row even without the service', async () => {
    const family = await createLearner(db.pool);
    const insert = () =>
      db.pool.query(
        "INSERT INTO rewards (child_id, reward_type, reward_id) VALUES ($1, 'badge', 'streak_7')",
        [family.childId],
      );
    await insert();
    await expect(insert()).rejects.toMatchObject({ code: '23505' });
  });
});

describe('stars', () => {
  it('never go below zero under concurrent purchases', async () => {
    const family = await createLearner(db.pool);
    await grantTestStars(db.pool, family.childId, 45);
    // 45 stars; items cost 15-40: many combinations would overspend if checks raced.
    const items = [
      'hat_astronaut',
      'hat_wizard',
      'glasses_star',
      'theme_aurora',
      'theme_ocean',
      'voice_robot',
    ];
    const attempts = await Promise.allSettled(
      [...items, ...items].map((item) =>
        purchaseCosmetic(family.learner, item, 'test', new Date()),
      ),
    );
    const balance = (await getRewards(family.learner)).stars;
    expect(balance).toBeGreaterThanOrEqual(0);
    const bought = attempts.filter((a) => a.status === 'fulfilled');
    expect(bought.length).toBeGreaterThan(0);
    for (const a of attempts) {
      if (a.status === 'rejected')
        expect(['insufficient_stars', 'already_owned']).toContain(a.reason.code);
    }
    const { rows } = await db.pool.query(
      "SELECT COALESCE(SUM(-star_value), 0)::int AS spent FROM rewards WHERE child_id = $1 AND reward_type = 'cosmetic'",
      [family.childId],
    );
    expect(rows[0].spent).toBeLessThanOrEqual(45);
    expect(balance).toBe(45 - rows[0].spent);
  });

  it('refuses a purchase the balance cannot pay for', async () => {
    const family = await createLearner(db.pool);
    await expect(
      purchaseCosmetic(family.learner, 'glasses_star', 'test', new Date()),
    ).rejects.toMatchObject({
      code: 'insufficient_stars',
    });
    expect((await getRewards(family.learner)).stars).toBe(0);
  });
});
