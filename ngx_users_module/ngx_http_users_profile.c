
/*
 * Copyright (C) ngx_users authors
 *
 * /profile: one's own profile and preferences, and other users' public
 * profiles.  The writes authenticate inside their own statement (one round
 * trip); preferences are merged into the stored object by the database, so
 * concurrent updates of different keys all survive.
 */


#include "ngx_http_users_module.h"


static ngx_http_users_field_t  ngx_http_users_profile_fields[] = {
    [NGX_HTTP_USERS_PROFILE_NAME] =
    { ngx_string("name"), NGX_HTTP_USERS_FIELD_STRING, 0, 255, NULL, 0, 1 },
    [NGX_HTTP_USERS_PROFILE_BIO] =
    { ngx_string("bio"), NGX_HTTP_USERS_FIELD_STRING, 0, 10000, NULL, 0, 1 },
    [NGX_HTTP_USERS_PROFILE_AVATAR_URL] =
    { ngx_string("avatar_url"), NGX_HTTP_USERS_FIELD_STRING, 1, 500,
      ngx_http_users_check_url, 0, 1 },
    [NGX_HTTP_USERS_PROFILE_LOCATION] =
    { ngx_string("location"), NGX_HTTP_USERS_FIELD_STRING, 0, 255, NULL,
      0, 1 },
    [NGX_HTTP_USERS_PROFILE_WEBSITE] =
    { ngx_string("website"), NGX_HTTP_USERS_FIELD_STRING, 1, 500,
      ngx_http_users_check_url, 0, 1 },
    [NGX_HTTP_USERS_PROFILE_PHONE] =
    { ngx_string("phone"), NGX_HTTP_USERS_FIELD_STRING, 0, 20,
      ngx_http_users_check_phone, 0, 1 }
};

ngx_http_users_schema_t  ngx_http_users_profile_schema = {
    ngx_http_users_profile_fields,
    sizeof(ngx_http_users_profile_fields) / sizeof(ngx_http_users_field_t)
};

_Static_assert(sizeof(ngx_http_users_profile_fields)
               / sizeof(ngx_http_users_field_t)
               == NGX_HTTP_USERS_PROFILE_NKEYS,
               "ngx_http_users_profile_fields[] needs one row per key");


static ngx_uint_t  ngx_http_users_profile_bits[] = {
    [NGX_HTTP_USERS_PROFILE_NAME] = NGX_HTTP_USERS_PROFILE_SET_NAME,
    [NGX_HTTP_USERS_PROFILE_BIO] = NGX_HTTP_USERS_PROFILE_SET_BIO,
    [NGX_HTTP_USERS_PROFILE_AVATAR_URL] = NGX_HTTP_USERS_PROFILE_SET_AVATAR_URL,
    [NGX_HTTP_USERS_PROFILE_LOCATION] = NGX_HTTP_USERS_PROFILE_SET_LOCATION,
    [NGX_HTTP_USERS_PROFILE_WEBSITE] = NGX_HTTP_USERS_PROFILE_SET_WEBSITE,
    [NGX_HTTP_USERS_PROFILE_PHONE] = NGX_HTTP_USERS_PROFILE_SET_PHONE
};


static ngx_http_users_field_t  ngx_http_users_preferences_fields[] = {
    { ngx_string("theme"), NGX_HTTP_USERS_FIELD_STRING, 0, 0,
      ngx_http_users_check_theme, 0, 0 },
    { ngx_string("language"), NGX_HTTP_USERS_FIELD_STRING, 1, 35,
      ngx_http_users_check_language, 0, 0 },
    { ngx_string("timezone"), NGX_HTTP_USERS_FIELD_STRING, 1, 64,
      ngx_http_users_check_timezone, 0, 0 },
    { ngx_string("notifications_email"), NGX_HTTP_USERS_FIELD_BOOL, 0, 0,
      NULL, 0, 0 },
    { ngx_string("notifications_sms"), NGX_HTTP_USERS_FIELD_BOOL, 0, 0,
      NULL, 0, 0 },
    { ngx_string("privacy_public_profile"), NGX_HTTP_USERS_FIELD_BOOL, 0, 0,
      NULL, 0, 0 }
};

ngx_http_users_schema_t  ngx_http_users_preferences_schema = {
    ngx_http_users_preferences_fields,
    sizeof(ngx_http_users_preferences_fields) / sizeof(ngx_http_users_field_t)
};


/* PUT /profile/me: $3 has the bits of the keys present, $4.. their values */

ngx_int_t
ngx_http_users_profile_update(ngx_http_request_t *r)
{
    u_char                *p;
    ngx_uint_t             key, mask;
    ngx_str_t              params[1 + NGX_HTTP_USERS_PROFILE_NKEYS];
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    mask = 0;

    for (key = 0; key < NGX_HTTP_USERS_PROFILE_NKEYS; key++) {
        if (ctx->values[key].present) {
            mask |= ngx_http_users_profile_bits[key];
        }

        params[1 + key] = ctx->values[key].str;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0].data = p;
    params[0].len = ngx_sprintf(p, "%ui%Z", mask) - p - 1;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_PROFILE_UPDATE,
                                1 + NGX_HTTP_USERS_PROFILE_NKEYS, params,
                                ngx_http_users_auth_answer);
}


/*
 * PUT /profile/me/preferences: the body was validated against the schema
 * (known keys only, right types, no duplicates), so it is itself the
 * patch the database merges.
 */

ngx_int_t
ngx_http_users_preferences_update(ngx_http_request_t *r)
{
    ngx_str_t              patch;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    patch.len = ctx->body.len;
    patch.data = ngx_pnalloc(r->pool, patch.len + 1);
    if (patch.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(patch.data, ctx->body.data, patch.len);
    patch.data[patch.len] = '\0';

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_PREFERENCES_UPDATE, 1,
                                &patch, ngx_http_users_auth_answer);
}


ngx_int_t
ngx_http_users_avatar_delete(ngx_http_request_t *r)
{
    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_AVATAR_DELETE, 0, NULL,
                                ngx_http_users_auth_answer);
}


/* GET /profile/{id}: absent, inactive and private users look the same */

ngx_int_t
ngx_http_users_public_profile(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_PUBLIC_PROFILE, 1,
                                &ctx->path_id_text,
                                ngx_http_users_auth_answer);
}
