// Hourly: freezes or resets the streaks of families whose local day ended (shared/jobs).
import { runStreakReset } from '../../shared/jobs/streak-reset.ts';
import { defineJob } from '../../shared/runtime/job.ts';

export const streakReset = defineJob('streak-reset', {
  run: (args) => runStreakReset(args),
});
