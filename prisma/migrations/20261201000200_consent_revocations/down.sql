-- Reverses 20261201000200_consent_revocations: revocations go back onto the grant rows (the
-- old trigger allows setting revoked_at once), then the live-grant index returns.
CREATE OR REPLACE FUNCTION prevent_consent_rewrite()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    IF (to_jsonb(NEW) - ARRAY['revoked_at', 'ip_address', 'user_agent'])
           = (to_jsonb(OLD) - ARRAY['revoked_at', 'ip_address', 'user_agent'])
       AND (NEW.revoked_at IS NOT DISTINCT FROM OLD.revoked_at OR OLD.revoked_at IS NULL)
       AND (NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address OR NEW.ip_address IS NULL)
       AND (NEW.user_agent IS NOT DISTINCT FROM OLD.user_agent OR NEW.user_agent IS NULL) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent % cannot be changed; insert a new consent row instead', OLD.id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'consents_append_only';
END;
$$;

UPDATE consents c SET revoked_at = r.revoked_at
  FROM consent_revocations r
 WHERE r.consent_id = c.id AND c.revoked_at IS NULL;

DROP INDEX idx_consents_parent_type_version;
CREATE UNIQUE INDEX consents_unique_type ON consents (parent_id, consent_type, version)
    WHERE revoked_at IS NULL;

DROP TABLE consent_revocations;
DROP FUNCTION prevent_consent_revocation_rewrite();
