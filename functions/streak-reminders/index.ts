// Hourly: a push at 18:00 local for each child whose streak is not yet kept today
// (shared/jobs/streak-reminders.ts).
import { runStreakReminders } from '../../shared/jobs/streak-reminders.ts';
import { defineJob } from '../../shared/runtime/job.ts';

export const streakReminders = defineJob('streak-reminders', {
  run: (args) => runStreakReminders(args),
});
