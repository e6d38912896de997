// Every learning route that names a child runs this: ownership (the accounts rules), the
// family's required consents, and, for a child session, bedtime and the daily time limit.
import { loadOwnedChild } from '../accounts/access.ts';
import { requireChildFeaturesConsent } from '../accounts/consents.ts';
import type { Principal } from '../auth/principal.ts';
import { readDb } from './db.ts';
import { type Learner, loadLearner } from './learner.ts';
import { enforceChildLimits } from './limits.ts';

export async function learnerFor(
  principal: Principal,
  childId: string,
  now: Date,
): Promise<Learner> {
  await loadOwnedChild(principal, childId);
  await requireChildFeaturesConsent(principal.parentId);
  const db = await readDb();
  const learner = await loadLearner(db, childId);
  if (principal.kind === 'child') await enforceChildLimits(db, learner, now);
  return learner;
}

export const actorOf = (principal: Principal): string =>
  principal.kind === 'child' ? `child:${principal.childId}` : `parent:${principal.parentId}`;

/** The runtime's learner resolution for routes declaring `learner` (shared/runtime/http.ts). */
export const resolveLearner = learnerFor;
