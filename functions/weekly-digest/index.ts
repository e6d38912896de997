// Hourly: the weekly digest email for families whose local time is Sunday 18:00 or later
// (shared/jobs/weekly-digest.ts).
import { runWeeklyDigest } from '../../shared/jobs/weekly-digest.ts';
import { defineJob } from '../../shared/runtime/job.ts';

export const weeklyDigest = defineJob('weekly-digest', {
  run: (args) => runWeeklyDigest(args),
});
