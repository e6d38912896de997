# Memorystore for Redis 7: rate-limit counters and the leaderboard. Private services access on
# the VPC, AUTH on, TLS on: the connection URL (rediss://, with the AUTH string) and the
# instance's CA certificates are secrets the functions read; shared/redis.ts trusts only that
# CA and checks the certificate names the instance.
resource "google_redis_instance" "cache" {
  name           = "brainspark-redis"
  tier           = var.redis_tier
  memory_size_gb = var.redis_memory_size_gb
  region         = var.region
  redis_version  = "REDIS_7_2"

  authorized_network = google_compute_network.vpc.id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  reserved_ip_range  = google_compute_global_address.private_services.name
  auth_enabled       = true
  # The AUTH string and every key would otherwise cross the VPC in clear. TLS listens on 6378.
  transit_encryption_mode = "SERVER_AUTHENTICATION"

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 4
        minutes = 30
      }
    }
  }

  depends_on = [google_service_networking_connection.private_services]
}
