
/*
 * Copyright (C) ngx_users authors
 *
 * The service's own routes (/, /healthz, /readyz) and the JSON answers to
 * errors nginx raises before or instead of a route (unknown paths, 413,
 * 414, oversized headers, ...).
 */


#include "ngx_http_users_module.h"


static ngx_int_t ngx_http_users_meta_ready(ngx_http_request_t *r);


ngx_int_t
ngx_http_users_meta_root(ngx_http_request_t *r)
{
    static ngx_str_t  body = ngx_string(
        "{\"service\":\"users\",\"version\":\"" NGX_HTTP_USERS_VERSION "\","
        "\"docs\":\"/docs\"}");

    return ngx_http_users_send_json(r, NGX_HTTP_OK, &body);
}


/* liveness: never touches the database */

ngx_int_t
ngx_http_users_meta_healthz(ngx_http_request_t *r)
{
    static ngx_str_t  body = ngx_string("{\"status\":\"ok\"}");

    return ngx_http_users_send_json(r, NGX_HTTP_OK, &body);
}


/* readiness: one round trip to PostgreSQL within users_readyz_timeout */

ngx_int_t
ngx_http_users_meta_readyz(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_main_conf_t  *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    ctx->timeout = umcf->readyz_timeout;
    ctx->own_failure = 1;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_PING, 0, NULL,
                                ngx_http_users_meta_ready);
}


static ngx_int_t
ngx_http_users_meta_ready(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    static ngx_str_t  body = ngx_string("{\"status\":\"ready\"}");

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ctx->res == NULL || PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "db not ready");
    }

    return ngx_http_users_send_json(r, NGX_HTTP_OK, &body);
}


ngx_int_t
ngx_http_users_meta_not_found(ngx_http_request_t *r)
{
    return ngx_http_users_send_detail(r, NGX_HTTP_NOT_FOUND, "Not Found");
}


/*
 * "error_page ... /.users/error" lands here with nginx's status still in
 * r->err_status.  The body is only discarded: nginx may have given up on
 * reading it.
 */

ngx_int_t
ngx_http_users_meta_error(ngx_http_request_t *r)
{
    char                    *detail;
    ngx_uint_t               status;
    ngx_http_users_ident_t  *ident;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    status = r->err_status ? r->err_status : NGX_HTTP_INTERNAL_SERVER_ERROR;

    /* users_auth refused the request before it was redirected here */
    ident = ngx_http_users_ident_find(r);

    if (ident && ident->refused == status) {
        return ngx_http_users_send_json(r, status, &ident->body);
    }

    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        detail = "Bad Request";
        break;

    case NGX_HTTP_UNAUTHORIZED:
        detail = "Not authenticated";
        break;

    case NGX_HTTP_FORBIDDEN:
        detail = "Forbidden";
        break;

    case NGX_HTTP_NOT_FOUND:
        detail = "Not Found";
        break;

    case NGX_HTTP_NOT_ALLOWED:
        detail = "Method Not Allowed";
        break;

    case NGX_HTTP_REQUEST_TIME_OUT:
        detail = "Request Timeout";
        break;

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        detail = "Request body too large";
        break;

    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
        detail = "URI Too Long";
        break;

    case NGX_HTTP_TOO_MANY_REQUESTS:
        detail = "Too Many Requests";
        break;

    case NGX_HTTP_USERS_HEADERS_TOO_LARGE:
        detail = "Request Header Fields Too Large";
        break;

    case NGX_HTTP_BAD_GATEWAY:
        detail = "Bad Gateway";
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return ngx_http_users_send_unavailable(r);

    case NGX_HTTP_GATEWAY_TIME_OUT:
        detail = "Gateway Timeout";
        break;

    default:
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        detail = "Internal Server Error";
    }

    return ngx_http_users_send_detail(r, status, detail);
}
