-- PUT /profile/me with {"bio": ..., "location": ...}: the module's prepared
-- users_profile_update statement, with the same parameters (bits: 2 bio |
-- 8 location = 10; the absent keys are NULL).
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
\set id random(:id_lo, :id_hi)
UPDATE users SET name = CASE WHEN :bits::integer & 1 <> 0 THEN NULL ELSE name END, bio = CASE WHEN :bits::integer & 2 <> 0 THEN :bio ELSE bio END, avatar_url = CASE WHEN :bits::integer & 4 <> 0 THEN NULL ELSE avatar_url END, location = CASE WHEN :bits::integer & 8 <> 0 THEN :location ELSE location END, website = CASE WHEN :bits::integer & 16 <> 0 THEN NULL ELSE website END, phone = CASE WHEN :bits::integer & 32 <> 0 THEN NULL ELSE phone END, updated_at = CASE WHEN :bits::integer <> 0 THEN now() ELSE updated_at END WHERE id = :id::bigint AND token_version = :ver::integer AND is_active RETURNING is_superuser, users_profile_json(users);
