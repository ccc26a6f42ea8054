
/*
 * Copyright (C) ngx_users authors
 *
 * The validator as a filter for fuzz/parity.py: each input line is
 * "<table> <body in hex>", each output line "<rc> <errors as JSON>".
 */


#include "fuzz_util.h"


static int
parity_hex(int c)
{
    return (c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
}


int
main(void)
{
    char                    *dump;
    size_t                   n;
    json_t                  *list;
    u_char                  *body, *h;
    ngx_int_t                rc;
    ngx_str_t                text;
    ngx_uint_t               i, table;
    ngx_pool_t              *pool;
    ngx_cycle_t              cycle;
    ngx_array_t             *errors;
    ngx_http_users_error_t  *e;
    ngx_http_users_value_t   values[8];
    static char              line[1 << 20];

    body = malloc(sizeof(line) / 2);
    if (body == NULL) {
        return 1;
    }

    ngx_memzero(&cycle, sizeof(ngx_cycle_t));
    cycle.pool = ngx_shim_pool();
    cycle.log = &ngx_shim_log;

    if (ngx_http_users_timezones_load(&cycle) != NGX_OK) {
        return 1;
    }

    while (fgets(line, sizeof(line), stdin)) {
        table = (ngx_uint_t) (line[0] - '0') % fuzz_ntables;

        n = 0;

        for (h = (u_char *) line + 2; h[0] && h[0] != '\n'; h += 2) {
            body[n++] = (u_char) (parity_hex(h[0]) << 4 | parity_hex(h[1]));
        }

        pool = ngx_shim_pool();

        errors = ngx_array_create(pool, 4, sizeof(ngx_http_users_error_t));
        if (errors == NULL) {
            return 1;
        }

        text.data = body;
        text.len = n;

        rc = ngx_http_users_json_validate(pool, &text,
                                          fuzz_tables[table].fields,
                                          fuzz_tables[table].nfields,
                                          values, errors);

        list = json_array();
        e = errors->elts;

        for (i = 0; i < errors->nelts; i++) {
            json_array_append_new(list,
                                  json_pack("[s#s#s#]",
                                            e[i].field.data, e[i].field.len,
                                            e[i].msg.data, e[i].msg.len,
                                            e[i].type.data, e[i].type.len));
        }

        dump = json_dumps(list, JSON_COMPACT|JSON_ENSURE_ASCII);
        if (dump == NULL) {
            return 1;
        }

        printf("%ld %s\n", (long) rc, dump);

        free(dump);
        json_decref(list);
        ngx_destroy_pool(pool);
    }

    ngx_destroy_pool(cycle.pool);
    free(body);

    return 0;
}
