// messages is partitioned by month. The message path reads one conversation's messages, which
// can only be as old as the conversation: those queries must not touch older partitions. An
// older partition held under an exclusive lock by another session proves it: a query that
// scanned it would wait for the lock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getTranscript,
  postMessage,
  startConversation,
} from '../../shared/learning/conversations.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, ensurePartitions, setupLearningTest, topicIdOf } from './helpers.ts';

let db: TestDatabase;
const now = new Date();
const old = new Date(Date.UTC(now.getUTCFullYear() - 1, now.getUTCMonth(), 15));

beforeAll(async () => {
  db = await setupLearningTest();
  await ensurePartitions(db.pool, now, old);
});
afterAll(async () => teardownAccountsTest(db));

const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([
    work,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms),
    ),
  ]);

describe('message queries skip older monthly partitions', () => {
  it('posts and reads a transcript while a year-old partition is locked', async () => {
    const family = await createLearner(db.pool);
    const space = await topicIdOf(db.pool, 'space');
    const { conversation } = await startConversation(
      family.learner,
      { type: 'exploration', topicId: space },
      now,
    );
    const { rows } = await db.pool.query<{ partition: string }>(
      `SELECT c.oid::regclass::text AS partition FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'messages'::regclass
          AND pg_get_expr(c.relpartbound, c.oid) LIKE '%' || to_char($1::date, 'YYYY-MM') || '-01%'
        ORDER BY 1 LIMIT 1`,
      [old.toISOString().slice(0, 10)],
    );
    const partition = rows[0]?.partition;
    expect(partition).toBeDefined();

    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${partition} IN ACCESS EXCLUSIVE MODE`);
      const posted = await within(
        3000,
        postMessage(family.learner, conversation.id, { choiceIndex: 0 }, { now: new Date() }),
      );
      expect(posted.conversation.questionsAsked).toBe(1);
      const transcript = await within(3000, getTranscript(family.learner, conversation.id));
      expect(transcript.messages).toHaveLength(3);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
  });
});
