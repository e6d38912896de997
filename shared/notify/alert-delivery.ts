// Delivers one parent alert by push (every registered device) and email, through the
// delivery log so each channel and target goes out once. Called by the alert-delivery
// function for each Pub/Sub message, and in-process by `npm start` (no Pub/Sub locally).
//   - High-severity alerts (safety) go out on every channel whatever the settings.
//   - Other alerts follow notifications.push_enabled (the parent's switch for alerts).
//   - The message holds the category, the child's first name, the time and a dashboard
//     link: never the child's words (the alert row does not even hold them).
//   - A token FCM reports unregistered is deleted.
//   - Transient failures are retried in-process with backoff; if some target still failed,
//     AlertDeliveryIncomplete is thrown so Pub/Sub redelivers (already-sent targets are
//     skipped by the log); after the subscription's last attempt the message is dead-lettered.
import { config } from '../config.ts';
import { type Db, getDb } from '../db/client.ts';
import { type Logger, logger } from '../log.ts';
import { type DeliveryOutcome, deliverOnce } from './delivery-log.ts';
import { type PushSender, pushSender } from './fcm.ts';
import { alertCategory, escapeHtml, firstName, localTime } from './format.ts';
import { type Mailer, mailer } from './mailer.ts';
import { withRetry } from './retry.ts';
import { notificationEnabled } from './settings.ts';
import { unsubscribeHeaders } from './unsubscribe.ts';

/** A safety alert: an instance that died mid-send is retried once its lease expires. */
const ALERT_LEASE_SECONDS = 60;

export class AlertDeliveryIncomplete extends Error {
  override name = 'AlertDeliveryIncomplete';
}

interface AlertRow {
  id: string;
  parent_id: string;
  child_id: string;
  severity: 'low' | 'medium' | 'high';
  reason: string;
  created_at: Date;
  child_name: string;
  email: string;
  timezone: string;
  locale: string;
  settings: Record<string, unknown>;
  gone: boolean;
  devices: { id: string; token: string }[];
}

export interface AlertDeliveryReport {
  alertId: string;
  status: 'delivered' | 'not_found' | 'account_deleted' | 'disabled';
  email?: DeliveryOutcome | 'not_configured';
  push: Record<string, DeliveryOutcome>;
  devicesRemoved: number;
}

export interface AlertContent {
  title: string;
  body: string;
  link: string;
  category: string;
  time: string;
  childFirstName: string;
}

export function alertContent(alert: AlertRow): AlertContent {
  const name = firstName(alert.child_name);
  const category = alertCategory(alert.reason);
  const time = localTime(alert.created_at, alert.timezone, alert.locale);
  const base = config().PUBLIC_APP_URL.replace(/\/+$/, '');
  const link = `${base}/dashboard/children/${alert.child_id}/alerts/${alert.id}`;
  const high = alert.severity === 'high';
  return {
    title: high ? `Safety alert for ${name}` : `BrainSpark notice for ${name}`,
    body: `${category} in ${name}'s BrainSpark conversation at ${time}. Open the dashboard to review.`,
    link,
    category,
    time,
    childFirstName: name,
  };
}

function alertEmail(content: AlertContent, high: boolean, unsubscribeUrl?: string) {
  const settings = `${config().PUBLIC_APP_URL.replace(/\/+$/, '')}/settings/notifications`;
  const footer = high
    ? 'Safety alerts are always sent, whatever your notification settings.'
    : `You receive this because alert notifications are on. Turn them off: ${unsubscribeUrl ?? settings}`;
  const text = [
    content.title,
    '',
    `What: ${content.category}`,
    `Who: ${content.childFirstName}`,
    `When: ${content.time}`,
    '',
    `Review it on your dashboard: ${content.link}`,
    '',
    "For your child's privacy this email never quotes the conversation.",
    footer,
  ].join('\n');
  const e = escapeHtml;
  const html = `<!doctype html><html><body style="font-family:Arial,Helvetica,sans-serif;color:#1f2937;max-width:560px;margin:0 auto;padding:24px">
<h1 style="font-size:20px;color:${high ? '#b91c1c' : '#1e3a8a'}">${e(content.title)}</h1>
<table role="presentation" style="font-size:15px;line-height:1.6">
<tr><td style="padding-right:12px;color:#6b7280">What</td><td>${e(content.category)}</td></tr>
<tr><td style="padding-right:12px;color:#6b7280">Who</td><td>${e(content.childFirstName)}</td></tr>
<tr><td style="padding-right:12px;color:#6b7280">When</td><td>${e(content.time)}</td></tr>
</table>
<p><a href="${e(content.link)}" style="display:inline-block;background:#4f46e5;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">Open the dashboard</a></p>
<p style="font-size:13px;color:#6b7280">For your child's privacy this email never quotes the conversation.<br>${
    high
      ? e(footer)
      : `You receive this because alert notifications are on. <a href="${e(unsubscribeUrl ?? settings)}">Turn them off</a>.`
  }</p>
</body></html>`;
  return { subject: content.title, text, html };
}

async function loadAlert(db: Db, alertId: string): Promise<AlertRow | undefined> {
  const rows = await db.$queryRaw<AlertRow[]>`
     SELECT a.id, a.parent_id, a.child_id, a.severity::text, a.reason::text, a.created_at,
            c.name::text AS child_name, p.email::text, p.timezone::text, p.locale::text, p.settings,
            (p.deleted_at IS NOT NULL OR c.deleted_at IS NOT NULL) AS gone,
            COALESCE((SELECT json_agg(json_build_object('id', d.id, 'token', d.fcm_token) ORDER BY d.created_at)
                        FROM parent_devices d WHERE d.parent_id = a.parent_id), '[]'::json) AS devices
       FROM parent_alerts a
       JOIN parents p ON p.id = a.parent_id
       JOIN children c ON c.id = a.child_id
      WHERE a.id = ${alertId}::uuid`;
  return rows[0];
}

export interface AlertDeliveryDeps {
  push?: PushSender | null;
  mail?: Mailer | null;
  log?: Logger;
}

export async function deliverAlert(
  alertId: string,
  deps: AlertDeliveryDeps = {},
): Promise<AlertDeliveryReport> {
  const report: AlertDeliveryReport = { alertId, status: 'delivered', push: {}, devicesRemoved: 0 };
  const db = await getDb();
  const alert = await loadAlert(db, alertId);
  if (!alert) return { ...report, status: 'not_found' };
  if (alert.gone) return { ...report, status: 'account_deleted' };
  const high = alert.severity === 'high';
  if (!high && !notificationEnabled(alert.settings, 'push_enabled')) {
    return { ...report, status: 'disabled' };
  }

  const cfg = config();
  const retry = { attempts: cfg.NOTIFY_RETRY_ATTEMPTS, baseMs: cfg.NOTIFY_RETRY_BASE_MS };
  const claim = { leaseSeconds: ALERT_LEASE_SECONDS, reclaimExpired: true };
  const content = alertContent(alert);
  const push = deps.push === undefined ? pushSender() : deps.push;
  const mail = deps.mail === undefined ? mailer() : deps.mail;
  const failures: unknown[] = [];

  const tasks: Promise<void>[] = [];
  if (mail) {
    tasks.push(
      (async () => {
        const unsubscribe = high
          ? undefined
          : await unsubscribeHeaders(alert.parent_id, 'push_enabled');
        const message = alertEmail(content, high, unsubscribe?.url);
        report.email = await deliverOnce(
          db,
          {
            parentId: alert.parent_id,
            dedupeKey: `alert:${alert.id}:email`,
            kind: 'alert',
            channel: 'email',
          },
          claim,
          async () => {
            await withRetry(
              () =>
                mail.send({
                  to: alert.email,
                  ...message,
                  headers: {
                    ...(unsubscribe?.headers ?? {}),
                    ...(high ? { Importance: 'high', 'X-Priority': '1' } : {}),
                  },
                }),
              retry,
            );
            return 'sent';
          },
        );
      })().catch((err: unknown) => {
        failures.push(err);
      }),
    );
  } else {
    report.email = 'not_configured';
  }

  if (push) {
    for (const device of alert.devices) {
      tasks.push(
        deliverOnce(
          db,
          {
            parentId: alert.parent_id,
            dedupeKey: `alert:${alert.id}:push:${device.id}`,
            kind: 'alert',
            channel: 'push',
          },
          claim,
          async () => {
            const result = await withRetry(
              () =>
                push.send(device.token, {
                  title: content.title,
                  body: content.body,
                  data: {
                    type: 'parent_alert',
                    alertId: alert.id,
                    childId: alert.child_id,
                    severity: alert.severity,
                    link: content.link,
                  },
                }),
              retry,
            );
            if (result === 'sent') return 'sent';
            await db.$executeRaw`
              DELETE FROM parent_devices WHERE id = ${device.id}::uuid AND fcm_token = ${device.token}`;
            report.devicesRemoved += 1;
            return 'dropped';
          },
        ).then(
          (outcome) => {
            report.push[device.id] = outcome;
          },
          (err: unknown) => {
            failures.push(err);
          },
        ),
      );
    }
  }
  await Promise.all(tasks);

  const inFlight = report.email === 'in_flight' || Object.values(report.push).includes('in_flight');
  if (failures.length > 0 || inFlight) {
    (deps.log ?? logger).warn('alert delivery incomplete; will be retried', {
      alertId,
      failures: failures.map((f) => (f instanceof Error ? `${f.name}: ${f.message}` : String(f))),
      inFlight,
    });
    throw new AlertDeliveryIncomplete(
      `${failures.length} target(s) failed${inFlight ? ', some in flight on another instance' : ''}`,
    );
  }
  return report;
}
