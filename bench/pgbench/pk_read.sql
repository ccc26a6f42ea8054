-- GET /users/me (and the other authenticated reads): the module's prepared
-- users_auth statement, for the token users' ids.
-- statement: users_auth
-- $1 = :id
-- $2 = :ver
\set id random(:id_lo, :id_hi)
SELECT is_superuser, users_user_json(u) FROM users u WHERE id = :id::bigint AND token_version = :ver::integer AND is_active;
