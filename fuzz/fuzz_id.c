
/*
 * Copyright (C) ngx_users authors
 *
 * The id parser, compared with strtoll() restricted to digits.
 */


#include "fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char       *text, *end;
    size_t      i;
    int64_t     id;
    ngx_int_t   rc, expect;
    ngx_str_t   s;
    long long   n;

    s.data = (u_char *) data;
    s.len = size;

    id = -1;
    rc = ngx_http_users_parse_id(&s, &id);

    text = malloc(size + 1);
    if (text == NULL) {
        abort();
    }

    memcpy(text, data, size);
    text[size] = '\0';

    expect = (size > 0) ? NGX_OK : NGX_ERROR;

    for (i = 0; i < size; i++) {
        if (text[i] < '0' || text[i] > '9') {
            expect = NGX_ERROR;
        }
    }

    n = 0;

    if (expect == NGX_OK) {
        errno = 0;
        n = strtoll(text, &end, 10);

        if (errno == ERANGE || *end != '\0' || n <= 0) {
            expect = NGX_ERROR;
        }
    }

    if (rc != expect || (rc == NGX_OK && id != n)) {
        fprintf(stderr, "fuzz_id: \"%s\": %ld, expected %ld\n", text,
                (long) rc, (long) expect);
        abort();
    }

    free(text);

    return 0;
}
