// streak-reminders (hourly): at 18:00 local time (the run whose instant falls in the family's
// 18:00-18:59), a push to each of the parent's devices for every child with a streak of at
// least 1, no activity yet today and not in bedtime. Needs notifications.streak_reminders
// and push_enabled. The delivery log keys each push by child, local day and device: at most
// one reminder per child per day, whatever the retries (at-most-once, like the digest).
import { config } from '../config.ts';
import { raw, type Sql, sql } from '../db/sql.ts';
import { limitsFrom } from '../learning/limits.ts';
import { type Logger, logger as rootLogger } from '../log.ts';
import { deliverOnce } from '../notify/delivery-log.ts';
import { type PushSender, pushSender } from '../notify/fcm.ts';
import { firstName } from '../notify/format.ts';
import { withRetry } from '../notify/retry.ts';
import { sqlNotificationEnabled } from '../notify/settings.ts';
import { withJobLock } from './lock.ts';
import type { JobArgs, JobResult } from './types.ts';

export const REMINDER_MINUTE = 18 * 60;
const REMINDER_LEASE_SECONDS = 120;

interface DueChild {
  child_id: string;
  name: string;
  child_settings: Record<string, unknown>;
  parent_id: string;
  current_streak: number;
  local_date: string;
  local_minute: number;
  devices: { id: string; token: string }[];
}

const dueChildren = (at: Date): Sql => {
  const instant = sql`${at.toISOString()}::timestamptz`;
  const minute = sql`${REMINDER_MINUTE}::int`;
  return sql`
SELECT c.id AS child_id, c.name::text, c.settings AS child_settings, p.id AS parent_id,
       s.current_streak, to_char(l.local_ts::date, 'YYYY-MM-DD') AS local_date,
       (EXTRACT(HOUR FROM l.local_ts) * 60 + EXTRACT(MINUTE FROM l.local_ts))::int AS local_minute,
       (SELECT json_agg(json_build_object('id', d.id, 'token', d.fcm_token) ORDER BY d.created_at)
          FROM parent_devices d WHERE d.parent_id = p.id) AS devices
  FROM streaks s
  JOIN children c ON c.id = s.child_id AND c.deleted_at IS NULL
  JOIN parents p ON p.id = c.parent_id AND p.deleted_at IS NULL
 CROSS JOIN LATERAL (SELECT (${instant} AT TIME ZONE p.timezone) AS local_ts) l
 WHERE s.current_streak >= 1
   AND (s.last_activity_date IS NULL OR s.last_activity_date < l.local_ts::date)
   AND EXTRACT(HOUR FROM l.local_ts) * 60 >= ${minute} AND EXTRACT(HOUR FROM l.local_ts) * 60 < ${minute} + 60
   AND ${raw(sqlNotificationEnabled('streak_reminders'))}
   AND ${raw(sqlNotificationEnabled('push_enabled'))}
   AND EXISTS (SELECT 1 FROM parent_devices d WHERE d.parent_id = p.id)
 ORDER BY c.id`;
};

function inBedtime(settings: Record<string, unknown>, minute: number): boolean {
  const window = limitsFrom(settings).bedtime;
  if (!window) return false;
  return window.start < window.end
    ? minute >= window.start && minute < window.end
    : minute >= window.start || minute < window.end;
}

export const reminderKey = (childId: string, localDate: string, deviceId: string) =>
  `streak:${childId}:${localDate}:push:${deviceId}`;

export async function runStreakReminders(
  args: JobArgs,
  deps: { push?: PushSender | null; log?: Logger } = {},
): Promise<JobResult> {
  const log = deps.log ?? args.log ?? rootLogger;
  // A reminder is about today: `date` alone means 18:00 UTC that day (reaching the families
  // whose 18:00 hour contains it); reruns pass `at`.
  const at = args.at ?? (args.date ? new Date(`${args.date}T18:00:00Z`) : new Date());
  const push = deps.push === undefined ? pushSender() : deps.push;
  return withJobLock('streak-reminders', async (job) => {
    const { db } = job;
    // A transaction of the job's: the scan over every streak may outlast a request's bounds.
    const rows = await job.transaction((tx) => tx.$queryRaw<DueChild[]>(dueChildren(at)));
    const due = rows.filter((r) => !inBedtime(r.child_settings ?? {}, r.local_minute));
    const counts = {
      remindersSent: 0,
      alreadySent: 0,
      devicesRemoved: 0,
      failed: 0,
      retryLater: 0,
      inBedtime: rows.length - due.length,
    };
    if (!push) {
      if (due.length > 0)
        log.warn('streak reminders: no FCM project configured, nothing sent', { due: due.length });
      return { rowsTouched: 0, counts, details: { at: at.toISOString(), due: due.length } };
    }
    const cfg = config();
    const retry = { attempts: cfg.NOTIFY_RETRY_ATTEMPTS, baseMs: cfg.NOTIFY_RETRY_BASE_MS };
    for (const child of due) {
      const name = firstName(child.name);
      for (const device of child.devices ?? []) {
        try {
          const outcome = await deliverOnce(
            db,
            {
              parentId: child.parent_id,
              dedupeKey: reminderKey(child.child_id, child.local_date, device.id),
              kind: 'streak_reminder',
              channel: 'push',
            },
            { leaseSeconds: REMINDER_LEASE_SECONDS, reclaimExpired: false },
            async () => {
              const result = await withRetry(
                () =>
                  push.send(device.token, {
                    title: `Keep ${name}'s streak going`,
                    body: `${name} is on a ${child.current_streak}-day streak. A few minutes of exploring today keeps it alive.`,
                    data: {
                      type: 'streak_reminder',
                      childId: child.child_id,
                      link: `${cfg.PUBLIC_APP_URL.replace(/\/+$/, '')}/children/${child.child_id}`,
                    },
                  }),
                retry,
              );
              if (result === 'sent') return 'sent';
              await db.$executeRaw`
                DELETE FROM parent_devices WHERE id = ${device.id}::uuid AND fcm_token = ${device.token}`;
              counts.devicesRemoved += 1;
              return 'dropped';
            },
          );
          if (outcome === 'sent') counts.remindersSent += 1;
          else if (outcome === 'failed') counts.failed += 1;
          else if (outcome === 'already' || outcome === 'in_flight') counts.alreadySent += 1;
        } catch (err) {
          counts.retryLater += 1;
          log.warn('streak reminder not sent; a retry of this run sends it', {
            childId: child.child_id,
            errorName: err instanceof Error ? err.name : 'Error',
          });
        }
      }
    }
    const result: JobResult = {
      rowsTouched: counts.remindersSent + counts.devicesRemoved + counts.failed,
      counts,
      details: { at: at.toISOString(), due: due.length },
    };
    if (counts.retryLater > 0) {
      throw Object.assign(new Error(`${counts.retryLater} reminder(s) failed transiently`), {
        result,
      });
    }
    return result;
  });
}
