-- Sessions and refresh tokens (docs/api.md, "Sessions and refresh
-- tokens"): a login starts a session; its refresh token is kept only as
-- the SHA-256 of 256 random bits, and each refresh replaces it (rotation).
-- The token it replaced stays known as prev_hash for reuse detection: for
-- the grace window after the rotation it still answers, with the same
-- successor (kept only sealed by a key that nginx derives and PostgreSQL
-- never sees), so two tabs refreshing at once both stay signed in; after
-- the window it ends the session.
CREATE TABLE sessions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_used_at       timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,  -- the session's own end
    refresh_expires_at timestamptz NOT NULL,  -- the current token's end
    user_agent         text,
    ip                 text,
    refresh_hash       bytea NOT NULL,
    prev_hash          bytea,                 -- the token last used up
    rotated_at         timestamptz,           -- when, for the grace window
    successor          bytea,                 -- sealed, nonce first
    ended_at           timestamptz,
    end_reason         text
);

CREATE UNIQUE INDEX sessions_refresh_hash ON sessions (refresh_hash);
CREATE INDEX sessions_prev_hash ON sessions (prev_hash)
    WHERE prev_hash IS NOT NULL;
-- GET /auth/sessions: a user's sessions, newest first
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
-- the purge at login takes the longest gone first: a row is kept until
-- its session's own end (never moved by a rotation, so a refresh does not
-- maintain this index) and an access token's lifetime past it, so that a
-- missing row means ended
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- An ended session is a change like a token version's: logged and notified,
-- so every worker of every instance refuses its access tokens at once.  Its
-- row in the log names the session only: the user's own state is never
-- written by it (a session ended by a user change's trigger would read that
-- user's state from before the change).
ALTER TABLE auth_changes
    ADD COLUMN session_id uuid,
    ALTER COLUMN token_version DROP NOT NULL,
    ALTER COLUMN is_active DROP NOT NULL,
    ALTER COLUMN is_superuser DROP NOT NULL;

CREATE FUNCTION users_session_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c auth_changes;
BEGIN
    INSERT INTO auth_changes (user_id, session_id)
    VALUES (NEW.user_id, NEW.id) RETURNING * INTO c;

    -- seq:user:session, delivered at commit
    PERFORM pg_notify('users_auth',
                      c.seq || ':' || c.user_id || ':' || c.session_id);

    RETURN NULL;
END $$;

CREATE TRIGGER sessions_ended AFTER UPDATE OF ended_at ON sessions
FOR EACH ROW WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL)
EXECUTE FUNCTION users_session_ended();

-- A new password, a deactivation or a logout everywhere (a new token
-- version) ends every session of the user: their refresh tokens die with
-- the access tokens.  A deletion takes them by the foreign key.
CREATE FUNCTION users_sessions_revoked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET ended_at = now(), end_reason = 'revoked',
        refresh_expires_at = least(refresh_expires_at, now())
    WHERE user_id = NEW.id AND ended_at IS NULL;

    RETURN NULL;
END $$;

CREATE TRIGGER users_sessions_revoked AFTER UPDATE ON users FOR EACH ROW
WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version
      OR (OLD.is_active AND NOT NEW.is_active))
EXECUTE FUNCTION users_sessions_revoked();

CREATE FUNCTION users_session_json(s sessions, current_id uuid) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN json_build_object(
    'id', s.id,
    'created_at', users_rfc3339(s.created_at),
    'last_used_at', users_rfc3339(s.last_used_at),
    'expires_at', users_rfc3339(s.refresh_expires_at),
    'user_agent', s.user_agent,
    'ip', s.ip,
    'current', s.id IS NOT DISTINCT FROM current_id);
