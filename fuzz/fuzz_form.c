
/*
 * Copyright (C) ngx_users authors
 *
 * The form decoder, compared with a plain reference decoder written from
 * the rules: split on "&", name up to the first "=", "+" is a space,
 * %XX decoded, a bad escape, a NUL or bad UTF-8 makes the value invalid,
 * the last occurrence wins.
 */


#include "fuzz_util.h"


#define FUZZ_NFIELDS  5


static const char  *fuzz_names[FUZZ_NFIELDS] = {
    "username", "password", "grant_type", "skip", "limit"
};


static int
fuzz_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/* returns the decoded length, or -1 */

static long
fuzz_decode(const u_char *s, size_t len, u_char *out)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[n] = ' ';

        } else if (s[i] == '%') {
            if (i + 2 >= len
                || fuzz_hex(s[i + 1]) < 0 || fuzz_hex(s[i + 2]) < 0)
            {
                return -1;
            }

            out[n] = (u_char) (fuzz_hex(s[i + 1]) * 16 + fuzz_hex(s[i + 2]));
            i += 2;

        } else {
            out[n] = s[i];
        }

        if (out[n] == '\0') {
            return -1;
        }

        n++;
    }

    if (ngx_http_users_utf8_chars(out, n) == (size_t) -1) {
        return -1;
    }

    return (long) n;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long                          nlen, vlen;
    u_char                       *name, *value;
    size_t                        start, end, eq, i;
    ngx_str_t                     text;
    ngx_uint_t                    k;
    ngx_pool_t                   *pool;
    ngx_http_users_form_field_t   fields[FUZZ_NFIELDS];
    struct {
        int                       found, invalid;
        size_t                    len;
        u_char                   *data;
    }                             expect[FUZZ_NFIELDS];

    pool = ngx_shim_pool();

    for (k = 0; k < FUZZ_NFIELDS; k++) {
        fields[k].name.data = (u_char *) fuzz_names[k];
        fields[k].name.len = strlen(fuzz_names[k]);
        expect[k].found = 0;
        expect[k].invalid = 0;
        expect[k].len = 0;
        expect[k].data = NULL;
    }

    text.data = (u_char *) data;
    text.len = size;

    if (ngx_http_users_form_parse(pool, &text, fields, FUZZ_NFIELDS)
        != NGX_OK)
    {
        abort();
    }

    name = malloc(size + 1);
    value = malloc(size + 1);
    if (name == NULL || value == NULL) {
        abort();
    }

    for (start = 0; start < size; start = end + 1) {

        for (end = start; end < size && data[end] != '&'; end++) { }

        for (eq = start; eq < end && data[eq] != '='; eq++) { }

        if (end == start) {
            continue;
        }

        nlen = fuzz_decode(data + start, eq - start, name);
        if (nlen < 0) {
            continue;
        }

        for (k = 0; k < FUZZ_NFIELDS; k++) {
            if ((size_t) nlen == strlen(fuzz_names[k])
                && memcmp(name, fuzz_names[k], nlen) == 0)
            {
                break;
            }
        }

        if (k == FUZZ_NFIELDS) {
            continue;
        }

        vlen = (eq < end) ? fuzz_decode(data + eq + 1, end - eq - 1, value)
                          : 0;

        free(expect[k].data);

        expect[k].found = 1;
        expect[k].invalid = (vlen < 0);
        expect[k].len = (vlen < 0) ? 0 : (size_t) vlen;
        expect[k].data = malloc(expect[k].len + 1);
        if (expect[k].data == NULL) {
            abort();
        }

        memcpy(expect[k].data, value, expect[k].len);
    }

    for (k = 0; k < FUZZ_NFIELDS; k++) {
        if (fields[k].found != (unsigned) expect[k].found
            || fields[k].invalid != (unsigned) expect[k].invalid
            || fields[k].value.len != expect[k].len
            || (expect[k].found
                && (fields[k].value.data[expect[k].len] != '\0'
                    || memcmp(fields[k].value.data, expect[k].data,
                              expect[k].len) != 0)))
        {
            fprintf(stderr, "fuzz_form: field \"%s\" differs\n",
                    fuzz_names[k]);
            abort();
        }

        for (i = 0; i < fields[k].value.len; i++) {
            if (fields[k].value.data[i] == '\0') {
                abort();
            }
        }

        free(expect[k].data);
    }

    free(name);
    free(value);

    ngx_destroy_pool(pool);

    return 0;
}
