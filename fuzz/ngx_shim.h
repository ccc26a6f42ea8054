
/*
 * Copyright (C) ngx_users authors
 *
 * The few nginx core functions the parsers use, for the fuzzers and the
 * unit tests: nginx-dev ships headers only.
 */


#ifndef _NGX_SHIM_H_INCLUDED_
#define _NGX_SHIM_H_INCLUDED_


#include "ngx_http_users_module.h"


/* 0: allocations succeed; n: the n-th pool allocation from now fails */
extern ngx_uint_t  ngx_shim_fail_after;

extern ngx_log_t   ngx_shim_log;


ngx_pool_t *ngx_shim_pool(void);


#endif /* _NGX_SHIM_H_INCLUDED_ */
