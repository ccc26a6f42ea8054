
/*
 * Copyright (C) ngx_users authors
 *
 * What the guard reads from outside (ngx_http_users_guard_parse.c, and the
 * bearer parser and verifier before it).  First byte mod 3:
 *   0: an auth_changes notification payload, against a reference reading
 *      of "seq:user:version:active:superuser" written here from the
 *      trigger's format and strtoll();
 *   1: an Authorization header value: the bearer parser against the rule
 *      read plainly, the verifier, and the "sid" claim of whatever token
 *      the header holds (valid or not: the reader must be safe anyway);
 *   2: a payload signed with the fuzz secret in HS256 and sent as
 *      "Bearer <token>", so valid tokens with every kind of "sid" reach
 *      the reader.
 * The "sid" is compared with an independent reading: base64url decoded
 * here, the claim taken with jansson, its bytes checked one by one.
 */


#include "fuzz_util.h"


/* --------------------------------------------------------- notifications */

static int
ref_number(const u_char *p, size_t len, int64_t *value)
{
    char       buf[64], *end;
    size_t     i;
    long long  n;

    if (len == 1 && p[0] == '0') {
        *value = 0;
        return 1;
    }

    if (len == 2 && p[0] == '-' && p[1] == '1') {
        *value = -1;
        return 1;
    }

    /* digits only, above zero; leading zeros allowed, as in ids in paths */
    while (len > 1 && p[0] == '0') {
        p++;
        len--;
    }

    if (len == 0 || len >= sizeof(buf)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    errno = 0;
    n = strtoll(buf, &end, 10);

    if (errno == ERANGE || *end != '\0' || n <= 0) {
        return 0;
    }

    *value = n;

    return 1;
}


static void
fuzz_notify(const u_char *data, size_t size)
{
    int                      expect;
    size_t                   i, n, start, bounds[5][2];
    int64_t                  id, value[3];
    ngx_int_t                rc;
    ngx_http_users_state_t   state;

    ngx_memzero(&state, sizeof(state));
    id = 0;

    rc = ngx_http_users_notify_parse((u_char *) data, size, &id, &state);

    /* exactly four ':' split the payload into five fields */
    n = 0;
    start = 0;
    expect = 1;

    for (i = 0; i <= size; i++) {
        if (i == size || data[i] == ':') {
            if (n == 5) {
                expect = 0;
                break;
            }

            bounds[n][0] = start;
            bounds[n][1] = i - start;
            n++;
            start = i + 1;
        }
    }

    if (n != 5) {
        expect = 0;
    }

    for (i = 0; expect && i < 5; i++) {
        if (i < 3) {
            expect = ref_number(data + bounds[i][0], bounds[i][1], &value[i]);

        } else {
            expect = bounds[i][1] == 1
                     && (data[bounds[i][0]] == '0'
                         || data[bounds[i][0]] == '1');
        }
    }

    if ((rc == NGX_OK) != expect) {
        fprintf(stderr, "fuzz_guard: notification \"%.*s\" %s, should be "
                "%s\n", (int) size, data, rc == NGX_OK ? "accepted" : "refused",
                expect ? "accepted" : "refused");
        abort();
    }

    if (rc == NGX_OK
        && (state.auth_seq != value[0] || id != value[1]
            || state.version != (ngx_int_t) value[2]
            || state.active != (data[bounds[3][0]] == '1')
            || state.superuser != (data[bounds[4][0]] == '1')))
    {
        fprintf(stderr, "fuzz_guard: notification \"%.*s\" read wrong\n",
                (int) size, data);
        abort();
    }
}


/* ------------------------------------------------------------------ sid */

static int
ref_b64(u_char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    return c == '-' ? 62 : c == '_' ? 63 : -1;
}


/*
 * The claim as the rules say it: the second dot-separated part, base64url
 * (nginx's decoder stops at a '='; a length of 1 mod 4 is no encoding),
 * decoding to at most NGX_HTTP_USERS_TOKEN_MAX bytes; a JSON object whose
 * "sid" is a string of 1 to 128 bytes, each printable ASCII other than
 * space, '"' and '\'.  Returns a malloc()ed copy and its length, or NULL.
 */

static u_char *
ref_sid(const u_char *token, size_t len, size_t *sid_len)
{
    int          v;
    u_char      *out, *copy;
    size_t       i, plen, n, bits_len;
    json_t      *claims, *sid;
    uint32_t     bits;
    const char  *text;
    const u_char  *part, *dot;

    dot = memchr(token, '.', len);
    if (dot == NULL) {
        return NULL;
    }

    part = dot + 1;
    dot = memchr(part, '.', token + len - part);
    if (dot == NULL) {
        return NULL;
    }

    plen = dot - part;

    if ((plen + 3) / 4 * 3 > NGX_HTTP_USERS_TOKEN_MAX) {
        return NULL;
    }

    out = malloc(plen + 1);
    if (out == NULL) {
        abort();
    }

    n = 0;
    bits = 0;
    bits_len = 0;

    for (i = 0; i < plen && part[i] != '='; i++) {
        v = ref_b64(part[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }

        bits = (bits << 6) | (uint32_t) v;
        bits_len += 6;

        if (bits_len >= 8) {
            bits_len -= 8;
            out[n++] = (u_char) (bits >> bits_len);
        }
    }

    if (i % 4 == 1) {
        free(out);
        return NULL;
    }

    claims = json_loadb((char *) out, n, 0, NULL);
    free(out);

    if (claims == NULL) {
        return NULL;
    }

    copy = NULL;
    sid = json_object_get(claims, "sid");

    if (json_is_string(sid) && json_string_length(sid) >= 1
        && json_string_length(sid) <= 128)
    {
        text = json_string_value(sid);
        n = json_string_length(sid);

        for (i = 0; i < n; i++) {
            if ((u_char) text[i] < 0x21 || (u_char) text[i] > 0x7e
                || text[i] == '"' || text[i] == '\\')
            {
                break;
            }
        }

        if (i == n) {
            copy = malloc(n);
            if (copy == NULL) {
                abort();
            }

            memcpy(copy, text, n);
            *sid_len = n;
        }
    }

    json_decref(claims);

    return copy;
}


static void
fuzz_sid(ngx_str_t *token)
{
    u_char      *expect;
    size_t       expect_len;
    ngx_str_t    sid;
    ngx_pool_t  *pool;

    pool = ngx_shim_pool();
    expect_len = 0;

    if (ngx_http_users_token_sid(pool, token, &sid) != NGX_OK) {
        abort();
    }

    expect = ref_sid(token->data, token->len, &expect_len);

    if ((expect == NULL) != (sid.len == 0)
        || (expect
            && (sid.len != expect_len
                || memcmp(sid.data, expect, expect_len) != 0)))
    {
        fprintf(stderr, "fuzz_guard: sid \"%.*s\" of \"%.*s\"\n",
                (int) sid.len, sid.data, (int) token->len, token->data);
        abort();
    }

    free(expect);
    ngx_destroy_pool(pool);
}


/* ----------------------------------------------------------- the header */

static void
fuzz_header(ngx_str_t *header, ngx_str_t *expect_token)
{
    size_t      i;
    time_t      expires;
    int64_t     sub;
    ngx_int_t   rc, version, expect;
    ngx_str_t   token;

    rc = ngx_http_users_bearer_parse(header, &token);

    /* "Bearer", any case, a space, more spaces, then a token */
    expect = NGX_DECLINED;

    if (header->len >= 7 && strncasecmp((char *) header->data, "bearer ", 7)
                            == 0)
    {
        for (i = 7; i < header->len && header->data[i] == ' '; i++) {
            /* skip */
        }

        if (i < header->len) {
            expect = NGX_OK;

            if (rc == NGX_OK
                && (token.data != header->data + i
                    || token.len != header->len - i))
            {
                fprintf(stderr, "fuzz_guard: token of \"%.*s\"\n",
                        (int) header->len, header->data);
                abort();
            }
        }
    }

    if (rc != expect
        || (expect_token && (rc != NGX_OK || token.len != expect_token->len
                             || memcmp(token.data, expect_token->data,
                                       token.len) != 0)))
    {
        fprintf(stderr, "fuzz_guard: bearer \"%.*s\": %ld\n",
                (int) header->len, header->data, (long) rc);
        abort();
    }

    if (rc != NGX_OK) {
        return;
    }

    rc = ngx_http_users_jwt_verify_expires(&fuzz_keys, &token, FUZZ_NOW,
                                           &ngx_shim_log, &sub, &version,
                                           &expires);
    if (rc == NGX_ERROR) {
        abort();
    }

    fuzz_sid(&token);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char        *signed_token;
    u_char      *buf;
    ngx_str_t    header, token;

    if (size == 0) {
        return 0;
    }

    switch (data[0] % 3) {

    case 0:
        fuzz_notify(data + 1, size - 1);
        break;

    case 1:
        header.data = (u_char *) data + 1;
        header.len = size - 1;
        fuzz_header(&header, NULL);
        break;

    default:
        signed_token = fuzz_sign((u_char *) "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                                 27, data + 1, size - 1, 256);
        if (signed_token == NULL) {
            abort();
        }

        token.data = (u_char *) signed_token;
        token.len = strlen(signed_token);

        buf = malloc(token.len + 7);
        if (buf == NULL) {
            abort();
        }

        memcpy(buf, "Bearer ", 7);
        memcpy(buf + 7, token.data, token.len);
        header.data = buf;
        header.len = token.len + 7;

        fuzz_header(&header, &token);

        free(buf);
        free(signed_token);
        break;
    }

    return 0;
}
