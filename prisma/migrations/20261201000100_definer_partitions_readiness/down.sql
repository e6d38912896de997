-- Reverses 20261201000100_definer_partitions_readiness.
DROP FUNCTION latest_applied_migration();
GRANT EXECUTE ON FUNCTION create_monthly_partition(TEXT, DATE) TO PUBLIC;
ALTER FUNCTION create_monthly_partition(TEXT, DATE)
    SECURITY INVOKER
    RESET search_path;
