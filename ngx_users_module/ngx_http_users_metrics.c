
/*
 * Copyright (C) ngx_users authors
 *
 * Prometheus metrics from a shared memory zone.  Every series is a fixed
 * slot (route x method x status, and so on), so the cardinality is known
 * at configuration and a worker records a request with a few atomic
 * additions, without a lock.  Each worker adds to a block of its own, on
 * cache lines no other worker writes: workers adding to the same lines on
 * every request made the cores trade them.  A scrape answered by any
 * worker sums the blocks; a reload that keeps the zone's name and size
 * keeps the counts.
 */


#include "ngx_http_users_module.h"


/* the status codes the module and nginx answer; others count as a class */
static ngx_uint_t  ngx_http_users_metrics_codes[] = {
    200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 408, 409, 413,
    414, 415, 422, 429, 431, 444, 494, 499, 500, 502, 503, 504
};

#define NGX_HTTP_USERS_METRICS_EXACT                                          \
    (sizeof(ngx_http_users_metrics_codes) / sizeof(ngx_uint_t))

/* the exact codes, then 1xx to 5xx */
#define NGX_HTTP_USERS_METRICS_CODES  (NGX_HTTP_USERS_METRICS_EXACT + 5)


static ngx_str_t  ngx_http_users_metrics_methods[] = {
    ngx_string("GET"), ngx_string("HEAD"), ngx_string("POST"),
    ngx_string("PUT"), ngx_string("DELETE"), ngx_string("PATCH"),
    ngx_string("OPTIONS"), ngx_string("OTHER")
};

#define NGX_HTTP_USERS_METRICS_METHODS                                        \
    (sizeof(ngx_http_users_metrics_methods) / sizeof(ngx_str_t))


/* upper bounds in microseconds; the durations themselves are in ms */
static ngx_uint_t  ngx_http_users_metrics_bounds[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000
};

static char  *ngx_http_users_metrics_les[] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5", "1", "2.5", "5"
};

#define NGX_HTTP_USERS_METRICS_BOUNDS                                         \
    (sizeof(ngx_http_users_metrics_bounds) / sizeof(ngx_uint_t))

/* the bounds, then +Inf */
#define NGX_HTTP_USERS_METRICS_BUCKETS  (NGX_HTTP_USERS_METRICS_BOUNDS + 1)

_Static_assert(sizeof(ngx_http_users_metrics_les) / sizeof(char *)
               == NGX_HTTP_USERS_METRICS_BOUNDS,
               "a le label per bucket bound");


/* the series of ngx_http_users_metric_e, in the order they are printed */
typedef struct {
    ngx_http_users_metric_e    metric;
    char                      *name;
    char                      *type;
    char                      *help;
    char                      *labels;
} ngx_http_users_metrics_scalar_t;


static ngx_http_users_metrics_scalar_t  ngx_http_users_metrics_scalars[] = {
    { NGX_HTTP_USERS_METRIC_LOGIN_SUCCESS, "users_logins_total", "counter",
      "Login attempts by result.", "{result=\"success\"}" },
    { NGX_HTTP_USERS_METRIC_LOGIN_FAILURE, "users_logins_total", "counter",
      "Login attempts by result.", "{result=\"failure\"}" },
    { NGX_HTTP_USERS_METRIC_LOGIN_THROTTLED, "users_logins_total", "counter",
      "Login attempts by result.", "{result=\"throttled\"}" },
    { NGX_HTTP_USERS_METRIC_HASHING, "users_password_hashes_in_flight",
      "gauge", "Argon2id hashes and verifies on the thread pool.", "" },
    { NGX_HTTP_USERS_METRIC_PG_CONNECTING, "users_pg_connections_connecting",
      "gauge", "PostgreSQL connections being opened.", "" },
    { NGX_HTTP_USERS_METRIC_PG_PREPARING, "users_pg_connections_preparing",
      "gauge", "PostgreSQL connections preparing their statements.", "" },
    { NGX_HTTP_USERS_METRIC_PG_IDLE, "users_pg_connections_idle",
      "gauge", "PostgreSQL connections ready for a query.", "" },
    { NGX_HTTP_USERS_METRIC_PG_BUSY, "users_pg_connections_busy",
      "gauge", "PostgreSQL connections running a query.", "" },
    { NGX_HTTP_USERS_METRIC_PG_BACKOFF, "users_pg_connections_backoff",
      "gauge", "PostgreSQL connections waiting to reconnect.", "" },
    { NGX_HTTP_USERS_METRIC_PG_WAITING, "users_pg_requests_waiting",
      "gauge", "Queries waiting for a PostgreSQL connection.", "" },
    { NGX_HTTP_USERS_METRIC_PG_ERRORS, "users_pg_errors_total", "counter",
      "Queries that got no result or an error from PostgreSQL.", "" },
    { NGX_HTTP_USERS_METRIC_TOKEN_HIT, "users_token_cache_hits_total",
      "counter", "Bearer tokens found in the worker's cache.", "" },
    { NGX_HTTP_USERS_METRIC_TOKEN_MISS, "users_token_cache_misses_total",
      "counter", "Bearer tokens verified in full.", "" },
    { NGX_HTTP_USERS_METRIC_GUARD_ALLOWED, "users_guard_requests_total",
      "counter", "Requests users_auth decided on, by result.",
      "{result=\"allowed\"}" },
    { NGX_HTTP_USERS_METRIC_GUARD_UNAUTHORIZED, "users_guard_requests_total",
      "counter", "Requests users_auth decided on, by result.",
      "{result=\"unauthorized\"}" },
    { NGX_HTTP_USERS_METRIC_GUARD_FORBIDDEN, "users_guard_requests_total",
      "counter", "Requests users_auth decided on, by result.",
      "{result=\"forbidden\"}" },
    { NGX_HTTP_USERS_METRIC_GUARD_FAILED, "users_guard_requests_total",
      "counter", "Requests users_auth decided on, by result.",
      "{result=\"error\"}" },
    { NGX_HTTP_USERS_METRIC_GUARD_CHECKS, "users_guard_database_checks_total",
      "counter", "Users whose state users_auth read from PostgreSQL.", "" },
    { NGX_HTTP_USERS_METRIC_REVOCATION_CHANGES,
      "users_revocation_changes_total", "counter",
      "Changes of users' token state and ended sessions applied to the "
      "shared state.", "" },
    { NGX_HTTP_USERS_METRIC_LISTENERS_IN_STEP,
      "users_revocation_listeners_in_step", "gauge",
      "Workers whose revocation listener is in step with PostgreSQL.", "" },
    { NGX_HTTP_USERS_METRIC_REFRESH_ROTATED, "users_session_refreshes_total",
      "counter", "Refresh token presentations by result.",
      "{result=\"rotated\"}" },
    { NGX_HTTP_USERS_METRIC_REFRESH_GRACE, "users_session_refreshes_total",
      "counter", "Refresh token presentations by result.",
      "{result=\"grace\"}" },
    { NGX_HTTP_USERS_METRIC_REFRESH_REUSED, "users_session_refreshes_total",
      "counter", "Refresh token presentations by result.",
      "{result=\"reused\"}" },
    { NGX_HTTP_USERS_METRIC_REFRESH_INVALID, "users_session_refreshes_total",
      "counter", "Refresh token presentations by result.",
      "{result=\"invalid\"}" }
};

#define NGX_HTTP_USERS_METRICS_SCALARS                                        \
    (sizeof(ngx_http_users_metrics_scalars)                                   \
     / sizeof(ngx_http_users_metrics_scalar_t))


/*
 * A block of counters, as words: the scalars, then per route and method
 * the requests by code, the histogram's buckets (not cumulative: the
 * scrape adds them up, so a bucket never reads above the count) and the
 * sum in milliseconds.  The counters point into a worker's block in the
 * zone, or into a scrape's sum of them all.
 */

typedef struct {
    ngx_uint_t                 nroutes;
    ngx_atomic_t              *scalar;
    ngx_atomic_t              *requests;
    ngx_atomic_t              *buckets;
    ngx_atomic_t              *sum_ms;
} ngx_http_users_metrics_counters_t;


/* blocks start this far apart, so that no two share a cache line pair */
#define NGX_HTTP_USERS_METRICS_ALIGN  128


typedef struct {
    ngx_uint_t                 nroutes;    /* the layout, checked at reload */
    ngx_uint_t                 ncodes;
    ngx_uint_t                 nbuckets;
    ngx_uint_t                 nblocks;    /* fewer than the workers when
                                              the zone is small */
    size_t                     stride;     /* bytes from block to block */
    u_char                    *blocks;
} ngx_http_users_metrics_sh_t;


typedef struct {
    ngx_http_users_metrics_sh_t  *sh;
    ngx_slab_pool_t              *shpool;
    ngx_cycle_t                  *cycle;    /* its worker_processes */
} ngx_http_users_metrics_ctx_t;


static ngx_int_t ngx_http_users_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_users_metrics_nroutes(void);
static size_t ngx_http_users_metrics_words(ngx_uint_t nroutes);
static void ngx_http_users_metrics_layout(
    ngx_http_users_metrics_counters_t *counters, ngx_atomic_t *words,
    ngx_uint_t nroutes);
static ngx_uint_t ngx_http_users_metrics_method(ngx_uint_t method);
static ngx_uint_t ngx_http_users_metrics_code(ngx_uint_t status);
static void ngx_http_users_metrics_code_text(ngx_uint_t i, u_char *buf);
static size_t ngx_http_users_metrics_size(
    ngx_http_users_metrics_counters_t *snap);
static ngx_uint_t ngx_http_users_metrics_observed(
    ngx_http_users_metrics_counters_t *snap, ngx_uint_t pair);
static u_char *ngx_http_users_metrics_render(u_char *p,
    ngx_http_users_metrics_counters_t *snap);


/* the zone, for a scrape: NULL when metrics are off */
static ngx_http_users_metrics_sh_t  *ngx_http_users_metrics_sh;

/* this worker's block, the one it adds to */
static ngx_http_users_metrics_counters_t  ngx_http_users_metrics_mine;

/* a successful login is auth_login's 200, and so on: no hook in its steps */
static ngx_str_t  ngx_http_users_metrics_login = ngx_string("auth_login");


/* users_metrics: this location answers the scrape */

char *
ngx_http_users_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_users_main_conf_t  *umcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_users_metrics_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_users_metrics_handler;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);
    umcf->metrics = 1;

    return NGX_CONF_OK;
}


/* users_metrics_zone NAME SIZE */

char *
ngx_http_users_metrics_zone_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (umcf->metrics_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid users_metrics_zone size \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    return ngx_http_users_metrics_zone(cf, umcf, &value[1], size);
}


char *
ngx_http_users_metrics_zone(ngx_conf_t *cf, ngx_http_users_main_conf_t *umcf,
    ngx_str_t *name, ssize_t size)
{
    ngx_http_users_metrics_ctx_t  *ctx;

    static ngx_str_t  default_name = ngx_string("users_metrics");

    if (name == NULL) {
        name = &default_name;
        size = 1024 * 1024;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "users_metrics_zone \"%V\" is too small", name);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_metrics_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    umcf->metrics_zone = ngx_shared_memory_add(cf, name, size,
                                               &ngx_http_users_module);
    if (umcf->metrics_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (umcf->metrics_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", name);
        return NGX_CONF_ERROR;
    }

    ctx->cycle = cf->cycle;

    umcf->metrics_zone->init = ngx_http_users_metrics_init_zone;
    umcf->metrics_zone->data = ctx;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_users_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_users_metrics_ctx_t  *octx = data;

    size_t                         len, stride;
    ngx_uint_t                     nroutes, workers, n;
    ngx_core_conf_t               *ccf;
    ngx_http_users_metrics_sh_t   *sh;
    ngx_http_users_metrics_ctx_t  *ctx;

    ctx = shm_zone->data;
    nroutes = ngx_http_users_metrics_nroutes();

    /* the core module's configuration is complete before any zone's */
    ccf = (ngx_core_conf_t *) ngx_get_conf(ctx->cycle->conf_ctx,
                                           ngx_core_module);
    workers = ngx_max(ccf->worker_processes, 1);

    if (octx) {
        ctx->shpool = octx->shpool;
        sh = octx->sh;

    } else {
        ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
        sh = shm_zone->shm.exists ? ctx->shpool->data : NULL;
    }

    /*
     * A reload keeps the counts, unless a new module has other routes;
     * more workers than before share the blocks there are.
     */

    if (sh && sh->nroutes == nroutes
        && sh->ncodes == NGX_HTTP_USERS_METRICS_CODES
        && sh->nbuckets == NGX_HTTP_USERS_METRICS_BUCKETS)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, shm_zone->shm.log, 0,
                       "users metrics: zone \"%V\" kept, %ui blocks",
                       &shm_zone->shm.name, sh->nblocks);

        if (sh->nblocks < workers) {
            ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                          "users_metrics_zone \"%V\" keeps its %ui blocks "
                          "of counters, which %ui workers share until a "
                          "restart", &shm_zone->shm.name, sh->nblocks,
                          workers);
        }

        ctx->sh = sh;
        return NGX_OK;
    }

    stride = ngx_align(ngx_http_users_metrics_words(nroutes)
                       * sizeof(ngx_atomic_t),
                       NGX_HTTP_USERS_METRICS_ALIGN);

    /*
     * A block a worker if the zone holds them, else as many as it does,
     * which workers share.  The old layout is not freed: the workers a
     * reload replaces still count into it until they exit.
     */

    /* the tries that do not fit are no failure worth a line each */
    ctx->shpool->log_nomem = 0;

    for (n = workers; n > 0; n--) {
        len = sizeof(ngx_http_users_metrics_sh_t)
              + NGX_HTTP_USERS_METRICS_ALIGN + n * stride;

        sh = ngx_slab_calloc(ctx->shpool, len);
        if (sh) {
            break;
        }
    }

    ctx->shpool->log_nomem = 1;

    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "users_metrics_zone \"%V\" is too small for %uz bytes",
                      &shm_zone->shm.name,
                      sizeof(ngx_http_users_metrics_sh_t)
                      + NGX_HTTP_USERS_METRICS_ALIGN + stride);
        return NGX_ERROR;
    }

    if (n < workers) {
        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "users_metrics_zone \"%V\" holds the counters of %ui "
                      "of %ui workers, which share them; %uz bytes more "
                      "give each its own", &shm_zone->shm.name, n, workers,
                      (workers - n) * stride);
    }

    sh->nroutes = nroutes;
    sh->ncodes = NGX_HTTP_USERS_METRICS_CODES;
    sh->nbuckets = NGX_HTTP_USERS_METRICS_BUCKETS;
    sh->nblocks = n;
    sh->stride = stride;
    sh->blocks = ngx_align_ptr(sh + 1, NGX_HTTP_USERS_METRICS_ALIGN);

    ctx->sh = sh;
    ctx->shpool->data = sh;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_users_metrics_nroutes(void)
{
    ngx_uint_t  n;

    for (n = 0; ngx_http_users_routes[n].methods; n++) {
        /* void */
    }

    return n;
}


/* the words of a block: the scalars, then the routes' series */

static size_t
ngx_http_users_metrics_words(ngx_uint_t nroutes)
{
    return NGX_HTTP_USERS_METRIC_N
           + nroutes * NGX_HTTP_USERS_METRICS_METHODS
             * (NGX_HTTP_USERS_METRICS_CODES
                + NGX_HTTP_USERS_METRICS_BUCKETS + 1);
}


static void
ngx_http_users_metrics_layout(ngx_http_users_metrics_counters_t *counters,
    ngx_atomic_t *words, ngx_uint_t nroutes)
{
    ngx_uint_t  n;

    n = nroutes * NGX_HTTP_USERS_METRICS_METHODS;

    counters->nroutes = nroutes;
    counters->scalar = words;
    counters->requests = words + NGX_HTTP_USERS_METRIC_N;
    counters->buckets = counters->requests + n * NGX_HTTP_USERS_METRICS_CODES;
    counters->sum_ms = counters->buckets + n * NGX_HTTP_USERS_METRICS_BUCKETS;
}


ngx_int_t
ngx_http_users_metrics_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf)
{
    ngx_http_users_metrics_ctx_t  *ctx;

    if (umcf->metrics_zone == NULL) {
        ngx_http_users_metrics_sh = NULL;
        return NGX_OK;
    }

    ctx = umcf->metrics_zone->data;
    ngx_http_users_metrics_sh = ctx->sh;

    /*
     * Workers a reload starts share a block with those it replaces, by
     * number: the additions are atomic, so both count right meanwhile.
     */

    ngx_http_users_metrics_layout(&ngx_http_users_metrics_mine,
                                  (ngx_atomic_t *)
                                  (ctx->sh->blocks
                                   + (ngx_worker % ctx->sh->nblocks)
                                     * ctx->sh->stride),
                                  ctx->sh->nroutes);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "users metrics: worker %ui adds to block %ui",
                   ngx_worker, ngx_worker % ctx->sh->nblocks);

    return NGX_OK;
}


void
ngx_http_users_metrics_add(ngx_http_users_metric_e metric, ngx_int_t n)
{
    if (ngx_http_users_metrics_sh) {
        (void) ngx_atomic_fetch_add(&ngx_http_users_metrics_mine.scalar[metric],
                                    n);
    }
}


/*
 * One request of a route, with its final status: called once per request
 * (ngx_http_users_request.c), so its duration is nginx's $request_time.
 */

void
ngx_http_users_metrics_request(ngx_http_request_t *r,
    ngx_http_users_route_t *route, ngx_uint_t status)
{
    ngx_uint_t                          i, b, us;
    ngx_msec_int_t                      ms;
    ngx_time_t                         *tp;
    ngx_http_users_metrics_counters_t  *mine;

    if (ngx_http_users_metrics_sh == NULL) {
        return;
    }

    mine = &ngx_http_users_metrics_mine;

    tp = ngx_timeofday();

    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);
    us = (ngx_uint_t) ms * 1000;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users metrics: \"%V\" \"%V\" %ui in %M ms",
                   &route->name, &r->method_name, status, ms);

    i = (route - ngx_http_users_routes) * NGX_HTTP_USERS_METRICS_METHODS
        + ngx_http_users_metrics_method(r->method);

    (void) ngx_atomic_fetch_add(
               &mine->requests[i * NGX_HTTP_USERS_METRICS_CODES
                               + ngx_http_users_metrics_code(status)],
               1);

    for (b = 0; b < NGX_HTTP_USERS_METRICS_BOUNDS; b++) {
        if (us <= ngx_http_users_metrics_bounds[b]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(
               &mine->buckets[i * NGX_HTTP_USERS_METRICS_BUCKETS + b], 1);
    (void) ngx_atomic_fetch_add(&mine->sum_ms[i], ms);

    if (route->name.len != ngx_http_users_metrics_login.len
        || ngx_strncmp(route->name.data, ngx_http_users_metrics_login.data,
                       route->name.len)
           != 0)
    {
        return;
    }

    switch (status) {

    case NGX_HTTP_OK:
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_LOGIN_SUCCESS, 1);
        break;

    case NGX_HTTP_UNAUTHORIZED:
    case NGX_HTTP_FORBIDDEN:
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_LOGIN_FAILURE, 1);
        break;

    case NGX_HTTP_TOO_MANY_REQUESTS:
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_LOGIN_THROTTLED, 1);
        break;

    default:
        /* a 422 or a 503 is no attempt at a password */
        break;
    }
}


static ngx_uint_t
ngx_http_users_metrics_method(ngx_uint_t method)
{
    switch (method) {

    case NGX_HTTP_GET:
        return 0;

    case NGX_HTTP_HEAD:
        return 1;

    case NGX_HTTP_POST:
        return 2;

    case NGX_HTTP_PUT:
        return 3;

    case NGX_HTTP_DELETE:
        return 4;

    case NGX_HTTP_PATCH:
        return 5;

    case NGX_HTTP_OPTIONS:
        return 6;

    default:
        /* any other name a client sends is one series, not one each */
        return 7;
    }
}


static ngx_uint_t
ngx_http_users_metrics_code(ngx_uint_t status)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_USERS_METRICS_EXACT; i++) {
        if (ngx_http_users_metrics_codes[i] == status) {
            return i;
        }
    }

    if (status < 100 || status > 599) {
        status = 500;
    }

    return NGX_HTTP_USERS_METRICS_EXACT + status / 100 - 1;
}


/* the code label of slot i: "404", or a class, "4xx"; buf has 4 bytes */

static void
ngx_http_users_metrics_code_text(ngx_uint_t i, u_char *buf)
{
    if (i < NGX_HTTP_USERS_METRICS_EXACT) {
        (void) ngx_sprintf(buf, "%03ui", ngx_http_users_metrics_codes[i]);

    } else {
        (void) ngx_sprintf(buf, "%uixx", i - NGX_HTTP_USERS_METRICS_EXACT + 1);
    }

    buf[3] = '\0';
}


/* GET /metrics: the sum of the blocks, then the text from the sum */

ngx_int_t
ngx_http_users_metrics_handler(ngx_http_request_t *r)
{
    size_t                              size, words, i;
    u_char                             *p;
    ngx_int_t                           rc;
    ngx_buf_t                          *b;
    ngx_uint_t                          k;
    ngx_chain_t                         out;
    ngx_atomic_t                       *sum, *block;
    ngx_http_users_metrics_sh_t        *sh;
    ngx_http_users_metrics_counters_t   snap;

    static ngx_str_t  type =
        ngx_string("text/plain; version=0.0.4; charset=utf-8");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    sh = ngx_http_users_metrics_sh;
    if (sh == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    words = ngx_http_users_metrics_words(sh->nroutes);

    sum = ngx_pcalloc(r->pool, words * sizeof(ngx_atomic_t));
    if (sum == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* word by word: each counter is read whole, none is held still */
    for (k = 0; k < sh->nblocks; k++) {
        block = (ngx_atomic_t *) (sh->blocks + k * sh->stride);

        for (i = 0; i < words; i++) {
            sum[i] += block[i];
        }
    }

    ngx_http_users_metrics_layout(&snap, sum, sh->nroutes);

    size = ngx_http_users_metrics_size(&snap);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_http_users_metrics_render(b->last, &snap);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users metrics: %uz bytes of %uz", p - b->last, size);

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type = type;
    r->headers_out.content_type_len = type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* an upper bound of the text: a line per series, the longest numbers */

#define NGX_HTTP_USERS_METRICS_LINE                                           \
    (sizeof("users_http_request_duration_seconds_bucket{route=\"\","          \
            "method=\"OPTIONS\",le=\"0.0025\"} \n") + NGX_ATOMIC_T_LEN + 4)

#define NGX_HTTP_USERS_METRICS_HEAD  1024

static size_t
ngx_http_users_metrics_size(ngx_http_users_metrics_counters_t *snap)
{
    size_t      size;
    ngx_uint_t  i, c, n;

    size = 3 * NGX_HTTP_USERS_METRICS_HEAD
           + NGX_HTTP_USERS_METRICS_SCALARS
             * (NGX_HTTP_USERS_METRICS_HEAD + NGX_HTTP_USERS_METRICS_LINE);

    n = snap->nroutes * NGX_HTTP_USERS_METRICS_METHODS;

    for (i = 0; i < n; i++) {
        for (c = 0; c < NGX_HTTP_USERS_METRICS_CODES; c++) {
            if (snap->requests[i * NGX_HTTP_USERS_METRICS_CODES + c]) {
                size += NGX_HTTP_USERS_METRICS_LINE
                        + ngx_http_users_routes[
                              i / NGX_HTTP_USERS_METRICS_METHODS].name.len;
            }
        }

        /*
         * the buckets, _sum and _count of the pairs that have any: a bound
         * for every pair would be hundreds of kilobytes, a fresh mapping
         * for each scrape
         */

        if (ngx_http_users_metrics_observed(snap, i) == 0) {
            continue;
        }

        size += (NGX_HTTP_USERS_METRICS_BUCKETS + 2)
                * (NGX_HTTP_USERS_METRICS_LINE
                   + ngx_http_users_routes[
                         i / NGX_HTTP_USERS_METRICS_METHODS].name.len);
    }

    return size;
}


/* the requests a route and method pair has timed: 0, none of its series */

static ngx_uint_t
ngx_http_users_metrics_observed(ngx_http_users_metrics_counters_t *snap,
    ngx_uint_t pair)
{
    ngx_uint_t     b, count;
    ngx_atomic_t  *bucket;

    bucket = &snap->buckets[pair * NGX_HTTP_USERS_METRICS_BUCKETS];

    count = 0;
    for (b = 0; b < NGX_HTTP_USERS_METRICS_BUCKETS; b++) {
        count += bucket[b];
    }

    return count;
}


static u_char *
ngx_http_users_metrics_render(u_char *p,
    ngx_http_users_metrics_counters_t *snap)
{
    u_char                           code[4];
    char                            *last;
    ngx_str_t                       *route, *method;
    ngx_uint_t                       i, c, b, n, count;
    ngx_atomic_t                    *bucket;
    ngx_http_users_metrics_scalar_t *s;

    n = snap->nroutes * NGX_HTTP_USERS_METRICS_METHODS;

    p = ngx_sprintf(p,
            "# HELP users_http_requests_total API requests by route, "
            "method and status code.\n"
            "# TYPE users_http_requests_total counter\n");

    for (i = 0; i < n; i++) {
        route = &ngx_http_users_routes[i / NGX_HTTP_USERS_METRICS_METHODS].name;
        method = &ngx_http_users_metrics_methods[
                     i % NGX_HTTP_USERS_METRICS_METHODS];

        for (c = 0; c < NGX_HTTP_USERS_METRICS_CODES; c++) {
            count = snap->requests[i * NGX_HTTP_USERS_METRICS_CODES + c];
            if (count == 0) {
                continue;
            }

            ngx_http_users_metrics_code_text(c, code);

            p = ngx_sprintf(p, "users_http_requests_total{route=\"%V\","
                               "method=\"%V\",code=\"%s\"} %ui\n",
                            route, method, code, count);
        }
    }

    p = ngx_sprintf(p,
            "# HELP users_http_request_duration_seconds API request "
            "duration by route and method.\n"
            "# TYPE users_http_request_duration_seconds histogram\n");

    for (i = 0; i < n; i++) {
        if (ngx_http_users_metrics_observed(snap, i) == 0) {
            continue;
        }

        bucket = &snap->buckets[i * NGX_HTTP_USERS_METRICS_BUCKETS];

        route = &ngx_http_users_routes[i / NGX_HTTP_USERS_METRICS_METHODS].name;
        method = &ngx_http_users_metrics_methods[
                     i % NGX_HTTP_USERS_METRICS_METHODS];

        count = 0;

        for (b = 0; b < NGX_HTTP_USERS_METRICS_BUCKETS; b++) {
            count += bucket[b];
            p = ngx_sprintf(p, "users_http_request_duration_seconds_bucket"
                               "{route=\"%V\",method=\"%V\",le=\"%s\"} %ui\n",
                            route, method,
                            b < NGX_HTTP_USERS_METRICS_BOUNDS
                            ? ngx_http_users_metrics_les[b] : "+Inf",
                            count);
        }

        p = ngx_sprintf(p, "users_http_request_duration_seconds_sum"
                           "{route=\"%V\",method=\"%V\"} %ui.%03ui\n"
                           "users_http_request_duration_seconds_count"
                           "{route=\"%V\",method=\"%V\"} %ui\n",
                        route, method, (ngx_uint_t) snap->sum_ms[i] / 1000,
                        (ngx_uint_t) snap->sum_ms[i] % 1000,
                        route, method, count);
    }

    last = NULL;

    for (s = ngx_http_users_metrics_scalars;
         s < ngx_http_users_metrics_scalars + NGX_HTTP_USERS_METRICS_SCALARS;
         s++)
    {
        if (last == NULL || ngx_strcmp(last, s->name) != 0) {
            p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n",
                            s->name, s->help, s->name, s->type);
            last = s->name;
        }

        /* a gauge read while another worker moves it may dip below zero */
        p = ngx_sprintf(p, "%s%s %i\n", s->name, s->labels,
                        (ngx_int_t) snap->scalar[s->metric]);
    }

    return p;
}
