// Milestone badges and streak freezes earned on the live path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '../../shared/db/client.ts';
import { localDate } from '../../shared/learning/clock.ts';
import {
  milestoneBadgesDue,
  type SettleFactsRow,
  settleFactsOf,
  settleFactsSql,
} from '../../shared/learning/conversations/settle.ts';
import { postMessage, startConversation } from '../../shared/learning/conversations.ts';
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

/** The milestone badges due now, decided from the facts settling reads (one statement). */
async function due(f: Awaited<ReturnType<typeof createLearner>>, streak = 0): Promise<string[]> {
  const db = await getDb();
  const today = localDate(f.learner.timezone, new Date());
  const [row] = await db.$queryRaw<SettleFactsRow[]>`
    SELECT ${settleFactsSql(f.childId, f.learner.ageGroup, today)}`;
  if (!row) throw new Error('no facts row');
  return milestoneBadgesDue(settleFactsOf(row, f.learner.ageGroup), streak);
}
const award = (f: Awaited<ReturnType<typeof createLearner>>) => due(f);

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
  it('decide every due badge from one read, and a badge held is never due again', async () => {
    const f = await createLearner(db.pool);
    await explored(f.childId, ['space', 'animals', 'math', 'stories', 'nature']);
    await db.pool.query('UPDATE progress SET first_depth_5_at = now() WHERE child_id = $1', [
      f.childId,
    ]);
    await db.pool.query(
      "INSERT INTO conversations (child_id, conversation_type, questions_asked) VALUES ($1, 'debate', 1)",
      [f.childId],
    );
    const first = await due(f, 100);
    expect(first).toEqual([
      'first_conversation',
      'streak_3',
      'streak_7',
      'streak_30',
      'streak_100',
      'first_depth_5',
      'topics_explored_5',
    ]);
    await db.pool.query(
      `INSERT INTO rewards (child_id, reward_type, reward_id)
       SELECT $1, 'badge', unnest($2::text[])`,
      [f.childId, first],
    );
    expect(await due(f, 100)).toEqual([]);
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
