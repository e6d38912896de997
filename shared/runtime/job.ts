// The wrapper every scheduled job goes through: Cloud Scheduler publishes to Pub/Sub, Pub/Sub
// delivers a CloudEvent (google.cloud.pubsub.topic.v1.messagePublished) to the function.
// Returning acknowledges the message; throwing makes Pub/Sub retry. So:
//   - a payload we cannot understand is logged and acknowledged (a retry would fail the same
//     way, forever);
//   - an event older than JOB_MAX_EVENT_AGE_SECONDS is dropped (a backlog replayed after an
//     outage must not run stale work; the next scheduled run covers it);
//   - any failure during the run is rethrown, so a transient one is retried.
// One JSON log line per run reports rows touched and the duration.
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { config, loadConfigAtStart } from '../config.ts';
import { isUnavailable, reportUnavailable } from '../db/resilience.ts';
import { isoDate } from '../jobs/time.ts';
import type { JobArgs, JobReport, JobResult } from '../jobs/types.ts';
import { errorFields, logger } from '../log.ts';
import { useNodeDomains } from './request-scope.ts';

/** The data of a Pub/Sub messagePublished CloudEvent. */
export interface PubsubMessagePublishedData {
  message?: {
    data?: string;
    messageId?: string;
    publishTime?: string;
    attributes?: Record<string, string>;
  };
  subscription?: string;
}

export const jobPayloadSchema = z
  .object({
    /** Run for this day (YYYY-MM-DD) instead of today. */
    date: isoDate.optional(),
    /** Run for this instant (ISO 8601 with offset) instead of now. */
    at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((p) => !(p.date && p.at), { message: 'give date or at, not both' });

export type JobPayload = z.infer<typeof jobPayloadSchema>;

export interface JobDefinition {
  run: (args: JobArgs) => Promise<JobResult>;
}

/** What a job module exports as `handler`: the CloudEvent function the framework serves. */
export type JobHandler = (event: CloudEvent<PubsubMessagePublishedData>) => Promise<void>;

type Decoded = { ok: true; payload: JobPayload } | { ok: false; reason: string; issues?: unknown };

export function decodePayload(data: PubsubMessagePublishedData | undefined): Decoded {
  const encoded = data?.message?.data;
  let body: unknown = {};
  // Cloud Scheduler may publish an empty body: that means "run for now".
  if (encoded) {
    const text = Buffer.from(encoded, 'base64').toString('utf8').trim();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return { ok: false, reason: 'message data is not JSON' };
      }
    }
  }
  const parsed = jobPayloadSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'payload failed validation',
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    };
  }
  return { ok: true, payload: parsed.data };
}

function eventAgeSeconds(
  event: CloudEvent<PubsubMessagePublishedData>,
  now: number,
): number | undefined {
  const stamp = event.time ?? event.data?.message?.publishTime;
  if (!stamp) return undefined;
  const time = Date.parse(stamp);
  return Number.isNaN(time) ? undefined : (now - time) / 1000;
}

export function defineJob(name: string, definition: JobDefinition): JobHandler {
  // At module load, i.e. the cold start: a bad configuration stops the instance here.
  loadConfigAtStart('job');
  const run = async (args: Omit<JobArgs, 'log'> & { log?: JobArgs['log'] }) => {
    const log = args.log ?? logger.child({ job: name });
    const started = performance.now();
    const result = await definition.run({ ...args, log });
    const report: JobReport = {
      job: name,
      ...result,
      durationMs: Math.round(performance.now() - started),
    };
    log.info('job finished', {
      job: name,
      rowsTouched: report.rowsTouched,
      counts: report.counts,
      details: report.details,
      durationMs: report.durationMs,
    });
    return report;
  };

  const handler: JobHandler = async (event) => {
    const log = logger.child({
      job: name,
      eventId: event.id,
      messageId: event.data?.message?.messageId,
    });
    const age = eventAgeSeconds(event, Date.now());
    const maxAge = config().JOB_MAX_EVENT_AGE_SECONDS;
    if (age !== undefined && age > maxAge) {
      log.warn('job event too old, dropped', {
        ageSeconds: Math.round(age),
        maxAgeSeconds: maxAge,
      });
      return;
    }
    const decoded = decodePayload(event.data);
    if (!decoded.ok) {
      log.error('job payload rejected, acknowledged without work', {
        reason: decoded.reason,
        issues: decoded.issues,
      });
      return;
    }
    const { date, at } = decoded.payload;
    try {
      await run({ log, ...(date ? { date } : {}), ...(at ? { at: new Date(at) } : {}) });
    } catch (err) {
      // A database outage is not a bug: one warning per burst, and Pub/Sub retries.
      if (isUnavailable(err)) reportUnavailable('database', err);
      else log.error('job failed, will be retried', errorFields(err));
      throw err;
    }
  };

  // The framework's CloudEvent wrapper needs a real domain (request-scope.ts).
  useNodeDomains();
  cloudEvent<PubsubMessagePublishedData>(name, handler);
  return handler;
}
