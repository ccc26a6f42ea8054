-- Who did what (docs/api.md, "Metrics and audit"): each event is inserted
-- by the statement that makes the change it records, so a change that
-- rolls back leaves no event and an event never outlives its change.
-- Nothing secret is kept: a login's attempted address only as the
-- throttle's digest of it (users_login_key), a change only as the names
-- of the fields it set.  No foreign key: the record of a deleted user
-- stays.
CREATE TABLE audit_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    event      text NOT NULL,
    actor_id   bigint,              -- NULL: nobody signed in
    user_id    bigint,              -- the account concerned, when known
    ip         text,
    user_agent text,
    request_id text,
    details    jsonb NOT NULL DEFAULT '{}'
);

-- GET /audit?user_id= pages one user's events newest first
CREATE INDEX audit_events_user_id ON audit_events (user_id, id);
-- the retention purge (sql/audit-purge.sh) takes the oldest first
CREATE INDEX audit_events_at ON audit_events (at);

CREATE FUNCTION users_audit_json(a audit_events) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN json_build_object(
    'id', a.id,
    'at', users_rfc3339(a.at),
    'event', a.event,
    'actor_id', a.actor_id,
    'user_id', a.user_id,
    'ip', a.ip,
    'user_agent', a.user_agent,
    'request_id', a.request_id,
    'details', a.details);
