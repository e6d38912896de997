// Opt-in streak leaderboard per age group. Private by default: only children whose parent
// opted them in appear, and only as avatar + generated nickname. PostgreSQL is the truth; the
// ranking is cached in Redis for a minute when Redis is configured.
import { randomInt } from 'node:crypto';
import { config } from '../config.ts';
import { getDb } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
import { getRedis } from '../redis.ts';
import { redisFailed, redisSucceeded, usableRedis } from '../redis-breaker.ts';
import type { Learner } from './learner.ts';
import type { AgeGroup } from './types.ts';

export const LEADERBOARD_SIZE = 50;
const CACHE_SECONDS = 60;

const ADJECTIVES = [
  'Brave',
  'Curious',
  'Clever',
  'Bright',
  'Swift',
  'Cosmic',
  'Happy',
  'Mighty',
  'Gentle',
  'Sparkly',
  'Wise',
  'Bold',
];
const ANIMALS = [
  'Otter',
  'Falcon',
  'Panda',
  'Comet',
  'Fox',
  'Owl',
  'Dolphin',
  'Koala',
  'Lynx',
  'Narwhal',
  'Tiger',
  'Penguin',
];

export function generateNickname(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}${ANIMALS[randomInt(ANIMALS.length)]}${randomInt(10, 100)}`;
}

const cacheKeyFor = (group: AgeGroup) => `${config().CACHE_KEY_PREFIX}leaderboard:v1:${group}`;

export interface LeaderboardEntry {
  rank: number;
  nickname: string;
  avatarId: string;
  currentStreak: number;
  isYou: boolean;
}

interface Row {
  child_id: string;
  nickname: string;
  avatar_id: string;
  current_streak: number;
}

async function ranking(group: AgeGroup): Promise<Row[]> {
  const cacheKey = cacheKeyFor(group);
  const redis = usableRedis(await getRedis().catch(() => null));
  if (redis) {
    try {
      const cached = await redis.get(cacheKey);
      redisSucceeded(redis);
      if (cached) return JSON.parse(cached) as Row[];
    } catch (err) {
      redisFailed(redis, err);
    }
  }
  const db = await getDb();
  const rows = await db.$queryRaw<Row[]>`
    SELECT c.id AS child_id, c.nickname, c.avatar_id, s.current_streak
      FROM children c JOIN streaks s ON s.child_id = c.id
     WHERE c.leaderboard_opt_in AND c.deleted_at IS NULL AND c.nickname IS NOT NULL
       AND c.age_group = ${group} AND s.current_streak > 0
     ORDER BY s.current_streak DESC, s.updated_at ASC, c.id
     LIMIT ${LEADERBOARD_SIZE}::int`;
  if (redis) {
    await redis
      .set(cacheKey, JSON.stringify(rows), 'EX', CACHE_SECONDS)
      .catch((err: unknown) => redisFailed(redis, err));
  }
  return rows;
}

export async function leaderboardFor(learner: Learner) {
  const rows = await ranking(learner.ageGroup);
  let rank = 0;
  let previous: number | undefined;
  const entries: LeaderboardEntry[] = rows.map((r, i) => {
    if (r.current_streak !== previous) rank = i + 1;
    previous = r.current_streak;
    return {
      rank,
      nickname: r.nickname,
      avatarId: r.avatar_id,
      currentStreak: r.current_streak,
      isYou: r.child_id === learner.childId,
    };
  });
  return {
    ageGroup: learner.ageGroup,
    optedIn: learner.leaderboardOptIn,
    nickname: learner.nickname,
    entries,
  };
}

export async function setLeaderboardOptIn(learner: Learner, optIn: boolean, actor: string) {
  // In a transaction for the audit trail's actor (children is audited).
  const rows = await inTransaction(
    actor,
    (tx) => tx.$queryRaw<Array<{ leaderboard_opt_in: boolean; nickname: string | null }>>`
      UPDATE children
         SET leaderboard_opt_in = ${optIn},
             nickname = CASE WHEN ${optIn} THEN COALESCE(nickname, ${generateNickname()}) ELSE nickname END
       WHERE id = ${learner.childId}::uuid
      RETURNING leaderboard_opt_in, nickname`,
  );
  const redis = usableRedis(await getRedis().catch(() => null));
  await redis?.del(cacheKeyFor(learner.ageGroup)).catch(() => undefined);
  return { optedIn: rows[0]?.leaderboard_opt_in ?? optIn, nickname: rows[0]?.nickname ?? null };
}
