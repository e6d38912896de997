// Crafted data for the job tests: families in chosen time zones, children, streaks.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { useDatabasePool } from '../../shared/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

export async function insertParent(
  pool: pg.Pool,
  options: { timezone?: string; deletedAt?: string | null } = {},
): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO parents (email, timezone, deleted_at) VALUES ($1, $2, $3) RETURNING id`,
    [
      `p-${randomBytes(6).toString('hex')}@example.test`,
      options.timezone ?? 'UTC',
      options.deletedAt ?? null,
    ],
  );
  return rows[0]!.id;
}

export async function insertChild(
  pool: pg.Pool,
  parentId: string,
  options: { birthDate?: string; ageGroup?: string; deletedAt?: string | null; name?: string } = {},
): Promise<string> {
  const birthDate = options.birthDate ?? '2018-03-14';
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO children (parent_id, name, birth_date, age_group, deleted_at)
     VALUES ($1, $2, $3, COALESCE($4, determine_age_group($3::date, CURRENT_DATE), 'mind_masters'), $5)
     RETURNING id`,
    [
      parentId,
      options.name ?? 'Ada',
      birthDate,
      options.ageGroup ?? null,
      options.deletedAt ?? null,
    ],
  );
  return rows[0]!.id;
}

export interface StreakState {
  current_streak: number;
  longest_streak: number;
  last_activity_date: string | null;
  streak_freezes_available: number;
  streak_history: Array<{ date: string; streak: number; activity: boolean; freeze_used?: boolean }>;
}

export async function insertStreak(
  pool: pg.Pool,
  childId: string,
  state: Partial<StreakState> & { current_streak: number; last_activity_date: string },
): Promise<void> {
  await pool.query(
    `INSERT INTO streaks (child_id, current_streak, longest_streak, last_activity_date,
                          streak_freezes_available, streak_history)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      childId,
      state.current_streak,
      state.longest_streak ?? state.current_streak,
      state.last_activity_date,
      state.streak_freezes_available ?? 0,
      JSON.stringify(state.streak_history ?? []),
    ],
  );
}

export async function readStreak(pool: pg.Pool, childId: string): Promise<StreakState> {
  const { rows } = await pool.query<StreakState>(
    `SELECT current_streak, longest_streak, to_char(last_activity_date, 'YYYY-MM-DD') AS last_activity_date,
            streak_freezes_available, streak_history
       FROM streaks WHERE child_id = $1`,
    [childId],
  );
  return rows[0]!;
}

/** A family in `timezone` with one child holding the given streak. */
export async function familyWithStreak(
  pool: pg.Pool,
  timezone: string,
  state: Partial<StreakState> & { current_streak: number; last_activity_date: string },
): Promise<string> {
  const parentId = await insertParent(pool, { timezone });
  const childId = await insertChild(pool, parentId);
  await insertStreak(pool, childId, state);
  return childId;
}

/** Every row of the tables a job may write, for "nothing else changed" assertions. */
export async function tableCounts(
  pool: pg.Pool,
  tables: readonly string[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of tables) {
    // Table names come from the test's own constant list, never from input.
    const { rows } = await pool.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${table}`);
    out[table] = rows[0]!.n;
  }
  return out;
}

/**
 * A second database for one test: the jobs run on the process's database client, so it is
 * pointed at `other` until its drop() points it back at `main`.
 */
export async function otherDatabase(main: TestDatabase): Promise<TestDatabase> {
  const other = await createTestDatabase();
  useDatabasePool(other.pool);
  return {
    ...other,
    async drop() {
      useDatabasePool(main.pool);
      await other.drop();
    },
  };
}
