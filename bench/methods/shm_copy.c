/*
 * shm-copy: shared memory with a copy in and a copy out (see shmcopy.h), the
 * scheme most hand-written shared-memory IPC uses; the receiver busy-polls.
 */
#include "shmcopy.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HDR 128u

struct shmcopy_ep {
    _Atomic uint64_t *tx_seq, *rx_seq;
    unsigned char *tx_data, *rx_data;
    unsigned char *tx, *rx; /* private */
    size_t size;
};

static size_t area(size_t size) { return HDR + ((size + HDR - 1) / HDR) * HDR; }

size_t shmcopy_bytes(size_t size) { return 2 * area(size); }

void shmcopy_close(void *opaque)
{
    struct shmcopy_ep *ep = opaque;
    if (!ep)
        return;
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

int shmcopy_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct shmcopy_shared *sh = shared;
    struct shmcopy_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->tx = malloc(p->size);
    ep->rx = malloc(p->size);
    if (!ep->tx || !ep->rx) {
        shmcopy_close(ep);
        return bench_fail("out of memory");
    }
    memset(ep->tx, 0, p->size);
    unsigned char *ab = sh->map, *ba = sh->map + area(p->size);
    unsigned char *t = role == BENCH_ROLE_A ? ab : ba, *r = role == BENCH_ROLE_A ? ba : ab;
    ep->tx_seq = (_Atomic uint64_t *)(void *)t;
    ep->rx_seq = (_Atomic uint64_t *)(void *)r;
    ep->tx_data = t + HDR;
    ep->rx_data = r + HDR;
    *out = ep;
    return 0;
}

int shmcopy_send(void *opaque, uint64_t seq)
{
    struct shmcopy_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    memcpy(ep->tx_data, ep->tx, ep->size);
    atomic_store_explicit(ep->tx_seq, seq, memory_order_release);
    return 0;
}

int shmcopy_recv(void *opaque, uint64_t seq)
{
    struct shmcopy_ep *ep = opaque;
    unsigned spins = 0;
    uint64_t v;
    while ((v = atomic_load_explicit(ep->rx_seq, memory_order_acquire)) != seq) {
        if (v > seq)
            return bench_seq_error(seq, v);
        bench_spin(&spins);
    }
    memcpy(ep->rx, ep->rx_data, ep->size);
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

static int shm_prepare(const struct bench_params *p, void **shared)
{
    struct shmcopy_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    sh->fd = -1;
    sh->map_bytes = shmcopy_bytes(p->size);
    sh->map = bench_shared_alloc(sh->map_bytes);
    if (!sh->map) {
        free(sh);
        return -1;
    }
    *shared = sh;
    return 0;
}

static int shm_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct shmcopy_shared *sh = shared;
    if (sh) {
        bench_shared_free(sh->map, sh->map_bytes);
        free(sh);
    }
    return 0;
}

const struct bench_method bench_method_shm_copy = {
    .name = "shm-copy",
    .summary = "shared memory, memcpy in and memcpy out, sequence word polled (the usual hand-written scheme)",
    .stream = 0,
    .prepare = shm_prepare,
    .open = shmcopy_open,
    .send = shmcopy_send,
    .recv = shmcopy_recv,
    .close = shmcopy_close,
    .cleanup = shm_cleanup,
};
