
/*
 * Copyright (C) ngx_users authors
 *
 * The fast path of the login throttle: accounts PostgreSQL has refused
 * (the count itself is the login_attempts table, see sql/0004), kept in a
 * shared memory zone until their window ends, so that a flood against a
 * blocked account is refused without asking the database.  Forgetting an
 * entry (a full zone evicts the oldest) only costs that round trip: the
 * database refuses again.  Keys are a BLAKE2b digest of the ASCII-folded
 * username; a spelling folded otherwise misses here and is refused there.
 */


#include "ngx_http_users_module.h"
#include <sodium.h>


#define NGX_HTTP_USERS_THROTTLE_KEY  16


typedef struct {
    ngx_str_node_t                sn;       /* the digest, by its first word */
    ngx_queue_t                   queue;    /* most recently blocked first */
    u_char                        digest[NGX_HTTP_USERS_THROTTLE_KEY];
    time_t                        until;
} ngx_http_users_throttle_node_t;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   queue;
} ngx_http_users_throttle_sh_t;


/* ngx_http_users_shm_ctx_t, typed */
typedef struct {
    ngx_http_users_throttle_sh_t *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_users_throttle_ctx_t;


static ngx_int_t ngx_http_users_throttle_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static uint32_t ngx_http_users_throttle_hash(u_char *digest);
static ngx_http_users_throttle_node_t *ngx_http_users_throttle_lookup(
    ngx_http_users_throttle_ctx_t *ctx, u_char *digest);
static void ngx_http_users_throttle_digest(ngx_str_t *account,
    u_char *digest);
static void ngx_http_users_throttle_expire(ngx_http_users_throttle_ctx_t *ctx,
    ngx_uint_t n);


char *
ngx_http_users_throttle_zone(ngx_conf_t *cf, ngx_http_users_main_conf_t *umcf,
    ngx_str_t *name, ssize_t size)
{
    ngx_http_users_throttle_ctx_t  *ctx;

    static ngx_str_t  default_name = ngx_string("users_login");

    if (name == NULL) {
        name = &default_name;
        size = 1024 * 1024;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "users_login_throttle zone \"%V\" is too small",
                           name);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_throttle_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    umcf->throttle_zone = ngx_shared_memory_add(cf, name, size,
                                                &ngx_http_users_module);
    if (umcf->throttle_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (umcf->throttle_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", name);
        return NGX_CONF_ERROR;
    }

    umcf->throttle_zone->init = ngx_http_users_throttle_init_zone;
    umcf->throttle_zone->data = ctx;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_users_throttle_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                          len;
    ngx_int_t                       rc;
    ngx_http_users_throttle_ctx_t  *ctx;

    rc = ngx_http_users_shm_attach(shm_zone, data,
                                   sizeof(ngx_http_users_throttle_sh_t));
    if (rc != NGX_DONE) {
        return rc;
    }

    ctx = shm_zone->data;

    ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ctx->sh->queue);

    len = sizeof(" in users_login_throttle zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in users_login_throttle zone \"%V\"%Z",
                &shm_zone->shm.name);

    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


/* seconds until the account may try again, 0 when it may now */

time_t
ngx_http_users_throttle_check(ngx_http_users_main_conf_t *umcf,
    ngx_str_t *account)
{
    time_t                           now, wait;
    u_char                           digest[NGX_HTTP_USERS_THROTTLE_KEY];
    ngx_http_users_throttle_ctx_t   *ctx;
    ngx_http_users_throttle_node_t  *tn;

    ngx_http_users_throttle_digest(account, digest);

    ctx = umcf->throttle_zone->data;
    now = ngx_time();
    wait = 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    tn = ngx_http_users_throttle_lookup(ctx, digest);

    if (tn && now < tn->until) {
        wait = tn->until - now;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return wait;
}


/* PostgreSQL refused the account for wait more seconds */

void
ngx_http_users_throttle_block(ngx_http_users_main_conf_t *umcf,
    ngx_str_t *account, time_t wait)
{
    u_char                           digest[NGX_HTTP_USERS_THROTTLE_KEY];
    ngx_queue_t                     *q;
    ngx_http_users_throttle_ctx_t   *ctx;
    ngx_http_users_throttle_node_t  *tn;

    ngx_http_users_throttle_digest(account, digest);

    ctx = umcf->throttle_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    ngx_http_users_throttle_expire(ctx, 2);

    tn = ngx_http_users_throttle_lookup(ctx, digest);

    if (tn) {
        ngx_queue_remove(&tn->queue);
        tn->until = ngx_time() + wait;
        ngx_queue_insert_head(&ctx->sh->queue, &tn->queue);

        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return;
    }

    tn = ngx_slab_alloc_locked(ctx->shpool,
                               sizeof(ngx_http_users_throttle_node_t));

    if (tn == NULL && !ngx_queue_empty(&ctx->sh->queue)) {
        /* full: the oldest block is left to the database */
        q = ngx_queue_last(&ctx->sh->queue);
        tn = ngx_queue_data(q, ngx_http_users_throttle_node_t, queue);

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->rbtree, &tn->sn.node);
    }

    if (tn == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return;
    }

    ngx_memcpy(tn->digest, digest, NGX_HTTP_USERS_THROTTLE_KEY);
    tn->sn.str.len = NGX_HTTP_USERS_THROTTLE_KEY;
    tn->sn.str.data = tn->digest;
    tn->sn.node.key = ngx_http_users_throttle_hash(digest);
    tn->until = ngx_time() + wait;

    ngx_rbtree_insert(&ctx->sh->rbtree, &tn->sn.node);
    ngx_queue_insert_head(&ctx->sh->queue, &tn->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


void
ngx_http_users_throttle_reset(ngx_http_users_main_conf_t *umcf,
    ngx_str_t *account)
{
    u_char                           digest[NGX_HTTP_USERS_THROTTLE_KEY];
    ngx_http_users_throttle_ctx_t   *ctx;
    ngx_http_users_throttle_node_t  *tn;

    ngx_http_users_throttle_digest(account, digest);

    ctx = umcf->throttle_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    tn = ngx_http_users_throttle_lookup(ctx, digest);

    if (tn) {
        ngx_queue_remove(&tn->queue);
        ngx_rbtree_delete(&ctx->sh->rbtree, &tn->sn.node);
        ngx_slab_free_locked(ctx->shpool, tn);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* blocks that have ended, oldest first, a few at a time */

static void
ngx_http_users_throttle_expire(ngx_http_users_throttle_ctx_t *ctx,
    ngx_uint_t n)
{
    time_t                           now;
    ngx_queue_t                     *q;
    ngx_http_users_throttle_node_t  *tn;

    now = ngx_time();

    while (n-- && !ngx_queue_empty(&ctx->sh->queue)) {
        q = ngx_queue_last(&ctx->sh->queue);
        tn = ngx_queue_data(q, ngx_http_users_throttle_node_t, queue);

        if (now < tn->until) {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->rbtree, &tn->sn.node);
        ngx_slab_free_locked(ctx->shpool, tn);
    }
}


static ngx_http_users_throttle_node_t *
ngx_http_users_throttle_lookup(ngx_http_users_throttle_ctx_t *ctx,
    u_char *digest)
{
    ngx_str_t  key;

    key.len = NGX_HTTP_USERS_THROTTLE_KEY;
    key.data = digest;

    return (ngx_http_users_throttle_node_t *)
               ngx_str_rbtree_lookup(&ctx->sh->rbtree, &key,
                                     ngx_http_users_throttle_hash(digest));
}


/* the digest is a hash already: its first word orders the tree */

static uint32_t
ngx_http_users_throttle_hash(u_char *digest)
{
    uint32_t  hash;

    ngx_memcpy(&hash, digest, sizeof(uint32_t));

    return hash;
}


/* ASCII case folding: PostgreSQL's lower() for ASCII addresses */

static void
ngx_http_users_throttle_digest(ngx_str_t *account, u_char *digest)
{
    u_char                         buf[64];
    size_t                         i, n;
    crypto_generichash_state       st;

    crypto_generichash_init(&st, NULL, 0, NGX_HTTP_USERS_THROTTLE_KEY);

    for (i = 0; i < account->len; i += n) {
        n = ngx_min(account->len - i, sizeof(buf));
        ngx_strlow(buf, account->data + i, n);
        crypto_generichash_update(&st, buf, n);
    }

    crypto_generichash_final(&st, digest, NGX_HTTP_USERS_THROTTLE_KEY);
}
