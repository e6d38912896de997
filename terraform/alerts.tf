resource "google_monitoring_notification_channel" "email" {
  display_name = "BrainSpark ${var.environment} on-call"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }

  depends_on = [google_project_service.enabled]
}

# A job run failed: any ERROR (or worse) log line of a job function. Jobs log an error for a
# run that throws (Pub/Sub then retries), so each failed attempt counts once.
resource "google_logging_metric" "job_failures" {
  name        = "brainspark/job_failures"
  description = "ERROR log entries written by the scheduled job functions."
  filter      = "resource.type=\"cloud_run_revision\" AND severity>=ERROR AND resource.labels.service_name=(${join(" OR ", [for name in keys(local.job_functions) : "\"${name}\""])})"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "job"
      value_type  = "STRING"
      description = "Job function that failed."
    }
  }

  label_extractors = {
    job = "EXTRACT(resource.labels.service_name)"
  }
}

resource "google_monitoring_alert_policy" "job_failed" {
  display_name = "BrainSpark ${var.environment}: a scheduled job failed"
  combiner     = "OR"

  conditions {
    display_name = "Job function logged an error"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.job_failures.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.job"]
      }
    }
  }

  documentation {
    content   = "A BrainSpark job failed. Read its logs (Logs Explorer, resource.labels.service_name = the job), fix the cause, then re-run it for the missed period: docs/RUNBOOK.md, \"Re-running a job\"."
    mime_type = "text/markdown"
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}

resource "google_monitoring_alert_policy" "database_cpu" {
  display_name = "BrainSpark ${var.environment}: Cloud SQL CPU high"
  combiner     = "OR"

  conditions {
    display_name = "CPU utilisation above ${var.database_cpu_alert_threshold * 100}% for 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"cloudsql.googleapis.com/database/cpu/utilization\" AND resource.type=\"cloudsql_database\" AND resource.label.database_id=\"${var.project_id}:${google_sql_database_instance.brainspark.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.database_cpu_alert_threshold
      duration        = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MEAN"
      }
    }
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}

resource "google_monitoring_alert_policy" "database_disk" {
  display_name = "BrainSpark ${var.environment}: Cloud SQL disk filling up"
  combiner     = "OR"

  conditions {
    display_name = "Disk utilisation above ${var.database_disk_alert_threshold * 100}%"
    condition_threshold {
      filter          = "metric.type=\"cloudsql.googleapis.com/database/disk/utilization\" AND resource.type=\"cloudsql_database\" AND resource.label.database_id=\"${var.project_id}:${google_sql_database_instance.brainspark.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.database_disk_alert_threshold
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}

locals {
  # The uptime check wants a bare hostname. The function's Cloud Run URI
  # (https://health-<hash>-uc.a.run.app) serves the function at "/", which is what the check
  # requests; the cloudfunctions.net url would carry the function name as a path.
  health_host = regex("^https://([^/:]+)", google_cloudfunctions2_function.function["health"].service_config[0].uri)[0]
}

resource "google_monitoring_uptime_check_config" "health" {
  display_name = "BrainSpark ${var.environment} health"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/"
    port         = 443
    use_ssl      = true
    validate_ssl = true
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = local.health_host
    }
  }
}

resource "google_monitoring_alert_policy" "health_down" {
  display_name = "BrainSpark ${var.environment}: health check failing"
  combiner     = "OR"

  conditions {
    display_name = "Health uptime check fails from more than one location"
    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.label.check_id=\"${google_monitoring_uptime_check_config.health.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "120s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}
