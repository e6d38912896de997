locals {
  required_apis = setunion([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "vpcaccess.googleapis.com",
    ],
    # Only when the tutor calls Vertex AI Gemini.
    var.tutor_provider == "vertex" ? ["aiplatform.googleapis.com"] : [],
  )
}

resource "google_project_service" "enabled" {
  for_each = local.required_apis

  project = var.project_id
  service = each.value

  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy = false
}
