// Every scheduled job by registry name, for `npm run job` and the benchmark (the Cloud
// Functions in functions/<name>/ wrap the same runners).
import type pg from 'pg';
import { runBrainSparkRollout } from './brain-spark-rollout.ts';
import { runCognitiveScoring } from './cognitive-scoring.ts';
import { runDataRetention } from './data-retention.ts';
import { runPartitionMaintenance } from './partition-maintenance.ts';
import { runStreakReminders } from './streak-reminders.ts';
import { runStreakReset } from './streak-reset.ts';
import type { JobArgs, JobResult } from './types.ts';
import { runWeeklyDigest } from './weekly-digest.ts';

export type JobRunner = (pool: pg.Pool, args: JobArgs) => Promise<JobResult>;

export const jobRunners: Readonly<Record<string, JobRunner>> = {
  'brain-spark-rollout': (pool, args) => runBrainSparkRollout(pool, args),
  'partition-maintenance': runPartitionMaintenance,
  'streak-reset': runStreakReset,
  'cognitive-scoring': runCognitiveScoring,
  'data-retention': runDataRetention,
  'weekly-digest': (pool, args) => runWeeklyDigest(pool, args),
  'streak-reminders': (pool, args) => runStreakReminders(pool, args),
};
