// The child as the learning loop sees it: age group, the family's time zone, the limits in
// the child's settings, and whether the parent let child text reach the external tutor.
import { currentConsentVersion, LIVE_GRANT } from '../accounts/consents.ts';
import { AppError } from '../errors.ts';
import type { Queryable } from './db.ts';
import type { AgeGroup } from './types.ts';

export interface Learner {
  childId: string;
  parentId: string;
  ageGroup: AgeGroup;
  timezone: string;
  settings: Record<string, unknown>;
  avatarId: string;
  dataSharing: boolean;
  leaderboardOptIn: boolean;
  nickname: string | null;
}

interface LearnerRow {
  id: string;
  parent_id: string;
  age_group: AgeGroup;
  timezone: string;
  settings: Record<string, unknown> | null;
  avatar_id: string;
  data_sharing: boolean;
  leaderboard_opt_in: boolean;
  nickname: string | null;
}

export async function loadLearner(db: Queryable, childId: string): Promise<Learner> {
  const { rows } = await db.query<LearnerRow>(
    `SELECT ch.id, ch.parent_id, ch.age_group, p.timezone, ch.settings, ch.avatar_id,
            ch.leaderboard_opt_in, ch.nickname,
            EXISTS (SELECT 1 FROM consents c
                     WHERE c.parent_id = ch.parent_id AND c.consent_type = 'data_sharing'
                       AND c.version = $2 AND ${LIVE_GRANT}) AS data_sharing
       FROM children ch JOIN parents p ON p.id = ch.parent_id
      WHERE ch.id = $1 AND ch.deleted_at IS NULL AND p.deleted_at IS NULL`,
    // Only a grant of the current version counts, as on GET /consents: after the version
    // changes, the child's text stays with the built-in tutor until the parent grants again.
    [childId, currentConsentVersion('data_sharing')],
  );
  const row = rows[0];
  if (!row) throw new AppError('not_found', 'No such child');
  return {
    childId: row.id,
    parentId: row.parent_id,
    ageGroup: row.age_group,
    timezone: row.timezone,
    settings: row.settings ?? {},
    avatarId: row.avatar_id,
    dataSharing: row.data_sharing,
    leaderboardOptIn: row.leaderboard_opt_in,
    nickname: row.nickname,
  };
}

export const childActor = (learner: Pick<Learner, 'childId'>) => `child:${learner.childId}`;
