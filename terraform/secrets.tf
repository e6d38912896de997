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
# required by the instance (ssl_mode ENCRYPTED_ONLY) and verified by the client: the URL names
# no sslmode, and scripts/db-connection.ts trusts only the instance's CA (DB_SERVER_CA,
# below) and checks that the certificate names this instance (DB_SERVER_NAME).
resource "google_secret_manager_secret" "migrator_database_url" {
  secret_id = "brainspark-db-migrator-url"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "migrator_database_url" {
  secret      = google_secret_manager_secret.migrator_database_url.id
  secret_data = "postgresql://${google_sql_user.migrator.name}:${random_password.migrator.result}@${google_sql_database_instance.brainspark.private_ip_address}:5432/${google_sql_database.brainspark.name}"
}

# CA certificates of the primary (public, but kept beside the URL they verify so both rotate
# together). Cloud SQL signs each instance's server certificate with the instance's own CA.
resource "google_secret_manager_secret" "db_server_ca" {
  secret_id = "brainspark-db-server-ca"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "db_server_ca" {
  secret      = google_secret_manager_secret.db_server_ca.id
  secret_data = google_sql_database_instance.brainspark.server_ca_cert[0].cert
}

# Redis URL with the AUTH string in it; rediss:// because transit encryption is on.
resource "google_secret_manager_secret" "redis_url" {
  secret_id = "brainspark-redis-url"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret      = google_secret_manager_secret.redis_url.id
  secret_data = "rediss://:${google_redis_instance.cache.auth_string}@${google_redis_instance.cache.host}:${google_redis_instance.cache.port}"
}

# Every CA the instance currently trusts (two while Memorystore rotates its CA), as one PEM
# bundle: REDIS_TLS_CA.
resource "google_secret_manager_secret" "redis_ca" {
  secret_id = "brainspark-redis-ca"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "redis_ca" {
  secret      = google_secret_manager_secret.redis_ca.id
  secret_data = join("", [for c in google_redis_instance.cache.server_ca_certs : c.cert])
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
    REDIS_TLS_CA     = google_secret_manager_secret.redis_ca
  }
  job_secrets = {
    REDIS_URL    = google_secret_manager_secret.redis_url
    REDIS_TLS_CA = google_secret_manager_secret.redis_ca
  }
  # The migrate, seed and restore jobs (migrate.tf).
  migrator_secrets = {
    DATABASE_URL = google_secret_manager_secret.migrator_database_url
    DB_SERVER_CA = google_secret_manager_secret.db_server_ca
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

resource "google_secret_manager_secret_iam_member" "migrator" {
  for_each = local.migrator_secrets

  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.migrator.member
}
