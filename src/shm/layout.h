/*
 * The shared-memory layout, version 2. docs/architecture.md draws it out.
 *
 * Nothing here appears in a public header. Every structure holds offsets and
 * indices, never pointers, because each process maps a segment at its own
 * address. Everything read from a segment is validated before use: a peer may
 * be buggy or hostile (see each reader).
 *
 * Service segment (ferry.D.s.<hash>), mapped read-write by every port:
 *
 *   fy_svc_header   identity, static config, derived geometry,
 *                   the service lock, sub_gen (own cache line)
 *   fy_slot[max_publishers]    one cache line each
 *   fy_slot[max_subscribers]   one cache line each
 *   fy_conn[max_publishers][max_subscribers]
 *       line 0   written by the publisher   (link, dropped): rarely
 *       line 1   written by the subscriber  (head): every take
 *       fy_submit_slot submit[sub_ring_size]   publisher -> subscriber, one
 *                line each: the hand-off word and the sample's metadata
 *       uint64 ret[ret_ring_size]           subscriber -> publisher entries
 *
 * Event service segment: the same header and slots (publisher slots hold
 * notifiers, subscriber slots listeners), then per listener a bitset of
 * pending event ids, (max_event_id + 2) bits rounded up to cache lines; the
 * last id bit stands for FERRY_EVENT_PEER_GONE.
 *
 * State service segment: the same header and slots (the one publisher slot
 * holds the writer, subscriber slots the readers, each with its hazard),
 * then a state header (current = version << 16 | buffer index, written by
 * the writer; the count of waiting readers; the persistence directory) and
 * max_readers + 2 + FY_STATE_SPARES
 * buffers, each a
 * 64-byte fy_state_buffer header followed by max_payload bytes.
 *
 * Publisher data segment (ferry.D.s.<hash>.p<slot>.<gen>), written by its
 * publisher only and mapped read-only by subscribers:
 *
 *   fy_data_header       (page 0)
 *   chunk[chunk_count]   at FY_DATA_START + i * chunk_stride: the payload
 *                        only (payload_offset 0); a sample's metadata
 *                        travels in its submit slot, not next to the data
 */
#ifndef FY_SHM_LAYOUT_H
#define FY_SHM_LAYOUT_H

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ferry/ferry.h"

#define FY_LINE 64
#define FY_LAYOUT_VERSION 3u /* 3: FY_CALL_FAILED (an older library would read it as a normal end) */
#define FY_MAGIC_SERVICE 0x7673797272656666ull /* "ffervsyv" little-endian tag */
#define FY_MAGIC_DATA 0x6164797272656666ull
#define FY_MAGIC_NODE 0x6f6e797272656666ull
#define FY_DATA_START 4096u

/* Bounds that keep every derived size sane (and indices within 16 bits). */
#define FY_MAX_PUBLISHERS 64u
#define FY_MAX_SUBSCRIBERS 256u
#define FY_MAX_QUEUE 4096u
#define FY_MAX_HISTORY 4096u
#define FY_MAX_LOANS 1024u
#define FY_MAX_CHUNKS 65535u
#define FY_MAX_PAYLOAD 0xffff0000ull /* sizes travel in 32 bits */
#define FY_MAX_EVENT_ID 4095u

/* Request-response services are two pub/sub channels with this pattern:
 * "<name>#req" (clients publish, servers subscribe) and "<name>#resp"
 * (servers publish, clients subscribe); '#' cannot appear in user names. */
#define FY_PATTERN_REQRES 4u

enum fy_slot_state {
    FY_SLOT_FREE = 0,
    FY_SLOT_ACTIVE = 1,
    /* A publisher that has gone while a subscriber still has unread samples
     * of it queued: its data segment stays until those are read. */
    FY_SLOT_ORPHAN = 2
};

/* Static configuration: written by the creator before the segment is
 * published under its final name, never changed afterwards. */
struct fy_svc_config {
    uint32_t pattern;
    uint32_t overflow;
    uint64_t max_payload;
    uint64_t alignment;
    uint32_t history;
    uint32_t queue_capacity;
    uint32_t max_publishers;
    uint32_t max_subscribers;
    uint32_t max_loans;
    uint32_t max_borrowed;
    uint32_t max_event_id; /* events only */
    uint32_t reserved;
    char type_name[FERRY_TYPE_NAME_MAX + 1];
};

/* Geometry derived from the config by fy_geometry_compute(); stored so that
 * tools can read it, but every opener recomputes it and compares. */
struct fy_svc_geometry {
    uint32_t sub_ring_size; /* power of two >= queue_capacity */
    uint32_t ret_ring_size; /* power of two >= queue_capacity + max_borrowed */
    uint32_t chunk_count;   /* subscribers * (queue + borrowed) + history + loans */
    uint32_t reserved;
    uint64_t chunk_stride;
    uint64_t payload_offset; /* within a chunk */
    uint64_t data_size;      /* bytes of a publisher data segment */
    uint64_t off_pub_slots;
    uint64_t off_sub_slots;
    uint64_t off_conns;
    uint64_t conn_stride;
    uint64_t total_size; /* bytes of the service segment */
};

struct fy_svc_header {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t header_size;
    char name[FERRY_SERVICE_NAME_MAX + 1];
    struct fy_svc_config config;
    struct fy_svc_geometry geo;
    uint64_t creator_node;
    /* Serialises structural changes (claiming and freeing slots, connecting,
     * removal). Robust and process-shared: a holder that dies hands it on with
     * EOWNERDEAD, and every structure it guards is re-derived from the slots.
     * Never taken on the send/take path. */
    alignas(FY_LINE) pthread_mutex_t lock;
    uint32_t removed; /* under lock: set once the service is being removed */
    /* Bumped (release) whenever a subscriber slot changes; publishers compare
     * it (acquire) on every send. Own line: written rarely, read constantly. */
    alignas(FY_LINE) _Atomic uint64_t sub_gen;
    char pad_sub_gen[FY_LINE - sizeof(uint64_t)];
};

/* How a waiting port (subscriber, listener) is woken; see src/event/waiter.h. */
enum fy_wait_flags {
    FY_WAIT_ASLEEP = 1u, /* the waiter is (about to be) in futex_wait */
    FY_WAIT_FD = 2u,     /* the waiter is watched through its signal socket */
    /* Bits 8..31: the low 24 bits of the futex value the waiter sleeps on,
     * set with ASLEEP, so that a waker can tell this sleep from the next. */
    FY_WAIT_GEN_SHIFT = 8u
};

struct fy_waiter_shm {
    _Atomic uint32_t futex;    /* bumped by a waker right before FUTEX_WAKE */
    _Atomic uint32_t flags;    /* enum fy_wait_flags; the waiter sets them, a waker that has
                                  woken it clears ASLEEP (src/event/waiter.h) */
    _Atomic uint32_t signaled; /* FD mode: a datagram is on its way (CAS 0 -> 1 by wakers) */
    uint32_t reserved;
};

/* A port slot (publisher, subscriber, notifier, listener). Written under
 * the service lock, except epoch and waiter. */
struct fy_slot {
    _Atomic uint32_t state; /* enum fy_slot_state */
    _Atomic uint32_t gen;   /* bumped each time the slot is claimed; never 0 once used */
    _Atomic uint64_t owner; /* node id that owns the port; 0 when free */
    _Atomic uint64_t port_id;
    /* Subscribers and listeners: bumped (release) by anyone who changes this
     * port's connections; the port compares it on every take. */
    _Atomic uint64_t epoch;
    struct fy_waiter_shm waiter; /* subscribers and listeners */
    /* State readers: the buffer word (version << 16 | index) this reader is
     * reading, 0 when none (a hazard the writer must not overwrite). */
    _Atomic uint64_t hazard;
    char pad[FY_LINE - 56];
};

/* Connection between publisher slot p and subscriber slot s. */
struct fy_conn {
    /* Line 0: written by the publisher when it connects and when it drops;
     * the submit tail and return head stay private to the publisher, so this
     * line is read-mostly and does not bounce on the hot path. */
    _Atomic uint64_t link;    /* (pub gen << 32) | sub gen once connected; 0 otherwise */
    _Atomic uint64_t dropped; /* samples taken back from a full queue (DROP_OLDEST) */
    char pad0[FY_LINE - 16];
    /* Line 1: written by the subscriber (and by the publisher only when it
     * takes back the oldest entry of a full queue, with a CAS). The return
     * ring's positions are private to each side: both start at 0 on link. */
    _Atomic uint64_t head; /* next submit position to consume */
    char pad1[FY_LINE - 8];
    /* Then: struct fy_submit_slot submit[sub_ring_size];
     *       _Atomic uint64_t ret[ret_ring_size]; (from a line boundary) */
};

/* One queued sample, one cache line: the subscriber learns everything about
 * it from the line that hands it over, so a take costs one cache miss and
 * the payload is touched only by the user. The publisher writes the
 * metadata first and the word last (release); the subscriber reads the
 * word (acquire), then the metadata, then claims the position: with a CAS
 * on head under DROP_OLDEST, which fails if the publisher took the slot back
 * meanwhile, with a store under BLOCK, where only the subscriber moves head. */
struct fy_submit_slot {
    _Atomic uint64_t word; /* turn | generation tag | chunk | size (queue/ring.h) */
    _Atomic uint64_t sequence;
    _Atomic uint64_t timestamp_ns;
    /* Request-response only: which call, where the response goes. */
    _Atomic uint64_t call_id;
    _Atomic uint32_t reply_slot; /* the client's response-subscriber slot */
    _Atomic uint32_t reply_gen;
    _Atomic uint32_t flags; /* FY_CALL_* */
    char pad[FY_LINE - 44];
};

struct fy_data_header {
    uint64_t magic;
    uint32_t slot;
    uint32_t gen;
    uint64_t chunk_count;
    uint64_t chunk_stride;
    uint64_t payload_offset;
    uint64_t size;
};

enum fy_call_flags {
    FY_CALL_LAST = 1u, /* the last response of its call */
    FY_CALL_EMPTY = 2u, /* an end-of-stream marker without payload */
    FY_CALL_FAILED = 4u /* with LAST | EMPTY: the server gave up on the call (ferry_server_abort) */
};

/* State services. */
#define FY_STATE_PATH_MAX 255
/* Buffers beyond the max_readers + 2 that correctness needs: one scan of the
 * readers' hazards then yields several free buffers, so the writer reads the
 * readers' lines (and makes their next hazard store miss) only every few
 * publishes. */
#define FY_STATE_SPARES 4u
#define FY_STATE_LINE_SIZES 14u
struct fy_state_header {
    _Atomic uint64_t current; /* version << 16 | buffer index; 0: nothing published */
    /* The value sizes of buffers 0..13, in current's line: a reader learns
     * version, buffer and size from one cache line (buffers past 13 have
     * theirs in their fy_state_buffer only). Written by the writer before
     * the switch to that buffer; stable while a reader's hazard names it. */
    _Atomic uint32_t sizes[FY_STATE_LINE_SIZES];
    /* Bit r: reader slot r is inside ferry_state_wait. The writer looks at
     * the slot lines (waiter flags) of those readers only: the slot lines
     * also hold the hazards, and reading every one on every publish would
     * make every reader's next hazard store a cache miss. Freeing a reader
     * slot (its close, or cleanup after its death) clears its bit. */
    _Atomic uint64_t waiting[FY_MAX_SUBSCRIBERS / 64];
    char pad_waiting[FY_LINE - FY_MAX_SUBSCRIBERS / 8];
    char persist_dir[FY_STATE_PATH_MAX + 1]; /* "" when not persisted */
};

struct fy_state_buffer {
    uint64_t version;
    uint64_t size;
    uint64_t checksum; /* FNV-1a 64 of the data (persisted services) */
    char pad[FY_LINE - 24];
};

/* Node file (ferry.D.n.<id>): written once by its node before it becomes
 * visible; the node holds an exclusive record lock on it while alive. */
struct fy_node_record {
    uint64_t magic;
    uint64_t id;
    int64_t pid;
    int64_t uid;
    uint64_t created_ns;
    char name[FERRY_NODE_NAME_MAX + 1];
};

_Static_assert(sizeof(struct fy_slot) == FY_LINE, "a slot is one cache line");
_Static_assert(sizeof(struct fy_conn) == 2 * FY_LINE, "a connection header is two cache lines");
_Static_assert(sizeof(struct fy_submit_slot) == FY_LINE, "a submit slot is one cache line");
_Static_assert(offsetof(struct fy_state_header, waiting) == FY_LINE, "current and the sizes fill one line");
_Static_assert(FY_MAX_SUBSCRIBERS % 64 == 0 && FY_MAX_SUBSCRIBERS / 8 <= FY_LINE, "one line of waiting bits");

static inline struct fy_state_header *fy_state_header_at(void *base, const struct fy_svc_geometry *g)
{
    return (struct fy_state_header *)((char *)base + g->off_conns);
}

/* Accessors take the port's private, validated copy of the geometry, never
 * the one in shared memory (which a peer could change after validation). */
static inline struct fy_slot *fy_pub_slot(void *base, const struct fy_svc_geometry *g, uint32_t p)
{
    return (struct fy_slot *)((char *)base + g->off_pub_slots) + p;
}

static inline struct fy_slot *fy_sub_slot(void *base, const struct fy_svc_geometry *g, uint32_t s)
{
    return (struct fy_slot *)((char *)base + g->off_sub_slots) + s;
}

static inline struct fy_conn *fy_conn_at(void *base, const struct fy_svc_geometry *g, uint32_t max_subscribers,
                                         uint32_t p, uint32_t s)
{
    return (struct fy_conn *)((char *)base + g->off_conns + ((uint64_t)p * max_subscribers + s) * g->conn_stride);
}

/* Events: the pending-id bitset of listener slot s. */
static inline _Atomic uint64_t *fy_event_bits(void *base, const struct fy_svc_geometry *g, uint32_t s)
{
    return (_Atomic uint64_t *)((char *)base + g->off_conns + (uint64_t)s * g->conn_stride);
}

static inline struct fy_submit_slot *fy_conn_submit(struct fy_conn *c) { return (struct fy_submit_slot *)(c + 1); }

static inline _Atomic uint64_t *fy_conn_ret(struct fy_conn *c, const struct fy_svc_geometry *g)
{
    return (_Atomic uint64_t *)(fy_conn_submit(c) + g->sub_ring_size);
}

#endif
