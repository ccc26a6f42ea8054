
/*
 * Copyright (C) ngx_users authors
 *
 * The connection-string parser, compared with libpq's own reading of the
 * same string (PQconninfoParse(), after the "postgresql+driver://" scheme
 * is cut to "postgresql://"): every keyword given comes out once with its
 * value, each default is added only when absent, the options carry the
 * timeouts, and every host gets its "hostaddr" entry in its position.
 * Names resolve through the getaddrinfo() below, which knows numeric
 * addresses and "localhost" only: no DNS while fuzzing.
 *
 * First byte: bit 7 set makes the (bits 0-4)-th pool allocation fail;
 * the rest is the connection string.
 */


#include "fuzz_util.h"
#include <netdb.h>
#include <arpa/inet.h>


#define FUZZ_QUERY_TIMEOUT  5000


typedef struct {
    struct addrinfo      ai;
    struct sockaddr_in6  sa;
} fuzz_addrinfo_t;


int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
    fuzz_addrinfo_t      *a;
    struct sockaddr_in   *sin;

    if (strcmp(node, "localhost") == 0) {
        node = "127.0.0.1";
    }

    a = calloc(1, sizeof(fuzz_addrinfo_t));
    if (a == NULL) {
        return EAI_MEMORY;
    }

    sin = (struct sockaddr_in *) &a->sa;

    if (inet_pton(AF_INET, node, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        a->ai.ai_addrlen = sizeof(struct sockaddr_in);

    } else if (inet_pton(AF_INET6, node, &a->sa.sin6_addr) == 1) {
        a->sa.sin6_family = AF_INET6;
        a->ai.ai_addrlen = sizeof(struct sockaddr_in6);

    } else {
        free(a);
        return EAI_NONAME;
    }

    a->ai.ai_family = a->sa.sin6_family;
    a->ai.ai_addr = (struct sockaddr *) &a->sa;
    *res = &a->ai;

    return 0;
}


void
freeaddrinfo(struct addrinfo *ai)
{
    free(ai);
}


static void
fuzz_fail(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_conninfo: %s for \"%s\"\n", what, text);
    abort();
}


/* the value the parser gave keyword, or NULL; aborts on a repeat */

static const char *
fuzz_value(ngx_http_users_pg_conf_t *pg, const char *keyword,
    const char *text)
{
    ngx_uint_t   i;
    const char  *v;

    v = NULL;

    for (i = 0; pg->keywords[i]; i++) {
        if (pg->values[i] == NULL) {
            fuzz_fail("a keyword without a value", text);
        }

        if (strcmp(pg->keywords[i], keyword) == 0) {
            if (v) {
                fuzz_fail("a keyword twice", text);
            }

            v = pg->values[i];
        }
    }

    return v;
}


/*
 * "hostaddr" as the reference expects it, an entry a host of the list
 * (empty for a socket folder or an empty host); 0: a host does not resolve
 */

static ngx_int_t
fuzz_hostaddr(const char *host, char *out)
{
    char                  name[1024], buf[INET6_ADDRSTRLEN];
    size_t                len;
    const char           *next, *comma;
    const void           *addr;
    struct addrinfo      *ai;
    struct sockaddr_in6  *sin6;

    *out = '\0';

    for (next = host; next; next = comma ? comma + 1 : NULL) {
        comma = strchr(next, ',');
        len = comma ? (size_t) (comma - next) : strlen(next);

        if (next != host) {
            strcat(out, ",");
        }

        if (len == 0 || next[0] == '/' || next[0] == '@') {
            continue;
        }

        if (len >= sizeof(name)) {
            return 0;
        }

        memcpy(name, next, len);
        name[len] = '\0';

        if (getaddrinfo(name, NULL, NULL, &ai) != 0) {
            return 0;
        }

        sin6 = (struct sockaddr_in6 *) ai->ai_addr;
        addr = (ai->ai_family == AF_INET6)
               ? (const void *) &sin6->sin6_addr
               : (const void *) &((struct sockaddr_in *) sin6)->sin_addr;

        strcat(out, inet_ntop(ai->ai_family, addr, buf, sizeof(buf)));
        freeaddrinfo(ai);
    }

    return 1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                      *text, *ref, *err, *expect_addr;
    char                      *options;
    const char                *v, *host, *hostaddr;
    size_t                     len;
    ngx_uint_t                 i, fail, resolved;
    ngx_str_t                  value;
    ngx_conf_t                 cf;
    PQconninfoOption          *opts, *o;
    static const char         *defaults[][2] = {
        { "gssencmode", "disable" },
        { "sslmode", "disable" },
        { "application_name", "ngx_users" }
    };
    ngx_http_users_pg_conf_t   pg;

    if (size == 0) {
        return 0;
    }

    fail = (data[0] & 0x80) ? (data[0] & 0x1f) + 1 : 0;
    data++;
    size--;

    /* as the module sees it: up to the first NUL */
    text = strndup((const char *) data, size);
    ref = strdup(text);
    if (text == NULL || ref == NULL) {
        abort();
    }

    for (i = 0; i < 2; i++) {
        static const char  *scheme[] = { "postgresql", "postgres" };
        char               *rest;

        len = strlen(scheme[i]);

        if (strncmp(ref, scheme[i], len) == 0 && ref[len] == '+') {
            rest = strstr(ref + len + 1, "://");
            if (rest) {
                memmove(ref + len, rest, strlen(rest) + 1);
            }

            break;
        }
    }

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    ngx_memzero(&pg, sizeof(ngx_http_users_pg_conf_t));
    cf.pool = ngx_shim_pool();
    cf.log = &ngx_shim_log;
    pg.query_timeout = FUZZ_QUERY_TIMEOUT;

    value.data = (u_char *) data;
    value.len = size;

    ngx_shim_fail_after = fail;
    v = ngx_http_users_pg_conninfo(&cf, &value, &pg);
    ngx_shim_fail_after = 0;

    opts = PQconninfoParse(ref, &err);
    PQfreemem(err);

    host = NULL;
    hostaddr = NULL;
    options = NULL;

    for (o = opts; o && o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }

        if (strcmp(o->keyword, "host") == 0) {
            host = o->val;

        } else if (strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = o->val;

        } else if (strcmp(o->keyword, "options") == 0) {
            options = o->val;
        }
    }

    expect_addr = NULL;
    resolved = 1;

    if (opts && host && hostaddr == NULL) {
        expect_addr = malloc(strlen(host) * INET6_ADDRSTRLEN + 1);
        if (expect_addr == NULL) {
            abort();
        }

        resolved = fuzz_hostaddr(host, expect_addr);
    }

    if (v == NGX_CONF_OK && (opts == NULL || !resolved)) {
        fuzz_fail("accepted what libpq or the resolver refuses", text);
    }

    if (v != NGX_CONF_OK && opts && resolved && !fail) {
        fuzz_fail("refused what libpq accepts", text);
    }

    if (v == NGX_CONF_OK) {

        for (o = opts; o->keyword; o++) {
            if (o->val == NULL || o->val[0] == '\0'
                || strcmp(o->keyword, "options") == 0)
            {
                continue;
            }

            v = fuzz_value(&pg, o->keyword, text);
            if (v == NULL || strcmp(v, o->val) != 0) {
                fuzz_fail("a keyword lost or changed", text);
            }
        }

        if (expect_addr) {
            v = fuzz_value(&pg, "hostaddr", text);
            if (v == NULL || strcmp(v, expect_addr) != 0) {
                fprintf(stderr, "hostaddr \"%s\", expected \"%s\"\n",
                        v ? v : "(none)", expect_addr);
                fuzz_fail("hostaddr does not pair with host", text);
            }
        }

        for (i = 0; i < 3; i++) {
            v = fuzz_value(&pg, defaults[i][0], text);
            if (v == NULL) {
                fuzz_fail("a default missing", text);
            }

            for (o = opts; o->keyword; o++) {
                if (strcmp(o->keyword, defaults[i][0]) == 0
                    && o->val && o->val[0])
                {
                    break;
                }
            }

            if (o->keyword == NULL && strcmp(v, defaults[i][1]) != 0) {
                fuzz_fail("a default changed", text);
            }
        }

        len = strlen(options ? options : "") + 128;
        err = malloc(len);
        if (err == NULL) {
            abort();
        }

        snprintf(err, len, "%s -c statement_timeout=%d"
                 " -c idle_in_transaction_session_timeout=%d",
                 options ? options : "",
                 FUZZ_QUERY_TIMEOUT - FUZZ_QUERY_TIMEOUT / 10,
                 FUZZ_QUERY_TIMEOUT);

        v = fuzz_value(&pg, "options", text);
        if (v == NULL || strcmp(v, err) != 0) {
            fuzz_fail("options without the timeouts", text);
        }

        free(err);
    }

    free(expect_addr);
    PQconninfoFree(opts);
    ngx_destroy_pool(cf.pool);
    free(ref);
    free(text);

    return 0;
}
