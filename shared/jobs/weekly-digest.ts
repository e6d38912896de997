// weekly-digest (hourly): at Sunday 18:00 in each family's time zone, one email per opted-in
// parent (notifications.email_digest) covering all their children's week (Monday..Sunday,
// local days). shared/notify/digest-*.ts build it; the delivery log keys it by parent and
// local Sunday, so a family gets at most one digest per week whatever the retries or reruns.
//
// Which families: with `at` (the schedule), those whose local time at `at` is Sunday 18:00 or
// later (an hourly run reaches every zone, :30 and :45 offsets included, and a missed run is
// caught up the same evening); with `date` (a manual rerun), every opted-in family for the
// week ending on that date's Sunday (the date itself, or the Sunday before it).
// A digest is at-most-once: an instance that died mid-send is not retried for that family.
import { config } from '../config.ts';
import { raw, type Sql, sql } from '../db/sql.ts';
import { type Logger, logger as rootLogger } from '../log.ts';
import { deliverOnce } from '../notify/delivery-log.ts';
import { loadFamilyWeek } from '../notify/digest-data.ts';
import { renderDigestEmail } from '../notify/digest-email.ts';
import { mailer as configuredMailer, type Mailer } from '../notify/mailer.ts';
import { withRetry } from '../notify/retry.ts';
import { sqlNotificationEnabled } from '../notify/settings.ts';
import { unsubscribeHeaders } from '../notify/unsubscribe.ts';
import { withJobLock } from './lock.ts';
import { addDays } from './time.ts';
import type { JobArgs, JobResult } from './types.ts';

const DIGEST_LEASE_SECONDS = 300;
/** Families rendered and sent side by side. */
const CONCURRENCY = 4;

/** The Sunday on or before `date` (YYYY-MM-DD). */
export function sundayOnOrBefore(date: string): string {
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
  return addDays(date, -dow);
}

interface DueFamily {
  id: string;
  email: string;
  display_name: string | null;
  week_end: string;
}

const dueFamilies = (at: Date, date: string | null): Sql => {
  const instant = sql`${at.toISOString()}::timestamptz`;
  const weekEnd = sql`${date}::date`;
  return sql`
SELECT p.id, p.email::text, p.display_name::text, to_char(w.week_end, 'YYYY-MM-DD') AS week_end
  FROM parents p
 CROSS JOIN LATERAL (SELECT (${instant} AT TIME ZONE p.timezone) AS local_ts) l
 CROSS JOIN LATERAL (SELECT COALESCE(${weekEnd}, l.local_ts::date) AS week_end) w
 WHERE p.deleted_at IS NULL
   AND ${raw(sqlNotificationEnabled('email_digest'))}
   AND (${weekEnd} IS NOT NULL
        OR (EXTRACT(ISODOW FROM l.local_ts) = 7 AND EXTRACT(HOUR FROM l.local_ts) >= 18))
   AND EXISTS (SELECT 1 FROM children c WHERE c.parent_id = p.id AND c.deleted_at IS NULL)
   AND NOT EXISTS (SELECT 1 FROM notification_deliveries d
                    WHERE d.dedupe_key = 'digest:' || p.id || ':' || to_char(w.week_end, 'YYYY-MM-DD') || ':email'
                      AND d.status <> 'retry')
 ORDER BY p.id`;
};

export const digestKey = (parentId: string, weekEnd: string) =>
  `digest:${parentId}:${weekEnd}:email`;

export async function runWeeklyDigest(
  args: JobArgs,
  deps: { mail?: Mailer | null; log?: Logger } = {},
): Promise<JobResult> {
  const log = deps.log ?? args.log ?? rootLogger;
  const at = args.at ?? new Date();
  const date = args.date ? sundayOnOrBefore(args.date) : null;
  const mail = deps.mail === undefined ? configuredMailer() : deps.mail;
  return withJobLock('weekly-digest', async (job) => {
    const { db } = job;
    const due = await job.transaction((tx) => tx.$queryRaw<DueFamily[]>(dueFamilies(at, date)));
    const counts = { digestsSent: 0, alreadySent: 0, failed: 0, retryLater: 0, notConfigured: 0 };
    if (!mail) {
      if (due.length > 0)
        log.warn('weekly digest: no SMTP configured, nothing sent', { due: due.length });
      counts.notConfigured = due.length;
      return { rowsTouched: 0, counts, details: { at: at.toISOString(), date, due: due.length } };
    }
    const cfg = config();
    const retry = { attempts: cfg.NOTIFY_RETRY_ATTEMPTS, baseMs: cfg.NOTIFY_RETRY_BASE_MS };
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < due.length; i = next++) {
        const family = due[i] as DueFamily;
        try {
          const outcome = await deliverOnce(
            db,
            {
              parentId: family.id,
              dedupeKey: digestKey(family.id, family.week_end),
              kind: 'digest',
              channel: 'email',
            },
            { leaseSeconds: DIGEST_LEASE_SECONDS, reclaimExpired: false },
            async () => {
              const week = await loadFamilyWeek(db, family.id, family.week_end);
              const unsubscribe = await unsubscribeHeaders(family.id, 'email_digest');
              const email = await renderDigestEmail(week, {
                parentName: family.display_name,
                unsubscribeUrl: unsubscribe.url,
              });
              await withRetry(
                () => mail.send({ to: family.email, ...email, headers: unsubscribe.headers }),
                retry,
              );
              return 'sent';
            },
          );
          if (outcome === 'sent') counts.digestsSent += 1;
          else if (outcome === 'failed') counts.failed += 1;
          else counts.alreadySent += 1;
        } catch (err) {
          counts.retryLater += 1;
          log.warn('weekly digest not sent; the next run retries', {
            parentId: family.id,
            errorName: err instanceof Error ? err.name : 'Error',
            errorMessage: err instanceof Error ? err.message : String(err),
          });
        }
        args.onProgress?.({ step: 'digests', done: i + 1 });
      }
    };
    // Their statements queue for the pool's connections; their sends overlap.
    const workers = Math.min(CONCURRENCY, due.length);
    await Promise.all(Array.from({ length: workers }, worker));
    const result: JobResult = {
      rowsTouched: counts.digestsSent + counts.failed,
      counts,
      details: { at: at.toISOString(), date, due: due.length },
    };
    // Transient failures make the run fail so Pub/Sub retries it; sent digests are not resent.
    if (counts.retryLater > 0) {
      throw Object.assign(new Error(`${counts.retryLater} digest(s) failed transiently`), {
        result,
      });
    }
    return result;
  });
}
