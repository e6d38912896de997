// Parent dashboard: daily activity over a date range and cognitive metrics over time.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/dashboard/index.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, ensurePartitions, setupLearningTest } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
  await ensurePartitions(
    db.pool,
    new Date('2026-09-15T00:00:00Z'),
    new Date('2026-10-15T00:00:00Z'),
  );
});
afterAll(async () => teardownAccountsTest(db));

describe('dashboard', () => {
  it('returns daily activity inside the requested range only, with totals', async () => {
    const family = await createLearner(db.pool);
    for (const [date, questions] of [
      ['2026-09-30', 4],
      ['2026-10-01', 6],
      ['2026-10-05', 2],
      ['2026-10-20', 9],
    ] as const) {
      await db.pool.query(
        'INSERT INTO daily_activity (child_id, activity_date, questions_asked, total_time_seconds, stars_earned) VALUES ($1, $2, $3, $3 * 30, $3)',
        [family.childId, date, questions],
      );
    }
    const res = await request(getTestServer('dashboard'))
      .get(`/children/${family.childId}/activity?from=2026-10-01&to=2026-10-10`)
      .set('authorization', `Bearer ${family.parent.accessToken}`);
    expect(res.status).toBe(200);
    expect(res.body.days.map((d: { date: string }) => d.date)).toEqual([
      '2026-10-01',
      '2026-10-05',
    ]);
    expect(res.body.totals).toEqual({
      activeDays: 2,
      timeSeconds: 240,
      questionsAsked: 8,
      ahaMoments: 0,
      starsEarned: 8,
    });
  });

  it('refuses a reversed or over-long range', async () => {
    const family = await createLearner(db.pool);
    const get = (q: string) =>
      request(getTestServer('dashboard'))
        .get(`/children/${family.childId}/activity?${q}`)
        .set('authorization', `Bearer ${family.parent.accessToken}`);
    expect((await get('from=2026-10-10&to=2026-10-01')).status).toBe(400);
    expect((await get('from=2025-01-01&to=2026-10-01')).status).toBe(400);
    expect((await get('from=2026-13-01')).status).toBe(400);
  });

  it('returns cognitive metrics over time in date order', async () => {
    const family = await createLearner(db.pool);
    for (const [date, score] of [
      ['2026-10-03', 55],
      ['2026-10-01', 50],
      ['2026-11-30', 70],
    ] as const) {
      await db.pool.query(
        `INSERT INTO cognitive_metrics (child_id, assessment_date, critical_thinking, curiosity_index, conversations_analyzed, confidence_level)
         VALUES ($1, $2, $3, $3 + 10, 4, 0.6)`,
        [family.childId, date, score],
      );
    }
    const res = await request(getTestServer('dashboard'))
      .get(`/children/${family.childId}/cognitive-metrics?from=2026-10-01&to=2026-10-31`)
      .set('authorization', `Bearer ${family.parent.accessToken}`);
    expect(res.status).toBe(200);
    expect(
      res.body.points.map((p: { date: string; criticalThinking: number }) => [
        p.date,
        p.criticalThinking,
      ]),
    ).toEqual([
      ['2026-10-01', 50],
      ['2026-10-03', 55],
    ]);
    expect(res.body.points[0]).toMatchObject({
      curiosityIndex: 60,
      conversationsAnalyzed: 4,
      confidence: 0.6,
    });
  });
});
