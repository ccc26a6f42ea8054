
/*
 * Copyright (C) ngx_users authors
 *
 * application/x-www-form-urlencoded bodies and query strings, and ids.
 * ngx_unescape_uri() is not used: it keeps "+", silently drops bad escapes
 * and does not terminate, which would corrupt passwords unseen.
 */


#include "ngx_http_users_module.h"


static void ngx_http_users_form_pair(u_char *dst, u_char *p, u_char *last,
    ngx_http_users_form_field_t *fields, ngx_uint_t nfields);
static ngx_int_t ngx_http_users_form_decode(u_char *src, u_char *last,
    u_char *dst, size_t *len);
static ngx_int_t ngx_http_users_form_hex(u_char c);
static u_char *ngx_http_users_query_bound(ngx_pool_t *pool, char *relation,
    int64_t bound);


/*
 * Each pair is decoded into the same offset of one copy of the text:
 * decoding never lengthens a pair, and the byte of its "&" or "=" is left
 * for the terminating NUL.
 */

ngx_int_t
ngx_http_users_form_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_http_users_form_field_t *fields, ngx_uint_t nfields)
{
    u_char      *buf, *p, *last, *amp;
    ngx_uint_t   i;

    for (i = 0; i < nfields; i++) {
        fields[i].found = 0;
        fields[i].invalid = 0;
        ngx_str_null(&fields[i].value);
    }

    /* no query at all: its text has no data to point into */
    if (text->len == 0) {
        return NGX_OK;
    }

    buf = ngx_pnalloc(pool, text->len + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = text->data;
    last = p + text->len;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        if (amp > p) {
            ngx_http_users_form_pair(buf + (p - text->data), p, amp, fields,
                                     nfields);
        }

        if (amp == last) {
            break;
        }

        p = amp + 1;
    }

    return NGX_OK;
}


static void
ngx_http_users_form_pair(u_char *dst, u_char *p, u_char *last,
    ngx_http_users_form_field_t *fields, ngx_uint_t nfields)
{
    u_char                       *eq, *value;
    size_t                        len;
    ngx_uint_t                    i;
    ngx_http_users_form_field_t  *field;

    eq = ngx_strlchr(p, last, '=');
    if (eq == NULL) {
        eq = last;
    }

    /* a name that does not decode cannot be one of ours */
    if (ngx_http_users_form_decode(p, eq, dst, &len) != NGX_OK) {
        return;
    }

    field = NULL;

    for (i = 0; i < nfields; i++) {
        if (fields[i].name.len == len
            && ngx_memcmp(fields[i].name.data, dst, len) == 0)
        {
            field = &fields[i];
            break;
        }
    }

    if (field == NULL) {
        return;
    }

    /*
     * The last occurrence wins, as in Starlette's form lookup; an
     * invalid one leaves an empty string.
     */

    field->found = 1;
    field->invalid = 0;

    value = dst + (eq - p);
    len = 0;

    if (eq < last) {
        value++;

        if (ngx_http_users_form_decode(eq + 1, last, value, &len) != NGX_OK) {
            field->invalid = 1;
            len = 0;
        }
    }

    value[len] = '\0';

    field->value.data = value;
    field->value.len = len;
}


static ngx_int_t
ngx_http_users_form_decode(u_char *src, u_char *last, u_char *dst,
    size_t *len)
{
    u_char     *d, c;
    ngx_int_t   hi, lo;

    d = dst;

    while (src < last) {
        c = *src++;

        if (c == '+') {
            c = ' ';

        } else if (c == '%') {
            if (last - src < 2) {
                return NGX_DECLINED;
            }

            hi = ngx_http_users_form_hex(src[0]);
            lo = ngx_http_users_form_hex(src[1]);

            if (hi < 0 || lo < 0) {
                return NGX_DECLINED;
            }

            c = (u_char) (hi << 4 | lo);
            src += 2;
        }

        /* values become C strings for libpq and libsodium */
        if (c == '\0') {
            return NGX_DECLINED;
        }

        *d++ = c;
    }

    *len = d - dst;

    if (ngx_http_users_utf8_chars(dst, *len) == (size_t) -1) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_form_hex(u_char c)
{
    u_char  ch;

    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    ch = (u_char) (c | 0x20);

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    return -1;
}


/* a positive int64 in decimal digits only: no sign, no white space */

ngx_int_t
ngx_http_users_parse_id(ngx_str_t *text, int64_t *id)
{
    u_char   *p, *last;
    int64_t   n, digit;

    if (text->len == 0) {
        return NGX_ERROR;
    }

    n = 0;
    last = text->data + text->len;

    for (p = text->data; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        digit = *p - '0';

        if (n > (INT64_MAX - digit) / 10) {
            return NGX_ERROR;
        }

        n = n * 10 + digit;
    }

    if (n == 0) {
        return NGX_ERROR;
    }

    *id = n;

    return NGX_OK;
}


/*
 * The query's integers: each found one in [min, max], else an entry of
 * errors with pydantic's message, and NGX_DECLINED once all are looked at.
 */

ngx_int_t
ngx_http_users_query_ints(ngx_http_request_t *r,
    ngx_http_users_query_int_t *query, ngx_uint_t n, ngx_array_t *errors)
{
    u_char                       *p, *last;
    u_char                       *msg;
    char                         *type;
    int64_t                       v;
    ngx_uint_t                    i, negative, overflow, valid;
    ngx_http_users_form_field_t  *form;

    form = ngx_pcalloc(r->pool, n * sizeof(ngx_http_users_form_field_t));
    if (form == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        form[i].name = query[i].name;
    }

    if (ngx_http_users_form_parse(r->pool, &r->args, form, n) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {

        if (!form[i].found) {
            continue;
        }

        p = form[i].value.data;
        last = p + form[i].value.len;
        negative = 0;

        if (p < last && (*p == '-' || *p == '+')) {
            negative = (*p++ == '-');
        }

        v = 0;
        overflow = 0;
        valid = !form[i].invalid && p < last;

        for ( /* void */ ; valid && p < last; p++) {
            if (*p < '0' || *p > '9') {
                valid = 0;
                break;
            }

            if (v > (INT64_MAX - (*p - '0')) / 10) {
                overflow = 1;

            } else if (!overflow) {
                v = v * 10 + (*p - '0');
            }
        }

        if (!valid) {
            msg = (u_char *) "value is not a valid integer";
            type = "type_error.integer";

        } else if ((negative && (v > 0 || overflow))
                   || (!overflow && v < query[i].min))
        {
            msg = ngx_http_users_query_bound(r->pool,
                                             "greater than or equal to",
                                             query[i].min);
            type = "value_error.number.not_ge";

        } else if (overflow || v > query[i].max) {
            msg = ngx_http_users_query_bound(r->pool, "less than or equal to",
                                             query[i].max);
            type = "value_error.number.not_le";

        } else {
            query[i].value = negative ? -v : v;
            query[i].found = 1;
            continue;
        }

        if (msg == NULL
            || ngx_http_users_error_add(errors, "query", &query[i].name,
                                        (char *) msg, type)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return errors->nelts ? NGX_DECLINED : NGX_OK;
}


/* pydantic's range message, NUL-terminated */

static u_char *
ngx_http_users_query_bound(ngx_pool_t *pool, char *relation, int64_t bound)
{
    u_char  *msg;

    msg = ngx_pnalloc(pool, sizeof("ensure this value is greater than or"
                                   " equal to ") + NGX_INT64_LEN);
    if (msg == NULL) {
        return NULL;
    }

    (void) ngx_sprintf(msg, "ensure this value is %s %L%Z", relation, bound);

    return msg;
}
