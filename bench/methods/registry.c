/*
 * The list of methods. To add one: write methods/<name>.c defining a
 * const struct bench_method, declare it here, add it to bench_methods[] and
 * add the file to bench/CMakeLists.txt.
 */
#include <string.h>

#include "bench.h"

extern const struct bench_method bench_method_raw;
extern const struct bench_method bench_method_raw_touch;
extern const struct bench_method bench_method_ferry;
extern const struct bench_method bench_method_ferry_touch;
extern const struct bench_method bench_method_uds;

const struct bench_method *const bench_methods[] = {
    &bench_method_raw,   &bench_method_raw_touch, &bench_method_ferry,
    &bench_method_ferry_touch, &bench_method_uds, NULL,
};

const struct bench_method *bench_method_find(const char *name)
{
    for (size_t i = 0; bench_methods[i]; i++) {
        if (strcmp(bench_methods[i]->name, name) == 0)
            return bench_methods[i];
    }
    return NULL;
}
