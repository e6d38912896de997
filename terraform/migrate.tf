# Database operations run inside the VPC as Cloud Run jobs, so no step needs a machine with a
# route to the private IPs (and none needs internet from inside the VPC):
# - brainspark-migrate, on every deploy before new function code goes live: the migration
#   runner of `npm run db:migrate` (scripts/db.ts), then scripts/db-grants.ts (the functions'
#   IAM users' rights on the new schema), then the idempotent seed (scripts/seed.ts: the
#   constellation and the week's brain sparks), all as the `migrator` user over the private IP;
# - brainspark-restore, during a table recovery (docs/RUNBOOK.md): scripts/restore-job.ts
#   copies one table from a recovery instance into production's `recovered` schema and,
#   when asked, puts back the rows the live table lost.
# Both run bundles of scripts/build.ts (dist/migrate/) read straight from the release folder
# of the artifacts bucket through a Cloud Storage volume, so no container image is built. They
# verify the Cloud SQL server certificate against the instance's CA (DB_SERVER_CA).
# scripts/deploy executes the first with
# `gcloud run jobs execute brainspark-migrate --wait --update-env-vars RELEASE=<release>`.

locals {
  operations_jobs = {
    migrate = {
      name = "brainspark-migrate"
      # $RELEASE and the users are expanded by the shell at run time (not by Terraform).
      script = join(" ", [
        "node \"/artifacts/releases/$RELEASE/migrate/index.mjs\" up &&",
        "node \"/artifacts/releases/$RELEASE/migrate/grants.mjs\"",
        "--api-user \"$DB_API_USER\" --jobs-user \"$DB_JOBS_USER\" &&",
        "exec node \"/artifacts/releases/$RELEASE/migrate/seed.mjs\"",
      ])
      timeout = "1800s"
    }
    restore = {
      name = "brainspark-restore"
      # RESTORE_* variables are set per execution by scripts/restore-table.
      script  = "exec node \"/artifacts/releases/$RELEASE/migrate/restore.mjs\""
      timeout = "3600s"
    }
  }
}

resource "google_cloud_run_v2_job" "migrate" {
  name     = local.operations_jobs.migrate.name
  location = var.region
  # Replaced freely on changes: the job holds no state.
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.migrator.email
      timeout         = local.operations_jobs.migrate.timeout
      # A failed migration is rolled back by its transaction and must be looked at, not retried.
      max_retries = 0

      vpc_access {
        connector = google_vpc_access_connector.functions.id
        egress    = "PRIVATE_RANGES_ONLY"
      }

      volumes {
        name = "artifacts"
        gcs {
          bucket    = var.artifacts_bucket
          read_only = true
        }
      }

      containers {
        image   = var.migration_image
        command = ["sh", "-c"]
        args    = [local.operations_jobs.migrate.script]

        env {
          name  = "RELEASE"
          value = var.release
        }
        env {
          name  = "NODE_ENV"
          value = "production"
        }
        env {
          name  = "DB_SERVER_NAME"
          value = local.database_server_name
        }
        env {
          name  = "DB_API_USER"
          value = google_sql_user.functions.name
        }
        env {
          name  = "DB_JOBS_USER"
          value = google_sql_user.jobs.name
        }
        dynamic "env" {
          for_each = local.migrator_secrets
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value.secret_id
                version = "latest"
              }
            }
          }
        }

        volume_mounts {
          name       = "artifacts"
          mount_path = "/artifacts"
        }

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.migrator,
    google_secret_manager_secret_version.migrator_database_url,
    google_secret_manager_secret_version.db_server_ca,
    google_storage_bucket_iam_member.migrator_reads_bundle,
    google_sql_database.brainspark,
  ]
}

resource "google_cloud_run_v2_job" "restore" {
  name                = local.operations_jobs.restore.name
  location            = var.region
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.migrator.email
      timeout         = local.operations_jobs.restore.timeout
      # Each step is one transaction or idempotent; an operator re-runs it after reading why.
      max_retries = 0

      vpc_access {
        connector = google_vpc_access_connector.functions.id
        egress    = "PRIVATE_RANGES_ONLY"
      }

      volumes {
        name = "artifacts"
        gcs {
          bucket    = var.artifacts_bucket
          read_only = true
        }
      }

      containers {
        image   = var.migration_image
        command = ["sh", "-c"]
        args    = [local.operations_jobs.restore.script]

        env {
          name  = "RELEASE"
          value = var.release
        }
        env {
          name  = "NODE_ENV"
          value = "production"
        }
        env {
          name  = "DB_SERVER_NAME"
          value = local.database_server_name
        }
        dynamic "env" {
          for_each = local.migrator_secrets
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value.secret_id
                version = "latest"
              }
            }
          }
        }

        volume_mounts {
          name       = "artifacts"
          mount_path = "/artifacts"
        }

        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.migrator,
    google_secret_manager_secret_version.migrator_database_url,
    google_secret_manager_secret_version.db_server_ca,
    google_storage_bucket_iam_member.migrator_reads_bundle,
  ]
}

locals {
  # Cloud SQL names each instance's server certificate "<project>:<instance>" (its subject
  # CN), which is what the migrator checks besides the CA.
  database_server_name = "${var.project_id}:${google_sql_database_instance.brainspark.name}"
}
