-- Reverses 20261125000000_init. Dropping a partitioned table drops its partitions.
DROP VIEW child_star_balance;

DROP TABLE cognitive_metrics;
DROP TABLE daily_activity;
DROP TABLE rewards;
DROP TABLE streaks;
DROP TABLE progress;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE brain_sparks;
DROP TABLE topic_connections;
DROP TABLE topics;
DROP TABLE consents;
DROP TABLE children;
DROP TABLE parents;

DROP FUNCTION prevent_consent_rewrite();
DROP FUNCTION prevent_prerequisite_topic_delete();
DROP FUNCTION check_topic_prerequisites();
DROP FUNCTION validate_timezone();
DROP FUNCTION enforce_children_per_parent_limit();
DROP FUNCTION create_monthly_partition(TEXT, DATE);
DROP FUNCTION determine_age_group(DATE);
DROP FUNCTION determine_age_group(DATE, DATE);
DROP FUNCTION calculate_age(DATE);
DROP FUNCTION calculate_age(DATE, DATE);
DROP FUNCTION update_updated_at_column();
