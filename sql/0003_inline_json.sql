-- PostgreSQL inlines a SQL function into the statement only when the
-- function is no less volatile than its body: to_char() and
-- json_build_object() are STABLE, so these two were called, not inlined,
-- costing every profile read a trip through the SQL function executor.
ALTER FUNCTION users_rfc3339(timestamptz) STABLE;
ALTER FUNCTION users_preferences_json(jsonb) STABLE;
