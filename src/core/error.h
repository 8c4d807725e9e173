/* Per-thread error detail: every failing internal path reports through here. */
#ifndef FY_CORE_ERROR_H
#define FY_CORE_ERROR_H

#include "ferry/ferry.h"

/* Records code and a printf-style message for the calling thread; returns code
 * so that failures read `return fy_fail(FERRY_EINVAL, "...", ...);`. */
int fy_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last code and fixed message (error.c). initial-exec:
 * a plain TLS access instead of a __tls_get_addr call, since these run on
 * the data path. */
extern _Thread_local int fy_last_code __attribute__((tls_model("initial-exec")));
extern _Thread_local const char *fy_last_static __attribute__((tls_model("initial-exec")));

/* Like fy_fail with a fixed message: cheap enough for the data path (an
 * empty take, polled in a loop), no formatting, no call. */
static inline int fy_fail_static(int code, const char *message)
{
    fy_last_code = code;
    fy_last_static = message;
    return code;
}

/* Marks the last call on this thread as successful: void calls, and public
 * calls that succeed after an internal step recorded an expected failure
 * (an open that found no service and created it). */
static inline void fy_ok(void) { fy_last_code = FERRY_OK; }

#endif
