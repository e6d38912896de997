// Functions, partitions, the star-balance view, updated_at triggers, the indexes that fix
// the spec's invalid ones, and the down migrations (a full round trip leaves nothing).

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateUp, rollbackLast } from '../../shared/db/migrator.ts';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import {
  createChild,
  createConversation,
  createMessage,
  createParent,
  createTopic,
  insert,
} from './schema-fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const one = async <T extends Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
): Promise<T> => {
  const { rows } = await db.pool.query<T>(sql, params);
  if (!rows[0]) throw new Error(`no row: ${sql}`);
  return rows[0];
};

/** First day of the UTC month `offset` months from now, as YYYY-MM-DD. */
const monthStart = (offset: number): string => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1))
    .toISOString()
    .slice(0, 10);
};
const suffix = (isoDate: string): string => isoDate.slice(0, 7).replace('-', '_');

describe('age functions', () => {
  // Born 2016-06-15: each pair is [as_of, age, group] around every boundary.
  const birth = '2016-06-15';
  const boundaries: [string, number, string | null][] = [
    ['2020-06-14', 3, null],
    ['2020-06-15', 4, 'wonder_cubs'],
    ['2023-06-14', 6, 'wonder_cubs'],
    ['2023-06-15', 7, 'curious_explorers'],
    ['2027-06-14', 10, 'curious_explorers'],
    ['2027-06-15', 11, 'mind_masters'],
    ['2031-06-14', 14, 'mind_masters'],
    ['2031-06-15', 15, null],
  ];

  test.each(boundaries)('as of %s: age %i, group %s', async (asOf, age, group) => {
    const row = await one(
      'SELECT calculate_age($1::date, $2::date) AS age, determine_age_group($1::date, $2::date) AS grp',
      [birth, asOf],
    );
    expect(row).toEqual({ age, grp: group });
  });

  test('a leap-day birthday counts from 1 March in common years', async () => {
    expect(
      await one(
        `SELECT calculate_age('2020-02-29', '2024-02-28') AS a, calculate_age('2020-02-29', '2024-02-29') AS b`,
      ),
    ).toEqual({
      a: 3,
      b: 4,
    });
  });

  test.each([3, 4, 6, 7, 10, 11, 14, 15])(
    'one-argument versions are relative to today: age %i',
    async (years) => {
      const expected =
        years < 4 || years > 14
          ? null
          : years <= 6
            ? 'wonder_cubs'
            : years <= 10
              ? 'curious_explorers'
              : 'mind_masters';
      const row = await one(
        `SELECT calculate_age(b) AS age, determine_age_group(b) AS grp,
              calculate_age(b + 1) AS age_tomorrow
         FROM (SELECT (CURRENT_DATE - make_interval(years => $1::int))::date AS b) AS birth`,
        [years],
      );
      expect(row).toEqual({ age: years, grp: expected, age_tomorrow: years - 1 });
    },
  );

  test('volatility: today-relative versions are STABLE, as_of versions IMMUTABLE', async () => {
    const { rows } = await db.pool.query<{ signature: string; provolatile: string }>(
      `SELECT p.oid::regprocedure::text AS signature, p.provolatile
         FROM pg_proc p WHERE p.proname IN ('calculate_age', 'determine_age_group') ORDER BY 1`,
    );
    expect(rows).toEqual([
      { signature: 'calculate_age(date)', provolatile: 's' },
      { signature: 'calculate_age(date,date)', provolatile: 'i' },
      { signature: 'determine_age_group(date)', provolatile: 's' },
      { signature: 'determine_age_group(date,date)', provolatile: 'i' },
    ]);
  });
});

describe('partitions', () => {
  test('the migration made monthly partitions from last month to 4 months ahead, and no DEFAULT', async () => {
    for (const table of ['messages', 'daily_activity']) {
      const { rows } = await db.pool.query<{ name: string; is_default: boolean }>(
        `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = $1::regclass ORDER BY 1`,
        [table],
      );
      const names = rows.map((r) => r.name);
      for (let offset = -1; offset <= 4; offset++)
        expect(names).toContain(`${table}_${suffix(monthStart(offset))}`);
      expect(rows.some((r) => r.is_default)).toBe(false);
    }
  });

  test('messages are routed by created_at in UTC, whatever the session time zone', async () => {
    const conversation = await createConversation(db.pool);
    const client = await db.pool.connect();
    try {
      await client.query(`SET TimeZone = 'Pacific/Kiritimati'`);
      const nextMonth = monthStart(1);
      const cases: [string, string][] = [
        [`${nextMonth}T00:00:00.000Z`, suffix(nextMonth)],
        [new Date(Date.parse(`${nextMonth}T00:00:00Z`) - 1).toISOString(), suffix(monthStart(0))],
      ];
      for (const [createdAt, expectedSuffix] of cases) {
        const { rows } = await client.query<{ partition: string }>(
          `INSERT INTO messages (conversation_id, role, content, created_at)
           VALUES ($1, 'user', 'hello', $2) RETURNING tableoid::regclass::text AS partition`,
          [conversation, createdAt],
        );
        expect(rows[0]?.partition).toBe(`messages_${expectedSuffix}`);
      }
    } finally {
      await client.query('RESET TimeZone');
      client.release();
    }
  });

  test('daily_activity is routed by activity_date', async () => {
    const child = await createChild(db.pool);
    for (const offset of [-1, 0, 4]) {
      const date = monthStart(offset);
      const row = await insert(db.pool, 'daily_activity', { child_id: child, activity_date: date });
      const { rows } = await db.pool.query<{ partition: string }>(
        'SELECT tableoid::regclass::text AS partition FROM daily_activity WHERE id = $1',
        [row.id],
      );
      expect(rows[0]?.partition).toBe(`daily_activity_${suffix(date)}`);
    }
  });

  test('a row with no partition fails loudly', async () => {
    const conversation = await createConversation(db.pool);
    await expect(
      createMessage(db.pool, conversation, { created_at: '1999-12-31T12:00:00Z' }),
    ).rejects.toMatchObject({
      code: '23514',
      message: expect.stringContaining('no partition'),
    });
    await expect(
      insert(db.pool, 'daily_activity', {
        child_id: await createChild(db.pool),
        activity_date: '2101-01-01',
      }),
    ).rejects.toMatchObject({ code: '23514' });
  });

  test('create_monthly_partition is idempotent and names the month containing the date', async () => {
    const first = await one(`SELECT create_monthly_partition('messages', '2031-03-17') AS created`);
    const again = await one(`SELECT create_monthly_partition('messages', '2031-03-01') AS created`);
    const daily = await one(
      `SELECT create_monthly_partition('daily_activity', '2031-03-31') AS created`,
    );
    expect([first.created, again.created, daily.created]).toEqual([true, false, true]);
    const bounds = await one(
      `SELECT pg_get_expr(relpartbound, oid) AS messages,
              (SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'daily_activity_2031_03') AS daily
         FROM pg_class WHERE relname = 'messages_2031_03'`,
    );
    // Bounds are UTC instants for timestamptz, plain dates for date keys. The test session
    // runs in UTC, so the server prints +00.
    expect(bounds).toEqual({
      messages: "FOR VALUES FROM ('2031-03-01 00:00:00+00') TO ('2031-04-01 00:00:00+00')",
      daily: "FOR VALUES FROM ('2031-03-01') TO ('2031-04-01')",
    });
  });

  test('create_monthly_partition: concurrent callers create one partition without errors', async () => {
    const clients = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        return client;
      }),
    );
    try {
      const results = await Promise.all(
        clients.map(async (c) => {
          const { rows } = await c.query<{ created: boolean }>(
            `SELECT create_monthly_partition('daily_activity', '2032-07-04') AS created`,
          );
          return rows[0]?.created;
        }),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test('create_monthly_partition refuses what it must not touch', async () => {
    await expect(
      db.pool.query(`SELECT create_monthly_partition('parents', '2031-01-01')`),
    ).rejects.toMatchObject({
      code: '22023',
    });
    await expect(
      db.pool.query(`SELECT create_monthly_partition('no_such_table', '2031-01-01')`),
    ).rejects.toMatchObject({
      code: '42P01',
    });
    await expect(
      db.pool.query(
        `SELECT create_monthly_partition('messages; DROP TABLE parents', '2031-01-01')`,
      ),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^42/) });
    await expect(
      db.pool.query(`SELECT create_monthly_partition('messages', NULL)`),
    ).rejects.toMatchObject({
      code: '22004',
    });
    await db.pool.query('CREATE TABLE messages_2033_01 (id int)');
    await expect(
      db.pool.query(`SELECT create_monthly_partition('messages', '2033-01-09')`),
    ).rejects.toMatchObject({
      code: '42P07',
    });
    await db.pool.query('DROP TABLE messages_2033_01');
    expect(await one(`SELECT to_regclass('parents') IS NOT NULL AS ok`)).toEqual({ ok: true });
  });
});

describe('child_star_balance view', () => {
  test('one row per live child: 0 without rewards, spending counted, deleted children hidden', async () => {
    const parent = await createParent(db.pool);
    const saver = await createChild(db.pool, parent);
    const newcomer = await createChild(db.pool, parent);
    const gone = await createChild(db.pool, parent);
    for (const [child, stars] of [
      [saver, 10],
      [saver, 5],
      [saver, -12],
      [gone, 7],
    ] as const) {
      await insert(db.pool, 'rewards', {
        child_id: child,
        reward_type: stars < 0 ? 'cosmetic' : 'star',
        reward_id: 'r',
        star_value: stars,
      });
    }
    await insert(db.pool, 'rewards', {
      child_id: saver,
      reward_type: 'badge',
      reward_id: 'first_conversation',
    });
    await db.pool.query('UPDATE children SET deleted_at = NOW() WHERE id = $1', [gone]);

    const { rows } = await db.pool.query<{ child_id: string; total_stars: number }>(
      'SELECT child_id, total_stars FROM child_star_balance WHERE child_id = ANY($1::uuid[]) ORDER BY total_stars',
      [[saver, newcomer, gone]],
    );
    expect(rows).toEqual([
      { child_id: newcomer, total_stars: 0 },
      { child_id: saver, total_stars: 3 },
    ]);
  });
});

describe('updated_at triggers', () => {
  test('every table with updated_at has the trigger', async () => {
    const { rows } = await db.pool.query<{ table_name: string; has_trigger: boolean }>(
      `SELECT c.table_name,
              EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                       WHERE t.tgrelid = c.table_name::regclass AND p.proname = 'update_updated_at_column'
                         AND NOT t.tgisinternal) AS has_trigger
         FROM information_schema.columns c
         JOIN pg_class rel ON rel.relname = c.table_name AND rel.relnamespace = 'public'::regnamespace
        WHERE c.table_schema = 'public' AND c.column_name = 'updated_at'
          AND NOT rel.relispartition AND rel.relkind IN ('r', 'p')
        ORDER BY 1`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'children',
      'daily_activity',
      'notification_deliveries',
      'parents',
      'progress',
      'streaks',
      'topics',
    ]);
    expect(rows.every((r) => r.has_trigger)).toBe(true);
  });

  test('an update moves updated_at forward and leaves created_at', async () => {
    const past = new Date('2020-01-01T00:00:00Z');
    const parent = await createParent(db.pool, { created_at: past, updated_at: past });
    const child = await createChild(db.pool, parent, { created_at: past, updated_at: past });
    const topic = await createTopic(db.pool, { created_at: past, updated_at: past });
    const progress = await insert(db.pool, 'progress', {
      child_id: child,
      topic_id: topic,
      created_at: past,
      updated_at: past,
    });
    const streak = await insert(db.pool, 'streaks', {
      child_id: child,
      created_at: past,
      updated_at: past,
    });
    const activity = await insert(db.pool, 'daily_activity', {
      child_id: child,
      activity_date: monthStart(0),
      created_at: past,
      updated_at: past,
    });
    const updates: [string, string, unknown][] = [
      ['parents', `UPDATE parents SET display_name = 'Pat' WHERE id = $1`, parent],
      ['children', `UPDATE children SET name = 'Kit' WHERE id = $1`, child],
      ['topics', `UPDATE topics SET icon = 'rocket' WHERE id = $1`, topic],
      ['progress', 'UPDATE progress SET depth_level = 1 WHERE id = $1', progress.id],
      [
        'streaks',
        'UPDATE streaks SET current_streak = 1, longest_streak = 1 WHERE id = $1',
        streak.id,
      ],
      ['daily_activity', 'UPDATE daily_activity SET session_count = 1 WHERE id = $1', activity.id],
    ];
    for (const [table, sql, id] of updates) {
      await db.pool.query(sql, [id]);
      const { rows } = await db.pool.query<{ created_at: Date; updated_at: Date }>(
        `SELECT created_at, updated_at FROM ${pg.escapeIdentifier(table)} WHERE id = $1`,
        [id],
      );
      expect(rows[0]?.created_at, table).toEqual(past);
      expect(Date.now() - (rows[0]?.updated_at.getTime() ?? 0), table).toBeLessThan(60_000);
    }
  });
});

describe('indexes replacing the spec invalid ones', () => {
  test('the expected GIN, partial, covering and expression indexes exist', async () => {
    const { rows } = await db.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = ANY($1)`,
      [
        [
          'idx_topics_age_groups',
          'idx_progress_constellation',
          'idx_conversations_recent_active',
          'idx_conversations_child_date',
          'rewards_unique_badge',
          'idx_parents_email',
          'idx_streaks_leaderboard',
        ],
      ],
    );
    const def = Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
    expect(def.idx_topics_age_groups).toContain('USING gin (age_groups)');
    expect(def.idx_progress_constellation).toContain(
      'INCLUDE (topic_id, depth_level, unlocked_at)',
    );
    expect(def.idx_conversations_recent_active).toContain('WHERE (ended_at IS NULL)');
    expect(def.idx_conversations_child_date).toContain(
      "(started_at AT TIME ZONE 'UTC'::text))::date",
    );
    expect(def.rewards_unique_badge).toMatch(
      /^CREATE UNIQUE INDEX .* WHERE \(\(reward_type\)::text = 'badge'::text\)$/,
    );
    expect(def.idx_parents_email).toMatch(
      /^CREATE UNIQUE INDEX .*lower\(\(email\)::text\).* WHERE \(deleted_at IS NULL\)$/,
    );
    expect(def.idx_streaks_leaderboard).toContain('WHERE (current_streak > 0)');
  });

  test('the planner uses the UTC-day index and the open-conversation index', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const child = await createChild(client);
      // Many finished conversations and one open one, with statistics, so the small partial
      // index is clearly the cheapest path to the open one.
      await client.query(
        `INSERT INTO conversations (child_id, started_at, ended_at)
         SELECT $1, NOW() - make_interval(days => g), NOW() - make_interval(days => g) + INTERVAL '5 minutes'
           FROM generate_series(1, 500) AS g`,
        [child],
      );
      await createConversation(client, child);
      await client.query('ANALYZE conversations');
      const plan = async (sql: string): Promise<string> => {
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [child]);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      };
      expect(
        await plan(
          `SELECT id FROM conversations WHERE child_id = $1 AND (started_at AT TIME ZONE 'UTC')::date = DATE '2026-11-25'`,
        ),
      ).toContain('idx_conversations_child_date');
      expect(
        await plan(
          'SELECT id FROM conversations WHERE child_id = $1 AND ended_at IS NULL ORDER BY started_at DESC',
        ),
      ).toContain('idx_conversations_recent_active');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });
});

describe('down migrations', () => {
  test('up, down, up: everything is created and then removed, leaving only _prisma_migrations', async () => {
    const scratch = await createEmptyDatabase();
    const client = await scratch.pool.connect();
    const inventory = async () => {
      const { rows } = await client.query<{ kind: string; name: string }>(
        `SELECT 'relation:' || c.relkind::text AS kind, c.relname AS name FROM pg_class c
          WHERE c.relnamespace = 'public'::regnamespace
         UNION ALL SELECT 'function', p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
         UNION ALL SELECT 'type', t.typname FROM pg_type t
          WHERE t.typnamespace = 'public'::regnamespace AND t.typrelid = 0 AND t.typelem = 0
         ORDER BY 1, 2`,
      );
      return rows;
    };
    try {
      await migrateUp(client);
      const full = await inventory();
      expect(full.length).toBeGreaterThan(100);
      let rolledBack = await rollbackLast(client);
      while (rolledBack) rolledBack = await rollbackLast(client);
      const left = (await inventory()).map((r) => r.name);
      expect(left.every((name) => name.startsWith('_prisma_migrations'))).toBe(true);
      await migrateUp(client);
      expect(await inventory()).toEqual(full);
    } finally {
      client.release();
      await scratch.drop();
    }
  });
});
