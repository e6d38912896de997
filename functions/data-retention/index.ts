// Nightly: enforces docs/RETENTION.md and keeps age groups true on birthdays (shared/jobs).
import { runDataRetention } from '../../shared/jobs/data-retention.ts';
import { defineJob } from '../../shared/runtime/job.ts';

export const dataRetention = defineJob('data-retention', {
  run: (args) => runDataRetention(args),
});
