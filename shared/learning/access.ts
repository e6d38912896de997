// Every learning route that names a child resolves its learner here, in ONE statement: the
// caller's session check, ownership (the parent's own live child, or the child session's own
// id), the family not deleted, the required consents and data_sharing at their current
// versions, and, for a child session, today's counted time for bedtime and the daily limit.
// The answers stay what they were when these were separate queries: another family's child is
// 404, a child session acting for another child 403, a child waiting for deletion after a
// coppa revocation 403 consent_required with pendingDeletion, missing consents 403
// consent_required, and a child outside its allowed time 403 bedtime / time_limit_reached.
import { assertChildScope } from '../accounts/access.ts';
import { currentConsentVersion, requiredConsentTypes } from '../accounts/consents.ts';
import type { Principal } from '../auth/principal.ts';
import { markSessionChecked, sessionCheckSql } from '../auth/session.ts';
import { AppError } from '../errors.ts';
import { localDate } from './clock.ts';
import { type Learner, learnerFacts } from './learner.ts';
import { assertWithinSchedule } from './limits.ts';

export type { Learner } from './learner.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The learner `childId` if `principal` may act for it now; one round trip, which also carries
 * the request's session check. Throws the route's 401/403/404 otherwise.
 */
export async function resolveLearner(
  principal: Principal,
  childId: string,
  now: Date,
): Promise<Learner> {
  assertChildScope(principal, childId);
  if (!UUID.test(childId)) throw new AppError('not_found', 'No such child');
  const check = sessionCheckSql();
  const facts = await learnerFacts(childId, {
    parentId: principal.parentId,
    sessionCheck: check,
    usageAround: principal.kind === 'child' ? now : undefined,
  });
  if (check) markSessionChecked();
  if (!facts) throw new AppError('not_found', 'No such child');
  if (facts.deletedAt) {
    // Waiting for deletion because the parent revoked coppa: the parent can grant it again
    // and restore the child within the grace period; anything else deleted is simply gone.
    if (facts.pendingUntil && !facts.granted.has('coppa')) {
      throw new AppError(
        'consent_required',
        'Parental consent (coppa) was revoked: this child profile is waiting for deletion',
        {
          details: {
            missingConsents: [{ type: 'coppa', version: currentConsentVersion('coppa') }],
            pendingDeletion: {
              deletedAt: facts.deletedAt.toISOString(),
              deleteAfter: facts.pendingUntil.toISOString(),
            },
          },
        },
      );
    }
    throw new AppError('not_found', 'No such child');
  }
  const missing = requiredConsentTypes
    .filter((type) => !facts.granted.has(type))
    .map((type) => ({ type, version: currentConsentVersion(type) }));
  if (missing.length > 0) {
    throw new AppError(
      'consent_required',
      'A parent must grant the current coppa, terms and privacy consents first',
      { details: { missingConsents: missing } },
    );
  }
  const { learner } = facts;
  if (principal.kind === 'child') {
    assertWithinSchedule(learner, facts.usedSecondsOn(localDate(learner.timezone, now)), now);
  }
  return learner;
}

export const actorOf = (principal: Principal): string =>
  principal.kind === 'child' ? `child:${principal.childId}` : `parent:${principal.parentId}`;
