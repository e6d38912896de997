// Parent alerts: stored in parent_alerts inside the transaction that stored the message, then
// published on Pub/Sub after commit for email/push delivery. Without a Google Cloud project
// (local development, tests) publishing is a logged no-op. The Pub/Sub client costs ~500 ms to
// import, so it is loaded only when the first alert is published.
import { config } from '../config.ts';
import { errorFields, logger } from '../log.ts';

export type AlertSeverity = 'low' | 'medium' | 'high';

export interface AlertMessage {
  alertId: string;
  parentId: string;
  childId: string;
  conversationId: string | null;
  severity: AlertSeverity;
  reason: string;
  createdAt: string;
}

export interface AlertPublisher {
  publish(message: AlertMessage): Promise<void>;
}

const noopPublisher: AlertPublisher = {
  async publish(message) {
    logger.info('parent alert not published: no Google Cloud project configured', {
      alertId: message.alertId,
      severity: message.severity,
    });
  },
};

let override: AlertPublisher | undefined;
let pubsubPublisher: Promise<AlertPublisher> | undefined;

export function setAlertPublisherForTests(publisher: AlertPublisher | undefined): void {
  override = publisher;
}

/** Without Pub/Sub, `npm start` delivers alerts in-process (shared/notify/in-process.ts). */
export function useAlertPublisher(publisher: AlertPublisher | undefined): void {
  override = publisher;
}

async function createPubSubPublisher(
  projectId: string,
  topicName: string,
): Promise<AlertPublisher> {
  const { PubSub } = await import('@google-cloud/pubsub');
  const topic = new PubSub({ projectId }).topic(topicName);
  return {
    async publish(message) {
      await topic.publishMessage({
        json: message,
        attributes: { severity: message.severity, reason: message.reason },
      });
    },
  };
}

export function alertPublisher(): Promise<AlertPublisher> {
  if (override) return Promise.resolve(override);
  const cfg = config();
  if (!cfg.GOOGLE_CLOUD_PROJECT) return Promise.resolve(noopPublisher);
  pubsubPublisher ??= createPubSubPublisher(
    cfg.GOOGLE_CLOUD_PROJECT,
    cfg.PUBSUB_ALERTS_TOPIC,
  ).catch((err: unknown) => {
    pubsubPublisher = undefined;
    throw err;
  });
  return pubsubPublisher;
}

/** After commit. A failed publish is logged, not raised: the alert is stored and visible. */
export async function publishAlerts(messages: readonly AlertMessage[]): Promise<void> {
  if (messages.length === 0) return;
  try {
    const publisher = await alertPublisher();
    await Promise.all(messages.map((m) => publisher.publish(m)));
  } catch (err) {
    logger.error('parent alert publish failed', {
      ...errorFields(err),
      alertIds: messages.map((m) => m.alertId),
    });
  }
}
