/*
 * ferry-bench: shared declarations.
 *
 * A "method" is one way of moving a message of N bytes from one process to
 * another (ferry itself, a raw shared-memory hand-off, a Unix socket...). Each
 * method lives in its own file under methods/ and fills in a struct
 * bench_method; methods/registry.c lists them. The harness (harness.c) forks
 * two children pinned to two cores, opens one endpoint in each and drives
 * them: a ping-pong for latency, a one-way stream for throughput.
 *
 * Every message carries a sequence number (1, 2, 3, ... per direction) that
 * the receiving endpoint checks; a lost, repeated or reordered message fails
 * the measurement, so no method can look fast by dropping data.
 */
#ifndef FERRY_BENCH_H
#define FERRY_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_LINE 64u

enum bench_mode {
    BENCH_PINGPONG = 0, /* A sends, B echoes; both directions open */
    BENCH_STREAM = 1    /* A sends as fast as it can, B receives; one direction */
};

enum bench_role {
    BENCH_ROLE_A = 0, /* ping-pong initiator (the timed side) / stream sender */
    BENCH_ROLE_B = 1  /* ping-pong echo side / stream receiver */
};

/* What one measurement asks of a method. Filled by the harness before fork. */
struct bench_params {
    enum bench_mode mode;
    size_t size;    /* payload bytes per message, >= 8 */
    int touch;      /* write every 64 B line on send, read (and check) every line on receive */
    uint32_t queue; /* stream mode: queue capacity (ferry queue_capacity, raw ring slots) */
    char tag[32];   /* unique per measurement, [A-Za-z0-9_]: usable as a ferry domain */
};

struct bench_method {
    const char *name;
    const char *summary;
    int touch;  /* passed on as bench_params.touch; bit 0: payload touched (a method may use higher bits) */
    int stream; /* 1 when the method supports BENCH_STREAM */
    /* Parent, before fork: create what both sides share (mappings, socket
     * pairs). *shared is handed to open() in both children and to cleanup(). */
    int (*prepare)(const struct bench_params *p, void **shared);
    /* Child, after fork: open this role's endpoint. In BENCH_PINGPONG both
     * directions, in BENCH_STREAM only A->B. */
    int (*open)(const struct bench_params *p, void *shared, enum bench_role role, void **ep);
    /* Sends one message of p->size bytes that carries seq. May spin while the
     * channel is full. */
    int (*send)(void *ep, uint64_t seq);
    /* Receives one message (spinning until it is there) and checks that it
     * carries exactly seq (and, with touch, that every line is intact). */
    int (*recv)(void *ep, uint64_t seq);
    void (*close)(void *ep);
    /* Parent, after both children are gone (also after a failure): release
     * what prepare() made and remove anything left behind. Returns -1 (with
     * bench_fail) if something had been left behind that should not have. */
    int (*cleanup)(const struct bench_params *p, void *shared);
    /* Optional, parent: 0 when the method cannot carry these params here
     * (kernel limit, size above what it can carry, missing facility), with
     * the reason in why; the measurement is then skipped, not failed. NULL:
     * the method runs everywhere. */
    int (*supports)(const struct bench_params *p, char *why, size_t n);
};

/* 1 when m can run p here; otherwise 0 with the reason in why (registry.c). */
int bench_method_supports(const struct bench_method *m, const struct bench_params *p, char *why, size_t n);

/* methods/registry.c */
extern const struct bench_method *const bench_methods[];
const struct bench_method *bench_method_find(const char *name);
/* Methods this build lacks, as "name: why" lines; NULL-terminated. */
extern const char *const bench_methods_missing[];

/* ---- errors (common.c) ---------------------------------------------------- */

/* Records a message for the current failure and returns -1. */
int bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *bench_error(void);
void bench_clear_error(void);

/* ---- time, spinning, CPUs (common.c) ------------------------------------- */

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* 0: pure spinning (the two sides have a core each). Otherwise spin loops
 * yield the CPU every bench_yield_every iterations (both sides share a CPU). */
extern unsigned bench_yield_every;
void bench_yield(void);

/* One iteration of a busy-wait loop; *spins counts iterations. */
static inline void bench_spin(unsigned *spins)
{
    bench_cpu_relax();
    if (bench_yield_every && ++*spins >= bench_yield_every) {
        *spins = 0;
        bench_yield();
    }
}

int bench_pin_to_cpu(int cpu);

/* Shared anonymous mapping (inherited across fork), zeroed, page aligned. */
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);

/* ---- payload (common.c) ---------------------------------------------------- */

/* Writes seq into the first 8 bytes; with touch also a value derived from seq
 * into the first 8 bytes of every other 64 B line (first_line skips lines). */
void bench_payload_fill(void *buf, size_t size, uint64_t seq, int touch);
void bench_payload_fill_lines(void *buf, size_t size, uint64_t seq, size_t first_line);
/* Checks what bench_payload_fill wrote: -1 with a message naming the lost,
 * reordered or corrupted message on mismatch. */
int bench_payload_check(const void *buf, size_t size, uint64_t seq, int touch);
int bench_payload_check_lines(const void *buf, size_t size, uint64_t seq, size_t first_line);
/* The message for a receiver that got `got` where it expected `want`. */
int bench_seq_error(uint64_t want, uint64_t got);

static inline uint64_t bench_line_value(uint64_t seq, size_t line)
{
    return seq ^ ((uint64_t)line << 40) ^ 0x5a5a000000000000ull;
}

#endif
