# Service accounts with only what each needs; every grant is on the narrowest resource the
# API allows (a secret, a topic, a bucket, a service) and project-wide only where it cannot be.

# Runtime identity of the HTTP functions: data access only in the database.
resource "google_service_account" "functions" {
  account_id   = "brainspark-functions"
  display_name = "BrainSpark HTTP functions runtime"
}

# Runtime identity of the scheduled job functions: also creates and drops partitions.
resource "google_service_account" "jobs" {
  account_id   = "brainspark-jobs"
  display_name = "BrainSpark job functions runtime"
}

# Builds the functions' containers (Cloud Build), instead of the over-privileged default.
resource "google_service_account" "builder" {
  account_id   = "brainspark-builder"
  display_name = "BrainSpark function builds"
}

# Identity Eventarc uses to deliver Pub/Sub messages to the job functions.
resource "google_service_account" "job_invoker" {
  account_id   = "brainspark-job-invoker"
  display_name = "BrainSpark job triggers"
}

# Runs the production migrations (Cloud Run job inside the VPC).
resource "google_service_account" "migrator" {
  account_id   = "brainspark-migrator"
  display_name = "BrainSpark database migrations"
}

locals {
  functions_project_roles = setunion(
    [
      "roles/cloudsql.client",       # open connections through the Cloud SQL connector
      "roles/cloudsql.instanceUser", # log in to PostgreSQL with IAM authentication
      "roles/logging.logWriter",
    ],
    # Only when the tutor calls Vertex AI Gemini.
    var.tutor_provider == "vertex" ? ["roles/aiplatform.user"] : [],
  )
  jobs_project_roles = toset([
    "roles/cloudsql.client",
    "roles/cloudsql.instanceUser",
    "roles/logging.logWriter",
  ])
  builder_project_roles = toset([
    "roles/artifactregistry.writer", # push the built function images
    "roles/logging.logWriter",
  ])
}

resource "google_project_iam_member" "functions" {
  for_each = local.functions_project_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.functions.member
}

resource "google_project_iam_member" "jobs" {
  for_each = local.jobs_project_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.jobs.member
}

resource "google_project_iam_member" "builder" {
  for_each = local.builder_project_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.builder.member
}

resource "google_storage_bucket_iam_member" "builder_reads_sources" {
  bucket = var.artifacts_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.builder.member
}

resource "google_storage_bucket_iam_member" "migrator_reads_bundle" {
  bucket = var.artifacts_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.migrator.member
}

resource "google_project_iam_member" "migrator_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.migrator.member
}

resource "google_project_iam_member" "job_invoker_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.job_invoker.member
}

# Pub/Sub signs the push requests to the job functions with the invoker's identity.
resource "google_service_account_iam_member" "pubsub_mints_invoker_tokens" {
  service_account_id = google_service_account.job_invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
