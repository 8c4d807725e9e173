/*
 * The two rings of a connection, in shared memory. Positions are 64-bit
 * counters that never wrap in practice; a slot is ring[pos & (size - 1)].
 * The submit ring holds one cache line per position (struct fy_submit_slot:
 * this word, then the sample's metadata); the return ring one word.
 *
 * Entries carry a "turn" (the position's lap number, top bit always set) so
 * that a consumer learns an entry is ready from the entry itself: it never
 * reads the producer's tail, and one cache line carries the hand-off.
 *
 *   bits 63..56  turn = ((pos >> log2size) & 0x7f) | 0x80  (never 0)
 *   bits 55..48  tag: low 8 bits of the publisher generation that wrote it,
 *                so a subscriber racing a new publisher of the same slot
 *                (which restarts the positions at 0) cannot take its entry
 *                for one of the old publisher's
 *   bits 47..32  chunk index
 *   bits 31..0   payload size (submit ring) / publisher generation (return
 *                ring: a return meant for an earlier publisher of the same
 *                slot is recognised and ignored)
 *
 * Submit ring: one producer (the publisher), one consumer (the subscriber).
 * Under DROP_OLDEST the producer may also take back the oldest entry of a
 * full ring, so head is advanced with a CAS by both; under BLOCK only the
 * consumer moves head, with a release store.
 * Orderings, every acquire/release pair:
 *   - producer store(entry, release)   -> consumer load(entry, acquire):
 *     the slot's metadata and the payload written before the send are
 *     visible.
 *   - consumer CAS/store(head, release) -> producer load(head, acquire):
 *     the consumer's read of the entry happened before the producer may
 *     overwrite that slot one lap later.
 * Return ring: one producer (the subscriber), one consumer (the publisher);
 * same entry pairing. It never overflows because the publisher keeps at most
 * queue_capacity + max_borrowed chunks outstanding per connection and the
 * ring has at least that many slots.
 */
#ifndef FY_QUEUE_RING_H
#define FY_QUEUE_RING_H

#include <stdatomic.h>
#include <stdint.h>

#include "shm/layout.h"

/* What a submit slot says about its sample besides chunk and size. */
struct fy_sample_meta {
    uint64_t sequence;
    uint64_t timestamp_ns;
    uint64_t call_id;
    uint32_t reply_slot;
    uint32_t reply_gen;
    uint32_t flags;
};

/* Eight bits of lap suffice: a consumer validates what it read with a CAS
 * on head, and the producer never runs more than one lap ahead. */
static inline uint64_t fy_turn(uint64_t pos, unsigned log2size)
{
    return ((pos >> log2size) & 0x7fu) | 0x80u;
}

static inline uint64_t fy_entry_make(uint64_t pos, unsigned log2size, uint32_t tag, uint32_t chunk, uint32_t size)
{
    return (fy_turn(pos, log2size) << 56) | ((uint64_t)(tag & 0xffu) << 48) | ((uint64_t)(chunk & 0xffffu) << 32) |
           size;
}

static inline int fy_entry_is(uint64_t entry, uint64_t pos, unsigned log2size)
{
    return (entry >> 56) == fy_turn(pos, log2size);
}

static inline uint32_t fy_entry_tag(uint64_t entry) { return (uint32_t)((entry >> 48) & 0xffu); }

static inline uint32_t fy_entry_chunk(uint64_t entry) { return (uint32_t)((entry >> 32) & 0xffffu); }
static inline uint32_t fy_entry_size(uint64_t entry) { return (uint32_t)entry; }

/* Request-response only: the call fields of a slot, stored before
 * fy_submit_put publishes it. Plain publish-subscribe never writes them
 * (its subscribers never read them). */
static inline void fy_submit_put_call(struct fy_submit_slot *slot, const struct fy_sample_meta *m)
{
    atomic_store_explicit(&slot->call_id, m->call_id, memory_order_relaxed);
    atomic_store_explicit(&slot->reply_slot, m->reply_slot, memory_order_relaxed);
    atomic_store_explicit(&slot->reply_gen, m->reply_gen, memory_order_relaxed);
    atomic_store_explicit(&slot->flags, m->flags, memory_order_relaxed);
}

/* Producer side of the submit ring: the metadata first, then the word.
 * seq_cst, not release: the exchange is also the full fence of the wake
 * protocol (src/event/waiter.h) before the producer reads the consumer's
 * waiter flags. On x86 it costs what a release store plus that fence would. */
static inline void fy_submit_put(struct fy_submit_slot *slot, uint64_t word, uint64_t sequence, uint64_t timestamp_ns)
{
    atomic_store_explicit(&slot->sequence, sequence, memory_order_relaxed);
    atomic_store_explicit(&slot->timestamp_ns, timestamp_ns, memory_order_relaxed);
    atomic_exchange_explicit(&slot->word, word, memory_order_seq_cst);
}

/* Asks for a line in exclusive state ahead of a store to it. Each submit
 * slot is its own line, last read by the consumer, so a put's store misses
 * and its fence waits for that miss; fetched one send ahead, a stream of
 * puts overlaps those misses instead of paying them one after another. */
static inline void fy_prefetch_for_write(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

/* Whether the submit ring holds an entry at pos (a peek, nothing taken). */
static inline int fy_submit_ready(struct fy_submit_slot *ring, uint64_t mask, unsigned log2size, uint64_t pos,
                                  memory_order order)
{
    return fy_entry_is(atomic_load_explicit(&ring[pos & mask].word, order), pos, log2size);
}

/* Producer side of the return ring: publish one entry at pos. */
static inline void fy_ring_put(_Atomic uint64_t *ring, uint64_t mask, unsigned log2size, uint64_t pos,
                               uint32_t chunk, uint32_t size)
{
    atomic_store_explicit(&ring[pos & mask], fy_entry_make(pos, log2size, 0, chunk, size), memory_order_release);
}

/* Consumer side of the submit ring: 1 and *entry when an entry was taken,
 * 0 when empty, -1 when the entry at head was written by another publisher
 * generation than tag (the connection changed hands: refresh first).
 * head_shared: the producer may take the oldest entry back (DROP_OLDEST), so
 * head moves with a CAS, retried when the producer won; otherwise (BLOCK)
 * only the consumer writes head and a release store does, which spares a
 * locked instruction on every take. with_call: also read the call fields
 * (request-response); a constant at every call site. */
static inline int fy_submit_take(struct fy_submit_slot *ring, _Atomic uint64_t *head, uint64_t mask,
                                 unsigned log2size, uint32_t tag, int head_shared, uint64_t *entry,
                                 struct fy_sample_meta *m, int with_call)
{
    /* Relaxed: head is written by this consumer, except for the producer's
     * CAS, which the CAS below detects. */
    uint64_t h = atomic_load_explicit(head, memory_order_relaxed);
    for (;;) {
        struct fy_submit_slot *slot = &ring[h & mask];
        uint64_t e = atomic_load_explicit(&slot->word, memory_order_acquire);
        if (!fy_entry_is(e, h, log2size))
            return 0;
        if (fy_entry_tag(e) != (tag & 0xffu))
            return -1;
        /* Read before the CAS: once head moves on, the producer may reuse
         * the slot. Should it have taken the slot back already, the CAS
         * fails and what was read here is dropped. */
        m->sequence = atomic_load_explicit(&slot->sequence, memory_order_relaxed);
        m->timestamp_ns = atomic_load_explicit(&slot->timestamp_ns, memory_order_relaxed);
        if (with_call) {
            m->call_id = atomic_load_explicit(&slot->call_id, memory_order_relaxed);
            m->reply_slot = atomic_load_explicit(&slot->reply_slot, memory_order_relaxed);
            m->reply_gen = atomic_load_explicit(&slot->reply_gen, memory_order_relaxed);
            m->flags = atomic_load_explicit(&slot->flags, memory_order_relaxed);
        }
        if (!head_shared) {
            atomic_store_explicit(head, h + 1, memory_order_release);
            *entry = e;
            return 1;
        }
        if (atomic_compare_exchange_weak_explicit(head, &h, h + 1, memory_order_release, memory_order_relaxed)) {
            *entry = e;
            return 1;
        }
        /* h now holds the new head: the producer took the oldest entry. */
    }
}

/* Consumer side of the return ring (single consumer, no CAS): the entry at
 * pos, if written. An entry whose low 32 bits are not gen was meant for an
 * earlier publisher of the slot (a subscriber released into the ring before
 * it noticed the change): it counts as not written yet, so the position
 * waits for the subscriber's real entry instead of being consumed by the
 * stale one. */
static inline int fy_ret_ready(uint64_t entry, uint64_t pos, unsigned log2size, uint32_t gen)
{
    return fy_entry_is(entry, pos, log2size) && fy_entry_size(entry) == gen;
}

static inline unsigned fy_log2(uint64_t pow2)
{
    unsigned n = 0;
    while ((1ull << n) < pow2)
        n++;
    return n;
}

static inline uint64_t fy_pow2_at_least(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

#endif
