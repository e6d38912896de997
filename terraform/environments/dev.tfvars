# Example for a development project. Copy, set your own project, bucket and email.
project_id                 = "brainspark-dev"
environment                = "dev"
region                     = "us-central1"
replica_region             = "us-east1"
database_availability_type = "ZONAL"
redis_tier                 = "BASIC"
redis_memory_size_gb       = 1
artifacts_bucket           = "brainspark-dev-artifacts"
alert_email                = "dev-alerts@brainspark.app"
log_level                  = "debug"
cors_origins               = ["http://localhost:5173"]
# release is set by scripts/deploy (-var release=...).
