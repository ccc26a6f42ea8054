
/*
 * Copyright (C) ngx_users authors
 *
 * The audit log (sql/0006_audit_events.sql): the context every audited
 * statement takes as its last parameter, and GET /audit.  The events
 * themselves are written by the statements that make the changes
 * (ngx_http_users_sql.c), so that none outlives a change rolled back.
 */


#include "ngx_http_users_module.h"


/* a user agent is kept to this many bytes */
#define NGX_HTTP_USERS_AUDIT_AGENT_MAX  256


/* the contract's names, sessions' included: a filter by them is no error */
static ngx_str_t  ngx_http_users_audit_events[] = {
    ngx_string("login_succeeded"),
    ngx_string("login_failed"),
    ngx_string("login_throttled"),
    ngx_string("logout"),
    ngx_string("session_ended"),
    ngx_string("refresh_reuse_detected"),
    ngx_string("password_changed"),
    ngx_string("user_registered"),
    ngx_string("user_updated"),
    ngx_string("user_deactivated"),
    ngx_string("user_deleted"),
    ngx_string("superuser_granted"),
    ngx_string("superuser_revoked"),
    ngx_null_string
};


static ngx_int_t ngx_http_users_audit_event(ngx_http_request_t *r,
    ngx_str_t *event, ngx_array_t *errors);
static ngx_int_t ngx_http_users_audit_param(ngx_http_request_t *r,
    ngx_http_users_query_int_t *q, ngx_str_t *param);


/*
 * The User-Agent as it is recorded (the audit log, a session): any bytes a
 * client sends, of which only printable ASCII is kept (others become "?"),
 * so that PostgreSQL, which refuses a text that is not UTF-8, never fails
 * a write for it.  NUL-terminated; empty data without the header.
 */

ngx_int_t
ngx_http_users_audit_agent(ngx_http_request_t *r, ngx_str_t *ua)
{
    u_char      *p, *agent;
    size_t       n;
    ngx_uint_t   i;

    ngx_str_null(ua);

    if (r->headers_in.user_agent == NULL) {
        return NGX_OK;
    }

    n = ngx_min(r->headers_in.user_agent->value.len,
                NGX_HTTP_USERS_AUDIT_AGENT_MAX);

    agent = ngx_pnalloc(r->pool, n + 1);
    if (agent == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        p = &r->headers_in.user_agent->value.data[i];
        agent[i] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    }

    agent[n] = '\0';

    ua->data = agent;
    ua->len = n;

    return NGX_OK;
}


/*
 * {"ip": ..., "ua": ..., "rid": ...} of the request, or NULL when
 * users_audit is off.
 */

ngx_int_t
ngx_http_users_audit_context(ngx_http_request_t *r, const char **value)
{
    u_char                      *p;
    size_t                       len;
    ngx_str_t                    ip, ua, rid;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_variable_value_t   *v;
    ngx_http_users_loc_conf_t   *ulcf;
    ngx_http_users_main_conf_t  *umcf;

    ulcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (!ulcf->audit) {
        *value = NULL;
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ctx->audit.data) {
        *value = (const char *) ctx->audit.data;
        return NGX_OK;
    }

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    ip = r->connection->addr_text;

    if (ngx_http_users_audit_agent(r, &ua) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_null(&rid);

    v = ngx_http_get_indexed_variable(r, umcf->request_id_index);
    if (v != NULL && !v->not_found) {
        rid.data = v->data;
        rid.len = v->len;
    }

    len = sizeof("{\"ip\":\"\",\"ua\":null,\"rid\":\"\"}")
          + ip.len + ngx_escape_json(NULL, ip.data, ip.len)
          + ua.len + ngx_escape_json(NULL, ua.data, ua.len)
          + rid.len + ngx_escape_json(NULL, rid.data, rid.len);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->audit.data = p;

    p = ngx_cpymem(p, "{\"ip\":\"", sizeof("{\"ip\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, ip.data, ip.len);
    p = ngx_cpymem(p, "\",\"ua\":", sizeof("\",\"ua\":") - 1);

    /* no User-Agent header is a null, not an empty agent */
    if (ua.data) {
        *p++ = '"';
        p = (u_char *) ngx_escape_json(p, ua.data, ua.len);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", sizeof("null") - 1);
    }

    p = ngx_cpymem(p, ",\"rid\":\"", sizeof(",\"rid\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, rid.data, rid.len);
    p = ngx_cpymem(p, "\"}", sizeof("\"}"));

    ctx->audit.len = p - ctx->audit.data - 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users audit context: %V", &ctx->audit);

    *value = (const char *) ctx->audit.data;

    return NGX_OK;
}


/*
 * GET /audit?user_id=&event=&before=&limit=: newest first; "before" is the
 * id of the last event of the previous page, so a page never shifts under
 * events written meanwhile.
 */

ngx_int_t
ngx_http_users_audit_list(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    event, params[4];
    ngx_array_t                 *errors;
    ngx_http_users_query_int_t   query[] = {
        [NGX_HTTP_USERS_AUDIT_USER_ID] =
        { ngx_string("user_id"), 1, INT64_MAX, 0, 0 },
        [NGX_HTTP_USERS_AUDIT_BEFORE] =
        { ngx_string("before"), 1, INT64_MAX, 0, 0 },
        [NGX_HTTP_USERS_AUDIT_LIMIT] =
        { ngx_string("limit"), 1, 1000, 100, 0 }
    };

    errors = ngx_array_create(r->pool, 2, sizeof(ngx_http_users_error_t));
    if (errors == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_users_query_ints(r, query, NGX_HTTP_USERS_AUDIT_NKEYS,
                                   errors);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_users_audit_event(r, &event, errors) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (errors->nelts) {
        return ngx_http_users_send_invalid(r, errors);
    }

    /* the statement's $3 .. $6 */
    if (ngx_http_users_audit_param(r, &query[NGX_HTTP_USERS_AUDIT_USER_ID],
                                   &params[0])
        != NGX_OK
        || ngx_http_users_audit_param(r, &query[NGX_HTTP_USERS_AUDIT_BEFORE],
                                      &params[2])
           != NGX_OK
        || ngx_http_users_audit_param(r, &query[NGX_HTTP_USERS_AUDIT_LIMIT],
                                      &params[3])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1] = event;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users audit list: user %L, before %L, limit %L",
                   query[NGX_HTTP_USERS_AUDIT_USER_ID].value,
                   query[NGX_HTTP_USERS_AUDIT_BEFORE].value,
                   query[NGX_HTTP_USERS_AUDIT_LIMIT].value);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_AUDIT_LIST, 4, params,
                                ngx_http_users_auth_answer);
}


/* "event", when present, names one of the events; NULL data when absent */

static ngx_int_t
ngx_http_users_audit_event(ngx_http_request_t *r, ngx_str_t *event,
    ngx_array_t *errors)
{
    u_char                       *msg, *p;
    size_t                        len;
    ngx_str_t                    *e;
    ngx_http_users_form_field_t   form[] = {
        { ngx_string("event"), ngx_null_string, 0, 0 }
    };

    ngx_str_null(event);

    if (ngx_http_users_form_parse(r->pool, &r->args, form, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!form[0].found) {
        return NGX_OK;
    }

    len = sizeof("value is not a valid enumeration member; permitted: ");

    for (e = ngx_http_users_audit_events; e->len; e++) {
        if (!form[0].invalid
            && e->len == form[0].value.len
            && ngx_strncmp(e->data, form[0].value.data, e->len) == 0)
        {
            *event = form[0].value;
            return NGX_OK;
        }

        len += sizeof("'', ") - 1 + e->len;
    }

    msg = ngx_pnalloc(r->pool, len);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(msg,
                   "value is not a valid enumeration member; permitted: ",
                   sizeof("value is not a valid enumeration member; "
                          "permitted: ") - 1);

    for (e = ngx_http_users_audit_events; e->len; e++) {
        p = ngx_sprintf(p, "%s'%V'", e == ngx_http_users_audit_events
                                     ? "" : ", ", e);
    }

    *p = '\0';

    return ngx_http_users_error_add(errors, "query", &form[0].name,
                                    (char *) msg, "type_error.enum");
}


/* the integer as a parameter's text; SQL NULL when absent without default */

static ngx_int_t
ngx_http_users_audit_param(ngx_http_request_t *r,
    ngx_http_users_query_int_t *q, ngx_str_t *param)
{
    ngx_str_null(param);

    if (!q->found && q->value == 0) {
        return NGX_OK;
    }

    param->data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
    if (param->data == NULL) {
        return NGX_ERROR;
    }

    param->len = ngx_sprintf(param->data, "%L%Z", q->value) - param->data - 1;

    return NGX_OK;
}
