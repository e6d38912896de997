import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabasePool } from '../../shared/db/client.ts';
import { runCognitiveScoring } from '../../shared/jobs/cognitive-scoring.ts';
import { addDays } from '../../shared/jobs/time.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ensureMonthlyPartitions } from '../helpers/partitions.ts';
import { insertChild, insertParent } from './fixtures.ts';

const log = createLogger({ test: 'cognitive-scoring' });
const DATE = '2026-11-20';
let db: TestDatabase;
let topics: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
  // The evidence below is dated around DATE, whatever today is.
  await ensureMonthlyPartitions(db.pool, addDays(DATE, -60), addDays(DATE, 10));
  topics = {};
  for (const category of ['science', 'humanities', 'creative', 'logic']) {
    const { rows } = await db.pool.query<{ id: string }>(
      'INSERT INTO topics (name, slug, category) VALUES ($1, $2, $3) RETURNING id',
      [category, `${category}-${randomBytes(3).toString('hex')}`, category],
    );
    topics[category] = rows[0]!.id;
  }
});
afterAll(async () => {
  await db.drop();
});

const score = (date = DATE) => runCognitiveScoring({ date, log });

interface Metrics {
  critical_thinking: number;
  creative_thinking: number;
  logical_reasoning: number;
  knowledge_connection: number;
  curiosity_index: number;
  conversations_analyzed: number;
  confidence_level: number;
}
const SCORES = [
  'critical_thinking',
  'creative_thinking',
  'logical_reasoning',
  'knowledge_connection',
  'curiosity_index',
  'conversations_analyzed',
  'confidence_level',
] as const;

async function metrics(childId: string, date = DATE): Promise<Metrics | undefined> {
  const { rows } = await db.pool.query<Metrics>(
    `SELECT critical_thinking, creative_thinking, logical_reasoning, knowledge_connection, curiosity_index,
            conversations_analyzed, confidence_level
       FROM cognitive_metrics WHERE child_id = $1 AND assessment_date = $2`,
    [childId, date],
  );
  return rows[0];
}

async function newChild(): Promise<string> {
  return insertChild(db.pool, await insertParent(db.pool, { timezone: 'America/New_York' }));
}

const evidence = {
  async day(child: string, date: string, over: Partial<Record<string, unknown>> = {}) {
    await db.pool.query(
      `INSERT INTO daily_activity (child_id, activity_date, total_time_seconds, session_count, conversations_started,
                                   questions_asked, depth_increases, aha_moments, brain_spark_completed, new_topics_unlocked)
       VALUES ($1, $2, 600, 1, $3, $4, $5, $6, $7, $8)`,
      [
        child,
        date,
        over.started ?? 1,
        over.questions ?? 3,
        over.depthUps ?? 1,
        over.aha ?? 1,
        over.spark ?? false,
        over.unlocked ?? [],
      ],
    );
  },
  async conversation(
    child: string,
    at: string,
    options: {
      type?: string;
      depth?: number;
      topic?: string;
      insights?: number;
      messages?: Array<'free' | 'choice' | 'other'>;
    } = {},
  ): Promise<string> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO conversations (child_id, topic_id, conversation_type, started_at, depth_reached, key_insights)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [
        child,
        options.topic ?? null,
        options.type ?? 'exploration',
        at,
        options.depth ?? 2,
        JSON.stringify(Array.from({ length: options.insights ?? 0 }, (_, i) => `insight ${i}`)),
      ],
    );
    const id = rows[0]!.id;
    let n = 0;
    for (const kind of options.messages ?? []) {
      n += 1;
      await db.pool.query(
        `INSERT INTO messages (conversation_id, role, content, is_free_form, selected_choice_index, created_at)
         VALUES ($1, 'user', 'an answer', $2, $3, $4::timestamptz + make_interval(secs => $5))`,
        [id, kind === 'free', kind === 'choice' ? 1 : null, at, n],
      );
    }
    return id;
  },
  async progress(child: string, topic: string, depth: number, mastered = false) {
    await db.pool.query(
      `INSERT INTO progress (child_id, topic_id, depth_level, unlocked_at, mastered_at, created_at)
       VALUES ($1, $2, $3, '2026-10-01', $4, '2026-10-01')
       ON CONFLICT (child_id, topic_id) DO UPDATE SET depth_level = EXCLUDED.depth_level, mastered_at = EXCLUDED.mastered_at`,
      [child, topic, depth, mastered ? '2026-11-01' : null],
    );
  },
};

describe('cognitive-scoring', () => {
  it('writes one row per child active in the 30-day window, none for the inactive or deleted', async () => {
    const active = await newChild();
    const edgeDay = await newChild();
    const tooOld = await newChild();
    const afterDate = await newChild();
    const deleted = await newChild();
    await evidence.day(active, '2026-11-10');
    await evidence.conversation(active, '2026-11-10T15:00:00Z', {
      depth: 4,
      topic: topics.science,
      messages: ['free', 'choice'],
    });
    await evidence.day(edgeDay, '2026-10-22'); // D-29: inside
    await evidence.day(tooOld, '2026-10-21'); // D-30: outside
    await evidence.conversation(afterDate, '2026-11-21T00:00:00Z'); // after the window
    await evidence.day(deleted, '2026-11-15');
    await db.pool.query('UPDATE children SET deleted_at = now() WHERE id = $1', [deleted]);

    const report = await score();
    expect(report.counts.metricsInserted).toBeGreaterThanOrEqual(2);
    const m = await metrics(active);
    expect(m).toBeDefined();
    expect(m?.conversations_analyzed).toBe(1);
    for (const key of SCORES.slice(0, 5)) {
      expect(m?.[key]).toBeGreaterThan(0);
      expect(m?.[key]).toBeLessThanOrEqual(100);
    }
    expect(m?.confidence_level).toBeGreaterThan(0);
    expect(m?.confidence_level).toBeLessThan(1);
    expect(await metrics(edgeDay)).toMatchObject({
      conversations_analyzed: 0,
      confidence_level: 0,
    });
    expect(await metrics(tooOld)).toBeUndefined();
    expect(await metrics(afterDate)).toBeUndefined();
    expect(await metrics(deleted)).toBeUndefined();
  });

  it('a second run for the same date changes nothing; new evidence updates the row in place', async () => {
    const child = await newChild();
    await evidence.day(child, '2026-11-18');
    await score();
    const first = await metrics(child);
    const again = await score();
    expect(again.rowsTouched).toBe(0);
    expect(await metrics(child)).toEqual(first);
    await evidence.conversation(child, '2026-11-18T10:00:00Z', {
      depth: 5,
      messages: ['free', 'free'],
    });
    const third = await score();
    expect(third.counts.metricsUpdated).toBe(1);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT COUNT(*)::int AS n FROM cognitive_metrics WHERE child_id = $1',
      [child],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('is monotone: each added piece of evidence never lowers any score or the confidence', async () => {
    const child = await newChild();
    await evidence.day(child, '2026-11-01');
    await score();
    let previous = (await metrics(child)) as Metrics;
    const steps: Array<[string, () => Promise<unknown>]> = [
      [
        'an exploration',
        () =>
          evidence.conversation(child, '2026-11-02T09:00:00Z', { depth: 1, messages: ['other'] }),
      ],
      [
        'a deep conversation',
        () =>
          evidence.conversation(child, '2026-11-03T09:00:00Z', { depth: 6, topic: topics.logic }),
      ],
      [
        'free-form answers',
        () =>
          evidence.conversation(child, '2026-11-04T09:00:00Z', {
            messages: ['free', 'free', 'free'],
          }),
      ],
      [
        'choice answers',
        () =>
          evidence.conversation(child, '2026-11-05T09:00:00Z', { messages: ['choice', 'choice'] }),
      ],
      [
        'a story',
        () => evidence.conversation(child, '2026-11-06T09:00:00Z', { type: 'story', insights: 2 }),
      ],
      [
        'a debate',
        () => evidence.conversation(child, '2026-11-07T09:00:00Z', { type: 'debate', depth: 3 }),
      ],
      [
        'a quiet day',
        () => evidence.day(child, '2026-11-08', { questions: 0, depthUps: 0, aha: 0, started: 0 }),
      ],
      [
        'a busy day',
        () =>
          evidence.day(child, '2026-11-09', { questions: 12, depthUps: 4, aha: 3, spark: true }),
      ],
      [
        'a new category',
        () => evidence.conversation(child, '2026-11-10T09:00:00Z', { topic: topics.humanities }),
      ],
      ['progress', () => evidence.progress(child, topics.creative as string, 1)],
      ['deeper progress', () => evidence.progress(child, topics.creative as string, 4)],
      ['mastery', () => evidence.progress(child, topics.creative as string, 6, true)],
    ];
    const rose = new Set<string>();
    for (const [label, add] of steps) {
      await add();
      await score();
      const next = (await metrics(child)) as Metrics;
      for (const key of SCORES) {
        expect(next[key], `${key} after ${label}`).toBeGreaterThanOrEqual(previous[key]);
        if (next[key] > previous[key]) rose.add(key);
      }
      previous = next;
    }
    // The evidence above reaches every score (a formula ignoring its evidence would fail here).
    expect([...rose].sort()).toEqual([...SCORES].sort());
  });

  it('more evidence of every kind yields scores at least as high, across children', async () => {
    const light = await newChild();
    const heavy = await newChild();
    for (const child of [light, heavy]) {
      await evidence.day(child, '2026-11-11');
      await evidence.conversation(child, '2026-11-11T12:00:00Z', {
        depth: 2,
        messages: ['free', 'choice'],
      });
    }
    for (let i = 0; i < 19; i++) {
      await evidence.day(heavy, addDays('2026-10-23', i)); // Oct 23 .. Nov 11 without Nov 11
      await evidence.conversation(
        heavy,
        `2026-11-${String(1 + (i % 19)).padStart(2, '0')}T08:${String(i).padStart(2, '0')}:00Z`,
        {
          depth: 3 + (i % 4),
          type: ['exploration', 'story', 'debate', 'brain_spark'][i % 4],
          topic: Object.values(topics)[i % 4],
          insights: 1,
          messages: ['free', 'choice', 'other'],
        },
      );
    }
    await score();
    const l = (await metrics(light)) as Metrics;
    const h = (await metrics(heavy)) as Metrics;
    for (const key of SCORES) expect(h[key], key).toBeGreaterThan(l[key]);
    expect(h.confidence_level).toBeGreaterThan(0.8);
  });

  it('two concurrent runs write each row once with the same values', async () => {
    const child = await newChild();
    await evidence.day(child, '2026-11-19');
    const [a, b] = await Promise.all([score('2026-11-19'), score('2026-11-19')]);
    expect(a.counts.metricsInserted! + b.counts.metricsInserted!).toBeGreaterThanOrEqual(1);
    expect(Math.min(a.rowsTouched, b.rowsTouched)).toBe(0);
  });
});
