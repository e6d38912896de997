// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations are plain strings here.
// terraform/notifications.tf: alert delivery is a push subscription with retries and a
// dead-letter topic that pages; mail and link secrets come from Secret Manager; the runtime
// identity may send FCM pushes.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, manifestPath } from '../../scripts/manifest.ts';
import { eventFunctions, functionRegistry } from '../../shared/registry.ts';
import { loadModule, resource, type TerraformModule } from './hcl.ts';

let mod: TerraformModule;
let manifest: Manifest;

beforeAll(async () => {
  mod = await loadModule();
  manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
});

describe('alert delivery', () => {
  it('registers alert-delivery as an event function on the parent-alerts topic', () => {
    expect(eventFunctions.map((f) => [f.name, f.topic])).toEqual([
      ['alert-delivery', 'parent-alerts'],
    ]);
    expect(manifest.functions.find((f) => f.name === 'alert-delivery')).toMatchObject({
      kind: 'event',
      topic: 'parent-alerts',
      schedule: null,
    });
    // Every event topic named in the registry has a topic and a dead-letter topic in Terraform.
    const topics = Object.keys(mod.locals.event_topics as object);
    for (const f of eventFunctions) expect(topics).toContain(f.topic);
  });

  it('pushes with retries and backoff, and dead-letters after the last attempt', () => {
    const sub = resource(mod, 'google_pubsub_subscription', 'event');
    expect(sub.for_each).toBe('${local.event_functions}');
    expect(sub.topic).toBe('${local.event_topics[each.value.topic].topic.id}');
    expect(sub.push_config[0].oidc_token[0].service_account_email).toBe(
      '${google_service_account.job_invoker.email}',
    );
    expect(sub.push_config[0].push_endpoint).toContain(
      '/projects/${var.project_id}/topics/${each.value.topic}',
    );
    expect(sub.retry_policy[0]).toMatchObject({ minimum_backoff: '10s', maximum_backoff: '600s' });
    expect(sub.dead_letter_policy[0]).toEqual({
      dead_letter_topic: '${local.event_topics[each.value.topic].dead_letter.id}',
      max_delivery_attempts: '${var.alert_delivery_max_attempts}',
    });
    expect(
      (mod.locals.event_topics as Record<string, { dead_letter: string }>)['parent-alerts']
        ?.dead_letter,
    ).toBe('${google_pubsub_topic.parent_alerts_dead_letter}');
    // The Pub/Sub service agent may move messages to the dead-letter topic.
    const publisher = resource(mod, 'google_pubsub_topic_iam_member', 'dead_letter_publisher');
    expect(publisher.role).toBe('roles/pubsub.publisher');
    expect(publisher.member).toMatch(/gcp-sa-pubsub/);
    expect(
      resource(mod, 'google_pubsub_subscription_iam_member', 'dead_letter_subscriber').role,
    ).toBe('roles/pubsub.subscriber');
  });

  it('pages on-call when an alert is dead-lettered', () => {
    const policy = resource(mod, 'google_monitoring_alert_policy', 'parent_alert_dead_lettered');
    const condition = policy.conditions[0].condition_threshold[0];
    expect(condition.filter).toContain('num_undelivered_messages');
    expect(condition.filter).toContain(
      '${google_pubsub_subscription.parent_alerts_dead_letter.name}',
    );
    expect(condition.threshold_value).toBe(0);
    expect(policy.notification_channels).toEqual([
      '${google_monitoring_notification_channel.email.id}',
    ]);
    expect(resource(mod, 'google_pubsub_subscription', 'parent_alerts_dead_letter').topic).toBe(
      '${google_pubsub_topic.parent_alerts_dead_letter.id}',
    );
  });

  it('lets only the push identity invoke the event functions', () => {
    const grant = resource(mod, 'google_cloud_run_v2_service_iam_member', 'event_invoker');
    expect(grant.for_each).toBe('${local.event_functions}');
    expect(grant.member).toBe('${google_service_account.job_invoker.member}');
  });
});

describe('secrets and permissions', () => {
  it('gives every function kind its notification secrets from Secret Manager', () => {
    const secrets = mod.locals.notification_secrets as Record<string, Record<string, string>>;
    for (const kind of new Set(functionRegistry.map((f) => f.kind)))
      expect(secrets[kind], kind).toBeDefined();
    expect(Object.keys(secrets.http ?? {})).toEqual(['NOTIFY_TOKEN_KEY']);
    for (const kind of ['job', 'event']) {
      expect(secrets[kind]).toEqual({
        NOTIFY_TOKEN_KEY: '${google_secret_manager_secret.notify_token_key}',
        SMTP_URL: '${google_secret_manager_secret.smtp_url}',
      });
    }
    // The SMTP credentials never pass through Terraform: no version resource holds them.
    expect(mod.resource.google_secret_manager_secret_version?.smtp_url).toBeUndefined();
    const grants = resource(
      mod,
      'google_secret_manager_secret_iam_member',
      'notifications',
    ).for_each;
    expect(Object.keys(grants).sort()).toEqual([
      'functions-notify-token-key',
      'jobs-notify-token-key',
      'jobs-smtp-url',
    ]);
  });

  it('lets the jobs identity (jobs and event functions) send FCM pushes', () => {
    const fcm = resource(mod, 'google_project_iam_member', 'jobs_send_fcm');
    expect(fcm.role).toBe('roles/firebasecloudmessaging.admin');
    expect(fcm.member).toBe('${google_service_account.jobs.member}');
    expect(resource(mod, 'google_project_service', 'fcm').service).toBe('fcm.googleapis.com');
  });

  it('passes the notification configuration to every function', () => {
    const fn = resource(mod, 'google_cloudfunctions2_function', 'function');
    expect(fn.service_config[0].environment_variables).toContain('local.notification_environment');
    expect(Object.keys(mod.locals.notification_environment as object).sort()).toEqual([
      'MAIL_FROM',
      'PUBLIC_API_URL',
      'PUBLIC_APP_URL',
    ]);
  });
});
