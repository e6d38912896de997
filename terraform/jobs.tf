# Per job: a Pub/Sub topic, the function's event trigger on it (functions.tf, retried on
# failure) and a Cloud Scheduler job publishing to it on the registry's cron and time zone.

resource "google_pubsub_topic" "job" {
  for_each = local.job_functions

  name = "job-${each.key}"
  # A message nobody could deliver within a day is stale: the job runs again on schedule.
  message_retention_duration = "86400s"

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_scheduler_job" "job" {
  for_each = local.job_functions

  name        = "job-${each.key}"
  region      = var.region
  description = each.value.description
  schedule    = each.value.schedule.cron
  time_zone   = each.value.schedule.time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.job[each.key].id
    # An empty object: the job runs for the period the event's publish time falls in.
    data = base64encode(jsonencode({}))
  }

  retry_config {
    retry_count = 3
  }

  depends_on = [google_project_service.enabled]
}
