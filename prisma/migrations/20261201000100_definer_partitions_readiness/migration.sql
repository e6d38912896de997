-- Least-privilege roles can do the two things they need the owner for, and nothing more.
--
-- 1. Partitions belong to the owner of their table, whoever asks for them. Run by the jobs
--    user (partition-maintenance), create_monthly_partition used to create partitions owned
--    by that user, after which the migrator's ALTER TABLE messages ... failed with "must be
--    owner of table messages_YYYY_MM". As SECURITY DEFINER it runs as its owner (the
--    migrator, who owns the partitioned tables), with a fixed search_path so a caller cannot
--    slip in look-alike objects (pg_temp last). scripts/db-grants.ts grants EXECUTE to the
--    jobs user only.
ALTER FUNCTION create_monthly_partition(TEXT, DATE)
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp;
REVOKE EXECUTE ON FUNCTION create_monthly_partition(TEXT, DATE) FROM PUBLIC;

-- 2. Readiness without reading the migration ledger: the health check asks for the latest
--    applied migration through this function instead of SELECTing "_prisma_migrations",
--    which only the migrator may read (the API user used to get 503 forever).
CREATE FUNCTION latest_applied_migration()
RETURNS TEXT
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT migration_name
      FROM public."_prisma_migrations"
     WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL
     ORDER BY migration_name DESC
     LIMIT 1
$$;
