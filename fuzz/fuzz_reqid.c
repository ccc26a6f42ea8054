
/*
 * Copyright (C) ngx_users authors
 *
 * The X-Request-ID rule and $users_request_id.  The input is a header
 * list, one "name:value" a line, laid out over list parts of two entries
 * as nginx chains them.  The id must be the first X-Request-ID (any case)
 * whose value the rule allows, the very bytes the client sent; otherwise
 * 32 new hex digits.  The rule is compared with a plain reading of it:
 * 1 to 128 characters of letters, digits and ". _ : -".
 */


#include "fuzz_util.h"


#define FUZZ_PART_ELTS  2


static ngx_int_t
fuzz_valid(const u_char *p, size_t len)
{
    size_t  i;

    if (len < 1 || len > 128) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {

        /* ASCII only, whatever the locale; strchr() would find a NUL */
        if (p[i] >= 0x80 || p[i] == '\0') {
            return NGX_DECLINED;
        }

        if (!isalnum(p[i]) && strchr("._:-", p[i]) == NULL) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static void
fuzz_fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_reqid: %s for \"%.*s\"\n", what, (int) size,
            (const char *) data);
    abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               *line, *end, *colon, *eol;
    size_t                i;
    ngx_str_t             s, id, *expect;
    ngx_uint_t            n;
    ngx_pool_t           *pool;
    ngx_list_part_t      *part, *last;
    ngx_table_elt_t      *h;
    ngx_http_request_t    r;

    s.data = (u_char *) data;
    s.len = size;

    if (ngx_http_users_request_id_valid(&s) != fuzz_valid(data, size)) {
        fuzz_fail("the rule disagrees", data, size);
    }

    pool = ngx_shim_pool();
    if (pool == NULL) {
        abort();
    }

    ngx_memzero(&r, sizeof(ngx_http_request_t));
    r.pool = pool;

    part = &r.headers_in.headers.part;
    last = part;
    part->elts = ngx_palloc(pool, FUZZ_PART_ELTS * sizeof(ngx_table_elt_t));
    if (part->elts == NULL) {
        abort();
    }

    expect = NULL;
    end = (u_char *) data + size;

    for (line = (u_char *) data; line < end; line = eol + 1) {
        eol = memchr(line, '\n', end - line);
        if (eol == NULL) {
            eol = end;
        }

        colon = memchr(line, ':', eol - line);
        if (colon == NULL) {
            continue;
        }

        if (last->nelts == FUZZ_PART_ELTS) {
            last->next = ngx_pcalloc(pool, sizeof(ngx_list_part_t));
            if (last->next == NULL) {
                abort();
            }

            last = last->next;
            last->elts = ngx_palloc(pool,
                                    FUZZ_PART_ELTS * sizeof(ngx_table_elt_t));
            if (last->elts == NULL) {
                abort();
            }
        }

        h = (ngx_table_elt_t *) last->elts + last->nelts++;
        ngx_memzero(h, sizeof(ngx_table_elt_t));
        h->key.data = line;
        h->key.len = colon - line;
        h->value.data = colon + 1;
        h->value.len = eol - colon - 1;

        if (expect == NULL
            && h->key.len == 12
            && strncasecmp((char *) h->key.data, "x-request-id", 12) == 0
            && fuzz_valid(h->value.data, h->value.len) == NGX_OK)
        {
            expect = &h->value;
        }
    }

    if (ngx_http_users_request_id(&r, &id) != NGX_OK) {
        fuzz_fail("no id", data, size);
    }

    if (expect) {
        if (id.data != expect->data || id.len != expect->len) {
            fuzz_fail("not the client's id", data, size);
        }

    } else {
        n = 0;

        for (i = 0; i < id.len; i++) {
            n += (id.data[i] >= '0' && id.data[i] <= '9')
                 || (id.data[i] >= 'a' && id.data[i] <= 'f');
        }

        if (id.len != 32 || n != 32) {
            fuzz_fail("not 32 hex digits", data, size);
        }
    }

    ngx_destroy_pool(pool);

    return 0;
}
