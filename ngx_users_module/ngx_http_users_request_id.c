/*
 * Copyright (C) ngx_users authors
 *
 * $users_request_id: the id a request is logged and answered under.  A
 * client's X-Request-ID is kept only when it is short and made of
 * characters that cannot break a log line or a header.
 */


#include "ngx_http_users_module.h"


ngx_int_t
ngx_http_users_request_id_valid(ngx_str_t *id)
{
    u_char  *p, *last, ch;

    if (id->len == 0 || id->len > NGX_HTTP_USERS_REQUEST_ID_MAX) {
        return NGX_DECLINED;
    }

    last = id->data + id->len;

    for (p = id->data; p < last; p++) {
        ch = *p;

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9')
            || ch == '.' || ch == '_' || ch == ':' || ch == '-')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * $users_request_id: the client's X-Request-ID when it is sane, else 32
 * new hex digits.  ngx_random() rather than nginx's $request_id, which
 * asks OpenSSL for random bytes on every request: an id needs to be
 * unique, not unpredictable.
 */

ngx_int_t
ngx_http_users_request_id(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char           *p;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("X-Request-ID") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Request-ID",
                               h[i].key.len)
               == 0
            && ngx_http_users_request_id_valid(&h[i].value) == NGX_OK)
        {
            *id = h[i].value;
            return NGX_OK;
        }
    }

    id->data = ngx_pnalloc(r->pool, 32);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    p = id->data;

    for (i = 0; i < 4; i++) {
        p = ngx_sprintf(p, "%08xD", (uint32_t) ngx_random());
    }

    id->len = p - id->data;

    return NGX_OK;
}
