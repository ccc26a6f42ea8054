-- Revocation everywhere at once (docs/api.md): every change that can revoke
-- a token or demote its user (token_version, is_active, is_superuser, a
-- delete) is written to an append-only log with a sequence number and
-- notified on the channel "users_auth".  nginx keeps each user's state in
-- shared memory and applies the notifications; after any gap in its LISTEN
-- it catches up from the log, from the last number it applied, so no
-- change is lost while it was away (PostgreSQL keeps no notification for an
-- absent listener).

-- the number of the user's last such change: shared memory keeps, for each
-- user, whichever state has the higher one, whatever order loads and
-- notifications arrive in
ALTER TABLE users ADD COLUMN auth_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE auth_changes (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL,
    token_version integer NOT NULL,     -- -1: the user was deleted
    is_active     boolean NOT NULL,
    is_superuser  boolean NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);

-- the purge of rows older than a listener can still need
CREATE INDEX auth_changes_at ON auth_changes (at);

CREATE FUNCTION users_auth_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c auth_changes;
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO auth_changes (user_id, token_version, is_active,
                                  is_superuser)
        VALUES (OLD.id, -1, false, false) RETURNING * INTO c;
    ELSE
        INSERT INTO auth_changes (user_id, token_version, is_active,
                                  is_superuser)
        VALUES (NEW.id, NEW.token_version, NEW.is_active, NEW.is_superuser)
        RETURNING * INTO c;
        NEW.auth_seq := c.seq;
    END IF;

    -- seq:user:version:active:superuser, delivered at commit
    PERFORM pg_notify('users_auth', c.seq || ':' || c.user_id || ':'
                      || c.token_version || ':' || c.is_active::integer
                      || ':' || c.is_superuser::integer);

    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;

    RETURN NEW;
END $$;

CREATE TRIGGER users_auth_update BEFORE UPDATE ON users FOR EACH ROW
WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version
      OR OLD.is_active IS DISTINCT FROM NEW.is_active
      OR OLD.is_superuser IS DISTINCT FROM NEW.is_superuser)
EXECUTE FUNCTION users_auth_changed();

CREATE TRIGGER users_auth_delete AFTER DELETE ON users FOR EACH ROW
EXECUTE FUNCTION users_auth_changed();

-- LISTEN is not a statement that can be prepared; a function can run it.
-- It takes effect when the calling transaction commits: the catch-up must
-- be a later statement, so that nothing commits unseen between the two.
CREATE FUNCTION users_auth_listen() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LISTEN users_auth;
END $$;
