// Shared set-up for the learning-loop tests: a fresh seeded database, families in chosen time
// zones, and direct handles on the domain services' inputs.
import type pg from 'pg';
import { seedDatabase } from '../../shared/db/seed.ts';
import { type Learner, loadLearner } from '../../shared/learning/learner.ts';
import type { AgeGroup } from '../../shared/learning/types.ts';
import type { TestDatabase } from '../helpers/db.ts';
import {
  childToken,
  createChild,
  createParent,
  grantRequiredConsents,
  setupAccountsTest,
  yearsAgo,
} from '../helpers/factories.ts';

export async function setupLearningTest(): Promise<TestDatabase> {
  const db = await setupAccountsTest();
  await seedDatabase(db.pool);
  return db;
}

const BIRTH_YEARS: Record<AgeGroup, number> = {
  wonder_cubs: 5,
  curious_explorers: 8,
  mind_masters: 12,
};

/** No bedtime and no time limit unless a test asks for them: HTTP tests run at the real time. */
export const UNLIMITED = { bedtime_start: null, bedtime_end: null, daily_time_limit_minutes: null };

export interface TestLearner {
  parent: Awaited<ReturnType<typeof createParent>>;
  childId: string;
  childToken: string;
  learner: Learner;
}

export async function createLearner(
  pool: pg.Pool,
  options: {
    timezone?: string;
    ageGroup?: AgeGroup;
    settings?: Record<string, unknown>;
    parent?: TestLearner['parent'];
  } = {},
): Promise<TestLearner> {
  const parent = options.parent ?? (await createParent({ timezone: options.timezone ?? 'UTC' }));
  if (!options.parent) await grantRequiredConsents(parent);
  const child = await createChild(parent, {
    birthDate: yearsAgo(BIRTH_YEARS[options.ageGroup ?? 'curious_explorers'], 30),
  });
  await pool.query('UPDATE children SET settings = settings || $2::jsonb WHERE id = $1', [
    child.id,
    JSON.stringify({ ...UNLIMITED, ...options.settings }),
  ]);
  return {
    parent,
    childId: child.id,
    childToken: await childToken(parent, child),
    learner: await loadLearner(child.id),
  };
}

export async function topicIdOf(pool: pg.Pool, slug: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM topics WHERE slug = $1', [
    slug,
  ]);
  if (!rows[0]) throw new Error(`no topic ${slug}`);
  return rows[0].id;
}

/** Monthly partitions of messages and daily_activity for the months of the given instants. */
export async function ensurePartitions(pool: pg.Pool, ...instants: Date[]): Promise<void> {
  for (const at of instants) {
    for (const offset of [-1, 0, 1]) {
      const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1))
        .toISOString()
        .slice(0, 10);
      await pool.query("SELECT create_monthly_partition('messages', $1::date)", [d]);
      await pool.query("SELECT create_monthly_partition('daily_activity', $1::date)", [d]);
    }
  }
}

export async function setDepth(
  pool: pg.Pool,
  childId: string,
  topicId: string,
  depth: number,
): Promise<void> {
  await pool.query(
    `INSERT INTO progress (child_id, topic_id, depth_level) VALUES ($1, $2, $3)
     ON CONFLICT (child_id, topic_id) DO UPDATE SET depth_level = EXCLUDED.depth_level`,
    [childId, topicId, depth],
  );
}

export async function streakRow(pool: pg.Pool, childId: string) {
  const { rows } = await pool.query<{
    current_streak: number;
    longest_streak: number;
    last_activity_date: string | null;
    streak_freezes_available: number;
    streak_history: Array<{ date: string; streak: number; activity: boolean }>;
  }>(
    `SELECT current_streak, longest_streak, to_char(last_activity_date, 'YYYY-MM-DD') AS last_activity_date,
            streak_freezes_available, streak_history FROM streaks WHERE child_id = $1`,
    [childId],
  );
  return rows[0];
}

/** Stars for a test to spend (a 'star' reward row, as the server grants them). */
export async function grantTestStars(pool: pg.Pool, childId: string, stars: number): Promise<void> {
  await pool.query(
    `INSERT INTO rewards (child_id, reward_type, reward_id, star_value, trigger_type)
     VALUES ($1, 'star', 'test', $2, 'test')`,
    [childId, stars],
  );
}
