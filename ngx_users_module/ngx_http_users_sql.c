
/*
 * Copyright (C) ngx_users authors
 *
 * Every statement the module sends, prepared once per connection.  Each
 * HTTP request is single-statement autocommit work: no transaction is ever
 * held across round trips, so a request that dies half-way strands nothing.
 *
 * Statements that authenticate take the caller as $1 (id) and $2 (token
 * version) and return the caller's is_superuser as their first column: no
 * row, or NULL there, means the token was revoked or the user is gone or
 * inactive.  The representations come from the SQL functions of
 * sql/0002_json.sql.
 *
 * Statements that change what the audit log records (sql/0006) take the
 * audit context as their last parameter ("audit" below): a JSON object of
 * the request's address, user agent and id, or NULL when users_audit is
 * off; each inserts its events in the statement that makes the change.
 */


#include "ngx_http_users_module.h"


#define NGX_HTTP_USERS_CALLER                                                 \
    "id = $1::bigint AND token_version = $2::integer AND is_active"

/* an event row: event, actor_id, user_id, details, then the context's */
#define NGX_HTTP_USERS_AUDIT_INTO                                             \
    "INSERT INTO audit_events"                                                \
    " (event, actor_id, user_id, details, ip, user_agent, request_id)"

#define NGX_HTTP_USERS_AUDIT_CONTEXT(ctx)                                     \
    ", " ctx "::jsonb->>'ip', " ctx "::jsonb->>'ua', " ctx "::jsonb->>'rid'"

#define NGX_HTTP_USERS_AUDIT_ON(ctx)  " " ctx "::jsonb IS NOT NULL"

/*
 * A login's session ($1 the caller's id and $2 its token version, so that
 * a password changed since it was verified starts none; $3 the refresh
 * token's hash; $4, $5 the session's and the token's lifetimes in
 * seconds; $6 the user agent; $7 the address; $12 its id, which the
 * refresh token carries), and two sessions past
 * their end for longer than $8 seconds (an access token's lifetime, so
 * that a session's missing row means it ended) purged with it: no timer,
 * no table scan.
 */
#define NGX_HTTP_USERS_SESSION_START                                          \
    " started AS (INSERT INTO sessions (id, user_id, expires_at,"             \
    " refresh_expires_at, user_agent, ip, refresh_hash)"                      \
    " SELECT $12::uuid, id, now() + $4::integer * interval '1 second',"       \
    " now() + least($4::integer, $5::integer) * interval '1 second',"         \
    " $6::text, $7::text, $3::bytea FROM users"                               \
    " WHERE id = $1::bigint AND token_version = $2::integer AND is_active"     \
    " RETURNING id, refresh_expires_at),"                                     \
    " purged AS (DELETE FROM sessions WHERE id IN (SELECT id FROM sessions"   \
    " WHERE expires_at < now() - $8::integer * interval '1 second'"           \
    " ORDER BY expires_at LIMIT 2 FOR UPDATE SKIP LOCKED)),"

/* ends sessions: their refresh tokens die, their rows are kept a while */
#define NGX_HTTP_USERS_SESSION_END(reason)                                    \
    "UPDATE sessions SET ended_at = now(), end_reason = " reason ","          \
    " refresh_expires_at = least(refresh_expires_at, now())"

#define NGX_HTTP_USERS_SESSION_LIVE                                           \
    "ended_at IS NULL AND refresh_expires_at > now()"

/* a session_ended event for each row of the CTE "ended" */
#define NGX_HTTP_USERS_SESSION_ENDED(actor, reason, ctx)                      \
    " audited AS (" NGX_HTTP_USERS_AUDIT_INTO                                 \
    " SELECT 'session_ended', " actor ", user_id,"                            \
    " jsonb_build_object('session_id', id, 'reason', " reason ")"             \
    NGX_HTTP_USERS_AUDIT_CONTEXT(ctx)                                         \
    " FROM ended WHERE" NGX_HTTP_USERS_AUDIT_ON(ctx) ")"

/* the seconds a refresh token has left: refresh_expires_in */
#define NGX_HTTP_USERS_EXPIRES_IN(column)                                     \
    " ceil(extract(epoch FROM " column " - now()))::bigint"

/* the column is set to value when its bit is in mask, else left alone */
#define NGX_HTTP_USERS_SET_IF(column, mask, bit, value)                       \
    " " column " = CASE WHEN " mask "::integer & " ngx_value(bit)             \
    " <> 0 THEN " value " ELSE " column " END,"

/* the column's name when its bit is in mask: an element of ..._FIELDS */
#define NGX_HTTP_USERS_FIELD_IF(column, mask, bit)                            \
    "CASE WHEN " mask "::integer & " ngx_value(bit)                           \
    " <> 0 THEN '" column "' END, "

/* an audit event's details: the names of the fields a change set */
#define NGX_HTTP_USERS_FIELDS(names)                                          \
    " jsonb_build_object('fields', to_jsonb(array_remove(ARRAY["              \
    names "NULL], NULL)))"


ngx_http_users_sql_t  ngx_http_users_sql[] = {

    [NGX_HTTP_USERS_SQL_AUTH] =
    { ngx_string("users_auth"),
      "SELECT is_superuser, users_user_json(u) FROM users u"
      " WHERE " NGX_HTTP_USERS_CALLER,
      2, NGX_HTTP_USERS_TAKES_CALLER },

    [NGX_HTTP_USERS_SQL_AUTH_PASSWORD] =
    { ngx_string("users_auth_password"),
      "SELECT is_superuser, users_user_json(u), hashed_password FROM users u"
      " WHERE " NGX_HTTP_USERS_CALLER,
      2, NGX_HTTP_USERS_TAKES_CALLER },

    [NGX_HTTP_USERS_SQL_PROFILE_ME] =
    { ngx_string("users_profile_me"),
      "SELECT is_superuser, users_profile_json(u) FROM users u"
      " WHERE " NGX_HTTP_USERS_CALLER,
      2, NGX_HTTP_USERS_TAKES_CALLER },

    [NGX_HTTP_USERS_SQL_PREFERENCES_ME] =
    { ngx_string("users_preferences_me"),
      "SELECT is_superuser, users_preferences_json(preferences) FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER,
      2, NGX_HTTP_USERS_TAKES_CALLER },

    [NGX_HTTP_USERS_SQL_PING] =
    { ngx_string("users_ping"),
      "SELECT 1",
      0, 0 },

    /*
     * The attempt is counted before it is admitted, in the row lock of its
     * account ($2 attempts a window of $3 seconds), and the account read in
     * the same round trip, with the same query whether or not it matches.
     * A refused attempt leaves the count at $2 + 1.  Two windows that have
     * ended go with each login, so that a flood of names cannot grow the
     * table without bound.  Columns: ngx_http_users_login_col_e.
     */
    [NGX_HTTP_USERS_SQL_LOGIN] =
    { ngx_string("users_login"),
      "WITH key AS (SELECT users_login_key($1) AS account),"
      " ended AS (DELETE FROM login_attempts WHERE account IN"
      " (SELECT account FROM login_attempts"
      " WHERE window_start <= now() - $3::integer * interval '1 second'"
      " AND account <> (SELECT account FROM key)"
      " ORDER BY window_start LIMIT 2 FOR UPDATE SKIP LOCKED)),"
      " counted AS (INSERT INTO login_attempts AS a"
      " (account, attempts, window_start)"
      " SELECT account, 1, now() FROM key"
      " ON CONFLICT (account) DO UPDATE SET"
      " attempts = CASE WHEN a.window_start"
      " <= now() - $3::integer * interval '1 second'"
      " THEN 1 ELSE least(a.attempts + 1, $2::integer + 1) END,"
      " window_start = CASE WHEN a.window_start"
      " <= now() - $3::integer * interval '1 second'"
      " THEN now() ELSE a.window_start END"
      " RETURNING attempts <= $2::integer AS admitted,"
      " ceil(extract(epoch FROM window_start"
      " + $3::integer * interval '1 second' - now()))::bigint AS wait),"
      " throttled AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'login_throttled', NULL::bigint, u.id,"
      " jsonb_build_object('account', encode(k.account, 'hex'))"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$4")
      " FROM counted c CROSS JOIN key k"
      " LEFT JOIN users u ON lower(u.email) = lower($1)"
      " WHERE NOT c.admitted AND" NGX_HTTP_USERS_AUDIT_ON("$4") ")"
      " SELECT c.admitted, c.wait, u.id, u.hashed_password, u.is_active,"
      " u.token_version FROM counted c"
      " LEFT JOIN users u ON lower(u.email) = lower($1)",
      4, NGX_HTTP_USERS_TAKES_AUDIT },

    /*
     * A refused password ($1 the address, $2 the account or NULL, $3 why):
     * its own statement, for known and unknown addresses alike, since the
     * attempt was counted before the hash could tell.
     */
    [NGX_HTTP_USERS_SQL_LOGIN_FAILED] =
    { ngx_string("users_login_failed"),
      NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'login_failed', NULL::bigint, $2::bigint,"
      " jsonb_build_object('account', encode(users_login_key($1), 'hex'),"
      " 'reason', $3::text)"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$4")
      " WHERE" NGX_HTTP_USERS_AUDIT_ON("$4"),
      4, NGX_HTTP_USERS_TAKES_AUDIT },

    /*
     * A success clears the count ($9: the address) and starts a session
     * (NGX_HTTP_USERS_SESSION_START); with $11, a new hash of the
     * password, it also upgrades the stored one, only while that is the
     * hash verified ($10), so a password changed meanwhile is never
     * overwritten.  Columns: ngx_http_users_started_col_e; no row when the
     * account changed since it was read.
     */
    [NGX_HTTP_USERS_SQL_LOGIN_SETTLE] =
    { ngx_string("users_login_settle"),
      "WITH settled AS (DELETE FROM login_attempts"
      " WHERE account = users_login_key($9)),"
      NGX_HTTP_USERS_SESSION_START
      " rehashed AS (UPDATE users SET hashed_password = $11::text"
      " WHERE $11::text IS NOT NULL AND id = $1::bigint"
      " AND hashed_password = $10::text),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'login_succeeded', $1::bigint, $1::bigint,"
      " jsonb_build_object('session_id', id)"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$13")
      " FROM started WHERE" NGX_HTTP_USERS_AUDIT_ON("$13") ")"
      " SELECT id," NGX_HTTP_USERS_EXPIRES_IN("refresh_expires_at")
      " FROM started",
      13, NGX_HTTP_USERS_TAKES_AUDIT },

    /* a taken email is 23505, never a race */
    [NGX_HTTP_USERS_SQL_REGISTER] =
    { ngx_string("users_register"),
      "WITH created AS (INSERT INTO users (email, name, hashed_password)"
      " VALUES ($1, $2, $3) RETURNING id, users_user_json(users) AS json),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'user_registered', id, id, '{}'"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$4")
      " FROM created WHERE" NGX_HTTP_USERS_AUDIT_ON("$4") ")"
      " SELECT id, json FROM created",
      4, NGX_HTTP_USERS_TAKES_AUDIT },

    [NGX_HTTP_USERS_SQL_LOGOUT] =
    { ngx_string("users_logout"),
      "WITH revoked AS (UPDATE users SET token_version = token_version + 1"
      " WHERE " NGX_HTTP_USERS_CALLER " RETURNING id, is_superuser),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'logout', id, id, '{}'" NGX_HTTP_USERS_AUDIT_CONTEXT("$3")
      " FROM revoked WHERE" NGX_HTTP_USERS_AUDIT_ON("$3") ")"
      " SELECT is_superuser FROM revoked",
      3, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /*
     * POST /auth/logout?scope=local|others ($4): the caller's session ($3,
     * NULL for a token from before sessions) or all but it.  The caller's
     * other tokens keep their version.
     */
    [NGX_HTTP_USERS_SQL_LOGOUT_SESSIONS] =
    { ngx_string("users_logout_sessions"),
      "WITH caller AS (SELECT id, is_superuser FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER "),"
      " ended AS (" NGX_HTTP_USERS_SESSION_END("$4::text")
      " WHERE user_id = (SELECT id FROM caller) AND ended_at IS NULL"
      " AND (id IS NOT DISTINCT FROM $3::uuid) = ($4::text = 'local')"
      " RETURNING id, user_id),"
      NGX_HTTP_USERS_SESSION_ENDED("$1::bigint", "$4::text", "$5") ","
      " logged AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'logout', id, id, jsonb_build_object('scope', $4::text)"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$5")
      " FROM caller WHERE" NGX_HTTP_USERS_AUDIT_ON("$5") ")"
      " SELECT is_superuser FROM caller",
      5, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /*
     * Rotation, a compare-and-swap on the presented token's hash ($1) in
     * the row of its session ($5, the id the token carries): of two
     * refreshes of one token, one finds it and the other waits for the
     * row, finds it changed and gets no row.  $2 the new token's hash, $3
     * the new token sealed (for the grace window), $4 the new token's
     * lifetime.  No column it sets is indexed, so the update is HOT.
     * Columns: ngx_http_users_refresh_col_e.
     */
    [NGX_HTTP_USERS_SQL_REFRESH] =
    { ngx_string("users_refresh"),
      "UPDATE sessions s SET prev_hash = s.refresh_hash,"
      " refresh_hash = $2::bytea, successor = $3::bytea,"
      " rotated_at = now(), last_used_at = now(),"
      " refresh_expires_at = least(now() + $4::integer * interval '1 second',"
      " s.expires_at)"
      " FROM users u WHERE s.id = $5::uuid AND s.refresh_hash = $1::bytea"
      " AND s.ended_at IS NULL AND s.refresh_expires_at > now()"
      " AND u.id = s.user_id AND u.is_active"
      " RETURNING s.id, u.id, u.token_version,"
      NGX_HTTP_USERS_EXPIRES_IN("s.refresh_expires_at") ", true, NULL",
      5, 0 },

    /*
     * The token was not current: its session ($3) rotated it ($1, now its
     * prev_hash).  Run after NGX_HTTP_USERS_SQL_REFRESH, so that a rotation
     * that won a race is seen.  Inside the grace window ($2 seconds since
     * the rotation) the sealed successor is answered again; after it, the
     * token was stolen or replayed, and the session ends.  Columns:
     * ngx_http_users_refresh_col_e.
     */
    [NGX_HTTP_USERS_SQL_REFRESH_REPLAY] =
    { ngx_string("users_refresh_replay"),
      "WITH s AS (SELECT id, user_id, successor, refresh_expires_at,"
      " rotated_at > now() - $2::integer * interval '1 second' AS grace"
      " FROM sessions WHERE id = $3::uuid AND prev_hash = $1::bytea AND "
      NGX_HTTP_USERS_SESSION_LIVE " FOR UPDATE),"
      " ended AS (" NGX_HTTP_USERS_SESSION_END("'reuse'")
      " WHERE id IN (SELECT id FROM s WHERE NOT grace)"
      " RETURNING id, user_id),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'refresh_reuse_detected', NULL::bigint, user_id,"
      " jsonb_build_object('session_id', id)"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$4")
      " FROM ended WHERE" NGX_HTTP_USERS_AUDIT_ON("$4") ")"
      " SELECT s.id, u.id, u.token_version,"
      NGX_HTTP_USERS_EXPIRES_IN("s.refresh_expires_at") ", s.grace,"
      " s.successor FROM s JOIN users u ON u.id = s.user_id AND u.is_active",
      4, NGX_HTTP_USERS_TAKES_AUDIT },

    /* GET /auth/sessions: $3 the caller's session, if its token has one */
    [NGX_HTTP_USERS_SQL_SESSIONS_LIST] =
    { ngx_string("users_sessions_list"),
      "SELECT u.is_superuser, (SELECT coalesce(json_agg("
      "users_session_json(s, $3::uuid) ORDER BY s.created_at DESC), '[]')"
      " FROM sessions s WHERE s.user_id = u.id AND "
      NGX_HTTP_USERS_SESSION_LIVE ") FROM users u"
      " WHERE " NGX_HTTP_USERS_CALLER,
      3, NGX_HTTP_USERS_TAKES_CALLER },

    /* DELETE /auth/sessions/{id} ($3): the second column NULL, not found */
    [NGX_HTTP_USERS_SQL_SESSION_DELETE] =
    { ngx_string("users_session_delete"),
      "WITH caller AS (SELECT id, is_superuser FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER "),"
      " ended AS (" NGX_HTTP_USERS_SESSION_END("'deleted'")
      " WHERE id = $3::uuid AND user_id = (SELECT id FROM caller)"
      " AND " NGX_HTTP_USERS_SESSION_LIVE " RETURNING id, user_id),"
      NGX_HTTP_USERS_SESSION_ENDED("$1::bigint", "'deleted'", "$4")
      " SELECT (SELECT is_superuser FROM caller), (SELECT id FROM ended)",
      4, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /* GET /users/{id}/sessions ($3): NULL for a missing user */
    [NGX_HTTP_USERS_SQL_USER_SESSIONS] =
    { ngx_string("users_user_sessions"),
      "WITH caller AS (SELECT is_superuser FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER ")"
      " SELECT (SELECT is_superuser FROM caller),"
      " (SELECT coalesce((SELECT json_agg(users_session_json(s, NULL)"
      " ORDER BY s.created_at DESC) FROM sessions s WHERE s.user_id = t.id"
      " AND " NGX_HTTP_USERS_SESSION_LIVE "), '[]') FROM users t"
      " WHERE t.id = $3::bigint AND (SELECT is_superuser FROM caller))",
      3, NGX_HTTP_USERS_TAKES_CALLER },

    /* DELETE /users/{id}/sessions ($3): the second column NULL, no user */
    [NGX_HTTP_USERS_SQL_USER_SESSIONS_DELETE] =
    { ngx_string("users_user_sessions_delete"),
      "WITH caller AS (SELECT is_superuser FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER " FOR SHARE),"
      " target AS (SELECT id FROM users WHERE id = $3::bigint"
      " AND EXISTS (SELECT 1 FROM caller WHERE is_superuser)),"
      " ended AS (" NGX_HTTP_USERS_SESSION_END("'admin'")
      " WHERE user_id = (SELECT id FROM target) AND ended_at IS NULL"
      " RETURNING id, user_id),"
      NGX_HTTP_USERS_SESSION_ENDED("$1::bigint", "'admin'", "$4")
      " SELECT (SELECT is_superuser FROM caller), (SELECT id FROM target)",
      4, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /*
     * Workers and pods may race here.  One row (is_superuser, created)
     * once the address exists; none while another's insert is not yet
     * visible, which the caller retries.
     */
    [NGX_HTTP_USERS_SQL_FIRST_SUPERUSER] =
    { ngx_string("users_first_superuser"),
      "WITH created AS (INSERT INTO users"
      " (email, name, hashed_password, is_superuser)"
      " SELECT $1::text, 'Admin', $2::text, true WHERE NOT EXISTS"
      " (SELECT 1 FROM users WHERE lower(email) = lower($1::text))"
      " ON CONFLICT DO NOTHING RETURNING is_superuser)"
      " SELECT is_superuser, true FROM created UNION ALL"
      " SELECT is_superuser, false FROM users"
      " WHERE lower(email) = lower($1::text)",
      2, 0 },

    /* one row holding the whole array */
    [NGX_HTTP_USERS_SQL_USER_LIST] =
    { ngx_string("users_user_list"),
      "SELECT coalesce(json_agg(users_user_json(u) ORDER BY u.id), '[]')"
      " FROM (SELECT * FROM users ORDER BY id"
      " OFFSET $1::bigint LIMIT $2::bigint) u",
      2, 0 },

    /* always one row */
    [NGX_HTTP_USERS_SQL_USER_GET] =
    { ngx_string("users_user_get"),
      "SELECT (SELECT is_superuser FROM users WHERE " NGX_HTTP_USERS_CALLER
      "), (SELECT users_user_json(t) FROM users t WHERE t.id = $3::bigint)",
      3, NGX_HTTP_USERS_TAKES_CALLER },

    /*
     * The caller is checked again by the write itself, its row
     * share-locked so that a logout, deactivation or demotion committed
     * meanwhile stops the write ($4: the route needs a superuser).  $5:
     * the NGX_HTTP_USERS_UPDATE_SET_* bits of the keys present, so that a
     * present null clears and an absent key is left alone.  A new password
     * or a deactivation revokes every token issued before.  Always one
     * row: the caller's is_superuser (NULL: refused), the target's JSON
     * (NULL: not found, or not written).  The events compare the row
     * before ("old", locked) with the row written.
     */
    [NGX_HTTP_USERS_SQL_USER_UPDATE] =
    { ngx_string("users_user_update"),
      "WITH caller AS (SELECT is_superuser FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER " FOR SHARE),"
      " old AS (SELECT id AS old_id, is_active AS was_active,"
      " is_superuser AS was_superuser FROM users WHERE id = $3::bigint"
      " AND EXISTS (SELECT 1 FROM caller"
      " WHERE is_superuser OR NOT $4::boolean) FOR UPDATE),"
      " target AS (UPDATE users SET"
      NGX_HTTP_USERS_SET_IF("email", "$5", NGX_HTTP_USERS_UPDATE_SET_EMAIL,
                            "$6")
      NGX_HTTP_USERS_SET_IF("name", "$5", NGX_HTTP_USERS_UPDATE_SET_NAME,
                            "$7")
      NGX_HTTP_USERS_SET_IF("hashed_password", "$5",
                            NGX_HTTP_USERS_UPDATE_SET_PASSWORD, "$8")
      NGX_HTTP_USERS_SET_IF("is_active", "$5",
                            NGX_HTTP_USERS_UPDATE_SET_ACTIVE, "$9::boolean")
      NGX_HTTP_USERS_SET_IF("is_superuser", "$5",
                            NGX_HTTP_USERS_UPDATE_SET_SUPERUSER,
                            "$10::boolean")
      " token_version = token_version + CASE WHEN $5::integer & "
      ngx_value(NGX_HTTP_USERS_UPDATE_SET_PASSWORD) " <> 0"
      " OR ($5::integer & " ngx_value(NGX_HTTP_USERS_UPDATE_SET_ACTIVE)
      " <> 0 AND NOT $9::boolean AND is_active)"
      " THEN 1 ELSE 0 END,"
      " updated_at = CASE WHEN $5::integer <> 0 THEN now()"
      " ELSE updated_at END"
      " FROM old WHERE users.id = old.old_id"
      " RETURNING users.id, users_user_json(users) AS json, old.was_active,"
      " users.is_active, old.was_superuser, users.is_superuser),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT e.event, $1::bigint, t.id, e.details"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$11")
      " FROM target t CROSS JOIN LATERAL (VALUES"
      " ('user_updated'," NGX_HTTP_USERS_FIELDS(
          NGX_HTTP_USERS_FIELD_IF("email", "$5",
                                  NGX_HTTP_USERS_UPDATE_SET_EMAIL)
          NGX_HTTP_USERS_FIELD_IF("name", "$5",
                                  NGX_HTTP_USERS_UPDATE_SET_NAME)
          NGX_HTTP_USERS_FIELD_IF("password", "$5",
                                  NGX_HTTP_USERS_UPDATE_SET_PASSWORD)
          NGX_HTTP_USERS_FIELD_IF("is_active", "$5",
                                  NGX_HTTP_USERS_UPDATE_SET_ACTIVE)
          NGX_HTTP_USERS_FIELD_IF("is_superuser", "$5",
                                  NGX_HTTP_USERS_UPDATE_SET_SUPERUSER))
      ", $5::integer <> 0),"
      " ('password_changed', '{}', $5::integer & "
      ngx_value(NGX_HTTP_USERS_UPDATE_SET_PASSWORD) " <> 0),"
      " ('user_deactivated', '{}', t.was_active AND NOT t.is_active),"
      " ('superuser_granted', '{}', NOT t.was_superuser AND t.is_superuser),"
      " ('superuser_revoked', '{}', t.was_superuser AND NOT t.is_superuser))"
      " e (event, details, happened)"
      " WHERE e.happened AND" NGX_HTTP_USERS_AUDIT_ON("$11") ")"
      " SELECT (SELECT is_superuser FROM caller), (SELECT json FROM target)",
      11, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /* as the update, for a superuser */
    [NGX_HTTP_USERS_SQL_USER_DELETE] =
    { ngx_string("users_user_delete"),
      "WITH caller AS (SELECT is_superuser FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER " FOR SHARE),"
      " target AS (DELETE FROM users WHERE id = $3::bigint"
      " AND EXISTS (SELECT 1 FROM caller WHERE is_superuser)"
      " RETURNING id),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'user_deleted', $1::bigint, id, '{}'"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$4")
      " FROM target WHERE" NGX_HTTP_USERS_AUDIT_ON("$4") ")"
      " SELECT (SELECT is_superuser FROM caller), (SELECT id FROM target)",
      4, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /* $3: the NGX_HTTP_USERS_PROFILE_SET_* bits of the keys present */
    [NGX_HTTP_USERS_SQL_PROFILE_UPDATE] =
    { ngx_string("users_profile_update"),
      "WITH target AS (UPDATE users SET"
      NGX_HTTP_USERS_SET_IF("name", "$3", NGX_HTTP_USERS_PROFILE_SET_NAME,
                            "$4")
      NGX_HTTP_USERS_SET_IF("bio", "$3", NGX_HTTP_USERS_PROFILE_SET_BIO,
                            "$5")
      NGX_HTTP_USERS_SET_IF("avatar_url", "$3",
                            NGX_HTTP_USERS_PROFILE_SET_AVATAR_URL, "$6")
      NGX_HTTP_USERS_SET_IF("location", "$3",
                            NGX_HTTP_USERS_PROFILE_SET_LOCATION, "$7")
      NGX_HTTP_USERS_SET_IF("website", "$3",
                            NGX_HTTP_USERS_PROFILE_SET_WEBSITE, "$8")
      NGX_HTTP_USERS_SET_IF("phone", "$3", NGX_HTTP_USERS_PROFILE_SET_PHONE,
                            "$9")
      " updated_at = CASE WHEN $3::integer <> 0 THEN now()"
      " ELSE updated_at END"
      " WHERE " NGX_HTTP_USERS_CALLER
      " RETURNING id, is_superuser, users_profile_json(users) AS json),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'user_updated', id, id," NGX_HTTP_USERS_FIELDS(
          NGX_HTTP_USERS_FIELD_IF("name", "$3",
                                  NGX_HTTP_USERS_PROFILE_SET_NAME)
          NGX_HTTP_USERS_FIELD_IF("bio", "$3",
                                  NGX_HTTP_USERS_PROFILE_SET_BIO)
          NGX_HTTP_USERS_FIELD_IF("avatar_url", "$3",
                                  NGX_HTTP_USERS_PROFILE_SET_AVATAR_URL)
          NGX_HTTP_USERS_FIELD_IF("location", "$3",
                                  NGX_HTTP_USERS_PROFILE_SET_LOCATION)
          NGX_HTTP_USERS_FIELD_IF("website", "$3",
                                  NGX_HTTP_USERS_PROFILE_SET_WEBSITE)
          NGX_HTTP_USERS_FIELD_IF("phone", "$3",
                                  NGX_HTTP_USERS_PROFILE_SET_PHONE))
      NGX_HTTP_USERS_AUDIT_CONTEXT("$10")
      " FROM target WHERE $3::integer <> 0 AND"
      NGX_HTTP_USERS_AUDIT_ON("$10") ")"
      " SELECT is_superuser, json FROM target",
      10, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /*
     * the merge happens in the row itself, so concurrent updates of
     * different keys all survive
     */
    [NGX_HTTP_USERS_SQL_PREFERENCES_UPDATE] =
    { ngx_string("users_preferences_update"),
      "WITH target AS (UPDATE users"
      " SET preferences = preferences || $3::jsonb,"
      " updated_at = CASE WHEN $3::jsonb <> '{}' THEN now()"
      " ELSE updated_at END"
      " WHERE " NGX_HTTP_USERS_CALLER
      " RETURNING id, is_superuser,"
      " users_preferences_json(preferences) AS json),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'user_updated', id, id, jsonb_build_object('fields',"
      " (SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys($3::jsonb) k))"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$4")
      " FROM target WHERE $3::jsonb <> '{}' AND"
      NGX_HTTP_USERS_AUDIT_ON("$4") ")"
      " SELECT is_superuser, json FROM target",
      4, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    [NGX_HTTP_USERS_SQL_AVATAR_DELETE] =
    { ngx_string("users_avatar_delete"),
      "WITH old AS (SELECT id AS old_id, avatar_url AS was FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER " FOR UPDATE),"
      " target AS (UPDATE users SET avatar_url = NULL,"
      " updated_at = CASE WHEN avatar_url IS NULL THEN updated_at"
      " ELSE now() END"
      " FROM old WHERE users.id = old.old_id"
      " RETURNING users.id, is_superuser, users_profile_json(users) AS json,"
      " old.was IS NOT NULL AS changed),"
      " audited AS (" NGX_HTTP_USERS_AUDIT_INTO
      " SELECT 'user_updated', id, id,"
      " jsonb_build_object('fields', jsonb_build_array('avatar_url'))"
      NGX_HTTP_USERS_AUDIT_CONTEXT("$3")
      " FROM target WHERE changed AND" NGX_HTTP_USERS_AUDIT_ON("$3") ")"
      " SELECT is_superuser, json FROM target",
      3, NGX_HTTP_USERS_TAKES_CALLER | NGX_HTTP_USERS_TAKES_AUDIT },

    /* always one row */
    [NGX_HTTP_USERS_SQL_PUBLIC_PROFILE] =
    { ngx_string("users_public_profile"),
      "SELECT (SELECT is_superuser FROM users WHERE " NGX_HTTP_USERS_CALLER
      "), (SELECT users_public_profile_json(t) FROM users t"
      " WHERE t.id = $3::bigint AND t.is_active"
      " AND coalesce((t.preferences->'privacy_public_profile')::boolean,"
      " true))",
      3, NGX_HTTP_USERS_TAKES_CALLER },

    /*
     * GET /audit: always one row, the caller's is_superuser and the page,
     * newest first, of the events matching $3 (user), $4 (event) and $5
     * (before this id), each filter NULL when absent; $6 events at most.
     */
    [NGX_HTTP_USERS_SQL_AUDIT_LIST] =
    { ngx_string("users_audit_list"),
      "WITH caller AS (SELECT is_superuser FROM users"
      " WHERE " NGX_HTTP_USERS_CALLER ")"
      " SELECT (SELECT is_superuser FROM caller),"
      " (SELECT coalesce(json_agg(users_audit_json(a) ORDER BY a.id DESC),"
      " '[]') FROM (SELECT * FROM audit_events"
      " WHERE ($3::bigint IS NULL OR user_id = $3::bigint)"
      " AND ($4::text IS NULL OR event = $4::text)"
      " AND ($5::bigint IS NULL OR id < $5::bigint)"
      " AND (SELECT is_superuser FROM caller)"
      " ORDER BY id DESC LIMIT $6::bigint) a)",
      6, NGX_HTTP_USERS_TAKES_CALLER },

    /*
     * A user's revocation state, for shared memory (users_auth, GET
     * /auth/verify, an API route whose token names a session); auth_seq
     * orders it against the notified changes.  $2 is the token's session
     * (NULL without one): ended, or its row gone (purged once its tokens
     * expired), is the last column.  Columns: ngx_http_users_state_col_e.
     */
    [NGX_HTTP_USERS_SQL_AUTH_STATE] =
    { ngx_string("users_auth_state"),
      "SELECT token_version, is_active, is_superuser, auth_seq,"
      " $2::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sessions s"
      " WHERE s.id = $2::uuid AND s.ended_at IS NULL)"
      " FROM users WHERE id = $1::bigint",
      2, 0 },

    /* the listener's connection (sql/0005_auth_changes.sql) */
    [NGX_HTTP_USERS_SQL_AUTH_LISTEN] =
    { ngx_string("users_auth_listen"),
      "SELECT users_auth_listen()",
      0, 0 },

    /*
     * The changes after $1, and those of the last minute whatever their
     * number: a transaction commits after others that took later numbers,
     * and applying a change twice is harmless.  The last column is the
     * oldest change the log still holds: a listener that is further behind
     * has lost changes to the purge and must forget everything.  A row
     * with a session_id is a session's end (sql/0007_sessions.sql).
     * Columns: ngx_http_users_change_col_e.
     */
    [NGX_HTTP_USERS_SQL_AUTH_CHANGES] =
    { ngx_string("users_auth_changes"),
      "SELECT seq, user_id, token_version, is_active, is_superuser,"
      " session_id, (SELECT min(seq) FROM auth_changes) FROM auth_changes"
      " WHERE seq > $1::bigint OR at > now() - interval '1 minute'"
      " ORDER BY seq",
      1, 0 },

    /*
     * The listener's heartbeat: an answer proves the connection alive, and
     * the last number, that no notification went missing.  A day of the
     * log is kept; each beat purges a bounded part of what is older.
     */
    [NGX_HTTP_USERS_SQL_AUTH_HEARTBEAT] =
    { ngx_string("users_auth_heartbeat"),
      "WITH purged AS (DELETE FROM auth_changes WHERE seq IN"
      " (SELECT seq FROM auth_changes WHERE at < now() - interval '1 day'"
      " ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED))"
      " SELECT coalesce(max(seq), 0) FROM auth_changes",
      0, 0 }
};


/* the table is indexed by statement id: a row missing or extra breaks it */
_Static_assert(sizeof(ngx_http_users_sql) / sizeof(ngx_http_users_sql[0])
               == NGX_HTTP_USERS_SQL_COUNT,
               "ngx_http_users_sql[] needs one row per ngx_http_users_sql_e");


/* a row skipped in the middle is zeroed: found at start, not as 503s */

ngx_int_t
ngx_http_users_sql_check(ngx_log_t *log)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_USERS_SQL_COUNT; i++) {
        if (ngx_http_users_sql[i].text == NULL) {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "users: statement %ui has no row in "
                          "ngx_http_users_sql[]", i);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
