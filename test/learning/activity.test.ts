// daily_activity's time and session counters for the parent dashboard: a conversation start is
// a session; each answer counts the time since the tutor's question, at least
// MIN_SECONDS_PER_MESSAGE (a scripted burst still shows time) and at most MAX_SECONDS_PER_MESSAGE
// (idle time does not count).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_SECONDS_PER_MESSAGE,
  MIN_SECONDS_PER_MESSAGE,
  postMessage,
  startConversation,
} from '../../shared/learning/conversations.ts';
import { dailyActivity } from '../../shared/learning/dashboard.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, ensurePartitions, setupLearningTest, topicIdOf } from './helpers.ts';

let db: TestDatabase;
const start = new Date('2026-06-15T10:00:00Z');
const at = (seconds: number) => new Date(start.getTime() + seconds * 1000);

beforeAll(async () => {
  db = await setupLearningTest();
  await ensurePartitions(db.pool, start);
});
afterAll(async () => teardownAccountsTest(db));

describe('time and sessions', () => {
  it('counts a session per conversation start and time per answer, floored and capped', async () => {
    const family = await createLearner(db.pool, { timezone: 'UTC' });
    const space = await topicIdOf(db.pool, 'space');
    const { conversation } = await startConversation(
      family.learner,
      { type: 'exploration', topicId: space },
      start,
    );
    const answer = (now: Date) =>
      postMessage(family.learner, conversation.id, { choiceIndex: 0 }, { now });
    await answer(at(1)); // a burst: counts the minimum
    await answer(at(46)); // 45 s after the previous reply
    await answer(at(46 + 3600)); // an hour idle: capped
    await startConversation(family.learner, { type: 'debate' }, at(4000));

    const expected = MIN_SECONDS_PER_MESSAGE + 45 + MAX_SECONDS_PER_MESSAGE;
    const { days } = await dailyActivity(family.learner, { from: '2026-06-15', to: '2026-06-15' });
    const day = days[0];
    expect(day?.sessions).toBe(2);
    expect(day?.timeSeconds).toBe(expected);
    const { rows } = await db.pool.query(
      'SELECT time_spent_seconds FROM progress WHERE child_id = $1 AND topic_id = $2',
      [family.childId, space],
    );
    expect(rows[0].time_spent_seconds).toBe(expected);
  });
});
