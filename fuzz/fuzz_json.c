
/*
 * Copyright (C) ngx_users authors
 *
 * The JSON validator: the first byte picks a route's field table, the rest
 * is the body.  Besides crashes and leaks, it aborts when a result breaks
 * the validator's promises.
 */


#include "fuzz_util.h"


static ngx_pool_t  *fuzz_cycle_pool;


static void
fuzz_require(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_json: %s\n", what);
        abort();
    }
}


static int
fuzz_text(ngx_str_t *s)
{
    return memchr(s->data, '\0', s->len) == NULL
           && ngx_http_users_utf8_chars(s->data, s->len) != (size_t) -1;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_cycle_t  cycle;

    fuzz_cycle_pool = ngx_shim_pool();

    ngx_memzero(&cycle, sizeof(ngx_cycle_t));
    cycle.pool = fuzz_cycle_pool;
    cycle.log = &ngx_shim_log;

    if (ngx_http_users_timezones_load(&cycle) != NGX_OK) {
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                   chars;
    ngx_int_t                rc;
    ngx_str_t                body;
    ngx_uint_t               i;
    ngx_pool_t              *pool;
    ngx_array_t             *errors;
    fuzz_table_t            *table;
    ngx_http_users_field_t  *f;
    ngx_http_users_error_t  *e;
    ngx_http_users_value_t   values[8];

    if (size == 0) {
        return 0;
    }

    table = &fuzz_tables[data[0] % fuzz_ntables];

    pool = ngx_shim_pool();

    errors = ngx_array_create(pool, 1, sizeof(ngx_http_users_error_t));
    fuzz_require(errors != NULL, "no memory");

    body.data = (u_char *) data + 1;
    body.len = size - 1;

    rc = ngx_http_users_json_validate(pool, &body, table->fields,
                                      table->nfields, values, errors);

    fuzz_require(rc == NGX_OK || rc == NGX_DECLINED, "NGX_ERROR");
    fuzz_require((rc == NGX_OK) == (errors->nelts == 0), "rc and errors");

    e = errors->elts;

    for (i = 0; i < errors->nelts; i++) {
        fuzz_require(e[i].loc.len == 4
                     && memcmp(e[i].loc.data, "body", 4) == 0, "loc");
        fuzz_require(e[i].msg.len > 0 && fuzz_text(&e[i].msg), "msg");
        fuzz_require(e[i].type.len > 0 && fuzz_text(&e[i].type), "type");
        fuzz_require(fuzz_text(&e[i].field), "field");
    }

    for (i = 0; rc == NGX_OK && i < table->nfields; i++) {
        f = &table->fields[i];

        fuzz_require(values[i].present || !f->required, "required");
        fuzz_require(!values[i].null || f->nullable, "nullable");

        if (!values[i].present || values[i].null
            || f->type == NGX_HTTP_USERS_FIELD_BOOL)
        {
            continue;
        }

        fuzz_require(values[i].str.data[values[i].str.len] == '\0', "NUL");
        fuzz_require(fuzz_text(&values[i].str), "value text");

        chars = ngx_http_users_utf8_chars(values[i].str.data,
                                          values[i].str.len);

        fuzz_require(chars >= f->min_chars, "min_chars");
        fuzz_require(f->max_chars == 0 || chars <= f->max_chars,
                     "max_chars");
        fuzz_require(f->check == NULL || f->check(&values[i].str) == NULL,
                     "check");
    }

    ngx_destroy_pool(pool);

    return 0;
}
