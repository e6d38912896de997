# Safety flags raised for a parent are published here by the functions (PUBSUB_ALERTS_TOPIC).
resource "google_pubsub_topic" "parent_alerts" {
  name                       = "parent-alerts"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic_iam_member" "functions_publish_parent_alerts" {
  for_each = {
    functions = google_service_account.functions.member
    jobs      = google_service_account.jobs.member
  }

  topic  = google_pubsub_topic.parent_alerts.id
  role   = "roles/pubsub.publisher"
  member = each.value
}
