
/*
 * Copyright (C) ngx_users authors
 */


#include "fuzz_util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>


#define FUZZ_STRING(name, min, max, check, required, nullable)                \
    { ngx_string(name), NGX_HTTP_USERS_FIELD_STRING, min, max, check,         \
      required, nullable }

#define FUZZ_BOOL(name)                                                       \
    { ngx_string(name), NGX_HTTP_USERS_FIELD_BOOL, 0, 0, NULL, 0, 0 }


/* the bodies of the contract, as the peer's pydantic models take them */

static ngx_http_users_field_t  fuzz_register[] = {
    FUZZ_STRING("email", 0, 254, ngx_http_users_check_email, 1, 0),
    FUZZ_STRING("password", 8, 128, NULL, 1, 0),
    FUZZ_STRING("name", 0, 255, NULL, 0, 1)
};

static ngx_http_users_field_t  fuzz_me_update[] = {
    FUZZ_STRING("email", 0, 254, ngx_http_users_check_email, 0, 0),
    FUZZ_STRING("name", 0, 255, NULL, 0, 1),
    FUZZ_STRING("password", 8, 128, NULL, 0, 0),
    FUZZ_STRING("current_password", 0, 0, NULL, 0, 0)
};

static ngx_http_users_field_t  fuzz_user_update[] = {
    FUZZ_STRING("email", 0, 254, ngx_http_users_check_email, 0, 0),
    FUZZ_STRING("name", 0, 255, NULL, 0, 1),
    FUZZ_STRING("password", 8, 128, NULL, 0, 0),
    FUZZ_BOOL("is_active"),
    FUZZ_BOOL("is_superuser")
};

static ngx_http_users_field_t  fuzz_profile_update[] = {
    FUZZ_STRING("name", 0, 255, NULL, 0, 1),
    FUZZ_STRING("bio", 0, 10000, NULL, 0, 1),
    FUZZ_STRING("avatar_url", 1, 500, ngx_http_users_check_url, 0, 1),
    FUZZ_STRING("location", 0, 255, NULL, 0, 1),
    FUZZ_STRING("website", 1, 500, ngx_http_users_check_url, 0, 1),
    FUZZ_STRING("phone", 0, 20, ngx_http_users_check_phone, 0, 1)
};

static ngx_http_users_field_t  fuzz_preferences[] = {
    FUZZ_STRING("theme", 0, 0, ngx_http_users_check_theme, 0, 0),
    FUZZ_STRING("language", 1, 35, ngx_http_users_check_language, 0, 0),
    FUZZ_STRING("timezone", 1, 64, ngx_http_users_check_timezone, 0, 0),
    FUZZ_BOOL("notifications_email"),
    FUZZ_BOOL("notifications_sms"),
    FUZZ_BOOL("privacy_public_profile")
};


fuzz_table_t  fuzz_tables[] = {
    { "UserCreate", fuzz_register, sizeof(fuzz_register)
                                   / sizeof(ngx_http_users_field_t) },
    { "UserUpdateMe", fuzz_me_update, sizeof(fuzz_me_update)
                                      / sizeof(ngx_http_users_field_t) },
    { "UserUpdate", fuzz_user_update, sizeof(fuzz_user_update)
                                      / sizeof(ngx_http_users_field_t) },
    { "ProfileUpdate", fuzz_profile_update, sizeof(fuzz_profile_update)
                                            / sizeof(ngx_http_users_field_t) },
    { "PreferencesUpdate", fuzz_preferences, sizeof(fuzz_preferences)
                                             / sizeof(ngx_http_users_field_t) }
};

ngx_uint_t  fuzz_ntables = sizeof(fuzz_tables) / sizeof(fuzz_table_t);

ngx_str_t   fuzz_secret = ngx_string(FUZZ_SECRET);

/* the secret as users_jwt_secret makes it: no kid, the signer */
ngx_http_users_key_t   fuzz_key = {
    .alg = NGX_HTTP_USERS_ALG_HS256,
    .secret = ngx_string(FUZZ_SECRET),
    .private = 1
};

ngx_http_users_keys_t  fuzz_keys = {
    .secret = &fuzz_key,
    .signer = &fuzz_key
};


size_t
fuzz_base64url(u_char *dst, const u_char *src, size_t len)
{
    size_t   n;
    u_char  *d;

    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    d = dst;

    for (n = 0; n + 2 < len; n += 3) {
        *d++ = alphabet[src[n] >> 2];
        *d++ = alphabet[((src[n] & 0x03) << 4) | (src[n + 1] >> 4)];
        *d++ = alphabet[((src[n + 1] & 0x0f) << 2) | (src[n + 2] >> 6)];
        *d++ = alphabet[src[n + 2] & 0x3f];
    }

    if (len - n == 1) {
        *d++ = alphabet[src[n] >> 2];
        *d++ = alphabet[(src[n] & 0x03) << 4];

    } else if (len - n == 2) {
        *d++ = alphabet[src[n] >> 2];
        *d++ = alphabet[((src[n] & 0x03) << 4) | (src[n + 1] >> 4)];
        *d++ = alphabet[(src[n + 1] & 0x0f) << 2];
    }

    return d - dst;
}


char *
fuzz_sign(const u_char *header, size_t header_len, const u_char *payload,
    size_t payload_len, int bits)
{
    char          *token;
    size_t         n;
    u_char         mac[EVP_MAX_MD_SIZE];
    unsigned int   mac_len;
    const EVP_MD  *md;

    md = (bits == 384) ? EVP_sha384() : (bits == 512) ? EVP_sha512()
                                                       : EVP_sha256();

    token = malloc(4 * (header_len + payload_len + sizeof(mac)) / 3 + 16);
    if (token == NULL) {
        return NULL;
    }

    n = fuzz_base64url((u_char *) token, header, header_len);
    token[n++] = '.';
    n += fuzz_base64url((u_char *) token + n, payload, payload_len);

    if (HMAC(md, fuzz_secret.data, (int) fuzz_secret.len, (u_char *) token,
             n, mac, &mac_len)
        == NULL)
    {
        free(token);
        return NULL;
    }

    token[n++] = '.';
    n += fuzz_base64url((u_char *) token + n, mac, mac_len);
    token[n] = '\0';

    return token;
}


/* base64url without padding: any byte out of its alphabet reads as 63 */

size_t
fuzz_unbase64url(u_char *dst, const u_char *src, size_t len)
{
    size_t    i, n;
    uint32_t  bits;
    int       have, v;

    n = 0;
    bits = 0;
    have = 0;

    for (i = 0; i < len; i++) {
        v = (src[i] >= 'A' && src[i] <= 'Z') ? src[i] - 'A'
            : (src[i] >= 'a' && src[i] <= 'z') ? src[i] - 'a' + 26
            : (src[i] >= '0' && src[i] <= '9') ? src[i] - '0' + 52
            : (src[i] == '-') ? 62 : 63;

        bits = (bits << 6) | (uint32_t) v;
        have += 6;

        if (have >= 8) {
            have -= 8;
            dst[n++] = (u_char) (bits >> have);
        }
    }

    return n;
}
