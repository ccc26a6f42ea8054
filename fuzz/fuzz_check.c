
/*
 * Copyright (C) ngx_users authors
 *
 * The field checks on any UTF-8 text without NUL, as JSON strings reach
 * them: the first byte picks the check.  The BCP 47 check is compared
 * with the peer's regular expression, run by regexec().
 */


#include "fuzz_util.h"

#include <regex.h>


static regex_t      fuzz_bcp47;
static ngx_pool_t  *fuzz_cycle_pool;


static ngx_http_users_check_pt  fuzz_checks[] = {
    ngx_http_users_check_email,
    ngx_http_users_check_url,
    ngx_http_users_check_phone,
    ngx_http_users_check_theme,
    ngx_http_users_check_language,
    ngx_http_users_check_timezone
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_cycle_t  cycle;

    fuzz_cycle_pool = ngx_shim_pool();

    ngx_memzero(&cycle, sizeof(ngx_cycle_t));
    cycle.pool = fuzz_cycle_pool;
    cycle.log = &ngx_shim_log;

    if (ngx_http_users_timezones_load(&cycle) != NGX_OK) {
        abort();
    }

    /* app/schemas.py _BCP47, in POSIX extended syntax */
    if (regcomp(&fuzz_bcp47,
                "^((([a-z]{2,3}(-[a-z]{3}){0,3})|[a-z]{4}|[a-z]{5,8})"
                "(-[a-z]{4})?"
                "(-([a-z]{2}|[0-9]{3}))?"
                "(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
                "(-[0-9a-wy-z](-[a-z0-9]{2,8})+)*"
                "(-x(-[a-z0-9]{1,8})+)?"
                "|x(-[a-z0-9]{1,8})+"
                "|en-gb-oed|i-(ami|bnn|default|enochian|hak|klingon|lux"
                "|mingo|navajo|pwn|tao|tay|tsu)"
                "|sgn-(be-fr|be-nl|ch-de))$",
                REG_EXTENDED|REG_ICASE|REG_NOSUB)
        != 0)
    {
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                        *text;
    size_t                       i;
    ngx_str_t                    value;
    ngx_uint_t                   which, ascii;
    ngx_http_users_violation_t  *v;

    if (size == 0) {
        return 0;
    }

    which = data[0] % (sizeof(fuzz_checks) / sizeof(fuzz_checks[0]));

    value.data = (u_char *) data + 1;
    value.len = size - 1;

    if (memchr(value.data, '\0', value.len) != NULL
        || ngx_http_users_utf8_chars(value.data, value.len) == (size_t) -1)
    {
        return 0;
    }

    v = fuzz_checks[which](&value);

    if (v != NULL && (v->msg == NULL || v->type == NULL)) {
        abort();
    }

    if (fuzz_checks[which] != ngx_http_users_check_language) {
        return 0;
    }

    ascii = 1;

    for (i = 0; i < value.len; i++) {
        if (value.data[i] >= 0x80) {
            ascii = 0;
        }
    }

    /* Python's [a-z] with IGNORECASE also takes the Kelvin sign */
    if (!ascii) {
        if (v == NULL) {
            abort();
        }

        return 0;
    }

    text = malloc(value.len + 1);
    if (text == NULL) {
        abort();
    }

    ngx_memcpy(text, value.data, value.len);
    text[value.len] = '\0';

    if ((regexec(&fuzz_bcp47, text, 0, NULL, 0) == 0) != (v == NULL)) {
        fprintf(stderr, "fuzz_check: \"%s\": regex and check differ\n",
                text);
        abort();
    }

    free(text);

    return 0;
}
