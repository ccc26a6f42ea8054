-- POST /auth/refresh: the module's prepared users_refresh statement (the
-- rotation, a compare-and-swap on the presented token's hash), as the
-- module runs it once a refresh. Each pgbench client rotates a session of
-- its own along a chain of known hashes: bench/run seeds, before each run,
-- one live session per client (client c of tag T holds
-- sha256('T-c-0'), its id md5('T-c') as a uuid) and passes -D tag=T
-- -D k=0; transaction k (a
-- per-client counter, kept across transactions) rotates sha256('T-c-k')
-- into sha256('T-c-k+1'). A transaction that found no row would be
-- measured too, and silently: bench/run checks afterwards, from pgbench's
-- per-transaction log, that each client's session ended on the hash of
-- its count. $3 stands for the sealed successor (nonce, token, tag: 83
-- bytes), $4 for users_refresh_ttl (7 days).
-- statement: users_refresh
-- $1 = sha256(convert_to(:tag || '-' || :client_id || '-' || :k, 'UTF8'))
-- $2 = sha256(convert_to(:tag || '-' || :client_id || '-' || :next, 'UTF8'))
-- $3 = decode(repeat('5e', 83), 'hex')
-- $4 = :ttl
-- $5 = md5(:tag || '-' || :client_id)
\set ttl 604800
\set next :k + 1
UPDATE sessions s SET prev_hash = s.refresh_hash, refresh_hash = sha256(convert_to(:tag || '-' || :client_id || '-' || :next, 'UTF8'))::bytea, successor = decode(repeat('5e', 83), 'hex')::bytea, rotated_at = now(), last_used_at = now(), refresh_expires_at = least(now() + :ttl::integer * interval '1 second', s.expires_at) FROM users u WHERE s.id = md5(:tag || '-' || :client_id)::uuid AND s.refresh_hash = sha256(convert_to(:tag || '-' || :client_id || '-' || :k, 'UTF8'))::bytea AND s.ended_at IS NULL AND s.refresh_expires_at > now() AND u.id = s.user_id AND u.is_active RETURNING s.id, u.id, u.token_version, ceil(extract(epoch FROM s.refresh_expires_at - now()))::bigint, true, NULL;
\set k :next
