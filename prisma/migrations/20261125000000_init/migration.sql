-- BrainSpark initial schema (spec "Database Schema Design" sections 3-7 and Appendix A).
-- Every deviation from the spec is listed, with its reason, in prisma/README.md.
-- Order matters: utility functions first, because tables' triggers call them (spec defect:
-- update_updated_at_column() was used before Appendix A defined it).

-- ---------------------------------------------------------------------------------------
-- Utility functions (Appendix A)
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION update_updated_at_column()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$;

-- Age on a given day. IMMUTABLE is true here because the reference day is an argument.
CREATE FUNCTION calculate_age(birth_date DATE, as_of DATE)
RETURNS INTEGER
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT DATE_PART('year', AGE(as_of, birth_date))::INTEGER
$$;

-- Age today: depends on current_date, so STABLE (the spec's IMMUTABLE let PostgreSQL cache
-- or index a value that changes every birthday).
CREATE FUNCTION calculate_age(birth_date DATE)
RETURNS INTEGER
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT calculate_age(birth_date, CURRENT_DATE)
$$;

-- Age group on a given day: <4 NULL, 4-6 wonder_cubs, 7-10 curious_explorers,
-- 11-14 mind_masters, >14 NULL.
CREATE FUNCTION determine_age_group(birth_date DATE, as_of DATE)
RETURNS VARCHAR(20)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN age < 4 THEN NULL
        WHEN age <= 6 THEN 'wonder_cubs'
        WHEN age <= 10 THEN 'curious_explorers'
        WHEN age <= 14 THEN 'mind_masters'
        ELSE NULL
    END::VARCHAR(20)
    FROM (SELECT calculate_age(birth_date, as_of) AS age) AS computed
$$;

CREATE FUNCTION determine_age_group(birth_date DATE)
RETURNS VARCHAR(20)
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT determine_age_group(birth_date, CURRENT_DATE)
$$;

-- Creates the monthly range partition of `table_name` that contains `partition_date`.
-- Returns true when it created the partition, false when it already existed (idempotent).
-- The spec's version returned VOID (which some drivers cannot decode), trusted its table
-- name blindly, and bounded timestamptz partitions with bare dates, which PostgreSQL reads
-- in the session's TimeZone: partitions would shift by the creator's UTC offset.
CREATE FUNCTION create_monthly_partition(table_name TEXT, partition_date DATE)
RETURNS BOOLEAN
LANGUAGE plpgsql
AS $$
DECLARE
    parent_oid OID;
    parent_schema NAME;
    key_type REGTYPE;
    partition_name TEXT;
    existing_oid OID;
    start_date DATE;
    end_date DATE;
    lower_bound TEXT;
    upper_bound TEXT;
BEGIN
    IF partition_date IS NULL THEN
        RAISE EXCEPTION 'create_monthly_partition: partition_date must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;

    parent_oid := to_regclass(table_name);
    IF parent_oid IS NULL THEN
        RAISE EXCEPTION 'create_monthly_partition: table % does not exist', table_name
            USING ERRCODE = 'undefined_table';
    END IF;

    -- Only single-column RANGE-partitioned tables keyed by a date or timestamp qualify.
    SELECT n.nspname, a.atttypid::REGTYPE
      INTO parent_schema, key_type
      FROM pg_partitioned_table p
      JOIN pg_class c ON c.oid = p.partrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent_oid
       AND p.partstrat = 'r'
       AND p.partnatts = 1;
    IF key_type IS NULL OR key_type NOT IN ('date'::REGTYPE, 'timestamptz'::REGTYPE) THEN
        RAISE EXCEPTION 'create_monthly_partition: % is not range-partitioned by a date or timestamptz column', table_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    start_date := DATE_TRUNC('month', partition_date)::DATE;
    end_date := (start_date + INTERVAL '1 month')::DATE;
    partition_name := (SELECT relname FROM pg_class WHERE oid = parent_oid)
        || '_' || TO_CHAR(start_date, 'YYYY_MM');

    -- Serialise concurrent callers: two CREATE TABLE IF NOT EXISTS racing on one name can
    -- still fail on the catalog's unique index.
    PERFORM pg_advisory_xact_lock('pg_class'::REGCLASS::OID::INTEGER, parent_oid::INTEGER);

    existing_oid := to_regclass(format('%I.%I', parent_schema, partition_name));
    IF existing_oid IS NOT NULL THEN
        IF NOT EXISTS (
            SELECT 1 FROM pg_inherits WHERE inhrelid = existing_oid AND inhparent = parent_oid
        ) THEN
            RAISE EXCEPTION 'create_monthly_partition: % exists but is not a partition of %',
                partition_name, table_name
                USING ERRCODE = 'duplicate_table';
        END IF;
        RETURN FALSE;
    END IF;

    IF key_type = 'timestamptz'::REGTYPE THEN
        -- Explicit UTC offsets: month boundaries are UTC whatever the session TimeZone.
        lower_bound := TO_CHAR(start_date, 'YYYY-MM-DD') || ' 00:00:00+00';
        upper_bound := TO_CHAR(end_date, 'YYYY-MM-DD') || ' 00:00:00+00';
    ELSE
        lower_bound := TO_CHAR(start_date, 'YYYY-MM-DD');
        upper_bound := TO_CHAR(end_date, 'YYYY-MM-DD');
    END IF;

    EXECUTE format(
        'CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
        parent_schema, partition_name,
        parent_schema, (SELECT relname FROM pg_class WHERE oid = parent_oid),
        lower_bound, upper_bound
    );
    RETURN TRUE;
END;
$$;

-- Spec constraint children_per_parent_limit used a subquery in a CHECK (not allowed).
-- This trigger locks the parent row, so concurrent inserts for one parent queue up and each
-- counts the children committed before it (READ COMMITTED takes a fresh snapshot per
-- statement; SERIALIZABLE detects the conflict instead). It raises check_violation with the
-- spec's constraint name and the message 'child_limit_reached' for the API to map to 409.
CREATE FUNCTION enforce_children_per_parent_limit()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    live_children INTEGER;
BEGIN
    PERFORM 1 FROM parents WHERE id = NEW.parent_id FOR UPDATE;

    SELECT COUNT(*) INTO live_children
      FROM children
     WHERE parent_id = NEW.parent_id
       AND deleted_at IS NULL
       AND id <> NEW.id;

    IF live_children >= 4 THEN
        RAISE EXCEPTION 'child_limit_reached'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'children_per_parent_limit',
                  TABLE = 'children',
                  DETAIL = format('Parent %s already has %s live children (maximum 4).',
                                  NEW.parent_id, live_children);
    END IF;
    RETURN NEW;
END;
$$;

-- Rejects a time zone PostgreSQL cannot use (the streak and limit jobs compute local days
-- with AT TIME ZONE). The API additionally restricts values to IANA names.
CREATE FUNCTION validate_timezone()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM NOW() AT TIME ZONE NEW.timezone;
    RETURN NEW;
EXCEPTION
    WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid time zone: %', NEW.timezone
            USING ERRCODE = 'invalid_parameter_value',
                  COLUMN = 'timezone',
                  TABLE = TG_TABLE_NAME;
END;
$$;

-- Arrays cannot carry foreign keys: topics.prerequisites must name existing topics, not the
-- topic itself, without duplicates, and without cycles (a cycle could never be unlocked).
-- Runs as a constraint trigger at the end of the statement, so a multi-row INSERT may list
-- topics it creates in the same statement; DEFERRABLE lets a seed defer it to COMMIT.
CREATE FUNCTION check_topic_prerequisites()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    missing UUID;
BEGIN
    IF cardinality(NEW.prerequisites) = 0 THEN
        RETURN NULL;
    END IF;

    IF (SELECT COUNT(DISTINCT p) FROM unnest(NEW.prerequisites) AS p) <> cardinality(NEW.prerequisites) THEN
        RAISE EXCEPTION 'topic % lists a prerequisite twice', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'topics_prerequisites_distinct';
    END IF;

    SELECT p INTO missing
      FROM unnest(NEW.prerequisites) AS p
     WHERE NOT EXISTS (SELECT 1 FROM topics t WHERE t.id = p)
     LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'topic % lists prerequisite % which does not exist', NEW.id, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'topics_prerequisites_exist';
    END IF;

    IF EXISTS (
        WITH RECURSIVE reachable(id) AS (
            SELECT unnest(NEW.prerequisites)
            UNION
            SELECT unnest(t.prerequisites)
              FROM topics t
              JOIN reachable r ON r.id = t.id
        )
        SELECT 1 FROM reachable WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'topic % would be its own (indirect) prerequisite', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'topics_prerequisites_acyclic';
    END IF;
    RETURN NULL;
END;
$$;

-- The other half of the array "foreign key": a topic still listed as a prerequisite cannot
-- be deleted (like ON DELETE NO ACTION), so no topic silently loses an unlock requirement.
CREATE FUNCTION prevent_prerequisite_topic_delete()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
DECLARE
    dependant UUID;
BEGIN
    SELECT t.id INTO dependant
      FROM topics t
     WHERE t.prerequisites @> ARRAY[OLD.id]
       AND t.id <> OLD.id
     LIMIT 1;
    IF dependant IS NOT NULL THEN
        RAISE EXCEPTION 'topic % is a prerequisite of topic %', OLD.id, dependant
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'topics_prerequisites_exist';
    END IF;
    RETURN OLD;
END;
$$;

-- Product rule: consent records are never updated in place. Allowed changes: recording the
-- revocation of a consent once, and erasing the IP address or user agent (data minimisation
-- by the retention job). Anything else needs a new row.
CREATE FUNCTION prevent_consent_rewrite()
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

-- ---------------------------------------------------------------------------------------
-- 3. Core tables
-- ---------------------------------------------------------------------------------------

CREATE TABLE parents (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    email VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255),
    auth_provider VARCHAR(50) NOT NULL DEFAULT 'email',
    auth_provider_id VARCHAR(255),

    display_name VARCHAR(100),
    timezone VARCHAR(50) NOT NULL DEFAULT 'UTC',
    locale VARCHAR(10) NOT NULL DEFAULT 'en-US',

    subscription_tier VARCHAR(20) NOT NULL DEFAULT 'free',
    subscription_expires_at TIMESTAMPTZ,

    settings JSONB NOT NULL DEFAULT '{
        "notifications": {
            "email_digest": true,
            "push_enabled": true,
            "streak_reminders": true
        },
        "privacy": {
            "analytics_opt_in": false,
            "share_anonymous_data": false
        }
    }',

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_login_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,

    CONSTRAINT parents_auth_provider_check CHECK (
        auth_provider IN ('email', 'google', 'apple')
    ),
    CONSTRAINT parents_subscription_check CHECK (
        subscription_tier IN ('free', 'premium', 'family')
    ),
    CONSTRAINT parents_email_format_check CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT parents_settings_object_check CHECK (jsonb_typeof(settings) = 'object')
);

-- Replaces the spec's parents_email_unique UNIQUE (email) and its plain idx_parents_email:
-- emails are unique case-insensitively among live accounts, and login looks up lower(email).
CREATE UNIQUE INDEX idx_parents_email ON parents (lower(email)) WHERE deleted_at IS NULL;
-- Unique: one live parent per Google/Apple account (NULL provider ids never collide).
CREATE UNIQUE INDEX idx_parents_auth_provider ON parents (auth_provider, auth_provider_id)
    WHERE deleted_at IS NULL;
CREATE INDEX idx_parents_subscription ON parents (subscription_tier, subscription_expires_at);
-- Retention job: soft-deleted parents past their grace period.
CREATE INDEX idx_parents_deleted ON parents (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TRIGGER parents_updated_at
    BEFORE UPDATE ON parents
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER parents_timezone_valid
    BEFORE INSERT OR UPDATE OF timezone ON parents
    FOR EACH ROW
    EXECUTE FUNCTION validate_timezone();

CREATE TABLE children (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    parent_id UUID NOT NULL REFERENCES parents(id) ON DELETE CASCADE,

    name VARCHAR(100) NOT NULL,
    birth_date DATE NOT NULL,
    age_group VARCHAR(20) NOT NULL,
    avatar_id VARCHAR(50) NOT NULL DEFAULT 'default_1',

    interests TEXT[] NOT NULL DEFAULT '{}',
    vocabulary_level INTEGER NOT NULL DEFAULT 1,

    pin_hash VARCHAR(255),

    settings JSONB NOT NULL DEFAULT '{
        "sound_enabled": true,
        "voice_over_enabled": true,
        "animation_level": "full",
        "daily_time_limit_minutes": 60,
        "bedtime_start": "20:00",
        "bedtime_end": "07:00"
    }',

    -- Private by default (product rule): a parent opts a child into the leaderboard, which
    -- then shows only the avatar and this generated nickname.
    leaderboard_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
    nickname VARCHAR(40),

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_active_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,

    CONSTRAINT children_age_group_check CHECK (
        age_group IN ('wonder_cubs', 'curious_explorers', 'mind_masters')
    ),
    CONSTRAINT children_vocabulary_level_check CHECK (vocabulary_level BETWEEN 1 AND 10),
    CONSTRAINT children_settings_object_check CHECK (jsonb_typeof(settings) = 'object')
);

CREATE INDEX idx_children_parent ON children (parent_id) WHERE deleted_at IS NULL;
CREATE INDEX idx_children_age_group ON children (age_group) WHERE deleted_at IS NULL;
CREATE INDEX idx_children_last_active ON children (last_active_at DESC);
-- Cascades from parents and the retention job's scans by parent include deleted children.
CREATE INDEX idx_children_parent_all ON children (parent_id);
CREATE INDEX idx_children_deleted ON children (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX idx_children_leaderboard ON children (id)
    WHERE leaderboard_opt_in AND deleted_at IS NULL;

CREATE TRIGGER children_updated_at
    BEFORE UPDATE ON children
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER children_per_parent_limit_insert
    BEFORE INSERT ON children
    FOR EACH ROW
    WHEN (NEW.deleted_at IS NULL)
    EXECUTE FUNCTION enforce_children_per_parent_limit();

-- Undeleting a child, or moving a live child to another parent, also needs a free slot.
CREATE TRIGGER children_per_parent_limit_update
    BEFORE UPDATE OF parent_id, deleted_at ON children
    FOR EACH ROW
    WHEN (NEW.deleted_at IS NULL
          AND (OLD.deleted_at IS NOT NULL OR OLD.parent_id IS DISTINCT FROM NEW.parent_id))
    EXECUTE FUNCTION enforce_children_per_parent_limit();

CREATE TABLE consents (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    parent_id UUID NOT NULL REFERENCES parents(id) ON DELETE CASCADE,

    consent_type VARCHAR(50) NOT NULL,
    version VARCHAR(20) NOT NULL,

    granted_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,

    ip_address INET,
    user_agent TEXT,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT consents_type_check CHECK (
        consent_type IN ('coppa', 'terms', 'privacy', 'marketing', 'data_sharing')
    ),
    CONSTRAINT consents_revoked_after_granted_check CHECK (
        revoked_at IS NULL OR (granted_at IS NOT NULL AND revoked_at >= granted_at)
    )
);

-- The spec's UNIQUE (parent_id, consent_type, version) made re-granting a revoked version
-- impossible without rewriting the old row; uniqueness now holds among unrevoked rows.
CREATE UNIQUE INDEX consents_unique_type ON consents (parent_id, consent_type, version)
    WHERE revoked_at IS NULL;
CREATE INDEX idx_consents_parent_type ON consents (parent_id, consent_type);
CREATE INDEX idx_consents_granted ON consents (granted_at) WHERE revoked_at IS NULL;

CREATE TRIGGER consents_append_only
    BEFORE UPDATE ON consents
    FOR EACH ROW
    EXECUTE FUNCTION prevent_consent_rewrite();

-- ---------------------------------------------------------------------------------------
-- 4. Content tables
-- ---------------------------------------------------------------------------------------

CREATE TABLE topics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    name VARCHAR(100) NOT NULL,
    slug VARCHAR(100) NOT NULL UNIQUE,
    description TEXT,

    category VARCHAR(50) NOT NULL,
    subcategory VARCHAR(50),

    parent_topic_id UUID REFERENCES topics(id) ON DELETE SET NULL,
    depth_in_tree INTEGER NOT NULL DEFAULT 0,

    position_x FLOAT NOT NULL DEFAULT 0,
    position_y FLOAT NOT NULL DEFAULT 0,

    prerequisites UUID[] NOT NULL DEFAULT '{}',
    prerequisite_depth INTEGER NOT NULL DEFAULT 1,
    min_age_group VARCHAR(20),

    age_groups VARCHAR(20)[] NOT NULL DEFAULT '{wonder_cubs, curious_explorers, mind_masters}',

    icon VARCHAR(50) NOT NULL DEFAULT 'star',
    color VARCHAR(7) NOT NULL DEFAULT '#FFD700',

    metadata JSONB NOT NULL DEFAULT '{}',

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT topics_category_check CHECK (
        category IN ('science', 'humanities', 'creative', 'logic', 'philosophy')
    ),
    CONSTRAINT topics_age_group_check CHECK (
        min_age_group IS NULL OR min_age_group IN ('wonder_cubs', 'curious_explorers', 'mind_masters')
    ),
    CONSTRAINT topics_age_groups_check CHECK (
        cardinality(age_groups) > 0
        AND array_ndims(age_groups) = 1
        AND age_groups <@ ARRAY['wonder_cubs', 'curious_explorers', 'mind_masters']::VARCHAR(20)[]
    ),
    CONSTRAINT topics_min_age_group_listed_check CHECK (
        min_age_group IS NULL OR min_age_group = ANY (age_groups)
    ),
    CONSTRAINT topics_prerequisites_shape_check CHECK (
        (cardinality(prerequisites) = 0 OR array_ndims(prerequisites) = 1)
        AND array_position(prerequisites, NULL) IS NULL
    ),
    CONSTRAINT topics_prerequisites_no_self_check CHECK (NOT (id = ANY (prerequisites))),
    CONSTRAINT topics_no_self_parent_check CHECK (parent_topic_id IS DISTINCT FROM id),
    CONSTRAINT topics_depth_in_tree_check CHECK (depth_in_tree >= 0),
    CONSTRAINT topics_prerequisite_depth_check CHECK (prerequisite_depth >= 0),
    CONSTRAINT topics_color_check CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
    CONSTRAINT topics_metadata_object_check CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX idx_topics_category ON topics (category);
CREATE INDEX idx_topics_parent ON topics (parent_topic_id);
CREATE INDEX idx_topics_slug ON topics (slug);
CREATE INDEX idx_topics_age_groups ON topics USING GIN (age_groups);
-- "Which topics does this one unlock?" and the prerequisite delete guard.
CREATE INDEX idx_topics_prerequisites ON topics USING GIN (prerequisites);

CREATE TRIGGER topics_updated_at
    BEFORE UPDATE ON topics
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

CREATE CONSTRAINT TRIGGER topics_prerequisites_valid
    AFTER INSERT OR UPDATE OF prerequisites ON topics
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW
    EXECUTE FUNCTION check_topic_prerequisites();

CREATE TRIGGER topics_prerequisite_delete_guard
    BEFORE DELETE ON topics
    FOR EACH ROW
    EXECUTE FUNCTION prevent_prerequisite_topic_delete();

CREATE TABLE topic_connections (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    from_topic_id UUID NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
    to_topic_id UUID NOT NULL REFERENCES topics(id) ON DELETE CASCADE,

    strength VARCHAR(20) NOT NULL DEFAULT 'normal',

    connection_type VARCHAR(50) NOT NULL DEFAULT 'related',
    description TEXT,

    CONSTRAINT topic_connections_unique UNIQUE (from_topic_id, to_topic_id),
    CONSTRAINT topic_connections_no_self CHECK (from_topic_id != to_topic_id),
    CONSTRAINT topic_connections_strength_check CHECK (
        strength IN ('weak', 'normal', 'strong')
    )
);

-- A constellation line joins two stars once: (A,B) and (B,A) would draw it twice.
CREATE UNIQUE INDEX topic_connections_unique_pair ON topic_connections (
    LEAST(from_topic_id, to_topic_id), GREATEST(from_topic_id, to_topic_id)
);
CREATE INDEX idx_topic_connections_from ON topic_connections (from_topic_id);
CREATE INDEX idx_topic_connections_to ON topic_connections (to_topic_id);

CREATE TABLE brain_sparks (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    spark_date DATE NOT NULL,
    age_group VARCHAR(20) NOT NULL,

    spark_type VARCHAR(50) NOT NULL,
    question TEXT NOT NULL,
    hints JSONB NOT NULL DEFAULT '[]',
    follow_ups JSONB NOT NULL DEFAULT '[]',

    topic_id UUID REFERENCES topics(id) ON DELETE SET NULL,
    difficulty INTEGER NOT NULL DEFAULT 1,

    source VARCHAR(50) NOT NULL DEFAULT 'ai_generated',
    curator_notes TEXT,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT brain_sparks_unique_date_age UNIQUE (spark_date, age_group),
    CONSTRAINT brain_sparks_age_group_check CHECK (
        age_group IN ('wonder_cubs', 'curious_explorers', 'mind_masters')
    ),
    CONSTRAINT brain_sparks_type_check CHECK (
        spark_type IN ('riddle', 'what_if', 'mystery', 'challenge', 'debate', 'philosophy')
    ),
    CONSTRAINT brain_sparks_difficulty_check CHECK (difficulty BETWEEN 1 AND 5),
    CONSTRAINT brain_sparks_hints_array_check CHECK (jsonb_typeof(hints) = 'array'),
    CONSTRAINT brain_sparks_follow_ups_array_check CHECK (jsonb_typeof(follow_ups) = 'array')
);

CREATE INDEX idx_brain_sparks_date ON brain_sparks (spark_date);
CREATE INDEX idx_brain_sparks_age_group ON brain_sparks (age_group);
CREATE INDEX idx_brain_sparks_date_age ON brain_sparks (spark_date, age_group);
CREATE INDEX idx_brain_sparks_topic ON brain_sparks (topic_id);

-- ---------------------------------------------------------------------------------------
-- 5. Engagement tables
-- ---------------------------------------------------------------------------------------

CREATE TABLE conversations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    topic_id UUID REFERENCES topics(id) ON DELETE SET NULL,
    brain_spark_id UUID REFERENCES brain_sparks(id) ON DELETE SET NULL,

    conversation_type VARCHAR(50) NOT NULL DEFAULT 'exploration',
    started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    ended_at TIMESTAMPTZ,

    depth_reached INTEGER NOT NULL DEFAULT 0,
    questions_asked INTEGER NOT NULL DEFAULT 0,
    aha_moments INTEGER NOT NULL DEFAULT 0,

    summary TEXT,
    key_insights JSONB NOT NULL DEFAULT '[]',

    metadata JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT conversations_type_check CHECK (
        conversation_type IN ('exploration', 'brain_spark', 'story', 'debate')
    ),
    CONSTRAINT conversations_counters_check CHECK (
        depth_reached >= 0 AND questions_asked >= 0 AND aha_moments >= 0
    ),
    CONSTRAINT conversations_ended_after_started_check CHECK (
        ended_at IS NULL OR ended_at >= started_at
    ),
    CONSTRAINT conversations_key_insights_array_check CHECK (jsonb_typeof(key_insights) = 'array'),
    CONSTRAINT conversations_metadata_object_check CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX idx_conversations_child ON conversations (child_id);
CREATE INDEX idx_conversations_topic ON conversations (topic_id);
CREATE INDEX idx_conversations_started ON conversations (started_at DESC);
-- DATE(started_at) on a timestamptz depends on the session TimeZone, so it cannot be
-- indexed; the UTC calendar day is immutable. Query with the same expression.
CREATE INDEX idx_conversations_child_date
    ON conversations (child_id, ((started_at AT TIME ZONE 'UTC')::DATE));
-- NOW() cannot appear in an index predicate: open conversations get a partial index, and
-- "recent" is a range scan on (child_id, started_at DESC).
CREATE INDEX idx_conversations_recent_active ON conversations (child_id, started_at DESC)
    WHERE ended_at IS NULL;
CREATE INDEX idx_conversations_child_started ON conversations (child_id, started_at DESC);
CREATE INDEX idx_conversations_brain_spark ON conversations (brain_spark_id);

-- Partitioned by month; the primary key must include the partition key.
CREATE TABLE messages (
    id UUID NOT NULL DEFAULT gen_random_uuid(),

    conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,

    role VARCHAR(20) NOT NULL,
    content TEXT NOT NULL,

    choices JSONB,

    selected_choice_index INTEGER,
    is_free_form BOOLEAN NOT NULL DEFAULT FALSE,

    tokens_used INTEGER,
    processing_time_ms INTEGER,

    was_filtered BOOLEAN NOT NULL DEFAULT FALSE,
    filter_reason TEXT,

    -- Millisecond precision: created_at is half of the primary key, and JavaScript dates
    -- (Prisma's DateTime) hold milliseconds, so a microsecond key read by the application
    -- could never be used to find or reference its row again.
    created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),

    CONSTRAINT messages_pkey PRIMARY KEY (id, created_at),
    CONSTRAINT messages_role_check CHECK (
        role IN ('user', 'assistant', 'system')
    ),
    CONSTRAINT messages_choices_array_check CHECK (choices IS NULL OR jsonb_typeof(choices) = 'array'),
    CONSTRAINT messages_selected_choice_index_check CHECK (
        selected_choice_index IS NULL OR selected_choice_index >= 0
    ),
    CONSTRAINT messages_metrics_check CHECK (
        (tokens_used IS NULL OR tokens_used >= 0)
        AND (processing_time_ms IS NULL OR processing_time_ms >= 0)
    ),
    CONSTRAINT messages_filter_reason_check CHECK (NOT was_filtered OR filter_reason IS NOT NULL)
) PARTITION BY RANGE (created_at);

CREATE INDEX idx_messages_conversation ON messages (conversation_id);
CREATE INDEX idx_messages_created ON messages (conversation_id, created_at);
CREATE INDEX idx_messages_filtered ON messages (was_filtered) WHERE was_filtered = TRUE;

CREATE TABLE progress (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    topic_id UUID NOT NULL REFERENCES topics(id) ON DELETE CASCADE,

    depth_level INTEGER NOT NULL DEFAULT 0,
    time_spent_seconds INTEGER NOT NULL DEFAULT 0,
    questions_asked INTEGER NOT NULL DEFAULT 0,
    conversations_count INTEGER NOT NULL DEFAULT 0,

    unlocked_at TIMESTAMPTZ,
    first_depth_5_at TIMESTAMPTZ,
    mastered_at TIMESTAMPTZ,

    last_interaction TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT progress_unique_child_topic UNIQUE (child_id, topic_id),
    CONSTRAINT progress_depth_positive CHECK (depth_level >= 0),
    CONSTRAINT progress_counters_check CHECK (
        time_spent_seconds >= 0 AND questions_asked >= 0 AND conversations_count >= 0
    )
);

CREATE INDEX idx_progress_child ON progress (child_id);
CREATE INDEX idx_progress_topic ON progress (topic_id);
CREATE INDEX idx_progress_child_depth ON progress (child_id, depth_level DESC);
CREATE INDEX idx_progress_unlocked ON progress (child_id) WHERE unlocked_at IS NOT NULL;
CREATE INDEX idx_progress_constellation ON progress (child_id)
    INCLUDE (topic_id, depth_level, unlocked_at);

CREATE TRIGGER progress_updated_at
    BEFORE UPDATE ON progress
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE streaks (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,

    current_streak INTEGER NOT NULL DEFAULT 0,
    longest_streak INTEGER NOT NULL DEFAULT 0,
    last_activity_date DATE,

    streak_freezes_available INTEGER NOT NULL DEFAULT 0,

    -- Format: [{"date": "2024-01-15", "streak": 5, "activity": true}, ...]
    streak_history JSONB NOT NULL DEFAULT '[]',

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT streaks_unique_child UNIQUE (child_id),
    CONSTRAINT streaks_positive CHECK (
        current_streak >= 0 AND longest_streak >= 0
    ),
    CONSTRAINT streaks_longest_check CHECK (longest_streak >= current_streak),
    CONSTRAINT streaks_freezes_check CHECK (streak_freezes_available BETWEEN 0 AND 2),
    CONSTRAINT streaks_history_array_check CHECK (jsonb_typeof(streak_history) = 'array')
);

CREATE INDEX idx_streaks_child ON streaks (child_id);
CREATE INDEX idx_streaks_current ON streaks (current_streak DESC);
CREATE INDEX idx_streaks_leaderboard ON streaks (current_streak DESC)
    WHERE current_streak > 0;

CREATE TRIGGER streaks_updated_at
    BEFORE UPDATE ON streaks
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE rewards (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,

    reward_type VARCHAR(50) NOT NULL,
    reward_id VARCHAR(100) NOT NULL,

    star_value INTEGER NOT NULL DEFAULT 0,

    trigger_type VARCHAR(50),
    trigger_id UUID,

    earned_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    metadata JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT rewards_type_check CHECK (
        reward_type IN ('badge', 'star', 'unlock', 'freeze', 'cosmetic')
    ),
    CONSTRAINT rewards_metadata_object_check CHECK (jsonb_typeof(metadata) = 'object')
);

-- The spec's UNIQUE ... WHERE is not valid SQL: only badges are unique, so a partial index.
CREATE UNIQUE INDEX rewards_unique_badge ON rewards (child_id, reward_type, reward_id)
    WHERE reward_type = 'badge';
CREATE INDEX idx_rewards_child ON rewards (child_id);
CREATE INDEX idx_rewards_child_type ON rewards (child_id, reward_type);
CREATE INDEX idx_rewards_earned ON rewards (earned_at DESC);

-- One row per live child, 0 when it has no rewards yet (the spec's GROUP BY over rewards
-- alone had no row for such a child, and kept deleted children). INTEGER so clients get a
-- number, not a bigint.
CREATE VIEW child_star_balance AS
SELECT
    c.id AS child_id,
    COALESCE(SUM(r.star_value), 0)::INTEGER AS total_stars
FROM children c
LEFT JOIN rewards r ON r.child_id = c.id
WHERE c.deleted_at IS NULL
GROUP BY c.id;

-- ---------------------------------------------------------------------------------------
-- 6. Analytics tables
-- ---------------------------------------------------------------------------------------

-- Partitioned by month of activity_date; the primary key and the unique constraint both
-- include the partition key.
CREATE TABLE daily_activity (
    id UUID NOT NULL DEFAULT gen_random_uuid(),

    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    activity_date DATE NOT NULL,

    total_time_seconds INTEGER NOT NULL DEFAULT 0,
    session_count INTEGER NOT NULL DEFAULT 0,

    conversations_started INTEGER NOT NULL DEFAULT 0,
    questions_asked INTEGER NOT NULL DEFAULT 0,
    depth_increases INTEGER NOT NULL DEFAULT 0,
    aha_moments INTEGER NOT NULL DEFAULT 0,

    topics_explored UUID[] NOT NULL DEFAULT '{}',
    new_topics_unlocked UUID[] NOT NULL DEFAULT '{}',
    brain_spark_completed BOOLEAN NOT NULL DEFAULT FALSE,

    stars_earned INTEGER NOT NULL DEFAULT 0,
    badges_earned TEXT[] NOT NULL DEFAULT '{}',

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT daily_activity_pkey PRIMARY KEY (id, activity_date),
    CONSTRAINT daily_activity_unique UNIQUE (child_id, activity_date),
    CONSTRAINT daily_activity_counters_check CHECK (
        total_time_seconds >= 0 AND session_count >= 0 AND conversations_started >= 0
        AND questions_asked >= 0 AND depth_increases >= 0 AND aha_moments >= 0
        AND stars_earned >= 0
    )
) PARTITION BY RANGE (activity_date);

CREATE INDEX idx_daily_activity_child ON daily_activity (child_id);
CREATE INDEX idx_daily_activity_date ON daily_activity (activity_date);
CREATE INDEX idx_daily_activity_child_date ON daily_activity (child_id, activity_date DESC);

CREATE TRIGGER daily_activity_updated_at
    BEFORE UPDATE ON daily_activity
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE cognitive_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    child_id UUID NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    assessment_date DATE NOT NULL,

    critical_thinking INTEGER,
    creative_thinking INTEGER,
    logical_reasoning INTEGER,
    knowledge_connection INTEGER,
    curiosity_index INTEGER,

    conversations_analyzed INTEGER,
    confidence_level FLOAT,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    CONSTRAINT cognitive_metrics_unique UNIQUE (child_id, assessment_date),
    CONSTRAINT cognitive_metrics_scores CHECK (
        (critical_thinking IS NULL OR critical_thinking BETWEEN 0 AND 100) AND
        (creative_thinking IS NULL OR creative_thinking BETWEEN 0 AND 100) AND
        (logical_reasoning IS NULL OR logical_reasoning BETWEEN 0 AND 100) AND
        (knowledge_connection IS NULL OR knowledge_connection BETWEEN 0 AND 100) AND
        (curiosity_index IS NULL OR curiosity_index BETWEEN 0 AND 100)
    ),
    CONSTRAINT cognitive_metrics_conversations_analyzed_check CHECK (
        conversations_analyzed IS NULL OR conversations_analyzed >= 0
    ),
    CONSTRAINT cognitive_metrics_confidence_check CHECK (
        confidence_level IS NULL OR (confidence_level >= 0 AND confidence_level <= 1)
    )
);

CREATE INDEX idx_cognitive_metrics_child ON cognitive_metrics (child_id);
CREATE INDEX idx_cognitive_metrics_date ON cognitive_metrics (child_id, assessment_date DESC);

-- ---------------------------------------------------------------------------------------
-- Partitions: from the month before this migration runs to 4 months after it (UTC months).
-- No DEFAULT partition: a row outside every partition must fail loudly so the
-- partition-maintenance job's gap is noticed, not silently absorbed.
-- ---------------------------------------------------------------------------------------

DO $$
DECLARE
    current_month DATE := DATE_TRUNC('month', NOW() AT TIME ZONE 'UTC')::DATE;
    month_offset INTEGER;
BEGIN
    FOR month_offset IN -1..4 LOOP
        PERFORM create_monthly_partition('messages', (current_month + make_interval(months => month_offset))::DATE);
        PERFORM create_monthly_partition('daily_activity', (current_month + make_interval(months => month_offset))::DATE);
    END LOOP;
END;
$$;
