# Production migrations run inside the VPC, before new function code goes live: a Cloud Run
# job runs the same migration runner as `npm run db:migrate` (scripts/db.ts, bundled by
# scripts/build.ts with the SQL files next to it) as the `migrator` user over the private IP,
# then scripts/db-grants.ts gives the functions' IAM users their rights on the new schema.
# The release's bundle is read straight from the artifacts bucket through a Cloud Storage
# volume, so no container image has to be built. scripts/deploy executes it with
# `gcloud run jobs execute brainspark-migrate --wait --update-env-vars RELEASE=<release>`.

resource "google_cloud_run_v2_job" "migrate" {
  name     = "brainspark-migrate"
  location = var.region
  # Replaced freely on changes: the job holds no state.
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.migrator.email
      timeout         = "1800s"
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
        # $RELEASE and the users are expanded by the shell at run time (not by Terraform).
        args = [join(" ", [
          "node \"/artifacts/releases/$RELEASE/migrate/index.mjs\" up &&",
          "exec node \"/artifacts/releases/$RELEASE/migrate/grants.mjs\"",
          "--api-user \"$DB_API_USER\" --jobs-user \"$DB_JOBS_USER\"",
        ])]

        env {
          name  = "RELEASE"
          value = var.release
        }
        env {
          name  = "NODE_ENV"
          value = "production"
        }
        env {
          name  = "DB_API_USER"
          value = google_sql_user.functions.name
        }
        env {
          name  = "DB_JOBS_USER"
          value = google_sql_user.jobs.name
        }
        env {
          name = "DATABASE_URL"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.migrator_database_url.secret_id
              version = "latest"
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
    google_secret_manager_secret_iam_member.migrator_database_url,
    google_secret_manager_secret_version.migrator_database_url,
    google_storage_bucket_iam_member.migrator_reads_bundle,
    google_sql_database.brainspark,
  ]
}
