// Settling a child's activity: stars, the streak (once per local day), a streak freeze every
// FREEZE_EVERY_DAYS, milestone badges and the day's daily_activity row. One module for the three
// callers (a message, the end of a conversation, a completed brain spark).
//
// How it stays at one write statement: the route reads the child's facts (settleFactsSql) in
// its one read before the tutor is asked, decides everything in TypeScript with the same pure
// rules as before (applyActivity, the badge rules), and writes in one data-modifying statement
// gated on a guard: the rows the decision was made from (streak, today's activity, the
// conversation) still carry the versions (xmin) that were read. The guard takes the child's lock
// before it checks (childWriteGuardSql), so the write needs no transaction around it; when the
// guard fails nothing was written and the caller reads again under the lock (then nothing can
// change) and writes again (runGuardedWrite).
import { markSessionChecked, sessionCheckSql } from '../../auth/session.ts';
import { getDb, type Tx } from '../../db/client.ts';
import { DB_LIMITS } from '../../db/resilience.ts';
import { empty, join, raw, type Sql, sql } from '../../db/sql.ts';
import { inTransaction } from '../../db/transaction.ts';
import { AppError } from '../../errors.ts';
import { type ActivityDelta, dailyActivitySql } from '../activity.ts';
import { isUnlocked, isVisibleTo } from '../constellation.ts';
import { childLockKey, type Learner } from '../learner.ts';
import { CONVERSATION_COMPLETE_ANSWERS, STARS, STREAK_BADGES } from '../rewards.ts';
import { applyActivity, type StreakHistoryEntry, type StreakState } from '../streaks.ts';
import type { AgeGroup, Category } from '../types.ts';

export { CONVERSATION_COMPLETE_ANSWERS, STARS };

export interface ProgressFact {
  topicId: string;
  depth: number;
  unlocked: boolean;
  questions: number;
  depth5: boolean;
  category: Category;
}

export interface TopicFact {
  id: string;
  slug: string;
  category: Category;
  prerequisites: string[];
  prerequisiteDepth: number;
  minAgeGroup: AgeGroup | null;
  ageGroups: AgeGroup[];
}

/** What settling decides from: read in the route's one read statement (settleFactsSql). */
export interface SettleFacts {
  streak: StreakState;
  streakVersion: string | null;
  /** The versions of the child's progress rows (unlocks and badges are decided from them). */
  progressVersion: string | null;
  activity: {
    version: string | null;
    questionsAsked: number;
    conversationsStarted: number;
    totalTimeSeconds: number;
    brainSparkCompleted: boolean;
  };
  badgesHeld: string[];
  /** Some conversation of the child has an answer. */
  answered: boolean;
  progress: ProgressFact[];
  /** The topics the child's age group is offered. */
  topics: TopicFact[];
}

interface StreakJson {
  version: string;
  current: number;
  longest: number;
  last: string | null;
  freezes: number;
  history: StreakHistoryEntry[] | null;
}

interface ActivityJson {
  version: string;
  questionsAsked: number;
  conversationsStarted: number;
  totalTimeSeconds: number;
  brainSparkCompleted: boolean;
}

/** Raw columns of settleFactsSql, to be mapped with settleFactsOf. */
export interface SettleFactsRow {
  settle_streak: StreakJson | null;
  settle_activity: ActivityJson | null;
  settle_badges: string[];
  settle_answered: boolean;
  settle_progress: ProgressFact[] | null;
  settle_topics: TopicFact[] | null;
  settle_progress_version: string | null;
}

/** Select-list items (prefixed settle_) reading a child's facts for `today`. */
export function settleFactsSql(childId: string, ageGroup: AgeGroup, today: string): Sql {
  return sql`
    (SELECT json_build_object('version', s.xmin::text, 'current', s.current_streak, 'longest', s.longest_streak,
              'last', to_char(s.last_activity_date, 'YYYY-MM-DD'), 'freezes', s.streak_freezes_available,
              'history', s.streak_history)
       FROM streaks s WHERE s.child_id = ${childId}::uuid) AS settle_streak,
    (SELECT json_build_object('version', d.xmin::text, 'questionsAsked', d.questions_asked,
              'conversationsStarted', d.conversations_started, 'totalTimeSeconds', d.total_time_seconds,
              'brainSparkCompleted', d.brain_spark_completed)
       FROM daily_activity d WHERE d.child_id = ${childId}::uuid AND d.activity_date = ${today}::date) AS settle_activity,
    ARRAY(SELECT r.reward_id::text FROM rewards r
           WHERE r.child_id = ${childId}::uuid AND r.reward_type = 'badge') AS settle_badges,
    EXISTS (SELECT 1 FROM conversations c WHERE c.child_id = ${childId}::uuid AND c.questions_asked > 0) AS settle_answered,
    (SELECT json_agg(json_build_object('topicId', p.topic_id, 'depth', p.depth_level,
              'unlocked', p.unlocked_at IS NOT NULL, 'questions', p.questions_asked,
              'depth5', p.first_depth_5_at IS NOT NULL, 'category', t.category))
       FROM progress p JOIN topics t ON t.id = p.topic_id WHERE p.child_id = ${childId}::uuid) AS settle_progress,
    (SELECT json_agg(json_build_object('id', t.id, 'slug', t.slug, 'category', t.category,
              'prerequisites', t.prerequisites, 'prerequisiteDepth', t.prerequisite_depth,
              'minAgeGroup', t.min_age_group, 'ageGroups', t.age_groups) ORDER BY t.slug)
       FROM topics t WHERE ${ageGroup}::text = ANY (t.age_groups)) AS settle_topics,
    (SELECT string_agg(p.xmin::text, ',' ORDER BY p.id) FROM progress p
      WHERE p.child_id = ${childId}::uuid) AS settle_progress_version`;
}

export function settleFactsOf(row: SettleFactsRow, ageGroup: AgeGroup): SettleFacts {
  const s = row.settle_streak;
  const a = row.settle_activity;
  return {
    streak: s
      ? {
          current: s.current,
          longest: s.longest,
          lastActivityDate: s.last,
          freezes: s.freezes,
          history: Array.isArray(s.history) ? s.history : [],
        }
      : { current: 0, longest: 0, lastActivityDate: null, freezes: 0, history: [] },
    streakVersion: s?.version ?? null,
    progressVersion: row.settle_progress_version,
    activity: a
      ? {
          version: a.version,
          questionsAsked: a.questionsAsked,
          conversationsStarted: a.conversationsStarted,
          totalTimeSeconds: a.totalTimeSeconds,
          brainSparkCompleted: a.brainSparkCompleted,
        }
      : {
          version: null,
          questionsAsked: 0,
          conversationsStarted: 0,
          totalTimeSeconds: 0,
          brainSparkCompleted: false,
        },
    badgesHeld: row.settle_badges,
    answered: row.settle_answered,
    progress: row.settle_progress ?? [],
    topics: (row.settle_topics ?? []).filter((t) => isVisibleTo(t, ageGroup)),
  };
}

/** The tutor's messages today: one opener per conversation started and one reply per answer. */
export const tutorMessagesToday = (facts: SettleFacts): number =>
  facts.activity.conversationsStarted + facts.activity.questionsAsked;

/**
 * The guard of a write planned from a read made without the child's lock: in the database,
 * `child_write_guard()` (migration 20261202000400) names the actor, takes the child's lock (at
 * most the lock timeout) and only then checks, with a snapshot taken after the lock, that the
 * settle facts, and the conversation and the Idempotency-Key when given, are as read. So the
 * write is safe as a statement of its own, and inside a transaction that holds the lock already.
 * A session check not yet made rides along (it raises if the sign-in ended).
 */
export function childWriteGuardSql(
  actor: string,
  learner: Pick<Learner, 'childId'>,
  today: string,
  facts: SettleFacts,
  also: { conversation?: { id: string; version: string | null }; idempotencyKey?: string } = {},
): Sql {
  const check = sessionCheckSql();
  return sql`child_write_guard(${actor}::text, ${childLockKey(learner)}::text,
      ${`${DB_LIMITS.lockTimeoutMs}ms`}::text, ${learner.childId}::uuid, ${today}::date,
      ${facts.streakVersion}::text, ${facts.activity.version}::text, ${facts.progressVersion}::text,
      ${also.conversation?.id ?? null}::uuid, ${also.conversation?.version ?? null}::text,
      ${also.idempotencyKey ?? null}::text)${check ? sql` AND ${check}` : empty}`;
}

/** Topics unlocked by the depths in `progress` that have no unlocked_at yet (syncUnlocks' rule). */
export function dueUnlocks(
  topics: readonly TopicFact[],
  progress: readonly ProgressFact[],
): TopicFact[] {
  const depth = new Map(progress.map((p) => [p.topicId, p.depth]));
  const unlocked = new Set(progress.filter((p) => p.unlocked).map((p) => p.topicId));
  return topics.filter((t) => !unlocked.has(t.id) && isUnlocked(t, depth));
}

/** awardMilestoneBadges' rule, on facts. */
export function milestoneBadgesDue(facts: SettleFacts, streak: number): string[] {
  const answered = facts.progress.filter((p) => p.questions > 0);
  const due: string[] = [];
  if (facts.answered) due.push('first_conversation');
  for (const [days, badge] of STREAK_BADGES) if (streak >= days) due.push(badge);
  if (facts.progress.some((p) => p.depth5)) due.push('first_depth_5');
  if (answered.length >= 5) due.push('topics_explored_5');
  const available = new Set(facts.topics.map((t) => t.category));
  const explored = new Set(answered.map((p) => p.category));
  if (available.size > 0 && [...available].every((c) => explored.has(c)))
    due.push('all_categories');
  return due.filter((b) => !facts.badgesHeld.includes(b));
}

export interface Trigger {
  type: string;
  id?: string | null;
}

export interface RewardRow {
  type: 'star' | 'badge' | 'freeze';
  rewardId: string;
  stars?: number;
  trigger: Trigger;
  metadata?: Record<string, unknown>;
}

export interface StreakView {
  current: number;
  longest: number;
  countedToday: boolean;
  freezes: number;
  freezeEarned: boolean;
}

export interface SettleInput {
  /** Counts for the streak (and so for badges): a meaningful answer, a completed spark. */
  countsForStreak: boolean;
  stars: Array<{
    rewardId: string;
    stars: number;
    trigger: Trigger;
    metadata?: Record<string, unknown>;
  }>;
  badgeTrigger: Trigger;
  /** The route's own counters for today (stars and badges are added here). */
  activity: ActivityDelta;
  /** Write today's activity row even when the delta is empty. */
  alwaysTouchActivity?: boolean;
}

export interface Settlement {
  starsEarned: number;
  badgesEarned: string[];
  streak: StreakView;
  /** Data-modifying CTE bodies, each gated on the `guard` CTE. */
  writes: Sql[];
}

/** Decides stars, streak, freeze and badges from `facts` (already reflecting the route's own
 * changes to progress and answers) and returns the writes. */
export function settle(
  childId: string,
  today: string,
  now: Date,
  facts: SettleFacts,
  input: SettleInput,
): Settlement {
  const rewards: RewardRow[] = [];
  let starsEarned = 0;
  for (const s of input.stars) {
    if (s.stars <= 0) continue;
    starsEarned += s.stars;
    rewards.push({
      type: 'star',
      rewardId: s.rewardId,
      stars: s.stars,
      trigger: s.trigger,
      metadata: s.metadata ?? {},
    });
  }
  const writes: Sql[] = [];
  let streak: StreakView = {
    current: 0,
    longest: 0,
    countedToday: false,
    freezes: 0,
    freezeEarned: false,
  };
  let badgesEarned: string[] = [];
  if (input.countsForStreak) {
    const outcome = applyActivity(facts.streak, today);
    const state = outcome.state;
    if (outcome.incremented) {
      // The WHERE repeats the once-a-day rule in SQL, so even a writer without the lock cannot
      // count a day twice.
      writes.push(sql`INSERT INTO streaks (child_id, current_streak, longest_streak, last_activity_date,
            streak_freezes_available, streak_history)
          SELECT ${childId}::uuid, ${state.current}::int, ${state.longest}::int, ${today}::date,
                 ${state.freezes}::int, ${JSON.stringify(state.history)}::jsonb FROM guard
          ON CONFLICT (child_id) DO UPDATE SET current_streak = EXCLUDED.current_streak,
            longest_streak = EXCLUDED.longest_streak, last_activity_date = EXCLUDED.last_activity_date,
            streak_freezes_available = EXCLUDED.streak_freezes_available, streak_history = EXCLUDED.streak_history
          WHERE streaks.last_activity_date IS NULL OR streaks.last_activity_date < EXCLUDED.last_activity_date`);
    }
    if (outcome.freezeEarned) {
      rewards.push({
        type: 'freeze',
        rewardId: 'streak_freeze',
        trigger: { type: 'streak' },
        metadata: { streak: state.current },
      });
    }
    streak = {
      current: state.current,
      longest: state.longest,
      countedToday: state.lastActivityDate === today,
      freezes: state.freezes,
      freezeEarned: outcome.freezeEarned,
    };
    badgesEarned = milestoneBadgesDue(facts, state.current);
    for (const badge of badgesEarned)
      rewards.push({ type: 'badge', rewardId: badge, trigger: input.badgeTrigger });
  }
  if (rewards.length > 0) writes.push(rewardsInsertSql(childId, now, rewards));
  const delta: ActivityDelta = {
    ...input.activity,
    starsEarned: (input.activity.starsEarned ?? 0) + starsEarned,
    badgesEarned: [...(input.activity.badgesEarned ?? []), ...badgesEarned],
  };
  const nothing = Object.values(delta).every(
    (v) => v === undefined || v === 0 || v === false || (Array.isArray(v) && v.length === 0),
  );
  if (!nothing || input.alwaysTouchActivity)
    writes.push(dailyActivitySql(childId, today, delta, sql`guard`));
  return { starsEarned, badgesEarned, streak, writes };
}

/** One INSERT for every reward row; a badge already held is skipped by its unique index. */
export function rewardsInsertSql(childId: string, now: Date, rows: readonly RewardRow[]): Sql {
  const values = join(
    rows.map(
      (r) =>
        sql`(${r.type}::text, ${r.rewardId}::text, ${r.stars ?? 0}::int, ${r.trigger.type}::text,
             ${r.trigger.id ?? null}::uuid, ${JSON.stringify(r.metadata ?? {})}::jsonb)`,
    ),
  );
  return sql`INSERT INTO rewards (child_id, reward_type, reward_id, star_value, trigger_type, trigger_id, earned_at, metadata)
    SELECT ${childId}::uuid, v.reward_type, v.reward_id, v.star_value, v.trigger_type, v.trigger_id,
           ${now}::timestamptz, v.metadata
      FROM guard, (VALUES ${values}) AS v(reward_type, reward_id, star_value, trigger_type, trigger_id, metadata)
    ON CONFLICT (child_id, reward_type, reward_id) WHERE reward_type = 'badge' DO NOTHING`;
}

/** A data-modifying CTE body with a name other parts of the statement read from. */
export interface NamedWrite {
  name: string;
  body: Sql;
}

/**
 * The progress write of the conversation's own topic must be named this and return
 * `topic_id, unlocked_now` (unlocked_at set by this statement) when `unlockWrites` says
 * `unlocksCurrent`.
 */
export const CURRENT_PROGRESS = 'current_progress';

/**
 * Records topics newly unlocked: progress.unlocked_at once and one 'unlock' reward each, the
 * reward only for rows this statement actually set (a constellation read may record a root at
 * the same moment without the child's lock). The conversation's own topic (`current`) is
 * left to the caller's progress write: one statement must not touch a row twice.
 */
export function unlockWrites(
  childId: string,
  now: Date,
  due: readonly TopicFact[],
  current: string | null,
): { progress: NamedWrite | undefined; rewards: Sql | undefined; unlocksCurrent: boolean } {
  const others = due.filter((t) => t.id !== current).map((t) => t.id);
  const unlocksCurrent = due.some((t) => t.id === current);
  const progress: NamedWrite | undefined =
    others.length > 0
      ? {
          name: 'unlocked',
          body: sql`INSERT INTO progress (child_id, topic_id, unlocked_at)
            SELECT ${childId}::uuid, u, ${now}::timestamptz FROM guard, unnest(${others}::uuid[]) AS u
            ON CONFLICT (child_id, topic_id) DO UPDATE SET unlocked_at = EXCLUDED.unlocked_at
              WHERE progress.unlocked_at IS NULL
            RETURNING topic_id`,
        }
      : undefined;
  const sources = [
    ...(progress ? [sql`SELECT topic_id FROM unlocked`] : []),
    ...(unlocksCurrent
      ? [sql`SELECT topic_id FROM ${raw(CURRENT_PROGRESS)} WHERE unlocked_now`]
      : []),
  ];
  const rewards =
    sources.length > 0
      ? sql`INSERT INTO rewards (child_id, reward_type, reward_id, trigger_type, trigger_id, earned_at)
          SELECT ${childId}::uuid, 'unlock', t.slug, 'topic', t.id, ${now}::timestamptz
            FROM topics t WHERE t.id IN (${join(sources, ' UNION ALL ')})`
      : undefined;
  return { progress, rewards, unlocksCurrent };
}

/**
 * One statement: `WITH guard AS (SELECT WHERE <guard>), w1 AS (...), ... SELECT ok`. Returns
 * false (and wrote nothing) when the guard failed.
 */
export function guardedWriteSql(
  guard: Sql,
  writes: readonly (Sql | NamedWrite | undefined)[],
): Sql {
  const parts = writes.filter((w): w is Sql | NamedWrite => w !== undefined);
  const ctes =
    parts.length > 0
      ? sql`, ${join(
          parts.map((w, i) =>
            'name' in w && 'body' in w
              ? sql`${raw(w.name)} AS (${w.body})`
              : sql`${raw(`w${i}`)} AS (${w})`,
          ),
          ', ',
        )}`
      : empty;
  return sql`WITH guard AS (SELECT 1 AS ok WHERE ${guard})${ctes}
    SELECT EXISTS (SELECT 1 FROM guard) AS ok`;
}

/** Tries of one write: the first without the lock, the rest under it. */
const MAX_WRITE_ATTEMPTS = 3;

/** A guarded write (guardedWriteSql with childWriteGuardSql) and what it returns if it holds. */
export interface PlannedWrite<R> {
  write: Sql;
  result: R;
}

/** What a re-plan may decide: a write, or a result that needs none (a replay, already ended). */
export type Planned<R> = PlannedWrite<R> | { write?: undefined; result: R };

/**
 * Runs a write planned from a read made without the child's lock. The common case is one
 * statement, its own transaction (its guard takes the lock, then checks). If something changed
 * since the read, `again` reads and plans anew inside a transaction under the child's lock (or
 * returns a result without writing, e.g. a replay); after MAX_WRITE_ATTEMPTS a 503.
 */
export async function runGuardedWrite<R>(
  actor: string,
  learner: Pick<Learner, 'childId'>,
  first: PlannedWrite<R>,
  again: (tx: Tx) => Promise<Planned<R>>,
): Promise<R> {
  const [row] = await (await getDb()).$queryRaw<Array<{ ok: boolean }>>(first.write);
  if (row?.ok) {
    markSessionChecked();
    return first.result;
  }
  return inTransaction(
    actor,
    async (tx) => {
      for (let attempt = 2; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
        const planned = await again(tx);
        if (planned.write === undefined) return planned.result;
        const [ok] = await tx.$queryRaw<Array<{ ok: boolean }>>(planned.write);
        if (ok?.ok) return planned.result;
      }
      // Under the lock only a writer that does not take it (a job) can still get in between.
      throw new AppError('unavailable', 'Too many concurrent changes; try again');
    },
    { lockKey: childLockKey(learner) },
  );
}
