// The child as the learning loop sees it: age group, the family's time zone, the limits in
// the child's settings, and whether the parent let child text reach the external tutor.
import { currentConsentVersion } from '../accounts/consents.ts';
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
    `SELECT c.id, c.parent_id, c.age_group, p.timezone, c.settings, c.avatar_id,
            c.leaderboard_opt_in, c.nickname,
            EXISTS (SELECT 1 FROM consents s
                     WHERE s.parent_id = c.parent_id AND s.consent_type = 'data_sharing'
                       AND s.version = $2 AND s.granted_at IS NOT NULL AND s.revoked_at IS NULL) AS data_sharing
       FROM children c JOIN parents p ON p.id = c.parent_id
      WHERE c.id = $1 AND c.deleted_at IS NULL AND p.deleted_at IS NULL`,
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
