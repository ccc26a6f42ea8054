
/*
 * Copyright (C) ngx_users authors
 *
 * The per-worker PostgreSQL pool: libpq's asynchronous API on nginx's
 * event loop.  Each slot is one server connection wrapped as an nginx
 * connection (registered once, edge-triggered); requests wait in a bounded
 * FIFO with a timeout while every slot is busy.
 *
 * Edge triggering means never waiting for an edge that already passed:
 * libpq reads at most its buffer per PQconsumeInput, so before sleeping
 * the slot asks poll(2) whether its socket is still readable (or
 * writable) and goes on if it is.
 */


#include "ngx_http_users_module.h"
#include <poll.h>


typedef enum {
    NGX_HTTP_USERS_PG_DOWN = 0,
    NGX_HTTP_USERS_PG_CONNECTING,
    NGX_HTTP_USERS_PG_PREPARING,
    NGX_HTTP_USERS_PG_IDLE,
    NGX_HTTP_USERS_PG_BUSY,
    NGX_HTTP_USERS_PG_BACKOFF
} ngx_http_users_pg_state_e;


typedef struct {
    ngx_http_users_pg_pool_t   *pool;
    PGconn                     *conn;
    ngx_connection_t           *c;
    ngx_http_users_pg_state_e   state;
    ngx_uint_t                  prepared;   /* statements prepared so far */
    ngx_http_users_pg_op_t     *op;         /* NULL when detached */
    PGresult                   *res;        /* the op's first result */
    short                       want;       /* POLLIN or POLLOUT */
    ngx_msec_t                  backoff;
    ngx_event_t                 retry;
    ngx_queue_t                 queue;      /* in pool->idle */
    ngx_log_t                   log;
    unsigned                    sending:1;  /* PQflush has more to write */
} ngx_http_users_pg_slot_t;


struct ngx_http_users_pg_pool_s {
    ngx_http_users_main_conf_t *umcf;
    ngx_http_users_pg_conf_t   *conf;
    ngx_http_users_pg_slot_t   *slots;
    ngx_queue_t                 idle;
    ngx_queue_t                 waiting;
    ngx_uint_t                  nwaiting;
    ngx_log_t                  *log;
    ngx_event_t                 warm;
    ngx_http_users_pg_hook_pt   connected;  /* after a connection is ready */
    void                       *connected_data;
    ngx_http_users_pg_notify_pt notify;     /* a NOTIFY has come */
    ngx_http_users_pg_hook_pt   closed;     /* a connection went away */
    void                       *data;       /* of notify and closed */
};


static void ngx_http_users_pg_warm(ngx_event_t *ev);
static void ngx_http_users_pg_dispatch(ngx_http_users_pg_pool_t *pool);
static ngx_int_t ngx_http_users_pg_connect(ngx_http_users_pg_slot_t *slot);
static ngx_int_t ngx_http_users_pg_wrap(ngx_http_users_pg_slot_t *slot);
static void ngx_http_users_pg_handler(ngx_event_t *ev);
static void ngx_http_users_pg_process(ngx_http_users_pg_slot_t *slot);
static ngx_int_t ngx_http_users_pg_connect_poll(
    ngx_http_users_pg_slot_t *slot);
static ngx_int_t ngx_http_users_pg_io(ngx_http_users_pg_slot_t *slot);
static ngx_int_t ngx_http_users_pg_prepare_next(
    ngx_http_users_pg_slot_t *slot);
static void ngx_http_users_pg_ready(ngx_http_users_pg_slot_t *slot);
static void ngx_http_users_pg_set_state(ngx_http_users_pg_slot_t *slot,
    ngx_http_users_pg_state_e state);
static void ngx_http_users_pg_send(ngx_http_users_pg_slot_t *slot,
    ngx_http_users_pg_op_t *op);
static void ngx_http_users_pg_complete(ngx_http_users_pg_slot_t *slot);
static void ngx_http_users_pg_broken(ngx_http_users_pg_slot_t *slot,
    char *why);
static void ngx_http_users_pg_connect_failed(ngx_http_users_pg_slot_t *slot);
static void ngx_http_users_pg_retry(ngx_event_t *ev);
static void ngx_http_users_pg_close(ngx_http_users_pg_slot_t *slot);
static void ngx_http_users_pg_fail(ngx_http_users_pg_op_t *op);
static void ngx_http_users_pg_leave_queue(ngx_http_users_pg_op_t *op);
static void ngx_http_users_pg_gauge(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_metric_e metric, ngx_int_t n);
static void ngx_http_users_pg_op_event(ngx_event_t *ev);
static void ngx_http_users_pg_notice(void *arg, const char *message);
static ngx_int_t ngx_http_users_pg_ready_for(ngx_socket_t fd, short want);


#define NGX_HTTP_USERS_PG_BACKOFF_MIN  100


#if (NGX_DEBUG)

static const char  *ngx_http_users_pg_states[] = {
    [NGX_HTTP_USERS_PG_DOWN] = "down",
    [NGX_HTTP_USERS_PG_CONNECTING] = "connecting",
    [NGX_HTTP_USERS_PG_PREPARING] = "preparing",
    [NGX_HTTP_USERS_PG_IDLE] = "idle",
    [NGX_HTTP_USERS_PG_BUSY] = "busy",
    [NGX_HTTP_USERS_PG_BACKOFF] = "backing off"
};

#endif


ngx_int_t
ngx_http_users_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf)
{
    if (!(ngx_event_flags & NGX_USE_CLEAR_EVENT)) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "users: the PostgreSQL pool needs an edge-triggered "
                      "event method (epoll or kqueue)");
        return NGX_ERROR;
    }

    umcf->pg_pool = ngx_http_users_pg_pool_create(cycle, umcf, &umcf->pg);

    return umcf->pg_pool ? NGX_OK : NGX_ERROR;
}


ngx_http_users_pg_pool_t *
ngx_http_users_pg_pool_create(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf, ngx_http_users_pg_conf_t *conf)
{
    ngx_uint_t                 i;
    ngx_http_users_pg_pool_t  *pool;
    ngx_http_users_pg_slot_t  *slot;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_users_pg_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->slots = ngx_pcalloc(cycle->pool,
                              conf->size * sizeof(ngx_http_users_pg_slot_t));
    if (pool->slots == NULL) {
        return NULL;
    }

    pool->umcf = umcf;
    pool->conf = conf;
    pool->log = cycle->log;

    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->waiting);

    for (i = 0; i < conf->size; i++) {
        slot = &pool->slots[i];

        slot->pool = pool;
        slot->log = *cycle->log;

        slot->retry.handler = ngx_http_users_pg_retry;
        slot->retry.data = slot;
        slot->retry.log = &slot->log;
        slot->retry.cancelable = 1;
    }

    /*
     * One connection at start: the first requests find it ready.  The
     * others connect on demand, which softens the spike of a reload.
     */

    pool->warm.handler = ngx_http_users_pg_warm;
    pool->warm.data = pool;
    pool->warm.log = cycle->log;
    pool->warm.cancelable = 1;

    ngx_add_timer(&pool->warm, 1);

    return pool;
}


void
ngx_http_users_pg_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_users_module);
    if (umcf == NULL || umcf->pg_pool == NULL) {
        return;
    }

    ngx_http_users_pg_pool_close(umcf->pg_pool);

    umcf->pg_pool = NULL;
}


void
ngx_http_users_pg_pool_close(ngx_http_users_pg_pool_t *pool)
{
    ngx_uint_t               i;
    ngx_queue_t             *q;
    ngx_http_users_pg_op_t  *op;

    pool->closed = NULL;

    /* a waiter that outlives its pool would stay counted in the zone */
    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        op = ngx_queue_data(q, ngx_http_users_pg_op_t, queue);

        ngx_http_users_pg_leave_queue(op);
    }

    for (i = 0; i < pool->conf->size; i++) {
        ngx_http_users_pg_close(&pool->slots[i]);

        if (pool->slots[i].retry.timer_set) {
            ngx_del_timer(&pool->slots[i].retry);
        }
    }

    if (pool->warm.timer_set) {
        ngx_del_timer(&pool->warm);
    }
}


/* work that needs the database once it is there, not before */

void
ngx_http_users_pg_on_connect(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_pg_hook_pt handler, void *data)
{
    pool->connected = handler;
    pool->connected_data = data;
}


/* a pool that LISTENs: what its connections are told, and when they go */

void
ngx_http_users_pg_on_notify(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_pg_notify_pt notify, ngx_http_users_pg_hook_pt closed,
    void *data)
{
    pool->notify = notify;
    pool->closed = closed;
    pool->data = data;
}


static void
ngx_http_users_pg_warm(ngx_event_t *ev)
{
    ngx_http_users_pg_pool_t *pool = ev->data;

    if (pool->slots[0].state == NGX_HTTP_USERS_PG_DOWN
        && ngx_http_users_pg_connect(&pool->slots[0]) != NGX_OK)
    {
        ngx_http_users_pg_connect_failed(&pool->slots[0]);
    }
}


void
ngx_http_users_pg_run(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_pg_op_t *op)
{
    ngx_msec_t  timeout;

    op->pool = pool;
    op->wait.handler = ngx_http_users_pg_op_event;
    op->wait.data = op;
    op->wait.log = op->log;

    if (pool->nwaiting >= pool->conf->queue) {
        ngx_log_error(NGX_LOG_WARN, op->log, 0,
                      "users: PostgreSQL wait queue is full (%ui)",
                      pool->nwaiting);
        ngx_http_users_pg_fail(op);
        return;
    }

    ngx_queue_insert_tail(&pool->waiting, &op->queue);
    pool->nwaiting++;
    ngx_http_users_pg_gauge(pool, NGX_HTTP_USERS_METRIC_PG_WAITING, 1);
    op->queued = 1;

    timeout = ngx_min(op->timeout, pool->conf->queue_timeout);
    ngx_add_timer(&op->wait, timeout);

    ngx_http_users_pg_dispatch(pool);
}


/* the request is gone: forget the op; a running query finishes alone */

void
ngx_http_users_pg_cancel(ngx_http_users_pg_op_t *op)
{
    ngx_http_users_pg_slot_t  *slot;

    ngx_http_users_pg_leave_queue(op);

    if (op->wait.posted) {
        ngx_delete_posted_event(&op->wait);
    }

    slot = op->slot;

    if (slot) {
        slot->op = NULL;
        op->slot = NULL;
    }
}


/*
 * Gives idle slots to waiters, connects more slots while waiters outnumber
 * connections being made, and fails every waiter at once when no slot can
 * serve (the server is down and every slot is backing off).
 */

static void
ngx_http_users_pg_dispatch(ngx_http_users_pg_pool_t *pool)
{
    ngx_uint_t                 i, pending, usable;
    ngx_queue_t               *q;
    ngx_http_users_pg_op_t    *op;
    ngx_http_users_pg_slot_t  *slot;

    while (!ngx_queue_empty(&pool->waiting) && !ngx_queue_empty(&pool->idle))
    {
        q = ngx_queue_head(&pool->idle);
        slot = ngx_queue_data(q, ngx_http_users_pg_slot_t, queue);

        q = ngx_queue_head(&pool->waiting);
        op = ngx_queue_data(q, ngx_http_users_pg_op_t, queue);

        ngx_http_users_pg_send(slot, op);
    }

    if (pool->nwaiting == 0) {
        return;
    }

    pending = 0;

    for (i = 0; i < pool->conf->size; i++) {
        if (pool->slots[i].state == NGX_HTTP_USERS_PG_CONNECTING
            || pool->slots[i].state == NGX_HTTP_USERS_PG_PREPARING)
        {
            pending++;
        }
    }

    for (i = 0; i < pool->conf->size && pending < pool->nwaiting; i++) {
        slot = &pool->slots[i];

        if (slot->state != NGX_HTTP_USERS_PG_DOWN) {
            continue;
        }

        if (ngx_http_users_pg_connect(slot) == NGX_OK) {
            pending++;

        } else {
            ngx_http_users_pg_connect_failed(slot);
        }
    }

    usable = 0;

    for (i = 0; i < pool->conf->size; i++) {
        if (pool->slots[i].state != NGX_HTTP_USERS_PG_DOWN
            && pool->slots[i].state != NGX_HTTP_USERS_PG_BACKOFF)
        {
            usable++;
        }
    }

    if (usable) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, pool->log, 0,
                  "users: PostgreSQL unavailable, failing %ui waiting "
                  "request(s)", pool->nwaiting);

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        op = ngx_queue_data(q, ngx_http_users_pg_op_t, queue);

        ngx_http_users_pg_fail(op);
    }
}


static ngx_int_t
ngx_http_users_pg_connect(ngx_http_users_pg_slot_t *slot)
{
    ngx_http_users_pg_conf_t  *conf;

    conf = slot->pool->conf;

    slot->conn = PQconnectStartParams(conf->keywords, conf->values, 0);
    if (slot->conn == NULL) {
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: PQconnectStartParams() failed");
        return NGX_ERROR;
    }

    if (PQstatus(slot->conn) == CONNECTION_BAD) {
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: cannot connect to PostgreSQL: %s",
                      PQerrorMessage(slot->conn));
        return NGX_ERROR;
    }

    if (PQsetnonblocking(slot->conn, 1) != 0) {
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: PQsetnonblocking() failed: %s",
                      PQerrorMessage(slot->conn));
        return NGX_ERROR;
    }

    PQsetNoticeProcessor(slot->conn, ngx_http_users_pg_notice, slot);

    if (ngx_http_users_pg_wrap(slot) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_users_pg_set_state(slot, NGX_HTTP_USERS_PG_CONNECTING);
    slot->prepared = 0;
    slot->sending = 0;

    /* libpq: just after PQconnectStart, act as if it asked to write */
    slot->want = POLLOUT;

    ngx_add_timer(slot->c->write, conf->connect_timeout);

    ngx_http_users_pg_process(slot);

    return NGX_OK;
}


/*
 * libpq owns the socket: the nginx connection is "shared", so that
 * ngx_close_connection() leaves the descriptor for PQfinish() to close.
 */

static ngx_int_t
ngx_http_users_pg_wrap(ngx_http_users_pg_slot_t *slot)
{
    ngx_socket_t       fd;
    ngx_connection_t  *c;

    fd = PQsocket(slot->conn);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: PostgreSQL connection has no socket");
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, &slot->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = slot;
    c->shared = 1;
    c->log = &slot->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_http_users_pg_handler;
    c->write->handler = ngx_http_users_pg_handler;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    slot->c = c;

    if (ngx_add_conn) {
        if (ngx_add_conn(c) == NGX_ERROR) {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK
        || ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_CLEAR_EVENT)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_users_pg_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_users_pg_slot_t  *slot;

    c = ev->data;
    slot = c->data;

    if (c->close) {
        /* graceful shutdown closes idle connections through here */
        ngx_http_users_pg_close(slot);
        return;
    }

    if (ev->timedout) {
        ev->timedout = 0;

        if (slot->state == NGX_HTTP_USERS_PG_BUSY) {
            ngx_http_users_pg_broken(slot, "query timed out");
            return;
        }

        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: connecting to PostgreSQL timed out");
        ngx_http_users_pg_connect_failed(slot);
        ngx_http_users_pg_dispatch(slot->pool);
        return;
    }

    ngx_http_users_pg_process(slot);
}


static void
ngx_http_users_pg_process(ngx_http_users_pg_slot_t *slot)
{
    ngx_int_t  rc;

    for ( ;; ) {

        switch (slot->state) {

        case NGX_HTTP_USERS_PG_CONNECTING:
            if (ngx_http_users_pg_ready_for(PQsocket(slot->conn), slot->want)
                != NGX_OK)
            {
                return;
            }

            rc = ngx_http_users_pg_connect_poll(slot);
            break;

        case NGX_HTTP_USERS_PG_PREPARING:
        case NGX_HTTP_USERS_PG_BUSY:
        case NGX_HTTP_USERS_PG_IDLE:
            rc = ngx_http_users_pg_io(slot);
            break;

        default:
            return;
        }

        if (rc == NGX_DONE) {
            return;
        }

        if (rc == NGX_AGAIN
            && ngx_http_users_pg_ready_for(slot->c->fd, slot->want) != NGX_OK)
        {
            return;
        }
    }
}


/* NGX_OK: go on at once; NGX_AGAIN: wait for slot->want; NGX_DONE: stop */

static ngx_int_t
ngx_http_users_pg_connect_poll(ngx_http_users_pg_slot_t *slot)
{
    ngx_connection_t         *c;
    PostgresPollingStatusType  st;

    st = PQconnectPoll(slot->conn);

    /* libpq may move to another socket (next host, SSL fallback) */
    if (PQsocket(slot->conn) != slot->c->fd) {
        c = slot->c;
        slot->c = NULL;
        ngx_close_connection(c);

        if (ngx_http_users_pg_wrap(slot) != NGX_OK) {
            ngx_http_users_pg_connect_failed(slot);
            ngx_http_users_pg_dispatch(slot->pool);
            return NGX_DONE;
        }

        ngx_add_timer(slot->c->write, slot->pool->conf->connect_timeout);
    }

    switch (st) {

    case PGRES_POLLING_READING:
        slot->want = POLLIN;
        return NGX_AGAIN;

    case PGRES_POLLING_WRITING:
        slot->want = POLLOUT;
        return NGX_AGAIN;

    case PGRES_POLLING_OK:
        ngx_http_users_pg_set_state(slot, NGX_HTTP_USERS_PG_PREPARING);
        slot->want = POLLIN;

        if (ngx_http_users_pg_prepare_next(slot) != NGX_OK) {
            return NGX_DONE;
        }

        return NGX_OK;

    default:
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: cannot connect to PostgreSQL: %s",
                      PQerrorMessage(slot->conn));
        ngx_http_users_pg_connect_failed(slot);
        ngx_http_users_pg_dispatch(slot->pool);
        return NGX_DONE;
    }
}


/*
 * Writes what is pending, reads what has come, and collects results until
 * PQgetResult() says the statement is over.
 */

static ngx_int_t
ngx_http_users_pg_io(ngx_http_users_pg_slot_t *slot)
{
    int        n;
    PGnotify  *notify;
    PGresult  *res;

    if (slot->sending) {
        n = PQflush(slot->conn);

        if (n == -1) {
            ngx_http_users_pg_broken(slot, "sending failed");
            return NGX_DONE;
        }

        slot->sending = (n == 1);
    }

    if (!PQconsumeInput(slot->conn)) {
        ngx_http_users_pg_broken(slot, PQerrorMessage(slot->conn));
        return NGX_DONE;
    }

    while ((notify = PQnotifies(slot->conn)) != NULL) {
        if (slot->pool->notify) {
            slot->pool->notify(slot->pool->data, notify);
        }

        PQfreemem(notify);
    }

    while (!PQisBusy(slot->conn)) {

        res = PQgetResult(slot->conn);

        if (res == NULL) {
            break;
        }

        if (slot->state == NGX_HTTP_USERS_PG_IDLE) {
            PQclear(res);
            ngx_http_users_pg_broken(slot, "unexpected result");
            return NGX_DONE;
        }

        if (slot->res == NULL) {
            slot->res = res;

        } else {
            PQclear(res);
        }
    }

    if (PQisBusy(slot->conn) || slot->state == NGX_HTTP_USERS_PG_IDLE) {
        slot->want = slot->sending ? POLLOUT : POLLIN;
        return NGX_AGAIN;
    }

    /* the statement is over */

    if (slot->state == NGX_HTTP_USERS_PG_BUSY) {
        ngx_http_users_pg_complete(slot);
        return NGX_DONE;
    }

    if (PQresultStatus(slot->res) != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: preparing \"%V\" failed: %s",
                      &ngx_http_users_sql[slot->prepared].name,
                      PQresultErrorMessage(slot->res));
        ngx_http_users_pg_connect_failed(slot);
        ngx_http_users_pg_dispatch(slot->pool);
        return NGX_DONE;
    }

    PQclear(slot->res);
    slot->res = NULL;
    slot->prepared++;

    if (ngx_http_users_pg_prepare_next(slot) != NGX_OK) {
        return NGX_DONE;
    }

    return slot->state == NGX_HTTP_USERS_PG_PREPARING ? NGX_OK : NGX_DONE;
}


/* one statement at a time, once per connection; then the slot is ready */

static ngx_int_t
ngx_http_users_pg_prepare_next(ngx_http_users_pg_slot_t *slot)
{
    int                    n;
    ngx_http_users_sql_t  *sql;

    if (slot->prepared == NGX_HTTP_USERS_SQL_COUNT) {
        ngx_del_timer(slot->c->write);
        slot->backoff = 0;

        ngx_log_error(NGX_LOG_INFO, &slot->log, 0,
                      "users: PostgreSQL connection ready");

        ngx_http_users_pg_ready(slot);

        /* after the waiting requests: they were first */
        if (slot->pool->connected) {
            slot->pool->connected(slot->pool->connected_data);
        }

        return NGX_OK;
    }

    sql = &ngx_http_users_sql[slot->prepared];

    if (!PQsendPrepare(slot->conn, (char *) sql->name.data, sql->text,
                       sql->nparams, NULL))
    {
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: PQsendPrepare(\"%V\") failed: %s",
                      &sql->name, PQerrorMessage(slot->conn));
        ngx_http_users_pg_connect_failed(slot);
        ngx_http_users_pg_dispatch(slot->pool);
        return NGX_ERROR;
    }

    n = PQflush(slot->conn);
    if (n == -1) {
        ngx_http_users_pg_connect_failed(slot);
        ngx_http_users_pg_dispatch(slot->pool);
        return NGX_ERROR;
    }

    slot->sending = (n == 1);

    return NGX_OK;
}


static void
ngx_http_users_pg_ready(ngx_http_users_pg_slot_t *slot)
{
    ngx_queue_t             *q;
    ngx_http_users_pg_op_t  *op;

    ngx_http_users_pg_set_state(slot, NGX_HTTP_USERS_PG_IDLE);
    slot->want = POLLIN;

    /* requests still in progress are served while the worker stops */
    if (!ngx_queue_empty(&slot->pool->waiting)) {
        q = ngx_queue_head(&slot->pool->waiting);
        op = ngx_queue_data(q, ngx_http_users_pg_op_t, queue);
        ngx_http_users_pg_send(slot, op);
        return;
    }

    if (ngx_exiting || ngx_terminate) {
        ngx_http_users_pg_close(slot);
        return;
    }

    ngx_queue_insert_head(&slot->pool->idle, &slot->queue);
    slot->c->idle = 1;
}


/* the one place a slot changes state, so that a debug log shows each */

static void
ngx_http_users_pg_set_state(ngx_http_users_pg_slot_t *slot,
    ngx_http_users_pg_state_e state)
{
    /* closing every slot at exit would log each one that never opened */
    if (slot->state != state) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, &slot->log, 0,
                       "users pg slot %ui: %s -> %s",
                       (ngx_uint_t) (slot - slot->pool->slots),
                       ngx_http_users_pg_states[slot->state],
                       ngx_http_users_pg_states[state]);

        /* the states' gauges are in the metrics' order */
        ngx_http_users_pg_gauge(slot->pool,
                                NGX_HTTP_USERS_METRIC_PG_DOWN + slot->state,
                                -1);
        ngx_http_users_pg_gauge(slot->pool,
                                NGX_HTTP_USERS_METRIC_PG_DOWN + state, 1);
    }

    slot->state = state;
}


static void
ngx_http_users_pg_send(ngx_http_users_pg_slot_t *slot,
    ngx_http_users_pg_op_t *op)
{
    int                    n;
    ngx_http_users_sql_t  *sql;

    if (slot->state == NGX_HTTP_USERS_PG_IDLE && slot->c->idle) {
        ngx_queue_remove(&slot->queue);
        slot->c->idle = 0;
    }

    ngx_http_users_pg_leave_queue(op);

    ngx_http_users_pg_set_state(slot, NGX_HTTP_USERS_PG_BUSY);
    slot->op = op;
    op->slot = slot;

    sql = &ngx_http_users_sql[op->stmt];

    if (!PQsendQueryPrepared(slot->conn, (char *) sql->name.data, op->nparams,
                             op->values, NULL, NULL, 0))
    {
        ngx_http_users_pg_broken(slot, PQerrorMessage(slot->conn));
        return;
    }

    ngx_add_timer(slot->c->read, op->timeout);

    n = PQflush(slot->conn);
    if (n == -1) {
        ngx_http_users_pg_broken(slot, PQerrorMessage(slot->conn));
        return;
    }

    /*
     * Nothing was left to read on an idle connection, so the answer's
     * arrival is a new edge; only a partial write needs looking after.
     */

    if (n == 1) {
        slot->sending = 1;
        ngx_post_event(slot->c->write, &ngx_posted_events);
    }
}


static void
ngx_http_users_pg_complete(ngx_http_users_pg_slot_t *slot)
{
    char                    *state;
    PGresult                *res;
    ngx_http_users_pg_op_t  *op;

    op = slot->op;
    res = slot->res;

    slot->op = NULL;
    slot->res = NULL;

    if (slot->c->read->timer_set) {
        ngx_del_timer(slot->c->read);
    }

    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    /* 26000: the prepared statement is gone (a pooler in between?) */
    if ((state && ngx_strcmp(state, "26000") == 0)
        || PQtransactionStatus(slot->conn) != PQTRANS_IDLE)
    {
        ngx_log_error(NGX_LOG_ERR, &slot->log, 0,
                      "users: closing PostgreSQL connection in a bad state");
        ngx_http_users_pg_close(slot);

    } else {
        ngx_http_users_pg_ready(slot);
    }

    if (op) {
        op->slot = NULL;
        op->handler(op, res);
    }

    PQclear(res);

    ngx_http_users_pg_dispatch(slot->pool);
}


/* the connection cannot be trusted any more: close it, fail its op */

static void
ngx_http_users_pg_broken(ngx_http_users_pg_slot_t *slot, char *why)
{
    ngx_uint_t               level;
    ngx_http_users_pg_op_t  *op;

    op = slot->op;
    slot->op = NULL;

    /* an idle connection closed by a restarting server is ordinary */
    level = slot->state == NGX_HTTP_USERS_PG_IDLE ? NGX_LOG_INFO
                                                    : NGX_LOG_ERR;

    ngx_log_error(level, &slot->log, 0,
                  "users: PostgreSQL connection lost: %s", why);

    if (slot->state == NGX_HTTP_USERS_PG_PREPARING) {
        ngx_http_users_pg_connect_failed(slot);

    } else {
        ngx_http_users_pg_close(slot);
    }

    if (op) {
        op->slot = NULL;
        ngx_http_users_pg_fail(op);
    }

    ngx_http_users_pg_dispatch(slot->pool);
}


static void
ngx_http_users_pg_connect_failed(ngx_http_users_pg_slot_t *slot)
{
    ngx_msec_t  max;

    ngx_http_users_pg_close(slot);

    max = slot->pool->conf->backoff_max;

    if (slot->backoff == 0) {
        slot->backoff = ngx_min(NGX_HTTP_USERS_PG_BACKOFF_MIN, max);

    } else {
        slot->backoff = ngx_min(slot->backoff * 2, max);
    }

    ngx_http_users_pg_set_state(slot, NGX_HTTP_USERS_PG_BACKOFF);

    /* jitter keeps the workers from reconnecting in step */
    ngx_add_timer(&slot->retry,
                  slot->backoff + (ngx_random() % (slot->backoff / 4 + 1)));
}


static void
ngx_http_users_pg_retry(ngx_event_t *ev)
{
    ngx_http_users_pg_slot_t *slot = ev->data;

    ngx_http_users_pg_set_state(slot, NGX_HTTP_USERS_PG_DOWN);

    ngx_http_users_pg_dispatch(slot->pool);
}


static void
ngx_http_users_pg_close(ngx_http_users_pg_slot_t *slot)
{
    ngx_connection_t  *c;

    if (slot->state == NGX_HTTP_USERS_PG_IDLE && slot->c && slot->c->idle) {
        ngx_queue_remove(&slot->queue);
    }

    c = slot->c;

    if (c) {
        slot->c = NULL;
        ngx_close_connection(c);
    }

    if (slot->conn) {
        PQfinish(slot->conn);
        slot->conn = NULL;

        /* a LISTEN ends with its connection */
        if (slot->pool->closed) {
            slot->pool->closed(slot->pool->data);
        }
    }

    if (slot->res) {
        PQclear(slot->res);
        slot->res = NULL;
    }

    ngx_http_users_pg_set_state(slot, NGX_HTTP_USERS_PG_DOWN);
    slot->sending = 0;
}


/* failures reach the op's owner from the event loop, never re-entrantly */

static void
ngx_http_users_pg_fail(ngx_http_users_pg_op_t *op)
{
    ngx_http_users_pg_leave_queue(op);

    ngx_post_event(&op->wait, &ngx_posted_events);
}


/* an op stops waiting: for a slot, a failure's post, or its timeout */

static void
ngx_http_users_pg_leave_queue(ngx_http_users_pg_op_t *op)
{
    if (op->queued) {
        ngx_queue_remove(&op->queue);
        op->pool->nwaiting--;
        ngx_http_users_pg_gauge(op->pool, NGX_HTTP_USERS_METRIC_PG_WAITING,
                                -1);
        op->queued = 0;
    }

    if (op->wait.timer_set) {
        ngx_del_timer(&op->wait);
    }
}


/*
 * The pool gauges are the request pool's, summed over the workers; the
 * revocation listener's own pool, its connection and its waiting query,
 * is none of them.
 */

static void
ngx_http_users_pg_gauge(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_metric_e metric, ngx_int_t n)
{
    if (pool == pool->umcf->pg_pool) {
        ngx_http_users_metrics_add(metric, n);
    }
}


static void
ngx_http_users_pg_op_event(ngx_event_t *ev)
{
    ngx_http_users_pg_op_t *op = ev->data;

    if (ev->timedout) {
        ev->timedout = 0;

        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "users: no PostgreSQL connection within %M ms",
                      ngx_min(op->timeout, op->pool->conf->queue_timeout));

        ngx_http_users_pg_leave_queue(op);
    }

    op->handler(op, NULL);
}


static void
ngx_http_users_pg_notice(void *arg, const char *message)
{
    ngx_http_users_pg_slot_t *slot = arg;

    ngx_log_error(NGX_LOG_INFO, &slot->log, 0, "users: PostgreSQL: %s",
                  message);
}


static ngx_int_t
ngx_http_users_pg_ready_for(ngx_socket_t fd, short want)
{
    struct pollfd  pfd;

    pfd.fd = fd;
    pfd.events = want;
    pfd.revents = 0;

    if (poll(&pfd, 1, 0) == 1) {
        return NGX_OK;
    }

    return NGX_AGAIN;
}
