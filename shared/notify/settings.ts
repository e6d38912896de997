// parents.settings.notifications: what a parent receives. Missing keys mean the schema's
// default (on). High-severity safety alerts ignore these switches (PRODUCT.md).
// The `marketing` consent gates marketing mail only; BrainSpark sends none yet. Alerts,
// digests and streak reminders are service messages the parent switches here.
import { z } from 'zod';

export const NOTIFICATION_KEYS = ['email_digest', 'push_enabled', 'streak_reminders'] as const;
export type NotificationKey = (typeof NOTIFICATION_KEYS)[number];

/** What PATCH /parents/me accepts under settings.notifications. */
export const notificationSettingsSchema = z.strictObject({
  email_digest: z.boolean().optional(),
  push_enabled: z.boolean().optional(),
  streak_reminders: z.boolean().optional(),
});

export function notificationEnabled(settings: unknown, key: NotificationKey): boolean {
  const notifications = (settings as { notifications?: unknown } | null)?.notifications;
  if (typeof notifications !== 'object' || notifications === null) return true;
  return (notifications as Record<string, unknown>)[key] !== false;
}

/** The same rule in SQL, for set-based job queries over parents p. */
export const sqlNotificationEnabled = (key: NotificationKey): string =>
  `COALESCE(p.settings #> '{notifications,${key}}', 'true'::jsonb) <> 'false'::jsonb`;
