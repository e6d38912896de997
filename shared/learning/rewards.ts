// Rewards are decided by the server alone and stored as rows in `rewards`: stars (positive
// star_value), badges (earned once, enforced by the partial unique index), freezes, unlocks and
// cosmetics (bought with stars: negative star_value). The balance is the sum of star_value.
import { getDb } from '../db/client.ts';
import { type Sql, sql } from '../db/sql.ts';
import { inTransaction } from '../db/transaction.ts';
import { AppError } from '../errors.ts';
import type { Learner } from './learner.ts';

export const STARS = {
  /** A child answer that got a reply. */
  answer: 1,
  /** Extra for an answer that went deeper. */
  deeperAnswer: 1,
  ahaMoment: 3,
  /** Ending a conversation with at least CONVERSATION_COMPLETE_ANSWERS answers. */
  conversationComplete: 5,
  brainSpark: 10,
} as const;
export const CONVERSATION_COMPLETE_ANSWERS = 3;

export interface BadgeDefinition {
  id: string;
  name: string;
  description: string;
  icon: string;
}

export const BADGES: readonly BadgeDefinition[] = [
  {
    id: 'first_conversation',
    name: 'First Spark',
    description: 'Answered the tutor for the first time',
    icon: 'spark',
  },
  {
    id: 'streak_3',
    name: 'Warming Up',
    description: 'Explored 3 days in a row',
    icon: 'flame-small',
  },
  {
    id: 'streak_7',
    name: 'Week of Wonder',
    description: 'Explored 7 days in a row',
    icon: 'flame',
  },
  {
    id: 'streak_30',
    name: 'Curiosity Champion',
    description: 'Explored 30 days in a row',
    icon: 'flame-big',
  },
  {
    id: 'streak_100',
    name: 'Legendary Explorer',
    description: 'Explored 100 days in a row',
    icon: 'crown',
  },
  {
    id: 'first_depth_5',
    name: 'Deep Diver',
    description: 'Reached depth 5 in a topic',
    icon: 'anchor',
  },
  {
    id: 'topics_explored_5',
    name: 'Star Hopper',
    description: 'Explored 5 different topics',
    icon: 'constellation',
  },
  {
    id: 'all_categories',
    name: 'All-Rounder',
    description: 'Tried every kind of topic',
    icon: 'rainbow',
  },
];
export const STREAK_BADGES: ReadonlyArray<readonly [number, string]> = [
  [3, 'streak_3'],
  [7, 'streak_7'],
  [30, 'streak_30'],
  [100, 'streak_100'],
];

export interface Cosmetic {
  id: string;
  name: string;
  kind: 'avatar_accessory' | 'constellation_theme' | 'tutor_voice';
  price: number;
}

export const COSMETICS: readonly Cosmetic[] = [
  { id: 'hat_astronaut', name: 'Astronaut helmet', kind: 'avatar_accessory', price: 20 },
  { id: 'hat_wizard', name: 'Wizard hat', kind: 'avatar_accessory', price: 25 },
  { id: 'glasses_star', name: 'Star glasses', kind: 'avatar_accessory', price: 15 },
  { id: 'theme_aurora', name: 'Aurora sky', kind: 'constellation_theme', price: 40 },
  { id: 'theme_ocean', name: 'Deep ocean sky', kind: 'constellation_theme', price: 40 },
  { id: 'voice_robot', name: 'Robot voice', kind: 'tutor_voice', price: 30 },
];

export interface RewardsView {
  stars: number;
  badges: Array<BadgeDefinition & { earnedAt: string }>;
  freezesEarned: number;
  cosmetics: Array<Cosmetic & { boughtAt: string }>;
  unlocks: number;
}

/** Select-list items: the star balance and the non-star rewards, to map with `rewardsOf`. */
export function rewardsColumns(childId: string): Sql {
  return sql`
    (SELECT COALESCE(SUM(star_value), 0)::int FROM rewards WHERE child_id = ${childId}::uuid) AS reward_stars,
    (SELECT json_agg(json_build_object('reward_type', reward_type, 'reward_id', reward_id,
                                       'earned_at', earned_at) ORDER BY earned_at, id)
       FROM rewards WHERE child_id = ${childId}::uuid
        AND reward_type IN ('badge', 'freeze', 'cosmetic', 'unlock')) AS reward_rows`;
}

export interface RewardsColumns {
  reward_stars: number;
  reward_rows: Array<{ reward_type: string; reward_id: string; earned_at: string }> | null;
}

export function rewardsOf(read: RewardsColumns): RewardsView {
  const rows = read.reward_rows ?? [];
  const at = (r: { earned_at: string }) => new Date(r.earned_at).toISOString();
  const badges = rows.flatMap((r) => {
    const def = r.reward_type === 'badge' ? BADGES.find((b) => b.id === r.reward_id) : undefined;
    return def ? [{ ...def, earnedAt: at(r) }] : [];
  });
  const cosmetics = rows.flatMap((r) => {
    const def =
      r.reward_type === 'cosmetic' ? COSMETICS.find((c) => c.id === r.reward_id) : undefined;
    return def ? [{ ...def, boughtAt: at(r) }] : [];
  });
  return {
    stars: read.reward_stars,
    badges,
    freezesEarned: rows.filter((r) => r.reward_type === 'freeze').length,
    cosmetics,
    unlocks: rows.filter((r) => r.reward_type === 'unlock').length,
  };
}

/** Badges, freezes, cosmetics, unlocks and the star balance in one read. */
export async function getRewards(learner: Pick<Learner, 'childId'>): Promise<RewardsView> {
  const db = await getDb();
  const [read] = await db.$queryRaw<RewardsColumns[]>`SELECT ${rewardsColumns(learner.childId)}`;
  return rewardsOf(read ?? { reward_stars: 0, reward_rows: [] });
}

/**
 * Buys a cosmetic. Under the child's lock (the same key every write for the child takes, on
 * the canonical id) the balance is read and the purchase written in one statement, so
 * concurrent purchases cannot together spend more than the balance or buy one item twice.
 */
export async function purchaseCosmetic(
  learner: Pick<Learner, 'childId'>,
  itemId: string,
  actor: string,
  now: Date,
): Promise<{ item: Cosmetic; stars: number }> {
  const item = COSMETICS.find((c) => c.id === itemId);
  if (!item) throw new AppError('not_found', 'No such cosmetic');
  const childId = learner.childId;
  const [outcome] = await inTransaction(
    actor,
    (tx) =>
      tx.$queryRaw<Array<{ owned: boolean; balance: number; bought: boolean }>>`
        WITH s AS (
          SELECT EXISTS (SELECT 1 FROM rewards WHERE child_id = ${childId}::uuid
                           AND reward_type = 'cosmetic' AND reward_id = ${item.id}) AS owned,
                 (SELECT COALESCE(SUM(star_value), 0)::int FROM rewards
                   WHERE child_id = ${childId}::uuid) AS balance),
        bought AS (
          INSERT INTO rewards (child_id, reward_type, reward_id, star_value, trigger_type, earned_at, metadata)
          SELECT ${childId}::uuid, 'cosmetic', ${item.id}, ${-item.price}::int, 'purchase', ${now},
                 ${JSON.stringify({ price: item.price })}::jsonb
            FROM s WHERE NOT s.owned AND s.balance >= ${item.price}::int
          RETURNING id)
        SELECT s.owned, s.balance, EXISTS (SELECT 1 FROM bought) AS bought FROM s`,
    { lockKey: `child:${childId}` },
  );
  if (!outcome || outcome.owned) throw new AppError('already_owned', 'You already have this one');
  if (!outcome.bought) {
    throw new AppError('insufficient_stars', 'Not enough stars yet', {
      details: { stars: outcome.balance, price: item.price },
    });
  }
  return { item, stars: outcome.balance - item.price };
}
