
/*
 * Copyright (C) ngx_users authors
 *
 * The route table.  nginx.conf is the router: each location names one of
 * these routes with "users_api ROUTE [ID]", and this table says which
 * methods the route has, who may call each, what body it takes and which
 * handler serves it.
 */


#include "ngx_http_users_module.h"


#define NGX_HTTP_USERS_ANY_METHOD  ((ngx_uint_t) -1)


static ngx_http_users_method_t  ngx_http_users_root_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_NONE, .handler = ngx_http_users_meta_root },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_healthz_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_NONE,
      .handler = ngx_http_users_meta_healthz },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_readyz_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_NONE,
      .handler = ngx_http_users_meta_readyz },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_not_found_methods[] = {
    { .method = NGX_HTTP_USERS_ANY_METHOD, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_NONE,
      .handler = ngx_http_users_meta_not_found },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_error_methods[] = {
    { .method = NGX_HTTP_USERS_ANY_METHOD, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_NONE, .handler = ngx_http_users_meta_error },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_jwks_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_NONE, .handler = ngx_http_users_keys_jwks },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_register_methods[] = {
    { .method = NGX_HTTP_POST, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_JSON,
      .schema = &ngx_http_users_register_schema,
      .handler = ngx_http_users_auth_register },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_login_methods[] = {
    { .method = NGX_HTTP_POST, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_FORM, .handler = ngx_http_users_auth_login },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_auth_me_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .handler = ngx_http_users_auth_me },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_test_token_methods[] = {
    { .method = NGX_HTTP_POST, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .handler = ngx_http_users_auth_me },
    { .method = 0 }
};


/* folded: the state in shared memory answers, or its own load does */
static ngx_http_users_method_t  ngx_http_users_verify_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH_STATE,
      .folded = 1, .handler = ngx_http_users_auth_verify },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_logout_methods[] = {
    { .method = NGX_HTTP_POST, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_auth_logout },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_refresh_methods[] = {
    { .method = NGX_HTTP_POST, .access = NGX_HTTP_USERS_ANYONE,
      .body = NGX_HTTP_USERS_BODY_JSON,
      .schema = &ngx_http_users_refresh_schema,
      .handler = ngx_http_users_session_refresh },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_sessions_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_session_list },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_session_methods[] = {
    { .method = NGX_HTTP_DELETE, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_session_delete },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_user_sessions_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_SUPERUSER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_session_user_list },
    { .method = NGX_HTTP_DELETE, .access = NGX_HTTP_USERS_SUPERUSER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_session_user_end },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_users_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_SUPERUSER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .handler = ngx_http_users_users_list },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_audit_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_SUPERUSER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_audit_list },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_users_me_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .handler = ngx_http_users_auth_me },
    { .method = NGX_HTTP_PUT, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_JSON,
      .schema = &ngx_http_users_me_update_schema,
      .auth = NGX_HTTP_USERS_SQL_AUTH_PASSWORD,
      .handler = ngx_http_users_users_me_update },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_user_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_SUPERUSER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_users_get },
    { .method = NGX_HTTP_PUT, .access = NGX_HTTP_USERS_SUPERUSER,
      .body = NGX_HTTP_USERS_BODY_JSON,
      .schema = &ngx_http_users_update_schema, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .handler = ngx_http_users_users_update },
    { .method = NGX_HTTP_DELETE, .access = NGX_HTTP_USERS_SUPERUSER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .handler = ngx_http_users_users_delete },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_profile_me_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_PROFILE_ME,
      .handler = ngx_http_users_auth_me },
    { .method = NGX_HTTP_PUT, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_JSON,
      .schema = &ngx_http_users_profile_schema,
      .auth = NGX_HTTP_USERS_SQL_AUTH, .folded = 1,
      .handler = ngx_http_users_profile_update },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_preferences_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE,
      .auth = NGX_HTTP_USERS_SQL_PREFERENCES_ME,
      .handler = ngx_http_users_auth_me },
    { .method = NGX_HTTP_PUT, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_JSON,
      .schema = &ngx_http_users_preferences_schema,
      .auth = NGX_HTTP_USERS_SQL_AUTH, .folded = 1,
      .handler = ngx_http_users_preferences_update },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_avatar_methods[] = {
    { .method = NGX_HTTP_DELETE, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_avatar_delete },
    { .method = 0 }
};


static ngx_http_users_method_t  ngx_http_users_public_profile_methods[] = {
    { .method = NGX_HTTP_GET, .access = NGX_HTTP_USERS_USER,
      .body = NGX_HTTP_USERS_BODY_NONE, .auth = NGX_HTTP_USERS_SQL_AUTH,
      .folded = 1, .handler = ngx_http_users_public_profile },
    { .method = 0 }
};


/* a route's place here is its index in the metrics */
ngx_http_users_route_t  ngx_http_users_routes[] = {
    { .name = ngx_string("root"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_root_methods },
    { .name = ngx_string("healthz"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_healthz_methods },
    { .name = ngx_string("readyz"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_readyz_methods },
    { .name = ngx_string("not_found"),
      .methods = ngx_http_users_not_found_methods },
    { .name = ngx_string("error"), .methods = ngx_http_users_error_methods },
    { .name = ngx_string("jwks"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_jwks_methods },
    { .name = ngx_string("auth_register"), .allow = ngx_string("POST"),
      .methods = ngx_http_users_register_methods, .no_store = 1 },
    { .name = ngx_string("auth_login"), .allow = ngx_string("POST"),
      .methods = ngx_http_users_login_methods, .no_store = 1 },
    { .name = ngx_string("auth_me"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_auth_me_methods, .no_store = 1 },
    { .name = ngx_string("auth_test_token"), .allow = ngx_string("POST"),
      .methods = ngx_http_users_test_token_methods, .no_store = 1 },
    { .name = ngx_string("auth_logout"), .allow = ngx_string("POST"),
      .methods = ngx_http_users_logout_methods, .no_store = 1 },
    { .name = ngx_string("auth_verify"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_verify_methods, .no_store = 1, .rfc6750 = 1 },
    { .name = ngx_string("users"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_users_methods, .no_store = 1 },
    { .name = ngx_string("users_me"), .allow = ngx_string("GET, PUT"),
      .methods = ngx_http_users_users_me_methods, .no_store = 1 },
    { .name = ngx_string("user"), .allow = ngx_string("GET, PUT, DELETE"),
      .methods = ngx_http_users_user_methods, .no_store = 1, .path_id = 1 },
    { .name = ngx_string("profile_me"), .allow = ngx_string("GET, PUT"),
      .methods = ngx_http_users_profile_me_methods, .no_store = 1 },
    { .name = ngx_string("preferences"), .allow = ngx_string("GET, PUT"),
      .methods = ngx_http_users_preferences_methods, .no_store = 1 },
    { .name = ngx_string("avatar"), .allow = ngx_string("DELETE"),
      .methods = ngx_http_users_avatar_methods, .no_store = 1 },
    { .name = ngx_string("public_profile"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_public_profile_methods, .no_store = 1,
      .path_id = 1 },
    { .name = ngx_string("audit"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_audit_methods, .no_store = 1 },
    { .name = ngx_string("auth_refresh"), .allow = ngx_string("POST"),
      .methods = ngx_http_users_refresh_methods, .no_store = 1 },
    { .name = ngx_string("auth_sessions"), .allow = ngx_string("GET"),
      .methods = ngx_http_users_sessions_methods, .no_store = 1 },
    { .name = ngx_string("auth_session"), .allow = ngx_string("DELETE"),
      .methods = ngx_http_users_session_methods, .no_store = 1, .path_id = 1,
      .path_session = 1 },
    { .name = ngx_string("user_sessions"), .allow = ngx_string("GET, DELETE"),
      .methods = ngx_http_users_user_sessions_methods, .no_store = 1,
      .path_id = 1 },
    { .methods = NULL }
};


ngx_http_users_method_t *
ngx_http_users_route_method(ngx_http_users_route_t *route, ngx_uint_t method)
{
    ngx_http_users_method_t  *m;

    /* HEAD is served as GET, with the body left out by nginx */
    if (method == NGX_HTTP_HEAD) {
        method = NGX_HTTP_GET;
    }

    for (m = route->methods; m->method; m++) {
        if (m->method & method) {
            return m;
        }
    }

    return NULL;
}


char *
ngx_http_users_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t *ulcf = conf;

    ngx_str_t                         *value;
    ngx_http_users_route_t            *route;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_users_main_conf_t        *umcf;
    ngx_http_compile_complex_value_t   ccv;

    if (ulcf->route) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (route = ngx_http_users_routes; route->methods; route++) {
        if (route->name.len == value[1].len
            && ngx_strncmp(route->name.data, value[1].data, value[1].len)
               == 0)
        {
            break;
        }
    }

    if (route->methods == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown users_api route \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (route->path_id != (cf->args->nelts == 3)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           route->path_id
                           ? "users_api route \"%V\" needs the id, "
                             "e.g. a regex capture"
                           : "users_api route \"%V\" takes no id",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    ulcf->route = route;

    if (route->path_id) {
        ulcf->id = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (ulcf->id == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[2];
        ccv.complex_value = ulcf->id;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_users_handler;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);
    umcf->enabled = 1;

    return NGX_CONF_OK;
}
