-- POST /auth/register without the Argon2id hash: the module's prepared
-- users_register statement with a fresh email each time, audited as the
-- module does by default (:audit, set by bench/run).
-- statement: users_register
-- $1 = 'pgb-' || :r || '@bench.example'
-- $2 = 'Bench Registered'
-- $3 = :hash
-- $4 = :audit
\set r random(1, 9000000000000000000)
WITH created AS (INSERT INTO users (email, name, hashed_password) VALUES ('pgb-' || :r || '@bench.example', 'Bench Registered', :hash) RETURNING id, users_user_json(users) AS json), audited AS (INSERT INTO audit_events (event, actor_id, user_id, details, ip, user_agent, request_id) SELECT 'user_registered', id, id, '{}', :audit::jsonb->>'ip', :audit::jsonb->>'ua', :audit::jsonb->>'rid' FROM created WHERE :audit::jsonb IS NOT NULL) SELECT id, json FROM created;
