
/*
 * Copyright (C) ngx_users authors
 *
 * The bearer parser and the token verifier.  First byte 0 mod 4: the rest
 * is an Authorization header.  Otherwise the rest is a header and a
 * payload, split at the first NUL, signed with our secret in HS256, HS384
 * or HS512: the verifier must accept exactly the tokens that the contract
 * allows, as an independent reading of the JSON says.
 */


#include "fuzz_util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>


static json_t *
fuzz_json(const u_char *text, size_t len, size_t flags)
{
    return json_loadb((const char *) text, len, flags, NULL);
}


static int
fuzz_header_ok(const u_char *text, size_t len)
{
    int          ok;
    json_t      *header, *value;
    const char  *key;

    header = fuzz_json(text, len, JSON_REJECT_DUPLICATES);
    if (header == NULL) {
        return 0;
    }

    ok = json_is_object(header) && json_object_get(header, "alg") != NULL;

    json_object_foreach(header, key, value) {
        if (!json_is_string(value)
            || (strcmp(key, "alg") == 0
                ? strcmp(json_string_value(value), "HS256") != 0
                : strcmp(key, "typ") != 0
                  || strcmp(json_string_value(value), "JWT") != 0))
        {
            ok = 0;
        }
    }

    json_decref(header);

    return ok;
}


static int
fuzz_integer(json_t *claims, const char *name, json_int_t *n)
{
    json_t  *value;

    value = json_object_get(claims, name);

    if (value == NULL || !json_is_integer(value)) {
        return 0;
    }

    *n = json_integer_value(value);

    return 1;
}


/* libjwt reads the payload as a C string: it ends at a NUL */

static int
fuzz_payload_ok(const u_char *text, size_t len, int64_t *sub,
    ngx_int_t *version)
{
    int          ok;
    char        *end;
    json_t      *claims, *value;
    size_t       i, n;
    const char  *s;
    json_int_t   exp, iat, ver;

    n = strnlen((const char *) text, len);
    ver = 0;

    claims = fuzz_json(text, n, 0);
    if (claims == NULL) {
        return 0;
    }

    ok = json_is_object(claims)
         && fuzz_integer(claims, "exp", &exp) && exp > FUZZ_NOW
         && fuzz_integer(claims, "iat", &iat)
         && fuzz_integer(claims, "ver", &ver) && ver >= 0;

    value = json_object_get(claims, "sub");

    if (ok && value && json_is_string(value)) {
        s = json_string_value(value);

        for (i = 0; s[i]; i++) {
            if (s[i] < '0' || s[i] > '9') {
                ok = 0;
            }
        }

        errno = 0;
        *sub = strtoll(s, &end, 10);

        ok = ok && i > 0 && errno == 0 && *sub > 0;
        *version = (ngx_int_t) ver;

    } else {
        ok = 0;
    }

    json_decref(claims);

    return ok;
}


/* a token the verifier took: its signature and claims must be right */

static void
fuzz_accepted(ngx_str_t *token, int64_t sub, ngx_int_t version)
{
    u_char        *dot1, *dot2, *buf, mac[EVP_MAX_MD_SIZE];
    u_char         text[NGX_HTTP_USERS_TOKEN_MAX];
    size_t         n;
    int64_t        expect_sub;
    ngx_int_t      expect_version;
    unsigned int   mac_len;

    dot1 = memchr(token->data, '.', token->len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', token->data + token->len - dot1 - 1)
                : NULL;

    if (dot2 == NULL) {
        abort();
    }

    if (HMAC(EVP_sha256(), fuzz_secret.data, (int) fuzz_secret.len,
             token->data, dot2 - token->data, mac, &mac_len)
        == NULL)
    {
        abort();
    }

    n = fuzz_base64url(text, mac, mac_len);

    if (n != (size_t) (token->data + token->len - dot2 - 1)
        || memcmp(text, dot2 + 1, n) != 0)
    {
        fprintf(stderr, "fuzz_jwt: a forged signature was accepted\n");
        abort();
    }

    buf = malloc(token->len);
    if (buf == NULL) {
        abort();
    }

    n = fuzz_unbase64url(buf, token->data, dot1 - token->data);

    if (!fuzz_header_ok(buf, n)) {
        fprintf(stderr, "fuzz_jwt: a bad header was accepted\n");
        abort();
    }

    n = fuzz_unbase64url(buf, dot1 + 1, dot2 - dot1 - 1);

    if (!fuzz_payload_ok(buf, n, &expect_sub, &expect_version)
        || sub != expect_sub || version != expect_version)
    {
        fprintf(stderr, "fuzz_jwt: bad claims were accepted\n");
        abort();
    }

    free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            bits;
    char          *signed_token;
    size_t         header_len;
    int64_t        sub, expect_sub;
    ngx_int_t      rc, version, expect_version;
    ngx_str_t      header, token;
    const u_char  *split;

    if (size == 0) {
        return 0;
    }

    if (data[0] % 4 == 0) {
        header.data = (u_char *) data + 1;
        header.len = size - 1;

        if (ngx_http_users_bearer_parse(&header, &token) != NGX_OK) {
            return 0;
        }

        rc = ngx_http_users_jwt_verify(&fuzz_keys, &token, FUZZ_NOW,
                                       &ngx_shim_log, &sub,
                                       &version);

        if (rc == NGX_ERROR) {
            abort();
        }

        if (rc == NGX_OK) {
            fuzz_accepted(&token, sub, version);
        }

        return 0;
    }

    bits = (data[0] % 4 == 1) ? 256 : (data[0] % 4 == 2) ? 384 : 512;

    data++;
    size--;

    split = memchr(data, '\0', size);
    header_len = split ? (size_t) (split - data) : size;

    signed_token = fuzz_sign(data, header_len, data + header_len + !!split,
                             size - header_len - !!split, bits);
    if (signed_token == NULL) {
        abort();
    }

    token.data = (u_char *) signed_token;
    token.len = strlen(signed_token);

    rc = ngx_http_users_jwt_verify(&fuzz_keys, &token, FUZZ_NOW,
                                   &ngx_shim_log, &sub,
                                   &version);

    if (rc == NGX_ERROR) {
        abort();
    }

    expect_sub = 0;
    expect_version = 0;

    if ((rc == NGX_OK)
        != (bits == 256 && token.len <= NGX_HTTP_USERS_TOKEN_MAX
            && fuzz_header_ok(data, header_len)
            && fuzz_payload_ok(data + header_len + !!split,
                               size - header_len - !!split,
                               &expect_sub, &expect_version)))
    {
        fprintf(stderr, "fuzz_jwt: verifier says %ld for %s\n", (long) rc,
                signed_token);
        abort();
    }

    if (rc == NGX_OK && (sub != expect_sub || version != expect_version)) {
        abort();
    }

    free(signed_token);

    return 0;
}
