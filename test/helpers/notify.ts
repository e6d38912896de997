// Set-up for the notification tests: a real SMTP server (the mail catcher) and the fake FCM
// + metadata server, wired in through configuration exactly as production is.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { resetConfigForTests } from '../../shared/config.ts';
import { type MailCatcher, startMailCatcher } from '../../shared/dev/mail-catcher.ts';
import { closeMailer } from '../../shared/notify/mailer.ts';
import { type FakeFcm, startFakeFcm } from './fcm-server.ts';

export interface NotifyHarness {
  smtp: MailCatcher;
  fcm: FakeFcm;
  close(): Promise<void>;
}

export async function startNotifyHarness(): Promise<NotifyHarness> {
  const [smtp, fcm] = await Promise.all([startMailCatcher(), startFakeFcm()]);
  Object.assign(process.env, {
    SMTP_URL: smtp.url,
    FCM_PROJECT: 'brainspark-test',
    FCM_ENDPOINT: fcm.url,
    FCM_AUTH: 'metadata',
    METADATA_SERVER_URL: fcm.url,
    NOTIFY_RETRY_ATTEMPTS: '3',
    NOTIFY_RETRY_BASE_MS: '5',
    NOTIFY_TOKEN_KEY: randomBytes(32).toString('hex'),
    PUBLIC_APP_URL: 'https://app.brainspark.test',
    PUBLIC_API_URL: 'https://api.brainspark.test',
  });
  resetConfigForTests();
  return {
    smtp,
    fcm,
    async close() {
      await closeMailer();
      await Promise.all([smtp.close(), fcm.close()]);
    },
  };
}

export async function addDevice(
  pool: pg.Pool,
  parentId: string,
  token = `fcm-${randomBytes(12).toString('hex')}`,
): Promise<{ id: string; token: string }> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO parent_devices (parent_id, platform, fcm_token) VALUES ($1, 'android', $2) RETURNING id`,
    [parentId, token],
  );
  return { id: rows[0]?.id as string, token };
}

export async function insertAlert(
  pool: pg.Pool,
  alert: {
    parentId: string;
    childId: string;
    severity: 'low' | 'medium' | 'high';
    reason: string;
    createdAt?: Date;
  },
): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO parent_alerts (parent_id, child_id, severity, reason, created_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [alert.parentId, alert.childId, alert.severity, alert.reason, alert.createdAt ?? new Date()],
  );
  return rows[0]?.id as string;
}

export async function deliveries(pool: pg.Pool, parentId: string) {
  const { rows } = await pool.query<{
    dedupe_key: string;
    channel: string;
    status: string;
    attempts: number;
  }>(
    'SELECT dedupe_key, channel, status, attempts FROM notification_deliveries WHERE parent_id = $1 ORDER BY dedupe_key',
    [parentId],
  );
  return rows;
}
