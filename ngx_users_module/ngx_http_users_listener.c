
/*
 * Copyright (C) ngx_users authors
 *
 * Each worker LISTENs for the changes that revoke or demote
 * (sql/0005_auth_changes.sql) and for the sessions that end
 * (sql/0007_sessions.sql) on a connection of its own, a pool of one
 * outside the requests' pool, and applies them to the shared state.
 *
 * One listener per worker rather than one per instance: applying a change
 * is idempotent, so N listeners are as correct as one, and each worker
 * then trusts the shared state exactly while its own listener is in step,
 * a fact of its own process: no ownership to claim, no dead owner to
 * detect, no hand-over across reloads.  It costs one idle connection per
 * worker beside the pool's eight.
 *
 * The protocol: LISTEN; then (a later statement, so that nothing commits
 * unseen in between) catch up from the log after the last change applied;
 * only then trust the state.  Any failure, timeout or a closed connection
 * stops the trust first; the next beat starts over.  A heartbeat proves the
 * connection alive and that no notification went missing.
 */


#include "ngx_http_users_module.h"


#define NGX_HTTP_USERS_LISTENER_BEAT  1000


typedef enum {
    NGX_HTTP_USERS_LISTENER_DOWN = 0,
    NGX_HTTP_USERS_LISTENER_CATCHING_UP,
    NGX_HTTP_USERS_LISTENER_SYNCED
} ngx_http_users_listener_state_e;


/* the columns of NGX_HTTP_USERS_SQL_AUTH_CHANGES */
typedef enum {
    NGX_HTTP_USERS_CHANGE_SEQ = 0,
    NGX_HTTP_USERS_CHANGE_USER,
    NGX_HTTP_USERS_CHANGE_VERSION,
    NGX_HTTP_USERS_CHANGE_ACTIVE,
    NGX_HTTP_USERS_CHANGE_SUPERUSER,
    NGX_HTTP_USERS_CHANGE_SESSION,     /* NULL but for a session's end */
    NGX_HTTP_USERS_CHANGE_OLDEST
} ngx_http_users_change_col_e;


typedef struct {
    ngx_http_users_main_conf_t      *umcf;
    ngx_http_users_pg_conf_t         conf;
    ngx_http_users_pg_pool_t        *pool;
    ngx_http_users_pg_op_t           op;
    ngx_event_t                      beat;
    ngx_http_users_listener_state_e  state;

    int64_t                          synced_seq;  /* all applied up to */
    int64_t                          heard_seq;   /* notified meanwhile */
    int64_t                          beat_seq;    /* the last beat's max */
    u_char                           param[NGX_INT64_LEN + 1];

    unsigned                         running:1;   /* op in flight */
    unsigned                         off_logged:1;
} ngx_http_users_listener_t;


static void ngx_http_users_listener_tick(ngx_event_t *ev);
static void ngx_http_users_listener_run(ngx_http_users_listener_t *l,
    ngx_http_users_sql_e stmt, ngx_msec_t timeout);
static void ngx_http_users_listener_done(ngx_http_users_pg_op_t *op,
    PGresult *res);
static ngx_int_t ngx_http_users_listener_caught_up(
    ngx_http_users_listener_t *l, PGresult *res);
static ngx_int_t ngx_http_users_listener_row(PGresult *res, int row,
    ngx_http_users_change_t *change);
static void ngx_http_users_listener_notify(void *data, PGnotify *notify);
static void ngx_http_users_listener_closed(void *data);
static void ngx_http_users_listener_down(ngx_http_users_listener_t *l,
    char *why);
static void ngx_http_users_listener_state(ngx_http_users_listener_t *l,
    ngx_http_users_listener_state_e state);
static ngx_int_t ngx_http_users_listener_int(PGresult *res, int row, int col,
    int64_t *value);


static ngx_http_users_listener_t  *ngx_http_users_listener;


ngx_int_t
ngx_http_users_listener_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf)
{
    ngx_http_users_listener_t  *l;

    l = ngx_pcalloc(cycle->pool, sizeof(ngx_http_users_listener_t));
    if (l == NULL) {
        return NGX_ERROR;
    }

    l->umcf = umcf;
    l->conf = umcf->pg;
    l->conf.size = 1;
    l->conf.queue = 1;

    l->pool = ngx_http_users_pg_pool_create(cycle, umcf, &l->conf);
    if (l->pool == NULL) {
        return NGX_ERROR;
    }

    ngx_http_users_pg_on_notify(l->pool, ngx_http_users_listener_notify,
                                ngx_http_users_listener_closed, l);

    l->beat.handler = ngx_http_users_listener_tick;
    l->beat.data = l;
    l->beat.log = cycle->log;
    l->beat.cancelable = 1;

    ngx_add_timer(&l->beat, 1);

    ngx_http_users_listener = l;

    return NGX_OK;
}


void
ngx_http_users_listener_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_users_listener_t  *l;

    l = ngx_http_users_listener;

    if (l == NULL) {
        return;
    }

    ngx_http_users_listener = NULL;

    /* a worker that exits, at a reload say, is no longer in step */
    ngx_http_users_listener_state(l, NGX_HTTP_USERS_LISTENER_DOWN);

    if (l->running) {
        ngx_http_users_pg_cancel(&l->op);
    }

    if (l->beat.timer_set) {
        ngx_del_timer(&l->beat);
    }

    ngx_http_users_pg_pool_close(l->pool);
}


/* the shared state may answer for this worker */

ngx_uint_t
ngx_http_users_listener_synced(void)
{
    return ngx_http_users_listener
           && ngx_http_users_listener->state
              == NGX_HTTP_USERS_LISTENER_SYNCED;
}


static void
ngx_http_users_listener_tick(ngx_event_t *ev)
{
    ngx_http_users_listener_t *l = ev->data;

    if (ngx_exiting || ngx_terminate) {
        return;
    }

    ngx_add_timer(&l->beat, NGX_HTTP_USERS_LISTENER_BEAT);

    if (l->running) {
        return;
    }

    if (l->state == NGX_HTTP_USERS_LISTENER_DOWN) {
        /* connecting, if need be, is part of it */
        ngx_http_users_listener_run(l, NGX_HTTP_USERS_SQL_AUTH_LISTEN,
                                    l->conf.connect_timeout
                                    + l->conf.query_timeout);
        return;
    }

    if (l->state == NGX_HTTP_USERS_LISTENER_SYNCED) {
        /* an answer later than the next beat is a dead connection */
        ngx_http_users_listener_run(l, NGX_HTTP_USERS_SQL_AUTH_HEARTBEAT,
                                    NGX_HTTP_USERS_LISTENER_BEAT);
    }
}


static void
ngx_http_users_listener_run(ngx_http_users_listener_t *l,
    ngx_http_users_sql_e stmt, ngx_msec_t timeout)
{
    ngx_http_users_pg_op_t  *op;

    op = &l->op;
    ngx_memzero(op, sizeof(ngx_http_users_pg_op_t));

    op->stmt = stmt;
    op->handler = ngx_http_users_listener_done;
    op->data = l;
    op->log = ngx_cycle->log;
    op->timeout = timeout;

    if (stmt == NGX_HTTP_USERS_SQL_AUTH_CHANGES) {
        (void) ngx_sprintf(l->param, "%L%Z", l->synced_seq);
        op->values[0] = (const char *) l->param;
        op->nparams = 1;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "users listener: \"%V\"", &ngx_http_users_sql[stmt].name);

    l->running = 1;

    ngx_http_users_pg_run(l->pool, op);
}


static void
ngx_http_users_listener_done(ngx_http_users_pg_op_t *op, PGresult *res)
{
    int64_t                     max;
    ngx_uint_t                  level;
    ngx_http_users_listener_t  *l;

    l = op->data;
    l->running = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_http_users_listener_down(l, res ? PQresultErrorMessage(res)
                                            : "no answer");
        return;
    }

    switch (op->stmt) {

    case NGX_HTTP_USERS_SQL_AUTH_LISTEN:
        ngx_http_users_listener_state(l, NGX_HTTP_USERS_LISTENER_CATCHING_UP);
        l->heard_seq = 0;
        ngx_http_users_listener_run(l, NGX_HTTP_USERS_SQL_AUTH_CHANGES,
                                    l->conf.query_timeout);
        return;

    case NGX_HTTP_USERS_SQL_AUTH_CHANGES:
        if (l->state != NGX_HTTP_USERS_LISTENER_CATCHING_UP
            || ngx_http_users_listener_caught_up(l, res) != NGX_OK)
        {
            ngx_http_users_listener_down(l, "a bad change in the log");
            return;
        }

        ngx_http_users_listener_state(l, NGX_HTTP_USERS_LISTENER_SYNCED);
        l->beat_seq = 0;

        /* back after a gap: as loud as the message that it was gone */
        level = l->off_logged ? NGX_LOG_WARN : NGX_LOG_INFO;

        ngx_log_error(level, ngx_cycle->log, 0,
                      "users: revocation listener in step at change %L, "
                      "the shared state answers again", l->synced_seq);
        l->off_logged = 0;
        return;

    default: /* NGX_HTTP_USERS_SQL_AUTH_HEARTBEAT */
        if (l->state != NGX_HTTP_USERS_LISTENER_SYNCED
            || ngx_http_users_listener_int(res, 0, 0, &max) != NGX_OK)
        {
            return;
        }

        /*
         * A change the last beat saw committed and still not notified was
         * missed: catch up (a notification merely late is a beat away).
         */

        if (l->beat_seq > l->synced_seq) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "users: change %L was not notified, catching up",
                          l->beat_seq);

            ngx_http_users_listener_state(l,
                                          NGX_HTTP_USERS_LISTENER_CATCHING_UP);
            l->heard_seq = 0;
            ngx_http_users_listener_run(l, NGX_HTTP_USERS_SQL_AUTH_CHANGES,
                                        l->conf.query_timeout);
            return;
        }

        l->beat_seq = max;
        return;
    }
}


static ngx_int_t
ngx_http_users_listener_caught_up(ngx_http_users_listener_t *l,
    PGresult *res)
{
    int                       i, n;
    int64_t                   oldest;
    ngx_http_users_change_t   change;

    n = PQntuples(res);

    if (n > 0 && l->synced_seq > 0
        && ngx_http_users_listener_int(res, 0, NGX_HTTP_USERS_CHANGE_OLDEST,
                                       &oldest) == NGX_OK
        && oldest > l->synced_seq + 1)
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "users: the change log no longer holds change %L, "
                      "the shared state starts over", l->synced_seq + 1);

        ngx_http_users_revocation_reset(l->umcf);
    }

    for (i = 0; i < n; i++) {

        if (ngx_http_users_listener_row(res, i, &change) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_http_users_revocation_changed(l->umcf, &change);

        if (change.state.auth_seq > l->synced_seq) {
            l->synced_seq = change.state.auth_seq;
        }
    }

    /* notified while catching up: applied already, and after the log */
    if (l->heard_seq > l->synced_seq) {
        l->synced_seq = l->heard_seq;
    }

    return NGX_OK;
}


/*
 * A row of the log: a session's end (session_id set, the user's columns
 * NULL: it says nothing of the user's state), or a user's change.
 */

static ngx_int_t
ngx_http_users_listener_row(PGresult *res, int row,
    ngx_http_users_change_t *change)
{
    int64_t  version;

    ngx_memzero(change, sizeof(ngx_http_users_change_t));

    if (ngx_http_users_listener_int(res, row, NGX_HTTP_USERS_CHANGE_SEQ,
                                    &change->state.auth_seq) != NGX_OK
        || ngx_http_users_listener_int(res, row, NGX_HTTP_USERS_CHANGE_USER,
                                       &change->user) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!PQgetisnull(res, row, NGX_HTTP_USERS_CHANGE_SESSION)) {
        change->ended = 1;

        return ngx_http_users_uuid_parse(
                   (u_char *) PQgetvalue(res, row,
                                         NGX_HTTP_USERS_CHANGE_SESSION),
                   PQgetlength(res, row, NGX_HTTP_USERS_CHANGE_SESSION),
                   change->session);
    }

    if (ngx_http_users_listener_int(res, row, NGX_HTTP_USERS_CHANGE_VERSION,
                                    &version) != NGX_OK)
    {
        return NGX_ERROR;
    }

    change->state.version = (ngx_int_t) version;
    change->state.active =
        PQgetvalue(res, row, NGX_HTTP_USERS_CHANGE_ACTIVE)[0] == 't';
    change->state.superuser =
        PQgetvalue(res, row, NGX_HTTP_USERS_CHANGE_SUPERUSER)[0] == 't';

    return NGX_OK;
}


/*
 * "seq:user:version:active:superuser" or "seq:user:session", as the
 * triggers write them
 */

static void
ngx_http_users_listener_notify(void *data, PGnotify *notify)
{
    ngx_http_users_listener_t *l = data;

    ngx_http_users_change_t  change;

    if (ngx_http_users_notify_parse((u_char *) notify->extra,
                                    ngx_strlen(notify->extra), &change)
        != NGX_OK)
    {
        goto invalid;
    }

    ngx_http_users_revocation_changed(l->umcf, &change);

    /* only a listener in step moves its mark: a gap is for the log */
    if (l->state == NGX_HTTP_USERS_LISTENER_SYNCED) {
        if (change.state.auth_seq > l->synced_seq) {
            l->synced_seq = change.state.auth_seq;
        }

    } else if (change.state.auth_seq > l->heard_seq) {
        l->heard_seq = change.state.auth_seq;
    }

    return;

invalid:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "users: invalid notification \"%s\" on \"%s\"",
                  notify->extra, notify->relname);

    /* the change is in the log: read it from there */
    ngx_http_users_listener_down(l, "an invalid notification");
}


static void
ngx_http_users_listener_closed(void *data)
{
    ngx_http_users_listener_down(data, "connection closed");
}


/* the shared state stops answering first; the next beat starts over */

static void
ngx_http_users_listener_down(ngx_http_users_listener_t *l, char *why)
{
    ngx_http_users_listener_state(l, NGX_HTTP_USERS_LISTENER_DOWN);

    if (!l->off_logged) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "users: revocation listener down (%s): tokens are "
                      "checked against the database on every request "
                      "until it is back", why);
        l->off_logged = 1;
    }
}


/* the gauge of listeners in step follows every change of state */

static void
ngx_http_users_listener_state(ngx_http_users_listener_t *l,
    ngx_http_users_listener_state_e state)
{
    if (l->state == state) {
        return;
    }

    if (state == NGX_HTTP_USERS_LISTENER_SYNCED) {
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_LISTENERS_IN_STEP, 1);

    } else if (l->state == NGX_HTTP_USERS_LISTENER_SYNCED) {
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_LISTENERS_IN_STEP,
                                   -1);
    }

    l->state = state;
}


static ngx_int_t
ngx_http_users_listener_int(PGresult *res, int row, int col, int64_t *value)
{
    ngx_str_t  s;

    if (PQgetisnull(res, row, col)) {
        return NGX_ERROR;
    }

    s.data = (u_char *) PQgetvalue(res, row, col);
    s.len = PQgetlength(res, row, col);

    return ngx_http_users_parse_number(&s, value);
}
