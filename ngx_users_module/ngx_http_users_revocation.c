
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
 * The state is trusted only while this worker's listener is in step.
 */


#include "ngx_http_users_module.h"


/* the auth_seq of a user found missing: deletion is final, ids not reused */
#define NGX_HTTP_USERS_STATE_GONE  INT64_MAX


typedef struct {
    ngx_rbtree_node_t             node;     /* key: the user id */
    ngx_queue_t                   queue;    /* most recently used first */
    ngx_http_users_state_t        state;
} ngx_http_users_state_node_t;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   queue;

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
 * ident->checked set, or NGX_DECLINED when the user is not there or the
 * listener is not in step (then only the database can say).
 */

ngx_int_t
ngx_http_users_revocation_check(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident)
{
    ngx_http_users_state_t        state;
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

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users state of user %L: %s", ident->id,
                   sn ? "known" : "unknown");

    if (sn == NULL) {
        return NGX_DECLINED;
    }

    ngx_http_users_revocation_apply(ident, &state);

    return NGX_OK;
}


/* what a state says of the request's token */

void
ngx_http_users_revocation_apply(ngx_http_users_ident_t *ident,
    ngx_http_users_state_t *state)
{
    ident->checked = 1;
    ident->current = state->version >= 0
                     && state->version == ident->version
                     && state->active;
    ident->superuser = ident->current && state->superuser;
}


/* a state read from the users table, the request's own check */

void
ngx_http_users_revocation_loaded(ngx_http_users_main_conf_t *umcf,
    int64_t id, ngx_http_users_state_t *state)
{
    ngx_http_users_state_ctx_t  *ctx;

    if (umcf->state_zone == NULL) {
        return;
    }

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    (void) ngx_http_users_revocation_put(ctx, id, state, 1);

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* a change the listener heard of, or read from the log */

void
ngx_http_users_revocation_changed(ngx_http_users_main_conf_t *umcf,
    int64_t id, ngx_http_users_state_t *state)
{
    ngx_uint_t                   applied;
    ngx_http_users_state_ctx_t  *ctx;

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    applied = ngx_http_users_revocation_put(ctx, id, state, 0);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    /* every worker hears each change: the first applies it */
    if (applied) {
        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_REVOCATION_CHANGES, 1);
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "users state change %L of user %L: version %i "
                   "active:%d %s", state->auth_seq, id, state->version,
                   state->active, applied ? "applied" : "older, ignored");
}


/* the max-merge, under the zone's lock; 1 when the state was kept */

static ngx_uint_t
ngx_http_users_revocation_put(ngx_http_users_state_ctx_t *ctx, int64_t id,
    ngx_http_users_state_t *state, ngx_uint_t loaded)
{
    ngx_queue_t                  *q;
    ngx_http_users_state_node_t  *sn, *old;

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

    if (sn == NULL && !ngx_queue_empty(&ctx->sh->queue)) {
        q = ngx_queue_last(&ctx->sh->queue);
        old = ngx_queue_data(q, ngx_http_users_state_node_t, queue);

        if (old->state.auth_seq != NGX_HTTP_USERS_STATE_GONE
            && old->state.auth_seq > ctx->sh->evicted_seq)
        {
            ctx->sh->evicted_seq = old->state.auth_seq;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->rbtree, &old->node);
        sn = old;
    }

    if (sn == NULL) {
        return 0;
    }

    sn->node.key = (ngx_rbtree_key_t) id;
    sn->state = *state;

    ngx_rbtree_insert(&ctx->sh->rbtree, &sn->node);
    ngx_queue_insert_head(&ctx->sh->queue, &sn->queue);

    return 1;
}


/* changes were lost (the log was purged past them): forget every state */

void
ngx_http_users_revocation_reset(ngx_http_users_main_conf_t *umcf)
{
    ngx_queue_t                  *q;
    ngx_http_users_state_ctx_t   *ctx;
    ngx_http_users_state_node_t  *sn;

    ctx = umcf->state_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    while (!ngx_queue_empty(&ctx->sh->queue)) {
        q = ngx_queue_head(&ctx->sh->queue);
        sn = ngx_queue_data(q, ngx_http_users_state_node_t, queue);

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->rbtree, &sn->node);
        ngx_slab_free_locked(ctx->shpool, sn);
    }

    ctx->sh->epoch++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* a row of NGX_HTTP_USERS_SQL_AUTH_STATE, or none: the user is gone */

void
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
