/* Per-thread error detail: every failing internal path reports through here. */
#ifndef FY_CORE_ERROR_H
#define FY_CORE_ERROR_H

#include "ferry/ferry.h"

/* Records code and a printf-style message for the calling thread; returns code
 * so that failures read `return fy_fail(FERRY_EINVAL, "...", ...);`. */
int fy_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks the last call on this thread as successful (used by void calls). */
void fy_ok(void);

#endif
