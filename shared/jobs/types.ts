// What every job takes and returns. Job modules stay free of Pub/Sub and CLI concerns: the
// CloudEvent wrapper (shared/runtime/job.ts), `npm run job` and the benchmark all call them.
import type { Logger } from '../log.ts';

export interface JobProgress {
  /** What is being worked on, e.g. 'messages' or 'streaks'. */
  step: string;
  /** Rows handled so far in this step. */
  done: number;
}

export interface JobArgs {
  /** The day the job runs for (YYYY-MM-DD). */
  date?: string;
  /** The instant the job runs for (hourly jobs). */
  at?: Date;
  log: Logger;
  /** Called after each batch of long-running steps. */
  onProgress?: (progress: JobProgress) => void;
}

export interface JobResult {
  /** Every row inserted, updated or deleted (cascades excluded). */
  rowsTouched: number;
  /** Rows touched per category, e.g. { freezesUsed: 12, streaksReset: 40 }. */
  counts: Record<string, number>;
  /** Anything else worth reporting (the date run for, the partition horizon...). */
  details: Record<string, unknown>;
}

export interface JobReport extends JobResult {
  job: string;
  durationMs: number;
}
