variable "project_id" {
  type        = string
  description = "Google Cloud project that holds one BrainSpark environment (one project per environment)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Environment name, used in labels and alert texts."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions, Redis, the VPC connector and the jobs. Keep it equal to the database region (us-central1, spec 9.2) so every request stays in one region."
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1."
  }
}

variable "replica_region" {
  type        = string
  description = "Region of the cross-region read replica of the database (spec 9.1). Must differ from the primary's us-central1."
  default     = "us-east1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.replica_region)) && var.replica_region != "us-central1"
    error_message = "replica_region must be a Google Cloud region other than us-central1, where the primary runs."
  }
}

variable "backup_location" {
  type        = string
  description = "Multi-region (or region) where Cloud SQL stores the daily backups; a multi-region keeps them through the loss of us-central1."
  default     = "us"

  validation {
    condition     = can(regex("^[a-z]+(-[a-z]+[0-9])?$", var.backup_location))
    error_message = "backup_location must be a multi-region such as us or a region such as us-east1."
  }
}

variable "database_availability_type" {
  type        = string
  description = "REGIONAL gives the primary a standby in a second zone with automatic failover; ZONAL is cheaper for non-production."
  default     = "REGIONAL"

  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.database_availability_type)
    error_message = "database_availability_type must be ZONAL or REGIONAL."
  }
}

variable "database_name" {
  type        = string
  description = "Name of the application database inside the instance."
  default     = "brainspark"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase PostgreSQL identifier."
  }
}

variable "database_disk_size_gb" {
  type        = number
  description = "Initial SSD size of the primary and the replica, in GB; disk autoresize grows it."
  default     = 20

  validation {
    condition     = var.database_disk_size_gb >= 10 && var.database_disk_size_gb <= 65536
    error_message = "database_disk_size_gb must be between 10 and 65536."
  }
}

variable "database_max_connections" {
  type        = number
  description = "max_connections flag of the primary and the replica. 100 is Cloud SQL's default for the 4 GB db-custom-2-4096 tier; every function's max instances x DB_POOL_MAX plus jobs and a reserve must fit (docs/CAPACITY.md). Raise it only with a larger tier."
  default     = 100

  validation {
    condition     = var.database_max_connections >= 50 && var.database_max_connections <= 1000
    error_message = "database_max_connections must be between 50 and 1000."
  }
}

variable "function_max_instances" {
  type        = map(number)
  description = "Per-function override of max instances (function name => count); the default for each is maxInstances in shared/registry.ts. The sum of instances x DB_POOL_MAX must stay under database_max_connections."
  default     = {}

  validation {
    condition     = alltrue([for n in values(var.function_max_instances) : n >= 1 && n <= 100 && floor(n) == n])
    error_message = "function_max_instances values must be whole numbers between 1 and 100."
  }
}

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the regional subnet."
  default     = "10.10.0.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be an IPv4 CIDR block."
  }
}

variable "vpc_connector_cidr" {
  type        = string
  description = "Unused /28 range for the Serverless VPC Access connector that carries functions' traffic to private IPs."
  default     = "10.8.0.0/28"

  validation {
    condition     = can(cidrhost(var.vpc_connector_cidr, 0)) && endswith(var.vpc_connector_cidr, "/28")
    error_message = "vpc_connector_cidr must be an IPv4 /28 block."
  }
}

variable "vpc_connector_max_instances" {
  type        = number
  description = "Upper bound of the VPC connector's e2-micro instances (throughput scales with them)."
  default     = 3

  validation {
    condition     = var.vpc_connector_max_instances >= 3 && var.vpc_connector_max_instances <= 10
    error_message = "vpc_connector_max_instances must be between 3 and 10."
  }
}

variable "private_services_prefix_length" {
  type        = number
  description = "Prefix length of the range reserved for private services access (Cloud SQL and Memorystore private IPs)."
  default     = 20

  validation {
    condition     = var.private_services_prefix_length >= 16 && var.private_services_prefix_length <= 24
    error_message = "private_services_prefix_length must be between 16 and 24."
  }
}

variable "redis_tier" {
  type        = string
  description = "Memorystore tier: STANDARD_HA (replicated, production) or BASIC (single node)."
  default     = "STANDARD_HA"

  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.redis_tier)
    error_message = "redis_tier must be BASIC or STANDARD_HA."
  }
}

variable "redis_memory_size_gb" {
  type        = number
  description = "Memorystore capacity in GB (rate-limit counters and the leaderboard are small)."
  default     = 1

  validation {
    condition     = var.redis_memory_size_gb >= 1 && var.redis_memory_size_gb <= 300
    error_message = "redis_memory_size_gb must be between 1 and 300."
  }
}

variable "artifacts_bucket" {
  type        = string
  description = "GCS bucket holding the release zips (releases/<release>/<function>.zip) and the migration bundle; scripts/deploy creates it."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.artifacts_bucket))
    error_message = "artifacts_bucket must be a valid GCS bucket name."
  }
}

variable "release" {
  type        = string
  description = "Release id: the folder under releases/ in the artifacts bucket whose zips the functions run (scripts/deploy sets it to the git commit and a timestamp)."

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", var.release))
    error_message = "release must be 1-63 letters, digits, dots, underscores or hyphens."
  }
}

variable "migration_image" {
  type        = string
  description = "Container image that runs the bundled migration runner in the Cloud Run job; any image with Node.js 22 on PATH."
  default     = "docker.io/library/node:22-slim"

  validation {
    condition     = length(var.migration_image) > 0
    error_message = "migration_image must not be empty."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of every function."
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error."
  }
}

variable "cors_origins" {
  type        = list(string)
  description = "Origins allowed to call the HTTP functions from a browser (CORS_ORIGINS)."
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_origins : can(regex("^https?://[^/]+$", o))])
    error_message = "cors_origins must be scheme://host[:port] values without a path."
  }
}

variable "jwt_issuer" {
  type        = string
  description = "iss claim of the access tokens the auth function issues (JWT_ISSUER)."
  default     = "https://auth.brainspark.app"

  validation {
    condition     = can(regex("^https://", var.jwt_issuer))
    error_message = "jwt_issuer must be an https URL."
  }
}

variable "jwt_audience" {
  type        = string
  description = "aud claim of the access tokens (JWT_AUDIENCE)."
  default     = "brainspark-api"

  validation {
    condition     = length(var.jwt_audience) > 0
    error_message = "jwt_audience must not be empty."
  }
}

variable "alert_email" {
  type        = string
  description = "Address that receives the monitoring alerts (failed jobs, Cloud SQL CPU and disk, health uptime)."

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address."
  }
}

variable "database_cpu_alert_threshold" {
  type        = number
  description = "Cloud SQL CPU utilisation (0-1) above which, sustained for 10 minutes, an alert fires."
  default     = 0.8

  validation {
    condition     = var.database_cpu_alert_threshold > 0 && var.database_cpu_alert_threshold < 1
    error_message = "database_cpu_alert_threshold must be between 0 and 1."
  }
}

variable "database_disk_alert_threshold" {
  type        = number
  description = "Cloud SQL disk utilisation (0-1) above which an alert fires."
  default     = 0.85

  validation {
    condition     = var.database_disk_alert_threshold > 0 && var.database_disk_alert_threshold < 1
    error_message = "database_disk_alert_threshold must be between 0 and 1."
  }
}

variable "tutor_provider" {
  type        = string
  description = "TUTOR_PROVIDER: builtin (offline tutor) or vertex (Vertex AI Gemini for children whose parent granted data sharing; grants the functions roles/aiplatform.user)."
  default     = "builtin"

  validation {
    condition     = contains(["builtin", "vertex"], var.tutor_provider)
    error_message = "tutor_provider must be builtin or vertex."
  }
}
