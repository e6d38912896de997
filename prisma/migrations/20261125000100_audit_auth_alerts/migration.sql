-- Tables the product needs that the spec lacks (issue 2, section 2; issue 4's idempotency),
-- in the spec's conventions: UUID keys, snake_case, TIMESTAMPTZ, named constraints.

-- ---------------------------------------------------------------------------------------
-- Audit trail (spec principle 4): every change to parents, children and consents.
-- ---------------------------------------------------------------------------------------

CREATE TABLE audit_log (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    table_name VARCHAR(63) NOT NULL,
    row_id UUID NOT NULL,
    action VARCHAR(6) NOT NULL,

    -- Whole rows as JSON, minus secrets (password_hash, pin_hash).
    old_values JSONB,
    new_values JSONB,
    -- For UPDATE: the columns that changed (names only, so a PIN change is visible without
    -- its hash). updated_at alone is not a change. Empty for INSERT and DELETE.
    changed_columns TEXT[] NOT NULL DEFAULT '{}',

    -- Who: the application sets it per transaction with
    -- SELECT set_config('brainspark.actor', 'parent:<uuid>', true); NULL when unset.
    changed_by VARCHAR(255),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT audit_log_action_check CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    CONSTRAINT audit_log_values_check CHECK (
        (action = 'INSERT' AND old_values IS NULL AND new_values IS NOT NULL)
        OR (action = 'UPDATE' AND old_values IS NOT NULL AND new_values IS NOT NULL)
        OR (action = 'DELETE' AND old_values IS NOT NULL AND new_values IS NULL)
    )
);

CREATE INDEX idx_audit_log_row ON audit_log (table_name, row_id, changed_at DESC);
CREATE INDEX idx_audit_log_changed_at ON audit_log (changed_at);

CREATE FUNCTION audit_row_change()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    secret_columns CONSTANT TEXT[] := ARRAY['password_hash', 'pin_hash'];
    old_row JSONB;
    new_row JSONB;
    changed TEXT[];
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;

    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(n.key ORDER BY n.key)
          INTO changed
          FROM jsonb_each(new_row) AS n
         WHERE n.value IS DISTINCT FROM old_row -> n.key
           AND n.key <> 'updated_at';
        IF changed IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;

    INSERT INTO audit_log (table_name, row_id, action, old_values, new_values, changed_columns, changed_by)
    VALUES (
        TG_TABLE_NAME,
        (COALESCE(new_row, old_row) ->> 'id')::UUID,
        TG_OP,
        old_row - secret_columns,
        new_row - secret_columns,
        COALESCE(changed, '{}'),
        LEFT(NULLIF(current_setting('brainspark.actor', true), ''), 255)
    );
    RETURN NULL;
END;
$$;

-- The trail is append-only; the retention job may still delete rows past their period.
CREATE FUNCTION prevent_audit_log_update()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'audit_log rows cannot be changed'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'audit_log_append_only';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE ON audit_log
    FOR EACH ROW
    EXECUTE FUNCTION prevent_audit_log_update();

CREATE TRIGGER parents_audit
    AFTER INSERT OR UPDATE OR DELETE ON parents
    FOR EACH ROW
    EXECUTE FUNCTION audit_row_change();

CREATE TRIGGER children_audit
    AFTER INSERT OR UPDATE OR DELETE ON children
    FOR EACH ROW
    EXECUTE FUNCTION audit_row_change();

CREATE TRIGGER consents_audit
    AFTER INSERT OR UPDATE OR DELETE ON consents
    FOR EACH ROW
    EXECUTE FUNCTION audit_row_change();

-- ---------------------------------------------------------------------------------------
-- Refresh tokens: opaque to the client, stored hashed, rotated on every use. A family is
-- one sign-in's chain of rotations; reuse of a replaced token revokes the whole family.
-- ---------------------------------------------------------------------------------------

CREATE TABLE refresh_tokens (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    parent_id UUID NOT NULL REFERENCES parents(id) ON DELETE CASCADE,

    token_hash VARCHAR(128) NOT NULL,
    family_id UUID NOT NULL,

    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    replaced_by_id UUID REFERENCES refresh_tokens(id) ON DELETE SET NULL,

    user_agent TEXT,
    ip_address INET,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT refresh_tokens_token_hash_unique UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_not_self_replaced_check CHECK (replaced_by_id IS DISTINCT FROM id)
);

CREATE INDEX idx_refresh_tokens_parent ON refresh_tokens (parent_id);
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX idx_refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX idx_refresh_tokens_replaced_by ON refresh_tokens (replaced_by_id);

-- ---------------------------------------------------------------------------------------
-- Parent alerts: safety flags raised for a parent (stored, then published to Pub/Sub).
-- The alert points at the message instead of copying the child's text. messages is
-- partitioned, so its key is (id, created_at) and the reference carries both.
-- ---------------------------------------------------------------------------------------

CREATE TABLE parent_alerts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    parent_id UUID NOT NULL REFERENCES parents(id) ON DELETE CASCADE,
    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    conversation_id UUID REFERENCES conversations(id) ON DELETE SET NULL,
    message_id UUID,
    message_created_at TIMESTAMPTZ(3),

    severity VARCHAR(10) NOT NULL,
    reason TEXT NOT NULL,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    read_at TIMESTAMPTZ,

    CONSTRAINT parent_alerts_severity_check CHECK (severity IN ('low', 'medium', 'high')),
    CONSTRAINT parent_alerts_message_ref_check CHECK (
        (message_id IS NULL) = (message_created_at IS NULL)
    ),
    CONSTRAINT parent_alerts_message_fkey FOREIGN KEY (message_id, message_created_at)
        REFERENCES messages (id, created_at)
        ON DELETE SET NULL (message_id, message_created_at)
);

CREATE INDEX idx_parent_alerts_parent ON parent_alerts (parent_id, created_at DESC);
CREATE INDEX idx_parent_alerts_unread ON parent_alerts (parent_id) WHERE read_at IS NULL;
CREATE INDEX idx_parent_alerts_child ON parent_alerts (child_id);
CREATE INDEX idx_parent_alerts_conversation ON parent_alerts (conversation_id);
CREATE INDEX idx_parent_alerts_message ON parent_alerts (message_id, message_created_at);

-- ---------------------------------------------------------------------------------------
-- Idempotency keys: a retried POST with the same Idempotency-Key returns the first result
-- and writes nothing new. Inserted in the same transaction as the writes it guards.
-- ---------------------------------------------------------------------------------------

CREATE TABLE idempotency_keys (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    key VARCHAR(255) NOT NULL,
    route VARCHAR(255) NOT NULL,
    -- Hash of the request body: the same key with a different body is a client error.
    request_hash VARCHAR(128),

    status_code INTEGER,
    response JSONB,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT idempotency_keys_unique UNIQUE (child_id, key),
    CONSTRAINT idempotency_keys_key_check CHECK (length(key) > 0),
    CONSTRAINT idempotency_keys_status_code_check CHECK (
        status_code IS NULL OR status_code BETWEEN 100 AND 599
    )
);

CREATE INDEX idx_idempotency_keys_created ON idempotency_keys (created_at);
