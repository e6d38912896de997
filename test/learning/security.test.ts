// The shared security suite over every learning-loop route: the real route tables the
// functions export, so a route added to a function is tested without anyone listing it here.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import '../../functions/brain-sparks/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/dashboard/index.ts';
import '../../functions/leaderboard/index.ts';
import '../../functions/progress/index.ts';
import '../../functions/rewards/index.ts';
import '../../functions/streaks/index.ts';
import '../../functions/topics/index.ts';
import { startConversation } from '../../shared/learning/conversations.ts';
import { loadLearner } from '../../shared/learning/learner.ts';
import { httpFunctions } from '../../shared/registry.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import {
  describeRouteTable,
  type RouteTableOptions,
  routesOf,
  type SecurityFixture,
} from '../helpers/security-suite.ts';
import { setupLearningTest, topicIdOf } from './helpers.ts';

const db = await setupLearningTest();
afterAll(async () => teardownAccountsTest(db));

interface Extra {
  conversationId: string;
  topicId: string;
  alertId: string;
}

async function prepare(f: SecurityFixture): Promise<Extra> {
  const childX = f.familyA.childX.id;
  const topicId = await topicIdOf(db.pool, 'space');
  const learner = await loadLearner(childX);
  const started = await startConversation(learner, { type: 'exploration', topicId }, new Date());
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO parent_alerts (parent_id, child_id, severity, reason) VALUES ($1, $2, 'high', 'self_harm_signal') RETURNING id`,
    [f.familyA.parent.id, childX],
  );
  return {
    conversationId: started.conversation.id,
    topicId,
    alertId: (rows[0] as { id: string }).id,
  };
}

// What the learning routes need to name family A's resources and to be valid otherwise.
const learning: RouteTableOptions<Extra> = {
  prepare,
  params: (f, e) => ({
    childId: f.familyA.childX.id,
    conversationId: e.conversationId,
    topicId: e.topicId,
    alertId: e.alertId,
  }),
  queries: { 'GET /': 'ageGroup=wonder_cubs' },
  bodies: {
    'POST /children/:childId': (_f: SecurityFixture, e: Extra) => ({
      type: 'exploration',
      topicId: e.topicId,
    }),
    'POST /children/:childId/:conversationId/messages': { choiceIndex: 0 },
    'POST /children/:childId/cosmetics': { itemId: 'hat_wizard' },
    'PUT /children/:childId/opt-in': { optIn: true },
  },
  overrides: {
    // The alert is family A's parent's, not a child's.
    'POST /alerts/:alertId/read': { childScoped: false },
  },
};

const tables = Object.fromEntries(
  [
    'topics',
    'conversations',
    'brain-sparks',
    'progress',
    'streaks',
    'rewards',
    'dashboard',
    'leaderboard',
  ].map((name) => [name, routesOf(name)]),
);
for (const [name, routes] of Object.entries(tables)) describeRouteTable(name, routes, learning);

describe('the route tables', () => {
  it('every route naming a child declares it, so the runtime resolves the learner', () => {
    const undeclared = Object.entries(tables).flatMap(([name, routes]) =>
      routes
        .filter((r) => r.paramNames.includes('childId') && r.learner !== 'childId')
        .map((r) => `${name}: ${r.method} ${r.path}`),
    );
    expect(undeclared).toEqual([]);
  });
});

describe('the security suites', () => {
  it('cover the route table of every HTTP function in the registry', () => {
    const suites = readdirSync('test', { recursive: true, encoding: 'utf8' })
      .filter((f) => /security[^/]*\.test\.ts$/.test(f))
      .map((f) => readFileSync(`test/${f}`, 'utf8'))
      .join('\n');
    const covered = (name: string) =>
      suites.includes(`routesOf('${name}')`) || suites.includes(`'${name}',`);
    const missing = httpFunctions.filter((f) => !covered(f.name)).map((f) => f.name);
    expect(missing).toEqual([]);
  });
});
