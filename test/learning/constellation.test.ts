// Availability by age group, unlocking at exactly prerequisite_depth, and unlocked_at recorded
// once, at the moment it becomes true, with an 'unlock' reward.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constellationFor, isUnlocked } from '../../shared/learning/constellation.ts';
import { postMessage, startConversation } from '../../shared/learning/conversations.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import {
  createLearner,
  ensurePartitions,
  setDepth,
  setupLearningTest,
  topicIdOf,
} from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
});
afterAll(async () => teardownAccountsTest(db));

const slugs = (c: Awaited<ReturnType<typeof constellationFor>>) => c.topics.map((t) => t.slug);

describe('availability by age group', () => {
  it('shows each child only the topics its age group may see', async () => {
    const cub = await createLearner(db.pool, { ageGroup: 'wonder_cubs' });
    const explorer = await createLearner(db.pool, { ageGroup: 'curious_explorers' });
    const master = await createLearner(db.pool, { ageGroup: 'mind_masters' });
    const cubs = slugs(await constellationFor(cub.learner, new Date()));
    const explorers = slugs(await constellationFor(explorer.learner, new Date()));
    const masters = slugs(await constellationFor(master.learner, new Date()));
    expect(cubs).toContain('space');
    expect(cubs).not.toContain('philosophy'); // age_groups = {mind_masters}
    expect(cubs).not.toContain('evolution'); // min_age_group curious_explorers
    expect(explorers).toContain('evolution');
    expect(explorers).not.toContain('black-holes'); // min_age_group mind_masters
    expect(masters).toEqual(
      expect.arrayContaining(['philosophy', 'black-holes', 'evolution', 'space']),
    );
  });

  it('returns connections only between visible topics', async () => {
    const cub = await createLearner(db.pool, { ageGroup: 'wonder_cubs' });
    const c = await constellationFor(cub.learner, new Date());
    const ids = new Set(c.topics.map((t) => t.id));
    expect(c.connections.length).toBeGreaterThan(0);
    for (const link of c.connections) {
      expect(ids.has(link.from)).toBe(true);
      expect(ids.has(link.to)).toBe(true);
    }
  });
});

describe('unlocking', () => {
  it('is a pure rule: every prerequisite at prerequisite_depth', () => {
    const topic = { prerequisites: ['a', 'b'], prerequisiteDepth: 2 };
    expect(isUnlocked({ prerequisites: [], prerequisiteDepth: 3 }, new Map())).toBe(true);
    expect(
      isUnlocked(
        topic,
        new Map([
          ['a', 2],
          ['b', 2],
        ]),
      ),
    ).toBe(true);
    expect(
      isUnlocked(
        topic,
        new Map([
          ['a', 2],
          ['b', 1],
        ]),
      ),
    ).toBe(false);
    expect(isUnlocked(topic, new Map([['a', 5]]))).toBe(false);
  });

  it('unlocks at exactly the prerequisite depth and not below, recording the moment once', async () => {
    const { learner, childId } = await createLearner(db.pool);
    const space = await topicIdOf(db.pool, 'space');
    const galaxies = await topicIdOf(db.pool, 'stars-and-galaxies'); // needs space at depth 2
    const first = new Date('2026-11-25T10:00:00Z');
    await constellationFor(learner, first);

    await setDepth(db.pool, childId, space, 1);
    let c = await constellationFor(learner, new Date('2026-11-25T10:01:00Z'));
    expect(c.topics.find((t) => t.id === galaxies)).toMatchObject({
      unlocked: false,
      unlockedAt: null,
    });

    await setDepth(db.pool, childId, space, 2);
    const moment = new Date('2026-11-25T10:02:00Z');
    c = await constellationFor(learner, moment);
    expect(c.topics.find((t) => t.id === galaxies)).toMatchObject({
      unlocked: true,
      unlockedAt: moment.toISOString(),
    });

    c = await constellationFor(learner, new Date('2026-11-25T11:00:00Z'));
    expect(c.topics.find((t) => t.id === galaxies)?.unlockedAt).toBe(moment.toISOString());
    const { rows } = await db.pool.query(
      "SELECT 1 FROM rewards WHERE child_id = $1 AND reward_type = 'unlock' AND reward_id = 'stars-and-galaxies'",
      [childId],
    );
    expect(rows).toHaveLength(1);
    const roots = await db.pool.query(
      'SELECT COUNT(*)::int AS n FROM progress WHERE child_id = $1 AND unlocked_at = $2',
      [childId, first],
    );
    expect(roots.rows[0].n).toBeGreaterThan(10); // topics without prerequisites, recorded at first sight
  });

  it('records the roots once when parallel first reads race, without a transaction', async () => {
    const { learner, childId } = await createLearner(db.pool);
    const at = new Date('2026-11-25T09:00:00Z');
    const reads = await Promise.all(
      Array.from({ length: 6 }, (_, i) => constellationFor(learner, new Date(at.getTime() + i))),
    );
    const { rows } = await db.pool.query<{ unlocks: number; recorded: number; moments: number }>(
      `SELECT (SELECT COUNT(*)::int FROM rewards WHERE child_id = $1 AND reward_type = 'unlock') AS unlocks,
              (SELECT COUNT(*)::int FROM progress WHERE child_id = $1 AND unlocked_at IS NOT NULL) AS recorded,
              (SELECT COUNT(DISTINCT reward_id)::int FROM rewards WHERE child_id = $1 AND reward_type = 'unlock') AS moments`,
      [childId],
    );
    const roots = reads[0]?.topics.filter((t) => t.unlocked).length ?? 0;
    expect(roots).toBeGreaterThan(10);
    expect(rows[0]).toEqual({ unlocks: roots, recorded: roots, moments: roots });
    // A later read shows the moment that was recorded, whichever read won.
    const later = await constellationFor(learner, new Date('2026-11-26T00:00:00Z'));
    for (const t of later.topics.filter((x) => x.unlocked)) {
      expect(Date.parse(t.unlockedAt ?? '')).toBeGreaterThanOrEqual(at.getTime());
      expect(Date.parse(t.unlockedAt ?? '')).toBeLessThan(at.getTime() + 6);
    }
  });

  it('unlocks in the message transaction the moment the depth is reached', async () => {
    const now = new Date('2026-11-25T15:00:00Z');
    await ensurePartitions(db.pool, now);
    const { learner, childId } = await createLearner(db.pool);
    const space = await topicIdOf(db.pool, 'space');
    const galaxies = await topicIdOf(db.pool, 'stars-and-galaxies');
    const { conversation } = await startConversation(
      learner,
      { type: 'exploration', topicId: space },
      now,
    );
    const one = await postMessage(
      learner,
      conversation.id,
      { choiceIndex: 0 },
      { now: new Date(now.getTime() + 10_000) },
    );
    expect(one.conversation.depthReached).toBe(1);
    expect(one.rewards.topicsUnlocked).not.toContain(galaxies);
    const twoAt = new Date(now.getTime() + 20_000);
    const two = await postMessage(learner, conversation.id, { choiceIndex: 1 }, { now: twoAt });
    expect(two.conversation.depthReached).toBe(2);
    expect(two.rewards.topicsUnlocked).toContain(galaxies);
    const { rows } = await db.pool.query(
      'SELECT unlocked_at FROM progress WHERE child_id = $1 AND topic_id = $2',
      [childId, galaxies],
    );
    expect(rows[0].unlocked_at.toISOString()).toBe(twoAt.toISOString());
    const activity = await db.pool.query(
      'SELECT new_topics_unlocked FROM daily_activity WHERE child_id = $1',
      [childId],
    );
    expect(activity.rows[0].new_topics_unlocked).toContain(galaxies);
  });

  it('refuses to start a locked topic and hides topics of other age groups', async () => {
    const { learner } = await createLearner(db.pool, { ageGroup: 'wonder_cubs' });
    const galaxies = await topicIdOf(db.pool, 'stars-and-galaxies');
    const philosophy = await topicIdOf(db.pool, 'philosophy');
    await expect(
      startConversation(learner, { type: 'exploration', topicId: galaxies }, new Date()),
    ).rejects.toMatchObject({
      code: 'topic_locked',
    });
    await expect(
      startConversation(learner, { type: 'exploration', topicId: philosophy }, new Date()),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
