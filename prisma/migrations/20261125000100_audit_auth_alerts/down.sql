-- Reverses 20261125000100_audit_auth_alerts.
DROP TABLE idempotency_keys;
DROP TABLE parent_alerts;
DROP TABLE refresh_tokens;

DROP TRIGGER consents_audit ON consents;
DROP TRIGGER children_audit ON children;
DROP TRIGGER parents_audit ON parents;
DROP TABLE audit_log;
DROP FUNCTION prevent_audit_log_update();
DROP FUNCTION audit_row_change();
