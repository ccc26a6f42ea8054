
/*
 * Copyright (C) ngx_users authors
 *
 * Request bodies: a JSON object checked against a field table, with the
 * messages and types of pydantic v1 so that clients of the FastAPI service
 * see the same 422 lists.  The extra rules of some fields are in
 * ngx_http_users_check.c and ngx_http_users_timezone.c.
 */


#include "ngx_http_users_module.h"


static ngx_int_t ngx_http_users_json_field(ngx_pool_t *pool,
    ngx_http_users_field_t *field, json_t *json,
    ngx_http_users_value_t *value, ngx_array_t *errors);
static ngx_int_t ngx_http_users_json_unknown(ngx_pool_t *pool,
    ngx_http_users_field_t *fields, ngx_uint_t nfields, json_t *root,
    ngx_array_t *errors);
static ngx_int_t ngx_http_users_json_syntax(ngx_pool_t *pool,
    json_error_t *err, ngx_array_t *errors);
static ngx_int_t ngx_http_users_json_length(ngx_pool_t *pool,
    ngx_str_t *field, char *bound, ngx_uint_t limit, char *type,
    ngx_array_t *errors);


static ngx_str_t  ngx_http_users_whole = ngx_string("");


ngx_int_t
ngx_http_users_json_validate(ngx_pool_t *pool, ngx_str_t *body,
    ngx_http_users_field_t *fields, ngx_uint_t nfields,
    ngx_http_users_value_t *values, ngx_array_t *errors)
{
    char          *text;
    json_t        *root, *json;
    ngx_int_t      rc;
    ngx_uint_t     i, nelts;
    json_error_t   err;

    ngx_memzero(values, nfields * sizeof(ngx_http_users_value_t));

    /* jansson refuses a NULL buffer even when it is empty */
    text = body->len ? (char *) body->data : "";

    /*
     * Scalars are decoded too, so that "1" is reported as not being an
     * object, as pydantic does, rather than as a syntax error.
     */
    root = json_loadb(text, body->len, JSON_REJECT_DUPLICATES|JSON_DECODE_ANY,
                      &err);
    if (root == NULL) {
        return ngx_http_users_json_syntax(pool, &err, errors);
    }

    nelts = errors->nelts;

    if (!json_is_object(root)) {
        rc = ngx_http_users_error_add(errors, "body", &ngx_http_users_whole,
                                      "value is not a valid dict",
                                      "type_error.dict");
        goto done;
    }

    for (i = 0; i < nfields; i++) {
        json = json_object_getn(root, (char *) fields[i].name.data,
                                fields[i].name.len);

        rc = ngx_http_users_json_field(pool, &fields[i], json, &values[i],
                                       errors);
        if (rc != NGX_OK) {
            goto done;
        }
    }

    rc = ngx_http_users_json_unknown(pool, fields, nfields, root, errors);

done:

    json_decref(root);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    return (errors->nelts == nelts) ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_users_json_field(ngx_pool_t *pool, ngx_http_users_field_t *field,
    json_t *json, ngx_http_users_value_t *value, ngx_array_t *errors)
{
    size_t                       len, chars;
    ngx_http_users_violation_t  *violation;

    if (json == NULL) {
        if (field->required) {
            return ngx_http_users_error_add(errors, "body", &field->name,
                                            "field required",
                                            "value_error.missing");
        }

        return NGX_OK;
    }

    if (json_is_null(json)) {
        if (!field->nullable) {
            return ngx_http_users_error_add(errors, "body", &field->name,
                                            "none is not an allowed value",
                                            "type_error.none.not_allowed");
        }

        value->present = 1;
        value->null = 1;
        return NGX_OK;
    }

    if (field->type == NGX_HTTP_USERS_FIELD_BOOL) {
        if (!json_is_boolean(json)) {
            /* pydantic's StrictBool says value_error, not type_error */
            return ngx_http_users_error_add(errors, "body", &field->name,
                                            "value is not a valid boolean",
                                            "value_error.strictbool");
        }

        value->present = 1;
        value->boolean = json_is_true(json);
        return NGX_OK;
    }

    if (!json_is_string(json)) {
        return ngx_http_users_error_add(errors, "body", &field->name,
                                        "str type expected",
                                        "type_error.str");
    }

    len = json_string_length(json);

    value->str.data = ngx_pnalloc(pool, len + 1);
    if (value->str.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(value->str.data, json_string_value(json), len);
    value->str.data[len] = '\0';
    value->str.len = len;

    /* jansson has checked the UTF-8 already */
    chars = ngx_http_users_utf8_chars(value->str.data, len);

    if (chars < field->min_chars) {
        return ngx_http_users_json_length(pool, &field->name, "at least",
                                          field->min_chars,
                                          "value_error.any_str.min_length",
                                          errors);
    }

    if (field->max_chars && chars > field->max_chars) {
        return ngx_http_users_json_length(pool, &field->name, "at most",
                                          field->max_chars,
                                          "value_error.any_str.max_length",
                                          errors);
    }

    if (field->check) {
        violation = field->check(&value->str);

        if (violation) {
            return ngx_http_users_error_add(errors, "body", &field->name,
                                            violation->msg, violation->type);
        }
    }

    value->present = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_json_unknown(ngx_pool_t *pool, ngx_http_users_field_t *fields,
    ngx_uint_t nfields, json_t *root, ngx_array_t *errors)
{
    size_t       len;
    json_t      *value;
    ngx_str_t    name;
    ngx_uint_t   i;
    const char  *key;

    /* objects keep the order of their keys, as pydantic lists extra ones */

    json_object_foreach(root, key, value) {

        /* jansson refuses NUL in keys, so a key ends at its NUL */
        len = ngx_strlen(key);

        for (i = 0; i < nfields; i++) {
            if (fields[i].name.len == len
                && ngx_strncmp(fields[i].name.data, key, len) == 0)
            {
                break;
            }
        }

        if (i < nfields) {
            continue;
        }

        name.data = ngx_pnalloc(pool, len);
        if (name.data == NULL) {
            return NGX_ERROR;
        }

        name.len = len;
        ngx_memcpy(name.data, key, len);

        if (ngx_http_users_error_add(errors, "body", &name,
                                     "extra fields not permitted",
                                     "value_error.extra")
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_json_syntax(ngx_pool_t *pool, json_error_t *err,
    ngx_array_t *errors)
{
    u_char  *msg, *p, *text;

    /*
     * jansson reports some allocation failures only by leaving the text
     * empty; others it reports as syntax errors, which cannot be told apart
     */

    if (json_error_code(err) == json_error_out_of_memory
        || err->text[0] == '\0')
    {
        return NGX_ERROR;
    }

    msg = ngx_pnalloc(pool, sizeof("invalid JSON: ") - 1
                            + JSON_ERROR_TEXT_LENGTH
                            + sizeof(": line  column ") + 2 * NGX_INT_T_LEN);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(msg, "invalid JSON: ", sizeof("invalid JSON: ") - 1);

    /*
     * jansson quotes the bytes near the error, which may be anything:
     * the message is sent back in a JSON string, so keep it printable ASCII
     */

    for (text = (u_char *) err->text; *text; text++) {
        *p++ = (*text >= 0x20 && *text < 0x7f) ? *text : '?';
    }

    (void) ngx_sprintf(p, ": line %d column %d%Z", err->line, err->column);

    if (ngx_http_users_error_add(errors, "body",
                                 &ngx_http_users_whole, (char *) msg,
                                 "value_error.jsondecode")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_users_json_length(ngx_pool_t *pool, ngx_str_t *field, char *bound,
    ngx_uint_t limit, char *type, ngx_array_t *errors)
{
    u_char  *msg;

    msg = ngx_pnalloc(pool, sizeof("ensure this value has at least "
                                   " characters") + NGX_INT_T_LEN);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(msg, "ensure this value has %s %ui characters%Z",
                       bound, limit);

    return ngx_http_users_error_add(errors, "body", field, (char *) msg, type);
}


/* one entry of a 422's "detail": loc is "body", "query" or "path" */

ngx_int_t
ngx_http_users_error_add(ngx_array_t *errors, char *loc, ngx_str_t *field,
    char *msg, char *type)
{
    ngx_http_users_error_t  *e;

    e = ngx_array_push(errors);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->loc.len = ngx_strlen(loc);
    e->loc.data = (u_char *) loc;
    e->field = *field;
    e->msg.len = ngx_strlen(msg);
    e->msg.data = (u_char *) msg;
    e->type.len = ngx_strlen(type);
    e->type.data = (u_char *) type;

    return NGX_OK;
}
