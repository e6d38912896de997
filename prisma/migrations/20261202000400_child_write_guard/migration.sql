-- The guard of a child's writes that are planned from a read made without the child's lock
-- (issue 10): answering, starting and ending a conversation. Each reads what it decides from,
-- asks the tutor or plans with nothing held, then writes everything in one statement whose every
-- part selects FROM its guard. That statement is its own transaction: no BEGIN, no set-up
-- statement, no COMMIT. If anything it read has changed, nothing is written and the service
-- reads again and re-plans inside a transaction under the child's lock.
--
-- A plain guard in that statement would be checked against the statement's snapshot, which is
-- taken before the statement could wait for the child's advisory lock: a writer that committed
-- while it waited would go unseen. child_write_guard() is VOLATILE plpgsql, so each query in it
-- gets a snapshot of its own: it names the actor for the audit trail, waits for the child's lock
-- (no longer than the lock timeout it is given) and only then checks the row versions, with a
-- snapshot taken after the lock was granted. The lock is transaction-scoped: in a statement of
-- its own, it is held until the statement commits. Under a transaction that already holds the
-- lock (the retry), taking it again is a re-entry, released with the rest at COMMIT.

-- The child's settle facts a write was planned from: the streak, today's activity and every
-- progress row, by row version (`xmin`). NULL versions mean "no such row": that must hold too.
CREATE FUNCTION settle_facts_unchanged(
    p_child UUID, p_day DATE, p_streak_version TEXT, p_activity_version TEXT, p_progress_version TEXT)
RETURNS BOOLEAN
LANGUAGE sql STABLE
AS $$
    SELECT (SELECT s.xmin::text FROM streaks s WHERE s.child_id = p_child) IS NOT DISTINCT FROM p_streak_version
       AND (SELECT d.xmin::text FROM daily_activity d
             WHERE d.child_id = p_child AND d.activity_date = p_day) IS NOT DISTINCT FROM p_activity_version
       AND (SELECT string_agg(p.xmin::text, ',' ORDER BY p.id) FROM progress p
             WHERE p.child_id = p_child) IS NOT DISTINCT FROM p_progress_version
$$;

-- With p_conversation: that conversation is still open and at the version read. With
-- p_idempotency_key: no response is stored under it yet.
CREATE FUNCTION child_write_guard(
    p_actor TEXT, p_lock_key TEXT, p_lock_timeout TEXT,
    p_child UUID, p_day DATE, p_streak_version TEXT, p_activity_version TEXT, p_progress_version TEXT,
    p_conversation UUID, p_conversation_version TEXT, p_idempotency_key TEXT)
RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    ok BOOLEAN;
BEGIN
    PERFORM set_config('brainspark.actor', p_actor, true);
    -- Read when a wait begins, so it bounds the wait below even though this statement is
    -- already running (its statement_timeout was armed at its start, from the session).
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    PERFORM pg_advisory_xact_lock(hashtext(p_lock_key));
    -- A query of its own, after the lock: a fresh snapshot in READ COMMITTED.
    SELECT (p_conversation IS NULL
            OR EXISTS (SELECT 1 FROM conversations c
                        WHERE c.id = p_conversation AND c.xmin::text = p_conversation_version
                          AND c.ended_at IS NULL))
       AND settle_facts_unchanged(p_child, p_day, p_streak_version, p_activity_version, p_progress_version)
       AND NOT EXISTS (SELECT 1 FROM idempotency_keys k
                        WHERE k.child_id = p_child AND k.key = p_idempotency_key)
      INTO ok;
    RETURN ok;
END;
$$;
