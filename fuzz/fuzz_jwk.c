
/*
 * Copyright (C) ngx_users authors
 *
 * One signing key (ngx_http_users_jwk.c): the key file's reader, the raw
 * keys, the JWK and the signatures.  First byte: bit 0 the algorithm
 * (EdDSA, ES256); bit 1: the rest is a DER key that this target armors as
 * PEM (bit 2: "PRIVATE KEY", else "PUBLIC KEY"), else the rest is the
 * file's text as it is; bit 3: the rest is a signature (64 bytes) and a
 * message for the fixed key of the algorithm instead, taken as it is or
 * (bit 4) XORed into the key's own signature of the message.
 *
 * Checked beyond crashes and leaks: an accepted key's JWK is JSON with
 * the algorithm's kty, crv, alg and use, and OpenSSL, given that JWK
 * alone, verifies what the key signs; a bit flipped fails; a public key
 * never signs; a signature verifies exactly when OpenSSL says it does,
 * with the DER of ES256's r || s encoded here independently.
 */


#include "fuzz_util.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>


/* t/keys/ed1.pem and t/keys/es1.pem: test keys, never deployed */
static const char  *fuzz_pem[] = {
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIKG0AoEa6ic0XHLcBB/E3cUvMBgon85DDspol/s6EJlr\n"
    "-----END PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLui9zVkz46zZ9mM3\n"
    "Nrw9MjfUsRqDDVcdr054oG5JI8GhRANCAATR4ipvWDxWhKqLiv/aFM7mE/LqFqr8\n"
    "fHsbrBT/sXQ0abdBwdNX3p7CF1kRe/08tLA5CipwPa+xO96L5wbpCX7S\n"
    "-----END PRIVATE KEY-----\n"
};


static ngx_http_users_key_t  fuzz_fixed[2];


/* the public key as a verifier that holds only the JWK would make it */

static EVP_PKEY *
fuzz_jwk_pkey(ngx_uint_t alg, ngx_str_t *jwk)
{
    u_char           raw[65];
    json_t          *o;
    size_t           n;
    EVP_PKEY        *pkey;
    const char      *x, *y;
    OSSL_PARAM       params[3];
    EVP_PKEY_CTX    *ctx;

    o = json_loadb((char *) jwk->data, jwk->len, JSON_REJECT_DUPLICATES, NULL);
    if (o == NULL) {
        fprintf(stderr, "fuzz_jwk: the JWK is not JSON: %.*s\n",
                (int) jwk->len, jwk->data);
        abort();
    }

    x = json_string_value(json_object_get(o, "x"));
    y = json_string_value(json_object_get(o, "y"));

    if (x == NULL
        || strcmp(json_string_value(json_object_get(o, "use")), "sig") != 0
        || strcmp(json_string_value(json_object_get(o, "kid")), "k") != 0
        || strcmp(json_string_value(json_object_get(o, "kty")),
                  alg == NGX_HTTP_USERS_ALG_EDDSA ? "OKP" : "EC") != 0
        || strcmp(json_string_value(json_object_get(o, "crv")),
                  alg == NGX_HTTP_USERS_ALG_EDDSA ? "Ed25519" : "P-256")
           != 0
        || strcmp(json_string_value(json_object_get(o, "alg")),
                  alg == NGX_HTTP_USERS_ALG_EDDSA ? "EdDSA" : "ES256") != 0
        || (alg == NGX_HTTP_USERS_ALG_EDDSA) != (y == NULL)
        || json_object_size(o) != (alg == NGX_HTTP_USERS_ALG_EDDSA ? 6 : 7))
    {
        fprintf(stderr, "fuzz_jwk: a bad JWK: %.*s\n", (int) jwk->len,
                jwk->data);
        abort();
    }

    if (alg == NGX_HTTP_USERS_ALG_EDDSA) {
        n = fuzz_unbase64url(raw, (u_char *) x, strlen(x));
        pkey = (strlen(x) == 43 && n == 32)
               ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n)
               : NULL;

    } else {
        raw[0] = 0x04;
        n = (strlen(x) == 43 && strlen(y) == 43)
            ? fuzz_unbase64url(raw + 1, (u_char *) x, 43)
              + fuzz_unbase64url(raw + 33, (u_char *) y, 43)
            : 0;

        params[0] = OSSL_PARAM_construct_utf8_string(
                        OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
        params[1] = OSSL_PARAM_construct_octet_string(
                        OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof(raw));
        params[2] = OSSL_PARAM_construct_end();

        pkey = NULL;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

        if (n != 64 || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1
            || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params)
               != 1)
        {
            pkey = NULL;
        }

        EVP_PKEY_CTX_free(ctx);
    }

    json_decref(o);

    if (pkey == NULL) {
        fprintf(stderr, "fuzz_jwk: OpenSSL cannot read the JWK's key\n");
        abort();
    }

    return pkey;
}


/* an INTEGER of DER from 32 unsigned big-endian bytes */

static u_char *
fuzz_der_integer(u_char *p, const u_char *v)
{
    size_t  skip;

    for (skip = 0; skip < 31 && v[skip] == 0; skip++) { /* void */ }

    *p++ = 0x02;
    *p++ = (u_char) (32 - skip + (v[skip] >> 7));

    if (v[skip] >> 7) {
        *p++ = 0;
    }

    memcpy(p, v + skip, 32 - skip);

    return p + 32 - skip;
}


static int
fuzz_openssl_verify(ngx_uint_t alg, EVP_PKEY *pkey, const u_char *sig,
    const u_char *msg, size_t len)
{
    int          ok;
    u_char       der[80], *p;
    size_t       der_len;
    EVP_MD_CTX  *md;

    if (alg == NGX_HTTP_USERS_ALG_EDDSA) {
        memcpy(der, sig, 64);
        der_len = 64;

    } else {
        p = fuzz_der_integer(der + 2, sig);
        p = fuzz_der_integer(p, sig + 32);
        der[0] = 0x30;
        der[1] = (u_char) (p - der - 2);
        der_len = p - der;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        abort();
    }

    ok = EVP_DigestVerifyInit(md, NULL,
                              alg == NGX_HTTP_USERS_ALG_EDDSA
                              ? NULL : EVP_sha256(),
                              NULL, pkey) == 1
         && EVP_DigestVerify(md, der, der_len, msg, len) == 1;

    EVP_MD_CTX_free(md);
    ERR_clear_error();

    return ok;
}


static void
fuzz_accepted_key(ngx_http_users_key_t *key)
{
    u_char       sig[NGX_HTTP_USERS_SIG_MAX];
    size_t       len;
    EVP_PKEY    *pkey;
    ngx_str_t    jwk, msg, s;
    ngx_pool_t  *pool;

    pool = ngx_shim_pool();

    if (ngx_http_users_jwk_json(pool, key, &jwk) != NGX_OK) {
        abort();
    }

    pkey = fuzz_jwk_pkey(key->alg, &jwk);
    ngx_destroy_pool(pool);

    msg.data = (u_char *) "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0";
    msg.len = strlen((char *) msg.data);

    if (!key->private) {
        if (ngx_http_users_jwk_sign(key, &msg, sig, &len) != NGX_ERROR) {
            fprintf(stderr, "fuzz_jwk: a public key signed\n");
            abort();
        }

        EVP_PKEY_free(pkey);
        return;
    }

    if (ngx_http_users_jwk_sign(key, &msg, sig, &len) != NGX_OK
        || len != 64)
    {
        abort();
    }

    s.data = sig;
    s.len = len;

    if (ngx_http_users_jwk_verify(key, &msg, &s) != NGX_OK
        || !fuzz_openssl_verify(key->alg, pkey, sig, msg.data, msg.len))
    {
        fprintf(stderr, "fuzz_jwk: a signature of the key does not verify\n");
        abort();
    }

    sig[len / 2] ^= 1;

    if (ngx_http_users_jwk_verify(key, &msg, &s) != NGX_DECLINED) {
        fprintf(stderr, "fuzz_jwk: a flipped signature verifies\n");
        abort();
    }

    EVP_PKEY_free(pkey);
}


static void
fuzz_signature(ngx_uint_t alg, ngx_uint_t mask, const u_char *data,
    size_t size)
{
    u_char                 sig[NGX_HTTP_USERS_SIG_MAX];
    size_t                 i, len;
    ngx_int_t              rc;
    EVP_PKEY              *pkey;
    ngx_str_t              jwk, msg, s;
    ngx_pool_t            *pool;
    ngx_http_users_key_t  *key;

    if (size < 64) {
        return;
    }

    key = &fuzz_fixed[alg - 1];

    msg.data = (u_char *) data + 64;
    msg.len = size - 64;

    if (mask) {
        if (ngx_http_users_jwk_sign(key, &msg, sig, &len) != NGX_OK) {
            abort();
        }

        for (i = 0; i < 64; i++) {
            sig[i] ^= data[i];
        }

    } else {
        memcpy(sig, data, 64);
    }

    s.data = sig;
    s.len = 64;

    rc = ngx_http_users_jwk_verify(key, &msg, &s);

    pool = ngx_shim_pool();

    if (ngx_http_users_jwk_json(pool, key, &jwk) != NGX_OK) {
        abort();
    }

    pkey = fuzz_jwk_pkey(alg, &jwk);
    ngx_destroy_pool(pool);

    if (rc == NGX_ERROR
        || (rc == NGX_OK)
           != fuzz_openssl_verify(alg, pkey, sig, msg.data, msg.len))
    {
        fprintf(stderr, "fuzz_jwk: the verifier says %ld, OpenSSL not\n",
                (long) rc);
        abort();
    }

    EVP_PKEY_free(pkey);
}


static void
fuzz_fixed_init(void)
{
    char       *err;
    ngx_str_t   pem;
    ngx_uint_t  i;

    if (fuzz_fixed[0].alg) {
        return;
    }

    for (i = 0; i < 2; i++) {
        fuzz_fixed[i].alg = i + 1;
        ngx_str_set(&fuzz_fixed[i].kid, "k");
        pem.data = (u_char *) fuzz_pem[i];
        pem.len = strlen(fuzz_pem[i]);

        if (ngx_http_users_jwk_load(&fuzz_fixed[i], &pem, &err) != NGX_OK
            || !fuzz_fixed[i].private)
        {
            fprintf(stderr, "fuzz_jwk: a fixed key: %s\n", err);
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  *err;
    u_char                *p;
    size_t                 i, n;
    ngx_str_t              pem, der, b64;
    ngx_uint_t             alg;
    const char            *label;
    ngx_http_users_key_t   key;

    if (size == 0) {
        return 0;
    }

    fuzz_fixed_init();

    alg = (data[0] & 1) ? NGX_HTTP_USERS_ALG_ES256 : NGX_HTTP_USERS_ALG_EDDSA;

    if (data[0] & 8) {
        fuzz_signature(alg, data[0] & 16, data + 1, size - 1);
        return 0;
    }

    der.data = (u_char *) data + 1;
    der.len = size - 1;

    if (data[0] & 2) {
        label = (data[0] & 4) ? "PRIVATE KEY" : "PUBLIC KEY";

        b64.data = malloc(ngx_base64_encoded_length(der.len) + 4);
        pem.data = malloc(ngx_base64_encoded_length(der.len) * 2 + 128);
        if (b64.data == NULL || pem.data == NULL) {
            abort();
        }

        EVP_EncodeBlock(b64.data, der.data, (int) der.len);
        b64.len = strlen((char *) b64.data);

        p = pem.data + sprintf((char *) pem.data, "-----BEGIN %s-----\n",
                               label);

        for (i = 0; i < b64.len; i += 64) {
            n = ngx_min(64, b64.len - i);
            memcpy(p, b64.data + i, n);
            p += n;
            *p++ = '\n';
        }

        p += sprintf((char *) p, "-----END %s-----\n", label);
        pem.len = p - pem.data;

        free(b64.data);

    } else {
        pem.data = malloc(der.len + 1);
        if (pem.data == NULL) {
            abort();
        }

        memcpy(pem.data, der.data, der.len);
        pem.len = der.len;
    }

    memset(&key, 0, sizeof(key));
    key.alg = alg;
    ngx_str_set(&key.kid, "k");

    if (ngx_http_users_jwk_load(&key, &pem, &err) == NGX_OK) {
        fuzz_accepted_key(&key);

    } else if (err == NULL || key.pkey != NULL) {
        abort();
    }

    ERR_clear_error();
    ngx_http_users_jwk_free(&key);
    free(pem.data);

    return 0;
}
