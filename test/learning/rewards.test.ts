// Milestone badges and streak freezes earned on the live path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDate } from '../../shared/learning/clock.ts';
import { postMessage, startConversation } from '../../shared/learning/conversations.ts';
import { withChildLock } from '../../shared/learning/db.ts';
import { awardMilestoneBadges } from '../../shared/learning/rewards.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest, streakRow, topicIdOf } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
});
afterAll(async () => teardownAccountsTest(db));

async function explored(childId: string, slugs: string[]) {
  for (const slug of slugs) {
    await db.pool.query(
      'INSERT INTO progress (child_id, topic_id, questions_asked) VALUES ($1, $2, 1)',
      [childId, await topicIdOf(db.pool, slug)],
    );
  }
}

const award = (f: Awaited<ReturnType<typeof createLearner>>) =>
  withChildLock(f.childId, 'test', (tx) =>
    awardMilestoneBadges(tx, f.childId, f.learner.ageGroup, 0, { type: 'test' }, new Date()),
  );

describe('milestone badges', () => {
  it('topics_explored_5 needs five explored topics', async () => {
    const f = await createLearner(db.pool);
    await explored(f.childId, ['space', 'animals', 'math', 'stories']);
    expect(await award(f)).not.toContain('topics_explored_5');
    await explored(f.childId, ['nature']);
    expect(await award(f)).toContain('topics_explored_5');
  });

  it('all_categories needs every category the age group can see', async () => {
    const cub = await createLearner(db.pool, { ageGroup: 'wonder_cubs' });
    // science, logic, creative, humanities, and philosophy via big-questions (visible to cubs).
    await explored(cub.childId, ['space', 'math', 'stories', 'history']);
    expect(await award(cub)).not.toContain('all_categories');
    await explored(cub.childId, ['big-questions']);
    expect(await award(cub)).toContain('all_categories');
  });
});

describe('badge checks on the message path', () => {
  it('cost the same few queries however many badges are due, and each badge comes once', async () => {
    const f = await createLearner(db.pool);
    await explored(f.childId, ['space', 'animals', 'math', 'stories', 'nature']);
    await db.pool.query('UPDATE progress SET first_depth_5_at = now() WHERE child_id = $1', [
      f.childId,
    ]);
    const { id: conversationId } = (
      await db.pool.query(
        "INSERT INTO conversations (child_id, conversation_type, questions_asked) VALUES ($1, 'debate', 1) RETURNING id",
        [f.childId],
      )
    ).rows[0];
    expect(conversationId).toBeDefined();
    const counted = async () =>
      withChildLock(f.childId, 'test', async (tx) => {
        let queries = 0;
        const counting = {
          query: ((...args: Parameters<typeof tx.query>) => {
            queries++;
            return (tx.query as (...a: unknown[]) => unknown)(...args);
          }) as typeof tx.query,
        };
        const earned = await awardMilestoneBadges(
          counting,
          f.childId,
          f.learner.ageGroup,
          100,
          { type: 'test' },
          new Date(),
        );
        return { earned, queries };
      });
    const first = await counted();
    expect(first.earned).toEqual([
      'first_conversation',
      'streak_3',
      'streak_7',
      'streak_30',
      'streak_100',
      'first_depth_5',
      'topics_explored_5',
    ]);
    expect(first.queries).toBeLessThanOrEqual(3);
    const again = await counted();
    expect(again.earned).toEqual([]);
    expect(again.queries).toBeLessThanOrEqual(3);
  });
});

describe('streak freezes on the live path', () => {
  it('earns a freeze (and a freeze reward) when the streak reaches 7, and the 7-day badge', async () => {
    const f = await createLearner(db.pool);
    const now = new Date();
    const today = localDate('UTC', now);
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000)
      .toISOString()
      .slice(0, 10);
    await db.pool.query(
      'INSERT INTO streaks (child_id, current_streak, longest_streak, last_activity_date) VALUES ($1, 6, 6, $2)',
      [f.childId, yesterday],
    );
    const space = await topicIdOf(db.pool, 'space');
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: space },
      now,
    );
    const r = await postMessage(f.learner, conversation.id, { choiceIndex: 0 }, { now });
    expect(r.rewards.streak).toMatchObject({ current: 7, freezes: 1, freezeEarned: true });
    expect(r.rewards.badgesEarned).toEqual(expect.arrayContaining(['streak_3', 'streak_7']));
    expect((await streakRow(db.pool, f.childId))?.streak_freezes_available).toBe(1);
    const { rows } = await db.pool.query(
      "SELECT COUNT(*)::int AS n FROM rewards WHERE child_id = $1 AND reward_type = 'freeze'",
      [f.childId],
    );
    expect(rows[0].n).toBe(1);
  });
});
