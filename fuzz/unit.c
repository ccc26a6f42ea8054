
/*
 * Copyright (C) ngx_users authors
 *
 * Unit tests of the form decoder, the id parser, the JSON validator and
 * its checks, the bearer parser, the JWT issuer and verifier, and the
 * signing keys (read from t/keys/: run from the project root).
 */


#include "fuzz_util.h"

#include <openssl/err.h>


#define CHECK(cond)                                                           \
    do {                                                                      \
        if (cond) {                                                           \
            unit_passed++;                                                    \
        } else {                                                              \
            unit_failed++;                                                    \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__,        \
                    #cond);                                                   \
        }                                                                     \
    } while (0)

#define STR_IS(s, text)                                                       \
    ((s).len == sizeof(text) - 1 && memcmp((s).data, text, (s).len) == 0)


enum { TABLE_REGISTER = 0, TABLE_ME, TABLE_USER, TABLE_PROFILE, TABLE_PREFS };


static ngx_uint_t  unit_passed, unit_failed;

static ngx_pool_t  *pool;

/* allocations left before jansson's malloc fails; 0: never */
static ngx_uint_t  unit_json_fail_after;


static void *
unit_json_malloc(size_t size)
{
    if (unit_json_fail_after && --unit_json_fail_after == 0) {
        return NULL;
    }

    return malloc(size);
}


static ngx_str_t
str(const char *text)
{
    ngx_str_t  s;

    s.len = strlen(text);
    s.data = (u_char *) text;

    return s;
}


/* ---------------------------------------------------------------- forms */


static ngx_http_users_form_field_t  form_fields[3];


static ngx_int_t
form(const char *text)
{
    ngx_str_t  s;

    ngx_str_set(&form_fields[0].name, "username");
    ngx_str_set(&form_fields[1].name, "password");
    ngx_str_set(&form_fields[2].name, "grant_type");

    s = str(text);

    return ngx_http_users_form_parse(pool, &s, form_fields, 3);
}


static void
test_form(void)
{
    ngx_http_users_form_field_t  *user, *pass, *grant;

    user = &form_fields[0];
    pass = &form_fields[1];
    grant = &form_fields[2];

    CHECK(form("username=a+b%20c&password=x") == NGX_OK);
    CHECK(user->found && !user->invalid && STR_IS(user->value, "a b c"));
    CHECK(user->value.data[user->value.len] == '\0');
    CHECK(pass->found && STR_IS(pass->value, "x"));
    CHECK(!grant->found && grant->value.len == 0);

    CHECK(form("username=%4z") == NGX_OK);
    CHECK(user->found && user->invalid && user->value.len == 0);
    CHECK(user->value.data[0] == '\0');

    CHECK(form("username=%00") == NGX_OK && user->invalid);
    CHECK(form("username=a%") == NGX_OK && user->invalid);
    CHECK(form("username=a%4") == NGX_OK && user->invalid);
    CHECK(form("username=%C3") == NGX_OK && user->invalid);
    CHECK(form("username=%C0%AF") == NGX_OK && user->invalid);
    CHECK(form("username=%ED%A0%80") == NGX_OK && user->invalid);
    CHECK(form("username=%F4%90%80%80") == NGX_OK && user->invalid);

    CHECK(form("username=%c3%A9%2f%2F") == NGX_OK && !user->invalid);
    CHECK(STR_IS(user->value, "\xc3\xa9//"));

    CHECK(form("username=first&password=p&username=last") == NGX_OK);
    CHECK(STR_IS(user->value, "last") && STR_IS(pass->value, "p"));

    CHECK(form("username=ok&username=%zz") == NGX_OK);
    CHECK(user->found && user->invalid);

    CHECK(form("username=%zz&username=ok") == NGX_OK);
    CHECK(user->found && !user->invalid && STR_IS(user->value, "ok"));

    CHECK(form("user%6Eame=a&pass+word=b&%zz=c&=d&scope=e") == NGX_OK);
    CHECK(STR_IS(user->value, "a") && !pass->found);

    CHECK(form("&&username&&password=&") == NGX_OK);
    CHECK(user->found && !user->invalid && user->value.len == 0);
    CHECK(pass->found && !pass->invalid && pass->value.len == 0);

    CHECK(form("username=a=b%3D") == NGX_OK && STR_IS(user->value, "a=b="));
    CHECK(form("") == NGX_OK && !user->found && !pass->found);

    ngx_shim_fail_after = 1;
    CHECK(form("username=a") == NGX_ERROR);
    ngx_shim_fail_after = 0;
}


static void
test_form_nul(void)
{
    ngx_str_t  s;

    /* a NUL byte sent as is, not escaped */
    s.data = (u_char *) "username=a\0b&password=p";
    s.len = sizeof("username=a\0b&password=p") - 1;

    ngx_str_set(&form_fields[0].name, "username");
    ngx_str_set(&form_fields[1].name, "password");

    CHECK(ngx_http_users_form_parse(pool, &s, form_fields, 2) == NGX_OK);
    CHECK(form_fields[0].invalid && STR_IS(form_fields[1].value, "p"));
}


static ngx_int_t
id(const char *text, int64_t *value)
{
    ngx_str_t  s;

    s = str(text);

    return ngx_http_users_parse_id(&s, value);
}


static void
test_parse_id(void)
{
    int64_t  n;

    CHECK(id("1", &n) == NGX_OK && n == 1);
    CHECK(id("0042", &n) == NGX_OK && n == 42);
    CHECK(id("9223372036854775807", &n) == NGX_OK && n == INT64_MAX);
    CHECK(id("00000000000000000000009223372036854775807", &n) == NGX_OK);
    CHECK(id("9223372036854775808", &n) == NGX_ERROR);
    CHECK(id("99999999999999999999", &n) == NGX_ERROR);
    CHECK(id("0", &n) == NGX_ERROR);
    CHECK(id("000", &n) == NGX_ERROR);
    CHECK(id("", &n) == NGX_ERROR);
    CHECK(id("-1", &n) == NGX_ERROR);
    CHECK(id("+1", &n) == NGX_ERROR);
    CHECK(id(" 1", &n) == NGX_ERROR);
    CHECK(id("1 ", &n) == NGX_ERROR);
    CHECK(id("1a", &n) == NGX_ERROR);
    CHECK(id("0x10", &n) == NGX_ERROR);
}


/* ---------------------------------------------------------------- JSON */


static ngx_array_t             *errors;
static ngx_http_users_value_t   values[8];


static ngx_int_t
validate_n(ngx_uint_t table, const char *body, size_t len)
{
    ngx_str_t  s;

    errors = ngx_array_create(pool, 4, sizeof(ngx_http_users_error_t));
    if (errors == NULL) {
        abort();
    }

    s.data = (u_char *) body;
    s.len = len;

    return ngx_http_users_json_validate(pool, &s, fuzz_tables[table].fields,
                                        fuzz_tables[table].nfields, values,
                                        errors);
}


static ngx_int_t
validate(ngx_uint_t table, const char *body)
{
    return validate_n(table, body, strlen(body));
}


static int
error_is(ngx_uint_t i, const char *field, const char *msg, const char *type)
{
    ngx_http_users_error_t  *e;

    if (i >= errors->nelts) {
        return 0;
    }

    e = (ngx_http_users_error_t *) errors->elts + i;

    return STR_IS(e->loc, "body")
           && e->field.len == strlen(field)
           && memcmp(e->field.data, field, e->field.len) == 0
           && e->msg.len == strlen(msg)
           && memcmp(e->msg.data, msg, e->msg.len) == 0
           && e->type.len == strlen(type)
           && memcmp(e->type.data, type, e->type.len) == 0;
}


static int
error_starts(ngx_uint_t i, const char *field, const char *msg,
    const char *type)
{
    size_t                   n;
    ngx_http_users_error_t  *e;

    if (i >= errors->nelts) {
        return 0;
    }

    e = (ngx_http_users_error_t *) errors->elts + i;
    n = strlen(msg);

    return e->field.len == strlen(field)
           && e->msg.len >= n && memcmp(e->msg.data, msg, n) == 0
           && e->type.len == strlen(type)
           && memcmp(e->type.data, type, e->type.len) == 0;
}


static void
test_json_register(void)
{
    CHECK(validate(TABLE_REGISTER, "{\"email\":\"alice@example.com\","
                   "\"name\":\"Alice\",\"password\":\"secretpassword123\"}")
          == NGX_OK);
    CHECK(errors->nelts == 0);
    CHECK(values[0].present && STR_IS(values[0].str, "alice@example.com"));
    CHECK(values[0].str.data[values[0].str.len] == '\0');
    CHECK(values[1].present && STR_IS(values[1].str, "secretpassword123"));
    CHECK(values[2].present && !values[2].null && STR_IS(values[2].str,
                                                         "Alice"));

    CHECK(validate(TABLE_REGISTER, "{\"email\":\"a@example.com\","
                   "\"password\":\"12345678\"}")
          == NGX_OK);
    CHECK(!values[2].present);

    CHECK(validate(TABLE_REGISTER, "{\"email\":\"a@example.com\","
                   "\"password\":\"12345678\",\"name\":null}")
          == NGX_OK);
    CHECK(values[2].present && values[2].null);

    /* every error, in field order, then the unknown keys in body order */
    CHECK(validate(TABLE_REGISTER, "{\"zz\":1,\"name\":5,\"password\":null,"
                   "\"is_superuser\":true}")
          == NGX_DECLINED);
    CHECK(errors->nelts == 5);
    CHECK(error_is(0, "email", "field required", "value_error.missing"));
    CHECK(error_is(1, "password", "none is not an allowed value",
                   "type_error.none.not_allowed"));
    CHECK(error_is(2, "name", "str type expected", "type_error.str"));
    CHECK(error_is(3, "zz", "extra fields not permitted",
                   "value_error.extra"));
    CHECK(error_is(4, "is_superuser", "extra fields not permitted",
                   "value_error.extra"));

    CHECK(validate(TABLE_REGISTER, "{\"email\":\"a@b\",\"password\":"
                   "\"1234567\"}")
          == NGX_DECLINED);
    CHECK(error_is(0, "email", "value is not a valid email address",
                   "value_error.email"));
    CHECK(error_is(1, "password", "ensure this value has at least 8 "
                   "characters", "value_error.any_str.min_length"));

    /* no coercion: numbers, bools, arrays and objects are not strings */
    CHECK(validate(TABLE_REGISTER, "{\"email\":1,\"password\":true,"
                   "\"name\":[\"x\"]}")
          == NGX_DECLINED);
    CHECK(error_is(0, "email", "str type expected", "type_error.str"));
    CHECK(error_is(1, "password", "str type expected", "type_error.str"));
    CHECK(error_is(2, "name", "str type expected", "type_error.str"));

    CHECK(validate(TABLE_REGISTER, "{\"email\":1.0,\"password\":{},"
                   "\"name\":{\"a\":[[[{}]]]}}")
          == NGX_DECLINED);
    CHECK(errors->nelts == 3);
    CHECK(error_is(2, "name", "str type expected", "type_error.str"));
}


static void
test_json_bools(void)
{
    CHECK(validate(TABLE_USER, "{\"is_active\":false,\"is_superuser\":true}")
          == NGX_OK);
    CHECK(values[3].present && !values[3].boolean);
    CHECK(values[4].present && values[4].boolean);

    CHECK(validate(TABLE_USER, "{\"is_active\":1,\"is_superuser\":\"true\","
                   "\"email\":null,\"name\":null}")
          == NGX_DECLINED);
    CHECK(errors->nelts == 3);
    CHECK(error_is(0, "email", "none is not an allowed value",
                   "type_error.none.not_allowed"));
    CHECK(error_is(1, "is_active", "value is not a valid boolean",
                   "value_error.strictbool"));
    CHECK(error_is(2, "is_superuser", "value is not a valid boolean",
                   "value_error.strictbool"));

    CHECK(validate(TABLE_USER, "{\"is_active\":null}") == NGX_DECLINED);
    CHECK(error_is(0, "is_active", "none is not an allowed value",
                   "type_error.none.not_allowed"));

    /* through /users/me the status keys are unknown fields */
    CHECK(validate(TABLE_ME, "{\"is_active\":false}") == NGX_DECLINED);
    CHECK(error_is(0, "is_active", "extra fields not permitted",
                   "value_error.extra"));
}


static void
test_json_lengths(void)
{
    char    *body;
    size_t   i, len;

    /* 10000 two-byte letters are 10000 characters, not 20000 */

    body = malloc(2 * 10001 + 16);
    if (body == NULL) {
        abort();
    }

    len = 0;
    len += sprintf(body, "{\"bio\":\"");

    for (i = 0; i < 10000; i++) {
        body[len++] = '\xc3';
        body[len++] = '\xa9';
    }

    len += sprintf(body + len, "\"}");

    CHECK(validate_n(TABLE_PROFILE, body, len) == NGX_OK);
    CHECK(values[1].present && values[1].str.len == 20000);

    len -= 2;
    body[len++] = '\xc3';
    body[len++] = '\xa9';
    len += sprintf(body + len, "\"}");

    CHECK(validate_n(TABLE_PROFILE, body, len) == NGX_DECLINED);
    CHECK(errors->nelts == 1);
    CHECK(error_is(0, "bio", "ensure this value has at most 10000 characters",
                   "value_error.any_str.max_length"));

    free(body);

    CHECK(validate(TABLE_PROFILE, "{\"phone\":\"+1 (555) 123-45.6789\"}")
          == NGX_OK);
    CHECK(validate(TABLE_PROFILE, "{\"phone\":\"+1 (555) 123-45.67890\"}")
          == NGX_DECLINED);
    CHECK(error_is(0, "phone", "ensure this value has at most 20 characters",
                   "value_error.any_str.max_length"));

    CHECK(validate(TABLE_PROFILE, "{\"avatar_url\":\"\"}") == NGX_DECLINED);
    CHECK(error_is(0, "avatar_url", "ensure this value has at least 1 "
                   "characters", "value_error.any_str.min_length"));

    CHECK(validate(TABLE_PROFILE, "{\"avatar_url\":null,\"bio\":null,"
                   "\"website\":null,\"phone\":null,\"location\":null,"
                   "\"name\":null}")
          == NGX_OK);
    CHECK(values[2].present && values[2].null);
}


static void
test_json_body(void)
{
    ngx_uint_t               i;
    ngx_http_users_error_t  *e;

    CHECK(validate(TABLE_ME, "{\"name\":\"a\",\"name\":\"b\"}")
          == NGX_DECLINED);
    CHECK(errors->nelts == 1);
    CHECK(error_starts(0, "", "invalid JSON: duplicate object key",
                       "value_error.jsondecode"));

    CHECK(validate(TABLE_ME, "{\"name\":\"a\\u0000b\"}") == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    CHECK(validate(TABLE_ME, "{\"a\\u0000\":1}") == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    CHECK(validate(TABLE_ME, "{\"name\":\"\\ud800\"}") == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    CHECK(validate(TABLE_ME, "{\"name\":\"\xff\xfe\"}") == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    /* the message quotes the input, but stays printable ASCII */
    e = errors->elts;
    for (i = 0; i < e->msg.len; i++) {
        CHECK(e->msg.data[i] >= 0x20 && e->msg.data[i] < 0x7f);
    }

    CHECK(validate(TABLE_ME, "") == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    CHECK(validate(TABLE_ME, "{} x") == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    CHECK(validate(TABLE_ME, "{\"name\":NaN}") == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    CHECK(validate(TABLE_ME, "[]") == NGX_DECLINED);
    CHECK(errors->nelts == 1);
    CHECK(error_is(0, "", "value is not a valid dict", "type_error.dict"));

    CHECK(validate(TABLE_ME, "1") == NGX_DECLINED);
    CHECK(error_is(0, "", "value is not a valid dict", "type_error.dict"));

    CHECK(validate(TABLE_ME, "\"x\"") == NGX_DECLINED);
    CHECK(error_is(0, "", "value is not a valid dict", "type_error.dict"));

    CHECK(validate(TABLE_ME, "null") == NGX_DECLINED);
    CHECK(error_is(0, "", "value is not a valid dict", "type_error.dict"));

    CHECK(validate(TABLE_ME, " {} ") == NGX_OK);
    CHECK(!values[0].present && !values[1].present);
}


static void
test_json_nesting(void)
{
    char    *body;
    size_t   i, len;

    /* deeper than jansson's 2048 levels */
    len = 0;
    body = malloc(2 * 3000 + 32);
    if (body == NULL) {
        abort();
    }

    len += sprintf(body, "{\"name\":");
    for (i = 0; i < 3000; i++) {
        body[len++] = '[';
    }
    for (i = 0; i < 3000; i++) {
        body[len++] = ']';
    }
    body[len++] = '}';

    CHECK(validate_n(TABLE_ME, body, len) == NGX_DECLINED);
    CHECK(error_starts(0, "", "invalid JSON: ", "value_error.jsondecode"));

    /* within it, a nested value is a type error of its field */
    len = sprintf(body, "{\"name\":");
    for (i = 0; i < 100; i++) {
        body[len++] = '[';
    }
    for (i = 0; i < 100; i++) {
        body[len++] = ']';
    }
    body[len++] = '}';

    CHECK(validate_n(TABLE_ME, body, len) == NGX_DECLINED);
    CHECK(error_is(0, "name", "str type expected", "type_error.str"));

    free(body);
}


static void
test_json_failures(void)
{
    ngx_int_t   rc;
    ngx_uint_t  k, ok, failed;

    /*
     * Every pool allocation fails in turn: the validator must say
     * NGX_ERROR, and must not leak its jansson root (LeakSanitizer).
     */

    ok = 0;
    failed = 0;

    for (k = 1; k < 64; k++) {
        errors = ngx_array_create(pool, 1, sizeof(ngx_http_users_error_t));
        if (errors == NULL) {
            abort();
        }

        ngx_shim_fail_after = k;

        rc = ngx_http_users_json_validate(pool, &(ngx_str_t) ngx_string(
                "{\"email\":\"bad\",\"password\":\"1\",\"x\":1,\"y\":2}"),
                fuzz_tables[TABLE_REGISTER].fields,
                fuzz_tables[TABLE_REGISTER].nfields, values, errors);

        if (rc == NGX_ERROR) {
            failed++;

        } else if (rc == NGX_DECLINED && errors->nelts == 4) {
            ok++;
        }

        ngx_shim_fail_after = 0;
    }

    CHECK(failed > 0 && failed + ok == 63);

    /*
     * And jansson's own allocations: some of their failures it reports as
     * syntax errors, which is all right as long as nothing leaks.
     */

    ok = 0;
    failed = 0;

    for (k = 1; k < 64; k++) {
        errors = ngx_array_create(pool, 4, sizeof(ngx_http_users_error_t));
        if (errors == NULL) {
            abort();
        }

        unit_json_fail_after = k;

        rc = ngx_http_users_json_validate(pool, &(ngx_str_t) ngx_string(
                "{\"email\":\"a@example.com\",\"password\":\"12345678\","
                "\"name\":\"n\"}"),
                fuzz_tables[TABLE_REGISTER].fields,
                fuzz_tables[TABLE_REGISTER].nfields, values, errors);

        if (rc == NGX_ERROR) {
            failed++;

        } else if (rc == NGX_OK
                   || (rc == NGX_DECLINED
                       && error_starts(0, "", "invalid JSON: ",
                                       "value_error.jsondecode")))
        {
            ok++;
        }

        unit_json_fail_after = 0;
    }

    CHECK(failed > 0 && failed + ok == 63);
}


static ngx_uint_t
check(ngx_http_users_check_pt fn, const char *text,
    ngx_http_users_violation_t **violation)
{
    ngx_str_t                    s;
    ngx_http_users_violation_t  *v;

    s = str(text);

    v = fn(&s);

    if (violation) {
        *violation = v;
    }

    return v == NULL;
}


static ngx_uint_t
url_error(const char *text, const char *type)
{
    ngx_http_users_violation_t  *v;

    if (check(ngx_http_users_check_url, text, &v)) {
        return 0;
    }

    return strcmp(v->type, type) == 0;
}


static void
test_email(void)
{
    char                         local[80], address[300];
    ngx_http_users_check_pt      email;
    ngx_http_users_violation_t  *v;

    email = ngx_http_users_check_email;

    CHECK(check(email, "alice@example.com", NULL));
    CHECK(check(email, "a.b+tag@sub.example.co.uk", NULL));
    CHECK(check(email, "!#$%&'*+-/=?^_`{|}~@example.com", NULL));
    CHECK(check(email, "\xc3\xbc\xc3\xb1\xc3\xae@ex\xc3\xa4mple.com", NULL));
    CHECK(check(email, "user@xn--bcher-kva.ch", NULL));
    CHECK(check(email, "x@a-b.io", NULL));
    CHECK(check(email, "X@EXAMPLE.COM", NULL));

    CHECK(!check(email, "plain", &v));
    CHECK(strcmp(v->msg, "value is not a valid email address") == 0);
    CHECK(strcmp(v->type, "value_error.email") == 0);

    CHECK(!check(email, "", NULL));
    CHECK(!check(email, "a@b", NULL));
    CHECK(!check(email, "@example.com", NULL));
    CHECK(!check(email, "a@", NULL));
    CHECK(!check(email, "a@@example.com", NULL));
    CHECK(!check(email, "a@b@example.com", NULL));
    CHECK(!check(email, ".a@example.com", NULL));
    CHECK(!check(email, "a.@example.com", NULL));
    CHECK(!check(email, "a..b@example.com", NULL));
    CHECK(!check(email, "a b@example.com", NULL));
    CHECK(!check(email, "\"q\"@example.com", NULL));
    CHECK(!check(email, "a(b)@example.com", NULL));
    CHECK(!check(email, "a@-example.com", NULL));
    CHECK(!check(email, "a@example-.com", NULL));
    CHECK(!check(email, "a@exa_mple.com", NULL));
    CHECK(!check(email, "a@example..com", NULL));
    CHECK(!check(email, "a@.example.com", NULL));
    CHECK(!check(email, "a@example.com.", NULL));
    CHECK(!check(email, "a@ab--cd.com", NULL));
    CHECK(!check(email, "a@example.c0m1", NULL));
    CHECK(!check(email, "a@1.123", NULL));
    CHECK(!check(email, "a@example.test", NULL));
    CHECK(!check(email, "a@x.LOCALHOST", NULL));
    CHECK(!check(email, "a@x.onion", NULL));
    CHECK(!check(email, "a\xc2\xa0" "b@example.com", NULL));
    CHECK(!check(email, "a\xe2\x80\x8b" "b@example.com", NULL));

    memset(local, 'a', 64);
    local[64] = '\0';
    sprintf(address, "%s@example.com", local);
    CHECK(check(email, address, NULL));

    sprintf(address, "a%s@example.com", local);
    CHECK(!check(email, address, NULL));

    /* 254 octets in all is the most */
    memset(address, 'a', sizeof(address));
    sprintf(address + 60, "@");
    memset(address + 61, 'b', 50);
    address[111] = '.';
    memset(address + 112, 'c', 50);
    address[162] = '.';
    memset(address + 163, 'd', 50);
    address[213] = '.';
    memset(address + 214, 'e', 40);
    address[254] = '\0';
    CHECK(check(email, address, NULL));
    address[254] = 'e';
    address[255] = '\0';
    CHECK(!check(email, address, NULL));
}


static void
test_url(void)
{
    ngx_http_users_check_pt      url;
    ngx_http_users_violation_t  *v;

    url = ngx_http_users_check_url;

    CHECK(check(url, "http://example.com", NULL));
    CHECK(check(url, "https://example.com/a/b?c=d&e#f", NULL));
    CHECK(check(url, "HTTPS://EXAMPLE.COM", NULL));
    CHECK(check(url, "http://[::1]:8080/x", NULL));
    CHECK(check(url, "http://u:p@h:1/p?q#f", NULL));
    CHECK(check(url, "http://a@b@c", NULL));
    CHECK(check(url, "http://a_b", NULL));
    CHECK(check(url, "http://localhost:65535", NULL));
    CHECK(check(url, "http://1.2.3.999", NULL));
    CHECK(check(url, "http://\xc3\xa9.com", NULL));
    CHECK(check(url, "http://a.b.", NULL));
    CHECK(check(url, "http://h?a#b", NULL));
    CHECK(check(url, "http://a.com/%zz", NULL));

    CHECK(!check(url, "http://a b", &v));
    CHECK(strcmp(v->msg, "URL must not contain whitespace") == 0);
    CHECK(strcmp(v->type, "value_error") == 0);
    CHECK(url_error("http://a\xe3\x80\x80" "b", "value_error"));
    CHECK(url_error("http://a\tb", "value_error"));

    CHECK(!check(url, "example.com", &v));
    CHECK(strcmp(v->msg, "invalid or missing URL scheme") == 0);
    CHECK(strcmp(v->type, "value_error.url.scheme") == 0);
    CHECK(url_error("//example.com", "value_error.url.scheme"));
    CHECK(url_error("http:example.com", "value_error.url.scheme"));
    CHECK(url_error("localhost:80", "value_error.url.scheme"));
    CHECK(url_error("h://x", "value_error.url.scheme"));

    CHECK(!check(url, "ftp://example.com", &v));
    CHECK(strcmp(v->msg, "URL scheme not permitted") == 0);
    CHECK(url_error("javascript://x", "value_error.url.scheme"));
    CHECK(url_error("httpx://x", "value_error.url.scheme"));

    CHECK(!check(url, "http://", &v));
    CHECK(strcmp(v->msg, "URL host invalid") == 0);
    CHECK(strcmp(v->type, "value_error.url.host") == 0);
    CHECK(url_error("http:///path", "value_error.url.host"));
    CHECK(url_error("http://:80", "value_error.url.host"));
    CHECK(url_error("http://u@", "value_error.url.host"));
    CHECK(url_error("http://a..b", "value_error.url.host"));
    CHECK(url_error("http://-a.com", "value_error.url.host"));
    CHECK(url_error("http://%41.com", "value_error.url.host"));
    CHECK(url_error("http://[abc/", "value_error.url.host"));

    CHECK(url_error("http://x.com:99999", "value_error.url.port"));
    CHECK(url_error("http://x.com:099999", "value_error.url.port"));
    CHECK(check(url, "http://x.com:0065535", NULL));

    CHECK(url_error("http://x.com:", "value_error.url.extra"));
    CHECK(url_error("http://x.com:abc", "value_error.url.extra"));
    CHECK(url_error("http://[::1", "value_error.url.extra"));
    CHECK(url_error("http://[::1]x", "value_error.url.extra"));
    CHECK(url_error("http://h/a#b#c", "value_error.url.extra"));
}


static void
test_small_checks(void)
{
    ngx_http_users_violation_t  *v;

    CHECK(check(ngx_http_users_check_phone, "+1 (555) 123-4567", NULL));
    CHECK(check(ngx_http_users_check_phone, "555.1234", NULL));
    CHECK(check(ngx_http_users_check_phone, "", NULL));
    CHECK(!check(ngx_http_users_check_phone, "555-CALL", &v));
    CHECK(strcmp(v->msg, "phone may hold only digits, spaces and + - ( ) .")
          == 0);
    CHECK(strcmp(v->type, "value_error") == 0);
    CHECK(!check(ngx_http_users_check_phone, "1/2", NULL));

    CHECK(check(ngx_http_users_check_theme, "light", NULL));
    CHECK(check(ngx_http_users_check_theme, "dark", NULL));
    CHECK(check(ngx_http_users_check_theme, "system", NULL));
    CHECK(!check(ngx_http_users_check_theme, "Light", &v));
    CHECK(strcmp(v->msg, "unexpected value; permitted: 'light', 'dark', "
                 "'system'") == 0);
    CHECK(strcmp(v->type, "value_error.const") == 0);
    CHECK(!check(ngx_http_users_check_theme, "", NULL));
    CHECK(!check(ngx_http_users_check_theme, "darker", NULL));
}


static void
test_language(void)
{
    size_t                        i;
    ngx_http_users_violation_t   *v;

    static const char  *good[] = {
        "en", "en-US", "EN-us", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1901",
        "es-419", "x-private", "X-a-b", "en-GB-oed", "i-klingon",
        "SGN-BE-FR", "zh-yue-HK", "zh-abc-def-ghi", "en-a-bbb-x-a",
        "en-US-u-ca-gregory-t-abcd", "abcd", "abcdefgh", "sl-rozaj-biske",
        "de-1996", "en-US-x-twain", "hy-Latn-IT-arevela", "qaa-Qaaa-QM-x-s"
    };

    static const char  *bad[] = {
        "e", "english12", "abcdefghi", "en-", "-en", "en--us", "en_US",
        "123", "en-US-x", "a-DE", "x", "zh-abc-def-ghi-jkl", "en-a",
        "en-a-b", "abcd-efg", "en-US-1", "i-foo", "en.US", "en US",
        "en-\xc3\xa9", "en-x-abcdefghi", "en-US-a-x-y"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!check(ngx_http_users_check_language, good[i], NULL)) {
            fprintf(stderr, "language \"%s\" refused\n", good[i]);
            unit_failed++;

        } else {
            unit_passed++;
        }
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check(ngx_http_users_check_language, bad[i], &v)) {
            fprintf(stderr, "language \"%s\" accepted\n", bad[i]);
            unit_failed++;

        } else {
            unit_passed++;
        }
    }

    CHECK(!check(ngx_http_users_check_language, "en-", &v));
    CHECK(strcmp(v->msg, "not a well-formed BCP 47 language tag") == 0);
    CHECK(strcmp(v->type, "value_error") == 0);
}


static void
test_timezone(void)
{
    ngx_cycle_t                  cycle;
    ngx_http_users_check_pt      tz;
    ngx_http_users_violation_t  *v;

    tz = ngx_http_users_check_timezone;

    /* before loading, the syntax only */
    CHECK(check(tz, "UTC", NULL));
    CHECK(check(tz, "Europe/Paris", NULL));
    CHECK(check(tz, "Nowhere/Atlantis", NULL));
    CHECK(check(tz, "Etc/GMT+5", NULL));
    CHECK(!check(tz, "../etc/passwd", NULL));
    CHECK(!check(tz, "Europe//Paris", NULL));
    CHECK(!check(tz, "Europe/Paris/", NULL));
    CHECK(!check(tz, "/Europe", NULL));
    CHECK(!check(tz, "-x", NULL));
    CHECK(!check(tz, "Europe Paris", NULL));
    CHECK(!check(tz, "", NULL));

    if (access("/usr/share/zoneinfo/tzdata.zi", R_OK) != 0) {
        fprintf(stderr, "no tzdata.zi: time zone names not tested\n");
        return;
    }

    ngx_memzero(&cycle, sizeof(ngx_cycle_t));
    cycle.pool = pool;
    cycle.log = &ngx_shim_log;

    ngx_shim_fail_after = 1;
    CHECK(ngx_http_users_timezones_load(&cycle) == NGX_ERROR);
    ngx_shim_fail_after = 3;
    CHECK(ngx_http_users_timezones_load(&cycle) == NGX_ERROR);
    ngx_shim_fail_after = 0;

    CHECK(ngx_http_users_timezones_load(&cycle) == NGX_OK);

    CHECK(check(tz, "UTC", NULL));
    CHECK(check(tz, "Etc/UTC", NULL));
    CHECK(check(tz, "Europe/Paris", NULL));
    CHECK(check(tz, "America/Argentina/ComodRivadavia", NULL));
    CHECK(check(tz, "Etc/GMT+5", NULL));
    CHECK(check(tz, "Africa/Abidjan", NULL));
    CHECK(check(tz, "Zulu", NULL));
    CHECK(check(tz, "US/Pacific", NULL));
    CHECK(!check(tz, "Nowhere/Atlantis", &v));
    CHECK(strcmp(v->msg, "not an IANA time zone name") == 0);
    CHECK(strcmp(v->type, "value_error") == 0);
    CHECK(!check(tz, "europe/paris", NULL));
    CHECK(!check(tz, "Europe/Paris ", NULL));
    CHECK(!check(tz, "Europe", NULL));
    CHECK(!check(tz, "A", NULL));
    CHECK(!check(tz, "zzzz", NULL));
    CHECK(!check(tz, "localtime", NULL));

    CHECK(validate(TABLE_PREFS, "{\"theme\":\"dark\",\"language\":\"fr-CA\","
                   "\"timezone\":\"America/Toronto\","
                   "\"notifications_email\":false}")
          == NGX_OK);
    CHECK(STR_IS(values[2].str, "America/Toronto") && values[3].present);

    CHECK(validate(TABLE_PREFS, "{\"theme\":1,\"language\":\"\","
                   "\"timezone\":\"Nope/X\",\"notifications_sms\":0.0,"
                   "\"privacy_public_profile\":null}")
          == NGX_DECLINED);
    CHECK(errors->nelts == 5);
    CHECK(error_is(0, "theme", "str type expected", "type_error.str"));
    CHECK(error_is(1, "language", "ensure this value has at least 1 "
                   "characters", "value_error.any_str.min_length"));
    CHECK(error_is(2, "timezone", "not an IANA time zone name",
                   "value_error"));
    CHECK(error_is(3, "notifications_sms", "value is not a valid boolean",
                   "value_error.strictbool"));
    CHECK(error_is(4, "privacy_public_profile",
                   "none is not an allowed value",
                   "type_error.none.not_allowed"));
}


static void
test_utf8(void)
{
    CHECK(ngx_http_users_utf8_chars((u_char *) "", 0) == 0);
    CHECK(ngx_http_users_utf8_chars((u_char *) "abc", 3) == 3);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xc3\xa9\xe2\x82\xac"
                                    "\xf0\x9f\x98\x80", 9) == 3);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xc3", 1) == (size_t) -1);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xc0\x80", 2) == (size_t) -1);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xe0\x80\xaf", 3)
          == (size_t) -1);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xed\xbf\xbf", 3)
          == (size_t) -1);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xf4\x90\x80\x80", 4)
          == (size_t) -1);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xf8\x88\x80\x80\x80", 5)
          == (size_t) -1);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\x80", 1) == (size_t) -1);
    CHECK(ngx_http_users_utf8_chars((u_char *) "\xef\xbf\xbf", 3) == 1);
}


/* ---------------------------------------------------------------- JWT */


static ngx_int_t
bearer(const char *header, ngx_str_t *token)
{
    ngx_str_t  s;

    s = str(header);

    return ngx_http_users_bearer_parse(&s, token);
}


static void
test_bearer(void)
{
    char       *header;
    int64_t     sub;
    ngx_str_t   token;
    ngx_int_t   version;

    CHECK(bearer("Bearer abc", &token) == NGX_OK && STR_IS(token, "abc"));
    CHECK(bearer("bearer    a.b.c", &token) == NGX_OK
          && STR_IS(token, "a.b.c"));
    CHECK(bearer("BEARER x", &token) == NGX_OK && STR_IS(token, "x"));
    CHECK(bearer("Bearer", &token) == NGX_DECLINED);
    CHECK(bearer("Bearer ", &token) == NGX_DECLINED);
    CHECK(bearer("Bearer    ", &token) == NGX_DECLINED);
    CHECK(bearer("Bearerabc", &token) == NGX_DECLINED);
    CHECK(bearer("Bearer\tabc", &token) == NGX_DECLINED);
    CHECK(bearer("Basic abc", &token) == NGX_DECLINED);
    CHECK(bearer("", &token) == NGX_DECLINED);
    CHECK(bearer(" Bearer abc", &token) == NGX_DECLINED);

    header = malloc(sizeof("Bearer ") + NGX_HTTP_USERS_TOKEN_MAX + 1);
    if (header == NULL) {
        abort();
    }

    memcpy(header, "Bearer ", 7);
    memset(header + 7, 'a', NGX_HTTP_USERS_TOKEN_MAX);
    header[7 + NGX_HTTP_USERS_TOKEN_MAX] = '\0';
    CHECK(bearer(header, &token) == NGX_OK
          && token.len == NGX_HTTP_USERS_TOKEN_MAX);

    /* an oversized token is the verifier's to refuse, as a bad token */
    header[7 + NGX_HTTP_USERS_TOKEN_MAX] = 'a';
    header[8 + NGX_HTTP_USERS_TOKEN_MAX] = '\0';
    CHECK(bearer(header, &token) == NGX_OK);
    CHECK(ngx_http_users_jwt_verify(&fuzz_keys, &token, FUZZ_NOW,
                                    &ngx_shim_log, &sub,
                                    &version)
          == NGX_DECLINED);

    free(header);
}


static ngx_int_t
verify(const char *token, int64_t *sub, ngx_int_t *version)
{
    ngx_str_t  s;

    s = str(token);

    return ngx_http_users_jwt_verify(&fuzz_keys, &s, FUZZ_NOW,
                                     &ngx_shim_log, sub,
                                     version);
}


/* a token of our secret with any header and payload */

static ngx_int_t
signed_verify(const char *header, const char *payload, int bits)
{
    char       *token;
    int64_t     sub;
    ngx_int_t   rc, version;

    token = fuzz_sign((u_char *) header, strlen(header), (u_char *) payload,
                      strlen(payload), bits);
    if (token == NULL) {
        abort();
    }

    rc = verify(token, &sub, &version);

    free(token);

    return rc;
}


#define HS256  "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define CLAIMS(sub, ver)                                                      \
    "{\"sub\":" sub ",\"iat\":1699999000,\"exp\":1700000600,\"ver\":" ver "}"
#define CLAIMS_SID(sid)                                                       \
    "{\"sub\":\"12\",\"iat\":1699999000,\"exp\":1700000600,\"ver\":3,"     \
    "\"sid\":" sid "}"


static void
test_jwt_issue(void)
{
    char                   *dot;
    int64_t                 sub;
    ngx_str_t               token;
    ngx_int_t               version;
    ngx_http_users_key_t    key;
    ngx_http_users_keys_t   keys;

    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 42, 7, NULL, FUZZ_NOW, 1800,
                                   &token)
          == NGX_OK);
    CHECK(token.data[token.len] == '\0');
    CHECK(verify((char *) token.data, &sub, &version) == NGX_OK);
    CHECK(sub == 42 && version == 7);

    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, INT64_MAX, 0, NULL,
                                   FUZZ_NOW, 1, &token)
          == NGX_OK);
    CHECK(verify((char *) token.data, &sub, &version) == NGX_OK);
    CHECK(sub == INT64_MAX && version == 0);

    /* lifetime over: exp == now is expired already */
    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 1, 0, NULL, FUZZ_NOW - 1800,
                                   1800, &token)
          == NGX_OK);
    CHECK(verify((char *) token.data, &sub, &version) == NGX_DECLINED);

    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 1, 0, NULL, FUZZ_NOW - 3600,
                                   60, &token)
          == NGX_OK);
    CHECK(verify((char *) token.data, &sub, &version) == NGX_DECLINED);

    /* tampered signature and payload */
    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 1, 0, NULL, FUZZ_NOW, 60,
                                   &token)
          == NGX_OK);
    token.data[token.len - 2] ^= (token.data[token.len - 2] == 'A') ? 2 : 1;
    CHECK(verify((char *) token.data, &sub, &version) == NGX_DECLINED);

    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 1, 0, NULL, FUZZ_NOW, 60,
                                   &token)
          == NGX_OK);
    dot = strchr((char *) token.data, '.');
    dot[3] = (dot[3] == 'x') ? 'y' : 'x';
    CHECK(verify((char *) token.data, &sub, &version) == NGX_DECLINED);

    /* another secret */
    key = fuzz_key;
    key.secret = str("another-secret-0123456789abcdef-0123456789");
    CHECK(ngx_http_users_jwt_issue(pool, &key, 1, 0, NULL, FUZZ_NOW, 60, &token)
          == NGX_OK);
    CHECK(verify((char *) token.data, &sub, &version) == NGX_DECLINED);

    /* no secret: an internal error, never an unchecked token */
    key.secret.len = 0;
    keys = fuzz_keys;
    keys.secret = &key;
    CHECK(ngx_http_users_jwt_issue(pool, &key, 1, 0, NULL, FUZZ_NOW, 60, &token)
          == NGX_ERROR);
    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 1, 0, NULL, FUZZ_NOW, 60,
                                   &token)
          == NGX_OK);
    CHECK(ngx_http_users_jwt_verify(&keys, &token, FUZZ_NOW,
                                    &ngx_shim_log, &sub,
                                    &version)
          == NGX_ERROR);

    ngx_shim_fail_after = 1;
    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 1, 0, NULL, FUZZ_NOW, 60,
                                   &token)
          == NGX_ERROR);
    ngx_shim_fail_after = 0;
}


static void
test_jwt_forgeries(void)
{
    char        text[NGX_HTTP_USERS_TOKEN_MAX + 2], *token;
    int64_t     sub;
    ngx_int_t   version;

    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "3"), 256) == NGX_OK);
    CHECK(signed_verify("{\"alg\":\"HS256\"}", CLAIMS("\"12\"", "3"), 256)
          == NGX_OK);
    CHECK(signed_verify("{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
                        CLAIMS("\"12\"", "3"), 256)
          == NGX_OK);

    /* the algorithm is HS256 exactly */
    CHECK(signed_verify("{\"alg\":\"none\",\"typ\":\"JWT\"}",
                        CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
                        CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
                        CLAIMS("\"12\"", "3"), 384)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
                        CLAIMS("\"12\"", "3"), 512)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                        CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"typ\":\"JWT\"}", CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                        CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"HS256\",\"typ\":\"jwt\"}",
                        CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"HS256\",\"kid\":\"1\"}",
                        CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("[\"alg\",\"HS256\"]", CLAIMS("\"12\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify("{\"alg\":\"HS256\"} ", CLAIMS("\"12\"", "3"), 256)
          == NGX_OK);

    /* alg none with no signature at all */
    CHECK(verify("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                 "eyJzdWIiOiIxIiwiaWF0IjoxLCJleHAiOjk5OTk5OTk5OTksInZlciI6MH0.",
                 &sub, &version)
          == NGX_DECLINED);

    /* claims: exp, iat and ver integers, sub a positive id in a string */
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"iat\":1,\"ver\":0}", 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"iat\":1,\"exp\":1700000000,"
                        "\"ver\":0}", 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"iat\":1,"
                        "\"exp\":1700000001,\"ver\":0}", 256)
          == NGX_OK);
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"iat\":1,"
                        "\"exp\":1.8e9,\"ver\":0}", 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"iat\":1,"
                        "\"exp\":\"1800000000\",\"ver\":0}", 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"exp\":1800000000,"
                        "\"ver\":0}", 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"iat\":1.5,"
                        "\"exp\":1800000000,\"ver\":0}", 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, "{\"sub\":\"1\",\"iat\":1,"
                        "\"exp\":1800000000}", 256)
          == NGX_DECLINED);

    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "\"3\""), 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "3.0"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "true"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "null"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "[]"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "-1"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"12\"", "0"), 256) == NGX_OK);

    CHECK(signed_verify(HS256, CLAIMS("\"0\"", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"-1\"", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"abc\"", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"+1\"", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\" 1\"", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"\"", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("\"9223372036854775808\"", "3"), 256)
          == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("12", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, CLAIMS("null", "3"), 256) == NGX_DECLINED);
    CHECK(signed_verify(HS256, "{\"iat\":1,\"exp\":1800000000,\"ver\":0}",
                        256)
          == NGX_DECLINED);

    /* the shape of the token */

    token = fuzz_sign((u_char *) HS256, sizeof(HS256) - 1,
                      (u_char *) CLAIMS("\"12\"", "3"),
                      sizeof(CLAIMS("\"12\"", "3")) - 1, 256);
    if (token == NULL) {
        abort();
    }

    CHECK(verify(token, &sub, &version) == NGX_OK && sub == 12
          && version == 3);

    snprintf(text, sizeof(text), "%s.", token);
    CHECK(verify(text, &sub, &version) == NGX_DECLINED);
    snprintf(text, sizeof(text), "%s.x", token);
    CHECK(verify(text, &sub, &version) == NGX_DECLINED);
    snprintf(text, sizeof(text), "%s=", token);
    CHECK(verify(text, &sub, &version) == NGX_DECLINED);
    snprintf(text, sizeof(text), " %s", token);
    CHECK(verify(text, &sub, &version) == NGX_DECLINED);
    snprintf(text, sizeof(text), "%sA", token);
    CHECK(verify(text, &sub, &version) == NGX_DECLINED);

    CHECK(verify("", &sub, &version) == NGX_DECLINED);
    CHECK(verify("..", &sub, &version) == NGX_DECLINED);
    CHECK(verify("a..c", &sub, &version) == NGX_DECLINED);
    CHECK(verify(".b.c", &sub, &version) == NGX_DECLINED);
    CHECK(verify("a.b.", &sub, &version) == NGX_DECLINED);
    CHECK(verify("a.b+.c", &sub, &version) == NGX_DECLINED);
    CHECK(verify("a/b.b.c", &sub, &version) == NGX_DECLINED);
    CHECK(verify("abcde.b.c", &sub, &version) == NGX_DECLINED);

    /* oversized: refused before anything is decoded */
    memset(text, 'A', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    memcpy(text, token, strlen(token));
    CHECK(verify(text, &sub, &version) == NGX_DECLINED);

    free(token);
}


static ngx_str_t
unit_file(const char *name)
{
    FILE       *f;
    char        path[256];
    ngx_str_t   text;

    snprintf(path, sizeof(path), "t/keys/%s", name);

    text.data = ngx_pnalloc(pool, 4096);
    f = fopen(path, "r");

    if (f == NULL || text.data == NULL) {
        fprintf(stderr, "unit: %s: cannot read (run from the project "
                "root)\n", path);
        abort();
    }

    text.len = fread(text.data, 1, 4096, f);
    fclose(f);

    return text;
}


static ngx_int_t
unit_key(ngx_http_users_key_t *key, ngx_http_users_alg_e alg,
    const char *kid, const char *file)
{
    char       *err;
    ngx_str_t   pem;

    ngx_memzero(key, sizeof(ngx_http_users_key_t));
    key->alg = alg;
    key->kid = str(kid);
    pem = unit_file(file);

    return ngx_http_users_jwk_load(key, &pem, &err);
}


static void
test_jwt_keys(void)
{
    char                   *dot;
    u_char                 *p;
    int64_t                 sub;
    ngx_str_t               token, jwk, forged;
    ngx_int_t               version;
    ngx_array_t            *set;
    ngx_http_users_key_t    ed, es, pub, bad, **slot;
    ngx_http_users_keys_t   keys;

    CHECK(unit_key(&ed, NGX_HTTP_USERS_ALG_EDDSA, "ed1", "ed1.pem")
          == NGX_OK && ed.private);
    CHECK(unit_key(&es, NGX_HTTP_USERS_ALG_ES256, "es1", "es1.pem")
          == NGX_OK && es.private);
    CHECK(unit_key(&pub, NGX_HTTP_USERS_ALG_EDDSA, "edpub", "ed2.pub.pem")
          == NGX_OK && !pub.private);

    /* a key of another algorithm or curve, or no key at all */
    CHECK(unit_key(&bad, NGX_HTTP_USERS_ALG_ES256, "x", "ed1.pem")
          == NGX_DECLINED);
    CHECK(unit_key(&bad, NGX_HTTP_USERS_ALG_ES256, "x", "p384.pem")
          == NGX_DECLINED);
    CHECK(unit_key(&bad, NGX_HTTP_USERS_ALG_EDDSA, "x", "es1.pub.pem")
          == NGX_DECLINED);
    CHECK(unit_key(&bad, NGX_HTTP_USERS_ALG_EDDSA, "x", "hs1.secret")
          == NGX_DECLINED);
    ERR_clear_error();

    set = ngx_array_create(pool, 3, sizeof(ngx_http_users_key_t *));
    slot = ngx_array_push(set);
    *slot = &ed;
    slot = ngx_array_push(set);
    *slot = &es;
    slot = ngx_array_push(set);
    *slot = &pub;

    keys = fuzz_keys;
    keys.keys = set;
    keys.signer = &ed;

    /* each key's tokens verify, named by their kid */
    CHECK(ngx_http_users_jwt_issue(pool, &ed, 42, 3, NULL, FUZZ_NOW, 60, &token)
          == NGX_OK);
    CHECK(strncmp((char *) token.data,
                  "eyJhbGciOiJFZERTQSIsImtpZCI6ImVkMSIsInR5cCI6IkpXVCJ9.",
                  53) == 0);
    CHECK(ngx_http_users_jwt_verify(&keys, &token, FUZZ_NOW, &ngx_shim_log,
                                    &sub, &version)
          == NGX_OK && sub == 42 && version == 3);

    /* the same signature under another key's kid */
    forged.len = token.len + 1;
    forged.data = ngx_pnalloc(pool, forged.len + 64);
    dot = strchr((char *) token.data, '.');
    p = ngx_cpymem(forged.data,
                   "eyJhbGciOiJFZERTQSIsImtpZCI6ImVkcHViIiwidHlwIjoiSldUIn0",
                   55);
    p = ngx_cpymem(p, dot, token.data + token.len - (u_char *) dot);
    forged.len = p - forged.data;
    CHECK(ngx_http_users_jwt_verify(&keys, &forged, FUZZ_NOW, &ngx_shim_log,
                                    &sub, &version)
          == NGX_DECLINED);

    CHECK(ngx_http_users_jwt_issue(pool, &es, 7, 0, NULL, FUZZ_NOW, 60, &token)
          == NGX_OK);
    CHECK(ngx_http_users_jwt_verify(&keys, &token, FUZZ_NOW, &ngx_shim_log,
                                    &sub, &version)
          == NGX_OK && sub == 7);

    /* an ES256 signature flipped */
    token.data[token.len - 5] ^= (token.data[token.len - 5] == 'A') ? 2 : 1;
    CHECK(ngx_http_users_jwt_verify(&keys, &token, FUZZ_NOW, &ngx_shim_log,
                                    &sub, &version)
          == NGX_DECLINED);

    /* no kid: the secret, and only when there is one */
    CHECK(ngx_http_users_jwt_issue(pool, &fuzz_key, 9, 0, NULL, FUZZ_NOW, 60,
                                   &token)
          == NGX_OK);
    CHECK(ngx_http_users_jwt_verify(&keys, &token, FUZZ_NOW, &ngx_shim_log,
                                    &sub, &version)
          == NGX_OK && sub == 9);
    keys.secret = NULL;
    CHECK(ngx_http_users_jwt_verify(&keys, &token, FUZZ_NOW, &ngx_shim_log,
                                    &sub, &version)
          == NGX_DECLINED);

    /* a public key never signs, and publishes only its public half */
    CHECK(ngx_http_users_jwt_issue(pool, &pub, 1, 0, NULL, FUZZ_NOW, 60, &token)
          == NGX_ERROR);
    CHECK(ngx_http_users_jwk_json(pool, &pub, &jwk) == NGX_OK
          && jwk.len == sizeof("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                               "\"x\":\"\",\"kid\":\"edpub\","
                               "\"alg\":\"EdDSA\",\"use\":\"sig\"}")
                        - 1 + 43);
    CHECK(ngx_http_users_jwk_json(pool, &fuzz_key, &jwk) == NGX_DECLINED);

    ngx_http_users_jwk_free(&ed);
    ngx_http_users_jwk_free(&es);
    ngx_http_users_jwk_free(&pub);
    CHECK(es.pkey == NULL && ed.sk[0] == 0 && ed.sk[63] == 0);
}



/* ---------------------------------------------------- the guard's inputs */

static ngx_int_t
notify(const char *text, ngx_http_users_change_t *c)
{
    ngx_memzero(c, sizeof(ngx_http_users_change_t));

    return ngx_http_users_notify_parse((u_char *) text, strlen(text), c);
}


#define UUID  "6f1c0a4e-2b3d-4c5e-8f9a-0b1c2d3e4f50"

static u_char  uuid_bytes[] = {
    0x6f, 0x1c, 0x0a, 0x4e, 0x2b, 0x3d, 0x4c, 0x5e,
    0x8f, 0x9a, 0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x50
};


static void
test_notify(void)
{
    ngx_http_users_change_t  c;

    CHECK(notify("7:42:3:1:0", &c) == NGX_OK && c.user == 42 && !c.ended
          && c.state.auth_seq == 7 && c.state.version == 3 && c.state.active
          && !c.state.superuser);
    CHECK(notify("9223372036854775807:1:0:0:1", &c) == NGX_OK
          && c.state.auth_seq == INT64_MAX && c.state.version == 0
          && !c.state.active && c.state.superuser);
    /* a deleted user: version -1 */
    CHECK(notify("8:5:-1:0:0", &c) == NGX_OK && c.state.version == -1);

    /* exactly five fields, flags exactly 0 or 1: else the log is read */
    CHECK(notify("7:42:3:1", &c) == NGX_ERROR);
    CHECK(notify("7:42:3:1:0:", &c) == NGX_ERROR);
    CHECK(notify("7:42:3:1:0:x", &c) == NGX_ERROR);
    CHECK(notify("7:42:3:1x:0", &c) == NGX_ERROR);
    CHECK(notify("7:42:3:t:f", &c) == NGX_ERROR);
    CHECK(notify("7:42:3::0", &c) == NGX_ERROR);
    CHECK(notify("7:42:3:1:", &c) == NGX_ERROR);
    CHECK(notify("7:42:-2:1:0", &c) == NGX_ERROR);
    CHECK(notify("7: 42:3:1:0", &c) == NGX_ERROR);
    CHECK(notify("9223372036854775808:1:0:0:1", &c) == NGX_ERROR);
    CHECK(notify("", &c) == NGX_ERROR);
    CHECK(notify("::::", &c) == NGX_ERROR);

    /* a session's end: seq, user, the session's uuid as PostgreSQL writes */
    CHECK(notify("9:42:" UUID, &c) == NGX_OK && c.ended && c.user == 42
          && c.state.auth_seq == 9
          && memcmp(c.session, uuid_bytes, sizeof(uuid_bytes)) == 0);
    CHECK(notify("9:42:" UUID ":", &c) == NGX_ERROR);
    CHECK(notify("9:42:" UUID "0", &c) == NGX_ERROR);
    CHECK(notify("9:42:6F1C0A4E-2B3D-4C5E-8F9A-0B1C2D3E4F50", &c)
          == NGX_ERROR);
    CHECK(notify("9:42:6f1c0a4e2b3d4c5e8f9a0b1c2d3e4f50", &c) == NGX_ERROR);
    CHECK(notify("9:42:6f1c0a4e-2b3d-4c5e-8f9a0-b1c2d3e4f50", &c)
          == NGX_ERROR);
    CHECK(notify("9:42:{6f1c0a4e-2b3d-4c5e-8f9a-0b1c2d3e4f5}", &c)
          == NGX_ERROR);
    CHECK(notify("9:42:6f1c0a4e-2b3d-4c5e-8f9a-0b1c2d3e4f5g", &c)
          == NGX_ERROR);
    CHECK(notify("9::" UUID, &c) == NGX_ERROR);
    CHECK(notify("9:42:", &c) == NGX_ERROR);
}


/* a token with this payload, signed with the fuzz secret, verified */
static ngx_int_t
claims_of(const char *payload, ngx_http_users_claims_t *claims)
{
    char       *token;
    ngx_str_t   t;
    ngx_int_t   rc;

    token = fuzz_sign((u_char *) HS256, sizeof(HS256) - 1, (u_char *) payload,
                      strlen(payload), 256);
    if (token == NULL) {
        abort();
    }

    t = str(token);

    rc = ngx_http_users_jwt_verify_claims(&fuzz_keys, &t, FUZZ_NOW,
                                          &ngx_shim_log, claims);
    free(token);

    return rc;
}


static void
test_token_sid(void)
{
    u_char                   text[NGX_HTTP_USERS_UUID_LEN];
    ngx_http_users_claims_t  c;

    CHECK(claims_of(CLAIMS_SID("\"" UUID "\""), &c) == NGX_OK && c.session
          && c.sub == 12 && c.version == 3
          && memcmp(c.sid, uuid_bytes, sizeof(uuid_bytes)) == 0);
    CHECK(ngx_http_users_uuid_text(text, c.sid) == text + sizeof(text)
          && memcmp(text, UUID, sizeof(text)) == 0);

    /* no sid: a token of no session */
    CHECK(claims_of(CLAIMS("\"12\"", "3"), &c) == NGX_OK && !c.session);

    /* a sid that is not a session id of ours: the token is invalid */
    CHECK(claims_of(CLAIMS_SID("\"a1b2-c3\""), &c) == NGX_DECLINED);
    CHECK(claims_of(CLAIMS_SID("\"\""), &c) == NGX_DECLINED);
    CHECK(claims_of(CLAIMS_SID("12"), &c) == NGX_DECLINED);
    CHECK(claims_of(CLAIMS_SID("null"), &c) == NGX_DECLINED);
    CHECK(claims_of(CLAIMS_SID("[\"" UUID "\"]"), &c) == NGX_DECLINED);
    CHECK(claims_of(CLAIMS_SID("\"6F1C0A4E-2B3D-4C5E-8F9A-0B1C2D3E4F50\""),
                    &c) == NGX_DECLINED);
    CHECK(claims_of(CLAIMS_SID("\"" UUID " \""), &c) == NGX_DECLINED);
    CHECK(claims_of(CLAIMS_SID("\"" UUID "\\u0000\""), &c)
          == NGX_DECLINED);
}


int
main(void)
{
    json_set_alloc_funcs(unit_json_malloc, free);

    pool = ngx_shim_pool();

    test_form();
    test_form_nul();
    test_parse_id();
    test_utf8();
    test_json_register();
    test_json_bools();
    test_json_lengths();
    test_json_body();
    test_json_nesting();
    test_json_failures();
    test_email();
    test_url();
    test_small_checks();
    test_language();
    test_timezone();
    test_bearer();
    test_jwt_issue();
    test_jwt_forgeries();
    test_jwt_keys();
    test_notify();
    test_token_sid();

    ngx_destroy_pool(pool);

    printf("%lu passed, %lu failed\n", (unsigned long) unit_passed,
           (unsigned long) unit_failed);

    return unit_failed ? 1 : 0;
}
