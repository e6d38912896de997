// Daily: every age group has a brain spark for today and the next 6 days (shared/jobs).
import { runBrainSparkRollout } from '../../shared/jobs/brain-spark-rollout.ts';
import { defineJob } from '../../shared/runtime/job.ts';

export const brainSparkRollout = defineJob('brain-spark-rollout', {
  run: (args) => runBrainSparkRollout(args),
});
