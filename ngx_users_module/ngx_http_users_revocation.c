
/*
 * Copyright (C) ngx_users authors
 *
 * Each user's revocation state (token version, active, superuser) in
 * shared memory, so that a guarded request or an API route refuses a
 * revoked token without a query.  PostgreSQL is the truth: a user is
 * loaded on first sight, and the listener (ngx_http_users_listener.c)
 * applies every change PostgreSQL notifies.  Loads and notifications may
 * arrive in any order and any number of times: an entry keeps whichever
 * state has the higher auth_seq, the number of the user's last change.
 *
 * Beside the users, the sessions that ended: a token naming one is
 * refused, whatever its user's state.  An ended session is kept until no
 * access token of it can be alive (the token lifetime from when it was
 * heard of), then dropped.  Unlike a user's state it cannot be loaded
 * again on a miss, so the set must be complete to answer "live": when
 * memory runs out, users' states (which can be loaded again) make room
 * first, and failing that the zone stops answering for tokens with a
 * session until the one it could not keep is harmless.
 *
 * The state is trusted only while this worker's listener is in step.
 */


#include "ngx_http_users_module.h"


/* the auth_seq of a user found missing: deletion is final, ids not reused */
#define NGX_HTTP_USERS_STATE_GONE  INT64_MAX

/* the ended sessions past their time dropped by each insert, at most */
#define NGX_HTTP_USERS_SESSIONS_EXPIRE  4


typedef struct {
    ngx_rbtree_node_t             node;     /* key: the user id */
    ngx_queue_t                   queue;    /* most recently used first */
    ngx_http_users_state_t        state;
} ngx_http_users_state_node_t;


typedef struct {
    ngx_str_node_t                sn;       /* the uuid, by a hash of it */
    ngx_queue_t                   queue;    /* the first to expire first */
    time_t                        expires;  /* its last token's, at most */
    u_char                        uuid[NGX_HTTP_USERS_UUID_SIZE];
} ngx_http_users_session_node_t;


/* what the zone knows of a token's session */
typedef enum {
    NGX_HTTP_USERS_SESSION_LIVE = 0,    /* no session, or not ended */
    NGX_HTTP_USERS_SESSION_ENDED,
    NGX_HTTP_USERS_SESSION_UNKNOWN      /* the set is incomplete */
} ngx_http_users_session_e;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   queue;

    ngx_rbtree_t                  sessions;
    ngx_rbtree_node_t             sessions_sentinel;
    ngx_queue_t                   sessions_queue;

    /*
     * Until then an ended session may be missing, one that memory could
     * not hold: tokens with a session are checked in the database.
     */
    time_t                        sessions_lost;

    /*
     * The highest auth_seq forgotten to make room: a load older than it
     * may be a state an evicted entry had already overtaken, so it is
     * used for its request but not kept.
     */
    int64_t                       evicted_seq;
    ngx_uint_t                    epoch;    /* bumped by every reset */
} ngx_http_users_state_sh_t;


/* ngx_http_users_shm_ctx_t, typed */
typedef struct {
    ngx_http_users_state_sh_t    *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_users_state_ctx_t;


static ngx_int_t ngx_http_users_revocation_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_users_state_node_t *ngx_http_users_revocation_lookup(
    ngx_http_users_state_ctx_t *ctx, int64_t id);
static ngx_uint_t ngx_http_users_revocation_put(
    ngx_http_users_state_ctx_t *ctx, int64_t id,
    ngx_http_users_state_t *state, ngx_uint_t loaded);
static ngx_http_users_state_node_t *ngx_http_users_revocation_evict(
    ngx_http_users_state_ctx_t *ctx);
static ngx_uint_t ngx_http_users_revocation_current(
    ngx_http_users_ident_t *ident, ngx_http_users_state_t *state);
static void ngx_http_users_revocation_verdict(ngx_http_users_ident_t *ident,
    ngx_http_users_state_t *state, ngx_uint_t ended);
static void ngx_http_users_revocation_row(PGresult *res,
    ngx_http_users_state_t *state);
static ngx_http_users_session_node_t *ngx_http_users_session_lookup(
    ngx_http_users_state_ctx_t *ctx, u_char *uuid, uint32_t hash);
static ngx_http_users_session_e ngx_http_users_session_state(
    ngx_http_users_state_ctx_t *ctx, ngx_http_users_ident_t *ident);
static ngx_int_t ngx_http_users_session_end(ngx_http_users_state_ctx_t *ctx,
    u_char *uuid, time_t ttl);
static void ngx_http_users_session_changed(ngx_http_users_main_conf_t *umcf,
    ngx_http_users_change_t *change);


char *
ngx_http_users_revocation_zone(ngx_conf_t *cf,
    ngx_http_users_main_conf_t *umcf)
{
    ngx_http_users_state_ctx_t  *ctx;

    static ngx_str_t  name = ngx_string("users_auth_state");

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_state_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    umcf->state_zone = ngx_shared_memory_add(cf, &name, umcf->state_size,
                                             &ngx_http_users_module);
    if (umcf->state_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (umcf->state_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    umcf->state_zone->init = ngx_http_users_revocation_init_zone;
    umcf->state_zone->data = ctx;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_users_revocation_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_int_t                    rc;
    ngx_http_users_state_ctx_t  *ctx;

    rc = ngx_http_users_shm_attach(shm_zone, data,
                                   sizeof(ngx_http_users_state_sh_t));
    if (rc != NGX_DONE) {
        return rc;
    }

    ctx = shm_zone->data;

    ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&ctx->sh->queue);

    ngx_rbtree_init(&ctx->sh->sessions, &ctx->sh->sessions_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ctx->sh->sessions_queue);

    /* a full zone forgets its least used entry, which only costs a load */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


static ngx_http_users_state_node_t *
ngx_http_users_revocation_lookup(ngx_http_users_state_ctx_t *ctx, int64_t id)
{
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;

    key = (ngx_rbtree_key_t) id;
    node = ctx->sh->rbtree.root;
    sentinel = ctx->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key == node->key) {
            return (ngx_http_users_state_node_t *) node;
        }

        node = (key < node->key) ? node->left : node->right;
    }

    return NULL;
}


/*
 * The token's state from shared memory, without a query: NGX_OK with
 * ident->checked set, or NGX_DECLINED when only the database can say: the
 * user is not there, the listener is not in step, or the token names a
 * session and the set of ended sessions is incomplete.
 */

ngx_int_t
ngx_http_users_revocation_check(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident)
{
    ngx_http_users_state_t        state;
    ngx_http_users_session_e      session;
    ngx_http_users_state_ctx_t   *ctx;
    ngx_http_users_state_node_t  *sn;
    ngx_http_users_main_conf_t   *umcf;

    if (ident->checked) {
        return NGX_OK;
    }

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (umcf->state_zone == NULL || !ngx_http_users_listener_synced()) {
        return NGX_DECLINED;
    }

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    sn = ngx_http_users_revocation_lookup(ctx, ident->id);

    if (sn) {
        state = sn->state;
        ngx_queue_remove(&sn->queue);
        ngx_queue_insert_head(&ctx->sh->queue, &sn->queue);
    }

    session = ngx_http_users_session_state(ctx, ident);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users state of user %L: %s, session %s", ident->id,
                   sn ? "known" : "unknown",
                   session == NGX_HTTP_USERS_SESSION_ENDED ? "ended"
                   : session == NGX_HTTP_USERS_SESSION_UNKNOWN ? "unknown"
                   : "live");

    /* an ended session is refused whatever its user's state */
    if (session == NGX_HTTP_USERS_SESSION_ENDED) {
        ngx_http_users_revocation_verdict(ident, NULL, 1);
        return NGX_OK;
    }

    if (sn == NULL) {
        return NGX_DECLINED;
    }

    /* a revoked user needs no session's word; a current one does */
    if (session == NGX_HTTP_USERS_SESSION_UNKNOWN
        && ngx_http_users_revocation_current(ident, &state))
    {
        return NGX_DECLINED;
    }

    ngx_http_users_revocation_verdict(ident, &state, 0);

    return NGX_OK;
}


/* the user's state lets the token's version in */

static ngx_uint_t
ngx_http_users_revocation_current(ngx_http_users_ident_t *ident,
    ngx_http_users_state_t *state)
{
    return state->version >= 0
           && state->version == ident->version
           && state->active;
}


/* what a state, or an ended session (state NULL), says of the token */

static void
ngx_http_users_revocation_verdict(ngx_http_users_ident_t *ident,
    ngx_http_users_state_t *state, ngx_uint_t ended)
{
    ident->checked = 1;
    ident->current = !ended && ngx_http_users_revocation_current(ident, state);
    ident->superuser = ident->current && state->superuser;
}


/*
 * The request's own users_auth_state row (or none: the user is gone):
 * its verdict for the token, and the user's state kept for the next ones.
 */

void
ngx_http_users_revocation_loaded(ngx_http_users_main_conf_t *umcf,
    ngx_http_users_ident_t *ident, PGresult *res)
{
    ngx_uint_t                   ended;
    ngx_http_users_state_t       state;
    ngx_http_users_state_ctx_t  *ctx;

    ngx_http_users_revocation_row(res, &state);

    ended = PQntuples(res) > 0
            && PQgetvalue(res, 0, NGX_HTTP_USERS_STATE_SESSION_ENDED)[0]
               == 't';

    ngx_http_users_revocation_verdict(ident, &state, ended);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "users state of user %L loaded: version %i active:%d "
                   "session ended:%ui", ident->id, state.version,
                   state.active, ended);

    if (umcf->state_zone == NULL) {
        return;
    }

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    (void) ngx_http_users_revocation_put(ctx, ident->id, &state, 1);

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* a change the listener heard of, or read from the log */

void
ngx_http_users_revocation_changed(ngx_http_users_main_conf_t *umcf,
    ngx_http_users_change_t *change)
{
    ngx_uint_t                   applied;
    ngx_http_users_state_ctx_t  *ctx;

    if (change->ended) {
        ngx_http_users_session_changed(umcf, change);
        return;
    }

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    applied = ngx_http_users_revocation_put(ctx, change->user,
                                            &change->state, 0);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    /* every worker hears each change: the first applies it */
    if (applied) {
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_REVOCATION_CHANGES, 1);
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "users state change %L of user %L: version %i "
                   "active:%d %s", change->state.auth_seq, change->user,
                   change->state.version, change->state.active,
                   applied ? "applied" : "older, ignored");
}


/* the max-merge, under the zone's lock; 1 when the state was kept */

static ngx_uint_t
ngx_http_users_revocation_put(ngx_http_users_state_ctx_t *ctx, int64_t id,
    ngx_http_users_state_t *state, ngx_uint_t loaded)
{
    ngx_http_users_state_node_t  *sn;

    sn = ngx_http_users_revocation_lookup(ctx, id);

    if (sn) {
        if (sn->state.auth_seq >= state->auth_seq) {
            return 0;
        }

        sn->state = *state;
        ngx_queue_remove(&sn->queue);
        ngx_queue_insert_head(&ctx->sh->queue, &sn->queue);

        return 1;
    }

    if (loaded && state->auth_seq < ctx->sh->evicted_seq) {
        return 0;
    }

    sn = ngx_slab_alloc_locked(ctx->shpool,
                               sizeof(ngx_http_users_state_node_t));

    if (sn == NULL) {
        sn = ngx_http_users_revocation_evict(ctx);

        if (sn == NULL) {
            return 0;
        }
    }

    sn->node.key = (ngx_rbtree_key_t) id;
    sn->state = *state;

    ngx_rbtree_insert(&ctx->sh->rbtree, &sn->node);
    ngx_queue_insert_head(&ctx->sh->queue, &sn->queue);

    return 1;
}


/*
 * The least used user's state, out of the tree and the queue, its memory
 * for the caller; NULL when there is none.
 */

static ngx_http_users_state_node_t *
ngx_http_users_revocation_evict(ngx_http_users_state_ctx_t *ctx)
{
    ngx_queue_t                  *q;
    ngx_http_users_state_node_t  *old;

    if (ngx_queue_empty(&ctx->sh->queue)) {
        return NULL;
    }

    q = ngx_queue_last(&ctx->sh->queue);
    old = ngx_queue_data(q, ngx_http_users_state_node_t, queue);

    if (old->state.auth_seq != NGX_HTTP_USERS_STATE_GONE
        && old->state.auth_seq > ctx->sh->evicted_seq)
    {
        ctx->sh->evicted_seq = old->state.auth_seq;
    }

    ngx_queue_remove(q);
    ngx_rbtree_delete(&ctx->sh->rbtree, &old->node);

    return old;
}


/* changes were lost (the log was purged past them): forget every state */

void
ngx_http_users_revocation_reset(ngx_http_users_main_conf_t *umcf)
{
    ngx_queue_t                    *q;
    ngx_http_users_state_ctx_t     *ctx;
    ngx_http_users_state_node_t    *sn;
    ngx_http_users_session_node_t  *en;

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    while (!ngx_queue_empty(&ctx->sh->queue)) {
        q = ngx_queue_head(&ctx->sh->queue);
        sn = ngx_queue_data(q, ngx_http_users_state_node_t, queue);

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->rbtree, &sn->node);
        ngx_slab_free_locked(ctx->shpool, sn);
    }

    /* the catch-up that follows reads the ended sessions the log holds */
    while (!ngx_queue_empty(&ctx->sh->sessions_queue)) {
        q = ngx_queue_head(&ctx->sh->sessions_queue);
        en = ngx_queue_data(q, ngx_http_users_session_node_t, queue);

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->sessions, &en->sn.node);
        ngx_slab_free_locked(ctx->shpool, en);
    }

    ctx->sh->sessions_lost = 0;
    ctx->sh->epoch++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* a row of NGX_HTTP_USERS_SQL_AUTH_STATE, or none: the user is gone */

static void
ngx_http_users_revocation_row(PGresult *res, ngx_http_users_state_t *state)
{
    ngx_str_t  seq;

    ngx_memzero(state, sizeof(ngx_http_users_state_t));

    if (PQntuples(res) == 0) {
        state->version = -1;
        state->auth_seq = NGX_HTTP_USERS_STATE_GONE;
        return;
    }

    state->version = ngx_atoi((u_char *) PQgetvalue(res, 0,
                                           NGX_HTTP_USERS_STATE_VERSION),
                              PQgetlength(res, 0,
                                          NGX_HTTP_USERS_STATE_VERSION));
    state->active = PQgetvalue(res, 0, NGX_HTTP_USERS_STATE_ACTIVE)[0] == 't';
    state->superuser =
        PQgetvalue(res, 0, NGX_HTTP_USERS_STATE_SUPERUSER)[0] == 't';

    seq.data = (u_char *) PQgetvalue(res, 0, NGX_HTTP_USERS_STATE_SEQ);
    seq.len = PQgetlength(res, 0, NGX_HTTP_USERS_STATE_SEQ);

    /* 0 for a user never changed: any notified change beats it */
    if (ngx_http_users_parse_id(&seq, &state->auth_seq) != NGX_OK) {
        state->auth_seq = 0;
    }
}


/* ended sessions: by a hash of the uuid, then by the uuid's bytes */

static ngx_http_users_session_node_t *
ngx_http_users_session_lookup(ngx_http_users_state_ctx_t *ctx, u_char *uuid,
    uint32_t hash)
{
    ngx_str_t  key;

    key.len = NGX_HTTP_USERS_UUID_SIZE;
    key.data = uuid;

    return (ngx_http_users_session_node_t *)
               ngx_str_rbtree_lookup(&ctx->sh->sessions, &key, hash);
}


/* under the zone's lock */

static ngx_http_users_session_e
ngx_http_users_session_state(ngx_http_users_state_ctx_t *ctx,
    ngx_http_users_ident_t *ident)
{
    if (ident->sid.len == 0) {
        return NGX_HTTP_USERS_SESSION_LIVE;
    }

    /* an ended session stays ended: known, it answers whatever was lost */
    if (ngx_http_users_session_lookup(ctx, ident->session,
                                      ngx_crc32_short(ident->session,
                                                  NGX_HTTP_USERS_UUID_SIZE)))
    {
        return NGX_HTTP_USERS_SESSION_ENDED;
    }

    if (ctx->sh->sessions_lost > ngx_time()) {
        return NGX_HTTP_USERS_SESSION_UNKNOWN;
    }

    return NGX_HTTP_USERS_SESSION_LIVE;
}


static void
ngx_http_users_session_changed(ngx_http_users_main_conf_t *umcf,
    ngx_http_users_change_t *change)
{
    ngx_int_t                    rc;
    ngx_http_users_state_ctx_t  *ctx;

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    rc = ngx_http_users_session_end(ctx, change->session, umcf->jwt_ttl);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "users state change %L of user %L: session %*xs %s",
                   change->state.auth_seq, change->user,
                   (size_t) NGX_HTTP_USERS_UUID_SIZE, change->session,
                   rc == NGX_OK ? "ended" : rc == NGX_DONE ? "ended already"
                   : "lost");

    if (rc == NGX_OK) {
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_REVOCATION_CHANGES, 1);

    } else if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "users: the shared state is full: tokens with a "
                      "session are checked against the database for the "
                      "next %T s", umcf->jwt_ttl);
    }
}


/*
 * Under the zone's lock: NGX_OK when the session is now kept as ended,
 * NGX_DONE when it was already, NGX_DECLINED when it could not be kept
 * (and the set was complete until then), NGX_ABORT when it could not be
 * kept and the set was incomplete already.
 */

static ngx_int_t
ngx_http_users_session_end(ngx_http_users_state_ctx_t *ctx, u_char *uuid,
    time_t ttl)
{
    time_t                          now, lost;
    uint32_t                        hash;
    ngx_uint_t                      n;
    ngx_queue_t                    *q;
    ngx_http_users_state_node_t    *sn;
    ngx_http_users_session_node_t  *en;

    hash = ngx_crc32_short(uuid, NGX_HTTP_USERS_UUID_SIZE);

    /* the notification and the catch-up, and every worker, tell it again */
    if (ngx_http_users_session_lookup(ctx, uuid, hash)) {
        return NGX_DONE;
    }

    now = ngx_time();

    /* a few whose tokens are all expired now go, the oldest first */
    for (n = 0; n < NGX_HTTP_USERS_SESSIONS_EXPIRE; n++) {

        if (ngx_queue_empty(&ctx->sh->sessions_queue)) {
            break;
        }

        q = ngx_queue_head(&ctx->sh->sessions_queue);
        en = ngx_queue_data(q, ngx_http_users_session_node_t, queue);

        if (en->expires > now) {
            break;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->sessions, &en->sn.node);
        ngx_slab_free_locked(ctx->shpool, en);
    }

    /* users' states can be loaded again; an ended session cannot */
    for ( ;; ) {
        en = ngx_slab_alloc_locked(ctx->shpool,
                                   sizeof(ngx_http_users_session_node_t));
        if (en) {
            break;
        }

        sn = ngx_http_users_revocation_evict(ctx);
        if (sn == NULL) {
            break;
        }

        ngx_slab_free_locked(ctx->shpool, sn);
    }

    if (en == NULL) {
        /* its tokens, issued before it ended, are all expired by then */
        lost = ctx->sh->sessions_lost;
        ctx->sh->sessions_lost = ngx_max(lost, now + ttl);

        return (lost > now) ? NGX_ABORT : NGX_DECLINED;
    }

    /* heard of after it ended: its tokens expire before this */
    ngx_memcpy(en->uuid, uuid, NGX_HTTP_USERS_UUID_SIZE);
    en->sn.str.len = NGX_HTTP_USERS_UUID_SIZE;
    en->sn.str.data = en->uuid;
    en->sn.node.key = hash;
    en->expires = now + ttl;

    ngx_rbtree_insert(&ctx->sh->sessions, &en->sn.node);
    ngx_queue_insert_tail(&ctx->sh->sessions_queue, &en->queue);

    return NGX_OK;
}
