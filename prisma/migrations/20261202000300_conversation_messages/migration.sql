-- A conversation's messages, newest first, from the monthly partitions since `p_since` only
-- (issue 10). The read before a tutor turn fetches the conversation, its recent messages and
-- the child's facts in one statement; there the bound (the conversation's start) comes from a
-- row, which the planner cannot use to prune partitions, so it would open, and wait for a lock
-- on, every month of `messages`. EXECUTE ... USING plans each call with the bound as a
-- constant: only the partitions from `p_since` on are opened. `p_limit` NULL: all of them.

CREATE FUNCTION conversation_messages(p_conversation UUID, p_since TIMESTAMPTZ, p_limit INTEGER)
RETURNS TABLE (
    id UUID,
    role VARCHAR(20),
    content TEXT,
    choices JSONB,
    selected_choice_index INTEGER,
    is_free_form BOOLEAN,
    was_filtered BOOLEAN,
    filter_reason TEXT,
    created_at TIMESTAMPTZ
)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT m.id, m.role, m.content, m.choices, m.selected_choice_index, m.is_free_form,
                m.was_filtered, m.filter_reason, m.created_at::timestamptz
           FROM messages m
          WHERE m.conversation_id = $1 AND m.created_at >= $2
          ORDER BY m.created_at DESC, m.id DESC
          LIMIT $3'
        USING p_conversation, p_since, p_limit;
END;
$$;
