/*
 * Hints for the data path. The hot functions (loan, send, take, release)
 * keep their rare cases (bad arguments, limits, a changed connection) in
 * out-of-line cold functions, so that the common case compiles to a short
 * straight line with few registers to save.
 */
#ifndef FY_CORE_COMPILER_H
#define FY_CORE_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define FY_LIKELY(x) __builtin_expect(!!(x), 1)
#define FY_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FY_COLD __attribute__((noinline, cold))
#else
#define FY_LIKELY(x) (x)
#define FY_UNLIKELY(x) (x)
#define FY_COLD
#endif

#endif
