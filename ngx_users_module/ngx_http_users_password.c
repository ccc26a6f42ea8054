
/*
 * Copyright (C) ngx_users authors
 *
 * Argon2id (libsodium's crypto_pwhash_str) on a dedicated nginx thread
 * pool: a hash costs tens of milliseconds and must never run on the event
 * loop.  The thread touches only its task: the password and hash copies in
 * request-pool memory that r->main->blocked keeps alive, and the cost
 * parameters.
 */


#include "ngx_http_users_module.h"
#include <sodium.h>
#include <sys/resource.h>
#include <sys/syscall.h>


static void ngx_http_users_password_thread(void *data, ngx_log_t *log);
static uint64_t ngx_http_users_password_usec(void);
static void ngx_http_users_password_done(ngx_event_t *ev);
static ngx_msec_t ngx_http_users_password_floor(ngx_http_users_pw_task_t *t);
static void ngx_http_users_password_evened(ngx_event_t *ev);
static void ngx_http_users_password_wake(ngx_http_request_t *r);
static void ngx_http_users_password_slow(ngx_event_t *ev);


/*
 * How long a verify takes in this worker, in microseconds: the last few at
 * the current cost (seeded by the master's dummy hash), and the longest
 * one seen at any other cost.  A failed verify is answered no sooner than
 * the longest of these, so that the time of a failure tells nothing of
 * the hash, or the absence of one, behind the address.  The longest, not
 * an average: on a busy machine a verify's time spreads, and a failure
 * held only to the average would still answer sooner than most real ones.
 */
#define NGX_HTTP_USERS_VERIFY_KEPT  16

static uint64_t    ngx_http_users_verify_usec[NGX_HTTP_USERS_VERIFY_KEPT];
static ngx_uint_t  ngx_http_users_verify_next;
static uint64_t    ngx_http_users_verify_other_usec;


/*
 * A gracefully stopping worker exits once no timer is left, and a thread
 * task has none: this one keeps the worker until the hash is done.
 */
#define NGX_HTTP_USERS_PASSWORD_GUARD  60000


ngx_int_t
ngx_http_users_password_post(ngx_http_request_t *r, ngx_http_users_pw_e kind,
    ngx_str_t *password, ngx_str_t *hash, ngx_http_users_handler_pt resume)
{
    ngx_thread_task_t           *task;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_pw_task_t    *t;
    ngx_http_users_main_conf_t  *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_users_pw_task_t));
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t = task->ctx;

    t->kind = kind;
    t->opslimit = umcf->pw_opslimit;
    t->memlimit = umcf->pw_memlimit;
    t->priority = umcf->pw_priority;
    t->password_len = password->len;

    t->password = ngx_pnalloc(r->pool, password->len + 1);
    t->out = ngx_pnalloc(r->pool, crypto_pwhash_STRBYTES);
    if (t->password == NULL || t->out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the decoded copy the caller parsed is not needed any more */
    ngx_memcpy(t->password, password->data, password->len);
    sodium_memzero(password->data, password->len);

    if (kind == NGX_HTTP_USERS_PW_VERIFY) {
        /* an unknown account costs the same: the dummy hash is verified */
        if (hash == NULL || hash->len == 0) {
            hash = &umcf->dummy_hash;
        }

        t->hash = ngx_pnalloc(r->pool, hash->len + 1);
        if (t->hash == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(t->hash, hash->data, hash->len);
        t->hash[hash->len] = '\0';
    }

    task->handler = ngx_http_users_password_thread;
    task->event.handler = ngx_http_users_password_done;
    task->event.data = r;

    if (ngx_thread_task_post(umcf->thread_pool, task) != NGX_OK) {
        /* the queue is full: the service is saturated, not broken */
        sodium_memzero(t->password, t->password_len);
        return ngx_http_users_send_unavailable(r);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users password %s posted",
                   kind == NGX_HTTP_USERS_PW_HASH ? "hash" : "verification");

    r->main->blocked++;
    ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_HASHING, 1);

    ctx->hashing.handler = ngx_http_users_password_slow;
    ctx->hashing.data = r;
    ctx->hashing.log = r->connection->log;
    ngx_add_timer(&ctx->hashing, NGX_HTTP_USERS_PASSWORD_GUARD);

    ctx->task = t;
    ctx->resume = resume;
    ctx->waiting = 1;
    r->write_event_handler = ngx_http_users_resume;

    return NGX_DONE;
}


/* a new hash of the value of a validated JSON body's key */

ngx_int_t
ngx_http_users_password_hash_key(ngx_http_request_t *r, ngx_uint_t key,
    ngx_http_users_handler_pt resume)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_password_post(r, NGX_HTTP_USERS_PW_HASH,
                                        &ctx->values[key].str, NULL, resume);
}


static void
ngx_http_users_password_thread(void *data, ngx_log_t *log)
{
    ngx_http_users_pw_task_t *t = data;

    static __thread ngx_uint_t  niced;

    /*
     * Hashes take the CPU the event loop leaves: Linux keeps a nice value
     * per thread.  bench/README.md ("The login storm") has what each value
     * did, and when one below the default 19 is better.
     */

    if (!niced) {
        niced = 1;

        if (setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid),
                        (int) t->priority)
            == -1)
        {
            ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                          "setpriority(%i) of an Argon2id thread failed",
                          t->priority);
        }
    }

    if (t->kind == NGX_HTTP_USERS_PW_HASH) {
        t->ok = crypto_pwhash_str((char *) t->out, (char *) t->password,
                                  t->password_len, t->opslimit, t->memlimit)
                == 0;

    } else {
        t->usec = ngx_http_users_password_usec();

        t->ok = crypto_pwhash_str_verify((char *) t->hash,
                                         (char *) t->password,
                                         t->password_len)
                == 0;

        t->usec = ngx_http_users_password_usec() - t->usec;

        t->current = crypto_pwhash_str_needs_rehash((char *) t->hash,
                                                    t->opslimit, t->memlimit)
                     == 0;

        /* an older cost is upgraded while the plaintext is at hand */
        if (t->ok && !t->current) {
            t->rehashed = crypto_pwhash_str((char *) t->out,
                                            (char *) t->password,
                                            t->password_len, t->opslimit,
                                            t->memlimit)
                          == 0;
        }
    }

    sodium_memzero(t->password, t->password_len);
}


static uint64_t
ngx_http_users_password_usec(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static void
ngx_http_users_password_done(ngx_event_t *ev)
{
    ngx_msec_t             delay;
    ngx_http_request_t    *r;
    ngx_http_users_ctx_t  *ctx;

    r = ev->data;

    ngx_http_set_log_request(r->connection->log, r);

    /* the thread is done, whatever became of the request */
    ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_HASHING, -1);

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ctx) {
        if (ctx->hashing.timer_set) {
            ngx_del_timer(&ctx->hashing);
        }

        delay = ngx_http_users_password_floor(ctx->task);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users password: done, ok:%d %uL us, answer in %M ms",
                       ctx->task->ok, ctx->task->usec, delay);

        if (delay) {
            ctx->hashing.handler = ngx_http_users_password_evened;
            ngx_add_timer(&ctx->hashing, delay);
            return;
        }
    }

    ngx_http_users_password_wake(r);
}


/* learns from a verify, and says how long its failure is to be held */

static ngx_msec_t
ngx_http_users_password_floor(ngx_http_users_pw_task_t *t)
{
    uint64_t    floor;
    ngx_uint_t  i;

    if (t->kind != NGX_HTTP_USERS_PW_VERIFY) {
        return 0;
    }

    if (t->current) {
        ngx_http_users_verify_usec[ngx_http_users_verify_next] = t->usec;
        ngx_http_users_verify_next = (ngx_http_users_verify_next + 1)
                                     % NGX_HTTP_USERS_VERIFY_KEPT;

    } else if (t->usec > ngx_http_users_verify_other_usec) {
        ngx_http_users_verify_other_usec = t->usec;
    }

    if (t->ok) {
        return 0;
    }

    floor = ngx_http_users_verify_other_usec;

    for (i = 0; i < NGX_HTTP_USERS_VERIFY_KEPT; i++) {
        floor = ngx_max(floor, ngx_http_users_verify_usec[i]);
    }

    if (t->usec >= floor) {
        return 0;
    }

    return (ngx_msec_t) ((floor - t->usec + 999) / 1000);
}


static void
ngx_http_users_password_evened(ngx_event_t *ev)
{
    ngx_http_request_t  *r;

    r = ev->data;

    ngx_http_set_log_request(r->connection->log, r);

    ngx_http_users_password_wake(r);
}


static void
ngx_http_users_password_wake(ngx_http_request_t *r)
{
    ngx_connection_t      *c;
    ngx_http_users_ctx_t  *ctx;

    c = r->connection;

    r->main->blocked--;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    if (ctx) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "users password task done: ok:%d rehashed:%d",
                       ctx->task->ok, ctx->task->rehashed);

        ctx->waiting = 0;

        /* out holds a hash only if one was made */
        if (ctx->task->kind == NGX_HTTP_USERS_PW_HASH ? ctx->task->ok
                                                      : ctx->task->rehashed)
        {
            ctx->task->new_hash.data = ctx->task->out;
            ctx->task->new_hash.len = ngx_strlen(ctx->task->out);
        }
    }

    /* a request terminated meanwhile has nginx's finalizer here */
    r->write_event_handler(r);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_users_password_slow(ngx_event_t *ev)
{
    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "users: a password hash is still running after %d s",
                  NGX_HTTP_USERS_PASSWORD_GUARD / 1000);
}


/*
 * The hash verified for unknown emails: same parameters as real ones, so
 * a wrong email costs the same time as a wrong password.
 */

ngx_int_t
ngx_http_users_password_dummy(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf)
{
    u_char     random[32];
    uint64_t   start;
    ngx_str_t  password;

    randombytes_buf(random, sizeof(random));

    password.data = random;
    password.len = sizeof(random);

    start = ngx_http_users_password_usec();

    if (ngx_http_users_password_hash_now(cycle->pool, umcf, &password,
                                         &umcf->dummy_hash)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a hash costs what a verify at the same cost does: the workers' seed */
    ngx_memzero(ngx_http_users_verify_usec,
                sizeof(ngx_http_users_verify_usec));
    ngx_http_users_verify_usec[0] = ngx_http_users_password_usec() - start;
    ngx_http_users_verify_next = 1;
    ngx_http_users_verify_other_usec = 0;

    return NGX_OK;
}


/* for the master at configuration time only: it blocks */

ngx_int_t
ngx_http_users_password_hash_now(ngx_pool_t *pool,
    ngx_http_users_main_conf_t *umcf, ngx_str_t *password, ngx_str_t *hash)
{
    hash->data = ngx_pnalloc(pool, crypto_pwhash_STRBYTES);
    if (hash->data == NULL) {
        return NGX_ERROR;
    }

    if (crypto_pwhash_str((char *) hash->data, (char *) password->data,
                          password->len, umcf->pw_opslimit, umcf->pw_memlimit)
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, ngx_cycle->log, 0,
                      "users: crypto_pwhash_str() failed: out of memory?");
        return NGX_ERROR;
    }

    hash->len = ngx_strlen(hash->data);

    sodium_memzero(password->data, password->len);

    return NGX_OK;
}
