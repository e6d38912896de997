-- Issue 12: a consent revocation is its own event, with its time, IP address and user agent
-- (proof of when and from where a parent withdrew consent), and the grant row is never
-- changed again: consents become strictly append-only. consents.revoked_at stays (spec column)
-- and keeps the revocations recorded before this migration; new ones are rows here.

CREATE TABLE consent_revocations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    consent_id UUID NOT NULL REFERENCES consents(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES parents(id) ON DELETE CASCADE,

    revoked_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    ip_address INET,
    user_agent TEXT,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    -- A grant is revoked once.
    CONSTRAINT consent_revocations_consent_unique UNIQUE (consent_id)
);

CREATE INDEX idx_consent_revocations_parent ON consent_revocations (parent_id);

-- Revocations recorded before this migration (time only: IP and user agent were not kept).
INSERT INTO consent_revocations (consent_id, parent_id, revoked_at, created_at)
SELECT id, parent_id, revoked_at, revoked_at FROM consents WHERE revoked_at IS NOT NULL;

-- Uniqueness among live grants can no longer be an index on consents alone (whether a grant
-- is live depends on this table); the application grants under a per-parent lock instead.
DROP INDEX consents_unique_type;
CREATE INDEX idx_consents_parent_type_version ON consents (parent_id, consent_type, version);

-- Consents: no change at all except erasing the IP address or user agent (data minimisation).
CREATE OR REPLACE FUNCTION prevent_consent_rewrite()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    IF (to_jsonb(NEW) - ARRAY['ip_address', 'user_agent'])
           = (to_jsonb(OLD) - ARRAY['ip_address', 'user_agent'])
       AND (NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address OR NEW.ip_address IS NULL)
       AND (NEW.user_agent IS NOT DISTINCT FROM OLD.user_agent OR NEW.user_agent IS NULL) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent % cannot be changed; record a revocation in consent_revocations', OLD.id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'consents_append_only';
END;
$$;

-- Revocation events are append-only too (the same data-minimisation exception).
CREATE FUNCTION prevent_consent_revocation_rewrite()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    IF (to_jsonb(NEW) - ARRAY['ip_address', 'user_agent'])
           = (to_jsonb(OLD) - ARRAY['ip_address', 'user_agent'])
       AND (NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address OR NEW.ip_address IS NULL)
       AND (NEW.user_agent IS NOT DISTINCT FROM OLD.user_agent OR NEW.user_agent IS NULL) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent revocation % cannot be changed', OLD.id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'consent_revocations_append_only';
END;
$$;

CREATE TRIGGER consent_revocations_append_only
    BEFORE UPDATE ON consent_revocations
    FOR EACH ROW
    EXECUTE FUNCTION prevent_consent_revocation_rewrite();

-- Audited like the grants, so the proof outlives the account (docs/RETENTION.md).
CREATE TRIGGER consent_revocations_audit
    AFTER INSERT OR UPDATE OR DELETE ON consent_revocations
    FOR EACH ROW
    EXECUTE FUNCTION audit_row_change();
