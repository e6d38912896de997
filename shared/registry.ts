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
  maxInstances: 20,
  ...overrides,
});

const job = (
  name: string,
  description: string,
  cron: string,
  timeoutSeconds = 540,
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
  concurrency: 20,
  minInstances: 0,
  maxInstances: 10,
  topic,
});

export const functionRegistry: readonly FunctionSpec[] = [
  http('health', 'Liveness and database readiness'),
  http('auth', 'Signup, login, Google and Apple sign-in, refresh, logout', { memory: '512Mi' }),
  http('parents', 'The signed-in parent: profile, settings, export, deletion'),
  http('consents', 'List, grant and revoke consents'),
  http('children', 'Child profiles, PINs and child sessions', { memory: '512Mi' }),
  http('topics', 'Topic catalogue and a child constellation'),
  http('conversations', 'Tutor conversations: start, list, transcript, message, end', {
    memory: '512Mi',
    timeoutSeconds: 60,
  }),
  http('brain-sparks', "Today's brain spark for a child; complete it"),
  http('progress', "A child's progress per topic"),
  http('streaks', "A child's streak and history"),
  http('rewards', 'Rewards, star balance, badge catalogue, cosmetics'),
  http('dashboard', 'Parent views: activity, cognitive metrics, alerts'),
  http('leaderboard', 'Opt-in anonymised streak leaderboard'),
  job('brain-spark-rollout', 'Sparks for every age group for the next 7 days', '15 0 * * *'),
  job('partition-maintenance', 'Monthly partitions at least 4 months ahead', '30 0 * * *'),
  job('streak-reset', 'Freeze or reset streaks of families whose local day ended', '5 * * * *'),
  job('cognitive-scoring', 'Nightly cognitive metrics per recently active child', '0 2 * * *', 900),
  job('data-retention', 'Retention schedule enforcement and birthday age groups', '0 3 * * *'),
  job(
    'weekly-digest',
    'Weekly digest email at Sunday 18:00 in each family time zone',
    '10 * * * *',
  ),
  job('streak-reminders', 'Push at 18:00 local for streaks not yet kept today', '0 * * * *'),
  event('alert-delivery', 'Parent alerts by push (FCM) and email (SMTP)', 'parent-alerts'),
];

export const httpFunctions = functionRegistry.filter((f) => f.kind === 'http');
export const jobFunctions = functionRegistry.filter((f) => f.kind === 'job');
export const eventFunctions = functionRegistry.filter((f) => f.kind === 'event');

export function findFunction(name: string): FunctionSpec | undefined {
  return functionRegistry.find((f) => f.name === name);
}
