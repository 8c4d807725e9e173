/* ferry-bench: error buffer, CPU pinning, shared mappings, payload patterns. */
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static char g_error[512];

int bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    return -1;
}

const char *bench_error(void) { return g_error[0] ? g_error : "unknown error"; }

void bench_clear_error(void) { g_error[0] = '\0'; }

unsigned bench_yield_every = 0;

void bench_yield(void) { sched_yield(); }

int bench_pin_to_cpu(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return bench_fail("cannot pin to CPU %d: %s (see --cores)", cpu, strerror(errno));
    return 0;
}

void *bench_shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        bench_fail("mmap of %zu shared bytes failed: %s", size, strerror(errno));
        return NULL;
    }
    return p;
}

void bench_shared_free(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

/* Lines are written as 8-byte stores at the start of each 64 B line (the last
 * one moved back so it stays inside a size that is not a multiple of 64). */
static size_t line_offset(size_t size, size_t line)
{
    size_t off = line * BENCH_LINE;
    return off + 8 <= size ? off : size - 8;
}

static size_t line_count(size_t size) { return (size + BENCH_LINE - 1) / BENCH_LINE; }

void bench_payload_fill_lines(void *buf, size_t size, uint64_t seq, size_t first_line)
{
    unsigned char *b = buf;
    size_t n = line_count(size);
    for (size_t i = first_line; i < n; i++) {
        uint64_t v = bench_line_value(seq, i);
        memcpy(b + line_offset(size, i), &v, sizeof v);
    }
}

void bench_payload_fill(void *buf, size_t size, uint64_t seq, int touch)
{
    if (touch)
        bench_payload_fill_lines(buf, size, seq, 1);
    memcpy(buf, &seq, sizeof seq);
}

int bench_seq_error(uint64_t want, uint64_t got)
{
    if (got < want)
        return bench_fail("message out of order or repeated: expected sequence %llu, got %llu",
                          (unsigned long long)want, (unsigned long long)got);
    return bench_fail("message lost: expected sequence %llu, got %llu", (unsigned long long)want,
                      (unsigned long long)got);
}

int bench_payload_check_lines(const void *buf, size_t size, uint64_t seq, size_t first_line)
{
    const unsigned char *b = buf;
    size_t n = line_count(size);
    uint64_t bad = 0;
    /* Read every line first (no early exit), then look for the culprit. */
    for (size_t i = first_line; i < n; i++) {
        uint64_t v;
        memcpy(&v, b + line_offset(size, i), sizeof v);
        bad |= v ^ bench_line_value(seq, i);
    }
    if (!bad)
        return 0;
    for (size_t i = first_line; i < n; i++) {
        uint64_t v;
        memcpy(&v, b + line_offset(size, i), sizeof v);
        if (v != bench_line_value(seq, i))
            return bench_fail("message %llu: payload line %zu of %zu holds 0x%016llx, expected 0x%016llx",
                              (unsigned long long)seq, i, n, (unsigned long long)v,
                              (unsigned long long)bench_line_value(seq, i));
    }
    return 0;
}

int bench_payload_check(const void *buf, size_t size, uint64_t seq, int touch)
{
    uint64_t got;
    memcpy(&got, buf, sizeof got);
    if (got != seq)
        return bench_seq_error(seq, got);
    return touch ? bench_payload_check_lines(buf, size, seq, 1) : 0;
}
