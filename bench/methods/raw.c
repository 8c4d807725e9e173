/*
 * raw, raw-touch: the hardware limit of a shared-memory hand-off.
 *
 * Ping-pong: one shared mapping with one sequence word per direction, each on
 * its own 128-byte block (two cache lines apart, so that an adjacent-line
 * prefetcher does not couple them). The sender stores the sequence number
 * (release); the receiver spins on it (acquire). `raw` leaves the payload
 * untouched; `raw-touch` first writes every 64 B line of a per-direction
 * payload buffer in the same mapping and the receiver reads and checks every
 * line after seeing the sequence.
 *
 * Stream: a single-producer single-consumer ring of p->queue slots of
 * size bytes (rounded up to 64). A slot's first word is the sequence number
 * and doubles as its "full" flag, so the consumer polls only the slot it is
 * about to read; the consumer publishes its position in a line of its own,
 * which the producer reads only when its cached copy says the ring is full.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define RAW_BLOCK 128u

struct raw_shared {
    size_t bytes;
    /* Ping-pong: flag[0] A->B, flag[1] B->A; buffers follow. */
    /* Stream: head (consumer position) then slots. */
};

struct raw_ep {
    int stream;
    int touch;
    size_t size;
    /* ping-pong */
    _Atomic uint64_t *tx_flag;
    _Atomic uint64_t *rx_flag;
    unsigned char *tx_buf;
    unsigned char *rx_buf;
    /* stream */
    _Atomic uint64_t *head; /* consumer's position, written by the consumer only */
    unsigned char *slots;
    size_t stride;
    uint64_t cap;
    uint64_t pos;         /* own position: producer's tail or consumer's head */
    uint64_t cached_head; /* producer: last head it read */
};

static size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

static size_t buf_bytes(const struct bench_params *p) { return round_up(p->size, 4096); }

static size_t pingpong_bytes(const struct bench_params *p)
{
    size_t n = 4096; /* header + two flag blocks */
    if (p->touch)
        n += 2 * buf_bytes(p);
    return n;
}

static size_t stream_stride(const struct bench_params *p) { return round_up(p->size, BENCH_LINE); }

static size_t stream_bytes(const struct bench_params *p)
{
    return 4096 + round_up((size_t)p->queue * stream_stride(p), 4096);
}

static int raw_prepare(const struct bench_params *p, void **shared)
{
    if (p->mode == BENCH_STREAM && p->queue == 0)
        return bench_fail("raw ring: queue capacity must be at least 1");
    size_t bytes = p->mode == BENCH_STREAM ? stream_bytes(p) : pingpong_bytes(p);
    struct raw_shared *sh = bench_shared_alloc(bytes);
    if (!sh)
        return -1;
    sh->bytes = bytes;
    *shared = sh;
    return 0;
}

static _Atomic uint64_t *flag_at(void *base, unsigned i)
{
    return (_Atomic uint64_t *)((unsigned char *)base + RAW_BLOCK * (i + 1));
}

static int raw_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct raw_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    unsigned char *base = shared;
    ep->size = p->size;
    ep->touch = p->touch;
    if (p->mode == BENCH_STREAM) {
        ep->stream = 1;
        ep->head = flag_at(base, 0);
        ep->slots = base + 4096;
        ep->stride = stream_stride(p);
        ep->cap = p->queue;
    } else {
        unsigned tx = role == BENCH_ROLE_A ? 0 : 1;
        ep->tx_flag = flag_at(base, tx);
        ep->rx_flag = flag_at(base, 1 - tx);
        if (p->touch) {
            unsigned char *bufs = base + 4096;
            ep->tx_buf = bufs + tx * buf_bytes(p);
            ep->rx_buf = bufs + (1 - tx) * buf_bytes(p);
        }
    }
    *out = ep;
    return 0;
}

static _Atomic uint64_t *slot_seq(struct raw_ep *ep, uint64_t pos)
{
    return (_Atomic uint64_t *)(ep->slots + (pos % ep->cap) * ep->stride);
}

static int raw_send(void *opaque, uint64_t seq)
{
    struct raw_ep *ep = opaque;
    if (!ep->stream) {
        if (ep->touch)
            bench_payload_fill(ep->tx_buf, ep->size, seq, 1);
        atomic_store_explicit(ep->tx_flag, seq, memory_order_release);
        return 0;
    }
    unsigned spins = 0;
    while (ep->pos - ep->cached_head >= ep->cap) {
        ep->cached_head = atomic_load_explicit(ep->head, memory_order_acquire);
        if (ep->pos - ep->cached_head < ep->cap)
            break;
        bench_spin(&spins);
    }
    _Atomic uint64_t *s = slot_seq(ep, ep->pos);
    if (ep->touch)
        bench_payload_fill_lines(s, ep->size, seq, 1);
    atomic_store_explicit(s, seq, memory_order_release);
    ep->pos++;
    return 0;
}

static int raw_recv(void *opaque, uint64_t seq)
{
    struct raw_ep *ep = opaque;
    unsigned spins = 0;
    if (!ep->stream) {
        /* Spin until the word changes from the previous sequence number. */
        uint64_t v;
        while ((v = atomic_load_explicit(ep->rx_flag, memory_order_acquire)) == seq - 1)
            bench_spin(&spins);
        if (v != seq)
            return bench_seq_error(seq, v);
        return ep->touch ? bench_payload_check(ep->rx_buf, ep->size, seq, 1) : 0;
    }
    _Atomic uint64_t *s = slot_seq(ep, ep->pos);
    /* The slot holds the sequence of one lap ago (or 0) until it is refilled. */
    uint64_t old = ep->pos >= ep->cap ? seq - ep->cap : 0;
    uint64_t v;
    while ((v = atomic_load_explicit(s, memory_order_acquire)) == old)
        bench_spin(&spins);
    if (v != seq)
        return bench_seq_error(seq, v);
    if (ep->touch && bench_payload_check_lines(s, ep->size, seq, 1) != 0)
        return -1;
    ep->pos++;
    atomic_store_explicit(ep->head, ep->pos, memory_order_release);
    return 0;
}

static void raw_close(void *ep) { free(ep); }

static int raw_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct raw_shared *sh = shared;
    if (sh)
        bench_shared_free(sh, sh->bytes);
    return 0;
}

const struct bench_method bench_method_raw = {
    .name = "raw",
    .summary = "hardware limit: one sequence word per direction in shared memory; payload untouched "
               "(stream: SPSC ring)",
    .touch = 0,
    .stream = 1,
    .prepare = raw_prepare,
    .open = raw_open,
    .send = raw_send,
    .recv = raw_recv,
    .close = raw_close,
    .cleanup = raw_cleanup,
};

const struct bench_method bench_method_raw_touch = {
    .name = "raw-touch",
    .summary = "raw, plus the sender writes and the receiver reads every 64 B line of a shared payload",
    .touch = 1,
    .stream = 1,
    .prepare = raw_prepare,
    .open = raw_open,
    .send = raw_send,
    .recv = raw_recv,
    .close = raw_close,
    .cleanup = raw_cleanup,
};
