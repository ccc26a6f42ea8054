
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
    { NGX_HTTP_GET, NGX_HTTP_USERS_ANYONE, NGX_HTTP_USERS_BODY_NONE, NULL,
      0, 0, ngx_http_users_meta_root },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_healthz_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_ANYONE, NGX_HTTP_USERS_BODY_NONE, NULL,
      0, 0, ngx_http_users_meta_healthz },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_readyz_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_ANYONE, NGX_HTTP_USERS_BODY_NONE, NULL,
      0, 0, ngx_http_users_meta_readyz },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_not_found_methods[] = {
    { NGX_HTTP_USERS_ANY_METHOD, NGX_HTTP_USERS_ANYONE,
      NGX_HTTP_USERS_BODY_NONE, NULL, 0, 0, ngx_http_users_meta_not_found },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_error_methods[] = {
    { NGX_HTTP_USERS_ANY_METHOD, NGX_HTTP_USERS_ANYONE,
      NGX_HTTP_USERS_BODY_NONE, NULL, 0, 0, ngx_http_users_meta_error },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_jwks_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_ANYONE, NGX_HTTP_USERS_BODY_NONE, NULL,
      0, 0, ngx_http_users_keys_jwks },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_register_methods[] = {
    { NGX_HTTP_POST, NGX_HTTP_USERS_ANYONE, NGX_HTTP_USERS_BODY_JSON,
      &ngx_http_users_register_schema, 0, 0, ngx_http_users_auth_register },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_login_methods[] = {
    { NGX_HTTP_POST, NGX_HTTP_USERS_ANYONE, NGX_HTTP_USERS_BODY_FORM, NULL,
      0, 0, ngx_http_users_auth_login },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_auth_me_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 0, ngx_http_users_auth_me },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_test_token_methods[] = {
    { NGX_HTTP_POST, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 0, ngx_http_users_auth_me },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


/* folded: the state in shared memory answers, or its own load does */
static ngx_http_users_method_t  ngx_http_users_verify_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH_STATE, 1, ngx_http_users_auth_verify },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_logout_methods[] = {
    { NGX_HTTP_POST, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_auth_logout },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_refresh_methods[] = {
    { NGX_HTTP_POST, NGX_HTTP_USERS_ANYONE, NGX_HTTP_USERS_BODY_JSON,
      &ngx_http_users_refresh_schema, 0, 0, ngx_http_users_session_refresh },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_sessions_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_session_list },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_session_methods[] = {
    { NGX_HTTP_DELETE, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_session_delete },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_user_sessions_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_SUPERUSER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_session_user_list },
    { NGX_HTTP_DELETE, NGX_HTTP_USERS_SUPERUSER, NGX_HTTP_USERS_BODY_NONE,
      NULL, NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_session_user_end },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_users_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_SUPERUSER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 0, ngx_http_users_users_list },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_audit_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_SUPERUSER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_audit_list },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_users_me_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 0, ngx_http_users_auth_me },
    { NGX_HTTP_PUT, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_JSON,
      &ngx_http_users_me_update_schema, NGX_HTTP_USERS_SQL_AUTH_PASSWORD, 0,
      ngx_http_users_users_me_update },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_user_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_SUPERUSER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_users_get },
    { NGX_HTTP_PUT, NGX_HTTP_USERS_SUPERUSER, NGX_HTTP_USERS_BODY_JSON,
      &ngx_http_users_update_schema, NGX_HTTP_USERS_SQL_AUTH, 0,
      ngx_http_users_users_update },
    { NGX_HTTP_DELETE, NGX_HTTP_USERS_SUPERUSER, NGX_HTTP_USERS_BODY_NONE,
      NULL, NGX_HTTP_USERS_SQL_AUTH, 0, ngx_http_users_users_delete },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_profile_me_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_PROFILE_ME, 0, ngx_http_users_auth_me },
    { NGX_HTTP_PUT, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_JSON,
      &ngx_http_users_profile_schema, NGX_HTTP_USERS_SQL_AUTH, 1,
      ngx_http_users_profile_update },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_preferences_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_PREFERENCES_ME, 0, ngx_http_users_auth_me },
    { NGX_HTTP_PUT, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_JSON,
      &ngx_http_users_preferences_schema, NGX_HTTP_USERS_SQL_AUTH, 1,
      ngx_http_users_preferences_update },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_avatar_methods[] = {
    { NGX_HTTP_DELETE, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_avatar_delete },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


static ngx_http_users_method_t  ngx_http_users_public_profile_methods[] = {
    { NGX_HTTP_GET, NGX_HTTP_USERS_USER, NGX_HTTP_USERS_BODY_NONE, NULL,
      NGX_HTTP_USERS_SQL_AUTH, 1, ngx_http_users_public_profile },
    { 0, 0, 0, NULL, 0, 0, NULL }
};


/*
 * name, Allow, methods, Cache-Control: no-store, takes an id (a session's
 * with path_session), RFC 6750; a route's place here is its index in the
 * metrics
 */
ngx_http_users_route_t  ngx_http_users_routes[] = {
    { ngx_string("root"), ngx_string("GET"),
      ngx_http_users_root_methods, 0, 0, 0, 0 },
    { ngx_string("healthz"), ngx_string("GET"),
      ngx_http_users_healthz_methods, 0, 0, 0, 0 },
    { ngx_string("readyz"), ngx_string("GET"),
      ngx_http_users_readyz_methods, 0, 0, 0, 0 },
    { ngx_string("not_found"), ngx_null_string,
      ngx_http_users_not_found_methods, 0, 0, 0, 0 },
    { ngx_string("error"), ngx_null_string,
      ngx_http_users_error_methods, 0, 0, 0, 0 },
    { ngx_string("jwks"), ngx_string("GET"),
      ngx_http_users_jwks_methods, 0, 0, 0, 0 },
    { ngx_string("auth_register"), ngx_string("POST"),
      ngx_http_users_register_methods, 1, 0, 0, 0 },
    { ngx_string("auth_login"), ngx_string("POST"),
      ngx_http_users_login_methods, 1, 0, 0, 0 },
    { ngx_string("auth_me"), ngx_string("GET"),
      ngx_http_users_auth_me_methods, 1, 0, 0, 0 },
    { ngx_string("auth_test_token"), ngx_string("POST"),
      ngx_http_users_test_token_methods, 1, 0, 0, 0 },
    { ngx_string("auth_logout"), ngx_string("POST"),
      ngx_http_users_logout_methods, 1, 0, 0, 0 },
    { ngx_string("auth_verify"), ngx_string("GET"),
      ngx_http_users_verify_methods, 1, 0, 0, 1 },
    { ngx_string("users"), ngx_string("GET"),
      ngx_http_users_users_methods, 1, 0, 0, 0 },
    { ngx_string("users_me"), ngx_string("GET, PUT"),
      ngx_http_users_users_me_methods, 1, 0, 0, 0 },
    { ngx_string("user"), ngx_string("GET, PUT, DELETE"),
      ngx_http_users_user_methods, 1, 1, 0, 0 },
    { ngx_string("profile_me"), ngx_string("GET, PUT"),
      ngx_http_users_profile_me_methods, 1, 0, 0, 0 },
    { ngx_string("preferences"), ngx_string("GET, PUT"),
      ngx_http_users_preferences_methods, 1, 0, 0, 0 },
    { ngx_string("avatar"), ngx_string("DELETE"),
      ngx_http_users_avatar_methods, 1, 0, 0, 0 },
    { ngx_string("public_profile"), ngx_string("GET"),
      ngx_http_users_public_profile_methods, 1, 1, 0, 0 },
    { ngx_string("audit"), ngx_string("GET"),
      ngx_http_users_audit_methods, 1, 0, 0, 0 },
    { ngx_string("auth_refresh"), ngx_string("POST"),
      ngx_http_users_refresh_methods, 1, 0, 0, 0 },
    { ngx_string("auth_sessions"), ngx_string("GET"),
      ngx_http_users_sessions_methods, 1, 0, 0, 0 },
    { ngx_string("auth_session"), ngx_string("DELETE"),
      ngx_http_users_session_methods, 1, 1, 1, 0 },
    { ngx_string("user_sessions"), ngx_string("GET, DELETE"),
      ngx_http_users_user_sessions_methods, 1, 1, 0, 0 },
    { ngx_null_string, ngx_null_string, NULL, 0, 0, 0, 0 }
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
