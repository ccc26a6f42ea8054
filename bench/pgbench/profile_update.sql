-- PUT /profile/me with {"bio": ..., "location": ...}: the module's prepared
-- users_profile_update statement, with the same parameters (bits: 2 bio |
-- 8 location = 10; the absent keys are NULL), audited as the module does by
-- default (:audit, set by bench/run).
-- statement: users_profile_update
-- $1 = :id
-- $2 = :ver
-- $3 = :bits
-- $4 = NULL
-- $5 = :bio
-- $6 = NULL
-- $7 = :location
-- $8 = NULL
-- $9 = NULL
-- $10 = :audit
\set id random(:id_lo, :id_hi)
WITH target AS (UPDATE users SET name = CASE WHEN :bits::integer & 1 <> 0 THEN NULL ELSE name END, bio = CASE WHEN :bits::integer & 2 <> 0 THEN :bio ELSE bio END, avatar_url = CASE WHEN :bits::integer & 4 <> 0 THEN NULL ELSE avatar_url END, location = CASE WHEN :bits::integer & 8 <> 0 THEN :location ELSE location END, website = CASE WHEN :bits::integer & 16 <> 0 THEN NULL ELSE website END, phone = CASE WHEN :bits::integer & 32 <> 0 THEN NULL ELSE phone END, updated_at = CASE WHEN :bits::integer <> 0 THEN now() ELSE updated_at END WHERE id = :id::bigint AND token_version = :ver::integer AND is_active RETURNING id, is_superuser, users_profile_json(users) AS json), audited AS (INSERT INTO audit_events (event, actor_id, user_id, details, ip, user_agent, request_id) SELECT 'user_updated', id, id, jsonb_build_object('fields', to_jsonb(array_remove(ARRAY[CASE WHEN :bits::integer & 1 <> 0 THEN 'name' END, CASE WHEN :bits::integer & 2 <> 0 THEN 'bio' END, CASE WHEN :bits::integer & 4 <> 0 THEN 'avatar_url' END, CASE WHEN :bits::integer & 8 <> 0 THEN 'location' END, CASE WHEN :bits::integer & 16 <> 0 THEN 'website' END, CASE WHEN :bits::integer & 32 <> 0 THEN 'phone' END, NULL], NULL))), :audit::jsonb->>'ip', :audit::jsonb->>'ua', :audit::jsonb->>'rid' FROM target WHERE :bits::integer <> 0 AND :audit::jsonb IS NOT NULL) SELECT is_superuser, json FROM target;
