
/*
 * Copyright (C) ngx_users authors
 *
 * Every answer the module sends: JSON bodies labelled exactly
 * "application/json; charset=utf-8", the {"detail": ...} and 422 shapes,
 * and a header filter that puts X-Request-ID on every response and
 * Cache-Control: no-store on the API's successful ones.
 */


#include "ngx_http_users_module.h"


static ngx_int_t ngx_http_users_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

static ngx_str_t  ngx_http_users_json_type =
    ngx_string("application/json; charset=utf-8");


ngx_int_t
ngx_http_users_header_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_users_header_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                    id;
    ngx_http_variable_value_t   *v;
    ngx_http_users_loc_conf_t   *ulcf;
    ngx_http_users_main_conf_t  *umcf;

    static ngx_str_t  request_id = ngx_string("X-Request-ID");
    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  no_store = ngx_string("no-store");

    ulcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (r != r->main || !ulcf->request_id) {
        return ngx_http_next_header_filter(r);
    }

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    v = ngx_http_get_indexed_variable(r, umcf->request_id_index);

    if (v && !v->not_found) {
        id.len = v->len;
        id.data = v->data;

        if (ngx_http_users_add_header(r, &request_id, &id) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ulcf->route && ulcf->route->no_store
        && r->headers_out.status >= NGX_HTTP_OK
        && r->headers_out.status < NGX_HTTP_SPECIAL_RESPONSE
        && ngx_http_users_add_header(r, &cache_control, &no_store) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


ngx_int_t
ngx_http_users_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;

    /* nginx knows no reason phrase for these */
    if (status == NGX_HTTP_USERS_UNPROCESSABLE) {
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");

    } else if (status == NGX_HTTP_USERS_HEADERS_TOO_LARGE) {
        ngx_str_set(&r->headers_out.status_line,
                    "431 Request Header Fields Too Large");
    }

    if (body == NULL) {
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    r->headers_out.content_type = ngx_http_users_json_type;
    r->headers_out.content_type_len = ngx_http_users_json_type.len;
    r->headers_out.content_length_n = body->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_users_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json)
{
    return ngx_http_users_send(r, status, json);
}


ngx_int_t
ngx_http_users_send_empty(ngx_http_request_t *r, ngx_uint_t status)
{
    return ngx_http_users_send(r, status, NULL);
}


/* details are the module's own constants: nothing in them needs escaping */

ngx_int_t
ngx_http_users_send_detail(ngx_http_request_t *r, ngx_uint_t status,
    char *detail)
{
    size_t      len;
    ngx_str_t   body;

    len = ngx_strlen(detail);

    body.data = ngx_pnalloc(r->pool, sizeof("{\"detail\":\"\"}") - 1 + len);
    if (body.data == NULL) {
        return NGX_ERROR;
    }

    body.len = ngx_sprintf(body.data, "{\"detail\":\"%s\"}", detail)
               - body.data;

    return ngx_http_users_send(r, status, &body);
}


ngx_int_t
ngx_http_users_send_unavailable(ngx_http_request_t *r)
{
    static ngx_str_t  retry_after = ngx_string("Retry-After");
    static ngx_str_t  one = ngx_string("1");

    if (ngx_http_users_add_header(r, &retry_after, &one) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_users_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      "Service temporarily unavailable");
}


ngx_int_t
ngx_http_users_send_unauthorized(ngx_http_request_t *r, char *detail)
{
    ngx_uint_t                invalid;
    ngx_http_users_ctx_t     *ctx;
    ngx_http_users_ident_t   *ident;

    /* version 1's routes say "Bearer" alone, as the original service did */

    invalid = 0;
    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ctx && ctx->route && ctx->route->rfc6750) {
        ident = ngx_http_users_ident(r);
        if (ident == NULL) {
            return NGX_ERROR;
        }

        invalid = ident->sent;
    }

    if (ngx_http_users_www_authenticate(r, invalid) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_users_send_detail(r, NGX_HTTP_UNAUTHORIZED, detail);
}


/*
 * RFC 6750: "Bearer" alone when no token came, with the error code when
 * one came and is not good.  Kept where nginx looks for it, so that a
 * "satisfy any" that lets the request in takes it away again.
 */

ngx_int_t
ngx_http_users_www_authenticate(ngx_http_request_t *r,
    ngx_uint_t invalid_token)
{
    ngx_table_elt_t  *h;

    static ngx_str_t  www_authenticate = ngx_string("WWW-Authenticate");
    static ngx_str_t  bearer = ngx_string("Bearer");
    static ngx_str_t  invalid = ngx_string("Bearer error=\"invalid_token\"");

    if (ngx_http_users_add_header(r, &www_authenticate,
                                  invalid_token ? &invalid : &bearer)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    h = r->headers_out.headers.last->elts;
    r->headers_out.www_authenticate = &h[r->headers_out.headers.last->nelts
                                         - 1];

    return NGX_OK;
}


ngx_int_t
ngx_http_users_send_status(ngx_http_request_t *r, ngx_uint_t status)
{
    if (status == NGX_HTTP_FORBIDDEN) {
        return ngx_http_users_send_detail(r, status, "Not enough privileges");
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        return ngx_http_users_send_unavailable(r);
    }

    if (status == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        return ngx_http_users_send_detail(r, status, "Internal Server Error");
    }

    return ngx_http_users_send_unauthorized(r,
                                            "Could not validate credentials");
}


ngx_int_t
ngx_http_users_send_method_not_allowed(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    static ngx_str_t  allow = ngx_string("Allow");

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ngx_http_users_add_header(r, &allow, &ctx->route->allow) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_users_send_detail(r, NGX_HTTP_NOT_ALLOWED,
                                      "Method Not Allowed");
}


/*
 * A statement failed: the server's words go to the error log; the status
 * is 503 when the database was unreachable or cancelled the statement
 * (connection exceptions, operator intervention and timeouts, resources),
 * 500 otherwise.
 */

ngx_uint_t
ngx_http_users_pg_error_status(ngx_http_request_t *r, PGresult *res)
{
    char  *state;

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "users: statement failed: %s %s",
                  state ? state : "-", PQresultErrorMessage(res));

    ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_PG_ERRORS, 1);

    if (state && (ngx_strncmp(state, "08", 2) == 0
                  || ngx_strncmp(state, "57", 2) == 0
                  || ngx_strncmp(state, "53", 2) == 0))
    {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


ngx_int_t
ngx_http_users_send_pg_error(ngx_http_request_t *r, PGresult *res)
{
    return ngx_http_users_send_status(r,
                                     ngx_http_users_pg_error_status(r, res));
}


/* an INSERT or UPDATE failed: a taken email is the unique index's 23505 */

ngx_int_t
ngx_http_users_send_write_error(ngx_http_request_t *r, PGresult *res)
{
    char  *state;

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if (state && ngx_strcmp(state, "23505") == 0) {
        return ngx_http_users_send_detail(r, NGX_HTTP_CONFLICT,
                                          "Email already registered");
    }

    return ngx_http_users_send_pg_error(r, res);
}


ngx_int_t
ngx_http_users_send_invalid(ngx_http_request_t *r, ngx_array_t *errors)
{
    size_t                   len;
    json_t                  *detail, *entry, *loc;
    ngx_str_t                body;
    ngx_uint_t               i;
    ngx_http_users_error_t  *e;

    detail = json_array();
    if (detail == NULL) {
        return NGX_ERROR;
    }

    e = errors->elts;

    for (i = 0; i < errors->nelts; i++) {

        loc = json_array();
        if (loc == NULL
            || json_array_append_new(loc,
                                     json_stringn((char *) e[i].loc.data,
                                                  e[i].loc.len))
               != 0
            || (e[i].field.len
                && json_array_append_new(loc,
                                         json_stringn((char *) e[i].field.data,
                                                      e[i].field.len))
                   != 0))
        {
            json_decref(loc);
            goto failed;
        }

        entry = json_pack("{s:o,s:s%,s:s%}", "loc", loc,
                          "msg", e[i].msg.data, e[i].msg.len,
                          "type", e[i].type.data, e[i].type.len);

        if (entry == NULL || json_array_append_new(detail, entry) != 0) {
            goto failed;
        }
    }

    entry = json_pack("{s:o}", "detail", detail);
    if (entry == NULL) {
        return NGX_ERROR;
    }

    len = json_dumpb(entry, NULL, 0, JSON_COMPACT);

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        json_decref(entry);
        return NGX_ERROR;
    }

    body.len = json_dumpb(entry, (char *) body.data, len, JSON_COMPACT);
    json_decref(entry);

    return ngx_http_users_send(r, NGX_HTTP_USERS_UNPROCESSABLE, &body);

failed:

    json_decref(detail);
    return NGX_ERROR;
}


ngx_int_t
ngx_http_users_send_invalid_one(ngx_http_request_t *r, char *loc,
    char *field, char *msg, char *type)
{
    ngx_array_t              errors;
    ngx_http_users_error_t  *e;

    if (ngx_array_init(&errors, r->pool, 1, sizeof(ngx_http_users_error_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    e = ngx_array_push(&errors);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->loc.data = (u_char *) loc;
    e->loc.len = ngx_strlen(loc);
    e->field.data = (u_char *) field;
    e->field.len = field ? ngx_strlen(field) : 0;
    e->msg.data = (u_char *) msg;
    e->msg.len = ngx_strlen(msg);
    e->type.data = (u_char *) type;
    e->type.len = ngx_strlen(type);

    return ngx_http_users_send_invalid(r, &errors);
}
