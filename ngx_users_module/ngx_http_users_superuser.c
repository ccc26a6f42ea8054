
/*
 * Copyright (C) ngx_users authors
 *
 * The first superuser (users_first_superuser): created by worker 0 of
 * every start when its address is missing, through the pool like any
 * query once a connection is ready (so that it never takes a place in the
 * wait queue from a request at start), and retried on a timer until the
 * address exists, so a database that comes up late, a failed insert or a
 * lost race only delays it.  An address that belongs to an ordinary user
 * is never escalated: the start says so in the error log instead.
 */


#include "ngx_http_users_module.h"


#define NGX_HTTP_USERS_SU_RETRY_MIN  1000
#define NGX_HTTP_USERS_SU_RETRY_MAX  30000


/* the columns of NGX_HTTP_USERS_SQL_FIRST_SUPERUSER */
typedef enum {
    NGX_HTTP_USERS_SU_IS_SUPERUSER = 0,
    NGX_HTTP_USERS_SU_CREATED
} ngx_http_users_su_col_e;


typedef struct {
    ngx_http_users_main_conf_t  *umcf;
    ngx_http_users_pg_op_t       op;
    ngx_event_t                  timer;
    ngx_msec_t                   retry;
    unsigned                     running:1;
    unsigned                     done:1;
} ngx_http_users_su_t;


static void ngx_http_users_superuser_connected(void *data);
static void ngx_http_users_superuser_timer(ngx_event_t *ev);
static void ngx_http_users_superuser_run(ngx_http_users_su_t *su);
static void ngx_http_users_superuser_done(ngx_http_users_pg_op_t *op,
    PGresult *res);
static void ngx_http_users_superuser_retry(ngx_http_users_su_t *su);


ngx_int_t
ngx_http_users_superuser_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf)
{
    ngx_http_users_su_t  *su;

    /* pods and workers may all race, but one per start is enough to try */
    if (ngx_worker != 0 || umcf->su_email.len == 0) {
        return NGX_OK;
    }

    su = ngx_pcalloc(cycle->pool, sizeof(ngx_http_users_su_t));
    if (su == NULL) {
        return NGX_ERROR;
    }

    su->umcf = umcf;
    su->retry = NGX_HTTP_USERS_SU_RETRY_MIN;

    su->timer.handler = ngx_http_users_superuser_timer;
    su->timer.data = su;
    su->timer.log = cycle->log;
    su->timer.cancelable = 1;

    ngx_http_users_pg_on_connect(umcf->pg_pool,
                                 ngx_http_users_superuser_connected, su);

    return NGX_OK;
}


static void
ngx_http_users_superuser_connected(void *data)
{
    ngx_http_users_su_t *su = data;

    if (!su->done && !su->running && !su->timer.timer_set) {
        ngx_http_users_superuser_run(su);
    }
}


static void
ngx_http_users_superuser_timer(ngx_event_t *ev)
{
    ngx_http_users_superuser_run(ev->data);
}


static void
ngx_http_users_superuser_run(ngx_http_users_su_t *su)
{
    ngx_http_users_pg_op_t      *op;
    ngx_http_users_main_conf_t  *umcf;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    umcf = su->umcf;
    op = &su->op;

    ngx_memzero(op, sizeof(ngx_http_users_pg_op_t));

    op->stmt = NGX_HTTP_USERS_SQL_FIRST_SUPERUSER;
    op->nparams = 2;
    op->values[0] = (const char *) umcf->su_email.data;
    op->values[1] = (const char *) umcf->su_hash.data;
    op->handler = ngx_http_users_superuser_done;
    op->data = su;
    op->log = su->timer.log;
    op->timeout = umcf->pg.query_timeout;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, op->log, 0,
                   "users: looking for the first superuser \"%V\"",
                   &umcf->su_email);

    su->running = 1;

    ngx_http_users_pg_run(umcf->pg_pool, op);
}


static void
ngx_http_users_superuser_done(ngx_http_users_pg_op_t *op, PGresult *res)
{
    ngx_http_users_su_t *su = op->data;

    ngx_str_t  *email;

    email = &su->umcf->su_email;
    su->running = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "users: creating the first superuser \"%V\" failed, "
                      "retrying in %M ms (is the schema migrated?): %s",
                      email, su->retry,
                      res ? PQresultErrorMessage(res) : "no connection");
        ngx_http_users_superuser_retry(su);
        return;
    }

    if (PQntuples(res) == 0) {
        /* another worker's or pod's insert, not yet committed */
        ngx_http_users_superuser_retry(su);
        return;
    }

    su->done = 1;

    if (PQgetvalue(res, 0, NGX_HTTP_USERS_SU_IS_SUPERUSER)[0] != 't') {
        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "users: the first superuser's address \"%V\" belongs "
                      "to a user who is not a superuser; nothing was "
                      "escalated and there may be no superuser (see "
                      "README, \"The first superuser\")", email);
        return;
    }

    if (PQgetvalue(res, 0, NGX_HTTP_USERS_SU_CREATED)[0] == 't') {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "users: created the first superuser \"%V\"", email);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, op->log, 0,
                   "users: the first superuser \"%V\" exists", email);
}


static void
ngx_http_users_superuser_retry(ngx_http_users_su_t *su)
{
    ngx_add_timer(&su->timer, su->retry);

    su->retry = ngx_min(2 * su->retry, NGX_HTTP_USERS_SU_RETRY_MAX);
}
