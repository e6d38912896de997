# Example for production. Copy, set your own project, bucket and email.
project_id                 = "brainspark-prod"
environment                = "prod"
region                     = "us-central1"
replica_region             = "us-east1"
backup_location            = "us"
database_availability_type = "REGIONAL"
database_disk_size_gb      = 50
database_max_connections   = 100
redis_tier                 = "STANDARD_HA"
redis_memory_size_gb       = 1
artifacts_bucket           = "brainspark-prod-artifacts"
alert_email                = "oncall@brainspark.app"
log_level                  = "info"
cors_origins               = ["https://app.brainspark.app"]
# release is set by scripts/deploy (-var release=...).
