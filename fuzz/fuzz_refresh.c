
/*
 * Copyright (C) ngx_users authors
 *
 * The body of POST /auth/refresh through the JSON validator with the
 * refresh schema: {"refresh_token": string}, required, not null, no
 * length bounds; then the token's shape and the session id it carries
 * (64 characters of base64url, the id its first 16 bytes:
 * ngx_http_users_refresh_token_session(), what
 * ngx_http_users_session_refresh_grant() asks before any round trip),
 * against an independent reading.
 *
 * The table is a copy of ngx_http_users_refresh_fields[]
 * (ngx_http_users_session.c), as fuzz_util.c copies the other routes'
 * tables: the session file itself does not link here (its handlers call
 * the pool, the response and auth helpers and nginx's HTTP core).
 *
 * First byte, bit 0 clear: the rest is the body, and the validator's
 * promises are checked: rc and the error list agree; an accepted token is
 * present, not null, NUL-terminated valid UTF-8 without NUL; every error is
 * at "body", and a field other than refresh_token (or the whole body) is
 * only ever an extra one.
 * Bit 0 set: the rest is a token's bytes, written here as a JSON string
 * (bit 1: escape every character as \uXXXX, pairs for astral ones; bit 2:
 * an extra member after it).  Bytes that are UTF-8 without NUL must come
 * back exactly, else the body is refused; an extra member is refused with
 * its own value_error.extra.
 */


#include "fuzz_util.h"


#define FUZZ_TOKEN_MAX  4096


static const char  fuzz_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


/*
 * 64 characters, each of A-Z a-z 0-9 - _, read with the C library; the
 * session id, the first 16 of the 48 bytes they stand for, at session:
 * each group of 4 characters is 24 bits, 3 bytes (RFC 4648 section 5)
 */
static ngx_int_t
fuzz_refresh_session(ngx_str_t *token, u_char *session)
{
    u_char    bytes[18];
    size_t    g, k;
    uint32_t  v, c;

    if (token->len != 64
        || strspn((char *) token->data, fuzz_b64url) != 64)
    {
        return NGX_DECLINED;
    }

    for (g = 0; g < 6; g++) {
        v = 0;

        for (k = 0; k < 4; k++) {
            c = (uint32_t) (strchr(fuzz_b64url, token->data[4 * g + k])
                            - fuzz_b64url);
            v = v << 6 | c;
        }

        bytes[3 * g] = (u_char) (v >> 16);
        bytes[3 * g + 1] = (u_char) (v >> 8);
        bytes[3 * g + 2] = (u_char) v;
    }

    memcpy(session, bytes, 16);

    return NGX_OK;
}


static ngx_http_users_field_t  fuzz_refresh_fields[] = {
    { ngx_string("refresh_token"), NGX_HTTP_USERS_FIELD_STRING, 0, 0, NULL,
      1, 0 }
};


static void
fuzz_require(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_refresh: %s\n", what);
        abort();
    }
}


static int
fuzz_is(ngx_str_t *s, const char *text)
{
    return s->len == strlen(text) && memcmp(s->data, text, s->len) == 0;
}


/*
 * Strict UTF-8 (RFC 3629), written from the rules: no overlong forms, no
 * surrogates, nothing above U+10FFFF.  Returns the number of code points,
 * or -1; *cps gets them when not NULL.
 */

static ssize_t
fuzz_utf8(const u_char *p, size_t len, uint32_t *cps)
{
    size_t    i, n, k;
    uint32_t  c, min;

    for (i = 0, n = 0; i < len; n++) {
        c = p[i];

        if (c < 0x80) {
            k = 0; min = 0;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1; min = 0x80; c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2; min = 0x800; c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3; min = 0x10000; c &= 0x07;
        } else {
            return -1;
        }

        if (len - i - 1 < k) {
            return -1;
        }

        for (i++; k; k--, i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return -1;
            }

            c = (c << 6) | (p[i] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return -1;
        }

        if (cps) {
            cps[n] = c;
        }
    }

    return n;
}


/* a JSON string of the bytes: as they are, or every character escaped */

static u_char *
fuzz_json_string(u_char *d, const u_char *s, size_t len, int escape_all)
{
    size_t     i;
    ssize_t    n;
    uint32_t   c, cps[FUZZ_TOKEN_MAX];

    *d++ = '"';

    n = escape_all ? fuzz_utf8(s, len, cps) : -1;

    if (n >= 0) {
        for (i = 0; i < (size_t) n; i++) {
            c = cps[i];

            if (c >= 0x10000) {
                c -= 0x10000;
                d += sprintf((char *) d, "\\u%04x\\u%04X",
                             (unsigned) (0xd800 + (c >> 10)),
                             (unsigned) (0xdc00 + (c & 0x3ff)));

            } else {
                /* lower and upper case hex digits both */
                d += sprintf((char *) d, (i & 1) ? "\\u%04x" : "\\u%04X",
                             (unsigned) c);
            }
        }

    } else {
        /* not UTF-8, or as they are: escape what JSON requires only */
        for (i = 0; i < len; i++) {
            if (s[i] == '"' || s[i] == '\\') {
                *d++ = '\\';
                *d++ = s[i];

            } else if (s[i] < 0x20) {
                d += sprintf((char *) d, "\\u%04x", (unsigned) s[i]);

            } else {
                *d++ = s[i];
            }
        }
    }

    *d++ = '"';

    return d;
}


static ngx_int_t
fuzz_validate(ngx_pool_t *pool, ngx_str_t *body, ngx_http_users_value_t *v,
    ngx_array_t **errs)
{
    u_char                   session[NGX_HTTP_USERS_UUID_SIZE];
    u_char                   plain[NGX_HTTP_USERS_UUID_SIZE];
    ngx_int_t                rc, ours;
    ngx_uint_t               i;
    ngx_array_t             *errors;
    ngx_http_users_error_t  *e;

    errors = ngx_array_create(pool, 1, sizeof(ngx_http_users_error_t));
    fuzz_require(errors != NULL, "no memory");

    rc = ngx_http_users_json_validate(pool, body, fuzz_refresh_fields, 1, v,
                                      errors);

    fuzz_require(rc == NGX_OK || rc == NGX_DECLINED, "NGX_ERROR");
    fuzz_require((rc == NGX_OK) == (errors->nelts == 0), "rc and errors");

    e = errors->elts;

    for (i = 0; i < errors->nelts; i++) {
        fuzz_require(fuzz_is(&e[i].loc, "body"), "loc");
        fuzz_require(e[i].msg.len > 0
                     && memchr(e[i].msg.data, '\0', e[i].msg.len) == NULL
                     && fuzz_utf8(e[i].msg.data, e[i].msg.len, NULL) >= 0,
                     "msg");
        fuzz_require(e[i].type.len > 0, "type");

        if (fuzz_is(&e[i].field, "refresh_token")) {
            fuzz_require(fuzz_is(&e[i].type, "value_error.missing")
                         || fuzz_is(&e[i].type, "type_error.none.not_allowed")
                         || fuzz_is(&e[i].type, "type_error.str"),
                         "the token's error type");

        } else if (e[i].field.len) {
            fuzz_require(fuzz_is(&e[i].type, "value_error.extra"),
                         "a field other than the token, not an extra one");
        }
    }

    if (rc == NGX_OK) {
        fuzz_require(v->present && !v->null, "accepted without a token");
        fuzz_require(v->str.data[v->str.len] == '\0', "NUL-terminated");
        fuzz_require(memchr(v->str.data, '\0', v->str.len) == NULL,
                     "a NUL in the token");
        fuzz_require(fuzz_utf8(v->str.data, v->str.len, NULL) >= 0,
                     "the token is not UTF-8");
        ours = ngx_http_users_refresh_token_session(&v->str, session);
        fuzz_require(ours == fuzz_refresh_session(&v->str, plain),
                     "the token's shape differs from a plain reading");
        fuzz_require(ours != NGX_OK
                     || memcmp(session, plain, sizeof(session)) == 0,
                     "the token's session differs from a plain reading");
    }

    *errs = errors;

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      ok;
    u_char                  *p;
    size_t                   len;
    ngx_int_t                rc;
    ngx_str_t                body;
    ngx_uint_t               i, extra;
    ngx_pool_t              *pool;
    ngx_array_t             *errors;
    ngx_http_users_error_t  *e;
    ngx_http_users_value_t   value;

    if (size == 0) {
        return 0;
    }

    pool = ngx_shim_pool();

    if (!(data[0] & 1)) {
        body.data = (u_char *) data + 1;
        body.len = size - 1;

        (void) fuzz_validate(pool, &body, &value, &errors);

        ngx_destroy_pool(pool);
        return 0;
    }

    len = size - 1;

    if (len > FUZZ_TOKEN_MAX) {
        ngx_destroy_pool(pool);
        return 0;
    }

    /* {"refresh_token":"<12 bytes per character at most>","x":1} */
    body.data = ngx_pnalloc(pool, 12 * len + 64);
    fuzz_require(body.data != NULL, "no memory");

    p = ngx_cpymem(body.data, "{\"refresh_token\":",
                   sizeof("{\"refresh_token\":") - 1);
    p = fuzz_json_string(p, data + 1, len, data[0] & 2);

    if (data[0] & 4) {
        p = ngx_cpymem(p, ",\"x\":1", sizeof(",\"x\":1") - 1);
    }

    *p++ = '}';
    body.len = p - body.data;

    rc = fuzz_validate(pool, &body, &value, &errors);

    ok = memchr(data + 1, '\0', len) == NULL
         && fuzz_utf8(data + 1, len, NULL) >= 0;

    if (data[0] & 4) {
        fuzz_require(rc == NGX_DECLINED, "an extra member was accepted");

        if (ok) {
            e = errors->elts;

            for (i = 0, extra = 0; i < errors->nelts; i++) {
                extra += fuzz_is(&e[i].field, "x")
                         && fuzz_is(&e[i].type, "value_error.extra");
            }

            fuzz_require(errors->nelts == 1 && extra == 1,
                         "the extra member is not the only error");
        }

    } else if (ok) {
        fuzz_require(rc == NGX_OK, "a UTF-8 token was refused");
        fuzz_require(value.str.len == len
                     && memcmp(value.str.data, data + 1, len) == 0,
                     "the token did not come back as written");

    } else {
        fuzz_require(rc == NGX_DECLINED, "a token with NUL or not UTF-8");
    }

    ngx_destroy_pool(pool);

    return 0;
}
