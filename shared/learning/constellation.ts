// The constellation: which topics a child can see (age_groups and min_age_group), which are
// unlocked (no prerequisites, or every prerequisite at prerequisite_depth for this child), and
// the moment of unlocking recorded once in progress.unlocked_at with an 'unlock' reward.
import { getDb, type Topic } from '../db/client.ts';
import { raw } from '../db/sql.ts';
import type { Learner } from './learner.ts';
import type { AgeGroup, Category } from './types.ts';
import { ageGroupRank } from './types.ts';

export const MASTERY_DEPTH = 8;

/**
 * A topic as read with TOPIC_COLUMNS: the generated model's fields, with its category and age
 * groups given their enumerations.
 */
export type TopicRow = Pick<
  Topic,
  | 'id'
  | 'slug'
  | 'name'
  | 'description'
  | 'subcategory'
  | 'parentTopicId'
  | 'positionX'
  | 'positionY'
  | 'prerequisites'
  | 'prerequisiteDepth'
  | 'icon'
  | 'color'
> & {
  category: Category;
  minAgeGroup: AgeGroup | null;
  ageGroups: AgeGroup[];
};

/** The columns of a TopicRow, named as the model names them (a constant: `raw` inlines it). */
const TOPIC_COLUMNS = raw(`id, slug, name, description, category, subcategory,
  parent_topic_id AS "parentTopicId", position_x AS "positionX", position_y AS "positionY",
  prerequisites, prerequisite_depth AS "prerequisiteDepth", min_age_group AS "minAgeGroup",
  age_groups AS "ageGroups", icon, color`);

export function isVisibleTo(
  topic: Pick<TopicRow, 'ageGroups' | 'minAgeGroup'>,
  group: AgeGroup,
): boolean {
  return (
    topic.ageGroups.includes(group) &&
    (topic.minAgeGroup === null || ageGroupRank(group) >= ageGroupRank(topic.minAgeGroup))
  );
}

/** Pure rule: unlocked when there are no prerequisites or each reached prerequisiteDepth. */
export function isUnlocked(
  topic: Pick<TopicRow, 'prerequisites' | 'prerequisiteDepth'>,
  depthByTopic: ReadonlyMap<string, number>,
): boolean {
  return topic.prerequisites.every((p) => (depthByTopic.get(p) ?? 0) >= topic.prerequisiteDepth);
}

export interface ConstellationStar {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  category: Category;
  icon: string;
  color: string;
  position: { x: number; y: number };
  prerequisites: string[];
  prerequisiteDepth: number;
  unlocked: boolean;
  unlockedAt: string | null;
  depth: number;
  mastered: boolean;
}

export interface Constellation {
  ageGroup: AgeGroup;
  topics: ConstellationStar[];
  connections: Array<{ from: string; to: string; strength: string; type: string }>;
}

/** The topics an age group sees, in slug order. */
export async function visibleTopics(group: AgeGroup): Promise<TopicRow[]> {
  const db = await getDb();
  const rows = await db.$queryRaw<TopicRow[]>`
    SELECT ${TOPIC_COLUMNS} FROM topics WHERE ${group} = ANY (age_groups) ORDER BY slug`;
  return rows.filter((t) => isVisibleTo(t, group));
}

interface ProgressFacts {
  topic_id: string;
  depth_level: number;
  unlocked_at: string | null;
  mastered_at: string | null;
}

/**
 * The child's constellation in one read: the age group's topics, the child's progress and
 * the connections between them. Topics that are unlocked but not yet recorded (the roots, the
 * first time they show) are recorded in one more statement, atomic on its own: no transaction
 * on this read route, and a topic already recorded (by a concurrent read or a message) keeps
 * its moment and its single 'unlock' reward.
 */
export async function constellationFor(learner: Learner, now: Date): Promise<Constellation> {
  const db = await getDb();
  const [read] = await db.$queryRaw<
    Array<{
      topics: TopicRow[];
      progress: ProgressFacts[];
      connections: Array<{ from: string; to: string; strength: string; type: string }>;
    }>
  >`
    WITH t AS (
      SELECT ${TOPIC_COLUMNS} FROM topics WHERE ${learner.ageGroup} = ANY (age_groups))
    SELECT COALESCE((SELECT json_agg(t ORDER BY t.slug) FROM t), '[]') AS topics,
           COALESCE((SELECT json_agg(json_build_object('topic_id', p.topic_id, 'depth_level', p.depth_level,
                                                       'unlocked_at', p.unlocked_at, 'mastered_at', p.mastered_at))
                       FROM progress p WHERE p.child_id = ${learner.childId}::uuid), '[]') AS progress,
           COALESCE((SELECT json_agg(json_build_object('from', c.from_topic_id, 'to', c.to_topic_id,
                                                       'strength', c.strength, 'type', c.connection_type))
                       FROM topic_connections c
                      WHERE c.from_topic_id IN (SELECT id FROM t) AND c.to_topic_id IN (SELECT id FROM t)),
                    '[]') AS connections`;
  const topics = (read?.topics ?? []).filter((t) => isVisibleTo(t, learner.ageGroup));
  const progress = new Map((read?.progress ?? []).map((p) => [p.topic_id, p]));
  const depth = new Map([...progress].map(([id, p]) => [id, p.depth_level]));
  const due = topics
    .filter((t) => !progress.get(t.id)?.unlocked_at && isUnlocked(t, depth))
    .map((t) => t.id);
  const recorded = new Map<string, string>();
  if (due.length > 0) {
    const rows = await db.$queryRaw<Array<{ topic_id: string; unlocked_at: Date }>>`
      WITH up AS (
        INSERT INTO progress (child_id, topic_id, unlocked_at)
        SELECT ${learner.childId}::uuid, unnest(${due}::uuid[]), ${now}
        ON CONFLICT (child_id, topic_id) DO UPDATE SET unlocked_at = EXCLUDED.unlocked_at
          WHERE progress.unlocked_at IS NULL
        RETURNING topic_id, unlocked_at),
      reward AS (
        INSERT INTO rewards (child_id, reward_type, reward_id, trigger_type, trigger_id, earned_at)
        SELECT ${learner.childId}::uuid, 'unlock', t.slug, 'topic', t.id, ${now}
          FROM topics t JOIN up ON up.topic_id = t.id)
      SELECT topic_id, unlocked_at FROM up`;
    for (const r of rows) recorded.set(r.topic_id, r.unlocked_at.toISOString());
  }
  const visible = new Set(topics.map((t) => t.id));
  return {
    ageGroup: learner.ageGroup,
    topics: topics.map((t) => {
      const p = progress.get(t.id);
      const unlockedAt = p?.unlocked_at ?? recorded.get(t.id) ?? null;
      return {
        id: t.id,
        slug: t.slug,
        name: t.name,
        description: t.description,
        category: t.category,
        icon: t.icon,
        color: t.color,
        position: { x: t.positionX, y: t.positionY },
        prerequisites: t.prerequisites,
        prerequisiteDepth: t.prerequisiteDepth,
        unlocked: isUnlocked(t, depth),
        unlockedAt: unlockedAt === null ? null : new Date(unlockedAt).toISOString(),
        depth: p?.depth_level ?? 0,
        mastered: Boolean(p?.mastered_at),
      };
    }),
    connections: (read?.connections ?? []).filter((c) => visible.has(c.from) && visible.has(c.to)),
  };
}

export async function catalogue(group: AgeGroup) {
  const topics = await visibleTopics(group);
  return topics.map((t) => ({
    id: t.id,
    slug: t.slug,
    name: t.name,
    description: t.description,
    category: t.category,
    subcategory: t.subcategory,
    icon: t.icon,
    color: t.color,
    position: { x: t.positionX, y: t.positionY },
    prerequisites: t.prerequisites,
    prerequisiteDepth: t.prerequisiteDepth,
    minAgeGroup: t.minAgeGroup,
  }));
}
