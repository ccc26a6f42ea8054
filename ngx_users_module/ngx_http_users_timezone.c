
/*
 * Copyright (C) ngx_users authors
 *
 * IANA time zone names: the names of tzdata, read once per configuration,
 * or their syntax alone when tzdata is missing.
 */


#include "ngx_http_users_module.h"


#define NGX_HTTP_USERS_TZDATA        "/usr/share/zoneinfo/tzdata.zi"
#define NGX_HTTP_USERS_TZ_FALLBACK                                            \
    ", time zone names are checked for their syntax only"

/* tzdata names about 600 zones and links */
#define NGX_HTTP_USERS_ZONES_SIZE    1024


static ngx_int_t ngx_http_users_timezones_read(ngx_cycle_t *cycle,
    ngx_str_t *text);
static ngx_uint_t ngx_http_users_timezone_syntax(ngx_str_t *value);
static int ngx_libc_cdecl ngx_http_users_timezone_cmp(const void *one,
    const void *two);


static ngx_http_users_violation_t  ngx_http_users_bad_timezone = {
    "not an IANA time zone name", "value_error"
};


/* the zone names of tzdata, sorted; NULL when the file could not be read */
static ngx_str_t   *ngx_http_users_zones;
static ngx_uint_t   ngx_http_users_nzones;


ngx_http_users_violation_t *
ngx_http_users_check_timezone(ngx_str_t *value)
{
    int         rc;
    ngx_uint_t  lo, hi, mid;

    if (value->len == 3 && ngx_strncmp(value->data, "UTC", 3) == 0) {
        return NULL;
    }

    if (ngx_http_users_zones == NULL) {
        return ngx_http_users_timezone_syntax(value)
               ? NULL : &ngx_http_users_bad_timezone;
    }

    lo = 0;
    hi = ngx_http_users_nzones;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        rc = ngx_http_users_timezone_cmp(value, &ngx_http_users_zones[mid]);

        if (rc == 0) {
            return NULL;
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return &ngx_http_users_bad_timezone;
}


/*
 * Run in the master at start and at each reload: the names live in the
 * cycle's pool, and workers inherit them.  Without tzdata the names are
 * only checked for their syntax, which a warning says.
 */

ngx_int_t
ngx_http_users_timezones_load(ngx_cycle_t *cycle)
{
    u_char       *p, *last, *eol, *name, *end;
    ngx_int_t     rc;
    ngx_str_t     text, *zone;
    ngx_array_t   zones;

    ngx_http_users_zones = NULL;
    ngx_http_users_nzones = 0;
    ngx_str_null(&text);

    rc = ngx_http_users_timezones_read(cycle, &text);

    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
    }

    if (ngx_array_init(&zones, cycle->pool, NGX_HTTP_USERS_ZONES_SIZE,
                       sizeof(ngx_str_t))
        != NGX_OK)
    {
        goto failed;
    }

    /* "Z name ..." lines name zones, "L target name" lines name links */

    last = text.data + text.len;

    for (p = text.data; p < last; p = eol + 1) {

        /* the text ends with LF */
        eol = ngx_strlchr(p, last, LF);

        if (eol - p < 2 || p[1] != ' ' || (p[0] != 'Z' && p[0] != 'L')) {
            continue;
        }

        name = p + 2;

        if (p[0] == 'L') {
            name = ngx_strlchr(name, eol, ' ');

            if (name == NULL) {
                continue;
            }

            name++;
        }

        end = ngx_strlchr(name, eol, ' ');
        if (end == NULL) {
            end = eol;
        }

        if (end == name) {
            continue;
        }

        zone = ngx_array_push(&zones);
        if (zone == NULL) {
            goto failed;
        }

        zone->len = end - name;
        zone->data = ngx_pnalloc(cycle->pool, zone->len);
        if (zone->data == NULL) {
            goto failed;
        }

        ngx_memcpy(zone->data, name, zone->len);
    }

    ngx_pfree(cycle->pool, text.data);

    if (zones.nelts == 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "no zone names in \"" NGX_HTTP_USERS_TZDATA "\""
                      NGX_HTTP_USERS_TZ_FALLBACK);
        return NGX_OK;
    }

    ngx_qsort(zones.elts, zones.nelts, sizeof(ngx_str_t),
              ngx_http_users_timezone_cmp);

    ngx_http_users_zones = zones.elts;
    ngx_http_users_nzones = zones.nelts;

    return NGX_OK;

failed:

    ngx_pfree(cycle->pool, text.data);

    return NGX_ERROR;
}


/* the file with an LF appended, so that every line ends with one */

static ngx_int_t
ngx_http_users_timezones_read(ngx_cycle_t *cycle, ngx_str_t *text)
{
    size_t           size;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_int_t        rc;
    ngx_file_info_t  fi;

    fd = ngx_open_file(NGX_HTTP_USERS_TZDATA, NGX_FILE_RDONLY,
                       NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      ngx_open_file_n " \"" NGX_HTTP_USERS_TZDATA "\" failed"
                      NGX_HTTP_USERS_TZ_FALLBACK);
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      ngx_fd_info_n " \"" NGX_HTTP_USERS_TZDATA "\" failed"
                      NGX_HTTP_USERS_TZ_FALLBACK);
        goto close;
    }

    size = (size_t) ngx_file_size(&fi);

    text->data = ngx_pnalloc(cycle->pool, size + 1);
    if (text->data == NULL) {
        rc = NGX_ERROR;
        goto close;
    }

    n = ngx_read_fd(fd, text->data, size);

    if (n != (ssize_t) size) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      ngx_read_fd_n " \"" NGX_HTTP_USERS_TZDATA "\" failed"
                      NGX_HTTP_USERS_TZ_FALLBACK);
        ngx_pfree(cycle->pool, text->data);
        goto close;
    }

    text->data[size] = LF;
    text->len = size + 1;

    rc = NGX_OK;

close:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      ngx_close_file_n " \"" NGX_HTTP_USERS_TZDATA "\" failed");
    }

    return rc;
}


/* the rules of tzdata's Theory file, when tzdata itself is missing */

static ngx_uint_t
ngx_http_users_timezone_syntax(ngx_str_t *value)
{
    u_char  *p, *last, *part;

    p = value->data;
    last = p + value->len;

    for (part = p; /* void */ ; p++) {

        if (p == last || *p == '/') {
            if (p == part || *part == '-' || *part == '.') {
                return 0;
            }

            if (p == last) {
                return 1;
            }

            part = p + 1;
            continue;
        }

        if (!ngx_http_users_is_alnum(*p)
            && *p != '.' && *p != '_' && *p != '+' && *p != '-')
        {
            return 0;
        }
    }
}


static int ngx_libc_cdecl
ngx_http_users_timezone_cmp(const void *one, const void *two)
{
    int         rc;
    ngx_str_t  *a, *b;

    a = (ngx_str_t *) one;
    b = (ngx_str_t *) two;

    rc = ngx_memcmp(a->data, b->data, ngx_min(a->len, b->len));

    if (rc != 0) {
        return rc;
    }

    return (a->len < b->len) ? -1 : (a->len > b->len);
}
