# Every secret the services read lives in Secret Manager and reaches them as a secret
# environment variable or volume, never as a plain environment variable.

resource "google_secret_manager_secret" "migrator_password" {
  secret_id = "brainspark-db-migrator-password"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "migrator_password" {
  secret      = google_secret_manager_secret.migrator_password.id
  secret_data = random_password.migrator.result
}

# The migration job's DATABASE_URL: the migrator over the instance's private IP. TLS is
# required by the instance (ssl_mode ENCRYPTED_ONLY); the address is only reachable inside
# the VPC, and the instance's own CA is not in Node's trust store, hence no-verify.
resource "google_secret_manager_secret" "migrator_database_url" {
  secret_id = "brainspark-db-migrator-url"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "migrator_database_url" {
  secret      = google_secret_manager_secret.migrator_database_url.id
  secret_data = "postgresql://${google_sql_user.migrator.name}:${random_password.migrator.result}@${google_sql_database_instance.brainspark.private_ip_address}:5432/${google_sql_database.brainspark.name}?sslmode=no-verify"
}

# Redis URL with the AUTH string in it.
resource "google_secret_manager_secret" "redis_url" {
  secret_id = "brainspark-redis-url"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret      = google_secret_manager_secret.redis_url.id
  secret_data = "redis://:${google_redis_instance.cache.auth_string}@${google_redis_instance.cache.host}:${google_redis_instance.cache.port}"
}

# JSON array of private JWKs that sign access tokens (JWT_SIGNING_KEYS). Terraform creates the
# secret but never its value: scripts/deploy adds the first key set, rotation adds versions
# (docs/RUNBOOK.md), and the private keys never enter the Terraform state.
resource "google_secret_manager_secret" "jwt_signing_keys" {
  secret_id = "brainspark-jwt-signing-keys"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

locals {
  # Secret environment variables: variable name => secret. HTTP functions sign and verify
  # access tokens; jobs never do, so they do not get the signing keys.
  function_secrets = {
    JWT_SIGNING_KEYS = google_secret_manager_secret.jwt_signing_keys
    REDIS_URL        = google_secret_manager_secret.redis_url
  }
  job_secrets = {
    REDIS_URL = google_secret_manager_secret.redis_url
  }
}

resource "google_secret_manager_secret_iam_member" "functions" {
  for_each = local.function_secrets

  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions.member
}

resource "google_secret_manager_secret_iam_member" "jobs" {
  for_each = local.job_secrets

  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.jobs.member
}

resource "google_secret_manager_secret_iam_member" "migrator_database_url" {
  secret_id = google_secret_manager_secret.migrator_database_url.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.migrator.member
}
