
/*
 * Copyright (C) ngx_users authors
 *
 * The life of a request: the body is always read first, then the checks
 * run in the contract's order (route and method, authentication, content
 * type, validation) and the route's handler answers, possibly after
 * PostgreSQL or the password thread pool.  The reference taken by reading
 * the body is the one reference this module holds: whatever answers
 * releases it with exactly one ngx_http_finalize_request().
 */


#include "ngx_http_users_module.h"
#include <sodium.h>


static void ngx_http_users_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_start(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_state_loaded(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_caller(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_authenticated(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_refuse(ngx_http_request_t *r, ngx_int_t rc,
    ngx_array_t *errors);
static ngx_int_t ngx_http_users_read_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_media_type(ngx_http_request_t *r,
    ngx_http_users_body_e body);
static void ngx_http_users_path_id(ngx_http_request_t *r, ngx_str_t *text,
    ngx_array_t *errors);
static ngx_int_t ngx_http_users_path_session(ngx_http_request_t *r,
    ngx_str_t *text);
static void ngx_http_users_pg_done(ngx_http_users_pg_op_t *op,
    PGresult *res);
static void ngx_http_users_finish(ngx_http_request_t *r, ngx_int_t rc);
static ngx_int_t ngx_http_users_admit(ngx_http_request_t *r);
static void ngx_http_users_record(ngx_http_request_t *r, ngx_int_t rc);
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_users_ctx_t       *ctx;
} ngx_http_users_wipe_t;


static void ngx_http_users_cleanup(void *data);
static void ngx_http_users_wipe(void *data);
static void ngx_http_users_wipe_buf(ngx_buf_t *b);


ngx_int_t
ngx_http_users_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_users_admit(r);

    /* answered before the body was read: the content phase finalizes */
    if (rc != NGX_DONE) {
        ngx_http_users_record(r, rc);
    }

    return rc;
}


static ngx_int_t
ngx_http_users_admit(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_pool_cleanup_t          *wipe;
    ngx_http_cleanup_t          *cln;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_loc_conf_t   *ulcf;
    ngx_http_users_main_conf_t  *umcf;

    ulcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_users_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->route = ulcf->route;
    ngx_http_set_ctx(r, ctx, ngx_http_users_module);

    ctx->method = ngx_http_users_route_method(ctx->route, r->method);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users route \"%V\" method \"%V\"%s", &ctx->route->name,
                   &r->method_name, ctx->method ? "" : " not allowed");

    if (ctx->method == NULL) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_users_send_method_not_allowed(r);
    }

    if (ctx->method->handler == ngx_http_users_meta_error) {
        /* an error page must not read a body nginx has given up on */
        return ngx_http_users_meta_error(r);
    }

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (r->headers_in.content_length_n > (off_t) umcf->max_body_size) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_users_send_detail(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "Request body too large");
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_users_cleanup;
    cln->data = r;

    /*
     * A pool cleanup runs after the access log is written and before the
     * memory goes back to the allocator, where a password would outlive
     * the request.
     */

    wipe = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_users_wipe_t));
    if (wipe == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    wipe->handler = ngx_http_users_wipe;
    ((ngx_http_users_wipe_t *) wipe->data)->request = r;
    ((ngx_http_users_wipe_t *) wipe->data)->ctx = ctx;

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_users_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_users_body_handler(ngx_http_request_t *r)
{
    ngx_http_users_finish(r, ngx_http_users_start(r));
}


/*
 * Runs a step's result: NGX_DONE means the step parked the request on
 * PostgreSQL or a thread; anything else is the final rc.
 */

static void
ngx_http_users_finish(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_DONE) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users finalize: %i", rc);

    ngx_http_users_record(r, rc);

    ngx_http_finalize_request(r, rc);
}


/*
 * Counts a request once, with the status it is answered: rc itself when
 * error_page is to answer it, else the one sent.  An error page is the
 * request's second route, and nginx has forgotten the first one's context
 * by then; the wipe's cleanup still holds it: a request already counted
 * is not counted again, one nginx gave up on (a client that stopped
 * sending its body) is counted for its own route.
 */

static void
ngx_http_users_record(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_uint_t             status;
    ngx_pool_cleanup_t    *cln;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    if (ctx == NULL) {
        return;
    }

    if (ctx->method && ctx->method->handler == ngx_http_users_meta_error) {
        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_users_wipe) {
                ctx = ((ngx_http_users_wipe_t *) cln->data)->ctx;
                break;
            }
        }
    }

    if (ctx->recorded) {
        return;
    }

    ctx->recorded = 1;

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        status = rc;

    } else if (r->headers_out.status) {
        status = r->headers_out.status;

    } else {
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_users_metrics_request(r, ctx->route, status);
}


static ngx_int_t
ngx_http_users_start(ngx_http_request_t *r)
{
    char                     *detail;
    ngx_int_t                 rc;
    ngx_array_t              *errors;
    ngx_http_users_ctx_t     *ctx;
    ngx_http_users_ident_t   *ident;
    ngx_http_users_method_t  *m;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    m = ctx->method;

    rc = ngx_http_users_read_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (m->access == NGX_HTTP_USERS_ANYONE) {
        rc = ngx_http_users_check_input(r, &errors);
        if (rc != NGX_OK) {
            return ngx_http_users_refuse(r, rc, errors);
        }

        return m->handler(r);
    }

    rc = ngx_http_users_auth_token(r, &detail);

    if (rc == NGX_DECLINED) {
        return ngx_http_users_send_unauthorized(r, detail);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The caller's row says nothing of sessions: when shared memory cannot
     * tell whether the token's session ended, the database does first.
     */

    if (ngx_http_users_revocation_check(r, ident) != NGX_OK
        && ident->sid.len)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users auth: session \"%V\" asked of the database",
                       &ident->sid);

        return ngx_http_users_state_query(r, ngx_http_users_caller);
    }

    return ngx_http_users_caller(r);
}


/*
 * The state of the token's user and session, which shared memory could not
 * tell, from the database into shared memory; then "checked" runs.
 */

ngx_int_t
ngx_http_users_state_query(ngx_http_request_t *r,
    ngx_http_users_handler_pt checked)
{
    ngx_str_t                params[2];
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_ident_t  *ident;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->checked = checked;

    /* without a session, data NULL: $2 is NULL */
    params[0] = ident->id_text;
    params[1] = ident->sid;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_AUTH_STATE, 2, params,
                                ngx_http_users_state_loaded);
}


static ngx_int_t
ngx_http_users_state_loaded(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_ident_t  *ident;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_pg_error(r, ctx->res);
    }

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_users_revocation_loaded(
        ngx_http_get_module_main_conf(r, ngx_http_users_module), ident,
        ctx->res);

    return ctx->checked(r);
}


/* the caller, once its token is valid: from its row unless known already */

static ngx_int_t
ngx_http_users_caller(ngx_http_request_t *r)
{
    ngx_array_t              *errors;
    ngx_http_users_ctx_t     *ctx;
    ngx_http_users_ident_t   *ident;
    ngx_http_users_method_t  *m;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    m = ctx->method;

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a revoked token or a demoted caller is refused without the row */

    if (ident->checked) {
        if (!ident->current) {
            return ngx_http_users_send_unauthorized(r,
                                            "Could not validate credentials");
        }

        if (m->access == NGX_HTTP_USERS_SUPERUSER && !ident->superuser) {
            return ngx_http_users_send_status(r, NGX_HTTP_FORBIDDEN);
        }
    }

    /*
     * A folded handler authenticates in its own statement, but a bad
     * request must still be answered 401/403 first when the caller is
     * not who the token says: then the caller's row is read first.
     */

    if (m->folded && ngx_http_users_check_input(r, &errors) == NGX_OK) {
        return m->handler(r);
    }

    return ngx_http_users_query(r, m->auth, 0, NULL,
                                ngx_http_users_authenticated);
}


static ngx_int_t
ngx_http_users_authenticated(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_uint_t             status;
    ngx_array_t           *errors;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    status = ngx_http_users_auth_row(r, ctx->res);
    if (status != NGX_OK) {
        return ngx_http_users_send_status(r, status);
    }

    rc = ngx_http_users_check_input(r, &errors);
    if (rc != NGX_OK) {
        return ngx_http_users_refuse(r, rc, errors);
    }

    return ctx->method->handler(r);
}


/* answers what ngx_http_users_check_input() found wrong */

static ngx_int_t
ngx_http_users_refuse(ngx_http_request_t *r, ngx_int_t rc,
    ngx_array_t *errors)
{
    if (rc == NGX_HTTP_UNSUPPORTED_MEDIA_TYPE) {
        return ngx_http_users_send_detail(r, rc, "Unsupported Media Type");
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_users_send_invalid(r, errors);
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * NGX_OK, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, NGX_DECLINED with the 422
 * entries in *errors, or NGX_ERROR.
 */

ngx_int_t
ngx_http_users_check_input(ngx_http_request_t *r, ngx_array_t **errors)
{
    ngx_str_t                   id;
    ngx_int_t                   rc;
    ngx_http_users_ctx_t       *ctx;
    ngx_http_users_method_t    *m;
    ngx_http_users_schema_t    *schema;
    ngx_http_users_loc_conf_t  *ulcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    m = ctx->method;

    if (m->body != NGX_HTTP_USERS_BODY_NONE
        && ngx_http_users_media_type(r, m->body) != NGX_OK)
    {
        return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
    }

    *errors = ngx_array_create(r->pool, 2, sizeof(ngx_http_users_error_t));
    if (*errors == NULL) {
        return NGX_ERROR;
    }

    ulcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (ulcf->id) {
        if (ngx_http_complex_value(r, ulcf->id, &id) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->route->path_session) {
            if (ngx_http_users_path_session(r, &id) != NGX_OK) {
                return NGX_ERROR;
            }

        } else {
            ngx_http_users_path_id(r, &id, *errors);
        }
    }

    schema = m->schema;

    if (schema) {
        ctx->values = ngx_pcalloc(r->pool, schema->nfields
                                           * sizeof(ngx_http_users_value_t));
        if (ctx->values == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_users_json_validate(r->pool, &ctx->body, schema->fields,
                                          schema->nfields, ctx->values,
                                          *errors);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    return (*errors)->nelts ? NGX_DECLINED : NGX_OK;
}


/* the media type alone decides, case-insensitively; parameters are ignored */

static ngx_int_t
ngx_http_users_media_type(ngx_http_request_t *r, ngx_http_users_body_e body)
{
    u_char     *p, *last;
    ngx_str_t   type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = r->headers_in.content_type->value;
    last = type.data + type.len;

    for (p = type.data; p < last && *p != ';' && *p != ' '; p++) {
        /* void */
    }

    type.len = p - type.data;

    if (body == NGX_HTTP_USERS_BODY_FORM) {
        if (type.len == sizeof("application/x-www-form-urlencoded") - 1
            && ngx_strncasecmp(type.data,
                               (u_char *) "application/x-www-form-urlencoded",
                               type.len)
               == 0)
        {
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    if (type.len == sizeof("application/json") - 1
        && ngx_strncasecmp(type.data, (u_char *) "application/json", type.len)
           == 0)
    {
        return NGX_OK;
    }

    /* application/problem+json and the like are JSON too */
    if (type.len > sizeof("application/+json") - 1
        && ngx_strncasecmp(type.data, (u_char *) "application/", 12) == 0
        && ngx_strncasecmp(p - 5, (u_char *) "+json", 5) == 0)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * A session's id, in the form PostgreSQL writes a uuid (what the sessions
 * routes answered).  Any other text is kept as none (SQL NULL): no
 * session has it, so the route answers its 404 after the caller's check.
 */

static ngx_int_t
ngx_http_users_path_session(ngx_http_request_t *r, ngx_str_t *text)
{
    u_char                 uuid[NGX_HTTP_USERS_UUID_SIZE];
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ngx_http_users_uuid_parse(text->data, text->len, uuid) != NGX_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users: \"%V\" is no session id", text);
        return NGX_OK;
    }

    ctx->path_id_text.data = ngx_pnalloc(r->pool, text->len + 1);
    if (ctx->path_id_text.data == NULL) {
        return NGX_ERROR;
    }

    ctx->path_id_text.len = text->len;
    ngx_memcpy(ctx->path_id_text.data, text->data, text->len);
    ctx->path_id_text.data[text->len] = '\0';

    return NGX_OK;
}


/* ids are positive 64-bit integers: the messages are pydantic's */

static void
ngx_http_users_path_id(ngx_http_request_t *r, ngx_str_t *text,
    ngx_array_t *errors)
{
    u_char                  *p;
    ngx_uint_t               digits;
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_error_t  *e;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ngx_http_users_parse_id(text, &ctx->path_id) == NGX_OK) {
        ctx->path_id_text.data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
        if (ctx->path_id_text.data == NULL) {
            return;
        }

        ctx->path_id_text.len = ngx_sprintf(ctx->path_id_text.data, "%L%Z",
                                            ctx->path_id)
                                - ctx->path_id_text.data - 1;
        return;
    }

    e = ngx_array_push(errors);
    if (e == NULL) {
        return;
    }

    ngx_str_set(&e->loc, "path");
    ngx_str_set(&e->field, "user_id");

    digits = 0;
    p = text->data;

    if (text->len && *p == '-') {
        p++;
    }

    while (p < text->data + text->len && *p >= '0' && *p <= '9') {
        p++;
        digits++;
    }

    if (digits == 0 || p != text->data + text->len) {
        ngx_str_set(&e->msg, "value is not a valid integer");
        ngx_str_set(&e->type, "type_error.integer");
        return;
    }

    if (text->data[0] == '-' || digits < 19) {
        ngx_str_set(&e->msg, "ensure this value is greater than 0");
        ngx_str_set(&e->type, "value_error.number.not_gt");
        return;
    }

    ngx_str_set(&e->msg,
                "ensure this value is less than or equal to "
                "9223372036854775807");
    ngx_str_set(&e->type, "value_error.number.not_le");
}


/*
 * The body in one piece: client_body_buffer_size is raised to the module's
 * limit for its locations, so it is in memory, and chunked bodies are
 * measured here.
 */

static ngx_int_t
ngx_http_users_read_body(ngx_http_request_t *r)
{
    u_char                      *p;
    size_t                       len;
    ngx_buf_t                   *b;
    ngx_chain_t                 *cl;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_main_conf_t  *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    if (r->request_body->temp_file) {
        goto too_large;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            goto too_large;
        }

        len += b->last - b->pos;
    }

    if (len > umcf->max_body_size) {
        goto too_large;
    }

    if (r->request_body->bufs->next == NULL) {
        b = r->request_body->bufs->buf;
        ctx->body.data = b->pos;
        ctx->body.len = len;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->body.data = p;
    ctx->body.len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    return NGX_OK;

too_large:

    return ngx_http_users_send_detail(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                      "Request body too large");
}


/*
 * Parks the request on a prepared statement.  Params are NUL-terminated
 * text (libpq ignores lengths for text parameters); a param with no data
 * is SQL NULL.  Statements that authenticate get the caller as $1 and $2
 * ahead of the given params.
 */

ngx_int_t
ngx_http_users_query(ngx_http_request_t *r, ngx_http_users_sql_e stmt,
    ngx_uint_t n, ngx_str_t *params, ngx_http_users_handler_pt resume)
{
    ngx_uint_t                   i, k;
    ngx_http_users_sql_t        *sql;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_pg_op_t      *op;
    ngx_http_users_main_conf_t  *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);
    sql = &ngx_http_users_sql[stmt];

    /* a statement and its caller out of step: never past op->values */
    if ((sql->takes & NGX_HTTP_USERS_TAKES_CALLER ? 2 : 0) + n
        + (sql->takes & NGX_HTTP_USERS_TAKES_AUDIT ? 1 : 0)
        != (ngx_uint_t) sql->nparams
        || sql->nparams > NGX_HTTP_USERS_MAX_PARAMS)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "users: \"%V\" takes %d parameters, %ui given",
                      &sql->name, sql->nparams, n);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    op = &ctx->pg;
    ngx_memzero(op, sizeof(ngx_http_users_pg_op_t));

    k = 0;

    if (sql->takes & NGX_HTTP_USERS_TAKES_CALLER) {
        op->values[k++] = (const char *) ctx->user_id_text.data;
        op->values[k++] = (const char *) ctx->version_text.data;
    }

    for (i = 0; i < n; i++) {
        op->values[k++] = (const char *) params[i].data;
    }

    if (sql->takes & NGX_HTTP_USERS_TAKES_AUDIT) {
        if (ngx_http_users_audit_context(r, &op->values[k++]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    op->stmt = stmt;
    op->nparams = k;
    op->handler = ngx_http_users_pg_done;
    op->data = r;
    op->log = r->connection->log;
    op->timeout = ctx->timeout ? ctx->timeout : umcf->pg.query_timeout;

    ctx->resume = resume;
    ctx->waiting = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users query \"%V\" parked, %ui params",
                   &sql->name, k);

    ngx_http_users_pg_run(umcf->pg_pool, op);

    return NGX_DONE;
}


static void
ngx_http_users_pg_done(ngx_http_users_pg_op_t *op, PGresult *res)
{
    ngx_int_t              rc;
    ngx_connection_t      *c;
    ngx_http_request_t    *r;
    ngx_http_users_ctx_t  *ctx;

    r = op->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    ngx_http_set_log_request(c->log, r);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "users query \"%V\" resumed: %s",
                   &ngx_http_users_sql[op->stmt].name,
                   res ? PQresStatus(PQresultStatus(res)) : "no result");

    ctx->waiting = 0;

    if (res == NULL) {
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_PG_ERRORS, 1);
    }

    if (res == NULL && !ctx->own_failure) {
        rc = ngx_http_users_send_unavailable(r);

    } else {
        ctx->res = res;
        rc = ctx->resume(r);
        ctx->res = NULL;
    }

    ngx_http_users_finish(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * The request is going away (client gone, worker exiting) while a query
 * may still be queued or running: detach it, so that the connection
 * finishes the query on its own and is reused only if it is clean.
 */

static void
ngx_http_users_cleanup(void *data)
{
    ngx_http_request_t *r = data;

    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ctx && ctx->waiting) {
        ngx_http_users_pg_cancel(&ctx->pg);
        ctx->waiting = 0;
    }
}


/*
 * Every copy of the body this module made or read: the body buffers, the
 * part nginx read ahead with the headers, the joined body, the decoded
 * values.  The context is the one this request made: an internal redirect
 * to an error page may have dropped it from r->ctx.
 */

static void
ngx_http_users_wipe(void *data)
{
    ngx_http_users_wipe_t *wipe = data;

    ngx_uint_t                i;
    ngx_chain_t              *cl;
    ngx_http_request_t       *r;
    ngx_http_users_ctx_t     *ctx;
    ngx_http_request_body_t  *rb;

    r = wipe->request;
    ctx = wipe->ctx;
    rb = r->request_body;

    if (rb) {
        for (cl = rb->bufs; cl; cl = cl->next) {
            ngx_http_users_wipe_buf(cl->buf);
        }

        if (rb->buf) {
            ngx_http_users_wipe_buf(rb->buf);
        }
    }

    if (r->header_in && r->header_end
        && r->header_end >= r->header_in->start
        && r->header_end <= r->header_in->pos)
    {
        sodium_memzero(r->header_end, r->header_in->pos - r->header_end);
    }

    if (ctx->body.data) {
        sodium_memzero(ctx->body.data, ctx->body.len);
    }

    if (ctx->secret.data) {
        sodium_memzero(ctx->secret.data, ctx->secret.len);
    }

    if (ctx->values == NULL) {
        return;
    }

    for (i = 0; i < ctx->method->schema->nfields; i++) {
        if (ctx->values[i].str.data) {
            sodium_memzero(ctx->values[i].str.data, ctx->values[i].str.len);
        }
    }
}


static void
ngx_http_users_wipe_buf(ngx_buf_t *b)
{
    if (b->in_file || b->start == NULL || !ngx_buf_in_memory(b)) {
        return;
    }

    sodium_memzero(b->start, b->last - b->start);
}


/*
 * A value of a statement's first row, copied into the pool and
 * NUL-terminated: the result is freed once the resume handler returns.
 * SQL NULL gives an empty string with no data.
 */

ngx_int_t
ngx_http_users_pg_value(ngx_http_request_t *r, PGresult *res, int col,
    ngx_str_t *value)
{
    if (PQgetisnull(res, 0, col)) {
        ngx_str_null(value);
        return NGX_OK;
    }

    value->len = PQgetlength(res, 0, col);
    value->data = ngx_pnalloc(r->pool, value->len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, PQgetvalue(res, 0, col), value->len + 1);

    return NGX_OK;
}


/* resumes a request whose password task completed, from the write event */

void
ngx_http_users_resume(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    /* client write events land here too while the task runs */
    if (ctx == NULL || ctx->waiting) {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_users_finish(r, ctx->resume(r));
}
