// Parent alert delivery against a real SMTP server (in-process) and a local server in FCM
// v1's REST shape: each alert reaches each channel once, transient errors are retried, dead
// tokens are removed, switches are honoured except for high-severity safety alerts.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../../functions/alert-delivery/index.ts';
import { type AlertMessage, setAlertPublisherForTests } from '../../shared/learning/alerts.ts';
import { postMessage, startConversation } from '../../shared/learning/conversations.ts';
import { AlertDeliveryIncomplete, deliverAlert } from '../../shared/notify/alert-delivery.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import {
  addDevice,
  deliveries,
  insertAlert,
  type NotifyHarness,
  startNotifyHarness,
} from '../helpers/notify.ts';
import { createLearner, setupLearningTest, topicIdOf } from '../learning/helpers.ts';

let db: TestDatabase;
let h: NotifyHarness;

beforeAll(async () => {
  db = await setupLearningTest();
  h = await startNotifyHarness();
});
afterAll(async () => {
  setAlertPublisherForTests(undefined);
  await h.close();
  await teardownAccountsTest(db);
});
beforeEach(() => {
  h.fcm.delayMs = 0;
});

async function family(settings?: Record<string, unknown>) {
  const learner = await createLearner(db.pool);
  await db.pool.query(`UPDATE children SET name = 'Maya Jones' WHERE id = $1`, [learner.childId]);
  if (settings) {
    await db.pool.query('UPDATE parents SET settings = $2 WHERE id = $1', [
      learner.parent.id,
      JSON.stringify({ notifications: settings }),
    ]);
  }
  const phone = await addDevice(db.pool, learner.parent.id);
  const tablet = await addDevice(db.pool, learner.parent.id);
  return { ...learner, parentId: learner.parent.id, phone, tablet };
}

const mailsTo = (email: string) => h.smtp.mails.filter((m) => m.envelopeTo.includes(email));
const pushesTo = (token: string) => h.fcm.delivered().filter((r) => r.token === token);

function pushEvent(alertId: string, n: number) {
  return {
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/test/topics/parent-alerts',
    id: `alert-event-${alertId}-${n}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: {
      message: {
        data: Buffer.from(JSON.stringify({ alertId })).toString('base64'),
        messageId: `m-${alertId}`,
        publishTime: new Date().toISOString(),
      },
      subscription: 'projects/test/subscriptions/alert-delivery',
    },
  };
}

const postEvent = (event: object) =>
  request(getTestServer('alert-delivery'))
    .post('/')
    .set('content-type', 'application/cloudevents+json')
    .send(JSON.stringify(event));

describe('a high-severity safety alert', () => {
  it('reaches email and every device once, even when Pub/Sub delivers the event twice', async () => {
    const f = await family();
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'self_harm_signal',
    });
    expect((await postEvent(pushEvent(alertId, 1))).status).toBe(204);
    expect((await postEvent(pushEvent(alertId, 2))).status).toBe(204);

    const mails = mailsTo(f.parent.email);
    expect(mails).toHaveLength(1);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
    expect(pushesTo(f.tablet.token)).toHaveLength(1);
    const mail = mails[0];
    expect(mail?.subject).toBe('Safety alert for Maya');
    expect(mail?.text).toContain('Possible self-harm');
    expect(mail?.text).toContain(
      `https://app.brainspark.test/dashboard/children/${f.childId}/alerts/${alertId}`,
    );
    expect(mail?.html).toContain('Open the dashboard');
    // High-severity alerts cannot be switched off: no unsubscribe header.
    expect(mail?.headers['list-unsubscribe']).toBeUndefined();
    const push = pushesTo(f.phone.token)[0];
    expect(push?.project).toBe('brainspark-test');
    expect(push?.message.notification?.title).toBe('Safety alert for Maya');
    expect(push?.message.data).toMatchObject({ alertId, childId: f.childId, severity: 'high' });
    // Only the first name: the family name never leaves.
    expect(JSON.stringify([mail?.text, mail?.html, push])).not.toContain('Jones');
    expect(await deliveries(db.pool, f.parentId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'email', status: 'sent', attempts: 1 }),
        expect.objectContaining({ channel: 'push', status: 'sent', attempts: 1 }),
      ]),
    );
  });

  it('accepts a raw Pub/Sub push body (the subscription in terraform/notifications.tf)', async () => {
    const f = await family();
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'abuse_signal',
    });
    const res = await request(getTestServer('alert-delivery'))
      .post('/projects/test/topics/parent-alerts')
      .send({
        message: {
          data: Buffer.from(JSON.stringify({ alertId })).toString('base64'),
          messageId: `raw-${alertId}`,
          publishTime: new Date().toISOString(),
        },
        subscription: 'projects/test/subscriptions/alert-delivery',
      });
    expect([200, 204]).toContain(res.status);
    expect(mailsTo(f.parent.email)).toHaveLength(1);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
  });

  it('is sent once when two instances race on the same alert', async () => {
    const f = await family();
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'meeting_request',
    });
    h.fcm.delayMs = 150; // both instances are mid-send at the same time
    const results = await Promise.allSettled([deliverAlert(alertId), deliverAlert(alertId)]);
    // Each target is claimed by one of them; an instance that met the other's claim asks
    // Pub/Sub to redeliver later rather than send a second time.
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlertDeliveryIncomplete);
    }
    expect(mailsTo(f.parent.email)).toHaveLength(1);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
    // The redelivery finds everything settled and sends nothing more.
    await deliverAlert(alertId);
    expect(mailsTo(f.parent.email)).toHaveLength(1);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
    expect(pushesTo(f.tablet.token)).toHaveLength(1);
  });

  it('goes out even when the parent switched notifications off', async () => {
    const f = await family({ push_enabled: false, email_digest: false, streak_reminders: false });
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'self_harm_signal',
    });
    const report = await deliverAlert(alertId);
    expect(report.status).toBe('delivered');
    expect(mailsTo(f.parent.email)).toHaveLength(1);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
  });
});

describe('other alerts', () => {
  it('send nothing at all when push_enabled is off', async () => {
    const f = await family({ push_enabled: false });
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'medium',
      reason: 'unsafe_content',
    });
    const before = h.fcm.requests.length;
    const report = await deliverAlert(alertId);
    expect(report.status).toBe('disabled');
    expect(mailsTo(f.parent.email)).toHaveLength(0);
    expect(h.fcm.requests.length).toBe(before);
    expect(await deliveries(db.pool, f.parentId)).toEqual([]);
  });

  it('carry a one-click unsubscribe that switches alert notifications off', async () => {
    const f = await family();
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'medium',
      reason: 'unsafe_content',
    });
    await deliverAlert(alertId);
    const [mail] = mailsTo(f.parent.email);
    expect(mail?.subject).toBe('BrainSpark notice for Maya');
    expect(mail?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail?.headers['list-unsubscribe']).toMatch(
      /^<https:\/\/api\.brainspark\.test\/parents\/unsubscribe\?token=/,
    );
  });
});

describe('failures', () => {
  it('retries a transient FCM 503 (honouring Retry-After) and sends once', async () => {
    const f = await family();
    h.fcm.queue(f.phone.token, { status: 503, retryAfter: '0' }, { status: 503 });
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'self_harm_signal',
    });
    await deliverAlert(alertId);
    const calls = h.fcm.requests.filter((r) => r.token === f.phone.token).map((r) => r.status);
    expect(calls).toEqual([503, 503, 200]);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
  });

  it('after the last in-process attempt asks Pub/Sub to redeliver; the redelivery sends only what is missing', async () => {
    const f = await family();
    h.fcm.queue(f.phone.token, { status: 503 }, { status: 503 }, { status: 503 });
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'self_harm_signal',
    });
    // The function throws: Pub/Sub retries (and dead-letters after the last attempt).
    const first = await postEvent(pushEvent(alertId, 1));
    expect(first.status).toBe(500);
    expect(mailsTo(f.parent.email)).toHaveLength(1);
    expect(pushesTo(f.phone.token)).toHaveLength(0);
    expect((await postEvent(pushEvent(alertId, 2))).status).toBe(204);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
    expect(pushesTo(f.tablet.token)).toHaveLength(1);
    expect(mailsTo(f.parent.email)).toHaveLength(1);
  });

  it('retries a transient SMTP 451 and sends the email once', async () => {
    const f = await family();
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'abuse_signal',
    });
    h.smtp.failNext(1, 451, 'Greylisted, try again');
    await deliverAlert(alertId);
    expect(mailsTo(f.parent.email)).toHaveLength(1);
    const email = (await deliveries(db.pool, f.parentId)).find((d) => d.channel === 'email');
    expect(email).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('removes a token FCM reports as unregistered and still reaches the other devices', async () => {
    const f = await family();
    h.fcm.unregistered.add(f.tablet.token);
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'self_harm_signal',
    });
    const report = await deliverAlert(alertId);
    expect(report.devicesRemoved).toBe(1);
    expect(report.push[f.tablet.id]).toBe('dropped');
    const { rows } = await db.pool.query('SELECT id FROM parent_devices WHERE parent_id = $1', [
      f.parentId,
    ]);
    expect(rows.map((r) => r.id)).toEqual([f.phone.id]);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
  });

  it('fetches one OAuth token from the metadata server and reuses it', async () => {
    const before = h.fcm.tokensIssued;
    const f = await family();
    for (const reason of ['self_harm_signal', 'abuse_signal']) {
      const alertId = await insertAlert(db.pool, {
        parentId: f.parentId,
        childId: f.childId,
        severity: 'high',
        reason,
      });
      await deliverAlert(alertId);
    }
    expect(h.fcm.tokensIssued - before).toBeLessThanOrEqual(1);
    expect(pushesTo(f.phone.token)).toHaveLength(2);
  });

  it('acknowledges a message it cannot read, and an alert whose family was deleted', async () => {
    const bad = {
      ...pushEvent('x', 1),
      data: { message: { data: Buffer.from('not json').toString('base64'), messageId: 'bad' } },
    };
    expect((await postEvent(bad)).status).toBe(204);
    const f = await family();
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'abuse_signal',
    });
    await db.pool.query('UPDATE parents SET deleted_at = NOW() WHERE id = $1', [f.parentId]);
    expect((await deliverAlert(alertId)).status).toBe('account_deleted');
    expect(mailsTo(f.parent.email)).toHaveLength(0);
  });
});

describe('an instance that died mid-send', () => {
  it('leaves a claim that another instance takes over once its lease expired (a safety alert is never lost)', async () => {
    const f = await family();
    const alertId = await insertAlert(db.pool, {
      parentId: f.parentId,
      childId: f.childId,
      severity: 'high',
      reason: 'self_harm_signal',
    });
    // What a crashed instance leaves: the email claimed, never settled.
    await db.pool.query(
      `INSERT INTO notification_deliveries (parent_id, dedupe_key, kind, channel, status, attempts, claimed_until)
       VALUES ($1, $2, 'alert', 'email', 'sending', 1, $3)`,
      [f.parentId, `alert:${alertId}:email`, new Date(Date.now() + 60_000)],
    );
    // While the lease runs, a redelivery must not send it twice: it asks to be retried.
    await expect(deliverAlert(alertId)).rejects.toBeInstanceOf(AlertDeliveryIncomplete);
    expect(mailsTo(f.parent.email)).toHaveLength(0);
    expect(pushesTo(f.phone.token)).toHaveLength(1); // the other targets went out meanwhile
    await db.pool.query(
      `UPDATE notification_deliveries SET claimed_until = NOW() - INTERVAL '1 second' WHERE dedupe_key = $1`,
      [`alert:${alertId}:email`],
    );
    await deliverAlert(alertId);
    expect(mailsTo(f.parent.email)).toHaveLength(1);
    expect(pushesTo(f.phone.token)).toHaveLength(1);
    const email = (await deliveries(db.pool, f.parentId)).find((d) => d.channel === 'email');
    expect(email).toMatchObject({ status: 'sent', attempts: 2 });
  });
});

describe('end to end', () => {
  it("a child's danger message reaches the parent's inbox and phone within 60 s, without the child's words", async () => {
    const f = await family();
    const published: AlertMessage[] = [];
    setAlertPublisherForTests({ publish: async (m) => void published.push(m) });
    const space = await topicIdOf(db.pool, 'space');
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: space },
      new Date(),
    );
    const started = Date.now();
    const words = 'i want to die because of the dark planets';
    await postMessage(f.learner, conversation.id, { text: words }, { now: new Date() });
    expect(published).toHaveLength(1);
    const message = published[0] as AlertMessage;
    // What Pub/Sub carries is what the function receives.
    const event = pushEvent(message.alertId, 1);
    event.data.message.data = Buffer.from(JSON.stringify(message)).toString('base64');
    expect((await postEvent(event)).status).toBe(204);
    const mail = await h.smtp.waitFor((m) => m.envelopeTo.includes(f.parent.email));
    expect(Date.now() - started).toBeLessThan(60_000);
    const push = pushesTo(f.phone.token)[0];
    expect(push).toBeDefined();
    const everything = JSON.stringify([mail.subject, mail.text, mail.html, push]);
    expect(everything).not.toMatch(/want to die|dark planets/i);
    expect(mail.text).toContain('Possible self-harm');
    expect(mail.text).toContain('Maya');
  });
});
