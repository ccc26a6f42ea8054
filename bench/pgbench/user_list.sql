-- GET /users?limit=100: the module's prepared users_user_list statement.
-- statement: users_user_list
-- $1 = :skip
-- $2 = :limit
SELECT coalesce(json_agg(users_user_json(u) ORDER BY u.id), '[]') FROM (SELECT * FROM users ORDER BY id OFFSET :skip::bigint LIMIT :limit::bigint) u;
