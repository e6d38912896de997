# Parent notifications (issue 13): safety-alert delivery by push (FCM HTTP v1) and email
# (SMTP), the weekly digest and streak reminders. The two jobs are ordinary registry jobs
# (topics and schedules in jobs.tf); this file holds what is specific to notifications:
#   - the alert-delivery function's push subscription on the parent-alerts topic, with
#     retries and a dead-letter topic that pages on-call (an alert that could not be
#     delivered after every attempt is a parent who was not told);
#   - the SMTP credentials and the unsubscribe-link key (Secret Manager);
#   - the FCM API and the runtime identity's right to send.

variable "app_url" {
  description = "The parent app's base URL, for dashboard links in notifications."
  type        = string
  default     = "https://app.brainspark.app"

  validation {
    condition     = can(regex("^https://[^/]+", var.app_url))
    error_message = "app_url must be an https:// URL."
  }
}

variable "api_base_url" {
  description = "Base URL where the functions answer as /<function>/... (the unsubscribe links in emails point at <api_base_url>/parents/unsubscribe)."
  type        = string
  default     = "https://api.brainspark.app"

  validation {
    condition     = can(regex("^https://[^/]+", var.api_base_url))
    error_message = "api_base_url must be an https:// URL."
  }
}

variable "mail_from" {
  description = "From address of notification emails (its domain needs SPF/DKIM for the SMTP provider)."
  type        = string
  default     = "BrainSpark <hello@brainspark.app>"

  validation {
    condition     = can(regex("@", var.mail_from))
    error_message = "mail_from must contain an email address."
  }
}

variable "alert_delivery_max_attempts" {
  description = "Pub/Sub deliveries of one parent alert before it is dead-lettered (each delivery already retries transient errors in-process)."
  type        = number
  default     = 10

  validation {
    condition     = var.alert_delivery_max_attempts >= 5 && var.alert_delivery_max_attempts <= 100
    error_message = "alert_delivery_max_attempts must be between 5 and 100 (Pub/Sub's range)."
  }
}

locals {
  event_functions = { for name, f in local.functions : name => f if f.kind == "event" }

  # Topic name (registry) => the topic and its dead-letter topic.
  event_topics = {
    "parent-alerts" = {
      topic       = google_pubsub_topic.parent_alerts
      dead_letter = google_pubsub_topic.parent_alerts_dead_letter
    }
  }

  notification_environment = {
    PUBLIC_APP_URL = var.app_url
    PUBLIC_API_URL = var.api_base_url
    MAIL_FROM      = var.mail_from
  }

  # Per function kind: HTTP functions verify unsubscribe links; jobs and the alert-delivery
  # function also send mail.
  notification_secrets = {
    http = {
      NOTIFY_TOKEN_KEY = google_secret_manager_secret.notify_token_key
    }
    job = {
      NOTIFY_TOKEN_KEY = google_secret_manager_secret.notify_token_key
      SMTP_URL         = google_secret_manager_secret.smtp_url
    }
    event = {
      NOTIFY_TOKEN_KEY = google_secret_manager_secret.notify_token_key
      SMTP_URL         = google_secret_manager_secret.smtp_url
    }
  }
}

resource "google_project_service" "fcm" {
  service            = "fcm.googleapis.com"
  disable_on_destroy = false
}

# --- Secrets ------------------------------------------------------------------------------

# smtps://user:password@host:465 of the mail provider. Terraform creates the secret, never its
# value: add it with `gcloud secrets versions add brainspark-smtp-url --data-file=-`
# (docs/RUNBOOK.md), so the credentials never enter the Terraform state.
resource "google_secret_manager_secret" "smtp_url" {
  secret_id = "brainspark-smtp-url"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

# HS256 key signing one-click unsubscribe links (they must survive deploys, so it is stored).
resource "random_password" "notify_token_key" {
  length  = 48
  special = false
}

resource "google_secret_manager_secret" "notify_token_key" {
  secret_id = "brainspark-notify-token-key"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "notify_token_key" {
  secret      = google_secret_manager_secret.notify_token_key.id
  secret_data = random_password.notify_token_key.result
}

resource "google_secret_manager_secret_iam_member" "notifications" {
  for_each = {
    "functions-notify-token-key" = { secret = google_secret_manager_secret.notify_token_key.id, member = google_service_account.functions.member }
    "jobs-notify-token-key"      = { secret = google_secret_manager_secret.notify_token_key.id, member = google_service_account.jobs.member }
    "jobs-smtp-url"              = { secret = google_secret_manager_secret.smtp_url.id, member = google_service_account.jobs.member }
  }

  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value.member
}

# --- Push: FCM HTTP v1 ----------------------------------------------------------------------

# Jobs and event functions run as the jobs identity; it sends pushes with its own OAuth token
# from the metadata server (cloudmessaging.messages.create).
resource "google_project_iam_member" "jobs_send_fcm" {
  project = var.project_id
  role    = "roles/firebasecloudmessaging.admin"
  member  = google_service_account.jobs.member
}

# --- Alert delivery: push subscription, retries, dead letters ------------------------------

resource "google_pubsub_topic" "parent_alerts_dead_letter" {
  name                       = "parent-alerts-dead-letter"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

# Keeps dead-lettered alerts for a week so on-call can read and replay them
# (docs/RUNBOOK.md, "An alert was dead-lettered").
resource "google_pubsub_subscription" "parent_alerts_dead_letter" {
  name                       = "parent-alerts-dead-letter-hold"
  topic                      = google_pubsub_topic.parent_alerts_dead_letter.id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}

# Pub/Sub pushes each message to the function (the Functions Framework turns a push body
# into a CloudEvent; the path names the topic). A thrown error is a nack: redelivered with
# exponential backoff, then dead-lettered after the last attempt.
resource "google_pubsub_subscription" "event" {
  for_each = local.event_functions

  name                       = "${each.key}-push"
  topic                      = local.event_topics[each.value.topic].topic.id
  ack_deadline_seconds       = min(600, each.value.timeout_seconds)
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function[each.key].service_config[0].uri}/projects/${var.project_id}/topics/${each.value.topic}"
    oidc_token {
      service_account_email = google_service_account.job_invoker.email
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = local.event_topics[each.value.topic].dead_letter.id
    max_delivery_attempts = var.alert_delivery_max_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

# Only the push identity may invoke the event functions.
resource "google_cloud_run_v2_service_iam_member" "event_invoker" {
  for_each = local.event_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.job_invoker.member
}

# Dead-lettering needs the Pub/Sub service agent to publish to the dead-letter topic and to
# acknowledge on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.parent_alerts_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.event_functions

  subscription = google_pubsub_subscription.event[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# A dead-lettered alert is a parent who was not told: page at once.
resource "google_monitoring_alert_policy" "parent_alert_dead_lettered" {
  display_name = "BrainSpark ${var.environment}: a parent alert could not be delivered"
  combiner     = "OR"

  conditions {
    display_name = "Messages waiting in parent-alerts-dead-letter-hold"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.parent_alerts_dead_letter.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "A parent alert (possibly a high-severity safety alert) failed every delivery attempt. Read the alert-delivery function's logs for the cause (SMTP credentials, FCM permission), fix it, then replay the held messages: docs/RUNBOOK.md, \"An alert was dead-lettered\"."
    mime_type = "text/markdown"
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}
