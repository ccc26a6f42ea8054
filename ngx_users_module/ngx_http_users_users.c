
/*
 * Copyright (C) ngx_users authors
 *
 * /users: the superuser's administration and a user's own account.  Each
 * change is one UPDATE whose bit set names the keys present, so a present
 * null clears, an absent key stays, and a taken email is refused by the
 * unique index (409) rather than by a read-then-write race.
 */


#include "ngx_http_users_module.h"


static ngx_int_t ngx_http_users_me_verified(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_update_hash(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_update_run(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_one(ngx_http_request_t *r);


static ngx_http_users_field_t  ngx_http_users_me_update_fields[] = {
    [NGX_HTTP_USERS_ME_EMAIL] =
    { ngx_string("email"), NGX_HTTP_USERS_FIELD_STRING, 0, 254,
      ngx_http_users_check_email, 0, 0 },
    [NGX_HTTP_USERS_ME_NAME] =
    { ngx_string("name"), NGX_HTTP_USERS_FIELD_STRING, 0, 255, NULL, 0, 1 },
    [NGX_HTTP_USERS_ME_PASSWORD] =
    { ngx_string("password"), NGX_HTTP_USERS_FIELD_STRING,
      NGX_HTTP_USERS_PASSWORD_MIN, NGX_HTTP_USERS_PASSWORD_MAX, NULL, 0, 0 },
    [NGX_HTTP_USERS_ME_CURRENT_PASSWORD] =
    { ngx_string("current_password"), NGX_HTTP_USERS_FIELD_STRING, 0, 0,
      NULL, 0, 0 }
};

ngx_http_users_schema_t  ngx_http_users_me_update_schema = {
    ngx_http_users_me_update_fields,
    sizeof(ngx_http_users_me_update_fields) / sizeof(ngx_http_users_field_t)
};

_Static_assert(sizeof(ngx_http_users_me_update_fields)
               / sizeof(ngx_http_users_field_t)
               == NGX_HTTP_USERS_ME_NKEYS,
               "ngx_http_users_me_update_fields[] needs one row per key");


static ngx_http_users_field_t  ngx_http_users_update_fields[] = {
    [NGX_HTTP_USERS_UPDATE_EMAIL] =
    { ngx_string("email"), NGX_HTTP_USERS_FIELD_STRING, 0, 254,
      ngx_http_users_check_email, 0, 0 },
    [NGX_HTTP_USERS_UPDATE_NAME] =
    { ngx_string("name"), NGX_HTTP_USERS_FIELD_STRING, 0, 255, NULL, 0, 1 },
    [NGX_HTTP_USERS_UPDATE_PASSWORD] =
    { ngx_string("password"), NGX_HTTP_USERS_FIELD_STRING,
      NGX_HTTP_USERS_PASSWORD_MIN, NGX_HTTP_USERS_PASSWORD_MAX, NULL, 0, 0 },
    [NGX_HTTP_USERS_UPDATE_ACTIVE] =
    { ngx_string("is_active"), NGX_HTTP_USERS_FIELD_BOOL, 0, 0, NULL, 0, 0 },
    [NGX_HTTP_USERS_UPDATE_SUPERUSER] =
    { ngx_string("is_superuser"), NGX_HTTP_USERS_FIELD_BOOL, 0, 0, NULL,
      0, 0 }
};

ngx_http_users_schema_t  ngx_http_users_update_schema = {
    ngx_http_users_update_fields,
    sizeof(ngx_http_users_update_fields) / sizeof(ngx_http_users_field_t)
};

_Static_assert(sizeof(ngx_http_users_update_fields)
               / sizeof(ngx_http_users_field_t)
               == NGX_HTTP_USERS_UPDATE_NKEYS,
               "ngx_http_users_update_fields[] needs one row per key");


static ngx_uint_t  ngx_http_users_update_bits[] = {
    [NGX_HTTP_USERS_UPDATE_EMAIL] = NGX_HTTP_USERS_UPDATE_SET_EMAIL,
    [NGX_HTTP_USERS_UPDATE_NAME] = NGX_HTTP_USERS_UPDATE_SET_NAME,
    [NGX_HTTP_USERS_UPDATE_PASSWORD] = NGX_HTTP_USERS_UPDATE_SET_PASSWORD,
    [NGX_HTTP_USERS_UPDATE_ACTIVE] = NGX_HTTP_USERS_UPDATE_SET_ACTIVE,
    [NGX_HTTP_USERS_UPDATE_SUPERUSER] = NGX_HTTP_USERS_UPDATE_SET_SUPERUSER
};


/* GET /users?skip=&limit=, ordered by id */

ngx_int_t
ngx_http_users_users_list(ngx_http_request_t *r)
{
    u_char                      *p;
    ngx_int_t                    rc;
    ngx_str_t                    params[2];
    ngx_array_t                 *errors;
    ngx_http_users_query_int_t   query[] = {
        [NGX_HTTP_USERS_LIST_SKIP] =
        { ngx_string("skip"), 0, INT64_MAX, 0, 0 },
        [NGX_HTTP_USERS_LIST_LIMIT] =
        { ngx_string("limit"), 1, 1000, 100, 0 }
    };

    errors = ngx_array_create(r->pool, 2, sizeof(ngx_http_users_error_t));
    if (errors == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_users_query_ints(r, query, NGX_HTTP_USERS_LIST_NKEYS,
                                   errors);

    if (rc == NGX_DECLINED) {
        return ngx_http_users_send_invalid(r, errors);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT64_LEN + 1));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0].data = p;
    p = ngx_sprintf(p, "%L%Z", query[NGX_HTTP_USERS_LIST_SKIP].value);
    params[1].data = p;
    (void) ngx_sprintf(p, "%L%Z", query[NGX_HTTP_USERS_LIST_LIMIT].value);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_USER_LIST, 2, params,
                                ngx_http_users_one);
}


/*
 * PUT /users/me: a new password needs the current one, verified on the
 * thread pool first; current_password alone is a validation error.
 */

ngx_int_t
ngx_http_users_users_me_update(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_value_t  *v, *current;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    v = ctx->values;

    ctx->path_id = ctx->user_id;
    ctx->path_id_text = ctx->user_id_text;

    current = &v[NGX_HTTP_USERS_ME_CURRENT_PASSWORD];

    if (current->present && !v[NGX_HTTP_USERS_ME_PASSWORD].present) {
        return ngx_http_users_send_invalid_one(r, "body", "current_password",
                   "current_password is only accepted with password",
                   "value_error");
    }

    if (!v[NGX_HTTP_USERS_ME_PASSWORD].present) {
        return ngx_http_users_update_run(r);
    }

    if (!current->present) {
        return ngx_http_users_send_detail(r, NGX_HTTP_BAD_REQUEST,
                                          "Incorrect password");
    }

    return ngx_http_users_password_post(r, NGX_HTTP_USERS_PW_VERIFY,
                                        &current->str,
                                        &ctx->user.hashed_password,
                                        ngx_http_users_me_verified);
}


static ngx_int_t
ngx_http_users_me_verified(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (!ctx->task->ok) {
        return ngx_http_users_send_detail(r, NGX_HTTP_BAD_REQUEST,
                                          "Incorrect password");
    }

    return ngx_http_users_update_hash(r);
}


ngx_int_t
ngx_http_users_users_get(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_USER_GET, 1,
                                &ctx->path_id_text, ngx_http_users_auth_answer);
}


/* PUT /users/{id}: one's own status and password have their own rules */

ngx_int_t
ngx_http_users_users_update(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_value_t  *v;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    v = ctx->values;

    if (ctx->path_id == ctx->user_id) {
        if (v[NGX_HTTP_USERS_UPDATE_ACTIVE].present
            || v[NGX_HTTP_USERS_UPDATE_SUPERUSER].present)
        {
            return ngx_http_users_send_detail(r, NGX_HTTP_BAD_REQUEST,
                                 "Superusers cannot change their own status");
        }

        if (v[NGX_HTTP_USERS_UPDATE_PASSWORD].present) {
            return ngx_http_users_send_detail(r, NGX_HTTP_BAD_REQUEST,
                                 "Use /users/me to change your own password");
        }
    }

    if (v[NGX_HTTP_USERS_UPDATE_PASSWORD].present) {
        return ngx_http_users_update_hash(r);
    }

    return ngx_http_users_update_run(r);
}


static ngx_int_t
ngx_http_users_update_hash(ngx_http_request_t *r)
{
    return ngx_http_users_password_hash_key(r, NGX_HTTP_USERS_UPDATE_PASSWORD,
                                           ngx_http_users_update_run);
}


/*
 * Both update routes end here with ctx->path_id as the target: $1 is the
 * id, $2 the bits of the keys present, $3.. the keys' values in the order
 * of ngx_http_users_update_key_e; the "me" schema has the first keys only.
 */

static ngx_int_t
ngx_http_users_update_run(ngx_http_request_t *r)
{
    u_char                  *p;
    ngx_uint_t               key, mask, nkeys;
    ngx_str_t                params[3 + NGX_HTTP_USERS_UPDATE_NKEYS];
    ngx_str_t               *value;
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_value_t  *v;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    v = ctx->values;

    /* the "me" schema's current_password is not a column */
    nkeys = (ctx->method->schema == &ngx_http_users_update_schema)
            ? NGX_HTTP_USERS_UPDATE_NKEYS : NGX_HTTP_USERS_ME_CURRENT_PASSWORD;

    ngx_memzero(params, sizeof(params));

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mask = 0;

    /* a present password was hashed on the way here */
    for (key = 0; key < nkeys; key++) {
        if (v[key].present) {
            mask |= ngx_http_users_update_bits[key];
        }
    }

    params[0] = ctx->path_id_text;
    if (ctx->method->access == NGX_HTTP_USERS_SUPERUSER) {
        ngx_str_set(&params[1], "t");

    } else {
        ngx_str_set(&params[1], "f");
    }

    params[2].data = p;
    (void) ngx_sprintf(p, "%ui%Z", mask);

    value = &params[3];

    value[NGX_HTTP_USERS_UPDATE_EMAIL] = v[NGX_HTTP_USERS_UPDATE_EMAIL].str;
    value[NGX_HTTP_USERS_UPDATE_NAME] = v[NGX_HTTP_USERS_UPDATE_NAME].str;

    if (mask & NGX_HTTP_USERS_UPDATE_SET_PASSWORD) {
        value[NGX_HTTP_USERS_UPDATE_PASSWORD] = ctx->task->new_hash;
    }

    for (key = NGX_HTTP_USERS_UPDATE_ACTIVE; key < nkeys; key++) {
        if (v[key].present) {
            value[key].data = (u_char *) (v[key].boolean ? "t" : "f");
            value[key].len = 1;
        }
    }

    /* the write checks its caller again: see ngx_http_users_sql.c */
    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_USER_UPDATE,
                                3 + NGX_HTTP_USERS_UPDATE_NKEYS, params,
                                ngx_http_users_auth_answer);
}


/* answers the single JSON value of a statement, 404 when there is none */

static ngx_int_t
ngx_http_users_one(ngx_http_request_t *r)
{
    ngx_str_t              json;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_write_error(r, ctx->res);
    }

    if (PQntuples(ctx->res) == 0) {
        return ngx_http_users_send_detail(r, NGX_HTTP_NOT_FOUND,
                                          "User not found");
    }

    if (ngx_http_users_pg_value(r, ctx->res, 0, &json) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_send_json(r, NGX_HTTP_OK, &json);
}


ngx_int_t
ngx_http_users_users_delete(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ctx->path_id == ctx->user_id) {
        return ngx_http_users_send_detail(r, NGX_HTTP_BAD_REQUEST,
                                   "Superusers cannot delete themselves");
    }

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_USER_DELETE, 1,
                                &ctx->path_id_text,
                                ngx_http_users_auth_deleted);
}
