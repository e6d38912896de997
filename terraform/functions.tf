# One Cloud Function (2nd gen) per entry of shared/registry.ts. functions.json is generated
# from the registry by scripts/manifest.ts (CI checks it is current), so the deployed set is
# exactly the set the code registers.

locals {
  manifest = jsondecode(file("${path.module}/functions.json"))

  functions      = { for f in local.manifest.functions : f.name => f }
  http_functions = { for name, f in local.functions : name => f if f.kind == "http" }
  job_functions  = { for name, f in local.functions : name => f if f.kind == "job" }

  # Plain environment: configuration only. Anything secret is in local.function_secrets.
  function_environment = {
    NODE_ENV                 = "production"
    LOG_LEVEL                = var.log_level
    GOOGLE_CLOUD_PROJECT     = var.project_id
    INSTANCE_CONNECTION_NAME = google_sql_database_instance.brainspark.connection_name
    DB_NAME                  = google_sql_database.brainspark.name
    PUBSUB_ALERTS_TOPIC      = google_pubsub_topic.parent_alerts.name
    CORS_ORIGINS             = join(",", var.cors_origins)
    JWT_ISSUER               = var.jwt_issuer
    JWT_AUDIENCE             = var.jwt_audience
    TUTOR_PROVIDER           = var.tutor_provider
  }
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  name        = each.key
  location    = var.region
  description = each.value.description

  build_config {
    runtime     = "nodejs22"
    entry_point = each.value.entry_point
    # Each zip is one esbuild bundle plus a package.json naming only what cannot be bundled
    # (scripts/build.ts); a new release is a new object name, so Terraform redeploys.
    source {
      storage_source {
        bucket = var.artifacts_bucket
        object = "releases/${var.release}/${each.value.source_object}"
      }
    }
    service_account = google_service_account.builder.id
  }

  service_config {
    available_memory = each.value.memory
    # Concurrency above 1 needs a whole vCPU.
    available_cpu                    = "1"
    timeout_seconds                  = each.value.timeout_seconds
    max_instance_request_concurrency = each.value.concurrency
    min_instance_count               = each.value.min_instances
    max_instance_count               = lookup(var.function_max_instances, each.key, each.value.max_instances)
    service_account_email            = each.value.kind == "http" ? google_service_account.functions.email : google_service_account.jobs.email
    all_traffic_on_latest_revision   = true

    # HTTP functions are public HTTPS (the app authenticates with our own tokens); job
    # functions accept only internal traffic, which includes Eventarc's Pub/Sub pushes.
    ingress_settings = each.value.kind == "http" ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"

    vpc_connector                 = google_vpc_access_connector.functions.id
    vpc_connector_egress_settings = "PRIVATE_RANGES_ONLY"

    environment_variables = merge(local.function_environment, local.notification_environment, {
      DB_IAM_USER = each.value.kind == "http" ? google_sql_user.functions.name : google_sql_user.jobs.name
      # Per function (shared/registry.ts): counted in the connection budget (database.tf).
      DB_POOL_MAX = tostring(each.value.db_pool_max)
    })

    dynamic "secret_environment_variables" {
      for_each = merge(each.value.kind == "http" ? local.function_secrets : local.job_secrets, local.notification_secrets[each.value.kind])
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret_id
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = each.value.kind == "job" ? [each.key] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.job[event_trigger.value].id
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.job_invoker.email
    }
  }

  depends_on = [
    google_project_iam_member.builder,
    google_project_iam_member.functions,
    google_project_iam_member.jobs,
    google_secret_manager_secret_iam_member.functions,
    google_secret_manager_secret_iam_member.jobs,
    google_secret_manager_secret_iam_member.notifications,
    # Secret environment variables name version "latest", which must exist at deploy time.
    google_secret_manager_secret_version.redis_url,
    google_secret_manager_secret_version.redis_ca,
    google_storage_bucket_iam_member.builder_reads_sources,
  ]
}

# Public HTTPS for HTTP functions only.
resource "google_cloud_run_v2_service_iam_member" "http_public" {
  for_each = local.http_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Job functions: only the trigger's identity may invoke them.
resource "google_cloud_run_v2_service_iam_member" "job_invoker" {
  for_each = local.job_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.job_invoker.member
}
