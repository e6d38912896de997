// Pub/Sub push subscription on the parent-alerts topic (terraform/notifications.tf): delivers
// each alert by push and email (shared/notify/alert-delivery.ts). Returning acknowledges the
// message; throwing makes Pub/Sub redeliver with backoff, and after the subscription's last
// attempt the message goes to the dead-letter topic (which pages on-call).
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { errorFields, logger } from '../../shared/log.ts';
import { deliverAlert } from '../../shared/notify/alert-delivery.ts';
import { idSchema } from '../../shared/runtime/ids.ts';
import type { PubsubMessagePublishedData } from '../../shared/runtime/job.ts';

const alertMessage = z.object({ alertId: idSchema });

export async function handleAlertEvent(
  event: CloudEvent<PubsubMessagePublishedData>,
): Promise<void> {
  const log = logger.child({
    function: 'alert-delivery',
    eventId: event.id,
    messageId: event.data?.message?.messageId,
  });
  const encoded = event.data?.message?.data;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(encoded ?? '', 'base64').toString('utf8'));
  } catch {
    body = undefined;
  }
  const parsed = alertMessage.safeParse(body);
  if (!parsed.success) {
    // A retry would fail the same way: acknowledge it.
    log.error('alert message rejected, acknowledged without delivery');
    return;
  }
  try {
    const report = await deliverAlert(parsed.data.alertId, { log });
    log.info('alert delivered', {
      alertId: report.alertId,
      status: report.status,
      email: report.email,
      push: report.push,
      devicesRemoved: report.devicesRemoved,
    });
  } catch (err) {
    log.error('alert delivery failed, will be retried', {
      alertId: parsed.data.alertId,
      ...errorFields(err),
    });
    throw err;
  }
}

cloudEvent<PubsubMessagePublishedData>('alert-delivery', handleAlertEvent);
