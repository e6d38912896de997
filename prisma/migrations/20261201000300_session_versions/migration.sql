-- Sessions that end (issue 14). An access token names its sign-in (the refresh token family,
-- claim `sid`); a child session token also names the child's session version (claim `cv`).
-- Logout revokes the family, account deletion marks the parent deleted, a PIN change bumps
-- the child's version: assert_live_session() then refuses the token. The HTTP layer folds a
-- call to it into the first statement of each request's transaction or caller lookup, so the
-- check costs no extra round trip.

ALTER TABLE children ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;

CREATE FUNCTION assert_live_session(p_parent UUID, p_family UUID, p_child UUID, p_child_version INTEGER)
RETURNS BOOLEAN
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM parents WHERE id = p_parent AND deleted_at IS NULL)
       OR NOT EXISTS (SELECT 1 FROM refresh_tokens
                       WHERE family_id = p_family AND parent_id = p_parent AND revoked_at IS NULL)
       OR (p_child IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM children
                WHERE id = p_child AND parent_id = p_parent AND deleted_at IS NULL
                  AND session_version = p_child_version))
    THEN
        -- A class of our own ('BS'): the API maps it to 401 invalid_token.
        RAISE EXCEPTION 'session ended' USING ERRCODE = 'BS401';
    END IF;
    RETURN TRUE;
END;
$$;
