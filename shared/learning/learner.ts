// The child as the learning loop sees it: age group, the family's time zone, the limits in
// the child's settings, and whether the parent let child text reach the external tutor. One
// statement reads it with everything the access rules need (shared/learning/access.ts).
import { currentConsentVersion, LIVE_GRANT, requiredConsentTypes } from '../accounts/consents.ts';
import { getDb } from '../db/client.ts';
import { empty, raw, type Sql, sql } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import { RETENTION } from '../jobs/data-retention.ts';
import { addDays } from './clock.ts';
import type { AgeGroup } from './types.ts';

export interface Learner {
  childId: string;
  parentId: string;
  ageGroup: AgeGroup;
  timezone: string;
  settings: Record<string, unknown>;
  avatarId: string;
  /** data_sharing granted at its current version and not revoked. */
  dataSharing: boolean;
  leaderboardOptIn: boolean;
  nickname: string | null;
}

export const childActor = (learner: Pick<Learner, 'childId'>) => `child:${learner.childId}`;
/** The advisory lock key that serialises writes to one child's state (canonical id only). */
export const childLockKey = (learner: Pick<Learner, 'childId'>) => `child:${learner.childId}`;

const CONSENTS = [...requiredConsentTypes, 'data_sharing'] as const;

export interface LearnerFacts {
  learner: Learner;
  /** Consent types granted at their current version and not revoked. */
  granted: ReadonlySet<string>;
  /** Set when the child is soft-deleted. */
  deletedAt: Date | null;
  /** When a soft-deleted child is still within the grace period: the hard-deletion date. */
  pendingUntil: Date | null;
  /** Counted seconds on a local date (only dates around `usageAround` were read). */
  usedSecondsOn(date: string): number;
}

/**
 * One round trip: the child `childId` (of `parentId` when given) with its family, consents
 * and, around `usageAround`, its counted time; `sessionCheck` rides in the select list of a
 * one-row query, so it runs whether or not the child exists. Undefined when there is no such
 * child (or its family is deleted).
 */
export async function learnerFacts(
  childId: string,
  options: { parentId?: string; sessionCheck?: Sql | undefined; usageAround?: Date | undefined },
): Promise<LearnerFacts | undefined> {
  // A local date is never more than a day from the UTC date: read the three candidates and
  // pick the family's own in code (the same time-zone rules as every other local-date rule).
  const utcDay = options.usageAround?.toISOString().slice(0, 10);
  const usage = utcDay
    ? sql`(SELECT json_agg(json_build_object('d', da.activity_date::text, 's', da.total_time_seconds))
             FROM daily_activity da
            WHERE da.child_id = ch.id
              AND da.activity_date BETWEEN ${addDays(utcDay, -1)}::date AND ${addDays(utcDay, 1)}::date)`
    : sql`NULL::json`;
  const owner = options.parentId ? sql`AND ch.parent_id = ${options.parentId}::uuid` : empty;
  const db = await getDb();
  const rows = await db.$queryRaw<
    Array<{
      child_id: string | null;
      parent_id: string;
      age_group: AgeGroup;
      settings: Record<string, unknown> | null;
      avatar_id: string;
      leaderboard_opt_in: boolean;
      nickname: string | null;
      timezone: string;
      family_deleted: boolean;
      deleted_at: Date | null;
      pending_until: Date | null;
      granted: string[];
      usage: Array<{ d: string; s: number }> | null;
    }>
  >`
    SELECT ${options.sessionCheck ?? sql`TRUE`} AS live,
           ch.id AS child_id, ch.parent_id, ch.age_group, ch.settings, ch.avatar_id,
           ch.leaderboard_opt_in, ch.nickname, p.timezone, p.deleted_at IS NOT NULL AS family_deleted,
           ch.deleted_at,
           CASE WHEN ch.deleted_at > NOW() - ${RETENTION.softDeletedGrace}::interval
                THEN ch.deleted_at + ${RETENTION.softDeletedGrace}::interval END AS pending_until,
           ARRAY(SELECT DISTINCT c.consent_type::text FROM consents c
                   JOIN unnest(${[...CONSENTS]}::text[], ${CONSENTS.map(currentConsentVersion)}::text[])
                        AS w(type, version) ON w.type = c.consent_type AND w.version = c.version
                  WHERE c.parent_id = ch.parent_id AND ${raw(LIVE_GRANT)}) AS granted,
           ${usage} AS usage
      FROM (SELECT 1) AS one
      LEFT JOIN children ch ON ch.id = ${childId}::uuid ${owner}
      LEFT JOIN parents p ON p.id = ch.parent_id`;
  const row = rows[0];
  if (!row?.child_id || row.family_deleted) return undefined;
  const granted = new Set(row.granted);
  return {
    learner: {
      childId: row.child_id,
      parentId: row.parent_id,
      ageGroup: row.age_group,
      timezone: row.timezone,
      settings: row.settings ?? {},
      avatarId: row.avatar_id,
      // Only a grant of the current version counts, as on GET /consents: after the version
      // changes, the child's text stays with the built-in tutor until the parent grants again.
      dataSharing: granted.has('data_sharing'),
      leaderboardOptIn: row.leaderboard_opt_in,
      nickname: row.nickname,
    },
    granted,
    deletedAt: row.deleted_at,
    pendingUntil: row.pending_until,
    usedSecondsOn: (date) => row.usage?.find((u) => u.d === date)?.s ?? 0,
  };
}

/** The live child `childId`, with no access check (jobs, tests). 404 when there is none. */
export async function loadLearner(childId: string): Promise<Learner> {
  const facts = await learnerFacts(childId, {});
  if (!facts || facts.deletedAt) throw new AppError('not_found', 'No such child');
  return facts.learner;
}
