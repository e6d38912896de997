// Unique and partial-unique indexes, cascades and SET NULLs, and the triggers that guard
// integrity the spec left out: topics.prerequisites, append-only consents, time zones.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import {
  createChild,
  createConversation,
  createMessage,
  createParent,
  createTopic,
  insert,
  parentRow,
  type Row,
  sparkDates,
  topicRow,
} from './schema-fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const uniqueViolation = (constraint: string) => ({ code: '23505', constraint });
const count = async (sql: string, params: unknown[]): Promise<number> => {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT COUNT(*)::int AS n FROM (${sql}) AS q`,
    params,
  );
  return rows[0]?.n ?? -1;
};

describe('unique indexes', () => {
  test('parent emails are unique case-insensitively among live accounts', async () => {
    const email = `Sam.${randomUUID().slice(0, 8)}@Example.com`;
    const first = await createParent(db.pool, { email });
    await expect(
      insert(db.pool, 'parents', parentRow({ email: email.toLowerCase() })),
    ).rejects.toMatchObject(uniqueViolation('idx_parents_email'));
    await expect(
      insert(db.pool, 'parents', parentRow({ email: email.toUpperCase() })),
    ).rejects.toMatchObject(uniqueViolation('idx_parents_email'));
    // A soft-deleted account no longer holds the address.
    await db.pool.query('UPDATE parents SET deleted_at = NOW() WHERE id = $1', [first]);
    await createParent(db.pool, { email: email.toLowerCase() });
  });

  test('one live parent per Google/Apple account; email accounts have no provider id', async () => {
    const subject = randomUUID();
    await createParent(db.pool, { auth_provider: 'google', auth_provider_id: subject });
    await expect(
      insert(db.pool, 'parents', parentRow({ auth_provider: 'google', auth_provider_id: subject })),
    ).rejects.toMatchObject(uniqueViolation('idx_parents_auth_provider'));
    await createParent(db.pool, { auth_provider: 'apple', auth_provider_id: subject });
    await createParent(db.pool);
    await createParent(db.pool);
  });

  test('rewards: a badge is earned once per child, other rewards repeat', async () => {
    const child = await createChild(db.pool);
    const badge = { child_id: child, reward_type: 'badge', reward_id: 'first_conversation' };
    await insert(db.pool, 'rewards', badge);
    await expect(insert(db.pool, 'rewards', badge)).rejects.toMatchObject(
      uniqueViolation('rewards_unique_badge'),
    );
    const star = {
      child_id: child,
      reward_type: 'star',
      reward_id: 'first_conversation',
      star_value: 1,
    };
    await insert(db.pool, 'rewards', star);
    await insert(db.pool, 'rewards', star);
    await insert(db.pool, 'rewards', { ...badge, child_id: await createChild(db.pool) });
    // The index is usable as an ON CONFLICT arbiter, which is how "earned once" is written.
    const { rowCount } = await db.pool.query(
      `INSERT INTO rewards (child_id, reward_type, reward_id) VALUES ($1, 'badge', 'first_conversation')
       ON CONFLICT (child_id, reward_type, reward_id) WHERE reward_type = 'badge' DO NOTHING`,
      [child],
    );
    expect(rowCount).toBe(0);
  });

  test('consent revocations: one per grant; re-granting after a revoke adds a row', async () => {
    const parent = await createParent(db.pool);
    const consent = {
      parent_id: parent,
      consent_type: 'coppa',
      version: 'v1',
      granted_at: new Date(),
    };
    const first = await insert(db.pool, 'consents', consent);
    await insert(db.pool, 'consent_revocations', { consent_id: first.id, parent_id: parent });
    await expect(
      insert(db.pool, 'consent_revocations', { consent_id: first.id, parent_id: parent }),
    ).rejects.toMatchObject(uniqueViolation('consent_revocations_consent_unique'));
    await insert(db.pool, 'consents', { ...consent, granted_at: new Date() });
    expect(await count('SELECT 1 FROM consents WHERE parent_id = $1', [parent])).toBe(2);
  });

  test('topic connections: no duplicate and no reverse duplicate', async () => {
    const a = await createTopic(db.pool);
    const b = await createTopic(db.pool);
    await insert(db.pool, 'topic_connections', { from_topic_id: a, to_topic_id: b });
    await expect(
      insert(db.pool, 'topic_connections', { from_topic_id: a, to_topic_id: b }),
    ).rejects.toMatchObject({
      code: '23505',
    });
    await expect(
      insert(db.pool, 'topic_connections', { from_topic_id: b, to_topic_id: a }),
    ).rejects.toMatchObject(uniqueViolation('topic_connections_unique_pair'));
    await insert(db.pool, 'topic_connections', {
      from_topic_id: a,
      to_topic_id: await createTopic(db.pool),
    });
  });

  const simpleUniques: {
    constraint: string;
    table: string;
    partitionIndex?: ReturnType<typeof expect.stringMatching>;
    build: () => Promise<[Row, Row]>;
  }[] = [
    {
      constraint: 'topics_slug_key',
      table: 'topics',
      build: async () => {
        const slug = `slug-${randomUUID().slice(0, 8)}`;
        return [topicRow({ slug }), topicRow({ slug, name: 'Other' })];
      },
    },
    {
      constraint: 'brain_sparks_unique_date_age',
      table: 'brain_sparks',
      build: async () => {
        const spark = {
          spark_date: sparkDates(),
          age_group: 'wonder_cubs',
          spark_type: 'riddle',
          question: 'Q?',
        };
        return [spark, { ...spark, spark_type: 'mystery' }];
      },
    },
    {
      constraint: 'progress_unique_child_topic',
      table: 'progress',
      build: async () => {
        const row = { child_id: await createChild(db.pool), topic_id: await createTopic(db.pool) };
        return [row, { ...row, depth_level: 2 }];
      },
    },
    {
      constraint: 'streaks_unique_child',
      table: 'streaks',
      build: async () => {
        const row = { child_id: await createChild(db.pool) };
        return [row, row];
      },
    },
    {
      constraint: 'daily_activity_unique',
      table: 'daily_activity',
      partitionIndex: expect.stringMatching(
        /^daily_activity_\d{4}_\d{2}_child_id_activity_date_key$/,
      ),
      build: async () => {
        const row = {
          child_id: await createChild(db.pool),
          activity_date: new Date().toISOString().slice(0, 10),
        };
        return [row, { ...row, session_count: 2 }];
      },
    },
    {
      constraint: 'cognitive_metrics_unique',
      table: 'cognitive_metrics',
      build: async () => {
        const row = { child_id: await createChild(db.pool), assessment_date: '2026-11-01' };
        return [row, { ...row, curiosity_index: 50 }];
      },
    },
    {
      constraint: 'refresh_tokens_token_hash_unique',
      table: 'refresh_tokens',
      build: async () => {
        const row = {
          parent_id: await createParent(db.pool),
          token_hash: randomUUID(),
          family_id: randomUUID(),
          expires_at: new Date(Date.now() + 86_400_000),
        };
        return [row, { ...row, family_id: randomUUID() }];
      },
    },
    {
      constraint: 'idempotency_keys_unique',
      table: 'idempotency_keys',
      build: async () => {
        const row = {
          child_id: await createChild(db.pool),
          key: randomUUID(),
          route: 'conversations:post-message',
        };
        return [row, { ...row, route: 'brain-sparks:complete' }];
      },
    },
  ];

  test.each(simpleUniques.map((u) => [u.constraint, u] as const))('%s', async (_name, u) => {
    const [first, duplicate] = await u.build();
    await insert(db.pool, u.table, first);
    await expect(insert(db.pool, u.table, duplicate)).rejects.toMatchObject({
      code: '23505',
      // On a partitioned table PostgreSQL names the partition's copy of the index.
      constraint: u.partitionIndex ?? u.constraint,
    });
    const [other] = await u.build();
    await insert(db.pool, u.table, other);
  });
});

describe('cascades and SET NULL', () => {
  test('deleting a parent removes the whole family', async () => {
    const parent = await createParent(db.pool);
    const child = await createChild(db.pool, parent);
    const topic = await createTopic(db.pool);
    const conversation = await createConversation(db.pool, child, { topic_id: topic });
    const message = await createMessage(db.pool, conversation);
    await insert(db.pool, 'consents', {
      parent_id: parent,
      consent_type: 'terms',
      version: '1',
      granted_at: new Date(),
    });
    await insert(db.pool, 'refresh_tokens', {
      parent_id: parent,
      token_hash: randomUUID(),
      family_id: randomUUID(),
      expires_at: new Date(Date.now() + 60_000),
    });
    await insert(db.pool, 'parent_alerts', {
      parent_id: parent,
      child_id: child,
      conversation_id: conversation,
      message_id: message.id,
      message_created_at: message.created_at,
      severity: 'high',
      reason: 'danger_signal',
    });
    await insert(db.pool, 'progress', { child_id: child, topic_id: topic });
    await insert(db.pool, 'streaks', { child_id: child });
    await insert(db.pool, 'rewards', {
      child_id: child,
      reward_type: 'star',
      reward_id: 'x',
      star_value: 1,
    });
    await insert(db.pool, 'daily_activity', {
      child_id: child,
      activity_date: new Date().toISOString().slice(0, 10),
    });
    await insert(db.pool, 'cognitive_metrics', { child_id: child, assessment_date: '2026-11-02' });
    await insert(db.pool, 'idempotency_keys', { child_id: child, key: 'k1', route: 'r' });

    await db.pool.query('DELETE FROM parents WHERE id = $1', [parent]);

    const leftovers = await db.pool.query<{ t: string; n: number }>(
      `SELECT 'children' AS t, COUNT(*)::int AS n FROM children WHERE parent_id = $1
       UNION ALL SELECT 'consents', COUNT(*)::int FROM consents WHERE parent_id = $1
       UNION ALL SELECT 'refresh_tokens', COUNT(*)::int FROM refresh_tokens WHERE parent_id = $1
       UNION ALL SELECT 'parent_alerts', COUNT(*)::int FROM parent_alerts WHERE parent_id = $1
       UNION ALL SELECT 'conversations', COUNT(*)::int FROM conversations WHERE child_id = $2
       UNION ALL SELECT 'messages', COUNT(*)::int FROM messages WHERE conversation_id = $3
       UNION ALL SELECT 'progress', COUNT(*)::int FROM progress WHERE child_id = $2
       UNION ALL SELECT 'streaks', COUNT(*)::int FROM streaks WHERE child_id = $2
       UNION ALL SELECT 'rewards', COUNT(*)::int FROM rewards WHERE child_id = $2
       UNION ALL SELECT 'daily_activity', COUNT(*)::int FROM daily_activity WHERE child_id = $2
       UNION ALL SELECT 'cognitive_metrics', COUNT(*)::int FROM cognitive_metrics WHERE child_id = $2
       UNION ALL SELECT 'idempotency_keys', COUNT(*)::int FROM idempotency_keys WHERE child_id = $2`,
      [parent, child, conversation],
    );
    expect(leftovers.rows.filter((r) => r.n !== 0)).toEqual([]);
    // Topics are shared content and survive.
    expect(await count('SELECT 1 FROM topics WHERE id = $1', [topic])).toBe(1);
  });

  test('deleting content keeps history: topic and spark references become NULL', async () => {
    const parentTopic = await createTopic(db.pool);
    const topic = await createTopic(db.pool);
    const subTopic = await createTopic(db.pool, { parent_topic_id: topic });
    await insert(db.pool, 'topic_connections', { from_topic_id: parentTopic, to_topic_id: topic });
    const spark = await insert(db.pool, 'brain_sparks', {
      spark_date: sparkDates(),
      age_group: 'curious_explorers',
      spark_type: 'what_if',
      question: 'What if the moon vanished?',
      topic_id: topic,
    });
    const child = await createChild(db.pool);
    const conversation = await createConversation(db.pool, child, {
      topic_id: topic,
      brain_spark_id: spark.id,
    });
    await insert(db.pool, 'progress', { child_id: child, topic_id: topic });

    await db.pool.query('DELETE FROM topics WHERE id = $1', [topic]);
    const after = await db.pool.query(
      `SELECT
         (SELECT topic_id FROM conversations WHERE id = $1) AS conversation_topic,
         (SELECT topic_id FROM brain_sparks WHERE id = $2) AS spark_topic,
         (SELECT parent_topic_id FROM topics WHERE id = $3) AS sub_topic_parent,
         (SELECT COUNT(*)::int FROM topic_connections WHERE to_topic_id = $4) AS connections,
         (SELECT COUNT(*)::int FROM progress WHERE topic_id = $4) AS progress`,
      [conversation, spark.id, subTopic, topic],
    );
    expect(after.rows[0]).toEqual({
      conversation_topic: null,
      spark_topic: null,
      sub_topic_parent: null,
      connections: 0,
      progress: 0,
    });

    await db.pool.query('DELETE FROM brain_sparks WHERE id = $1', [spark.id]);
    const { rows } = await db.pool.query('SELECT brain_spark_id FROM conversations WHERE id = $1', [
      conversation,
    ]);
    expect(rows[0]).toEqual({ brain_spark_id: null });
  });

  test('deleting a message or conversation keeps the parent alert, without the reference', async () => {
    const parent = await createParent(db.pool);
    const child = await createChild(db.pool, parent);
    const conversation = await createConversation(db.pool, child);
    const message = await createMessage(db.pool, conversation);
    const alert = await insert(db.pool, 'parent_alerts', {
      parent_id: parent,
      child_id: child,
      conversation_id: conversation,
      message_id: message.id,
      message_created_at: message.created_at,
      severity: 'medium',
      reason: 'meeting_request',
    });
    await db.pool.query('DELETE FROM messages WHERE id = $1', [message.id]);
    let { rows } = await db.pool.query(
      'SELECT conversation_id, message_id, message_created_at FROM parent_alerts WHERE id = $1',
      [alert.id],
    );
    expect(rows[0]).toEqual({
      conversation_id: conversation,
      message_id: null,
      message_created_at: null,
    });
    await db.pool.query('DELETE FROM conversations WHERE id = $1', [conversation]);
    ({ rows } = await db.pool.query('SELECT conversation_id FROM parent_alerts WHERE id = $1', [
      alert.id,
    ]));
    expect(rows[0]).toEqual({ conversation_id: null });
  });

  test('an alert cannot point at a message that does not exist', async () => {
    const parent = await createParent(db.pool);
    await expect(
      insert(db.pool, 'parent_alerts', {
        parent_id: parent,
        child_id: await createChild(db.pool, parent),
        message_id: randomUUID(),
        message_created_at: new Date(),
        severity: 'low',
        reason: 'profanity',
      }),
    ).rejects.toMatchObject({ code: '23503', constraint: 'parent_alerts_message_fkey' });
  });

  test('deleting a rotated refresh token clears the pointer to it', async () => {
    const parent = await createParent(db.pool);
    const family = randomUUID();
    const token = (replacedBy: unknown = null) =>
      insert(db.pool, 'refresh_tokens', {
        parent_id: parent,
        token_hash: randomUUID(),
        family_id: family,
        expires_at: new Date(Date.now() + 60_000),
        replaced_by_id: replacedBy,
      });
    const newer = await token();
    const older = await token(newer.id);
    await db.pool.query('DELETE FROM refresh_tokens WHERE id = $1', [newer.id]);
    const { rows } = await db.pool.query(
      'SELECT replaced_by_id FROM refresh_tokens WHERE id = $1',
      [older.id],
    );
    expect(rows[0]).toEqual({ replaced_by_id: null });
  });
});

describe('topics.prerequisites integrity (arrays cannot have foreign keys)', () => {
  test('existing prerequisites are accepted, missing ones rejected', async () => {
    const base = await createTopic(db.pool);
    await createTopic(db.pool, { prerequisites: [base] });
    await expect(
      insert(db.pool, 'topics', topicRow({ prerequisites: [base, randomUUID()] })),
    ).rejects.toMatchObject({
      code: '23503',
      constraint: 'topics_prerequisites_exist',
    });
  });

  test('duplicates are rejected', async () => {
    const base = await createTopic(db.pool);
    await expect(
      insert(db.pool, 'topics', topicRow({ prerequisites: [base, base] })),
    ).rejects.toMatchObject({
      code: '23514',
      constraint: 'topics_prerequisites_distinct',
    });
  });

  test('cycles are rejected, direct and indirect', async () => {
    const a = await createTopic(db.pool);
    const b = await createTopic(db.pool, { prerequisites: [a] });
    const c = await createTopic(db.pool, { prerequisites: [b] });
    for (const [topic, prerequisite] of [
      [a, b],
      [a, c],
    ]) {
      await expect(
        db.pool.query('UPDATE topics SET prerequisites = ARRAY[$2::uuid] WHERE id = $1', [
          topic,
          prerequisite,
        ]),
      ).rejects.toMatchObject({ code: '23514', constraint: 'topics_prerequisites_acyclic' });
    }
    // A diamond is not a cycle.
    await createTopic(db.pool, { prerequisites: [b, c] });
  });

  test('one statement may create a topic and its prerequisite together; the check can be deferred', async () => {
    const first = randomUUID();
    const second = randomUUID();
    await db.pool.query(
      `INSERT INTO topics (id, name, slug, category, prerequisites) VALUES
         ($1, 'Later', $3, 'logic', ARRAY[$2::uuid]),
         ($2, 'Earlier', $4, 'logic', '{}')`,
      [first, second, `later-${first.slice(0, 8)}`, `earlier-${second.slice(0, 8)}`],
    );
    const client = await db.pool.connect();
    try {
      const third = randomUUID();
      const fourth = randomUUID();
      await client.query('BEGIN');
      await client.query('SET CONSTRAINTS topics_prerequisites_valid DEFERRED');
      await client.query(
        `INSERT INTO topics (id, name, slug, category, prerequisites) VALUES ($1, 'C', $3, 'logic', ARRAY[$2::uuid])`,
        [third, fourth, `c-${third.slice(0, 8)}`],
      );
      await client.query(
        `INSERT INTO topics (id, name, slug, category) VALUES ($1, 'D', $2, 'logic')`,
        [fourth, `d-${fourth.slice(0, 8)}`],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  });

  test('a topic still listed as a prerequisite cannot be deleted', async () => {
    const base = await createTopic(db.pool);
    const dependant = await createTopic(db.pool, { prerequisites: [base] });
    await expect(db.pool.query('DELETE FROM topics WHERE id = $1', [base])).rejects.toMatchObject({
      code: '23503',
      constraint: 'topics_prerequisites_exist',
    });
    await db.pool.query(`UPDATE topics SET prerequisites = '{}' WHERE id = $1`, [dependant]);
    await db.pool.query('DELETE FROM topics WHERE id = $1', [base]);
  });
});

describe('consents are append-only', () => {
  test('grants and revocations never change, except erasing IP/user agent', async () => {
    const parent = await createParent(db.pool);
    const consent = await insert(db.pool, 'consents', {
      parent_id: parent,
      consent_type: 'privacy',
      version: '3',
      granted_at: new Date(Date.now() - 60_000),
      ip_address: '203.0.113.7',
      user_agent: 'Mozilla/5.0',
    });
    const appendOnly = { code: '23514', constraint: 'consents_append_only' };
    await expect(
      db.pool.query(`UPDATE consents SET version = '4' WHERE id = $1`, [consent.id]),
    ).rejects.toMatchObject(appendOnly);
    await expect(
      db.pool.query('UPDATE consents SET granted_at = NOW() WHERE id = $1', [consent.id]),
    ).rejects.toMatchObject(appendOnly);
    await expect(
      db.pool.query(`UPDATE consents SET ip_address = '198.51.100.1' WHERE id = $1`, [consent.id]),
    ).rejects.toMatchObject(appendOnly);
    // A revocation is a row of its own now, never an update of the grant.
    await expect(
      db.pool.query('UPDATE consents SET revoked_at = NOW() WHERE id = $1', [consent.id]),
    ).rejects.toMatchObject(appendOnly);
    await db.pool.query('UPDATE consents SET ip_address = NULL, user_agent = NULL WHERE id = $1', [
      consent.id,
    ]);
    const revocation = await insert(db.pool, 'consent_revocations', {
      consent_id: consent.id,
      parent_id: parent,
      ip_address: '203.0.113.8',
      user_agent: 'Mozilla/5.0',
    });
    await expect(
      db.pool.query('UPDATE consent_revocations SET revoked_at = NOW() WHERE id = $1', [
        revocation.id,
      ]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'consent_revocations_append_only' });
    await db.pool.query(
      'UPDATE consent_revocations SET ip_address = NULL, user_agent = NULL WHERE id = $1',
      [revocation.id],
    );
  });
});

describe('parents.timezone', () => {
  test('accepts names PostgreSQL can use and rejects the rest, on insert and update', async () => {
    for (const timezone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/New_York', 'UTC']) {
      await createParent(db.pool, { timezone });
    }
    await expect(
      insert(db.pool, 'parents', parentRow({ timezone: 'Mars/Olympus_Mons' })),
    ).rejects.toMatchObject({
      code: '22023',
      column: 'timezone',
    });
    const parent = await createParent(db.pool);
    await expect(
      db.pool.query(`UPDATE parents SET timezone = 'Europe/Atlantis' WHERE id = $1`, [parent]),
    ).rejects.toMatchObject({ code: '22023' });
  });
});
