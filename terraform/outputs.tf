output "function_urls" {
  description = "HTTPS URL of every HTTP function, by function name."
  value       = { for name, f in local.http_functions : name => google_cloudfunctions2_function.function[name].url }
}

output "health_url" {
  description = "URL of the health function (the uptime check probes it)."
  value       = google_cloudfunctions2_function.function["health"].url
}

output "job_topics" {
  description = "Pub/Sub topic of every scheduled job; publish {} (or {\"date\":\"YYYY-MM-DD\"}) to run one now."
  value       = { for name, t in google_pubsub_topic.job : name => t.name }
}

output "instance_connection_name" {
  description = "Cloud SQL connection name (project:region:instance) used by the connector and cloud-sql-proxy."
  value       = google_sql_database_instance.brainspark.connection_name
}

output "database_private_ip" {
  description = "Private IP of the primary database instance."
  value       = google_sql_database_instance.brainspark.private_ip_address
}

output "replica_connection_name" {
  description = "Connection name of the cross-region read replica."
  value       = google_sql_database_instance.brainspark_replica.connection_name
}

output "database_iam_users" {
  description = "PostgreSQL users the HTTP functions and the job functions log in as (IAM authentication)."
  value = {
    http = google_sql_user.functions.name
    jobs = google_sql_user.jobs.name
  }
}

output "migrator_password_secret" {
  description = "Secret Manager secret holding the migrator user's password."
  value       = google_secret_manager_secret.migrator_password.secret_id
}

output "migrator_password" {
  description = "Password of the migrator database user (also in Secret Manager)."
  value       = random_password.migrator.result
  sensitive   = true
}

output "redis_host" {
  description = "Private IP of the Memorystore Redis instance."
  value       = google_redis_instance.cache.host
}

output "redis_port" {
  description = "Port of the Memorystore Redis instance."
  value       = google_redis_instance.cache.port
}

output "redis_auth_string" {
  description = "AUTH string of the Redis instance (also inside the brainspark-redis-url secret)."
  value       = google_redis_instance.cache.auth_string
  sensitive   = true
}

output "jwt_signing_keys_secret" {
  description = "Secret Manager secret that holds the access-token signing keys (JWT_SIGNING_KEYS)."
  value       = google_secret_manager_secret.jwt_signing_keys.secret_id
}

output "functions_service_accounts" {
  description = "Service accounts the HTTP functions and the job functions run as."
  value = {
    http = google_service_account.functions.email
    jobs = google_service_account.jobs.email
  }
}

output "migration_job" {
  description = "Cloud Run job that applies database migrations, grants and the seed from inside the VPC."
  value       = google_cloud_run_v2_job.migrate.name
}

output "restore_job" {
  description = "Cloud Run job that copies a table from a recovery instance into production's recovered schema (scripts/restore-table)."
  value       = google_cloud_run_v2_job.restore.name
}
