// Without Pub/Sub (local development), alerts are delivered in-process right after commit,
// through the same code the alert-delivery function runs.
import { type AlertPublisher, useAlertPublisher } from '../learning/alerts.ts';
import { errorFields, logger } from '../log.ts';
import { deliverAlert } from './alert-delivery.ts';

export function inProcessAlertPublisher(): AlertPublisher {
  return {
    async publish(message) {
      // Not awaited by the request: delivery must not slow down the child's reply.
      void deliverAlert(message.alertId, { log: logger }).then(
        (report) => logger.info('alert delivered in-process', { ...report }),
        (err: unknown) =>
          logger.error('in-process alert delivery failed', {
            alertId: message.alertId,
            ...errorFields(err),
          }),
      );
    },
  };
}

export function deliverAlertsInProcess(): void {
  useAlertPublisher(inProcessAlertPublisher());
}
