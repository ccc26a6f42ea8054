-- A refresh token now carries its session's id (docs/api.md, "Sessions
-- and refresh tokens"): a rotation finds its row by the primary key and
-- compares the hash there, and reuse detection the previous one.  The two
-- hash indexes go: with them every rotation rewrote indexed columns, a
-- non-HOT update that inserted into all five indexes; without them it
-- sets no indexed column, and a HOT update needs room on the row's page,
-- which the fill factor keeps for rows inserted from now on.
-- Refresh tokens issued before (43 characters, no id) answer 401 from
-- now on; their sessions' access tokens work until they expire, and a
-- new login starts a session.
DROP INDEX sessions_refresh_hash;
DROP INDEX sessions_prev_hash;
ALTER TABLE sessions SET (fillfactor = 80);
