#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

_Thread_local int fy_last_code __attribute__((tls_model("initial-exec")));
static _Thread_local char last_message[512] __attribute__((tls_model("initial-exec")));
_Thread_local const char *fy_last_static __attribute__((tls_model("initial-exec")));

const char *ferry_strerror(int err)
{
    switch (err) {
#define FY_X_CASE(name, value, text) \
    case FERRY_##name:               \
        return text;
        FERRY_ERROR_MAP(FY_X_CASE)
#undef FY_X_CASE
    default:
        return "unknown error";
    }
}

int fy_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    fy_last_code = code;
    fy_last_static = NULL;
    return code;
}

int ferry_last_error(void) { return fy_last_code; }

const char *ferry_last_error_message(void)
{
    if (fy_last_code == FERRY_OK)
        return "";
    return fy_last_static ? fy_last_static : last_message;
}

void ferry_clear_error(void) { fy_ok(); }

#define FY_STR2(x) #x
#define FY_STR(x) FY_STR2(x)
const char *ferry_version(void)
{
    return FY_STR(FERRY_VERSION_MAJOR) "." FY_STR(FERRY_VERSION_MINOR) "." FY_STR(FERRY_VERSION_PATCH);
}
