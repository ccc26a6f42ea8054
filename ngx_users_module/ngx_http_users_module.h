
/*
 * Copyright (C) ngx_users authors
 *
 * Types shared by the files of ngx_http_users_module: configuration, the
 * request context, the PostgreSQL operation, and the prototypes each file
 * exports.  One concern per file; the file name says which.
 */


#ifndef _NGX_HTTP_USERS_MODULE_H_INCLUDED_
#define _NGX_HTTP_USERS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>
#include <jansson.h>


#if !(NGX_THREADS)
#error ngx_http_users_module needs nginx built --with-threads
#endif


#define NGX_HTTP_USERS_VERSION        "1.0.0"

/* request ids: 1 to 128 characters of A-Z a-z 0-9 . _ : - */
#define NGX_HTTP_USERS_REQUEST_ID_MAX 128

/* the most a statement of ngx_http_users_sql[] takes, users_login_settle */
#define NGX_HTTP_USERS_MAX_PARAMS     13

#define NGX_HTTP_USERS_UNPROCESSABLE       422
#define NGX_HTTP_USERS_HEADERS_TOO_LARGE   431

#define NGX_HTTP_USERS_PASSWORD_MIN   8
#define NGX_HTTP_USERS_PASSWORD_MAX   128

/* the longest bearer token looked at; a longer one is refused unread */
#define NGX_HTTP_USERS_TOKEN_MAX      4096

/* a session's id: 16 bytes, as text 8-4-4-4-12 lowercase hex digits */
#define NGX_HTTP_USERS_UUID_SIZE      16
#define NGX_HTTP_USERS_UUID_LEN       36


typedef struct ngx_http_users_pg_pool_s  ngx_http_users_pg_pool_t;
typedef struct ngx_http_users_pg_op_s    ngx_http_users_pg_op_t;
typedef struct ngx_http_users_ctx_s      ngx_http_users_ctx_t;
typedef struct ngx_http_users_route_s    ngx_http_users_route_t;
typedef struct ngx_http_users_value_s    ngx_http_users_value_t;
typedef struct ngx_http_users_pw_task_s  ngx_http_users_pw_task_t;
typedef struct ngx_http_users_ident_s    ngx_http_users_ident_t;


/* the algorithms a signing key may have; one per key */
typedef enum {
    NGX_HTTP_USERS_ALG_HS256 = 0,
    NGX_HTTP_USERS_ALG_EDDSA,
    NGX_HTTP_USERS_ALG_ES256
} ngx_http_users_alg_e;

#define NGX_HTTP_USERS_KID_MAX        64
/* a secret shorter than this makes HS256 guessable offline */
#define NGX_HTTP_USERS_JWT_SECRET_MIN 32
#define NGX_HTTP_USERS_SIG_MAX        64   /* Ed25519, ES256's r||s */


/* a key of users_jwt_key, or users_jwt_secret (no kid) */
typedef struct {
    ngx_str_t                 kid;         /* empty: users_jwt_secret */
    ngx_http_users_alg_e      alg;
    ngx_str_t                 secret;      /* HS256 */
    void                     *pkey;        /* ES256: its EVP_PKEY */
    u_char                    pk[64];      /* Ed25519 pk; P-256 x || y */
    u_char                    sk[64];      /* Ed25519, libsodium's form */
    unsigned                  private:1;   /* may sign */
    unsigned                  sign:1;      /* marked "sign" */
} ngx_http_users_key_t;


/* the key set of one configuration: fixed until the next reload */
typedef struct {
    ngx_array_t              *keys;        /* users_jwt_key, by kid */
    ngx_http_users_key_t     *secret;      /* tokens without kid, if any */
    ngx_http_users_key_t     *signer;
    ngx_str_t                 jwks;        /* GET /.well-known/jwks.json */
} ngx_http_users_keys_t;


/* ids of the prepared statements; their SQL is in ngx_http_users_sql.c */
typedef enum {
    NGX_HTTP_USERS_SQL_AUTH = 0,
    NGX_HTTP_USERS_SQL_AUTH_PASSWORD,
    NGX_HTTP_USERS_SQL_PROFILE_ME,
    NGX_HTTP_USERS_SQL_PREFERENCES_ME,
    NGX_HTTP_USERS_SQL_PING,
    NGX_HTTP_USERS_SQL_LOGIN,
    NGX_HTTP_USERS_SQL_LOGIN_FAILED,
    NGX_HTTP_USERS_SQL_LOGIN_SETTLE,
    NGX_HTTP_USERS_SQL_REGISTER,
    NGX_HTTP_USERS_SQL_LOGOUT,
    NGX_HTTP_USERS_SQL_LOGOUT_SESSIONS,
    NGX_HTTP_USERS_SQL_REFRESH,
    NGX_HTTP_USERS_SQL_REFRESH_REPLAY,
    NGX_HTTP_USERS_SQL_SESSIONS_LIST,
    NGX_HTTP_USERS_SQL_SESSION_DELETE,
    NGX_HTTP_USERS_SQL_USER_SESSIONS,
    NGX_HTTP_USERS_SQL_USER_SESSIONS_DELETE,
    NGX_HTTP_USERS_SQL_FIRST_SUPERUSER,
    NGX_HTTP_USERS_SQL_USER_LIST,
    NGX_HTTP_USERS_SQL_USER_GET,
    NGX_HTTP_USERS_SQL_USER_UPDATE,
    NGX_HTTP_USERS_SQL_USER_DELETE,
    NGX_HTTP_USERS_SQL_PROFILE_UPDATE,
    NGX_HTTP_USERS_SQL_PREFERENCES_UPDATE,
    NGX_HTTP_USERS_SQL_AVATAR_DELETE,
    NGX_HTTP_USERS_SQL_PUBLIC_PROFILE,
    NGX_HTTP_USERS_SQL_AUDIT_LIST,
    NGX_HTTP_USERS_SQL_AUTH_STATE,
    NGX_HTTP_USERS_SQL_AUTH_LISTEN,
    NGX_HTTP_USERS_SQL_AUTH_CHANGES,
    NGX_HTTP_USERS_SQL_AUTH_HEARTBEAT,
    NGX_HTTP_USERS_SQL_COUNT
} ngx_http_users_sql_e;


/* the parameters a statement takes besides its handler's */
#define NGX_HTTP_USERS_TAKES_CALLER  0x01  /* $1, $2: the caller, own check */
#define NGX_HTTP_USERS_TAKES_AUDIT   0x02  /* the last: the audit context */


typedef struct {
    ngx_str_t                 name;
    const char               *text;
    int                       nparams;
    ngx_uint_t                takes;       /* NGX_HTTP_USERS_TAKES_* */
} ngx_http_users_sql_t;


typedef struct {
    ngx_str_t                 conninfo;     /* as configured, for messages */
    const char              **keywords;     /* NULL-terminated, for libpq */
    const char              **values;

    ngx_uint_t                size;
    ngx_uint_t                queue;
    ngx_msec_t                queue_timeout;
    ngx_msec_t                connect_timeout;
    ngx_msec_t                query_timeout;
    ngx_msec_t                backoff_max;
} ngx_http_users_pg_conf_t;


typedef struct {
    ngx_http_users_pg_conf_t  pg;
    ngx_http_users_pg_pool_t *pg_pool;      /* this worker's */

    ngx_str_t                 jwt_secret;
    ngx_http_users_keys_t     jwt_keys;
    time_t                    jwt_ttl;

    /* sessions (ngx_http_users_session.c) */
    time_t                    refresh_ttl;
    time_t                    session_ttl;
    time_t                    refresh_grace;
    u_char                    seal_key[32];  /* the grace window's */

    ngx_thread_pool_t        *thread_pool;
    ngx_uint_t                pw_opslimit;
    size_t                    pw_memlimit;
    ngx_int_t                 pw_priority;
    ngx_str_t                 dummy_hash;   /* verified for unknown emails */

    ngx_shm_zone_t           *state_zone;   /* revocation state */
    size_t                    state_size;

    ngx_shm_zone_t           *throttle_zone;
    ngx_shm_zone_t           *metrics_zone;       /* users_metrics_zone */
    ngx_flag_t                metrics;            /* some users_metrics */
    ngx_uint_t                throttle_failures;
    time_t                    throttle_window;

    ngx_str_t                 su_email;     /* first superuser, if any */
    ngx_str_t                 su_password;  /* wiped once hashed */
    ngx_str_t                 su_hash;

    size_t                    max_body_size;
    ngx_msec_t                readyz_timeout;

    ngx_int_t                 request_id_index;   /* $users_request_id */
    ngx_flag_t                enabled;     /* some users_api or users_auth */
} ngx_http_users_main_conf_t;


/* users_auth: who may pass a guarded location */
typedef enum {
    NGX_HTTP_USERS_GUARD_OFF = 0,
    NGX_HTTP_USERS_GUARD_USER,
    NGX_HTTP_USERS_GUARD_SUPERUSER
} ngx_http_users_guard_e;


typedef struct {
    ngx_http_users_route_t   *route;
    ngx_http_complex_value_t *id;          /* path parameter, if any */
    ngx_flag_t                request_id;  /* users_request_id */
    ngx_uint_t                guard;       /* users_auth */
    ngx_flag_t                audit;       /* users_audit */
} ngx_http_users_loc_conf_t;


/* a step of a route: runs on the event loop, answers or starts async work */
typedef ngx_int_t (*ngx_http_users_handler_pt)(ngx_http_request_t *r);


/* who may call a route: checked before content type and validation */
typedef enum {
    NGX_HTTP_USERS_ANYONE = 0,
    NGX_HTTP_USERS_USER,
    NGX_HTTP_USERS_SUPERUSER
} ngx_http_users_access_e;


/* the body a route's method takes: checked after authentication */
typedef enum {
    NGX_HTTP_USERS_BODY_NONE = 0,
    NGX_HTTP_USERS_BODY_JSON,
    NGX_HTTP_USERS_BODY_FORM
} ngx_http_users_body_e;


typedef struct {
    struct ngx_http_users_field_s  *fields;
    ngx_uint_t                nfields;
} ngx_http_users_schema_t;


/* what one method of a route takes and who may call it */
typedef struct {
    ngx_uint_t                method;
    ngx_http_users_access_e   access;
    ngx_http_users_body_e     body;
    ngx_http_users_schema_t  *schema;      /* of a JSON body */

    /*
     * The statement that authenticates the caller before the handler runs
     * (its second column becomes ctx->user.json), unless the handler's own
     * statement does it ("folded": one round trip instead of two).
     */
    ngx_http_users_sql_e      auth;
    unsigned                  folded:1;

    ngx_http_users_handler_pt handler;
} ngx_http_users_method_t;


struct ngx_http_users_route_s {
    ngx_str_t                 name;
    ngx_str_t                 allow;       /* the Allow header of a 405 */
    ngx_http_users_method_t  *methods;     /* ends with method 0 */
    unsigned                  no_store:1;  /* Cache-Control: no-store */
    unsigned                  path_id:1;   /* takes an id argument */
    unsigned                  path_session:1;  /* the id is a session's */
    unsigned                  rfc6750:1;   /* 401s say error="invalid_token" */
};


/*
 * The database operation: a prepared statement and what to do with its
 * result ("op" in the pool; a route's method is ngx_http_users_method_t)
 */
typedef void (*ngx_http_users_pg_done_pt)(ngx_http_users_pg_op_t *op,
    PGresult *res);

struct ngx_http_users_pg_op_s {
    ngx_http_users_sql_e      stmt;
    int                       nparams;
    const char               *values[NGX_HTTP_USERS_MAX_PARAMS];

    /*
     * Called once from the event loop: res is the statement's result
     * (freed by the pool after the call), or NULL when the database could
     * not answer (error logged already).
     */
    ngx_http_users_pg_done_pt handler;
    void                     *data;
    ngx_log_t                *log;
    ngx_msec_t                timeout;

    ngx_http_users_pg_pool_t *pool;
    void                     *slot;        /* the connection running it */
    ngx_queue_t               queue;       /* in the wait queue */
    ngx_event_t               wait;        /* wait-queue timeout */

    unsigned                  queued:1;
};


typedef struct {
    ngx_str_t                 loc;         /* e.g. "body", or "query" */
    ngx_str_t                 field;       /* empty for the whole body */
    ngx_str_t                 msg;
    ngx_str_t                 type;
} ngx_http_users_error_t;


/*
 * The request's bearer token, verified once per request whatever asks
 * first (a variable in any phase, the guard, the API) and kept with the
 * request's pool, so that an internal redirect and subrequests see it too
 * (ngx_http_users_ident.c)
 */
struct ngx_http_users_ident_s {
    ngx_int_t                 rc;          /* NGX_OK: a valid token */
    char                     *detail;      /* the 401's, if not valid */
    int64_t                   id;
    ngx_int_t                 version;
    time_t                    expires;
    ngx_str_t                 id_text;     /* NUL-terminated */
    ngx_str_t                 version_text;
    ngx_str_t                 token;       /* in the request's header */
    ngx_str_t                 sid;         /* its "sid" claim, if any */
    u_char                    session[NGX_HTTP_USERS_UUID_SIZE];  /* sid's */
    u_char                    sid_text[NGX_HTTP_USERS_UUID_LEN + 1];

    /* the guard's check of the user's current state */
    ngx_http_users_pg_op_t    pg;
    ngx_uint_t                failed;      /* the check's 500 or 503 */
    ngx_uint_t                refused;     /* the status the guard gave */
    ngx_str_t                 body;        /* and its JSON, for the filter */

    unsigned                  sent:1;      /* a bearer token was sent */
    unsigned                  waiting:1;   /* the state check is pending */
    unsigned                  checked:1;   /* the state is known */
    unsigned                  current:1;   /* and the token is current */
    unsigned                  superuser:1;
    unsigned                  rewrite:1;   /* nginx's page becomes JSON */
    unsigned                  counted:1;   /* the guard's decision, once */
};


/* the authenticated caller, from the row of the op's auth statement */
typedef struct {
    ngx_str_t                 json;        /* its second column */
    ngx_str_t                 hashed_password;
    unsigned                  superuser:1;
} ngx_http_users_user_t;


struct ngx_http_users_ctx_s {
    ngx_http_users_route_t   *route;
    ngx_http_users_method_t  *method;
    ngx_str_t                 body;        /* the whole request body */
    ngx_str_t                 secret;      /* a decoded form password */
    ngx_http_users_value_t   *values;      /* the validated JSON body */
    int64_t                   path_id;
    ngx_str_t                 path_id_text;  /* NUL-terminated */

    /* the caller, from the token and then from its row */
    int64_t                   user_id;
    ngx_str_t                 user_id_text;
    ngx_str_t                 version_text;
    ngx_http_users_user_t     user;

    /* what to run when the pending PostgreSQL or thread work completes */
    ngx_http_users_handler_pt resume;
    /* what to run once the token's state is loaded (state_query) */
    ngx_http_users_handler_pt checked;
    ngx_http_users_pg_op_t    pg;
    PGresult                 *res;         /* valid during resume only */
    ngx_http_users_pw_task_t *task;        /* the last password task */
    ngx_event_t               hashing;     /* held while a task runs */
    ngx_msec_t                timeout;     /* of the query, if not default */
    ngx_str_t                 audit;       /* the context, once built */

    /* route-specific state kept across steps */
    void                     *data;

    unsigned                  waiting:1;   /* a query or task is pending */
    unsigned                  own_failure:1;  /* resume sees res == NULL */
    unsigned                  recorded:1;  /* counted in the metrics */
};


/* ngx_http_users_module.c */
extern ngx_module_t  ngx_http_users_module;

ngx_int_t ngx_http_users_conf_value(ngx_conf_t *cf, ngx_str_t *src,
    ngx_str_t *value);

/* the context of a shared zone: its header, in its slab pool */
typedef struct {
    void                     *sh;
    ngx_slab_pool_t          *shpool;
} ngx_http_users_shm_ctx_t;

ngx_int_t ngx_http_users_shm_attach(ngx_shm_zone_t *shm_zone, void *data,
    size_t size);


/* ngx_http_users_router.c: route table and users_api */
extern ngx_http_users_route_t  ngx_http_users_routes[];   /* ends unnamed */

char *ngx_http_users_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_http_users_method_t *ngx_http_users_route_method(
    ngx_http_users_route_t *route, ngx_uint_t method);


/* ngx_http_users_request.c: request lifecycle */
ngx_int_t ngx_http_users_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_users_check_input(ngx_http_request_t *r,
    ngx_array_t **errors);
ngx_int_t ngx_http_users_query(ngx_http_request_t *r,
    ngx_http_users_sql_e stmt, ngx_uint_t n, ngx_str_t *params,
    ngx_http_users_handler_pt resume);
ngx_int_t ngx_http_users_state_query(ngx_http_request_t *r,
    ngx_http_users_handler_pt checked);
void ngx_http_users_resume(ngx_http_request_t *r);
ngx_int_t ngx_http_users_pg_value(ngx_http_request_t *r, PGresult *res,
    int col, ngx_str_t *value);


/* ngx_http_users_request_id.c: $users_request_id */
ngx_int_t ngx_http_users_request_id(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_http_users_request_id_valid(ngx_str_t *id);


/* ngx_http_users_response.c: every answer the module sends */
ngx_int_t ngx_http_users_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json);
ngx_int_t ngx_http_users_send_empty(ngx_http_request_t *r,
    ngx_uint_t status);
ngx_int_t ngx_http_users_send_detail(ngx_http_request_t *r,
    ngx_uint_t status, char *detail);
ngx_int_t ngx_http_users_send_unavailable(ngx_http_request_t *r);
ngx_int_t ngx_http_users_send_method_not_allowed(ngx_http_request_t *r);
ngx_int_t ngx_http_users_send_status(ngx_http_request_t *r,
    ngx_uint_t status);
ngx_int_t ngx_http_users_send_pg_error(ngx_http_request_t *r, PGresult *res);
ngx_int_t ngx_http_users_send_write_error(ngx_http_request_t *r,
    PGresult *res);
ngx_uint_t ngx_http_users_pg_error_status(ngx_http_request_t *r,
    PGresult *res);
ngx_int_t ngx_http_users_send_unauthorized(ngx_http_request_t *r,
    char *detail);
ngx_int_t ngx_http_users_www_authenticate(ngx_http_request_t *r,
    ngx_uint_t invalid_token);
ngx_int_t ngx_http_users_send_invalid(ngx_http_request_t *r,
    ngx_array_t *errors);
ngx_int_t ngx_http_users_send_invalid_one(ngx_http_request_t *r,
    char *loc, char *field, char *msg, char *type);
ngx_int_t ngx_http_users_send_error_page(ngx_http_request_t *r);
ngx_int_t ngx_http_users_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value);
ngx_int_t ngx_http_users_header_filter_init(ngx_conf_t *cf);


/* ngx_http_users_pg.c: the per-worker PostgreSQL pool */
typedef void (*ngx_http_users_pg_hook_pt)(void *data);
typedef void (*ngx_http_users_pg_notify_pt)(void *data, PGnotify *notify);

ngx_int_t ngx_http_users_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf);
ngx_http_users_pg_pool_t *ngx_http_users_pg_pool_create(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf, ngx_http_users_pg_conf_t *conf);
void ngx_http_users_pg_pool_close(ngx_http_users_pg_pool_t *pool);
void ngx_http_users_pg_on_connect(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_pg_hook_pt handler, void *data);
void ngx_http_users_pg_on_notify(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_pg_notify_pt notify, ngx_http_users_pg_hook_pt closed,
    void *data);
void ngx_http_users_pg_exit_process(ngx_cycle_t *cycle);
void ngx_http_users_pg_run(ngx_http_users_pg_pool_t *pool,
    ngx_http_users_pg_op_t *op);
void ngx_http_users_pg_cancel(ngx_http_users_pg_op_t *op);


/* ngx_http_users_pg_conninfo.c: the connection string, at configuration */
char *ngx_http_users_pg_conninfo(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_users_pg_conf_t *pg);


/* ngx_http_users_audit.c: the audit log's context and GET /audit */
ngx_int_t ngx_http_users_audit_context(ngx_http_request_t *r,
    const char **value);
ngx_int_t ngx_http_users_audit_agent(ngx_http_request_t *r, ngx_str_t *ua);
ngx_int_t ngx_http_users_audit_list(ngx_http_request_t *r);


/* ngx_http_users_sql.c: the statement table */
extern ngx_http_users_sql_t  ngx_http_users_sql[];

ngx_int_t ngx_http_users_sql_check(ngx_log_t *log);


/* ngx_http_users_check.c: the extra rules of string fields */

#define ngx_http_users_is_digit(c)  ((c) >= '0' && (c) <= '9')
#define ngx_http_users_is_alpha(c)  (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define ngx_http_users_is_alnum(c)                                            \
    (ngx_http_users_is_digit(c) || ngx_http_users_is_alpha(c))

/* an extra rule for a string: returns NULL when it holds, else the msg */
typedef struct {
    char                     *msg;
    char                     *type;
} ngx_http_users_violation_t;

typedef ngx_http_users_violation_t *(*ngx_http_users_check_pt)(
    ngx_str_t *value);

ngx_http_users_violation_t *ngx_http_users_check_email(ngx_str_t *value);
ngx_http_users_violation_t *ngx_http_users_check_url(ngx_str_t *value);
ngx_http_users_violation_t *ngx_http_users_check_phone(ngx_str_t *value);
ngx_http_users_violation_t *ngx_http_users_check_theme(ngx_str_t *value);
ngx_http_users_violation_t *ngx_http_users_check_language(ngx_str_t *value);
size_t ngx_http_users_utf8_chars(u_char *p, size_t len);


/* ngx_http_users_timezone.c: IANA time zone names, from tzdata */
ngx_int_t ngx_http_users_timezones_load(ngx_cycle_t *cycle);
ngx_http_users_violation_t *ngx_http_users_check_timezone(ngx_str_t *value);


/* ngx_http_users_json.c: JSON request bodies checked against a schema */

typedef enum {
    NGX_HTTP_USERS_FIELD_STRING = 0,
    NGX_HTTP_USERS_FIELD_BOOL
} ngx_http_users_field_type_e;

typedef struct ngx_http_users_field_s {
    ngx_str_t                 name;
    ngx_http_users_field_type_e  type;
    ngx_uint_t                min_chars;
    ngx_uint_t                max_chars;   /* 0: no limit */
    ngx_http_users_check_pt   check;
    unsigned                  required:1;
    unsigned                  nullable:1;
} ngx_http_users_field_t;


extern ngx_http_users_schema_t  ngx_http_users_register_schema;
extern ngx_http_users_schema_t  ngx_http_users_me_update_schema;
extern ngx_http_users_schema_t  ngx_http_users_update_schema;
extern ngx_http_users_schema_t  ngx_http_users_profile_schema;
extern ngx_http_users_schema_t  ngx_http_users_preferences_schema;

struct ngx_http_users_value_s {
    ngx_str_t                 str;         /* NUL-terminated copy */
    unsigned                  present:1;
    unsigned                  null:1;
    unsigned                  boolean:1;
};

ngx_int_t ngx_http_users_error_add(ngx_array_t *errors, char *loc,
    ngx_str_t *field, char *msg, char *type);
ngx_int_t ngx_http_users_json_validate(ngx_pool_t *pool, ngx_str_t *body,
    ngx_http_users_field_t *fields, ngx_uint_t nfields,
    ngx_http_users_value_t *values, ngx_array_t *errors);


/* ngx_http_users_form.c: application/x-www-form-urlencoded and queries */

typedef struct {
    ngx_str_t                 name;
    ngx_str_t                 value;       /* decoded, NUL-terminated */
    unsigned                  found:1;
    unsigned                  invalid:1;   /* %00, bad %XX or not UTF-8 */
} ngx_http_users_form_field_t;

ngx_int_t ngx_http_users_form_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_http_users_form_field_t *fields, ngx_uint_t nfields);

/* an integer of the query string, with pydantic's range messages */
typedef struct {
    ngx_str_t                 name;
    int64_t                   min;
    int64_t                   max;
    int64_t                   value;       /* the default, then the query's */
    unsigned                  found:1;
} ngx_http_users_query_int_t;

ngx_int_t ngx_http_users_query_ints(ngx_http_request_t *r,
    ngx_http_users_query_int_t *query, ngx_uint_t n, ngx_array_t *errors);

/* the keys of GET /users and GET /audit */
typedef enum {
    NGX_HTTP_USERS_LIST_SKIP = 0,
    NGX_HTTP_USERS_LIST_LIMIT,
    NGX_HTTP_USERS_LIST_NKEYS
} ngx_http_users_list_key_e;

typedef enum {
    NGX_HTTP_USERS_AUDIT_USER_ID = 0,
    NGX_HTTP_USERS_AUDIT_BEFORE,
    NGX_HTTP_USERS_AUDIT_LIMIT,
    NGX_HTTP_USERS_AUDIT_NKEYS
} ngx_http_users_audit_key_e;
ngx_int_t ngx_http_users_parse_id(ngx_str_t *text, int64_t *id);


/* ngx_http_users_jwk.c: one key: PEM to raw keys, sign, verify, its JWK */
ngx_int_t ngx_http_users_jwk_load(ngx_http_users_key_t *key, ngx_str_t *pem,
    char **err);
void ngx_http_users_jwk_free(ngx_http_users_key_t *key);
ngx_int_t ngx_http_users_jwk_sign(ngx_http_users_key_t *key, ngx_str_t *input,
    u_char *sig, size_t *len);
ngx_int_t ngx_http_users_jwk_verify(ngx_http_users_key_t *key,
    ngx_str_t *input, ngx_str_t *sig);
ngx_int_t ngx_http_users_jwk_json(ngx_pool_t *pool, ngx_http_users_key_t *key,
    ngx_str_t *json);
extern ngx_str_t  ngx_http_users_alg_names[];


/* ngx_http_users_keys.c: users_jwt_key, the signer, the JWKS */
char *ngx_http_users_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_users_keys_init(ngx_conf_t *cf, ngx_http_users_keys_t *keys,
    ngx_str_t *secret);
ngx_int_t ngx_http_users_keys_jwks(ngx_http_request_t *r);


/* ngx_http_users_jwt.c: access tokens */
#define NGX_HTTP_USERS_JWT_CACHE_SIZE  1024   /* tokens per worker */
#define NGX_HTTP_USERS_JWT_CACHED      256    /* longer ones are not kept */

/* what a verified access token says */
typedef struct {
    int64_t                   sub;
    ngx_int_t                 version;
    time_t                    expires;
    u_char                    sid[NGX_HTTP_USERS_UUID_SIZE];
    unsigned                  session:1;   /* it has a "sid" */
} ngx_http_users_claims_t;

ngx_int_t ngx_http_users_jwt_cache_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_users_jwt_issue(ngx_pool_t *pool, ngx_http_users_key_t *key,
    int64_t sub, ngx_int_t version, ngx_str_t *sid, time_t now, time_t ttl,
    ngx_str_t *token);
ngx_int_t ngx_http_users_jwt_verify(ngx_http_users_keys_t *keys,
    ngx_str_t *token, time_t now, ngx_log_t *log, int64_t *sub,
    ngx_int_t *version);
ngx_int_t ngx_http_users_jwt_verify_claims(ngx_http_users_keys_t *keys,
    ngx_str_t *token, time_t now, ngx_log_t *log,
    ngx_http_users_claims_t *claims);
ngx_int_t ngx_http_users_bearer_parse(ngx_str_t *header, ngx_str_t *token);
ngx_http_users_key_t *ngx_http_users_keys_find(ngx_http_users_keys_t *keys,
    u_char *kid, size_t len);


/* ngx_http_users_password.c: Argon2id on the thread pool */
typedef enum {
    NGX_HTTP_USERS_PW_HASH = 0,
    NGX_HTTP_USERS_PW_VERIFY
} ngx_http_users_pw_e;

struct ngx_http_users_pw_task_s {
    ngx_http_users_pw_e       kind;
    u_char                   *password;    /* wiped in the thread */
    size_t                    password_len;
    u_char                   *hash;        /* verify: the stored hash */
    u_char                   *out;         /* a new hash, NUL-terminated */
    ngx_str_t                 new_hash;    /* out, once the task is done */
    ngx_uint_t                opslimit;
    size_t                    memlimit;
    ngx_int_t                 priority;    /* the thread's nice value */
    uint64_t                  usec;        /* a verify's own time */
    unsigned                  ok:1;        /* verified, or hashed */
    unsigned                  current:1;   /* verify: at today's cost */
    unsigned                  rehashed:1;  /* verify made a new hash */
};

ngx_int_t ngx_http_users_password_post(ngx_http_request_t *r,
    ngx_http_users_pw_e kind, ngx_str_t *password, ngx_str_t *hash,
    ngx_http_users_handler_pt resume);
ngx_int_t ngx_http_users_password_hash_key(ngx_http_request_t *r,
    ngx_uint_t key, ngx_http_users_handler_pt resume);
ngx_int_t ngx_http_users_password_dummy(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf);
ngx_int_t ngx_http_users_password_hash_now(ngx_pool_t *pool,
    ngx_http_users_main_conf_t *umcf, ngx_str_t *password, ngx_str_t *hash);


/* ngx_http_users_throttle.c: accounts the database refused, in shared memory */
char *ngx_http_users_throttle_zone(ngx_conf_t *cf,
    ngx_http_users_main_conf_t *umcf, ngx_str_t *name, ssize_t size);
time_t ngx_http_users_throttle_check(ngx_http_users_main_conf_t *umcf,
    ngx_str_t *account);
void ngx_http_users_throttle_block(ngx_http_users_main_conf_t *umcf,
    ngx_str_t *account, time_t wait);
void ngx_http_users_throttle_reset(ngx_http_users_main_conf_t *umcf,
    ngx_str_t *account);


/* ngx_http_users_metrics.c: Prometheus metrics in shared memory */

/* the scalar series; the pg states in the order of ngx_http_users_pg.c's */
typedef enum {
    NGX_HTTP_USERS_METRIC_LOGIN_SUCCESS = 0,
    NGX_HTTP_USERS_METRIC_LOGIN_FAILURE,
    NGX_HTTP_USERS_METRIC_LOGIN_THROTTLED,
    NGX_HTTP_USERS_METRIC_HASHING,
    NGX_HTTP_USERS_METRIC_PG_WAITING,
    NGX_HTTP_USERS_METRIC_PG_ERRORS,
    NGX_HTTP_USERS_METRIC_TOKEN_HIT,
    NGX_HTTP_USERS_METRIC_TOKEN_MISS,
    NGX_HTTP_USERS_METRIC_PG_DOWN,
    NGX_HTTP_USERS_METRIC_PG_CONNECTING,
    NGX_HTTP_USERS_METRIC_PG_PREPARING,
    NGX_HTTP_USERS_METRIC_PG_IDLE,
    NGX_HTTP_USERS_METRIC_PG_BUSY,
    NGX_HTTP_USERS_METRIC_PG_BACKOFF,
    NGX_HTTP_USERS_METRIC_GUARD_ALLOWED,
    NGX_HTTP_USERS_METRIC_GUARD_UNAUTHORIZED,
    NGX_HTTP_USERS_METRIC_GUARD_FORBIDDEN,
    NGX_HTTP_USERS_METRIC_GUARD_FAILED,
    NGX_HTTP_USERS_METRIC_GUARD_CHECKS,
    NGX_HTTP_USERS_METRIC_REVOCATION_CHANGES,
    NGX_HTTP_USERS_METRIC_LISTENERS_IN_STEP,
    NGX_HTTP_USERS_METRIC_REFRESH_ROTATED,
    NGX_HTTP_USERS_METRIC_REFRESH_GRACE,
    NGX_HTTP_USERS_METRIC_REFRESH_REUSED,
    NGX_HTTP_USERS_METRIC_REFRESH_INVALID,
    NGX_HTTP_USERS_METRIC_N
} ngx_http_users_metric_e;

char *ngx_http_users_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_users_metrics_zone_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_users_metrics_zone(ngx_conf_t *cf,
    ngx_http_users_main_conf_t *umcf, ngx_str_t *name, ssize_t size);
ngx_int_t ngx_http_users_metrics_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf);
void ngx_http_users_metrics_add(ngx_http_users_metric_e metric, ngx_int_t n);
void ngx_http_users_metrics_request(ngx_http_request_t *r,
    ngx_http_users_route_t *route, ngx_uint_t status);
ngx_int_t ngx_http_users_metrics_handler(ngx_http_request_t *r);


/* ngx_http_users_auth.c: /auth routes and the current user */

/* the keys of POST /auth/register, in the order of its schema */
typedef enum {
    NGX_HTTP_USERS_REGISTER_EMAIL = 0,
    NGX_HTTP_USERS_REGISTER_PASSWORD,
    NGX_HTTP_USERS_REGISTER_NAME,
    NGX_HTTP_USERS_REGISTER_NKEYS
} ngx_http_users_register_key_e;

/* the fields of the POST /auth/login form, in the order it is parsed */
typedef enum {
    NGX_HTTP_USERS_LOGIN_USERNAME = 0,
    NGX_HTTP_USERS_LOGIN_PASSWORD,
    NGX_HTTP_USERS_LOGIN_GRANT_TYPE,
    NGX_HTTP_USERS_LOGIN_REFRESH_TOKEN,
    NGX_HTTP_USERS_LOGIN_NKEYS
} ngx_http_users_login_key_e;

ngx_int_t ngx_http_users_auth_token(ngx_http_request_t *r, char **detail);
ngx_uint_t ngx_http_users_auth_row(ngx_http_request_t *r, PGresult *res);
ngx_int_t ngx_http_users_auth_target(ngx_http_request_t *r,
    ngx_uint_t status, char *missing);
ngx_int_t ngx_http_users_auth_answer(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_deleted(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_register(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_login(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_me(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_logout(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_logged_out(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_verify(ngx_http_request_t *r);


/* ngx_http_users_session.c: sessions and their refresh tokens */

/* the columns of NGX_HTTP_USERS_SQL_LOGIN_SETTLE */
typedef enum {
    NGX_HTTP_USERS_STARTED_SESSION = 0,
    NGX_HTTP_USERS_STARTED_EXPIRES_IN
} ngx_http_users_started_col_e;

/*
 * A refresh token: its session's id, so that a rotation finds the row by
 * its primary key and rewrites no indexed column (a HOT update), and 256
 * random bits; its text is their base64url, unpadded.
 */
#define NGX_HTTP_USERS_REFRESH_BYTES  (NGX_HTTP_USERS_UUID_SIZE + 32)
#define NGX_HTTP_USERS_REFRESH_LEN    64

_Static_assert(NGX_HTTP_USERS_REFRESH_LEN == NGX_HTTP_USERS_REFRESH_BYTES / 3
                                             * 4,
               "a refresh token's bytes are whole base64 groups");

/* a refresh token, its SHA-256 (bytea) and its session's id (uuid) */
typedef struct {
    ngx_str_t                 token;
    ngx_str_t                 hash;
    ngx_str_t                 sid;
} ngx_http_users_refresh_t;

ngx_int_t ngx_http_users_session_init(ngx_conf_t *cf,
    ngx_http_users_main_conf_t *umcf);
ngx_int_t ngx_http_users_session_new(ngx_http_request_t *r, u_char *session,
    ngx_http_users_refresh_t *rt);
ngx_int_t ngx_http_users_session_answer(ngx_http_request_t *r, int64_t user,
    ngx_int_t version, ngx_str_t *sid, ngx_str_t *refresh,
    ngx_str_t *expires_in);
ngx_int_t ngx_http_users_session_refresh_grant(ngx_http_request_t *r,
    ngx_str_t *token);
ngx_int_t ngx_http_users_session_refresh(ngx_http_request_t *r);
ngx_int_t ngx_http_users_session_list(ngx_http_request_t *r);
ngx_int_t ngx_http_users_session_delete(ngx_http_request_t *r);
ngx_int_t ngx_http_users_session_logout(ngx_http_request_t *r,
    ngx_str_t *scope);
ngx_int_t ngx_http_users_session_user_list(ngx_http_request_t *r);
ngx_int_t ngx_http_users_session_user_end(ngx_http_request_t *r);

extern ngx_http_users_schema_t  ngx_http_users_refresh_schema;


/* ngx_http_users_ident.c: the request's token and its variables */
ngx_http_users_ident_t *ngx_http_users_ident(ngx_http_request_t *r);
ngx_http_users_ident_t *ngx_http_users_ident_find(ngx_http_request_t *r);
ngx_int_t ngx_http_users_ident_add_variables(ngx_conf_t *cf);


/* ngx_http_users_guard.c: users_auth, in the access phase */
char *ngx_http_users_guard_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_users_guard_init(ngx_conf_t *cf);


/* ngx_http_users_revocation.c: users' revocation state, shared memory */

/* the columns of NGX_HTTP_USERS_SQL_AUTH_STATE */
typedef enum {
    NGX_HTTP_USERS_STATE_VERSION = 0,
    NGX_HTTP_USERS_STATE_ACTIVE,
    NGX_HTTP_USERS_STATE_SUPERUSER,
    NGX_HTTP_USERS_STATE_SEQ,
    NGX_HTTP_USERS_STATE_SESSION_ENDED   /* the token's sid ($2) ended */
} ngx_http_users_state_col_e;

typedef struct {
    int64_t                   auth_seq;    /* of the user's last change */
    ngx_int_t                 version;     /* -1: the user is gone */
    unsigned                  active:1;
    unsigned                  superuser:1;
} ngx_http_users_state_t;

/* a change of the log, as notified or read back by the listener */
typedef struct {
    int64_t                   user;
    ngx_http_users_state_t    state;       /* auth_seq: the change's own */
    u_char                    session[NGX_HTTP_USERS_UUID_SIZE];
    unsigned                  ended:1;     /* the session ended; no state */
} ngx_http_users_change_t;

char *ngx_http_users_revocation_zone(ngx_conf_t *cf,
    ngx_http_users_main_conf_t *umcf);
ngx_int_t ngx_http_users_revocation_check(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident);
void ngx_http_users_revocation_loaded(ngx_http_users_main_conf_t *umcf,
    ngx_http_users_ident_t *ident, PGresult *res);
void ngx_http_users_revocation_changed(ngx_http_users_main_conf_t *umcf,
    ngx_http_users_change_t *change);
void ngx_http_users_revocation_reset(ngx_http_users_main_conf_t *umcf);


/* ngx_http_users_guard_parse.c: the guard's inputs, as plain functions */
ngx_int_t ngx_http_users_uuid_parse(u_char *text, size_t len, u_char *uuid);
ngx_int_t ngx_http_users_refresh_token_session(ngx_str_t *token,
    u_char *session);
u_char *ngx_http_users_uuid_text(u_char *dst, u_char *uuid);
ngx_int_t ngx_http_users_parse_number(ngx_str_t *s, int64_t *value);
ngx_int_t ngx_http_users_notify_parse(u_char *text, size_t len,
    ngx_http_users_change_t *change);


/* ngx_http_users_listener.c: LISTEN for changes, one per worker */
ngx_int_t ngx_http_users_listener_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf);
void ngx_http_users_listener_exit_process(ngx_cycle_t *cycle);
ngx_uint_t ngx_http_users_listener_synced(void);


/* ngx_http_users_superuser.c: the first superuser */
ngx_int_t ngx_http_users_superuser_init_process(ngx_cycle_t *cycle,
    ngx_http_users_main_conf_t *umcf);


/* ngx_http_users_users.c: /users routes */

/* the keys of PUT /users/{id}, in the order of its schema */
typedef enum {
    NGX_HTTP_USERS_UPDATE_EMAIL = 0,
    NGX_HTTP_USERS_UPDATE_NAME,
    NGX_HTTP_USERS_UPDATE_PASSWORD,
    NGX_HTTP_USERS_UPDATE_ACTIVE,
    NGX_HTTP_USERS_UPDATE_SUPERUSER,
    NGX_HTTP_USERS_UPDATE_NKEYS
} ngx_http_users_update_key_e;

/* PUT /users/me: the same first keys, in the same places, then its own */
typedef enum {
    NGX_HTTP_USERS_ME_EMAIL = NGX_HTTP_USERS_UPDATE_EMAIL,
    NGX_HTTP_USERS_ME_NAME = NGX_HTTP_USERS_UPDATE_NAME,
    NGX_HTTP_USERS_ME_PASSWORD = NGX_HTTP_USERS_UPDATE_PASSWORD,
    NGX_HTTP_USERS_ME_CURRENT_PASSWORD,
    NGX_HTTP_USERS_ME_NKEYS
} ngx_http_users_me_key_e;

/* the update keys' bits in the statement's $2, literals as in its text */
#define NGX_HTTP_USERS_UPDATE_SET_EMAIL      1
#define NGX_HTTP_USERS_UPDATE_SET_NAME       2
#define NGX_HTTP_USERS_UPDATE_SET_PASSWORD   4
#define NGX_HTTP_USERS_UPDATE_SET_ACTIVE     8
#define NGX_HTTP_USERS_UPDATE_SET_SUPERUSER  16

ngx_int_t ngx_http_users_users_list(ngx_http_request_t *r);
ngx_int_t ngx_http_users_users_me_update(ngx_http_request_t *r);
ngx_int_t ngx_http_users_users_get(ngx_http_request_t *r);
ngx_int_t ngx_http_users_users_update(ngx_http_request_t *r);
ngx_int_t ngx_http_users_users_delete(ngx_http_request_t *r);


/* ngx_http_users_profile.c: /profile routes */

/* the keys of PUT /profile/me, in the order of its schema */
typedef enum {
    NGX_HTTP_USERS_PROFILE_NAME = 0,
    NGX_HTTP_USERS_PROFILE_BIO,
    NGX_HTTP_USERS_PROFILE_AVATAR_URL,
    NGX_HTTP_USERS_PROFILE_LOCATION,
    NGX_HTTP_USERS_PROFILE_WEBSITE,
    NGX_HTTP_USERS_PROFILE_PHONE,
    NGX_HTTP_USERS_PROFILE_NKEYS
} ngx_http_users_profile_key_e;

/* their bits in the update's $3: literals, as the statement's text has them */
#define NGX_HTTP_USERS_PROFILE_SET_NAME        1
#define NGX_HTTP_USERS_PROFILE_SET_BIO         2
#define NGX_HTTP_USERS_PROFILE_SET_AVATAR_URL  4
#define NGX_HTTP_USERS_PROFILE_SET_LOCATION    8
#define NGX_HTTP_USERS_PROFILE_SET_WEBSITE     16
#define NGX_HTTP_USERS_PROFILE_SET_PHONE       32

ngx_int_t ngx_http_users_profile_update(ngx_http_request_t *r);
ngx_int_t ngx_http_users_preferences_update(ngx_http_request_t *r);
ngx_int_t ngx_http_users_avatar_delete(ngx_http_request_t *r);
ngx_int_t ngx_http_users_public_profile(ngx_http_request_t *r);


/* ngx_http_users_meta.c: /, /healthz, /readyz, errors nginx raises */
ngx_int_t ngx_http_users_meta_root(ngx_http_request_t *r);
ngx_int_t ngx_http_users_meta_healthz(ngx_http_request_t *r);
ngx_int_t ngx_http_users_meta_readyz(ngx_http_request_t *r);
ngx_int_t ngx_http_users_meta_not_found(ngx_http_request_t *r);
ngx_int_t ngx_http_users_meta_error(ngx_http_request_t *r);


#endif /* _NGX_HTTP_USERS_MODULE_H_INCLUDED_ */
