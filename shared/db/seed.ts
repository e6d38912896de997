// Seed data for the constellation and the brain spark bank. The content lives as JSON in
// prisma/seed/ (reviewable by non-engineers); this module validates it and writes it
// idempotently: running the seed twice leaves exactly the same rows.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { z } from 'zod';
import { isoDate } from '../jobs/time.ts';
import { addDays } from '../learning/clock.ts';
import { bankSparksInsertSql } from '../learning/spark-bank.ts';
import { AGE_GROUPS, type AgeGroup } from '../learning/types.ts';

// One definition each (shared/learning): re-exported for the seed's and the rollout's callers.
export { AGE_GROUPS, type AgeGroup, addDays };

export const TOPIC_CATEGORIES = [
  'science',
  'humanities',
  'creative',
  'logic',
  'philosophy',
] as const;
export const SPARK_TYPES = [
  'riddle',
  'what_if',
  'mystery',
  'challenge',
  'debate',
  'philosophy',
] as const;
export const CONNECTION_STRENGTHS = ['weak', 'normal', 'strong'] as const;
/** prerequisite: unlock edge; branch: parent topic to child topic; related: any other link. */
export const CONNECTION_TYPES = ['prerequisite', 'branch', 'related'] as const;

export type SparkType = (typeof SPARK_TYPES)[number];

/** brain_sparks.source of rows taken from the bank; curator_notes holds the bank key. */
export const CURATED_SPARK_SOURCE = 'curated_bank';
/** Days of sparks the seed makes sure exist, starting today (matches brain-spark-rollout). */
export const SEEDED_SPARK_DAYS = 7;

export const defaultSeedDir = fileURLToPath(new URL('../../prisma/seed', import.meta.url));

const slug = z
  .string()
  .max(100)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lowercase words joined by hyphens');
const ageGroup = z.enum(AGE_GROUPS);
const sentence = z.string().trim().min(3);

export const seedTopicSchema = z.strictObject({
  slug,
  name: z.string().trim().min(1).max(100),
  description: sentence.max(300),
  category: z.enum(TOPIC_CATEGORIES),
  subcategory: z
    .string()
    .max(50)
    .regex(/^[a-z_]+$/),
  parent: slug.nullable(),
  prerequisites: z.array(slug),
  /** Depth a child must reach in every prerequisite before this topic unlocks. */
  prerequisite_depth: z.number().int().min(1).max(3),
  min_age_group: ageGroup.nullable(),
  age_groups: z.array(ageGroup).min(1),
  icon: z
    .string()
    .max(50)
    .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/),
  color: z.string().regex(/^#[0-9A-Fa-f]{6}$/, '#RRGGBB'),
  position_x: z.number().finite(),
  position_y: z.number().finite(),
});

export const seedConnectionSchema = z.strictObject({
  from: slug,
  to: slug,
  strength: z.enum(CONNECTION_STRENGTHS),
  connection_type: z.enum(CONNECTION_TYPES),
  description: sentence.max(300),
});

export const sparkBankEntrySchema = z.strictObject({
  key: slug,
  age_group: ageGroup,
  spark_type: z.enum(SPARK_TYPES),
  topic: slug.nullish().transform((v) => v ?? null),
  difficulty: z.number().int().min(1).max(5),
  question: sentence.max(400),
  hints: z.array(sentence.max(200)).min(2).max(3),
  follow_ups: z.array(sentence.max(200)).min(2).max(3),
});

export type SeedTopic = z.infer<typeof seedTopicSchema>;
export type SeedConnection = z.infer<typeof seedConnectionSchema>;
export type SparkBankEntry = z.infer<typeof sparkBankEntrySchema>;

export interface TopicCatalogue {
  topics: SeedTopic[];
  connections: SeedConnection[];
}

export class SeedDataError extends Error {
  override name = 'SeedDataError';
}

const ageRank = (group: AgeGroup): number => AGE_GROUPS.indexOf(group);

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SeedDataError(`${file}: ${(err as Error).message}`);
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 10)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new SeedDataError(`${file}: ${problems}`);
  }
  return result.data;
}

/** Returns the slugs of one cycle in `edges` (slug -> slugs it depends on), or undefined. */
export function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

// Referential rules the database cannot see in the JSON (slugs rather than ids), plus the
// product rule that a topic must be unlockable by every age group it is offered to.
function checkCatalogue({ topics, connections }: TopicCatalogue): string[] {
  const problems: string[] = [];
  const bySlug = new Map<string, SeedTopic>();
  for (const t of topics) {
    if (bySlug.has(t.slug)) problems.push(`duplicate topic slug ${t.slug}`);
    bySlug.set(t.slug, t);
  }
  for (const t of topics) {
    if (new Set(t.age_groups).size !== t.age_groups.length)
      problems.push(`${t.slug}: repeated age group`);
    if (t.min_age_group !== null) {
      const youngest = Math.min(...t.age_groups.map(ageRank));
      if (ageRank(t.min_age_group) !== youngest) {
        problems.push(`${t.slug}: min_age_group must be the youngest of its age_groups`);
      }
    }
    if (t.parent !== null) {
      if (t.parent === t.slug) problems.push(`${t.slug}: is its own parent`);
      else if (!bySlug.has(t.parent)) problems.push(`${t.slug}: unknown parent ${t.parent}`);
    }
    if (new Set(t.prerequisites).size !== t.prerequisites.length) {
      problems.push(`${t.slug}: repeated prerequisite`);
    }
    for (const p of t.prerequisites) {
      const prerequisite = bySlug.get(p);
      if (p === t.slug) problems.push(`${t.slug}: is its own prerequisite`);
      else if (!prerequisite) problems.push(`${t.slug}: unknown prerequisite ${p}`);
      else {
        const locked = t.age_groups.filter((g) => !prerequisite.age_groups.includes(g));
        if (locked.length > 0) {
          problems.push(`${t.slug}: prerequisite ${p} is not offered to ${locked.join(', ')}`);
        }
      }
    }
  }
  const prerequisiteCycle = findCycle(new Map(topics.map((t) => [t.slug, t.prerequisites])));
  if (prerequisiteCycle) problems.push(`prerequisite cycle: ${prerequisiteCycle.join(' -> ')}`);
  const parentCycle = findCycle(new Map(topics.map((t) => [t.slug, t.parent ? [t.parent] : []])));
  if (parentCycle) problems.push(`parent cycle: ${parentCycle.join(' -> ')}`);

  const pairs = new Map<string, SeedConnection>();
  for (const c of connections) {
    if (!bySlug.has(c.from)) problems.push(`connection from unknown topic ${c.from}`);
    if (!bySlug.has(c.to)) problems.push(`connection to unknown topic ${c.to}`);
    if (c.from === c.to) problems.push(`connection ${c.from} -> itself`);
    // The database allows one line per pair of topics, whichever its direction.
    const pair = [c.from, c.to].sort().join('|');
    if (pairs.has(pair)) problems.push(`connection ${c.from} - ${c.to} listed twice`);
    pairs.set(pair, c);
    if (c.connection_type === 'prerequisite' && !bySlug.get(c.to)?.prerequisites.includes(c.from)) {
      problems.push(`connection ${c.from} -> ${c.to} is typed prerequisite but is not one`);
    }
  }
  for (const t of topics) {
    for (const p of t.prerequisites) {
      const c = pairs.get([p, t.slug].sort().join('|'));
      if (!c || c.from !== p || c.connection_type !== 'prerequisite') {
        problems.push(`prerequisite ${p} -> ${t.slug} has no prerequisite connection`);
      }
    }
  }
  return problems;
}

/** The topics and connections of prisma/seed, validated; throws SeedDataError when invalid. */
export function loadTopicCatalogue(seedDir: string = defaultSeedDir): TopicCatalogue {
  const topicsFile = path.join(seedDir, 'topics.json');
  const connectionsFile = path.join(seedDir, 'connections.json');
  const catalogue: TopicCatalogue = {
    topics: parseOrThrow(z.array(seedTopicSchema), readJson(topicsFile), topicsFile),
    connections: parseOrThrow(
      z.array(seedConnectionSchema),
      readJson(connectionsFile),
      connectionsFile,
    ),
  };
  const problems = checkCatalogue(catalogue);
  if (problems.length > 0) throw new SeedDataError(`topic catalogue: ${problems.join('; ')}`);
  return catalogue;
}

/**
 * Every spark of prisma/seed/sparks/*.json, validated (unique keys, topics that exist and are
 * offered to the spark's age group); throws SeedDataError when invalid.
 */
export function loadSparkBank(seedDir: string = defaultSeedDir): SparkBankEntry[] {
  const sparksDir = path.join(seedDir, 'sparks');
  const files = readdirSync(sparksDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const bank = files.flatMap((f) => {
    const file = path.join(sparksDir, f);
    return parseOrThrow(z.array(sparkBankEntrySchema), readJson(file), file);
  });
  const topics = new Map(loadTopicCatalogue(seedDir).topics.map((t) => [t.slug, t]));
  const keys = new Set<string>();
  const problems: string[] = [];
  for (const spark of bank) {
    if (keys.has(spark.key)) problems.push(`duplicate spark key ${spark.key}`);
    keys.add(spark.key);
    if (spark.topic === null) continue;
    const topic = topics.get(spark.topic);
    if (!topic) problems.push(`${spark.key}: unknown topic ${spark.topic}`);
    else if (!topic.age_groups.includes(spark.age_group)) {
      problems.push(`${spark.key}: topic ${spark.topic} is not offered to ${spark.age_group}`);
    }
  }
  if (problems.length > 0) throw new SeedDataError(`spark bank: ${problems.join('; ')}`);
  return bank;
}

/**
 * The order in which an age group's bank entries are served: one of each spark type in turn
 * (riddle, what_if, ...), each type's entries by key, so consecutive days vary and the order
 * does not depend on how the files happen to be arranged.
 */
export function sparkRotation(bank: readonly SparkBankEntry[], group: AgeGroup): SparkBankEntry[] {
  const byType = SPARK_TYPES.map((type) =>
    bank
      .filter((s) => s.age_group === group && s.spark_type === type)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  );
  const longest = Math.max(0, ...byType.map((entries) => entries.length));
  const rotation: SparkBankEntry[] = [];
  for (let i = 0; i < longest; i++) {
    for (const entries of byType) {
      const entry = entries[i];
      if (entry) rotation.push(entry);
    }
  }
  return rotation;
}

function parseIsoDate(date: string): string {
  const result = isoDate.safeParse(date);
  if (!result.success) throw new SeedDataError(`expected a YYYY-MM-DD date, got "${date}"`);
  return result.data;
}

/** Days since 1970-01-01 of a YYYY-MM-DD date (calendar arithmetic, no time zone). */
export function dayNumber(date: string): number {
  const parsed = parseIsoDate(date);
  return Math.floor(Date.parse(`${parsed}T00:00:00Z`) / 86_400_000);
}

/** The bank entry an age group gets on a date: deterministic, the same on every run. */
export function pickSparkForDate(
  bank: readonly SparkBankEntry[],
  group: AgeGroup,
  date: string,
): SparkBankEntry {
  const rotation = sparkRotation(bank, group);
  const entry = rotation[dayNumber(date) % rotation.length];
  if (!entry) throw new SeedDataError(`the spark bank has no entries for ${group}`);
  return entry;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Inserts one bank spark per age group for each of `days` days from `from` (YYYY-MM-DD),
 * keeping any spark that already exists for that date and group. Returns how many were added.
 * Runs in the caller's transaction, if any.
 */
export async function insertBankSparks(
  db: Queryable,
  bank: readonly SparkBankEntry[],
  options: { from: string; days: number },
): Promise<number> {
  const rows = [];
  for (let offset = 0; offset < options.days; offset++) {
    const date = addDays(options.from, offset);
    for (const group of AGE_GROUPS) {
      const spark = pickSparkForDate(bank, group, date);
      rows.push({ ...spark, spark_date: date });
    }
  }
  // The one INSERT of bank sparks, shared with the rollout job and the requests.
  const insert = bankSparksInsertSql(rows);
  const { rowCount } = await db.query(insert.text, insert.values);
  return rowCount ?? 0;
}

function depthInTree(topics: readonly SeedTopic[]): Map<string, number> {
  const parents = new Map(topics.map((t) => [t.slug, t.parent]));
  const depths = new Map<string, number>();
  for (const t of topics) {
    let depth = 0;
    for (let p = t.parent; p !== null && p !== undefined; p = parents.get(p) ?? null) depth++;
    depths.set(t.slug, depth);
  }
  return depths;
}

export interface SeedCounts {
  inserted: number;
  updated: number;
}

export interface SeedReport {
  topics: SeedCounts;
  connections: SeedCounts;
  sparks: { inserted: number; from: string; days: number };
}

type SeedTarget = pg.Pool | pg.PoolClient | pg.Client;

const isPool = (db: SeedTarget): db is pg.Pool => 'totalCount' in db;

function countInsertedUpdated(rows: { inserted: boolean }[]): SeedCounts {
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, updated: rows.length - inserted };
}

async function seedInTransaction(client: Queryable, today: string): Promise<SeedReport> {
  const { topics, connections } = loadTopicCatalogue();
  const bank = loadSparkBank();

  // Concurrent seeds (two `npm start`s, a seed during deploy) queue instead of racing.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['brainspark:seed']);

  // Pass 1: the topics themselves. The WHERE keeps unchanged rows untouched (no updated_at
  // bump, no audit noise), which is what makes a second run a true no-op.
  const topicRows = await client.query<{ slug: string; inserted: boolean }>(
    `INSERT INTO topics
       (slug, name, description, category, subcategory, position_x, position_y,
        prerequisite_depth, min_age_group, age_groups, icon, color)
     SELECT t.slug, t.name, t.description, t.category, t.subcategory, t.position_x, t.position_y,
            t.prerequisite_depth, t.min_age_group, t.age_groups, t.icon, t.color
       FROM jsonb_to_recordset($1::jsonb) AS t(
              slug text, name text, description text, category text, subcategory text,
              position_x float8, position_y float8, prerequisite_depth int, min_age_group text,
              age_groups text[], icon text, color text)
     ON CONFLICT (slug) DO UPDATE SET
       name = EXCLUDED.name, description = EXCLUDED.description, category = EXCLUDED.category,
       subcategory = EXCLUDED.subcategory, position_x = EXCLUDED.position_x,
       position_y = EXCLUDED.position_y, prerequisite_depth = EXCLUDED.prerequisite_depth,
       min_age_group = EXCLUDED.min_age_group, age_groups = EXCLUDED.age_groups,
       icon = EXCLUDED.icon, color = EXCLUDED.color
     WHERE (topics.name, topics.description, topics.category, topics.subcategory,
            topics.position_x, topics.position_y, topics.prerequisite_depth,
            topics.min_age_group, topics.age_groups, topics.icon, topics.color)
       IS DISTINCT FROM
           (EXCLUDED.name, EXCLUDED.description, EXCLUDED.category, EXCLUDED.subcategory,
            EXCLUDED.position_x, EXCLUDED.position_y, EXCLUDED.prerequisite_depth,
            EXCLUDED.min_age_group, EXCLUDED.age_groups, EXCLUDED.icon, EXCLUDED.color)
     RETURNING topics.slug, (xmax = 0) AS inserted`,
    [JSON.stringify(topics)],
  );

  // Pass 2: now that every topic has an id, turn parent and prerequisite slugs into ids
  // (prerequisites keep the order of the file).
  const depths = depthInTree(topics);
  const links = topics.map((t) => ({
    slug: t.slug,
    parent: t.parent,
    prerequisites: t.prerequisites,
    depth_in_tree: depths.get(t.slug) ?? 0,
  }));
  const linkRows = await client.query<{ slug: string }>(
    `WITH src AS (
       SELECT s.slug, s.parent, s.prerequisites, s.depth_in_tree
         FROM jsonb_to_recordset($1::jsonb) AS s(
                slug text, parent text, prerequisites text[], depth_in_tree int)
     ), resolved AS (
       SELECT t.id, p.id AS parent_id, s.depth_in_tree,
              COALESCE(
                (SELECT array_agg(pt.id ORDER BY u.ord)
                   FROM unnest(s.prerequisites) WITH ORDINALITY AS u(slug, ord)
                   JOIN topics pt ON pt.slug = u.slug),
                '{}'::uuid[]) AS prerequisite_ids
         FROM src s
         JOIN topics t ON t.slug = s.slug
         LEFT JOIN topics p ON p.slug = s.parent
     )
     UPDATE topics
        SET parent_topic_id = r.parent_id, prerequisites = r.prerequisite_ids,
            depth_in_tree = r.depth_in_tree
       FROM resolved r
      WHERE topics.id = r.id
        AND (topics.parent_topic_id, topics.prerequisites, topics.depth_in_tree)
            IS DISTINCT FROM (r.parent_id, r.prerequisite_ids, r.depth_in_tree)
     RETURNING topics.slug`,
    [JSON.stringify(links)],
  );
  // Inserted topics also get their links in pass 2; they count once, as inserted.
  const inserted = new Set(topicRows.rows.filter((r) => r.inserted).map((r) => r.slug));
  const updated = new Set(
    [...topicRows.rows.filter((r) => !r.inserted), ...linkRows.rows]
      .map((r) => r.slug)
      .filter((s) => !inserted.has(s)),
  );

  const connectionRows = await client.query<{ inserted: boolean }>(
    `INSERT INTO topic_connections (from_topic_id, to_topic_id, strength, connection_type, description)
     SELECT f.id, t.id, c.strength, c.connection_type, c.description
       FROM jsonb_to_recordset($1::jsonb) AS c(
              "from" text, "to" text, strength text, connection_type text, description text)
       JOIN topics f ON f.slug = c."from"
       JOIN topics t ON t.slug = c."to"
     ON CONFLICT (from_topic_id, to_topic_id) DO UPDATE SET
       strength = EXCLUDED.strength, connection_type = EXCLUDED.connection_type,
       description = EXCLUDED.description
     WHERE (topic_connections.strength, topic_connections.connection_type,
            topic_connections.description)
       IS DISTINCT FROM (EXCLUDED.strength, EXCLUDED.connection_type, EXCLUDED.description)
     RETURNING (xmax = 0) AS inserted`,
    [JSON.stringify(connections)],
  );

  const sparksInserted = await insertBankSparks(client, bank, {
    from: today,
    days: SEEDED_SPARK_DAYS,
  });

  return {
    topics: { inserted: inserted.size, updated: updated.size },
    connections: countInsertedUpdated(connectionRows.rows),
    sparks: { inserted: sparksInserted, from: today, days: SEEDED_SPARK_DAYS },
  };
}

/**
 * Seeds topics, connections and a week of brain sparks in one transaction. Idempotent: a
 * second run inserts and updates nothing. Given a pool it takes one client for the whole
 * transaction (PGlite's pool has a single connection); given a client it must not already be
 * inside a transaction. `today` (YYYY-MM-DD, default: the UTC date) is the first spark date.
 */
export async function seedDatabase(
  db: SeedTarget,
  options: { today?: string } = {},
): Promise<SeedReport> {
  const today = parseIsoDate(options.today ?? new Date().toISOString().slice(0, 10));
  const client = isPool(db) ? await db.connect() : db;
  try {
    await client.query('BEGIN');
    try {
      const report = await seedInTransaction(client, today);
      await client.query('COMMIT');
      return report;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  } finally {
    if (isPool(db)) (client as pg.PoolClient).release();
  }
}
