
/*
 * Copyright (C) ngx_users authors
 *
 * nginx core functions for the fuzzers and unit tests.  Every pool
 * allocation is a malloc() of its own, so that AddressSanitizer sees an
 * overflow of any of them, and LeakSanitizer a leak outside the pools.
 */


#include "ngx_shim.h"


ngx_uint_t  ngx_shim_fail_after;

ngx_uint_t  ngx_pagesize = 4096;

ngx_log_t   ngx_shim_log = { .log_level = NGX_LOG_WARN };


static u_char  ngx_shim_basis64url[] = {
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 62, 77, 77,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 77, 77, 77, 77, 77, 77,
    77,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 77, 77, 77, 77, 63,
    77, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 77, 77, 77, 77, 77,

    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77,
    77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77, 77
};


ngx_pool_t *
ngx_create_pool(size_t size, ngx_log_t *log)
{
    ngx_pool_t  *pool;

    pool = calloc(1, sizeof(ngx_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->max = NGX_MAX_ALLOC_FROM_POOL;
    pool->current = pool;
    pool->log = log;

    return pool;
}


ngx_pool_t *
ngx_shim_pool(void)
{
    ngx_pool_t  *pool;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, &ngx_shim_log);
    if (pool == NULL) {
        abort();
    }

    return pool;
}


void
ngx_destroy_pool(ngx_pool_t *pool)
{
    ngx_pool_large_t    *l, *next;
    ngx_pool_cleanup_t  *c;

    for (c = pool->cleanup; c; c = c->next) {
        if (c->handler) {
            c->handler(c->data);
        }
    }

    for (l = pool->large; l; l = next) {
        next = l->next;
        free(l->alloc);
        free(l);
    }

    free(pool);
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    void              *p;
    ngx_pool_large_t  *large;

    if (ngx_shim_fail_after && --ngx_shim_fail_after == 0) {
        return NULL;
    }

    /* malloc(0) may return NULL, which would look like a failure */
    p = malloc(size ? size : 1);
    if (p == NULL) {
        return NULL;
    }

    large = malloc(sizeof(ngx_pool_large_t));
    if (large == NULL) {
        free(p);
        return NULL;
    }

    large->alloc = p;
    large->next = pool->large;
    pool->large = large;

    return p;
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    p = ngx_palloc(pool, size);
    if (p) {
        ngx_memzero(p, size);
    }

    return p;
}


ngx_int_t
ngx_pfree(ngx_pool_t *pool, void *p)
{
    ngx_pool_large_t  *l;

    for (l = pool->large; l; l = l->next) {
        if (p == l->alloc) {
            free(l->alloc);
            l->alloc = NULL;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


ngx_array_t *
ngx_array_create(ngx_pool_t *p, ngx_uint_t n, size_t size)
{
    ngx_array_t  *a;

    a = ngx_palloc(p, sizeof(ngx_array_t));
    if (a == NULL) {
        return NULL;
    }

    if (ngx_array_init(a, p, n, size) != NGX_OK) {
        return NULL;
    }

    return a;
}


void *
ngx_array_push(ngx_array_t *a)
{
    void  *elt, *new;

    if (a->nelts == a->nalloc) {
        new = ngx_palloc(a->pool, 2 * a->nalloc * a->size);
        if (new == NULL) {
            return NULL;
        }

        ngx_memcpy(new, a->elts, a->nalloc * a->size);
        a->elts = new;
        a->nalloc *= 2;
    }

    elt = (u_char *) a->elts + a->size * a->nelts;
    a->nelts++;

    return elt;
}


ngx_int_t
ngx_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    ngx_uint_t  c1, c2;

    while (n) {
        c1 = (ngx_uint_t) *s1++;
        c2 = (ngx_uint_t) *s2++;

        c1 = (c1 >= 'A' && c1 <= 'Z') ? (c1 | 0x20) : c1;
        c2 = (c2 >= 'A' && c2 <= 'Z') ? (c2 | 0x20) : c2;

        if (c1 == c2) {
            if (c1) {
                n--;
                continue;
            }

            return 0;
        }

        return c1 - c2;
    }

    return 0;
}


/* nginx's, lowercase */

u_char *
ngx_hex_dump(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}


/* nginx's encoder without padding, written from RFC 4648 section 5 */

void
ngx_encode_base64url(ngx_str_t *dst, ngx_str_t *src)
{
    size_t     i;
    u_char    *d;
    uint32_t   v;

    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    d = dst->data;

    for (i = 0; i < src->len; i += 3) {
        v = (uint32_t) src->data[i] << 16;

        if (i + 1 < src->len) {
            v |= (uint32_t) src->data[i + 1] << 8;
        }

        if (i + 2 < src->len) {
            v |= src->data[i + 2];
        }

        *d++ = alphabet[v >> 18];
        *d++ = alphabet[(v >> 12) & 0x3f];

        if (i + 1 < src->len) {
            *d++ = alphabet[(v >> 6) & 0x3f];
        }

        if (i + 2 < src->len) {
            *d++ = alphabet[v & 0x3f];
        }
    }

    dst->len = d - dst->data;
}


/* nginx's decoder: stops at "=", refuses other non-alphabet bytes */

ngx_int_t
ngx_decode_base64url(ngx_str_t *dst, ngx_str_t *src)
{
    size_t   len;
    u_char  *d, *s;

    for (len = 0; len < src->len; len++) {
        if (src->data[len] == '=') {
            break;
        }

        if (ngx_shim_basis64url[src->data[len]] == 77) {
            return NGX_ERROR;
        }
    }

    if (len % 4 == 1) {
        return NGX_ERROR;
    }

    s = src->data;
    d = dst->data;

    while (len > 3) {
        *d++ = (u_char) (ngx_shim_basis64url[s[0]] << 2
                         | ngx_shim_basis64url[s[1]] >> 4);
        *d++ = (u_char) (ngx_shim_basis64url[s[1]] << 4
                         | ngx_shim_basis64url[s[2]] >> 2);
        *d++ = (u_char) (ngx_shim_basis64url[s[2]] << 6
                         | ngx_shim_basis64url[s[3]]);

        s += 4;
        len -= 4;
    }

    if (len > 1) {
        *d++ = (u_char) (ngx_shim_basis64url[s[0]] << 2
                         | ngx_shim_basis64url[s[1]] >> 4);
    }

    if (len > 2) {
        *d++ = (u_char) (ngx_shim_basis64url[s[1]] << 4
                         | ngx_shim_basis64url[s[2]] >> 2);
    }

    dst->len = d - dst->data;

    return NGX_OK;
}


/*
 * The formats the module's parsers use: %d %i %ui %L %D %M %T %s %V %Z %%,
 * with nginx's zero padding, width and hex ("%08xD"); anything else
 * aborts, so that a new one is noticed here first.
 */

u_char *
ngx_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args)
{
    int          n, width;
    char         num[NGX_INT64_LEN + 2], spec[16];
    long long    val;
    size_t       len;
    u_char      *s;
    ngx_str_t   *v;
    ngx_uint_t   sign, hex, zero;

    while (*fmt && buf < last) {

        if (*fmt != '%') {
            *buf++ = *fmt++;
            continue;
        }

        fmt++;
        zero = (*fmt == '0');
        width = 0;
        sign = 1;
        hex = 0;

        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }

        if (*fmt == 'u') {
            sign = 0;
            fmt++;
        }

        if (*fmt == 'x') {
            sign = 0;
            hex = 1;
            fmt++;
        }

        switch (*fmt++) {

        case 'd':
            val = sign ? (long long) va_arg(args, int)
                       : (long long) va_arg(args, u_int);
            break;

        case 'i':
            val = sign ? (long long) va_arg(args, ngx_int_t)
                       : (long long) va_arg(args, ngx_uint_t);
            break;

        case 'L':
            val = (long long) va_arg(args, int64_t);
            break;

        case 'D':
            val = sign ? (long long) va_arg(args, int32_t)
                       : (long long) va_arg(args, uint32_t);
            break;

        case 'M':
            val = (long long) va_arg(args, ngx_msec_t);
            break;

        case 'T':
            val = (long long) va_arg(args, time_t);
            break;

        case 's':
            s = va_arg(args, u_char *);
            len = ngx_min((size_t) (last - buf), ngx_strlen(s));
            buf = ngx_cpymem(buf, s, len);
            continue;

        case 'V':
            v = va_arg(args, ngx_str_t *);
            len = ngx_min((size_t) (last - buf), v->len);
            buf = ngx_cpymem(buf, v->data, len);
            continue;

        case 'Z':
            *buf++ = '\0';
            continue;

        case '%':
            *buf++ = '%';
            continue;

        default:
            fprintf(stderr, "ngx_shim: unsupported format in \"%s\"\n", fmt);
            abort();
        }

        snprintf(spec, sizeof(spec), "%%%s%d%s", zero ? "0" : "", width,
                 hex ? "llx" : (sign ? "lld" : "llu"));
        n = snprintf(num, sizeof(num), spec, val);

        len = ngx_min((size_t) (last - buf), (size_t) n);
        buf = ngx_cpymem(buf, num, len);
    }

    return buf;
}


u_char * ngx_cdecl
ngx_slprintf(u_char *buf, u_char *last, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, last, fmt, args);
    va_end(args);

    return p;
}


u_char * ngx_cdecl
ngx_sprintf(u_char *buf, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, (void *) -1, fmt, args);
    va_end(args);

    return p;
}


void ngx_cdecl
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   text[NGX_MAX_ERROR_STR], *p;
    va_list  args;

    va_start(args, fmt);
    p = ngx_vslprintf(text, text + sizeof(text) - 1, fmt, args);
    va_end(args);

    *p = '\0';

    fprintf(stderr, "[%lu] %s (%d)\n", (unsigned long) level, text, err);
}


/* formatted like nginx's, and dropped: the fuzzers refuse input on purpose */

void ngx_cdecl
ngx_conf_log_error(ngx_uint_t level, ngx_conf_t *cf, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   text[NGX_MAX_CONF_ERRSTR];
    va_list  args;

    va_start(args, fmt);
    (void) ngx_vslprintf(text, text + sizeof(text), fmt, args);
    va_end(args);
}


/* addresses without ports, the only way the module asks for them */

size_t
ngx_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text,
    size_t len, ngx_uint_t port)
{
    char         buf[NGX_INET6_ADDRSTRLEN + 1];
    const void  *addr;

    if (port) {
        fprintf(stderr, "ngx_shim: ngx_sock_ntop() with a port\n");
        abort();
    }

    addr = (sa->sa_family == AF_INET6)
           ? (const void *) &((struct sockaddr_in6 *) sa)->sin6_addr
           : (const void *) &((struct sockaddr_in *) sa)->sin_addr;

    if (inet_ntop(sa->sa_family, addr, buf, sizeof(buf)) == NULL) {
        return 0;
    }

    len = ngx_min(len, ngx_strlen(buf));
    ngx_memcpy(text, buf, len);

    return len;
}


/* nginx's nibble-wise CRC32 table (src/core/ngx_crc32.c): ngx_crc32_short */
static uint32_t  ngx_shim_crc32_table16[] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
    0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c
};

uint32_t  *ngx_crc32_table_short = ngx_shim_crc32_table16;


/*
 * The metrics live in a shared zone the fuzzers never make: the module's
 * own ngx_http_users_metrics_add() does nothing without one, and so does
 * this stand-in for it.
 */
void
ngx_http_users_metrics_add(ngx_http_users_metric_e metric, ngx_int_t n)
{
    (void) metric;
    (void) n;
}
