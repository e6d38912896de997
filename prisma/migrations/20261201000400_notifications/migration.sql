-- Parent notifications (issue 13): push devices and the delivery log that makes every
-- notification (safety alert, weekly digest, streak reminder) go out at most once per
-- channel and target, whatever Pub/Sub redelivers or however many instances race.

-- ---------------------------------------------------------------------------------------
-- Push devices: one FCM registration token per app install. A token belongs to one device,
-- so it is unique across parents: signing in as another parent on the same phone moves it.
-- ---------------------------------------------------------------------------------------

CREATE TABLE parent_devices (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    parent_id UUID NOT NULL REFERENCES parents(id) ON DELETE CASCADE,
    platform VARCHAR(10) NOT NULL,
    fcm_token VARCHAR(1024) NOT NULL,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- Refreshed each time the app registers the token again (retention: 270 days unseen).
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT parent_devices_platform_check CHECK (platform IN ('ios', 'android', 'web')),
    CONSTRAINT parent_devices_token_unique UNIQUE (fcm_token)
);

CREATE INDEX idx_parent_devices_parent ON parent_devices (parent_id);
CREATE INDEX idx_parent_devices_last_seen ON parent_devices (last_seen_at);

-- ---------------------------------------------------------------------------------------
-- Delivery log: one row per notification, channel and target (a device or the parent's
-- email). A sender claims the row before sending and marks it after; see
-- shared/notify/delivery-log.ts for the protocol.
-- ---------------------------------------------------------------------------------------

CREATE TABLE notification_deliveries (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    parent_id UUID NOT NULL REFERENCES parents(id) ON DELETE CASCADE,
    -- e.g. alert:<alert id>:push:<device id>, digest:<parent id>:<local Sunday>:email.
    dedupe_key VARCHAR(200) NOT NULL,
    kind VARCHAR(20) NOT NULL,
    channel VARCHAR(10) NOT NULL,
    status VARCHAR(10) NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- While status = 'sending': until when the claiming instance owns it.
    claimed_until TIMESTAMPTZ,
    sent_at TIMESTAMPTZ,
    -- A short error class (never a message body or a token).
    last_error VARCHAR(200),

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT notification_deliveries_key_unique UNIQUE (dedupe_key),
    CONSTRAINT notification_deliveries_kind_check CHECK (
        kind IN ('alert', 'digest', 'streak_reminder')
    ),
    CONSTRAINT notification_deliveries_channel_check CHECK (channel IN ('push', 'email')),
    CONSTRAINT notification_deliveries_status_check CHECK (
        status IN ('sending', 'retry', 'sent', 'dropped', 'failed')
    ),
    CONSTRAINT notification_deliveries_attempts_check CHECK (attempts >= 0)
);

CREATE INDEX idx_notification_deliveries_parent ON notification_deliveries (parent_id);
CREATE INDEX idx_notification_deliveries_created ON notification_deliveries (created_at);

CREATE TRIGGER notification_deliveries_updated_at
    BEFORE UPDATE ON notification_deliveries
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();
