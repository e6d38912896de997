// Every CHECK constraint rejects what it must and accepts what it must. The last test
// compares this table with the database's catalog, so a new CHECK without a case fails.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import {
  childRow,
  createChild,
  createConversation,
  createParent,
  createTopic,
  insert,
  json,
  parentRow,
  type Queryable,
  type Row,
  sparkDates,
  topicRow,
} from './schema-fixtures.ts';

type Override = Row | ((base: Row) => Row);

interface CheckCase {
  constraint: string;
  table: string;
  build: (db: Queryable) => Promise<Row>;
  accept: Override[];
  reject: Override[];
}

const hoursFromNow = (hours: number): Date => new Date(Date.now() + hours * 3_600_000);
const todayUtc = (): string => new Date().toISOString().slice(0, 10);

const parents = async (): Promise<Row> => parentRow();
const children = async (db: Queryable): Promise<Row> => childRow(await createParent(db));
const consents = async (db: Queryable): Promise<Row> => ({
  parent_id: await createParent(db),
  consent_type: 'coppa',
  version: '2026-01',
  granted_at: hoursFromNow(-2),
});
const topics = async (): Promise<Row> => topicRow();
const connections = async (db: Queryable): Promise<Row> => ({
  from_topic_id: await createTopic(db),
  to_topic_id: await createTopic(db),
});
const sparks = async (): Promise<Row> => ({
  spark_date: sparkDates(),
  age_group: 'wonder_cubs',
  spark_type: 'riddle',
  question: 'What has keys but cannot open a door?',
});
const conversations = async (db: Queryable): Promise<Row> => ({ child_id: await createChild(db) });
const messages = async (db: Queryable): Promise<Row> => ({
  conversation_id: await createConversation(db),
  role: 'user',
  content: 'Why do cats purr?',
});
const progress = async (db: Queryable): Promise<Row> => ({
  child_id: await createChild(db),
  topic_id: await createTopic(db),
});
const streaks = async (db: Queryable): Promise<Row> => ({ child_id: await createChild(db) });
const rewards = async (db: Queryable): Promise<Row> => ({
  child_id: await createChild(db),
  reward_type: 'star',
  reward_id: 'conversation_started',
  star_value: 5,
});
const dailyActivity = async (db: Queryable): Promise<Row> => ({
  child_id: await createChild(db),
  activity_date: todayUtc(),
});
const cognitive = async (db: Queryable): Promise<Row> => ({
  child_id: await createChild(db),
  assessment_date: todayUtc(),
});
const auditRows = async (): Promise<Row> => ({
  table_name: 'parents',
  row_id: randomUUID(),
  action: 'INSERT',
  new_values: json({ id: 'x' }),
});
const refreshTokens = async (db: Queryable): Promise<Row> => ({
  parent_id: await createParent(db),
  token_hash: randomUUID().replaceAll('-', ''),
  family_id: randomUUID(),
  expires_at: hoursFromNow(24),
});
const alerts = async (db: Queryable): Promise<Row> => {
  const parentId = await createParent(db);
  return {
    parent_id: parentId,
    child_id: await createChild(db, parentId),
    severity: 'high',
    reason: 'self_harm_signal',
  };
};
const idempotency = async (db: Queryable): Promise<Row> => ({
  child_id: await createChild(db),
  key: randomUUID(),
  route: 'conversations:post-message',
  status_code: 201,
  response: json({ ok: true }),
});

const selfId = randomUUID();
const negative = (...columns: string[]): Row[] => columns.map((c) => ({ [c]: -1 }));

const devices = async (db: Queryable): Promise<Row> => ({
  parent_id: await createParent(db),
  platform: 'android',
  fcm_token: `fcm-${randomUUID()}`,
});
const deliveries = async (db: Queryable): Promise<Row> => ({
  parent_id: await createParent(db),
  dedupe_key: `alert:${randomUUID()}:email`,
  kind: 'alert',
  channel: 'email',
  status: 'sending',
});

const cases: CheckCase[] = [
  {
    constraint: 'parents_auth_provider_check',
    table: 'parents',
    build: parents,
    accept: [() => ({ ...parentRow(), auth_provider: 'google', auth_provider_id: randomUUID() })],
    reject: [{ auth_provider: 'facebook' }],
  },
  {
    constraint: 'parents_subscription_check',
    table: 'parents',
    build: parents,
    accept: [{ subscription_tier: 'premium' }, { subscription_tier: 'family' }],
    reject: [{ subscription_tier: 'gold' }],
  },
  {
    constraint: 'parents_email_format_check',
    table: 'parents',
    build: parents,
    accept: [() => ({ email: `Mixed.Case+${randomUUID().slice(0, 6)}@Example.co.uk` })],
    reject: [
      { email: 'not-an-email' },
      { email: 'two words@example.com' },
      { email: '@example.com' },
    ],
  },
  {
    constraint: 'parents_settings_object_check',
    table: 'parents',
    build: parents,
    accept: [{ settings: json({ notifications: { email_digest: false } }) }],
    reject: [{ settings: json([]) }, { settings: json('on') }],
  },
  {
    constraint: 'children_age_group_check',
    table: 'children',
    build: children,
    accept: [{ age_group: 'wonder_cubs' }, { age_group: 'mind_masters' }],
    reject: [{ age_group: 'teenagers' }],
  },
  {
    constraint: 'children_vocabulary_level_check',
    table: 'children',
    build: children,
    accept: [{ vocabulary_level: 1 }, { vocabulary_level: 10 }],
    reject: [{ vocabulary_level: 0 }, { vocabulary_level: 11 }],
  },
  {
    constraint: 'children_settings_object_check',
    table: 'children',
    build: children,
    accept: [{ settings: json({ sound_enabled: false }) }],
    reject: [{ settings: json([1]) }],
  },
  {
    constraint: 'consents_type_check',
    table: 'consents',
    build: consents,
    accept: [{ consent_type: 'data_sharing' }, { consent_type: 'marketing' }],
    reject: [{ consent_type: 'cookies' }],
  },
  {
    constraint: 'consents_revoked_after_granted_check',
    table: 'consents',
    build: consents,
    accept: [{ revoked_at: hoursFromNow(-1) }, { granted_at: null, revoked_at: null }],
    reject: [
      { granted_at: null, revoked_at: hoursFromNow(-1) },
      { granted_at: hoursFromNow(-1), revoked_at: hoursFromNow(-2) },
    ],
  },
  {
    constraint: 'topics_category_check',
    table: 'topics',
    build: topics,
    accept: [{ category: 'philosophy' }, { category: 'humanities' }],
    reject: [{ category: 'sports' }],
  },
  {
    constraint: 'topics_age_group_check',
    table: 'topics',
    build: topics,
    accept: [{ min_age_group: 'mind_masters' }],
    reject: [{ min_age_group: 'babies' }],
  },
  {
    constraint: 'topics_age_groups_check',
    table: 'topics',
    build: topics,
    accept: [
      { age_groups: ['mind_masters'] },
      { age_groups: ['wonder_cubs', 'curious_explorers'] },
    ],
    reject: [
      { age_groups: [] },
      { age_groups: ['adults'] },
      { age_groups: [null] },
      { age_groups: [['wonder_cubs'], ['mind_masters']] },
    ],
  },
  {
    constraint: 'topics_min_age_group_listed_check',
    table: 'topics',
    build: topics,
    accept: [
      { min_age_group: 'curious_explorers', age_groups: ['curious_explorers', 'mind_masters'] },
    ],
    reject: [{ min_age_group: 'wonder_cubs', age_groups: ['mind_masters'] }],
  },
  {
    constraint: 'topics_prerequisites_shape_check',
    table: 'topics',
    build: topics,
    accept: [{ prerequisites: [] }],
    reject: [{ prerequisites: [null] }, { prerequisites: [[randomUUID()], [randomUUID()]] }],
  },
  {
    constraint: 'topics_prerequisites_no_self_check',
    table: 'topics',
    build: topics,
    accept: [{ id: randomUUID() }],
    reject: [{ id: selfId, prerequisites: [selfId] }],
  },
  {
    constraint: 'topics_no_self_parent_check',
    table: 'topics',
    build: topics,
    accept: [{ parent_topic_id: null }],
    reject: [{ id: selfId, parent_topic_id: selfId }],
  },
  {
    constraint: 'topics_depth_in_tree_check',
    table: 'topics',
    build: topics,
    accept: [{ depth_in_tree: 0 }, { depth_in_tree: 3 }],
    reject: negative('depth_in_tree'),
  },
  {
    constraint: 'topics_prerequisite_depth_check',
    table: 'topics',
    build: topics,
    accept: [{ prerequisite_depth: 0 }, { prerequisite_depth: 5 }],
    reject: negative('prerequisite_depth'),
  },
  {
    constraint: 'topics_color_check',
    table: 'topics',
    build: topics,
    accept: [{ color: '#4b0082' }, { color: '#FFD700' }],
    reject: [{ color: 'red' }, { color: '#12345G' }, { color: '#FFF' }],
  },
  {
    constraint: 'topics_metadata_object_check',
    table: 'topics',
    build: topics,
    accept: [{ metadata: json({ era: 'jurassic' }) }],
    reject: [{ metadata: json(['jurassic']) }],
  },
  {
    constraint: 'topic_connections_no_self',
    table: 'topic_connections',
    build: connections,
    accept: [{ connection_type: 'leads_to' }],
    reject: [(base) => ({ to_topic_id: base.from_topic_id })],
  },
  {
    constraint: 'topic_connections_strength_check',
    table: 'topic_connections',
    build: connections,
    accept: [{ strength: 'weak' }, { strength: 'strong' }],
    reject: [{ strength: 'medium' }],
  },
  {
    constraint: 'brain_sparks_age_group_check',
    table: 'brain_sparks',
    build: sparks,
    accept: [{ age_group: 'mind_masters' }],
    reject: [{ age_group: 'adults' }],
  },
  {
    constraint: 'brain_sparks_type_check',
    table: 'brain_sparks',
    build: sparks,
    accept: [{ spark_type: 'what_if' }, { spark_type: 'philosophy' }],
    reject: [{ spark_type: 'quiz' }],
  },
  {
    constraint: 'brain_sparks_difficulty_check',
    table: 'brain_sparks',
    build: sparks,
    accept: [{ difficulty: 1 }, { difficulty: 5 }],
    reject: [{ difficulty: 0 }, { difficulty: 6 }],
  },
  {
    constraint: 'brain_sparks_hints_array_check',
    table: 'brain_sparks',
    build: sparks,
    accept: [{ hints: json(['Think of a piano']) }],
    reject: [{ hints: json({ hint: 'piano' }) }],
  },
  {
    constraint: 'brain_sparks_follow_ups_array_check',
    table: 'brain_sparks',
    build: sparks,
    accept: [{ follow_ups: json(['What else has keys?']) }],
    reject: [{ follow_ups: json('What else?') }],
  },
  {
    constraint: 'conversations_type_check',
    table: 'conversations',
    build: conversations,
    accept: [{ conversation_type: 'story' }, { conversation_type: 'debate' }],
    reject: [{ conversation_type: 'chat' }],
  },
  {
    constraint: 'conversations_counters_check',
    table: 'conversations',
    build: conversations,
    accept: [{ depth_reached: 0, questions_asked: 12, aha_moments: 2 }],
    reject: negative('depth_reached', 'questions_asked', 'aha_moments'),
  },
  {
    constraint: 'conversations_ended_after_started_check',
    table: 'conversations',
    build: conversations,
    accept: [{ started_at: hoursFromNow(-2), ended_at: hoursFromNow(-1) }],
    reject: [{ started_at: hoursFromNow(-1), ended_at: hoursFromNow(-2) }],
  },
  {
    constraint: 'conversations_key_insights_array_check',
    table: 'conversations',
    build: conversations,
    accept: [{ key_insights: json(['Plants eat light']) }],
    reject: [{ key_insights: json({ insight: 'Plants eat light' }) }],
  },
  {
    constraint: 'conversations_metadata_object_check',
    table: 'conversations',
    build: conversations,
    accept: [{ metadata: json({ tutor: 'builtin' }) }],
    reject: [{ metadata: json([]) }],
  },
  {
    constraint: 'messages_role_check',
    table: 'messages',
    build: messages,
    accept: [{ role: 'assistant' }, { role: 'system' }],
    reject: [{ role: 'tutor' }],
  },
  {
    constraint: 'messages_choices_array_check',
    table: 'messages',
    build: messages,
    accept: [{ choices: json([{ text: 'Because it is happy' }]) }, { choices: null }],
    reject: [{ choices: json({ text: 'Because it is happy' }) }],
  },
  {
    constraint: 'messages_selected_choice_index_check',
    table: 'messages',
    build: messages,
    accept: [{ selected_choice_index: 0 }, { selected_choice_index: 3 }],
    reject: negative('selected_choice_index'),
  },
  {
    constraint: 'messages_metrics_check',
    table: 'messages',
    build: messages,
    accept: [{ tokens_used: 0, processing_time_ms: 0 }],
    reject: negative('tokens_used', 'processing_time_ms'),
  },
  {
    constraint: 'messages_filter_reason_check',
    table: 'messages',
    build: messages,
    accept: [{ was_filtered: true, filter_reason: 'profanity' }, { filter_reason: 'pii_redacted' }],
    reject: [{ was_filtered: true }],
  },
  {
    constraint: 'progress_depth_positive',
    table: 'progress',
    build: progress,
    accept: [{ depth_level: 0 }, { depth_level: 7 }],
    reject: negative('depth_level'),
  },
  {
    constraint: 'progress_counters_check',
    table: 'progress',
    build: progress,
    accept: [{ time_spent_seconds: 0, questions_asked: 3, conversations_count: 1 }],
    reject: negative('time_spent_seconds', 'questions_asked', 'conversations_count'),
  },
  {
    constraint: 'streaks_positive',
    table: 'streaks',
    build: streaks,
    accept: [{ current_streak: 0, longest_streak: 0 }],
    reject: [{ current_streak: -2, longest_streak: -1 }],
  },
  {
    constraint: 'streaks_longest_check',
    table: 'streaks',
    build: streaks,
    accept: [
      { current_streak: 3, longest_streak: 5 },
      { current_streak: 4, longest_streak: 4 },
    ],
    reject: [{ current_streak: 5, longest_streak: 3 }],
  },
  {
    constraint: 'streaks_freezes_check',
    table: 'streaks',
    build: streaks,
    accept: [{ streak_freezes_available: 0 }, { streak_freezes_available: 2 }],
    reject: [{ streak_freezes_available: -1 }, { streak_freezes_available: 3 }],
  },
  {
    constraint: 'streaks_history_array_check',
    table: 'streaks',
    build: streaks,
    accept: [{ streak_history: json([{ date: '2026-01-15', streak: 5, activity: true }]) }],
    reject: [{ streak_history: json({}) }],
  },
  {
    constraint: 'rewards_type_check',
    table: 'rewards',
    build: rewards,
    accept: [
      { reward_type: 'cosmetic', star_value: -20 },
      { reward_type: 'freeze' },
      { reward_type: 'unlock' },
    ],
    reject: [{ reward_type: 'coin' }],
  },
  {
    constraint: 'rewards_metadata_object_check',
    table: 'rewards',
    build: rewards,
    accept: [{ metadata: json({ source: 'streak' }) }],
    reject: [{ metadata: json('streak') }],
  },
  {
    constraint: 'daily_activity_counters_check',
    table: 'daily_activity',
    build: dailyActivity,
    accept: [{ total_time_seconds: 0, stars_earned: 10 }],
    reject: negative(
      'total_time_seconds',
      'session_count',
      'conversations_started',
      'questions_asked',
      'depth_increases',
      'aha_moments',
      'stars_earned',
    ),
  },
  {
    constraint: 'cognitive_metrics_scores',
    table: 'cognitive_metrics',
    build: cognitive,
    accept: [
      {
        critical_thinking: 0,
        creative_thinking: 0,
        logical_reasoning: 0,
        knowledge_connection: 0,
        curiosity_index: 0,
      },
      {
        critical_thinking: 100,
        creative_thinking: 100,
        logical_reasoning: 100,
        knowledge_connection: 100,
        curiosity_index: 100,
      },
    ],
    reject: [
      ...[
        'critical_thinking',
        'creative_thinking',
        'logical_reasoning',
        'knowledge_connection',
        'curiosity_index',
      ].flatMap((c) => [{ [c]: 101 }, { [c]: -1 }]),
    ],
  },
  {
    constraint: 'cognitive_metrics_conversations_analyzed_check',
    table: 'cognitive_metrics',
    build: cognitive,
    accept: [{ conversations_analyzed: 0 }],
    reject: negative('conversations_analyzed'),
  },
  {
    constraint: 'cognitive_metrics_confidence_check',
    table: 'cognitive_metrics',
    build: cognitive,
    accept: [{ confidence_level: 0 }, { confidence_level: 0.5 }, { confidence_level: 1 }],
    reject: [{ confidence_level: -0.01 }, { confidence_level: 1.01 }],
  },
  {
    constraint: 'audit_log_action_check',
    table: 'audit_log',
    build: auditRows,
    accept: [{ action: 'UPDATE', old_values: json({}) }],
    reject: [{ action: 'MERGE' }],
  },
  {
    constraint: 'audit_log_values_check',
    table: 'audit_log',
    build: auditRows,
    accept: [{ action: 'DELETE', old_values: json({}), new_values: null }],
    reject: [
      { old_values: json({}) },
      { action: 'DELETE', old_values: json({}) },
      { action: 'UPDATE', old_values: null },
    ],
  },
  {
    constraint: 'refresh_tokens_not_self_replaced_check',
    table: 'refresh_tokens',
    build: refreshTokens,
    accept: [{ replaced_by_id: null }],
    reject: [{ id: selfId, replaced_by_id: selfId }],
  },
  {
    constraint: 'parent_alerts_severity_check',
    table: 'parent_alerts',
    build: alerts,
    accept: [{ severity: 'low' }, { severity: 'medium' }],
    reject: [{ severity: 'critical' }],
  },
  {
    constraint: 'parent_alerts_message_ref_check',
    table: 'parent_alerts',
    build: alerts,
    accept: [{ message_id: null, message_created_at: null }],
    reject: [{ message_id: randomUUID() }, { message_created_at: new Date() }],
  },
  {
    constraint: 'idempotency_keys_key_check',
    table: 'idempotency_keys',
    build: idempotency,
    accept: [{ key: 'k' }],
    reject: [{ key: '' }],
  },
  {
    constraint: 'idempotency_keys_status_code_check',
    table: 'idempotency_keys',
    build: idempotency,
    accept: [{ status_code: 100 }, { status_code: 599 }, { status_code: null, response: null }],
    reject: [{ status_code: 99 }, { status_code: 600 }],
  },
  {
    constraint: 'parent_devices_platform_check',
    table: 'parent_devices',
    build: devices,
    accept: [{ platform: 'ios' }, { platform: 'web' }],
    reject: [{ platform: 'windows' }],
  },
  {
    constraint: 'notification_deliveries_kind_check',
    table: 'notification_deliveries',
    build: deliveries,
    accept: [{ kind: 'digest' }, { kind: 'streak_reminder' }],
    reject: [{ kind: 'newsletter' }],
  },
  {
    constraint: 'notification_deliveries_channel_check',
    table: 'notification_deliveries',
    build: deliveries,
    accept: [{ channel: 'push' }],
    reject: [{ channel: 'sms' }],
  },
  {
    constraint: 'notification_deliveries_status_check',
    table: 'notification_deliveries',
    build: deliveries,
    accept: [{ status: 'sent' }, { status: 'retry' }, { status: 'dropped' }, { status: 'failed' }],
    reject: [{ status: 'pending' }],
  },
  {
    constraint: 'notification_deliveries_attempts_check',
    table: 'notification_deliveries',
    build: deliveries,
    accept: [{ attempts: 0 }, { attempts: 3 }],
    reject: [{ attempts: -1 }],
  },
];

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function withOverride(base: Row, override: Override): Promise<Row> {
  return { ...base, ...(typeof override === 'function' ? override(base) : override) };
}

describe('CHECK constraints', () => {
  test.each(cases.map((c) => [c.constraint, c] as const))('%s', async (_name, c) => {
    await insert(db.pool, c.table, await c.build(db.pool));
    for (const override of c.accept) {
      await insert(db.pool, c.table, await withOverride(await c.build(db.pool), override));
    }
    for (const override of c.reject) {
      const row = await withOverride(await c.build(db.pool), override);
      await expect(insert(db.pool, c.table, row), JSON.stringify(override)).rejects.toMatchObject({
        code: '23514',
        constraint: c.constraint,
      });
    }
  });

  test('every CHECK constraint in the schema has a case above', async () => {
    const { rows } = await db.pool.query<{ conname: string }>(
      `SELECT con.conname
         FROM pg_constraint con
         JOIN pg_class rel ON rel.oid = con.conrelid
         JOIN pg_namespace ns ON ns.oid = rel.relnamespace
        WHERE con.contype = 'c' AND ns.nspname = 'public' AND NOT rel.relispartition`,
    );
    const inSchema = rows.map((r) => r.conname).sort();
    expect(cases.map((c) => c.constraint).sort()).toEqual(inSchema);
  });
});
