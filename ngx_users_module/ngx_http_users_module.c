
/*
 * Copyright (C) ngx_users authors
 *
 * Directives, configuration and process hooks of ngx_http_users_module.
 */


#include "ngx_http_users_module.h"
#include <malloc.h>
#include <sodium.h>


static ngx_int_t ngx_http_users_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_users_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_users_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_users_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_users_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_users_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_users_init_module(ngx_cycle_t *cycle);
static void ngx_http_users_json_free(void *p);
static ngx_int_t ngx_http_users_init_process(ngx_cycle_t *cycle);
static void ngx_http_users_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_users_pg_conninfo_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_users_pg_pool_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_jwt_secret_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_users_thread_pool_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_users_password_cost_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_users_login_throttle_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_users_first_superuser_set(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_users_request_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* nice values: an unprivileged worker may only lower its threads' priority */
static ngx_conf_num_bounds_t  ngx_http_users_password_priority_bounds = {
    ngx_conf_check_num_bounds, 0, 19
};


static ngx_command_t  ngx_http_users_commands[] = {

    { ngx_string("users_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_users_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_request_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, request_id),
      NULL },

    { ngx_string("users_audit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, audit),
      NULL },

    { ngx_string("users_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_users_guard_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, guard),
      NULL },

    { ngx_string("users_auth_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, state_size),
      NULL },

    { ngx_string("users_pg_conninfo"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_users_pg_conninfo_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_pg_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_users_pg_pool_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_pg_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, pg.connect_timeout),
      NULL },

    { ngx_string("users_pg_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, pg.query_timeout),
      NULL },

    { ngx_string("users_readyz_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, readyz_timeout),
      NULL },

    { ngx_string("users_jwt_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_users_jwt_secret_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_users_jwt_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_jwt_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, jwt_ttl),
      NULL },

    { ngx_string("users_refresh_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, refresh_ttl),
      NULL },

    { ngx_string("users_session_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, session_ttl),
      NULL },

    { ngx_string("users_refresh_grace"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, refresh_grace),
      NULL },

    { ngx_string("users_password_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_users_thread_pool_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_password_cost"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_users_password_cost_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_password_priority"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, pw_priority),
      &ngx_http_users_password_priority_bounds },

    { ngx_string("users_login_throttle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_users_login_throttle_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_first_superuser"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_users_first_superuser_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_users_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_users_metrics_zone_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_users_main_conf_t, max_body_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_users_module_ctx = {
    ngx_http_users_add_variables,          /* preconfiguration */
    ngx_http_users_postconfiguration,      /* postconfiguration */

    ngx_http_users_create_main_conf,       /* create main configuration */
    ngx_http_users_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_users_create_loc_conf,        /* create location configuration */
    ngx_http_users_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_users_module = {
    NGX_MODULE_V1,
    &ngx_http_users_module_ctx,            /* module context */
    ngx_http_users_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_users_init_module,            /* init module */
    ngx_http_users_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_users_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_users_request_id_name =
    ngx_string("users_request_id");


static ngx_int_t
ngx_http_users_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    /* cached: the access log and the header filter see one value */
    var = ngx_http_add_variable(cf, &ngx_http_users_request_id_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_users_request_id_variable;

    return ngx_http_users_ident_add_variables(cf);
}


static ngx_int_t
ngx_http_users_request_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  id;

    if (ngx_http_users_request_id(r, &id) != NGX_OK) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = id.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = id.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);

    umcf->request_id_index = ngx_http_get_variable_index(cf,
                                           &ngx_http_users_request_id_name);
    if (umcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ngx_http_users_guard_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_users_header_filter_init(cf);
}


static void *
ngx_http_users_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     umcf->pg.conninfo = { 0, NULL };
     *     umcf->jwt_secret = { 0, NULL };
     *     umcf->thread_pool = NULL;
     *     umcf->throttle_zone = NULL;
     *     umcf->metrics_zone = NULL;
     *     umcf->metrics = 0;
     *     umcf->su_email = { 0, NULL };
     *     umcf->enabled = 0;
     */

    umcf->pg.size = NGX_CONF_UNSET_UINT;
    umcf->pg.queue = NGX_CONF_UNSET_UINT;
    umcf->pg.queue_timeout = NGX_CONF_UNSET_MSEC;
    umcf->pg.connect_timeout = NGX_CONF_UNSET_MSEC;
    umcf->pg.query_timeout = NGX_CONF_UNSET_MSEC;
    umcf->pg.backoff_max = NGX_CONF_UNSET_MSEC;
    umcf->jwt_ttl = NGX_CONF_UNSET;
    umcf->refresh_ttl = NGX_CONF_UNSET;
    umcf->session_ttl = NGX_CONF_UNSET;
    umcf->refresh_grace = NGX_CONF_UNSET;
    umcf->pw_opslimit = NGX_CONF_UNSET_UINT;
    umcf->pw_memlimit = NGX_CONF_UNSET_SIZE;
    umcf->pw_priority = NGX_CONF_UNSET;
    umcf->throttle_failures = NGX_CONF_UNSET_UINT;
    umcf->throttle_window = NGX_CONF_UNSET;
    umcf->max_body_size = NGX_CONF_UNSET_SIZE;
    umcf->state_size = NGX_CONF_UNSET_SIZE;
    umcf->readyz_timeout = NGX_CONF_UNSET_MSEC;

    return umcf;
}


static char *
ngx_http_users_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ngx_conf_init_uint_value(umcf->pg.size, 8);
    ngx_conf_init_uint_value(umcf->pg.queue, 1024);
    ngx_conf_init_msec_value(umcf->pg.queue_timeout, 3000);
    ngx_conf_init_msec_value(umcf->pg.connect_timeout, 2000);
    ngx_conf_init_msec_value(umcf->pg.query_timeout, 5000);
    ngx_conf_init_msec_value(umcf->pg.backoff_max, 1000);
    ngx_conf_init_value(umcf->jwt_ttl, 30 * 60);
    ngx_conf_init_value(umcf->refresh_ttl, 7 * 24 * 60 * 60);
    ngx_conf_init_value(umcf->session_ttl, 30 * 24 * 60 * 60);
    ngx_conf_init_value(umcf->refresh_grace, 10);

    /* OWASP's minimum for Argon2id: t=2, m=19 MiB, p=1 */
    ngx_conf_init_uint_value(umcf->pw_opslimit, 2);
    ngx_conf_init_size_value(umcf->pw_memlimit, 19 * 1024 * 1024);
    /* the lowest: hashes get the CPU the event loops leave */
    ngx_conf_init_value(umcf->pw_priority, 19);

    ngx_conf_init_uint_value(umcf->throttle_failures, 10);
    ngx_conf_init_value(umcf->throttle_window, 15 * 60);
    ngx_conf_init_size_value(umcf->max_body_size, 64 * 1024);
    ngx_conf_init_size_value(umcf->state_size, 1024 * 1024);
    ngx_conf_init_msec_value(umcf->readyz_timeout, 1500);

    /* after the whole block: users_metrics_zone may follow the location */
    if (umcf->metrics && umcf->metrics_zone == NULL
        && ngx_http_users_metrics_zone(cf, umcf, NULL, 0) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (!umcf->enabled) {
        return NGX_CONF_OK;
    }

    if (sodium_init() < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "sodium_init() failed");
        return NGX_CONF_ERROR;
    }

    if (umcf->pg.conninfo.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"users_api\" needs \"users_pg_conninfo\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_pg_conninfo(cf, &umcf->pg.conninfo, &umcf->pg)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_keys_init(cf, &umcf->jwt_keys, &umcf->jwt_secret)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_session_init(cf, umcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (umcf->thread_pool == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"users_api\" needs \"users_password_thread_pool\":"
                           " Argon2id never runs on the event loop");
        return NGX_CONF_ERROR;
    }

    if (umcf->throttle_zone == NULL) {
        if (ngx_http_users_throttle_zone(cf, umcf, NULL, 0) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (umcf->state_size < 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"users_auth_zone\" is too small");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_revocation_zone(cf, umcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /* computed once in the master, before any worker or thread exists */

    if (ngx_http_users_password_dummy(cf->cycle, umcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (umcf->su_email.len
        && ngx_http_users_password_hash_now(cf->pool, umcf,
                                            &umcf->su_password, &umcf->su_hash)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_users_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_users_loc_conf_t  *ulcf;

    ulcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_loc_conf_t));
    if (ulcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ulcf->route = NULL;
     *     ulcf->id = NULL;
     */

    ulcf->request_id = NGX_CONF_UNSET;
    ulcf->guard = NGX_CONF_UNSET_UINT;
    ulcf->audit = NGX_CONF_UNSET;

    return ulcf;
}


static char *
ngx_http_users_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_users_loc_conf_t *prev = parent;
    ngx_http_users_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_users_main_conf_t  *umcf;

    ngx_conf_merge_value(conf->request_id, prev->request_id, 0);
    ngx_conf_merge_uint_value(conf->guard, prev->guard,
                              NGX_HTTP_USERS_GUARD_OFF);
    ngx_conf_merge_value(conf->audit, prev->audit, 1);

    if (conf->route == NULL) {
        return NGX_CONF_OK;
    }

    /*
     * The core module merges first, so this is the location's final
     * value: a body up to users_max_body_size must stay in memory, since
     * reading a temporary file back would block the worker.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);

    if (clcf->client_body_buffer_size < umcf->max_body_size) {
        clcf->client_body_buffer_size = umcf->max_body_size;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_users_init_module(ngx_cycle_t *cycle)
{
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_users_module);
    if (umcf == NULL || !umcf->enabled) {
        return NGX_OK;
    }

    if (ngx_http_users_sql_check(cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }

    /* jansson's hash seed, before any thread exists */
    json_object_seed(0);

    /* jansson's copies of a parsed body may hold a password */
    json_set_alloc_funcs(malloc, ngx_http_users_json_free);

    return ngx_http_users_timezones_load(cycle);
}


static void
ngx_http_users_json_free(void *p)
{
    if (p) {
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
    }
}


static ngx_int_t
ngx_http_users_init_process(ngx_cycle_t *cycle)
{
    ngx_http_users_main_conf_t  *umcf;

    /* cache managers and loaders run this hook too */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    umcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_users_module);
    if (umcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_users_metrics_init_process(cycle, umcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!umcf->enabled) {
        return NGX_OK;
    }

    if (ngx_http_users_jwt_cache_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_users_pg_init_process(cycle, umcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_users_listener_init_process(cycle, umcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_users_superuser_init_process(cycle, umcf);
}


static void
ngx_http_users_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_users_listener_exit_process(cycle);
    ngx_http_users_pg_exit_process(cycle);
}


/*
 * A zone's init: the header of a zone that outlives the configuration (a
 * reload, or a zone inherited by the new master) is taken over, so that
 * old and new workers share it; NGX_DONE asks the caller to set up a new,
 * zeroed header.
 */

ngx_int_t
ngx_http_users_shm_attach(ngx_shm_zone_t *shm_zone, void *data, size_t size)
{
    ngx_http_users_shm_ctx_t  *octx = data;

    ngx_http_users_shm_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    ctx->sh = ngx_slab_calloc(ctx->shpool, size);
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    return NGX_DONE;
}


/*
 * A configuration value that may be a secret: "env:NAME" reads the
 * environment of the master (workers' environments are wiped), "file:PATH"
 * reads a file (a Kubernetes Secret or Docker secret) without its trailing
 * newline; anything else is taken literally.  Values are NUL-terminated:
 * some go to libpq as C strings.
 */

ngx_int_t
ngx_http_users_conf_value(ngx_conf_t *cf, ngx_str_t *src, ngx_str_t *value)
{
    char             *env;
    u_char           *p;
    ssize_t           n;
    ngx_str_t         name;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    if (src->len > 4 && ngx_strncmp(src->data, "env:", 4) == 0) {
        name.len = src->len - 4;
        name.data = ngx_pnalloc(cf->pool, name.len + 1);
        if (name.data == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(name.data, src->data + 4, name.len + 1);

        env = getenv((char *) name.data);
        if (env == NULL) {
            ngx_str_null(value);
            return NGX_OK;
        }

        value->len = ngx_strlen(env);
        value->data = ngx_pnalloc(cf->pool, value->len + 1);
        if (value->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(value->data, env, value->len + 1);
        return NGX_OK;
    }

    if (!(src->len > 5 && ngx_strncmp(src->data, "file:", 5) == 0)) {
        *value = *src;
        return NGX_OK;
    }

    name.len = src->len - 5;
    name.data = src->data + 5;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &name);
        return NGX_ERROR;
    }

    n = NGX_ERROR;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &name);
        goto done;
    }

    if (ngx_file_size(&fi) > 64 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is too large for a secret", &name);
        goto done;
    }

    p = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (p == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, p, (size_t) ngx_file_size(&fi), 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    while (n > 0 && (p[n - 1] == LF || p[n - 1] == CR)) {
        n--;
    }

    p[n] = '\0';
    value->data = p;
    value->len = n;

done:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &name);
    }

    return n == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static char *
ngx_http_users_pg_conninfo_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ngx_str_t  *value;

    if (umcf->pg.conninfo.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_users_conf_value(cf, &value[1], &umcf->pg.conninfo)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (umcf->pg.conninfo.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"users_pg_conninfo\": \"%V\" is empty",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_users_pg_pool_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value, s;
    ngx_msec_t  *msp;
    ngx_uint_t   i, *np;

    if (umcf->pg.size != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        np = NULL;
        msp = NULL;

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            np = &umcf->pg.size;
            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

        } else if (ngx_strncmp(value[i].data, "queue=", 6) == 0) {
            np = &umcf->pg.queue;
            s.len = value[i].len - 6;
            s.data = value[i].data + 6;

        } else if (ngx_strncmp(value[i].data, "queue_timeout=", 14) == 0) {
            msp = &umcf->pg.queue_timeout;
            s.len = value[i].len - 14;
            s.data = value[i].data + 14;

        } else if (ngx_strncmp(value[i].data, "backoff=", 8) == 0) {
            msp = &umcf->pg.backoff_max;
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;

        } else {
            goto invalid;
        }

        if (np) {
            n = ngx_atoi(s.data, s.len);
            if (n == NGX_ERROR || (np == &umcf->pg.size && n == 0)) {
                goto invalid;
            }

            *np = n;

        } else {
            n = ngx_parse_time(&s, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            *msp = n;
        }
    }

    if (umcf->pg.size == NGX_CONF_UNSET_UINT) {
        umcf->pg.size = 8;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_users_jwt_secret_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ngx_str_t  *value;

    if (umcf->jwt_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_users_conf_value(cf, &value[1], &umcf->jwt_secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (umcf->jwt_secret.len < NGX_HTTP_USERS_JWT_SECRET_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"users_jwt_secret\": the secret from \"%V\" is "
                           "%uz bytes long, at least %d are needed",
                           &value[1], umcf->jwt_secret.len,
                           NGX_HTTP_USERS_JWT_SECRET_MIN);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_users_thread_pool_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ngx_str_t  *value;

    if (umcf->thread_pool) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* an undeclared name fails "nginx -t" with "unknown thread pool" */
    umcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (umcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_users_password_cost_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ssize_t      size;
    ngx_int_t    n;
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    if (umcf->pw_opslimit != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "time=", 5) == 0) {
            n = ngx_atoi(value[i].data + 5, value[i].len - 5);
            if (n < (ngx_int_t) crypto_pwhash_OPSLIMIT_MIN) {
                goto invalid;
            }

            umcf->pw_opslimit = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "memory=", 7) == 0) {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR
                || (size_t) size < crypto_pwhash_MEMLIMIT_MIN)
            {
                goto invalid;
            }

            umcf->pw_memlimit = size;
            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_users_login_throttle_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    u_char      *p;
    ssize_t      size;
    ngx_int_t    n;
    ngx_str_t   *value, name, s;
    ngx_uint_t   i;

    if (umcf->throttle_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_str_null(&name);
    size = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;

            p = (u_char *) ngx_strchr(name.data, ':');
            if (p == NULL) {
                goto invalid;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || name.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "failures=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            umcf->throttle_failures = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "window=", 7) == 0) {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            n = ngx_parse_time(&s, 1);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            umcf->throttle_window = n;
            continue;
        }

        goto invalid;
    }

    return ngx_http_users_throttle_zone(cf, umcf, name.len ? &name : NULL,
                                        size);

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_users_first_superuser_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ngx_str_t  *value;

    if (umcf->su_email.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_users_conf_value(cf, &value[1], &umcf->su_email) != NGX_OK
        || ngx_http_users_conf_value(cf, &value[2], &umcf->su_password)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* no email configured: a deployment without a first superuser */
    if (umcf->su_email.len == 0) {
        return NGX_CONF_OK;
    }

    if (umcf->su_password.len < NGX_HTTP_USERS_PASSWORD_MIN
        || umcf->su_password.len > NGX_HTTP_USERS_PASSWORD_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"users_first_superuser\": the password from "
                           "\"%V\" must be %d to %d bytes long",
                           &value[2], NGX_HTTP_USERS_PASSWORD_MIN,
                           NGX_HTTP_USERS_PASSWORD_MAX);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
