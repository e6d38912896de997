// `npm run bench:jobs -- --children 100000 [--reuse] [--database brainspark_bench]`
// Seeds a synthetic population into a dedicated database (dropped and re-created unless
// --reuse finds one of the same size), then times every scheduled job on it, twice (the
// second run shows what idempotence costs), and prints the figures. Not a test.
//
// Population (set-based generate_series INSERTs, deterministic with setseed):
//   parents    children / 2, spread over 24 time zones (UTC-11 Pago Pago .. UTC+14 Kiritimati)
//   children   ages 4-14 (a few with a birthday today, a few just turned 15), 0.5% soft-deleted
//   streaks    one per child: 15% at zero, the rest last active 0-5 local days ago, 0-2 freezes
//   activity   70% of children active over the last 30 days: ~1.5 conversations each with
//              4 messages, daily_activity on ~20% of days, 2 progress rows per child
//   retention  refresh tokens, idempotency keys, alerts, audit rows and metrics on both sides
//              of their cut-offs; 0.2% of parents soft-deleted 40 days ago
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { config } from '../shared/config.ts';
import { closeDatabase, useDatabasePool } from '../shared/db/client.ts';
import { migrateUp } from '../shared/db/migrator.ts';
import { jobRunners } from '../shared/jobs/index.ts';
import { toIsoDate } from '../shared/jobs/time.ts';
import type { JobArgs } from '../shared/jobs/types.ts';
import { createLogger } from '../shared/log.ts';

const TIME_ZONES = [
  'Pacific/Pago_Pago',
  'Pacific/Honolulu',
  'America/Anchorage',
  'America/Los_Angeles',
  'America/Denver',
  'America/Chicago',
  'America/New_York',
  'America/Sao_Paulo',
  'Atlantic/Azores',
  'UTC',
  'Europe/London',
  'Europe/Paris',
  'Europe/Athens',
  'Africa/Nairobi',
  'Asia/Dubai',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Dhaka',
  'Asia/Bangkok',
  'Asia/Shanghai',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Pacific/Auckland',
  'Pacific/Kiritimati',
];

function seedStatements(): Array<[string, string]> {
  // $1 = children, $2 = parents, $3 = run date, $4 = the seed instant. All ids are md5-derived
  // UUIDs so rows can point at each other without joins.
  return [
    [
      'topics',
      `INSERT INTO topics (id, name, slug, category, age_groups)
       SELECT md5('t' || i)::uuid, 'Bench topic ' || i, 'bench-topic-' || i,
              (ARRAY['science','humanities','creative','logic','philosophy'])[1 + i % 5],
              '{wonder_cubs,curious_explorers,mind_masters}'
         FROM generate_series(1, 40) AS i`,
    ],
    [
      'parents',
      `INSERT INTO parents (id, email, timezone, created_at, deleted_at)
       SELECT md5('p' || i)::uuid, 'parent' || i || '@bench.example',
              ($5::text[])[1 + i % cardinality($5::text[])],
              $4::timestamptz - interval '400 days',
              CASE WHEN i % 500 = 0 THEN $4::timestamptz - interval '40 days'
                   WHEN i % 1000 = 1 THEN $4::timestamptz - interval '10 days' END
         FROM generate_series(1, $2::int) AS i`,
    ],
    [
      'children',
      `INSERT INTO children (id, parent_id, name, birth_date, age_group, created_at, deleted_at)
       SELECT md5('c' || i)::uuid, md5('p' || (1 + (i - 1) % $2::int))::uuid, 'Child ' || i, b.birth_date,
              -- The group as of yesterday (so today's birthdays are due), by date thresholds:
              -- determine_age_group per row would cost a minute at 1M children.
              CASE WHEN b.birth_date > ($3::date - 1 - interval '7 years')::date THEN 'wonder_cubs'
                   WHEN b.birth_date > ($3::date - 1 - interval '11 years')::date THEN 'curious_explorers'
                   ELSE 'mind_masters' END,
              $4::timestamptz - interval '300 days',
              CASE WHEN i % 200 = 7 THEN $4::timestamptz - interval '35 days' END
         FROM generate_series(1, $1::int) AS i,
              LATERAL (SELECT CASE
                  WHEN i % 1000 = 3 THEN ($3::date - interval '7 years')::date   -- 7 today
                  WHEN i % 1000 = 4 THEN ($3::date - interval '15 years' + interval '10 days')::date
                  ELSE ($3::date - interval '4 years' - (((i * 2654435761::bigint) % 4000) || ' days')::interval)::date
              END AS birth_date) AS b`,
    ],
    [
      'streak history templates',
      `CREATE TEMP TABLE bench_history AS
       SELECT len, back,
              COALESCE((SELECT jsonb_agg(jsonb_build_object(
                         'date', to_char($3::date - back - len + k, 'YYYY-MM-DD'),
                         'streak', k, 'activity', true) ORDER BY k)
                 FROM generate_series(1, len) AS k), '[]'::jsonb) AS history
         FROM generate_series(0, 30) AS len, generate_series(0, 6) AS back`,
    ],
    [
      'streaks',
      `INSERT INTO streaks (child_id, current_streak, longest_streak, last_activity_date,
                            streak_freezes_available, streak_history)
       SELECT md5('c' || i)::uuid, s.cur, s.cur + (i % 20), $3::date - s.back, i % 3, h.history
         FROM generate_series(1, $1::int) AS i,
              LATERAL (SELECT CASE WHEN i % 20 < 3 THEN 0 ELSE 1 + (i * 7) % 60 END AS cur,
                              (ARRAY[0,0,1,1,1,1,2,2,2,2,3,3,4,5,6])[1 + (i * 13) % 15] AS back) AS s
         JOIN bench_history h ON h.len = LEAST(s.cur, 30) AND h.back = s.back`,
    ],
    [
      'conversations',
      `INSERT INTO conversations (id, child_id, topic_id, conversation_type, started_at, ended_at,
                                  depth_reached, questions_asked, aha_moments, key_insights)
       SELECT md5('v' || j)::uuid,
              md5('c' || (1 + (j * 48271::bigint) % ($1::int * 7 / 10)))::uuid,
              md5('t' || (1 + j % 40))::uuid,
              (ARRAY['exploration','exploration','brain_spark','story','debate'])[1 + j % 5],
              v.started_at, v.started_at + interval '12 minutes',
              j % 8, j % 6, j % 3,
              CASE WHEN j % 4 = 0 THEN '["an insight"]'::jsonb ELSE '[]'::jsonb END
         FROM generate_series(1, $1::int * 3 / 2) AS j,
              LATERAL (SELECT $4::timestamptz - make_interval(secs => (j * 2654435761::bigint) % 2592000) AS started_at) AS v`,
    ],
    [
      'messages',
      `INSERT INTO messages (conversation_id, role, content, is_free_form, selected_choice_index,
                             tokens_used, processing_time_ms, created_at)
       SELECT md5('v' || j)::uuid,
              CASE WHEN k % 2 = 0 THEN 'assistant' ELSE 'user' END,
              'bench message',
              k = 3 AND j % 3 = 0,
              CASE WHEN k % 2 = 1 AND NOT (k = 3 AND j % 3 = 0) THEN k % 3 END,
              40, 300,
              $4::timestamptz - make_interval(secs => (j * 2654435761::bigint) % 2592000) + make_interval(mins => k)
         FROM generate_series(1, $1::int * 3 / 2) AS j, generate_series(0, 3) AS k`,
    ],
    [
      'daily_activity',
      `INSERT INTO daily_activity (child_id, activity_date, total_time_seconds, session_count,
                                   conversations_started, questions_asked, depth_increases,
                                   aha_moments, brain_spark_completed, new_topics_unlocked)
       SELECT md5('c' || i)::uuid, $3::date - d, 300 + (i * d) % 1800, 1 + (i + d) % 3,
              (i + d) % 3, (i * d) % 9, (i + d) % 4, (i * 3 + d) % 3, (i + d) % 4 = 0,
              CASE WHEN (i + d) % 10 = 0 THEN ARRAY[md5('t' || (1 + i % 40))::uuid] ELSE '{}' END
         FROM generate_series(1, $1::int * 7 / 10) AS i, generate_series(0, 29) AS d
        WHERE (i * 31 + d * 17) % 5 = 0`,
    ],
    [
      'progress',
      `INSERT INTO progress (child_id, topic_id, depth_level, time_spent_seconds, questions_asked,
                             conversations_count, unlocked_at, mastered_at, last_interaction, created_at)
       SELECT md5('c' || i)::uuid, md5('t' || (1 + t.n))::uuid, (i + t.n) % 7, 600, 5, 2,
              $4::timestamptz - interval '60 days',
              CASE WHEN (i + t.n) % 7 = 6 THEN $4::timestamptz - interval '5 days' END,
              $4::timestamptz - interval '2 days', $4::timestamptz - interval '60 days'
         FROM generate_series(1, $1::int) AS i,
              LATERAL (VALUES (i % 40), ((i % 40 + 1 + i % 39) % 40)) AS t(n)`,
    ],
    [
      'refresh_tokens',
      `INSERT INTO refresh_tokens (parent_id, token_hash, family_id, expires_at, revoked_at, created_at)
       SELECT md5('p' || (1 + i % $2::int))::uuid, md5('rt' || i), md5('f' || i)::uuid,
              $4::timestamptz + make_interval(days => 30 - i % 60),
              CASE WHEN i % 7 = 0 THEN $4::timestamptz - make_interval(days => i % 20) END,
              $4::timestamptz - interval '60 days'
         FROM generate_series(1, $1::int / 2) AS i`,
    ],
    [
      'idempotency_keys',
      `INSERT INTO idempotency_keys (child_id, key, route, request_hash, status_code, response, created_at)
       SELECT md5('c' || i)::uuid, 'key-' || i, 'POST /conversations/:id/messages', md5('b' || i), 201, '{}',
              $4::timestamptz - make_interval(hours => i % 48)
         FROM generate_series(1, $1::int / 5) AS i`,
    ],
    [
      'parent_alerts',
      `INSERT INTO parent_alerts (parent_id, child_id, severity, reason, created_at, read_at)
       SELECT md5('p' || (1 + (i - 1) % $2::int))::uuid, md5('c' || i)::uuid, 'medium', 'bench',
              $4::timestamptz - make_interval(days => i % 800),
              CASE WHEN i % 2 = 0 THEN $4::timestamptz - make_interval(days => i % 800 - 1) END
         FROM generate_series(1, $1::int, 50) AS i`,
    ],
    [
      'audit_log',
      `INSERT INTO audit_log (table_name, row_id, action, new_values, changed_by, changed_at)
       SELECT 'children', md5('c' || i)::uuid, 'INSERT', '{}'::jsonb, 'bench',
              $4::timestamptz - make_interval(days => i % 1200)
         FROM generate_series(1, $1::int, 10) AS i`,
    ],
    [
      'cognitive_metrics (old)',
      `INSERT INTO cognitive_metrics (child_id, assessment_date, critical_thinking, conversations_analyzed, confidence_level)
       SELECT md5('c' || i)::uuid, $3::date - 700 - i % 100, 50, 3, 0.3
         FROM generate_series(1, $1::int, 20) AS i`,
    ],
  ];
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      children: { type: 'string', default: '100000' },
      database: { type: 'string', default: 'brainspark_bench' },
      reuse: { type: 'boolean', default: false },
      /** Comma-separated job names to time (default: all); `none` only seeds. */
      jobs: { type: 'string', default: '' },
    },
  });
  const children = Number(values.children);
  if (!Number.isInteger(children) || children < 1000)
    throw new Error('--children must be an integer >= 1000');
  if (!/^[a-z_][a-z0-9_]*$/.test(values.database))
    throw new Error('--database must be a plain lowercase name');
  const parents = Math.ceil(children / 2);

  const server = new URL(config().DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  const adminUrl = new URL(server);
  adminUrl.pathname = '/postgres';
  const benchUrl = new URL(server);
  benchUrl.pathname = `/${values.database}`;

  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  const exists =
    (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [values.database]))
      .rowCount === 1;
  let reuse = false;
  if (exists && values.reuse) {
    const probe = new pg.Client({ connectionString: benchUrl.toString() });
    await probe.connect();
    const { rows } = await probe
      .query<{ n: number }>('SELECT COUNT(*)::int AS n FROM children')
      .catch(() => ({ rows: [{ n: -1 }] }));
    await probe.end();
    reuse = rows[0]?.n === children;
  }
  if (!reuse) {
    // The database name was checked against a strict pattern above; identifiers cannot be parameters.
    if (exists) await admin.query(`DROP DATABASE ${values.database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${values.database}`);
  }
  await admin.end();

  const seedInstant = new Date();
  const runDate = toIsoDate(seedInstant);
  const seedTimes: Array<[string, number, number]> = [];
  const client = new pg.Client({ connectionString: benchUrl.toString() });
  await client.connect();
  if (!reuse) {
    await migrateUp(client);
    await client.query("SET session_replication_role = 'replica'"); // bulk load: no triggers
    await client.query("SET work_mem = '256MB'");
    await client.query("SET maintenance_work_mem = '512MB'");
    for (const [label, sql] of seedStatements()) {
      const started = performance.now();
      process.stderr.write(`seeding ${label}...`);
      // Every statement gets all five parameters; the unused CTE gives each one its type.
      const typed =
        'WITH bench_args AS (SELECT $1::int, $2::int, $3::date, $4::timestamptz, $5::text[]) ';
      const statement = sql.startsWith('CREATE TEMP TABLE')
        ? sql.replace(/ AS\n/, ` AS ${typed}\n`)
        : `${typed}${sql}`;
      const result = await client.query(statement, [
        children,
        parents,
        runDate,
        seedInstant.toISOString(),
        TIME_ZONES,
      ]);
      const ms = performance.now() - started;
      process.stderr.write(
        ` ${(result.rowCount ?? 0).toLocaleString('en-US')} rows in ${seconds(ms)} s\n`,
      );
      seedTimes.push([label, result.rowCount ?? 0, ms]);
    }
    await client.query("SET session_replication_role = 'origin'");
    const started = performance.now();
    process.stderr.write('vacuum analyze...');
    await client.query('VACUUM ANALYZE');
    process.stderr.write(` ${seconds(performance.now() - started)} s\n`);
  }
  await client.end();

  // The jobs run on the process's Prisma client, over this pool (the lock, two shards, one spare).
  useDatabasePool(new pg.Pool({ connectionString: benchUrl.toString(), max: 4 }));
  const log = createLogger({ bench: true });
  const nextHour = new Date(seedInstant.getTime() + 3600_000);
  // Run 1 catches up on everything the seed left due, run 2 repeats it (idempotence), and for
  // streak-reset run 3 is the next hourly run (only families whose local day just ended).
  const plan: Array<[string, Array<Omit<JobArgs, 'log'>>]> = [
    ['partition-maintenance', [{ date: runDate }, { date: runDate }]],
    ['brain-spark-rollout', [{ date: runDate }, { date: runDate }]],
    ['streak-reset', [{ at: seedInstant }, { at: seedInstant }, { at: nextHour }]],
    ['cognitive-scoring', [{ date: runDate }, { date: runDate }]],
    ['data-retention', [{ at: seedInstant }, { at: seedInstant }]],
  ];
  const selected = values.jobs ? new Set(values.jobs.split(',')) : undefined;
  const results: Array<{ job: string; run: number; rows: number; ms: number }> = [];
  for (const [job, runs] of plan) {
    if (selected && !selected.has(job)) continue;
    const runner = jobRunners[job];
    if (!runner) throw new Error(`no runner for ${job}`);
    for (const [index, args] of runs.entries()) {
      const run = index + 1;
      const started = performance.now();
      process.stderr.write(`running ${job} (run ${run})...`);
      const report = await runner({
        ...args,
        log,
        onProgress: (p) => process.stderr.write(` ${p.step}:${p.done}`),
      });
      const ms = performance.now() - started;
      process.stderr.write(` ${seconds(ms)} s\n`);
      results.push({ job, run, rows: report.rowsTouched, ms });
    }
  }
  await closeDatabase();

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\nbench:jobs, ${children.toLocaleString('en-US')} children, ${parents.toLocaleString('en-US')} parents`,
  );
  console.log(
    `machine: ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `PostgreSQL ${(await serverVersion(benchUrl.toString())) ?? '?'}, Node ${process.version}`,
  );
  if (seedTimes.length > 0) {
    console.log('\n| seeded | rows | seconds |\n|---|---:|---:|');
    for (const [label, n, ms] of seedTimes)
      console.log(`| ${label} | ${n.toLocaleString('en-US')} | ${seconds(ms)} |`);
  }
  console.log('\n| job | run | rows touched | seconds |\n|---|---:|---:|---:|');
  for (const r of results)
    console.log(`| ${r.job} | ${r.run} | ${r.rows.toLocaleString('en-US')} | ${seconds(r.ms)} |`);
}

async function serverVersion(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]
      ?.v;
  } finally {
    await c.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
