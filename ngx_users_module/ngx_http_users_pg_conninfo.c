/*
 * Copyright (C) ngx_users authors
 *
 * The PostgreSQL connection string, parsed once at configuration time, in
 * the master, into libpq's keyword arrays.  Host names are resolved here
 * and passed as "hostaddr", so that no worker ever blocks on DNS; the
 * original service's "postgresql+asyncpg://" URLs are accepted as they
 * are.
 */


#include "ngx_http_users_module.h"
#include <netdb.h>


char *
ngx_http_users_pg_conninfo(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_users_pg_conf_t *pg)
{
    char                 *err, *host, *next, *name, **kw, **val;
    u_char               *p, *s, *q, *end;
    size_t                len;
    ngx_uint_t            n, i, k;
    struct addrinfo       hints, *ai;
    PQconninfoOption     *opts, *o;
    ngx_str_t             options;
    u_char               *hostaddr;

    s = ngx_pnalloc(cf->pool, value->len + 1);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(s, value->data, value->len);
    s[value->len] = '\0';

    /* "postgresql+asyncpg://..." -> "postgresql://..." */
    p = (u_char *) ngx_strstr(s, "://");
    q = (u_char *) ngx_strchr(s, '+');

    if (p && q && q < p
        && (ngx_strncmp(s, "postgresql+", 11) == 0
            || ngx_strncmp(s, "postgres+", 9) == 0))
    {
        ngx_memmove(q, p, ngx_strlen(p) + 1);
    }

    opts = PQconninfoParse((char *) s, &err);
    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid PostgreSQL connection string: %s",
                           err ? err : "out of memory");
        PQfreemem(err);
        return NGX_CONF_ERROR;
    }

    n = 0;

    for (o = opts; o->keyword; o++) {
        n++;
    }

    /* room for the defaults added below and the terminating NULL */
    kw = ngx_pcalloc(cf->pool, (n + 8) * sizeof(char *));
    val = ngx_pcalloc(cf->pool, (n + 8) * sizeof(char *));
    if (kw == NULL || val == NULL) {
        goto failed;
    }

    k = 0;
    host = NULL;
    hostaddr = NULL;
    /* not ngx_str_null(): "%V" would memcpy() from a NULL pointer */
    ngx_str_set(&options, "");

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }

        len = ngx_strlen(o->val);

        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            goto failed;
        }

        ngx_memcpy(p, o->val, len + 1);

        if (ngx_strcmp(o->keyword, "host") == 0) {
            host = (char *) p;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = p;

        } else if (ngx_strcmp(o->keyword, "options") == 0) {
            options.data = p;
            options.len = len;
            continue;
        }

        kw[k] = o->keyword;
        val[k] = (char *) p;
        k++;
    }

    /* the keywords point into opts: keep them for the cycle */
    for (i = 0; i < k; i++) {
        len = ngx_strlen(kw[i]);

        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            goto failed;
        }

        ngx_memcpy(p, kw[i], len + 1);
        kw[i] = (char *) p;
    }

    if (host && hostaddr == NULL) {

        /* one hostaddr entry per host; an empty one for socket folders */
        n = 1;

        for (next = host; *next; next++) {
            n += (*next == ',');
        }

        len = n * (NGX_SOCKADDR_STRLEN + 1);

        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            goto failed;
        }

        hostaddr = p;
        end = p + len;

        for (next = host; next; /* void */) {
            q = (u_char *) ngx_strchr(next, ',');
            len = q ? (size_t) (q - (u_char *) next) : ngx_strlen(next);

            /* libpq pairs the lists by position: keep empty entries */
            if (next != host) {
                *p++ = ',';
            }

            if (len && next[0] != '/' && next[0] != '@') {
                name = ngx_pnalloc(cf->pool, len + 1);
                if (name == NULL) {
                    goto failed;
                }

                ngx_memcpy(name, next, len);
                name[len] = '\0';

                ngx_memzero(&hints, sizeof(struct addrinfo));
                hints.ai_family = AF_UNSPEC;
                hints.ai_socktype = SOCK_STREAM;

                if (getaddrinfo(name, NULL, &hints, &ai) != 0 || ai == NULL) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "host \"%s\" of the PostgreSQL "
                                       "connection string not found", name);
                    goto failed;
                }

                len = ngx_sock_ntop(ai->ai_addr, ai->ai_addrlen, p,
                                    end - p, 0);
                freeaddrinfo(ai);

                p += len;
            }

            next = q ? (char *) q + 1 : NULL;
        }

        *p = '\0';

        kw[k] = "hostaddr";
        val[k] = (char *) hostaddr;
        k++;
    }

    /*
     * Defaults unless given: no GSS probing (it costs ~100 ms a connect),
     * no TLS (OpenSSL buffers decrypted bytes where the edge-triggered
     * reader cannot see them: use a local socket or a trusted network),
     * and a statement_timeout just under the nginx-side query timeout so
     * that the server normally cancels first and the connection survives.
     */

    for (i = 0; i < 3; i++) {
        static char  *defaults[][2] = {
            { "gssencmode", "disable" },
            { "sslmode", "disable" },
            { "application_name", "ngx_users" }
        };

        for (n = 0; n < k; n++) {
            if (ngx_strcmp(kw[n], defaults[i][0]) == 0) {
                break;
            }
        }

        if (n == k) {
            kw[k] = defaults[i][0];
            val[k] = defaults[i][1];
            k++;
        }
    }

    len = options.len + sizeof(" -c statement_timeout=") - 1 + NGX_INT_T_LEN
          + sizeof(" -c idle_in_transaction_session_timeout=") - 1
          + NGX_INT_T_LEN + 1;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        goto failed;
    }

    kw[k] = "options";
    val[k] = (char *) p;
    k++;

    p = ngx_sprintf(p, "%V -c statement_timeout=%M"
                    " -c idle_in_transaction_session_timeout=%M",
                    &options, pg->query_timeout - pg->query_timeout / 10,
                    pg->query_timeout);
    *p = '\0';

    kw[k] = NULL;
    val[k] = NULL;

    pg->keywords = (const char **) kw;
    pg->values = (const char **) val;

    PQconninfoFree(opts);

    return NGX_CONF_OK;

failed:

    PQconninfoFree(opts);

    return NGX_CONF_ERROR;
}
