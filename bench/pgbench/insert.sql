-- POST /auth/register without the Argon2id hash: the module's prepared
-- users_register statement with a fresh email each time.
-- statement: users_register
-- $1 = 'pgb-' || :r || '@bench.example'
-- $2 = 'Bench Registered'
-- $3 = :hash
\set r random(1, 9000000000000000000)
INSERT INTO users (email, name, hashed_password) VALUES ('pgb-' || :r || '@bench.example', 'Bench Registered', :hash) RETURNING id, users_user_json(users);
