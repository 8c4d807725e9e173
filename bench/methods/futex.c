/*
 * futex: the receiver really sleeps. One 32-bit word per direction in shared
 * memory (each on its own 128-byte block); the sender stores the sequence
 * number into it (release) and calls FUTEX_WAKE; the receiver calls
 * FUTEX_WAIT until the word holds the sequence number it expects (no
 * spinning first). As with `raw`, the payload is left untouched: this is the
 * cost of a sleeping hand-off, the floor of any blocking transport.
 */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct futex_shared {
    _Alignas(128) _Atomic uint32_t word_ab;
    _Alignas(128) _Atomic uint32_t word_ba;
};

struct futex_ep {
    _Atomic uint32_t *tx, *rx;
};

static long futex_call(_Atomic uint32_t *addr, int op, uint32_t val)
{
    /* The kernel reads the word itself; the address is all it needs. */
    void *word = (void *)(uintptr_t)addr;
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static int futex_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    struct futex_shared *sh = bench_shared_alloc(sizeof *sh);
    if (!sh)
        return -1;
    *shared = sh;
    return 0;
}

static int futex_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    bench_shared_free(shared, sizeof(struct futex_shared));
    return 0;
}

static int futex_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    (void)p;
    struct futex_shared *sh = shared;
    struct futex_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->tx = role == BENCH_ROLE_A ? &sh->word_ab : &sh->word_ba;
    ep->rx = role == BENCH_ROLE_A ? &sh->word_ba : &sh->word_ab;
    *out = ep;
    return 0;
}

static void futex_close(void *ep) { free(ep); }

static int futex_send(void *opaque, uint64_t seq)
{
    struct futex_ep *ep = opaque;
    atomic_store_explicit(ep->tx, (uint32_t)seq, memory_order_release);
    if (futex_call(ep->tx, FUTEX_WAKE, INT_MAX) < 0)
        return bench_fail("FUTEX_WAKE: %s", strerror(errno));
    return 0;
}

static int futex_recv(void *opaque, uint64_t seq)
{
    struct futex_ep *ep = opaque;
    uint32_t want = (uint32_t)seq;
    for (;;) {
        uint32_t v = atomic_load_explicit(ep->rx, memory_order_acquire);
        if (v == want)
            return 0;
        if (v != want - 1)
            return bench_seq_error(want, v);
        if (futex_call(ep->rx, FUTEX_WAIT, v) < 0 && errno != EAGAIN && errno != EINTR)
            return bench_fail("FUTEX_WAIT: %s", strerror(errno));
    }
}

const struct bench_method bench_method_futex = {
    .name = "futex",
    .summary = "sequence number in a shared word, FUTEX_WAKE / FUTEX_WAIT (receiver sleeps); payload untouched",
    .stream = 0,
    .prepare = futex_prepare,
    .open = futex_open,
    .send = futex_send,
    .recv = futex_recv,
    .close = futex_close,
    .cleanup = futex_cleanup,
};
