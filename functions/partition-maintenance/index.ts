// Daily: monthly partitions of messages and daily_activity at least 4 months ahead (shared/jobs).
import { runPartitionMaintenance } from '../../shared/jobs/partition-maintenance.ts';
import { defineJob } from '../../shared/runtime/job.ts';

export const partitionMaintenance = defineJob('partition-maintenance', {
  run: (args) => runPartitionMaintenance(args),
});
