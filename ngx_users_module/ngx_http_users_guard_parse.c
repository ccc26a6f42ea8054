
/*
 * Copyright (C) ngx_users authors
 *
 * What the guard reads from outside, as plain functions of their bytes so
 * that the fuzzers and unit tests reach them without a request or a
 * connection: the session id of a token's "sid" claim, and the
 * auth_changes notifications the listener hears.
 */


#include "ngx_http_users_module.h"


/*
 * A session's id, exactly as PostgreSQL writes a uuid: 36 characters,
 * lowercase hex digits with dashes at 8-4-4-4-12.  The module issues
 * nothing else, so anything else (upper case, braces, no dashes) is not
 * a session of ours; uuid gets the 16 bytes.
 */

ngx_int_t
ngx_http_users_uuid_parse(u_char *text, size_t len, u_char *uuid)
{
    u_char      c, high;
    ngx_uint_t  i, n;

    if (len != NGX_HTTP_USERS_UUID_LEN) {
        return NGX_ERROR;
    }

    high = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        c = text[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return NGX_ERROR;
            }

            continue;
        }

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c -= 'a' - 10;

        } else {
            return NGX_ERROR;
        }

        if (n % 2 == 0) {
            high = c;

        } else {
            uuid[n / 2] = (u_char) (high << 4 | c);
        }

        n++;
    }

    return NGX_OK;
}


/* the text of a session's id, NGX_HTTP_USERS_UUID_LEN bytes at dst */

u_char *
ngx_http_users_uuid_text(u_char *dst, u_char *uuid)
{
    ngx_uint_t  i;

    static size_t  groups[] = { 4, 2, 2, 2, 6 };

    for (i = 0; i < 5; i++) {
        if (i) {
            *dst++ = '-';
        }

        dst = ngx_hex_dump(dst, uuid, groups[i]);
        uuid += groups[i];
    }

    return dst;
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
 * The two payloads of the auth_changes triggers, exactly as they write
 * them: a user's change "seq:user:version:active:superuser"
 * (sql/0005_auth_changes.sql: three numbers, then two flags, 0 or 1), and
 * a session's end "seq:user:session" (sql/0007_sessions.sql: two numbers,
 * then the session's uuid).  Anything else is NGX_ERROR, and the listener
 * then reads the change from the log: a payload read loosely (trailing
 * text, a flag "1x") could put a state in shared memory that the database
 * never had.
 */

ngx_int_t
ngx_http_users_notify_parse(u_char *text, size_t len,
    ngx_http_users_change_t *change)
{
    u_char      *p, *last, *start;
    int64_t      seq, version;
    ngx_str_t    field[5];
    ngx_uint_t   n, i;

    p = text;
    last = text + len;
    start = p;
    n = 0;

    /* the fields between the separators; the last runs to the end */
    for ( ;; ) {
        if (p == last || *p == ':') {
            if (n == 5) {
                return NGX_ERROR;
            }

            field[n].data = start;
            field[n].len = p - start;
            n++;

            if (p == last) {
                break;
            }

            start = p + 1;
        }

        p++;
    }

    if (n != 3 && n != 5) {
        return NGX_ERROR;
    }

    ngx_memzero(change, sizeof(ngx_http_users_change_t));

    if (ngx_http_users_parse_number(&field[0], &seq) != NGX_OK
        || ngx_http_users_parse_number(&field[1], &change->user) != NGX_OK)
    {
        return NGX_ERROR;
    }

    change->state.auth_seq = seq;

    if (n == 3) {
        change->ended = 1;

        return ngx_http_users_uuid_parse(field[2].data, field[2].len,
                                         change->session);
    }

    if (ngx_http_users_parse_number(&field[2], &version) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 3; i < 5; i++) {
        if (field[i].len != 1
            || (field[i].data[0] != '0' && field[i].data[0] != '1'))
        {
            return NGX_ERROR;
        }
    }

    change->state.version = (ngx_int_t) version;
    change->state.active = (field[3].data[0] == '1');
    change->state.superuser = (field[4].data[0] == '1');

    return NGX_OK;
}


/*
 * A refresh token as the module writes them: 64 characters of base64url,
 * its session's id and 256 random bits.  Anything else is no token of ours
 * and costs no round trip.  session gets the id's 16 bytes.
 */

ngx_int_t
ngx_http_users_refresh_token_session(ngx_str_t *token, u_char *session)
{
    u_char     bytes[NGX_HTTP_USERS_REFRESH_BYTES];
    ngx_str_t  decoded;

    if (token->len != NGX_HTTP_USERS_REFRESH_LEN) {
        return NGX_DECLINED;
    }

    decoded.data = bytes;

    /* a '=' ends the decoding early: the length tells */
    if (ngx_decode_base64url(&decoded, token) != NGX_OK
        || decoded.len != sizeof(bytes))
    {
        return NGX_DECLINED;
    }

    ngx_memcpy(session, bytes, NGX_HTTP_USERS_UUID_SIZE);

    return NGX_OK;
}
