// The one list of deployable functions. The local server, the tests, the bundler and the
// Terraform manifest all read it, so none of them can drift from the others.
// Pure data: importing it must stay free (no SDKs, no I/O).

/** http: public HTTPS; job: Cloud Scheduler -> Pub/Sub topic; event: a Pub/Sub push
 * subscription on an existing topic (dead-lettered, terraform/notifications.tf). */
export type FunctionKind = 'http' | 'job' | 'event';

export interface FunctionSpec {
  /** Function name, functions-framework target and URL segment (`/<name>` locally). */
  readonly name: string;
  readonly kind: FunctionKind;
  /** Source module, relative to the repo root; importing it registers `name`. */
  readonly source: string;
  readonly description: string;
  readonly memory: '256Mi' | '512Mi' | '1Gi' | '2Gi';
  readonly timeoutSeconds: number;
  /** Concurrent requests per instance (Cloud Functions 2nd gen). */
  readonly concurrency: number;
  readonly minInstances: number;
  readonly maxInstances: number;
  /**
   * Database connections one instance may hold (its DB_POOL_MAX). maxInstances x this, summed
   * over every function, is the connection budget test/terraform/connection-budget.test.ts
   * checks against the instance's max_connections flag (docs/CAPACITY.md).
   */
  readonly dbPoolMax: number;
  /** Jobs only: Cloud Scheduler cron and its time zone. */
  readonly schedule?: { readonly cron: string; readonly timeZone: string };
  /** Event functions only: the Pub/Sub topic whose messages they receive. */
  readonly topic?: string;
}

const http = (
  name: string,
  description: string,
  overrides: Partial<Omit<FunctionSpec, 'name' | 'kind' | 'source' | 'description'>> = {},
): FunctionSpec => ({
  name,
  kind: 'http',
  source: `functions/${name}/index.ts`,
  description,
  memory: '256Mi',
  timeoutSeconds: 30,
  concurrency: 40,
  minInstances: 0,
  // The database's 2 vCPUs, not connections, bind first (docs/CAPACITY.md: a request costs
  // 1-22 ms of PostgreSQL CPU); 2 connections keep one instance's vCPU busy. Max instances x
  // pool, over all functions, must fit max_connections (test/terraform/connection-budget).
  maxInstances: 2,
  dbPoolMax: 2,
  ...overrides,
});

/** Cloud Functions' ceiling for event-triggered (Pub/Sub) functions; every job must fit it. */
export const EVENT_FUNCTION_MAX_TIMEOUT_SECONDS = 540;

const job = (
  name: string,
  description: string,
  cron: string,
  timeoutSeconds = EVENT_FUNCTION_MAX_TIMEOUT_SECONDS,
): FunctionSpec => ({
  name,
  kind: 'job',
  source: `functions/${name}/index.ts`,
  description,
  memory: '512Mi',
  timeoutSeconds,
  concurrency: 1,
  minInstances: 0,
  maxInstances: 1,
  // The session holding the job's advisory lock plus JOB_SHARDS (2) shard connections.
  dbPoolMax: 3,
  schedule: { cron, timeZone: 'Etc/UTC' },
});

const event = (
  name: string,
  description: string,
  topic: string,
  timeoutSeconds = 120,
): FunctionSpec => ({
  name,
  kind: 'event',
  source: `functions/${name}/index.ts`,
  description,
  memory: '512Mi',
  timeoutSeconds,
  // Deliveries wait on SMTP and FCM, not on the database: a few short statements each, so
  // one instance with 20 concurrent deliveries on 2 connections covers a burst of alerts.
  concurrency: 20,
  minInstances: 0,
  maxInstances: 1,
  dbPoolMax: 2,
  topic,
});

export const functionRegistry: readonly FunctionSpec[] = [
  // Probed by the uptime check once a minute from a few places: one instance is plenty.
  http('health', 'Liveness and database readiness', { maxInstances: 1, dbPoolMax: 1 }),
  http('auth', 'Signup, login, Google and Apple sign-in, refresh, logout', {
    memory: '512Mi',
    maxInstances: 4,
  }),
  http('parents', 'The signed-in parent: profile, settings, export, deletion'),
  http('consents', 'List, grant and revoke consents'),
  http('children', 'Child profiles, PINs and child sessions', { memory: '512Mi', maxInstances: 3 }),
  http('topics', 'Topic catalogue and a child constellation', { maxInstances: 3 }),
  // The busiest route (every tutor turn) and the heaviest transaction per request.
  http('conversations', 'Tutor conversations: start, list, transcript, message, end', {
    memory: '512Mi',
    timeoutSeconds: 60,
    maxInstances: 6,
  }),
  http('brain-sparks', "Today's brain spark for a child; complete it", { maxInstances: 3 }),
  http('progress', "A child's progress per topic"),
  http('streaks', "A child's streak and history"),
  http('rewards', 'Rewards, star balance, badge catalogue, cosmetics'),
  http('dashboard', 'Parent views: activity, cognitive metrics, alerts'),
  http('leaderboard', 'Opt-in anonymised streak leaderboard'),
  job('brain-spark-rollout', 'Sparks for every age group for the next 7 days', '15 0 * * *'),
  job('partition-maintenance', 'Monthly partitions at least 4 months ahead', '30 0 * * *'),
  job('streak-reset', 'Freeze or reset streaks of families whose local day ended', '5 * * * *'),
  // 23.5 s at 1,000,000 children (docs/BENCHMARKS.md), linear in active children: 540 s
  // leaves a 23x margin, so it needs no split.
  job('cognitive-scoring', 'Nightly cognitive metrics per recently active child', '0 2 * * *'),
  job('data-retention', 'Retention schedule enforcement and birthday age groups', '0 3 * * *'),
  // The lock's session plus one connection its senders share (they wait on SMTP, not SQL).
  {
    ...job(
      'weekly-digest',
      'Weekly digest email at Sunday 18:00 in each family time zone',
      '10 * * * *',
    ),
    dbPoolMax: 2,
  },
  // Everything runs on the lock's session.
  {
    ...job('streak-reminders', 'Push at 18:00 local for streaks not yet kept today', '0 * * * *'),
    dbPoolMax: 1,
  },
  event('alert-delivery', 'Parent alerts by push (FCM) and email (SMTP)', 'parent-alerts'),
];

export const httpFunctions = functionRegistry.filter((f) => f.kind === 'http');
export const jobFunctions = functionRegistry.filter((f) => f.kind === 'job');
export const eventFunctions = functionRegistry.filter((f) => f.kind === 'event');
