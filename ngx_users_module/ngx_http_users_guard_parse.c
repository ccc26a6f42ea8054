
/*
 * Copyright (C) ngx_users authors
 *
 * What the guard reads from outside, as plain functions of their bytes so
 * that the fuzzers and unit tests reach them without a request or a
 * connection: the "sid" claim of a token for $users_session_id, and the
 * auth_changes notifications the listener hears.
 */


#include "ngx_http_users_module.h"


/* the longest session id taken from a token: sessions' own are shorter */
#define NGX_HTTP_USERS_SID_MAX  128


/*
 * The "sid" claim of "header.payload.signature": empty when it is missing
 * or unusable (not a string, empty, too long, or a character that would
 * not be safe in a header or a log line).  The caller has verified the
 * token, so the payload is only decoded again; NGX_ERROR only when memory
 * runs out.
 */

ngx_int_t
ngx_http_users_token_sid(ngx_pool_t *pool, ngx_str_t *token, ngx_str_t *sid)
{
    u_char      *p, *last, buf[NGX_HTTP_USERS_TOKEN_MAX];
    size_t       n;
    json_t      *claims, *value;
    ngx_str_t    part, decoded;
    const char  *text;

    sid->len = 0;
    sid->data = NULL;

    p = ngx_strlchr(token->data, token->data + token->len, '.');
    if (p == NULL) {
        return NGX_OK;
    }

    last = ngx_strlchr(p + 1, token->data + token->len, '.');
    if (last == NULL) {
        return NGX_OK;
    }

    part.data = p + 1;
    part.len = last - part.data;

    /* a verified token fits; this keeps the buffer safe whatever calls */
    if (ngx_base64_decoded_length(part.len) > sizeof(buf)) {
        return NGX_OK;
    }

    decoded.data = buf;

    if (ngx_decode_base64url(&decoded, &part) != NGX_OK) {
        return NGX_OK;
    }

    claims = json_loadb((char *) decoded.data, decoded.len, 0, NULL);
    if (claims == NULL) {
        return NGX_OK;
    }

    value = json_object_get(claims, "sid");

    if (!json_is_string(value)) {
        goto done;
    }

    text = json_string_value(value);
    n = json_string_length(value);

    if (n == 0 || n > NGX_HTTP_USERS_SID_MAX) {
        goto done;
    }

    /* by length, not to a NUL: jansson keeps a "\u0000" when allowed to */
    for (p = (u_char *) text; p < (u_char *) text + n; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\') {
            goto done;
        }
    }

    sid->data = ngx_pnalloc(pool, n);
    if (sid->data == NULL) {
        json_decref(claims);
        return NGX_ERROR;
    }

    ngx_memcpy(sid->data, text, n);
    sid->len = n;

done:

    json_decref(claims);

    return NGX_OK;
}


/* ids and sequence numbers, and versions: 0, and -1 for a deleted user */

ngx_int_t
ngx_http_users_parse_number(ngx_str_t *s, int64_t *value)
{
    if (s->len == 1 && s->data[0] == '0') {
        *value = 0;
        return NGX_OK;
    }

    if (s->len == 2 && s->data[0] == '-' && s->data[1] == '1') {
        *value = -1;
        return NGX_OK;
    }

    return ngx_http_users_parse_id(s, value);
}


/*
 * "seq:user:version:active:superuser", exactly as the auth_changes trigger
 * writes it (sql/0005_auth_changes.sql): three numbers, then two flags, 0
 * or 1.  Anything else is NGX_ERROR, and the listener then reads the
 * change from the log: a payload read loosely (trailing text, a flag
 * "1x") could put a state in shared memory that the database never had.
 */

ngx_int_t
ngx_http_users_notify_parse(u_char *text, size_t len, int64_t *id,
    ngx_http_users_state_t *state)
{
    u_char      *p, *last, *start;
    int64_t      value[3];
    ngx_str_t    s;
    ngx_uint_t   n, flag[2];

    p = text;
    last = text + len;

    for (n = 0; n < 5; n++) {
        start = p;

        while (p < last && *p != ':') {
            p++;
        }

        /* four separators; the last field runs to the end */
        if ((n < 4) != (p < last)) {
            return NGX_ERROR;
        }

        s.data = start;
        s.len = p - start;

        if (n < 3) {
            if (ngx_http_users_parse_number(&s, &value[n]) != NGX_OK) {
                return NGX_ERROR;
            }

        } else {
            if (s.len != 1 || (s.data[0] != '0' && s.data[0] != '1')) {
                return NGX_ERROR;
            }

            flag[n - 3] = (s.data[0] == '1');
        }

        if (n < 4) {
            p++;
        }
    }

    state->auth_seq = value[0];
    *id = value[1];
    state->version = (ngx_int_t) value[2];
    state->active = flag[0];
    state->superuser = flag[1];

    return NGX_OK;
}
