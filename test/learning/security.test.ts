// The shared security suite over every learning-loop route.
import '../../functions/topics/index.ts';
import '../../functions/conversations/index.ts';
import '../../functions/brain-sparks/index.ts';
import '../../functions/progress/index.ts';
import '../../functions/streaks/index.ts';
import '../../functions/rewards/index.ts';
import '../../functions/dashboard/index.ts';
import '../../functions/leaderboard/index.ts';
import { afterAll } from 'vitest';
import { startConversation } from '../../shared/learning/conversations.ts';
import { loadLearner } from '../../shared/learning/learner.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { describeSecurity, type SecurityFixture } from '../helpers/security-suite.ts';
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

const x = (f: SecurityFixture) => f.familyA.childX.id;

describeSecurity<Extra>(
  'topics',
  [
    { name: 'GET /?ageGroup', method: 'GET', auth: 'public', path: () => '/?ageGroup=wonder_cubs' },
    {
      name: 'GET /children/:childId/constellation',
      method: 'GET',
      auth: 'parentOrChild',
      path: (f) => `/children/${x(f)}/constellation`,
    },
  ],
  { prepare },
);

describeSecurity<Extra>(
  'conversations',
  [
    {
      name: 'GET /children/:childId',
      method: 'GET',
      auth: 'parentOrChild',
      path: (f) => `/children/${x(f)}`,
    },
    {
      name: 'POST /children/:childId',
      method: 'POST',
      auth: 'child',
      path: (f) => `/children/${x(f)}`,
      body: (_f: SecurityFixture, e: Extra) => ({ type: 'exploration', topicId: e.topicId }),
    },
    {
      name: 'GET /children/:childId/:conversationId',
      method: 'GET',
      auth: 'parentOrChild',
      path: (f, e) => `/children/${x(f)}/${e.conversationId}`,
    },
    {
      name: 'POST /children/:childId/:conversationId/messages',
      method: 'POST',
      auth: 'child',
      path: (f, e) => `/children/${x(f)}/${e.conversationId}/messages`,
      body: { choiceIndex: 0 },
    },
    {
      name: 'POST /children/:childId/:conversationId/end',
      method: 'POST',
      auth: 'parentOrChild',
      path: (f, e) => `/children/${x(f)}/${e.conversationId}/end`,
    },
  ],
  { prepare },
);

describeSecurity<Extra>(
  'brain-sparks',
  [
    {
      name: 'GET /children/:childId/today',
      method: 'GET',
      auth: 'parentOrChild',
      path: (f) => `/children/${x(f)}/today`,
    },
    {
      name: 'POST /children/:childId/today/complete',
      method: 'POST',
      auth: 'child',
      path: (f) => `/children/${x(f)}/today/complete`,
    },
  ],
  { prepare },
);

describeSecurity<Extra>(
  'progress',
  [
    {
      name: 'GET /children/:childId',
      method: 'GET',
      auth: 'parentOrChild',
      path: (f) => `/children/${x(f)}`,
    },
    {
      name: 'GET /children/:childId/topics/:topicId',
      method: 'GET',
      auth: 'parentOrChild',
      path: (f, e) => `/children/${x(f)}/topics/${e.topicId}`,
    },
  ],
  { prepare },
);

describeSecurity<Extra>('streaks', [
  {
    name: 'GET /children/:childId',
    method: 'GET',
    auth: 'parentOrChild',
    path: (f) => `/children/${x(f)}`,
  },
]);

describeSecurity<Extra>('rewards', [
  { name: 'GET /catalogue', method: 'GET', auth: 'public', path: () => '/catalogue' },
  {
    name: 'GET /children/:childId',
    method: 'GET',
    auth: 'parentOrChild',
    path: (f) => `/children/${x(f)}`,
  },
  {
    name: 'POST /children/:childId/cosmetics',
    method: 'POST',
    auth: 'parentOrChild',
    path: (f) => `/children/${x(f)}/cosmetics`,
    body: { itemId: 'hat_wizard' },
  },
]);

describeSecurity<Extra>(
  'dashboard',
  [
    {
      name: 'GET /children/:childId',
      method: 'GET',
      auth: 'parent',
      path: (f) => `/children/${x(f)}`,
    },
    {
      name: 'GET /children/:childId/activity',
      method: 'GET',
      auth: 'parent',
      path: (f) => `/children/${x(f)}/activity`,
    },
    {
      name: 'GET /children/:childId/cognitive-metrics',
      method: 'GET',
      auth: 'parent',
      path: (f) => `/children/${x(f)}/cognitive-metrics`,
    },
    {
      name: 'GET /children/:childId/flags',
      method: 'GET',
      auth: 'parent',
      path: (f) => `/children/${x(f)}/flags`,
    },
    {
      name: 'GET /alerts',
      method: 'GET',
      auth: 'parent',
      path: () => '/alerts',
      ownsResource: false,
    },
    {
      name: 'POST /alerts/:alertId/read',
      method: 'POST',
      auth: 'parent',
      path: (_f, e) => `/alerts/${e.alertId}/read`,
      childScoped: false,
    },
  ],
  { prepare },
);

describeSecurity<Extra>('leaderboard', [
  {
    name: 'GET /children/:childId',
    method: 'GET',
    auth: 'parentOrChild',
    path: (f) => `/children/${x(f)}`,
  },
  {
    name: 'PUT /children/:childId/opt-in',
    method: 'PUT',
    auth: 'parent',
    path: (f) => `/children/${x(f)}/opt-in`,
    body: { optIn: true },
  },
]);
