
/*
 * Copyright (C) ngx_users authors
 *
 * The extra rules of string fields (email, URL, phone, theme, language),
 * as pydantic and email-validator apply them, and the UTF-8 decoding they
 * and the body and form parsers share.
 */


#include "ngx_http_users_module.h"


#define NGX_HTTP_USERS_UTF8_BAD      0xffffffff

#define NGX_HTTP_USERS_EMAIL_MAX     254
#define NGX_HTTP_USERS_LOCAL_MAX     64
#define NGX_HTTP_USERS_LABEL_MAX     63


typedef struct {
    uint32_t                  low;
    uint32_t                  high;
} ngx_http_users_range_t;


static uint32_t ngx_http_users_utf8_next(u_char **p, u_char *last);
static ngx_uint_t ngx_http_users_utf8_in(u_char *p, u_char *last,
    ngx_http_users_range_t *ranges);
static ngx_uint_t ngx_http_users_utf8_starts(u_char *p, u_char *last,
    ngx_http_users_range_t *ranges);
static ngx_uint_t ngx_http_users_code_in(uint32_t u,
    ngx_http_users_range_t *ranges);
static ngx_int_t ngx_http_users_email_local(u_char *p, u_char *last);
static ngx_int_t ngx_http_users_email_domain(u_char *p, u_char *last);
static u_char *ngx_http_users_url_ipv6(u_char *p, u_char *last);
static ngx_int_t ngx_http_users_url_host(u_char *p, u_char *last);
static ngx_uint_t ngx_http_users_language_shape(ngx_str_t *value);
static void ngx_http_users_language_next(u_char **p, u_char *last,
    ngx_str_t *tag);
static ngx_uint_t ngx_http_users_language_is(ngx_str_t *tag, size_t min,
    size_t max, ngx_uint_t digits);


static ngx_http_users_violation_t  ngx_http_users_bad_email = {
    "value is not a valid email address", "value_error.email"
};

static ngx_http_users_violation_t  ngx_http_users_url_space = {
    "URL must not contain whitespace", "value_error"
};

static ngx_http_users_violation_t  ngx_http_users_url_scheme = {
    "invalid or missing URL scheme", "value_error.url.scheme"
};

static ngx_http_users_violation_t  ngx_http_users_url_permitted = {
    "URL scheme not permitted", "value_error.url.scheme"
};

static ngx_http_users_violation_t  ngx_http_users_url_port = {
    "URL port invalid, port cannot exceed 65535", "value_error.url.port"
};

static ngx_http_users_violation_t  ngx_http_users_url_extra = {
    "URL invalid, extra characters found after valid URL",
    "value_error.url.extra"
};

static ngx_http_users_violation_t  ngx_http_users_url_host_invalid = {
    "URL host invalid", "value_error.url.host"
};

static ngx_http_users_violation_t  ngx_http_users_bad_phone = {
    "phone may hold only digits, spaces and + - ( ) .", "value_error"
};

static ngx_http_users_violation_t  ngx_http_users_bad_theme = {
    "unexpected value; permitted: 'light', 'dark', 'system'",
    "value_error.const"
};

static ngx_http_users_violation_t  ngx_http_users_bad_language = {
    "not a well-formed BCP 47 language tag", "value_error"
};


/* what Python's str.isspace() calls white space, as the peer tests URLs */
static ngx_http_users_range_t  ngx_http_users_spaces[] = {
    { 0x09, 0x0d }, { 0x1c, 0x20 }, { 0x85, 0x85 }, { 0xa0, 0xa0 },
    { 0x1680, 0x1680 }, { 0x2000, 0x200a }, { 0x2028, 0x2029 },
    { 0x202f, 0x202f }, { 0x205f, 0x205f }, { 0x3000, 0x3000 },
    { 0, 0 }
};


/*
 * Unicode 14 categories Z, Cc, Cf, Co and Cs above ASCII: email-validator
 * refuses them in an address, as they are invisible or unsafe to display
 */
static ngx_http_users_range_t  ngx_http_users_unsafe[] = {
    { 0x80, 0xa0 }, { 0xad, 0xad }, { 0x600, 0x605 }, { 0x61c, 0x61c },
    { 0x6dd, 0x6dd }, { 0x70f, 0x70f }, { 0x890, 0x891 }, { 0x8e2, 0x8e2 },
    { 0x1680, 0x1680 }, { 0x180e, 0x180e }, { 0x2000, 0x200f },
    { 0x2028, 0x202f }, { 0x205f, 0x206f }, { 0x3000, 0x3000 },
    { 0xd800, 0xf8ff }, { 0xfeff, 0xfeff }, { 0xfff9, 0xfffb },
    { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd }, { 0x13430, 0x13438 },
    { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
    { 0xe0020, 0xe007f }, { 0xf0000, 0x10ffff },
    { 0, 0 }
};


/*
 * The combining diacritical marks blocks: IDNA and email-validator refuse
 * a label or local part that starts with a mark, which would combine with
 * what precedes it when displayed
 */
static ngx_http_users_range_t  ngx_http_users_marks[] = {
    { 0x300, 0x36f }, { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff },
    { 0x20d0, 0x20ff }, { 0xfe20, 0xfe2f },
    { 0, 0 }
};


/* symbol and emoji blocks, which IDNA 2008 disallows in domain names */
static ngx_http_users_range_t  ngx_http_users_symbols[] = {
    { 0x2190, 0x2bff }, { 0x1f000, 0x1faff },
    { 0, 0 }
};


/* IANA special-use names that email-validator refuses as a domain */
static ngx_str_t  ngx_http_users_special_tlds[] = {
    ngx_string("arpa"),
    ngx_string("invalid"),
    ngx_string("local"),
    ngx_string("localhost"),
    ngx_string("onion"),
    ngx_string("test"),
    ngx_null_string
};


static ngx_str_t  ngx_http_users_themes[] = {
    ngx_string("light"),
    ngx_string("dark"),
    ngx_string("system"),
    ngx_null_string
};


/* irregular grandfathered tags, which the BCP 47 grammar does not cover */
static ngx_str_t  ngx_http_users_irregular_tags[] = {
    ngx_string("en-gb-oed"),
    ngx_string("i-ami"),
    ngx_string("i-bnn"),
    ngx_string("i-default"),
    ngx_string("i-enochian"),
    ngx_string("i-hak"),
    ngx_string("i-klingon"),
    ngx_string("i-lux"),
    ngx_string("i-mingo"),
    ngx_string("i-navajo"),
    ngx_string("i-pwn"),
    ngx_string("i-tao"),
    ngx_string("i-tay"),
    ngx_string("i-tsu"),
    ngx_string("sgn-be-fr"),
    ngx_string("sgn-be-nl"),
    ngx_string("sgn-ch-de"),
    ngx_null_string
};


/*
 * Returns the number of code points, or (size_t) -1 when the text is not
 * UTF-8 (overlong forms, surrogates and code points above U+10FFFF
 * included), so that callers can validate and count in one pass.
 */

size_t
ngx_http_users_utf8_chars(u_char *p, size_t len)
{
    u_char  *last;
    size_t   n;

    last = p + len;

    for (n = 0; p < last; n++) {
        if (ngx_http_users_utf8_next(&p, last) == NGX_HTTP_USERS_UTF8_BAD) {
            return (size_t) -1;
        }
    }

    return n;
}


static uint32_t
ngx_http_users_utf8_next(u_char **p, u_char *last)
{
    u_char    *s;
    size_t     n, i;
    uint32_t   u, min;

    s = *p;
    u = *s++;

    if (u < 0x80) {
        *p = s;
        return u;
    }

    if ((u & 0xe0) == 0xc0) {
        n = 1;
        u &= 0x1f;
        min = 0x80;

    } else if ((u & 0xf0) == 0xe0) {
        n = 2;
        u &= 0x0f;
        min = 0x800;

    } else if ((u & 0xf8) == 0xf0) {
        n = 3;
        u &= 0x07;
        min = 0x10000;

    } else {
        return NGX_HTTP_USERS_UTF8_BAD;
    }

    if ((size_t) (last - s) < n) {
        return NGX_HTTP_USERS_UTF8_BAD;
    }

    for (i = 0; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return NGX_HTTP_USERS_UTF8_BAD;
        }

        u = (u << 6) | (s[i] & 0x3f);
    }

    if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
        return NGX_HTTP_USERS_UTF8_BAD;
    }

    *p = s + n;

    return u;
}


static ngx_uint_t
ngx_http_users_utf8_in(u_char *p, u_char *last, ngx_http_users_range_t *ranges)
{
    while (p < last) {
        if (ngx_http_users_code_in(ngx_http_users_utf8_next(&p, last),
                                   ranges))
        {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_users_utf8_starts(u_char *p, u_char *last,
    ngx_http_users_range_t *ranges)
{
    return p < last
           && ngx_http_users_code_in(ngx_http_users_utf8_next(&p, last),
                                     ranges);
}


/* a byte that does not start a UTF-8 sequence is in any range */

static ngx_uint_t
ngx_http_users_code_in(uint32_t u, ngx_http_users_range_t *ranges)
{
    ngx_http_users_range_t  *r;

    if (u == NGX_HTTP_USERS_UTF8_BAD) {
        return 1;
    }

    for (r = ranges; r->high; r++) {
        if (u >= r->low && u <= r->high) {
            return 1;
        }
    }

    return 0;
}


/*
 * The syntax checks of email-validator without its DNS lookups:
 * one "@", a dot-atom local part where UTF-8 is allowed, a domain of
 * letter-digit-hyphen labels (or UTF-8 ones) under a TLD ending with a
 * letter, and no invisible or unsafe code point.
 */

ngx_http_users_violation_t *
ngx_http_users_check_email(ngx_str_t *value)
{
    u_char  *at, *last;

    /* the limit of RFC 3696 errata 1690 is in octets */
    if (value->len > NGX_HTTP_USERS_EMAIL_MAX) {
        return &ngx_http_users_bad_email;
    }

    last = value->data + value->len;

    at = ngx_strlchr(value->data, last, '@');

    if (at == NULL
        || ngx_strlchr(at + 1, last, '@') != NULL
        || ngx_http_users_email_local(value->data, at) != NGX_OK
        || ngx_http_users_email_domain(at + 1, last) != NGX_OK
        || ngx_http_users_utf8_in(value->data, last, ngx_http_users_unsafe))
    {
        return &ngx_http_users_bad_email;
    }

    return NULL;
}


static ngx_int_t
ngx_http_users_email_local(u_char *p, u_char *last)
{
    u_char      c;
    ngx_uint_t  dot;

    /* atext of RFC 5322; bytes of UTF-8 sequences are checked elsewhere */
    static uint32_t  atext[] = {
        0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */

                    /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
        0xa3ffacfa, /* 1010 0011 1111 1111  1010 1100 1111 1010 */

                    /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ */
        0xc7fffffe, /* 1100 0111 1111 1111  1111 1111 1111 1110 */

                    /*  ~}| {zyx wvut srqp  onml kjih gfed cba` */
        0x7fffffff, /* 0111 1111 1111 1111  1111 1111 1111 1111 */

        0xffffffff, /* 1111 1111 1111 1111  1111 1111 1111 1111 */
        0xffffffff, /* 1111 1111 1111 1111  1111 1111 1111 1111 */
        0xffffffff, /* 1111 1111 1111 1111  1111 1111 1111 1111 */
        0xffffffff  /* 1111 1111 1111 1111  1111 1111 1111 1111 */
    };

    if (p == last
        || last - p > NGX_HTTP_USERS_LOCAL_MAX
        || ngx_http_users_utf8_starts(p, last, ngx_http_users_marks))
    {
        return NGX_DECLINED;
    }

    /* a dot-atom: no dot first, last, or after another dot */

    dot = 1;

    for ( /* void */ ; p < last; p++) {
        c = *p;

        if (c == '.') {
            if (dot) {
                return NGX_DECLINED;
            }

            dot = 1;
            continue;
        }

        if (!(atext[c >> 5] & (1U << (c & 0x1f)))) {
            return NGX_DECLINED;
        }

        dot = 0;
    }

    return dot ? NGX_DECLINED : NGX_OK;
}


static ngx_int_t
ngx_http_users_email_domain(u_char *start, u_char *last)
{
    u_char      *label, *end, *p;
    ngx_str_t   *tld;
    ngx_uint_t   ascii;

    for (label = start; /* void */ ; label = end + 1) {

        end = ngx_strlchr(label, last, '.');
        if (end == NULL) {
            end = last;
        }

        if (label == end
            || end - label > NGX_HTTP_USERS_LABEL_MAX
            || *label == '-'
            || end[-1] == '-')
        {
            return NGX_DECLINED;
        }

        ascii = 1;

        for (p = label; p < end; p++) {
            if (*p >= 0x80) {
                ascii = 0;

            } else if (*p != '-' && !ngx_http_users_is_alnum(*p)) {
                return NGX_DECLINED;
            }
        }

        /* IDNA keeps "--" in third and fourth place for ASCII "xn--" */
        if (end - label >= 4 && label[2] == '-' && label[3] == '-'
            && (!ascii || ngx_strncasecmp(label, (u_char *) "xn", 2) != 0))
        {
            return NGX_DECLINED;
        }

        if (!ascii
            && (ngx_http_users_utf8_starts(label, end, ngx_http_users_marks)
                || ngx_http_users_utf8_in(label, end, ngx_http_users_symbols)))
        {
            return NGX_DECLINED;
        }

        if (end == last) {
            break;
        }
    }

    /* a domain without a dot is no mail domain */
    if (label == start) {
        return NGX_DECLINED;
    }

    /* every ASCII TLD ends with a letter; IDNA ones are left alone */
    if (ascii && !ngx_http_users_is_alpha(last[-1])) {
        return NGX_DECLINED;
    }

    for (tld = ngx_http_users_special_tlds; tld->len; tld++) {
        if ((size_t) (last - label) == tld->len
            && ngx_strncasecmp(label, tld->data, tld->len) == 0)
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * An absolute http or https URL, in the order and with the messages of
 * pydantic's AnyHttpUrl: scheme, port, trailing characters, then host.
 */

ngx_http_users_violation_t *
ngx_http_users_check_url(ngx_str_t *value)
{
    u_char      *p, *last, *scheme, *host, *end;
    ngx_uint_t   port, ipv6;

    if (ngx_http_users_utf8_in(value->data, value->data + value->len,
                               ngx_http_users_spaces))
    {
        return &ngx_http_users_url_space;
    }

    p = value->data;
    last = p + value->len;

    /* pydantic's scheme is [a-z][a-z0-9+.-]+ followed by "://" */

    scheme = p;

    if (p == last || !ngx_http_users_is_alpha(*p)) {
        return &ngx_http_users_url_scheme;
    }

    for (p++; p < last; p++) {
        if (!ngx_http_users_is_alnum(*p)
            && *p != '+' && *p != '-' && *p != '.')
        {
            break;
        }
    }

    if (p - scheme < 2
        || last - p < 3
        || ngx_strncmp(p, "://", 3) != 0)
    {
        return &ngx_http_users_url_scheme;
    }

    /* "http" is "https" without its last letter */
    if ((p - scheme != 4 && p - scheme != 5)
        || ngx_strncasecmp(scheme, (u_char *) "https", p - scheme) != 0)
    {
        return &ngx_http_users_url_permitted;
    }

    p += 3;

    /* user information ends at the last "@" before the path */

    end = ngx_strlchr(p, last, '/');
    if (end == NULL) {
        end = last;
    }

    for (host = p; p < end; p++) {
        if (*p == '@') {
            host = p + 1;
        }
    }

    end = ngx_http_users_url_ipv6(host, last);
    ipv6 = (end != NULL);

    if (!ipv6) {
        for (end = host; end < last; end++) {
            if (*end == '/' || *end == ':' || *end == '?' || *end == '#') {
                break;
            }
        }
    }

    p = end;
    port = 0;

    if (last - p > 1 && p[0] == ':' && ngx_http_users_is_digit(p[1])) {
        for (p++; p < last && ngx_http_users_is_digit(*p); p++) {
            if (port <= 65535) {
                port = port * 10 + *p - '0';
            }
        }
    }

    if (port > 65535) {
        return &ngx_http_users_url_port;
    }

    /* a path, query and fragment may hold anything but a second "#" */

    if (p < last) {
        if (*p != '/' && *p != '?' && *p != '#') {
            return &ngx_http_users_url_extra;
        }

        p = ngx_strlchr(p, last, '#');

        if (p && ngx_strlchr(p + 1, last, '#')) {
            return &ngx_http_users_url_extra;
        }
    }

    if (!ipv6 && ngx_http_users_url_host(host, end) != NGX_OK) {
        return &ngx_http_users_url_host_invalid;
    }

    return NULL;
}


/* "[", hex digits and colons, one of them before the last one, "]" */

static u_char *
ngx_http_users_url_ipv6(u_char *p, u_char *last)
{
    u_char  *colon;

    if (p == last || *p != '[') {
        return NULL;
    }

    colon = NULL;

    for (p++; p < last; p++) {
        if (*p == ':') {
            if (colon == NULL) {
                colon = p;
            }

        } else if (!ngx_http_users_is_digit(*p)
                   && !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f'))
        {
            break;
        }
    }

    if (colon == NULL || colon + 1 == p || p == last || *p != ']') {
        return NULL;
    }

    p++;

    if (p < last && *p != '/' && *p != ':' && *p != '#' && *p != '?') {
        return NULL;
    }

    return p;
}


/*
 * pydantic's domain: dot-separated labels of 1 to 63 code points from
 * its class [_0-9a-\U00040000] matched case-insensitively (so "{|}~"
 * and DEL as well), hyphens inside, and an optional trailing dot.
 */

static ngx_int_t
ngx_http_users_url_host(u_char *p, u_char *last)
{
    u_char      *label;
    uint32_t     u;
    ngx_uint_t   n;

    if (p < last && last[-1] == '.') {
        last--;
    }

    for ( ;; ) {
        label = p;

        for (n = 0; p < last && *p != '.'; n++) {
            u = ngx_http_users_utf8_next(&p, last);

            if (u != '_' && u != '-' && !ngx_http_users_is_alnum(u)
                && (u < 'a' || u > 0x40000))
            {
                return NGX_DECLINED;
            }
        }

        if (n == 0 || n > NGX_HTTP_USERS_LABEL_MAX
            || *label == '-' || p[-1] == '-')
        {
            return NGX_DECLINED;
        }

        if (p == last) {
            return NGX_OK;
        }

        p++;
    }
}


ngx_http_users_violation_t *
ngx_http_users_check_phone(ngx_str_t *value)
{
    u_char  *p, *last;

    last = value->data + value->len;

    for (p = value->data; p < last; p++) {
        if (!ngx_http_users_is_digit(*p)
            && *p != ' ' && *p != '+' && *p != '-'
            && *p != '(' && *p != ')' && *p != '.')
        {
            return &ngx_http_users_bad_phone;
        }
    }

    return NULL;
}


ngx_http_users_violation_t *
ngx_http_users_check_theme(ngx_str_t *value)
{
    ngx_str_t  *theme;

    for (theme = ngx_http_users_themes; theme->len; theme++) {
        if (value->len == theme->len
            && ngx_strncmp(value->data, theme->data, theme->len) == 0)
        {
            return NULL;
        }
    }

    return &ngx_http_users_bad_theme;
}


/*
 * The peer's BCP 47 grammar, case-insensitive: language (and extlangs),
 * script, region, variants, extensions, private use; or private use
 * alone; or an irregular grandfathered tag.  Every subtag has one shape
 * only at its place, so a left-to-right scan needs no backtracking.
 */

ngx_http_users_violation_t *
ngx_http_users_check_language(ngx_str_t *value)
{
    u_char      *p, *last;
    ngx_str_t    tag, *irregular;
    ngx_uint_t   k;

    for (irregular = ngx_http_users_irregular_tags;
         irregular->len;
         irregular++)
    {
        if (value->len == irregular->len
            && ngx_strncasecmp(value->data, irregular->data,
                               irregular->len)
               == 0)
        {
            return NULL;
        }
    }

    if (!ngx_http_users_language_shape(value)) {
        return &ngx_http_users_bad_language;
    }

    p = value->data;
    last = p + value->len;

    ngx_http_users_language_next(&p, last, &tag);

    /* "x" alone starts private use, which needs a subtag */
    if (tag.len == 1) {
        return ((tag.data[0] | 0x20) == 'x' && p < last)
               ? NULL : &ngx_http_users_bad_language;
    }

    if (!ngx_http_users_language_is(&tag, 2, 8, 0)) {
        return &ngx_http_users_bad_language;
    }

    k = (tag.len <= 3) ? 3 : 0;

    ngx_http_users_language_next(&p, last, &tag);

    while (k-- && ngx_http_users_language_is(&tag, 3, 3, 0)) {
        ngx_http_users_language_next(&p, last, &tag);
    }

    if (ngx_http_users_language_is(&tag, 4, 4, 0)) {
        ngx_http_users_language_next(&p, last, &tag);
    }

    if (ngx_http_users_language_is(&tag, 2, 2, 0)
        || ngx_http_users_language_is(&tag, 3, 3, 1))
    {
        ngx_http_users_language_next(&p, last, &tag);
    }

    while (tag.len >= 5
           || (tag.len == 4 && ngx_http_users_is_digit(tag.data[0])))
    {
        ngx_http_users_language_next(&p, last, &tag);
    }

    while (tag.len == 1 && (tag.data[0] | 0x20) != 'x') {
        ngx_http_users_language_next(&p, last, &tag);

        if (tag.len < 2) {
            return &ngx_http_users_bad_language;
        }

        while (tag.len >= 2) {
            ngx_http_users_language_next(&p, last, &tag);
        }
    }

    /* a singleton left here is "x": private use takes the rest */
    if (tag.len == 1) {
        return (p < last) ? NULL : &ngx_http_users_bad_language;
    }

    return (tag.len == 0) ? NULL : &ngx_http_users_bad_language;
}


/* subtags of 1 to 8 letters or digits, joined by single hyphens */

static ngx_uint_t
ngx_http_users_language_shape(ngx_str_t *value)
{
    u_char  *p, *last;
    size_t   len;

    len = 0;
    last = value->data + value->len;

    for (p = value->data; p < last; p++) {

        if (*p == '-') {
            if (len == 0) {
                return 0;
            }

            len = 0;
            continue;
        }

        if (!ngx_http_users_is_alnum(*p) || ++len > 8) {
            return 0;
        }
    }

    return len > 0;
}


/* the next subtag, empty at the end; the shape is checked already */

static void
ngx_http_users_language_next(u_char **p, u_char *last, ngx_str_t *tag)
{
    u_char  *s;

    s = *p;

    tag->data = s;

    while (s < last && *s != '-') {
        s++;
    }

    tag->len = s - tag->data;

    *p = (s < last) ? s + 1 : s;
}


static ngx_uint_t
ngx_http_users_language_is(ngx_str_t *tag, size_t min, size_t max,
    ngx_uint_t digits)
{
    size_t  i;

    if (tag->len < min || tag->len > max) {
        return 0;
    }

    for (i = 0; i < tag->len; i++) {
        if (digits ? !ngx_http_users_is_digit(tag->data[i])
                   : !ngx_http_users_is_alpha(tag->data[i]))
        {
            return 0;
        }
    }

    return 1;
}
