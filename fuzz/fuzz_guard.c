
/*
 * Copyright (C) ngx_users authors
 *
 * What the guard reads from outside (ngx_http_users_guard_parse.c, and the
 * bearer parser and verifier before it).  First byte mod 3:
 *   0: an auth_changes notification payload, against a reference reading
 *      of "seq:user:version:active:superuser" and "seq:user:session"
 *      written here from the triggers' formats and strtoll();
 *   1: an Authorization header value: the bearer parser against the rule
 *      read plainly, then the verifier;
 *   2: a payload signed with the fuzz secret in HS256 and sent as
 *      "Bearer <token>", so valid tokens with every kind of "sid" reach
 *      the verifier.
 * The session of an accepted token is compared with an independent
 * reading: base64url decoded here, the claim taken with jansson, a uuid
 * read character by character; a token whose "sid" is there but no uuid
 * must not be accepted.
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


/*
 * A uuid as PostgreSQL writes it: 36 characters, '-' at 8, 13, 18 and 23,
 * lowercase hex digits elsewhere; its 16 bytes in uuid.
 */

static int
ref_uuid(const u_char *p, size_t len, u_char *uuid)
{
    size_t       i, n;
    const char  *digit;

    static const char  hex[] = "0123456789abcdef";

    if (len != 36) {
        return 0;
    }

    memset(uuid, 0, 16);
    n = 0;

    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (p[i] != '-') {
                return 0;
            }

            continue;
        }

        digit = (p[i] == '\0') ? NULL : strchr(hex, p[i]);
        if (digit == NULL) {
            return 0;
        }

        uuid[n / 2] |= (u_char) ((digit - hex) << (n % 2 ? 0 : 4));
        n++;
    }

    return 1;
}


static void
fuzz_notify(const u_char *data, size_t size)
{
    int                       expect;
    u_char                    uuid[16];
    size_t                    i, n, start, bounds[5][2];
    int64_t                   value[3];
    ngx_int_t                 rc;
    ngx_http_users_change_t   change;

    rc = ngx_http_users_notify_parse((u_char *) data, size, &change);

    /* two or four ':' split the payload into three or five fields */
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

    if (n != 3 && n != 5) {
        expect = 0;
    }

    for (i = 0; expect && i < n; i++) {
        if (n == 3 && i == 2) {
            expect = ref_uuid(data + bounds[i][0], bounds[i][1], uuid);

        } else if (i < 3) {
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
        && (change.state.auth_seq != value[0] || change.user != value[1]
            || change.ended != (n == 3)
            || (n == 3 && memcmp(change.session, uuid, 16) != 0)
            || (n == 5
                && (change.state.version != (ngx_int_t) value[2]
                    || change.state.active != (data[bounds[3][0]] == '1')
                    || change.state.superuser
                       != (data[bounds[4][0]] == '1')))))
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
 * The claim of an accepted token as the rules say it: the second
 * dot-separated part, base64url (a length of 1 mod 4 is no encoding), up
 * to a NUL, a JSON object whose "sid" is missing (0) or a uuid (1, its
 * bytes in uuid);
 * anything else (2) must have been refused.
 */

static int
ref_sid(const u_char *token, size_t len, u_char *uuid)
{
    int            v, rc;
    u_char        *out;
    size_t         i, plen, n, bits_len;
    json_t        *claims, *sid;
    uint32_t       bits;
    const u_char  *part, *dot;

    dot = memchr(token, '.', len);
    if (dot == NULL) {
        return 2;
    }

    part = dot + 1;
    dot = memchr(part, '.', token + len - part);
    if (dot == NULL) {
        return 2;
    }

    plen = dot - part;

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
            return 2;
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
        return 2;
    }

    /* libjwt takes the payload as a C string: to its first NUL */
    claims = json_loadb((char *) out, strnlen((char *) out, n), 0, NULL);
    free(out);

    if (claims == NULL) {
        return 2;
    }

    sid = json_object_get(claims, "sid");

    if (sid == NULL) {
        rc = 0;

    } else {
        rc = (json_is_string(sid)
              && ref_uuid((u_char *) json_string_value(sid),
                          json_string_length(sid), uuid))
             ? 1 : 2;
    }

    json_decref(claims);

    return rc;
}


static void
fuzz_sid(ngx_str_t *token, ngx_http_users_claims_t *claims)
{
    int     expect;
    u_char  uuid[16];

    expect = ref_sid(token->data, token->len, uuid);

    if (expect == 2
        || claims->session != (expect == 1)
        || (expect == 1 && memcmp(claims->sid, uuid, 16) != 0))
    {
        fprintf(stderr, "fuzz_guard: sid of \"%.*s\": session %d\n",
                (int) token->len, token->data, (int) claims->session);
        abort();
    }
}


/* ----------------------------------------------------------- the header */

static void
fuzz_header(ngx_str_t *header, ngx_str_t *expect_token)
{
    size_t                   i;
    ngx_int_t                rc, expect;
    ngx_str_t                token;
    ngx_http_users_claims_t  claims;

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

    rc = ngx_http_users_jwt_verify_claims(&fuzz_keys, &token, FUZZ_NOW,
                                          &ngx_shim_log, &claims);
    if (rc == NGX_ERROR) {
        abort();
    }

    if (rc == NGX_OK) {
        fuzz_sid(&token, &claims);
    }
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
