// Every scheduled job by registry name, for `npm run job` and the benchmark (the Cloud
// Functions in functions/<name>/ wrap the same runners).
import { runBrainSparkRollout } from './brain-spark-rollout.ts';
import { runCognitiveScoring } from './cognitive-scoring.ts';
import { runDataRetention } from './data-retention.ts';
import { runPartitionMaintenance } from './partition-maintenance.ts';
import { runStreakReminders } from './streak-reminders.ts';
import { runStreakReset } from './streak-reset.ts';
import type { JobArgs, JobResult } from './types.ts';
import { runWeeklyDigest } from './weekly-digest.ts';

/** Each runs on the process's database client (shared/db/client.ts). */
export type JobRunner = (args: JobArgs) => Promise<JobResult>;

export const jobRunners: Readonly<Record<string, JobRunner>> = {
  'brain-spark-rollout': (args) => runBrainSparkRollout(args),
  'partition-maintenance': runPartitionMaintenance,
  'streak-reset': runStreakReset,
  'cognitive-scoring': runCognitiveScoring,
  'data-retention': runDataRetention,
  'weekly-digest': (args) => runWeeklyDigest(args),
  'streak-reminders': (args) => runStreakReminders(args),
};
