-- The login throttle's truth, shared by every worker, instance and restart.
-- An attempt is counted when it is admitted, before any hash, so parallel
-- guesses cannot outrun the count; a success deletes the row.  The key is
-- the digest of lower(username): the folding of the login lookup and of
-- uq_users_email_lower, so every spelling of an address shares one count,
-- unknown addresses count like known ones, and no address is stored.
CREATE TABLE login_attempts (
    account      bytea PRIMARY KEY,
    attempts     integer NOT NULL,
    window_start timestamptz NOT NULL
);

-- the login statement deletes a few ended windows, oldest first
CREATE INDEX login_attempts_window_start ON login_attempts (window_start);

-- the key of an address: what PostgreSQL's lower() makes of it, digested
CREATE FUNCTION users_login_key(username text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sha256(convert_to(lower(username), 'UTF8'));
