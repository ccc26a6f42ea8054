
/*
 * Copyright (C) ngx_users authors
 *
 * One signing key: its PEM read by OpenSSL, its signatures and its public
 * JWK.  Ed25519 signs and verifies through libsodium with the raw keys
 * OpenSSL extracts; P-256 through OpenSSL's ECDSA, with JOSE's fixed
 * r || s signature converted to and from the DER that OpenSSL speaks.
 * HS256 is an HMAC of the raw secret.  No curve arithmetic here.
 */


#include "ngx_http_users_module.h"

#include <sodium.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>


#define NGX_HTTP_USERS_P256_LEN  32


static EVP_PKEY *ngx_http_users_jwk_read(ngx_str_t *pem, ngx_uint_t *private,
    char **err);
static ngx_int_t ngx_http_users_jwk_ed25519(ngx_http_users_key_t *key,
    EVP_PKEY *pkey, char **err);
static ngx_int_t ngx_http_users_jwk_p256(ngx_http_users_key_t *key,
    EVP_PKEY *pkey, char **err);
static ngx_int_t ngx_http_users_jwk_es256_sign(ngx_http_users_key_t *key,
    ngx_str_t *input, u_char *sig);
static ngx_int_t ngx_http_users_jwk_es256_verify(ngx_http_users_key_t *key,
    ngx_str_t *input, ngx_str_t *sig);
static int ngx_http_users_jwk_no_passphrase(char *buf, int size, int rwflag,
    void *u);


/* the JOSE names, by ngx_http_users_alg_e */
ngx_str_t  ngx_http_users_alg_names[] = {
    ngx_string("HS256"),
    ngx_string("EdDSA"),
    ngx_string("ES256"),
    ngx_null_string
};


/*
 * A PKCS#8 private key, or an SPKI public key for a key that only
 * verifies.  NGX_DECLINED with *err when the text is not a key of the
 * key's algorithm, with OpenSSL's reason left in its error queue for the
 * caller to log and clear; the caller wipes the text.
 */

ngx_int_t
ngx_http_users_jwk_load(ngx_http_users_key_t *key, ngx_str_t *pem,
    char **err)
{
    EVP_PKEY    *pkey;
    ngx_int_t    rc;
    ngx_uint_t   private;

    pkey = ngx_http_users_jwk_read(pem, &private, err);
    if (pkey == NULL) {
        return NGX_DECLINED;
    }

    key->private = private;

    if (key->alg == NGX_HTTP_USERS_ALG_EDDSA) {
        rc = ngx_http_users_jwk_ed25519(key, pkey, err);

        /* libsodium holds the raw keys: OpenSSL's copy goes now */
        EVP_PKEY_free(pkey);

    } else {
        rc = ngx_http_users_jwk_p256(key, pkey, err);

        if (rc == NGX_OK) {
            key->pkey = pkey;

        } else {
            EVP_PKEY_free(pkey);
        }
    }

    if (rc == NGX_OK) {
        ERR_clear_error();
    }

    return rc;
}


static EVP_PKEY *
ngx_http_users_jwk_read(ngx_str_t *pem, ngx_uint_t *private, char **err)
{
    BIO       *bio;
    EVP_PKEY  *pkey;

    if (pem->len == 0 || pem->len > NGX_MAX_INT32_VALUE) {
        *err = "is empty or too large";
        return NULL;
    }

    bio = BIO_new_mem_buf(pem->data, (int) pem->len);
    if (bio == NULL) {
        *err = "BIO_new_mem_buf() failed";
        return NULL;
    }

    /* an encrypted key must fail here, never prompt on nginx's terminal */
    pkey = PEM_read_bio_PrivateKey(bio, NULL,
                                   ngx_http_users_jwk_no_passphrase, NULL);
    *private = (pkey != NULL);

    if (pkey == NULL) {
        ERR_clear_error();

        if (BIO_reset(bio) == 1) {
            pkey = PEM_read_bio_PUBKEY(bio, NULL,
                                       ngx_http_users_jwk_no_passphrase,
                                       NULL);
        }
    }

    BIO_free(bio);

    if (pkey == NULL) {
        *err = "is neither a PEM private key (PKCS#8) nor a PEM public key "
               "(SPKI)";
    }

    return pkey;
}


static int
ngx_http_users_jwk_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}


static ngx_int_t
ngx_http_users_jwk_ed25519(ngx_http_users_key_t *key, EVP_PKEY *pkey,
    char **err)
{
    u_char  seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
    size_t  len;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
        *err = "is not an Ed25519 key (alg=EdDSA)";
        return NGX_DECLINED;
    }

    len = crypto_sign_PUBLICKEYBYTES;

    if (EVP_PKEY_get_raw_public_key(pkey, key->pk, &len) != 1
        || len != crypto_sign_PUBLICKEYBYTES)
    {
        *err = "EVP_PKEY_get_raw_public_key() failed";
        return NGX_DECLINED;
    }

    if (!key->private) {
        return NGX_OK;
    }

    len = sizeof(seed);

    if (EVP_PKEY_get_raw_private_key(pkey, seed, &len) != 1
        || len != sizeof(seed))
    {
        sodium_memzero(seed, sizeof(seed));
        *err = "EVP_PKEY_get_raw_private_key() failed";
        return NGX_DECLINED;
    }

    (void) crypto_sign_seed_keypair(pk, key->sk, seed);
    sodium_memzero(seed, sizeof(seed));

    /* both libraries must see one key pair */
    if (sodium_memcmp(pk, key->pk, sizeof(pk)) != 0) {
        sodium_memzero(key->sk, sizeof(key->sk));
        *err = "has a public key that does not match its private key";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_jwk_p256(ngx_http_users_key_t *key, EVP_PKEY *pkey,
    char **err)
{
    int            ok;
    char           group[64];
    BIGNUM        *x, *y;
    EVP_PKEY_CTX  *ctx;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC
        || EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1
        || ngx_strcmp(group, "prime256v1") != 0)
    {
        *err = "is not a P-256 key (alg=ES256)";
        return NGX_DECLINED;
    }

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL) {
        *err = "EVP_PKEY_CTX_new_from_pkey() failed";
        return NGX_DECLINED;
    }

    /* the point on the curve, and the private scalar its own */
    ok = key->private ? EVP_PKEY_check(ctx) : EVP_PKEY_public_check(ctx);
    EVP_PKEY_CTX_free(ctx);

    if (ok != 1) {
        *err = "is not a valid P-256 key";
        return NGX_DECLINED;
    }

    x = NULL;
    y = NULL;

    ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1
         && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1
         && BN_bn2binpad(x, key->pk, NGX_HTTP_USERS_P256_LEN)
            == NGX_HTTP_USERS_P256_LEN
         && BN_bn2binpad(y, key->pk + NGX_HTTP_USERS_P256_LEN,
                         NGX_HTTP_USERS_P256_LEN)
            == NGX_HTTP_USERS_P256_LEN;

    BN_free(x);
    BN_free(y);

    if (!ok) {
        *err = "has no readable public point";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


void
ngx_http_users_jwk_free(ngx_http_users_key_t *key)
{
    if (key->pkey) {
        EVP_PKEY_free(key->pkey);
        key->pkey = NULL;
    }

    sodium_memzero(key->sk, sizeof(key->sk));

    if (key->secret.data) {
        sodium_memzero(key->secret.data, key->secret.len);
    }
}


/* sig: NGX_HTTP_USERS_SIG_MAX bytes */

ngx_int_t
ngx_http_users_jwk_sign(ngx_http_users_key_t *key, ngx_str_t *input,
    u_char *sig, size_t *len)
{
    unsigned int  n;

    switch (key->alg) {

    case NGX_HTTP_USERS_ALG_HS256:

        /* with an empty key the token would be anybody's */
        if (key->secret.len == 0 || key->secret.len > NGX_MAX_INT32_VALUE) {
            return NGX_ERROR;
        }

        if (HMAC(EVP_sha256(), key->secret.data, (int) key->secret.len,
                 input->data, input->len, sig, &n)
            == NULL)
        {
            ERR_clear_error();
            return NGX_ERROR;
        }

        *len = n;
        return NGX_OK;

    case NGX_HTTP_USERS_ALG_EDDSA:

        if (!key->private) {
            return NGX_ERROR;
        }

        *len = crypto_sign_BYTES;

        return crypto_sign_detached(sig, NULL, input->data, input->len,
                                    key->sk)
               == 0 ? NGX_OK : NGX_ERROR;

    default: /* NGX_HTTP_USERS_ALG_ES256 */

        if (!key->private || key->pkey == NULL) {
            return NGX_ERROR;
        }

        *len = 2 * NGX_HTTP_USERS_P256_LEN;

        return ngx_http_users_jwk_es256_sign(key, input, sig);
    }
}


static ngx_int_t
ngx_http_users_jwk_es256_sign(ngx_http_users_key_t *key, ngx_str_t *input,
    u_char *sig)
{
    u_char            der[80];
    size_t            len;
    ngx_int_t         rc;
    EVP_MD_CTX       *md;
    ECDSA_SIG        *es;
    const BIGNUM     *r, *s;
    const u_char     *p;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    len = sizeof(der);
    rc = NGX_ERROR;

    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1
        && EVP_DigestSign(md, der, &len, input->data, input->len) == 1)
    {
        p = der;
        es = d2i_ECDSA_SIG(NULL, &p, (long) len);

        if (es) {
            ECDSA_SIG_get0(es, &r, &s);

            if (BN_bn2binpad(r, sig, NGX_HTTP_USERS_P256_LEN)
                == NGX_HTTP_USERS_P256_LEN
                && BN_bn2binpad(s, sig + NGX_HTTP_USERS_P256_LEN,
                                NGX_HTTP_USERS_P256_LEN)
                   == NGX_HTTP_USERS_P256_LEN)
            {
                rc = NGX_OK;
            }

            ECDSA_SIG_free(es);
        }
    }

    EVP_MD_CTX_free(md);
    ERR_clear_error();

    return rc;
}


/*
 * The signature as decoded from the token: NGX_OK, NGX_DECLINED for a
 * wrong one, NGX_ERROR when OpenSSL could not try.  HS256 is verified by
 * libjwt in ngx_http_users_jwt.c, never here.
 */

ngx_int_t
ngx_http_users_jwk_verify(ngx_http_users_key_t *key, ngx_str_t *input,
    ngx_str_t *sig)
{
    switch (key->alg) {

    case NGX_HTTP_USERS_ALG_EDDSA:

        if (sig->len != crypto_sign_BYTES) {
            return NGX_DECLINED;
        }

        return crypto_sign_verify_detached(sig->data, input->data,
                                           input->len, key->pk)
               == 0 ? NGX_OK : NGX_DECLINED;

    case NGX_HTTP_USERS_ALG_ES256:

        if (sig->len != 2 * NGX_HTTP_USERS_P256_LEN || key->pkey == NULL) {
            return NGX_DECLINED;
        }

        return ngx_http_users_jwk_es256_verify(key, input, sig);

    default:
        return NGX_ERROR;
    }
}


static ngx_int_t
ngx_http_users_jwk_es256_verify(ngx_http_users_key_t *key, ngx_str_t *input,
    ngx_str_t *sig)
{
    int          len, ok;
    u_char       der[80], *p;
    BIGNUM      *r, *s;
    ngx_int_t    rc;
    ECDSA_SIG   *es;
    EVP_MD_CTX  *md;

    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig->data, NGX_HTTP_USERS_P256_LEN, NULL);
    s = BN_bin2bn(sig->data + NGX_HTTP_USERS_P256_LEN,
                  NGX_HTTP_USERS_P256_LEN, NULL);

    if (es == NULL || r == NULL || s == NULL
        || ECDSA_SIG_set0(es, r, s) != 1)
    {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        ERR_clear_error();
        return NGX_ERROR;
    }

    /* r and s belong to es now */

    len = i2d_ECDSA_SIG(es, NULL);
    rc = NGX_ERROR;

    if (len > 0 && (size_t) len <= sizeof(der)) {
        p = der;
        len = i2d_ECDSA_SIG(es, &p);

        md = EVP_MD_CTX_new();

        if (md && len > 0
            && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey)
               == 1)
        {
            ok = EVP_DigestVerify(md, der, len, input->data, input->len);
            rc = (ok == 1) ? NGX_OK : (ok == 0) ? NGX_DECLINED : NGX_ERROR;
        }

        EVP_MD_CTX_free(md);
    }

    ECDSA_SIG_free(es);

    /* a bad signature leaves errors that nginx's next SSL call would see */
    ERR_clear_error();

    return rc;
}


/* the public half as an RFC 7517/8037 JWK; nothing of an HMAC secret */

ngx_int_t
ngx_http_users_jwk_json(ngx_pool_t *pool, ngx_http_users_key_t *key,
    ngx_str_t *json)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   x, y, src;

    if (key->alg == NGX_HTTP_USERS_ALG_HS256) {
        return NGX_DECLINED;
    }

    len = (key->alg == NGX_HTTP_USERS_ALG_EDDSA)
          ? crypto_sign_PUBLICKEYBYTES : NGX_HTTP_USERS_P256_LEN;

    x.data = ngx_pnalloc(pool, 2 * ngx_base64_encoded_length(len));
    if (x.data == NULL) {
        return NGX_ERROR;
    }

    src.data = key->pk;
    src.len = len;
    ngx_encode_base64url(&x, &src);

    ngx_str_null(&y);

    if (key->alg == NGX_HTTP_USERS_ALG_ES256) {
        y.data = x.data + ngx_base64_encoded_length(len);
        src.data = key->pk + len;
        ngx_encode_base64url(&y, &src);
    }

    json->len = sizeof("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"\","
                       "\"y\":\"\",\"kid\":\"\",\"alg\":\"EdDSA\","
                       "\"use\":\"sig\"}")
                + x.len + y.len + key->kid.len;

    json->data = ngx_pnalloc(pool, json->len);
    if (json->data == NULL) {
        return NGX_ERROR;
    }

    /* kid is of [A-Za-z0-9._-]: nothing to escape */

    if (key->alg == NGX_HTTP_USERS_ALG_EDDSA) {
        p = ngx_sprintf(json->data,
                        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%V\","
                        "\"kid\":\"%V\",\"alg\":\"EdDSA\",\"use\":\"sig\"}",
                        &x, &key->kid);

    } else {
        p = ngx_sprintf(json->data,
                        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%V\","
                        "\"y\":\"%V\",\"kid\":\"%V\",\"alg\":\"ES256\","
                        "\"use\":\"sig\"}",
                        &x, &y, &key->kid);
    }

    json->len = p - json->data;

    return NGX_OK;
}
