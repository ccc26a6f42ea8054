
/*
 * Copyright (C) ngx_users authors
 *
 * What the fuzzers and the unit tests share: the field tables of the
 * routes' bodies, and tokens signed with any header and payload.
 */


#ifndef _FUZZ_UTIL_H_INCLUDED_
#define _FUZZ_UTIL_H_INCLUDED_


#include "ngx_shim.h"


#define FUZZ_SECRET  "fuzz-secret-0123456789abcdef-0123456789abcdef"
#define FUZZ_NOW     1700000000


typedef struct {
    const char              *name;
    ngx_http_users_field_t  *fields;
    ngx_uint_t               nfields;
} fuzz_table_t;


extern fuzz_table_t  fuzz_tables[];
extern ngx_uint_t    fuzz_ntables;

extern ngx_str_t     fuzz_secret;

/* fuzz_secret as the key set of a users_jwt_secret alone */
extern ngx_http_users_key_t   fuzz_key;
extern ngx_http_users_keys_t  fuzz_keys;


/* "header.payload.signature" with HMAC-SHA256/384/512 (bits), or NULL */
char *fuzz_sign(const u_char *header, size_t header_len,
    const u_char *payload, size_t payload_len, int bits);

/* base64url without padding into dst, which holds 4 * len / 3 + 4 bytes */
size_t fuzz_base64url(u_char *dst, const u_char *src, size_t len);

/* its reverse into dst, which holds len bytes */
size_t fuzz_unbase64url(u_char *dst, const u_char *src, size_t len);


#endif /* _FUZZ_UTIL_H_INCLUDED_ */
