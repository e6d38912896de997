# Cloud SQL for PostgreSQL. The primary instance is spec section 9.2 attribute for attribute;
# the additions implement section 9.1 (7 days of WAL for point-in-time recovery, a cross-region
# replica, backups kept in a multi-region) and IAM database authentication for the functions.

resource "google_sql_database_instance" "brainspark" {
  name             = "brainspark-db"
  database_version = "POSTGRES_15"
  region           = "us-central1"

  settings {
    tier = "db-custom-2-4096"
    # Custom machine tiers exist only in the Enterprise edition; say so rather than depend on
    # the API's default, which is Enterprise Plus for newer versions.
    edition           = "ENTERPRISE"
    availability_type = var.database_availability_type
    disk_type         = "PD_SSD"
    disk_size         = var.database_disk_size_gb
    disk_autoresize   = true
    # Refused by the Cloud SQL API itself, whatever Terraform or gcloud asks; the
    # deletion_protection argument below only guards this Terraform configuration.
    deletion_protection_enabled = true

    backup_configuration {
      enabled                        = true
      start_time                     = "03:00"
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = 7
      location                       = var.backup_location
      backup_retention_settings {
        retained_backups = 30
        retention_unit   = "COUNT"
      }
    }

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc.id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    maintenance_window {
      day  = 7 # Sunday
      hour = 4 # 4 AM UTC
    }

    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }

    # Explicit, so the connection budget (locals below, docs/CAPACITY.md) is checked against
    # a known number rather than the tier's default (100 for 3.75-6 GB, this tier's 4 GB).
    database_flags {
      name  = "max_connections"
      value = tostring(var.database_max_connections)
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = false
      record_client_address   = false
    }
  }

  deletion_protection = true

  # The private IP needs the peering in place before the instance is created.
  depends_on = [google_service_networking_connection.private_services]

  lifecycle {
    # Every connection the functions, jobs and operations jobs may open at their maximum
    # scale must fit under max_connections, or a burst ends in "too many clients".
    precondition {
      condition     = local.database_connection_demand <= var.database_max_connections
      error_message = "The functions may open more database connections (max instances x DB_POOL_MAX, plus jobs and reserve) than max_connections allows: lower function_max_instances or raise database_max_connections with the tier (docs/CAPACITY.md)."
    }
  }
}

locals {
  # Connections each function may hold at most: instances x pool, per registry entry.
  function_database_connections = {
    for name, f in local.functions : name => lookup(var.function_max_instances, name, f.max_instances) * f.db_pool_max
  }
  # The migrate (and seed) job and the restore job hold one connection each to the primary;
  # the reserve covers superuser_reserved_connections (3), Cloud SQL's own agents and an
  # operator's session. The same figures are in test/terraform/connection-budget.test.ts.
  operations_database_connections = 2
  database_connection_reserve     = 10
  database_connection_demand      = sum(values(local.function_database_connections)) + local.operations_database_connections + local.database_connection_reserve
}

# Cross-region read replica (spec 9.1): a continuously updated copy in another region that can
# be promoted if us-central1 is lost. The 14-day cross-region retention is met by the backups,
# which live in var.backup_location (a multi-region) for 30 days.
resource "google_sql_database_instance" "brainspark_replica" {
  name                 = "brainspark-db-replica"
  database_version     = "POSTGRES_15"
  region               = var.replica_region
  master_instance_name = google_sql_database_instance.brainspark.name

  replica_configuration {
    failover_target = false
  }

  settings {
    tier              = "db-custom-2-4096"
    edition           = "ENTERPRISE"
    availability_type = "ZONAL"
    disk_type         = "PD_SSD"
    disk_size         = var.database_disk_size_gb
    disk_autoresize   = true

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc.id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }

    # PostgreSQL refuses to run a replica whose max_connections is below the primary's.
    database_flags {
      name  = "max_connections"
      value = tostring(var.database_max_connections)
    }
  }

  deletion_protection = true
}

resource "google_sql_database" "brainspark" {
  name     = var.database_name
  instance = google_sql_database_instance.brainspark.name
}

# The functions log in as their service account (IAM authentication through the Cloud SQL
# connector): no database password exists for them at all. What each may do in the schema is
# granted by scripts/db-grants.ts after every migration (see migrate.tf).
resource "google_sql_user" "functions" {
  instance = google_sql_database_instance.brainspark.name
  # PostgreSQL IAM users are the service account email without ".gserviceaccount.com".
  name = trimsuffix(google_service_account.functions.email, ".gserviceaccount.com")
  type = "CLOUD_IAM_SERVICE_ACCOUNT"
}

resource "google_sql_user" "jobs" {
  instance = google_sql_database_instance.brainspark.name
  name     = trimsuffix(google_service_account.jobs.email, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

# Migrations need DDL rights and run as a password user; its password lives only in Secret
# Manager (and in the Terraform state, which is why the state bucket is restricted).
resource "random_password" "migrator" {
  length = 40
  # Letters and digits only: the password is embedded in a postgresql:// URL.
  special = false
}

resource "google_sql_user" "migrator" {
  instance = google_sql_database_instance.brainspark.name
  name     = "migrator"
  password = random_password.migrator.result
  type     = "BUILT_IN"
  # The migrator owns the schema; PostgreSQL refuses to drop a role that owns objects.
  deletion_policy = "ABANDON"
}
