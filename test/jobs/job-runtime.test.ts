// The CloudEvent path of every job: Pub/Sub push -> functions-framework -> defineJob.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabasePool } from '../../shared/db/client.ts';
import { decodePayload, defineJob } from '../../shared/runtime/job.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { familyWithStreak, readStreak, tableCounts } from './fixtures.ts';
import '../../functions/streak-reset/index.ts';
import '../../functions/brain-spark-rollout/index.ts';
import '../../functions/partition-maintenance/index.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
});
afterAll(async () => {
  await db.drop();
});

let sequence = 0;
function pubsubEvent(data: string | undefined, options: { time?: string } = {}) {
  sequence += 1;
  return {
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/test/topics/jobs',
    id: `event-${sequence}`,
    time: options.time ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    data: {
      message: {
        ...(data === undefined ? {} : { data }),
        messageId: `m-${sequence}`,
        publishTime: new Date().toISOString(),
      },
      subscription: 'projects/test/subscriptions/jobs',
    },
  };
}
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

const post = (name: string, event: object) =>
  request(getTestServer(name))
    .post('/')
    .set('content-type', 'application/cloudevents+json')
    .send(JSON.stringify(event));

const TABLES = ['streaks', 'brain_sparks', 'audit_log'] as const;

describe('job CloudEvent functions', () => {
  it('acknowledges bad payloads (204) without doing any work', async () => {
    const child = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 4,
      last_activity_date: '2020-01-01',
    });
    const before = {
      counts: await tableCounts(db.pool, TABLES),
      streak: await readStreak(db.pool, child),
    };
    const bad = [
      b64('not json'),
      b64({ date: '2026-13-45' }),
      b64({ at: 'yesterday' }),
      b64({ date: '2026-01-01', at: '2026-01-01T00:00:00Z' }),
      b64({ dryRun: true }),
      b64([1, 2, 3]),
    ];
    for (const data of bad) {
      const res = await post('streak-reset', pubsubEvent(data));
      expect(res.status).toBe(204);
    }
    for (const data of [b64('garbage'), b64({ date: 'soon' })]) {
      expect((await post('brain-spark-rollout', pubsubEvent(data))).status).toBe(204);
    }
    expect({
      counts: await tableCounts(db.pool, TABLES),
      streak: await readStreak(db.pool, child),
    }).toEqual(before);
  });

  it('drops an event older than JOB_MAX_EVENT_AGE_SECONDS without work', async () => {
    const child = await familyWithStreak(db.pool, 'UTC', {
      current_streak: 4,
      last_activity_date: '2020-01-01',
    });
    const old = new Date(Date.now() - 2 * 3600_000).toISOString();
    const res = await post(
      'streak-reset',
      pubsubEvent(b64({ at: '2020-01-05T00:00:00Z' }), { time: old }),
    );
    expect(res.status).toBe(204);
    expect((await readStreak(db.pool, child)).current_streak).toBe(4);
  });

  it('runs the job for a valid payload, and for an empty one (run for now)', async () => {
    const child = await familyWithStreak(db.pool, 'Pacific/Kiritimati', {
      current_streak: 4,
      last_activity_date: '2020-01-01',
    });
    const res = await post('streak-reset', pubsubEvent(b64({ at: '2020-01-03T12:00:00+02:00' })));
    expect(res.status).toBe(204);
    expect((await readStreak(db.pool, child)).current_streak).toBe(0);

    const res2 = await post('brain-spark-rollout', pubsubEvent(undefined));
    expect(res2.status).toBe(204);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT COUNT(*)::int AS n FROM brain_sparks WHERE spark_date >= CURRENT_DATE',
    );
    expect(rows[0]?.n).toBeGreaterThanOrEqual(21);
    expect((await post('partition-maintenance', pubsubEvent(b64({})))).status).toBe(204);
  });

  it('a failing run answers 500 so Pub/Sub retries', async () => {
    let attempts = 0;
    defineJob('test-flaky-job', {
      run: async () => {
        attempts += 1;
        throw new Error('connection terminated unexpectedly');
      },
    });
    const res = await post('test-flaky-job', pubsubEvent(b64({ date: '2026-01-01' })));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(attempts).toBe(1);
  });
});

describe('decodePayload', () => {
  it('accepts date or at, and nothing else', () => {
    expect(decodePayload({ message: { data: b64({ date: '2026-02-28' }) } })).toEqual({
      ok: true,
      payload: { date: '2026-02-28' },
    });
    expect(decodePayload({ message: { data: b64({ date: '2026-02-29' }) } }).ok).toBe(false);
    expect(decodePayload({ message: { data: b64({ at: '2026-02-28T10:00:00Z' }) } }).ok).toBe(true);
    expect(decodePayload({ message: {} })).toEqual({ ok: true, payload: {} });
    expect(decodePayload(undefined)).toEqual({ ok: true, payload: {} });
  });
});
