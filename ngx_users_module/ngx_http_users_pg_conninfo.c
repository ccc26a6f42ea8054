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


/* libpq's keyword and value arrays, as they are filled */
typedef struct {
    char                    **keywords;
    char                    **values;
    ngx_uint_t                n;

    char                     *host;         /* as given, if given */
    u_char                   *hostaddr;     /* as given, or resolved */
    ngx_str_t                 options;      /* as given, empty if not */
} ngx_http_users_pg_conninfo_t;


static u_char *ngx_http_users_pg_conninfo_text(ngx_conf_t *cf,
    ngx_str_t *value);
static ngx_int_t ngx_http_users_pg_conninfo_copy(ngx_conf_t *cf,
    PQconninfoOption *opts, ngx_http_users_pg_conninfo_t *ci);
static char *ngx_http_users_pg_conninfo_strdup(ngx_pool_t *pool,
    const char *s);
static ngx_int_t ngx_http_users_pg_conninfo_resolve(ngx_conf_t *cf,
    ngx_http_users_pg_conninfo_t *ci);
static ngx_int_t ngx_http_users_pg_conninfo_host(ngx_conf_t *cf, char *host,
    size_t len, u_char **p, u_char *end);
static void ngx_http_users_pg_conninfo_defaults(
    ngx_http_users_pg_conninfo_t *ci);
static ngx_int_t ngx_http_users_pg_conninfo_options(ngx_conf_t *cf,
    ngx_http_users_pg_conninfo_t *ci, ngx_msec_t query_timeout);


char *
ngx_http_users_pg_conninfo(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_users_pg_conf_t *pg)
{
    char                          *err;
    u_char                        *text;
    PQconninfoOption              *opts;
    ngx_http_users_pg_conninfo_t   ci;

    text = ngx_http_users_pg_conninfo_text(cf, value);
    if (text == NULL) {
        return NGX_CONF_ERROR;
    }

    opts = PQconninfoParse((char *) text, &err);
    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid PostgreSQL connection string: %s",
                           err ? err : "out of memory");
        PQfreemem(err);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_pg_conninfo_copy(cf, opts, &ci) != NGX_OK
        || ngx_http_users_pg_conninfo_resolve(cf, &ci) != NGX_OK)
    {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    /* the keywords and values are copies: opts is not needed any more */
    PQconninfoFree(opts);

    ngx_http_users_pg_conninfo_defaults(&ci);

    if (ngx_http_users_pg_conninfo_options(cf, &ci, pg->query_timeout)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ci.keywords[ci.n] = NULL;
    ci.values[ci.n] = NULL;

    pg->keywords = (const char **) ci.keywords;
    pg->values = (const char **) ci.values;

    return NGX_CONF_OK;
}


/* a NUL-terminated copy, "postgresql+asyncpg://" cut to "postgresql://" */

static u_char *
ngx_http_users_pg_conninfo_text(ngx_conf_t *cf, ngx_str_t *value)
{
    u_char  *s, *p, *q;

    s = ngx_pnalloc(cf->pool, value->len + 1);
    if (s == NULL) {
        return NULL;
    }

    ngx_memcpy(s, value->data, value->len);
    s[value->len] = '\0';

    p = (u_char *) ngx_strstr(s, "://");
    q = (u_char *) ngx_strchr(s, '+');

    if (p && q && q < p
        && (ngx_strncmp(s, "postgresql+", 11) == 0
            || ngx_strncmp(s, "postgres+", 9) == 0))
    {
        ngx_memmove(q, p, ngx_strlen(p) + 1);
    }

    return s;
}


/*
 * The keywords given a value, copied into the cycle's pool (opts is libpq's
 * memory); "options" is set aside, to be extended with the timeouts.
 */

static ngx_int_t
ngx_http_users_pg_conninfo_copy(ngx_conf_t *cf, PQconninfoOption *opts,
    ngx_http_users_pg_conninfo_t *ci)
{
    char              *keyword, *value;
    ngx_uint_t         n;
    PQconninfoOption  *o;

    n = 0;

    for (o = opts; o->keyword; o++) {
        n++;
    }

    /* room for the entries added after these and the terminating NULL */
    ci->keywords = ngx_pcalloc(cf->pool, (n + 8) * sizeof(char *));
    ci->values = ngx_pcalloc(cf->pool, (n + 8) * sizeof(char *));
    if (ci->keywords == NULL || ci->values == NULL) {
        return NGX_ERROR;
    }

    ci->n = 0;
    ci->host = NULL;
    ci->hostaddr = NULL;
    /* not ngx_str_null(): "%V" would memcpy() from a NULL pointer */
    ngx_str_set(&ci->options, "");

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }

        value = ngx_http_users_pg_conninfo_strdup(cf->pool, o->val);
        if (value == NULL) {
            return NGX_ERROR;
        }

        if (ngx_strcmp(o->keyword, "options") == 0) {
            ci->options.data = (u_char *) value;
            ci->options.len = ngx_strlen(value);
            continue;
        }

        if (ngx_strcmp(o->keyword, "host") == 0) {
            ci->host = value;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            ci->hostaddr = (u_char *) value;
        }

        keyword = ngx_http_users_pg_conninfo_strdup(cf->pool, o->keyword);
        if (keyword == NULL) {
            return NGX_ERROR;
        }

        ci->keywords[ci->n] = keyword;
        ci->values[ci->n] = value;
        ci->n++;
    }

    return NGX_OK;
}


static char *
ngx_http_users_pg_conninfo_strdup(ngx_pool_t *pool, const char *s)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(s) + 1;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);

    return (char *) p;
}


/*
 * "hostaddr" for the hosts given, unless given too: libpq pairs the two
 * lists by position, so socket folders keep an empty entry in theirs
 */

static ngx_int_t
ngx_http_users_pg_conninfo_resolve(ngx_conf_t *cf,
    ngx_http_users_pg_conninfo_t *ci)
{
    char        *next, *q;
    u_char      *p, *end;
    size_t       len;
    ngx_uint_t   n;

    if (ci->host == NULL || ci->hostaddr != NULL) {
        return NGX_OK;
    }

    n = 1;

    for (next = ci->host; *next; next++) {
        n += (*next == ',');
    }

    len = n * (NGX_SOCKADDR_STRLEN + 1);

    p = ngx_pnalloc(cf->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ci->hostaddr = p;
    end = p + len;

    for (next = ci->host; next; next = q ? q + 1 : NULL) {
        q = ngx_strchr(next, ',');
        len = q ? (size_t) (q - next) : ngx_strlen(next);

        if (next != ci->host) {
            *p++ = ',';
        }

        if (len && next[0] != '/' && next[0] != '@') {
            if (ngx_http_users_pg_conninfo_host(cf, next, len, &p, end)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    *p = '\0';

    ci->keywords[ci->n] = "hostaddr";
    ci->values[ci->n] = (char *) ci->hostaddr;
    ci->n++;

    return NGX_OK;
}


/* the first address of a host name, written at *p */

static ngx_int_t
ngx_http_users_pg_conninfo_host(ngx_conf_t *cf, char *host, size_t len,
    u_char **p, u_char *end)
{
    u_char           *name;
    struct addrinfo   hints, *ai;

    name = ngx_pnalloc(cf->pool, len + 1);
    if (name == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(name, host, len);
    name[len] = '\0';

    ngx_memzero(&hints, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    if (getaddrinfo((char *) name, NULL, &hints, &ai) != 0 || ai == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host \"%s\" of the PostgreSQL "
                           "connection string not found", name);
        return NGX_ERROR;
    }

    *p += ngx_sock_ntop(ai->ai_addr, ai->ai_addrlen, *p, end - *p, 0);

    freeaddrinfo(ai);

    return NGX_OK;
}


/*
 * Defaults unless given: no GSS probing (it costs ~100 ms a connect), no
 * TLS (OpenSSL buffers decrypted bytes where the edge-triggered reader
 * cannot see them: use a local socket or a trusted network).
 */

static void
ngx_http_users_pg_conninfo_defaults(ngx_http_users_pg_conninfo_t *ci)
{
    ngx_uint_t    i, n;

    static char  *defaults[][2] = {
        { "gssencmode", "disable" },
        { "sslmode", "disable" },
        { "application_name", "ngx_users" }
    };

    for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {

        for (n = 0; n < ci->n; n++) {
            if (ngx_strcmp(ci->keywords[n], defaults[i][0]) == 0) {
                break;
            }
        }

        if (n == ci->n) {
            ci->keywords[ci->n] = defaults[i][0];
            ci->values[ci->n] = defaults[i][1];
            ci->n++;
        }
    }
}


/*
 * The options given, and a statement_timeout just under the nginx-side
 * query timeout, so that the server normally cancels first and the
 * connection survives.
 */

static ngx_int_t
ngx_http_users_pg_conninfo_options(ngx_conf_t *cf,
    ngx_http_users_pg_conninfo_t *ci, ngx_msec_t query_timeout)
{
    u_char  *p;
    size_t   len;

    len = ci->options.len + sizeof(" -c statement_timeout=") - 1
          + NGX_INT_T_LEN
          + sizeof(" -c idle_in_transaction_session_timeout=") - 1
          + NGX_INT_T_LEN + 1;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ci->keywords[ci->n] = "options";
    ci->values[ci->n] = (char *) p;
    ci->n++;

    p = ngx_sprintf(p, "%V -c statement_timeout=%M"
                    " -c idle_in_transaction_session_timeout=%M",
                    &ci->options, query_timeout - query_timeout / 10,
                    query_timeout);
    *p = '\0';

    return NGX_OK;
}
