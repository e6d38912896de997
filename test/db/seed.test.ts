import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AGE_GROUPS,
  type AgeGroup,
  addDays,
  CURATED_SPARK_SOURCE,
  defaultSeedDir,
  findCycle,
  loadSparkBank,
  loadTopicCatalogue,
  pickSparkForDate,
  SEEDED_SPARK_DAYS,
  SeedDataError,
  SPARK_TYPES,
  seedConnectionSchema,
  seedDatabase,
  seedTopicSchema,
  sparkBankEntrySchema,
  sparkRotation,
  TOPIC_CATEGORIES,
} from '../../shared/db/seed.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const TODAY = '2026-03-30';
const MIN_SPACING = 60;

const { topics, connections } = loadTopicCatalogue();
const bank = loadSparkBank();
const topicBySlug = new Map(topics.map((t) => [t.slug, t]));
const distance = (a: { position_x: number; position_y: number }, b: typeof a) =>
  Math.hypot(a.position_x - b.position_x, a.position_y - b.position_y);

// Spec Appendix B, verbatim.
const APPENDIX_B = [
  ['Space', 'space', 'science', 'rocket', '#4B0082', 0, -100, AGE_GROUPS],
  ['Animals', 'animals', 'science', 'paw', '#228B22', -150, 50, AGE_GROUPS],
  ['Math', 'math', 'logic', 'calculator', '#FF6347', 150, 50, AGE_GROUPS],
  ['Stories', 'stories', 'creative', 'book', '#9370DB', -100, 150, AGE_GROUPS],
  ['Nature', 'nature', 'science', 'leaf', '#32CD32', 100, 150, AGE_GROUPS],
  ['Philosophy', 'philosophy', 'philosophy', 'brain', '#8B0000', 0, 200, ['mind_masters']],
] as const;

/**
 * drop() ends the pool and then force-drops the database; a pooled connection still closing
 * at that moment is terminated and pg reports it as a pool 'error', which vitest would count
 * as an unhandled error. Nothing is running by then, so it is safe to ignore.
 */
async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  db.pool.on('error', () => undefined);
  return db;
}

function readSeedJson(relative: string): unknown {
  return JSON.parse(readFileSync(path.join(defaultSeedDir, relative), 'utf8'));
}

/** A copy of prisma/seed with one file rewritten, to prove the loaders reject bad data. */
function withEditedCopy<T>(
  relative: string,
  edit: (data: never) => unknown,
  use: (dir: string) => T,
): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'brainspark-seed-'));
  try {
    cpSync(defaultSeedDir, dir, { recursive: true });
    const file = path.join(dir, relative);
    writeFileSync(file, JSON.stringify(edit(JSON.parse(readFileSync(file, 'utf8')) as never)));
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('seed data files', () => {
  it('match their zod schemas', () => {
    expect(() => z.array(seedTopicSchema).parse(readSeedJson('topics.json'))).not.toThrow();
    expect(() =>
      z.array(seedConnectionSchema).parse(readSeedJson('connections.json')),
    ).not.toThrow();
    for (const group of AGE_GROUPS) {
      const entries = z.array(sparkBankEntrySchema).parse(readSeedJson(`sparks/${group}.json`));
      expect(entries.length).toBeGreaterThan(0);
      // One file per age group, so a reviewer reads one audience at a time.
      expect(new Set(entries.map((e) => e.age_group))).toEqual(new Set([group]));
    }
  });

  it('are rejected when a field, a reference or the graph is wrong', () => {
    type T = { slug: string; prerequisites: string[]; color: string; age_groups: string[] }[];
    const cases: [string, (d: T) => unknown, RegExp][] = [
      ['topics.json', (d) => d.map((t, i) => (i === 0 ? { ...t, color: 'gold' } : t)), /#RRGGBB/],
      [
        'topics.json',
        (d) => d.map((t) => (t.slug === 'planets' ? { ...t, prerequisites: ['pluto'] } : t)),
        /unknown prerequisite pluto/,
      ],
      [
        'topics.json',
        (d) => d.map((t) => (t.slug === 'space' ? { ...t, prerequisites: ['space-travel'] } : t)),
        /prerequisite cycle/,
      ],
      [
        'topics.json',
        (d) => d.map((t) => (t.slug === 'philosophy' ? { ...t, age_groups: [] } : t)),
        /too_small|>=1/i,
      ],
      [
        // Offered to 4-6 year olds but locked behind a mind_masters-only topic.
        'topics.json',
        (d) =>
          d.map((t) => (t.slug === 'right-and-wrong' ? { ...t, age_groups: [...AGE_GROUPS] } : t)),
        /not offered to wonder_cubs/,
      ],
    ];
    for (const [file, edit, message] of cases) {
      withEditedCopy(file, edit as (d: never) => unknown, (dir) => {
        expect(() => loadTopicCatalogue(dir)).toThrow(SeedDataError);
        expect(() => loadTopicCatalogue(dir)).toThrow(message);
      });
    }
    withEditedCopy(
      'connections.json',
      (d: { from: string; to: string }[]) =>
        d.filter((c) => !(c.from === 'space' && c.to === 'planets')),
      (dir) =>
        expect(() => loadTopicCatalogue(dir)).toThrow(
          /space -> planets has no prerequisite connection/,
        ),
    );
    withEditedCopy(
      'connections.json',
      (d: object[]) => [
        ...d,
        {
          from: 'planets',
          to: 'space',
          strength: 'weak',
          connection_type: 'related',
          description: 'Again.',
        },
      ],
      (dir) => expect(() => loadTopicCatalogue(dir)).toThrow(/listed twice/),
    );
    withEditedCopy(
      'sparks/wonder_cubs.json',
      (d: { topic: string }[]) => d.map((s, i) => (i === 0 ? { ...s, topic: 'black-holes' } : s)),
      (dir) =>
        expect(() => loadSparkBank(dir)).toThrow(/black-holes is not offered to wonder_cubs/),
    );
    withEditedCopy(
      'sparks/mind_masters.json',
      (d: { hints: string[] }[]) => d.map((s, i) => (i === 0 ? { ...s, hints: ['Only one.'] } : s)),
      (dir) => expect(() => loadSparkBank(dir)).toThrow(SeedDataError),
    );
  });
});

describe('topic catalogue', () => {
  it('has the six Appendix B topics exactly', () => {
    for (const [name, slug, category, icon, color, x, y, groups] of APPENDIX_B) {
      const topic = topicBySlug.get(slug);
      expect(topic, slug).toMatchObject({
        name,
        category,
        icon,
        color,
        position_x: x,
        position_y: y,
      });
      expect(topic?.age_groups).toEqual([...groups]);
    }
  });

  it('has at least 24 more topics, covering all five categories', () => {
    expect(topics.length).toBeGreaterThanOrEqual(APPENDIX_B.length + 24);
    expect(new Set(topics.map((t) => t.category))).toEqual(new Set(TOPIC_CATEGORIES));
    for (const category of TOPIC_CATEGORIES) {
      expect(topics.filter((t) => t.category === category).length, category).toBeGreaterThanOrEqual(
        4,
      );
    }
  });

  it('has prerequisites that exist, with depths 1-3, and no cycles', () => {
    const withPrerequisites = topics.filter((t) => t.prerequisites.length > 0);
    expect(withPrerequisites.length).toBeGreaterThanOrEqual(15);
    expect(new Set(withPrerequisites.map((t) => t.prerequisite_depth))).toEqual(new Set([1, 2, 3]));
    for (const t of withPrerequisites) {
      for (const p of t.prerequisites)
        expect(topicBySlug.has(p), `${t.slug} needs ${p}`).toBe(true);
    }
    expect(findCycle(new Map(topics.map((t) => [t.slug, t.prerequisites])))).toBeUndefined();
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
  });

  it('lists every prerequisite and every parent link as a connection', () => {
    const pairs = new Map(connections.map((c) => [`${c.from}>${c.to}`, c]));
    for (const t of topics) {
      for (const p of t.prerequisites) {
        expect(pairs.get(`${p}>${t.slug}`)?.connection_type, `${p} -> ${t.slug}`).toBe(
          'prerequisite',
        );
      }
      if (t.parent)
        expect(pairs.has(`${t.parent}>${t.slug}`), `${t.parent} -> ${t.slug}`).toBe(true);
    }
    expect(
      connections.filter((c) => c.connection_type === 'related').length,
    ).toBeGreaterThanOrEqual(15);
  });

  it('is laid out as a readable constellation', () => {
    for (const [i, a] of topics.entries()) {
      for (const b of topics.slice(i + 1)) {
        expect(distance(a, b), `${a.slug} and ${b.slug} overlap`).toBeGreaterThanOrEqual(
          MIN_SPACING,
        );
      }
    }
    // Clusters: every topic sits nearer to the root of its own family tree than to any
    // other root that has a family (the six Appendix B roots and the humanities hub).
    const rootOf = (slug: string): string => {
      const parent = topicBySlug.get(slug)?.parent;
      return parent ? rootOf(parent) : slug;
    };
    const hubs = topics.filter((t) => !t.parent && topics.some((c) => c.parent === t.slug));
    expect(hubs.map((h) => h.slug)).toEqual(expect.arrayContaining(APPENDIX_B.map((b) => b[1])));
    for (const t of topics.filter((x) => x.parent)) {
      const nearest = hubs.reduce((best, h) => (distance(t, h) < distance(t, best) ? h : best));
      expect(nearest.slug, t.slug).toBe(rootOf(t.slug));
    }
  });

  it('lets every age group try every category (the "every category tried" badge)', () => {
    for (const group of AGE_GROUPS) {
      const offered = topics.filter((t) => t.age_groups.includes(group));
      // A topic is only reachable if each prerequisite is also offered to the group.
      for (const t of offered) {
        for (const p of t.prerequisites)
          expect(topicBySlug.get(p)?.age_groups, `${group}: ${t.slug}`).toContain(group);
      }
      const openCategories = new Set(
        offered.filter((t) => t.prerequisites.length === 0).map((t) => t.category),
      );
      expect(openCategories, group).toEqual(new Set(TOPIC_CATEGORIES));
    }
  });

  it('keeps min_age_group consistent with age_groups', () => {
    const gated = topics.filter((t) => t.min_age_group !== null);
    expect(gated.length).toBeGreaterThanOrEqual(5);
    for (const t of gated) {
      expect(t.age_groups).toContain(t.min_age_group);
      expect(t.age_groups).not.toContain('wonder_cubs');
    }
  });
});

describe('spark bank', () => {
  it('has 5 sparks (3 required) per age group and spark type, with unique keys', () => {
    for (const group of AGE_GROUPS) {
      for (const type of SPARK_TYPES) {
        const count = bank.filter((s) => s.age_group === group && s.spark_type === type).length;
        expect(count, `${group}/${type}`).toBeGreaterThanOrEqual(5);
      }
    }
    expect(new Set(bank.map((s) => s.key)).size).toBe(bank.length);
  });

  it('speaks to each age group at its level and always asks', () => {
    const levels: Record<AgeGroup, [number, number]> = {
      wonder_cubs: [1, 2],
      curious_explorers: [2, 3],
      mind_masters: [3, 5],
    };
    for (const spark of bank) {
      const [low, high] = levels[spark.age_group];
      expect(spark.difficulty, spark.key).toBeGreaterThanOrEqual(low);
      expect(spark.difficulty, spark.key).toBeLessThanOrEqual(high);
      expect(spark.question, spark.key).toContain('?');
      for (const f of spark.follow_ups) expect(f, spark.key).toContain('?');
    }
    const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
    for (const spark of bank.filter((s) => s.age_group === 'wonder_cubs')) {
      for (const text of [spark.question, ...spark.hints, ...spark.follow_ups]) {
        for (const sentence of text.split(/(?<=[.?!])\s+/)) {
          expect(words(sentence), `${spark.key}: "${sentence}"`).toBeLessThanOrEqual(15);
        }
      }
    }
  });

  it('rotates through every entry and varies the spark type day by day', () => {
    for (const group of AGE_GROUPS) {
      const rotation = sparkRotation(bank, group);
      expect(rotation.length).toBe(bank.filter((s) => s.age_group === group).length);
      const picks = Array.from({ length: rotation.length }, (_, i) =>
        pickSparkForDate(bank, group, addDays(TODAY, i)),
      );
      expect(new Set(picks.map((p) => p.key)).size).toBe(rotation.length);
      for (let i = 1; i < picks.length; i++) {
        expect(picks[i]?.spark_type).not.toBe(picks[i - 1]?.spark_type);
      }
      // Independent of file order.
      expect(pickSparkForDate([...bank].reverse(), group, TODAY)).toEqual(
        pickSparkForDate(bank, group, TODAY),
      );
    }
  });
});

describe('seedDatabase', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function snapshot() {
    const [t, c, s] = await Promise.all([
      db.pool.query('SELECT * FROM topics ORDER BY slug'),
      db.pool.query('SELECT * FROM topic_connections ORDER BY from_topic_id, to_topic_id'),
      db.pool.query('SELECT * FROM brain_sparks ORDER BY spark_date, age_group'),
    ]);
    return { topics: t.rows, connections: c.rows, sparks: s.rows };
  }

  it('seeds everything, and a second run changes nothing', async () => {
    const first = await seedDatabase(db.pool, { today: TODAY });
    expect(first).toEqual({
      topics: { inserted: topics.length, updated: 0 },
      connections: { inserted: connections.length, updated: 0 },
      sparks: {
        inserted: AGE_GROUPS.length * SEEDED_SPARK_DAYS,
        from: TODAY,
        days: SEEDED_SPARK_DAYS,
      },
    });
    const before = await snapshot();
    expect(before.topics.length).toBeGreaterThanOrEqual(30);

    const client = await db.pool.connect();
    try {
      const second = await seedDatabase(client, { today: TODAY });
      expect(second).toEqual({
        topics: { inserted: 0, updated: 0 },
        connections: { inserted: 0, updated: 0 },
        sparks: { inserted: 0, from: TODAY, days: SEEDED_SPARK_DAYS },
      });
    } finally {
      client.release();
    }
    // Same rows, same ids, same timestamps: nothing was rewritten.
    expect(await snapshot()).toEqual(before);
  });

  it('stores the catalogue with prerequisites and parents resolved to ids', async () => {
    const { rows } = await db.pool.query<{
      slug: string;
      category: string;
      parent: string | null;
      prerequisites: string[];
      prerequisite_depth: number;
      depth_in_tree: number;
      age_groups: string[];
      min_age_group: string | null;
      color: string;
      icon: string;
      position_x: number;
      position_y: number;
    }>(
      `SELECT t.slug, t.category, p.slug AS parent, t.prerequisite_depth, t.depth_in_tree,
              t.age_groups, t.min_age_group, t.color, t.icon, t.position_x, t.position_y,
              ARRAY(SELECT pt.slug FROM unnest(t.prerequisites) WITH ORDINALITY u(id, ord)
                      JOIN topics pt ON pt.id = u.id ORDER BY u.ord) AS prerequisites
         FROM topics t LEFT JOIN topics p ON p.id = t.parent_topic_id`,
    );
    expect(rows.length).toBe(topics.length);
    expect(new Set(rows.map((r) => r.category))).toEqual(new Set(TOPIC_CATEGORIES));
    for (const row of rows) {
      const t = topicBySlug.get(row.slug);
      expect(t, row.slug).toBeDefined();
      expect(row).toMatchObject({
        parent: t?.parent,
        prerequisites: t?.prerequisites,
        prerequisite_depth: t?.prerequisite_depth,
        age_groups: t?.age_groups,
        min_age_group: t?.min_age_group,
        color: t?.color,
        icon: t?.icon,
        position_x: t?.position_x,
        position_y: t?.position_y,
      });
      const parentDepth = row.parent ? rows.find((r) => r.slug === row.parent)?.depth_in_tree : -1;
      expect(row.depth_in_tree, row.slug).toBe((parentDepth ?? -99) + 1);
    }
    for (const [, slug, , , , , , groups] of APPENDIX_B) {
      expect(rows.find((r) => r.slug === slug)?.age_groups).toEqual([...groups]);
    }

    // The database agrees there is no prerequisite cycle.
    const cycles = await db.pool.query(
      `WITH RECURSIVE walk(start_id, id, path) AS (
         SELECT t.id, p, ARRAY[t.id] FROM topics t, unnest(t.prerequisites) p
         UNION ALL
         SELECT w.start_id, p, w.path || w.id FROM walk w JOIN topics t ON t.id = w.id,
                unnest(t.prerequisites) p
          WHERE NOT w.id = ANY (w.path)
       )
       SELECT 1 FROM walk WHERE id = start_id`,
    );
    expect(cycles.rowCount).toBe(0);

    const conn = await db.pool.query<{
      from_slug: string;
      to_slug: string;
      connection_type: string;
    }>(
      `SELECT f.slug AS from_slug, t.slug AS to_slug, c.connection_type
         FROM topic_connections c JOIN topics f ON f.id = c.from_topic_id JOIN topics t ON t.id = c.to_topic_id`,
    );
    expect(conn.rows.length).toBe(connections.length);
    const stored = new Set(
      conn.rows.map((r) => `${r.from_slug}>${r.to_slug}>${r.connection_type}`),
    );
    for (const t of topics) {
      for (const p of t.prerequisites)
        expect(stored.has(`${p}>${t.slug}>prerequisite`), `${p}>${t.slug}`).toBe(true);
    }
  });

  it('has a curated spark for today and the next 6 days for every age group', async () => {
    const { rows } = await db.pool.query<{
      spark_date: string;
      age_group: AgeGroup;
      spark_type: string;
      question: string;
      hints: string[];
      follow_ups: string[];
      topic: string | null;
      difficulty: number;
      source: string;
      curator_notes: string;
    }>(
      `SELECT to_char(s.spark_date, 'YYYY-MM-DD') AS spark_date, s.age_group, s.spark_type,
              s.question, s.hints, s.follow_ups, t.slug AS topic, s.difficulty, s.source,
              s.curator_notes
         FROM brain_sparks s LEFT JOIN topics t ON t.id = s.topic_id`,
    );
    expect(rows.length).toBe(AGE_GROUPS.length * SEEDED_SPARK_DAYS);
    for (let day = 0; day < SEEDED_SPARK_DAYS; day++) {
      const date = addDays(TODAY, day);
      for (const group of AGE_GROUPS) {
        const row = rows.find((r) => r.spark_date === date && r.age_group === group);
        const expected = pickSparkForDate(bank, group, date);
        expect(row, `${group} on ${date}`).toEqual({
          spark_date: date,
          age_group: group,
          spark_type: expected.spark_type,
          question: expected.question,
          hints: expected.hints,
          follow_ups: expected.follow_ups,
          topic: expected.topic,
          difficulty: expected.difficulty,
          source: CURATED_SPARK_SOURCE,
          curator_notes: expected.key,
        });
      }
    }
  });

  it('keeps sparks that already exist and only fills the missing days', async () => {
    const date = addDays(TODAY, SEEDED_SPARK_DAYS); // first day after the seeded week
    await db.pool.query(
      `INSERT INTO brain_sparks (spark_date, age_group, spark_type, question, source)
       VALUES ($1, 'wonder_cubs', 'riddle', 'What has four legs in the morning?', 'ai_generated')`,
      [date],
    );
    const report = await seedDatabase(db.pool, { today: addDays(TODAY, 1) });
    expect(report.sparks.inserted).toBe(AGE_GROUPS.length - 1);
    const { rows } = await db.pool.query(
      'SELECT source, question FROM brain_sparks WHERE spark_date = $1 ORDER BY age_group',
      [date],
    );
    expect(rows).toHaveLength(AGE_GROUPS.length);
    expect(rows).toContainEqual({
      source: 'ai_generated',
      question: 'What has four legs in the morning?',
    });
  });

  it('puts back catalogue rows that drifted from the files', async () => {
    await db.pool.query(
      `UPDATE topics SET color = '#000000', prerequisites = '{}' WHERE slug = 'planets'`,
    );
    await db.pool.query(
      `UPDATE topic_connections SET strength = 'weak'
        WHERE from_topic_id = (SELECT id FROM topics WHERE slug = 'space')
          AND to_topic_id = (SELECT id FROM topics WHERE slug = 'planets')`,
    );
    const report = await seedDatabase(db.pool, { today: TODAY });
    expect(report.topics).toEqual({ inserted: 0, updated: 1 });
    expect(report.connections).toEqual({ inserted: 0, updated: 1 });
    const { rows } = await db.pool.query<{ color: string; prerequisites: string[] }>(
      `SELECT t.color, ARRAY(SELECT p.slug FROM topics p WHERE p.id = ANY (t.prerequisites)) AS prerequisites
         FROM topics t WHERE slug = 'planets'`,
    );
    expect(rows[0]).toEqual({ color: topicBySlug.get('planets')?.color, prerequisites: ['space'] });
  });

  it('runs in one transaction: a failure part-way leaves nothing half-done', async () => {
    await db.pool.query(`UPDATE topics SET color = '#000000' WHERE slug = 'moon'`);
    // A reverse line for space -> moon makes the connections step fail (one line per pair).
    await db.pool.query(
      `WITH pair AS (SELECT (SELECT id FROM topics WHERE slug = 'space') AS space,
                            (SELECT id FROM topics WHERE slug = 'moon') AS moon)
       DELETE FROM topic_connections c USING pair
        WHERE c.from_topic_id = pair.space AND c.to_topic_id = pair.moon`,
    );
    await db.pool.query(
      `INSERT INTO topic_connections (from_topic_id, to_topic_id)
       SELECT (SELECT id FROM topics WHERE slug = 'moon'), (SELECT id FROM topics WHERE slug = 'space')`,
    );
    await expect(seedDatabase(db.pool, { today: '2030-01-01' })).rejects.toThrow(
      /topic_connections_unique_pair/,
    );
    const colour = await db.pool.query(`SELECT color FROM topics WHERE slug = 'moon'`);
    expect(colour.rows[0]).toEqual({ color: '#000000' });
    const sparks = await db.pool.query(
      `SELECT 1 FROM brain_sparks WHERE spark_date >= '2030-01-01'`,
    );
    expect(sparks.rowCount).toBe(0);
  });

  it('refuses a date that is not YYYY-MM-DD', async () => {
    await expect(seedDatabase(db.pool, { today: '2026-02-30' })).rejects.toThrow(SeedDataError);
  });
});

describe('seedDatabase run concurrently', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('two seeds at once give the same rows as one', async () => {
    const reports = await Promise.all([
      seedDatabase(db.pool, { today: TODAY }),
      seedDatabase(db.pool, { today: TODAY }),
    ]);
    expect(reports.map((r) => r.topics.inserted).sort()).toEqual([0, topics.length]);
    const counts = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM topics) AS topics,
              (SELECT count(*)::int FROM topic_connections) AS connections,
              (SELECT count(*)::int FROM brain_sparks) AS sparks`,
    );
    expect(counts.rows[0]).toEqual({
      topics: topics.length,
      connections: connections.length,
      sparks: AGE_GROUPS.length * SEEDED_SPARK_DAYS,
    });
  });
});

describe('scripts/seed.ts', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', ...args], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, DATABASE_URL: db.url },
    });

  it('seeds DATABASE_URL for the given date and prints one JSON line', async () => {
    const { stdout } = await run(TODAY);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      severity: 'INFO',
      topics: { inserted: topics.length, updated: 0 },
      connections: { inserted: connections.length, updated: 0 },
      sparks: { inserted: AGE_GROUPS.length * SEEDED_SPARK_DAYS, from: TODAY },
    });
    const again = JSON.parse((await run(TODAY)).stdout);
    expect(again).toMatchObject({ topics: { inserted: 0, updated: 0 }, sparks: { inserted: 0 } });
  });

  it('exits non-zero with a message for a bad date', async () => {
    await expect(run('tomorrow')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('expected a YYYY-MM-DD date'),
    });
  });
});
