-- The API's representations, built where the data is: the module sends
-- these texts to clients as they are, so C never formats a timestamp or
-- escapes a string. json (not jsonb) keeps the keys in this order.

CREATE FUNCTION users_rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

CREATE FUNCTION users_user_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
RETURN json_build_object(
    'id', u.id,
    'email', u.email,
    'name', u.name,
    'is_active', u.is_active,
    'is_superuser', u.is_superuser,
    'created_at', users_rfc3339(u.created_at),
    'updated_at', users_rfc3339(u.updated_at));

-- every key present, defaults where the stored object has none
CREATE FUNCTION users_preferences_json(p jsonb) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN json_build_object(
    'theme', coalesce(p->>'theme', 'light'),
    'language', coalesce(p->>'language', 'en'),
    'timezone', coalesce(p->>'timezone', 'UTC'),
    'notifications_email', coalesce((p->'notifications_email')::boolean, true),
    'notifications_sms', coalesce((p->'notifications_sms')::boolean, false),
    'privacy_public_profile',
        coalesce((p->'privacy_public_profile')::boolean, true));

CREATE FUNCTION users_profile_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
RETURN json_build_object(
    'id', u.id,
    'email', u.email,
    'name', u.name,
    'is_active', u.is_active,
    'is_superuser', u.is_superuser,
    'created_at', users_rfc3339(u.created_at),
    'updated_at', users_rfc3339(u.updated_at),
    'bio', u.bio,
    'avatar_url', u.avatar_url,
    'location', u.location,
    'website', u.website,
    'phone', u.phone,
    'preferences', users_preferences_json(u.preferences));

CREATE FUNCTION users_public_profile_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
RETURN json_build_object(
    'id', u.id,
    'name', u.name,
    'bio', u.bio,
    'avatar_url', u.avatar_url,
    'location', u.location,
    'website', u.website,
    'created_at', users_rfc3339(u.created_at));
