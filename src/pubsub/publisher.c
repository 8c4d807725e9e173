/*
 * The publisher: owns its data segment and every reference count on its
 * chunks. Reference counts, free list, loans and history live in private
 * memory, so no subscriber can corrupt them; subscribers only hand chunk
 * indices back through their return rings, and each index is checked
 * against what this publisher actually delivered to that connection.
 *
 * A chunk's count is: 1 while loaned + 1 per connection it is queued on or
 * held by + 1 while in history. At 0 it goes back to the free stack (LIFO,
 * so the same few chunks stay hot in cache).
 */
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/error.h"
#include "core/node.h"
#include "event/waiter.h"
#include "os/os.h"
#include "pubsub/internal.h"
#include "pubsub/pubsub.h"
#include "queue/ring.h"
#include "service/registry.h"
#include "service/service.h"

/* Private view of one connection to subscriber slot s. */
struct pub_conn {
    /* What every put touches first, together. */
    struct fy_submit_slot *submit;
    _Atomic uint64_t *ret;
    struct fy_waiter_shm *waiter; /* the subscriber's, for waking it */
    uint8_t *held;                /* [chunk_count]: delivered here and not yet returned */
    uint32_t *shadow;             /* [sub_ring_size]: chunk at each submit slot */
    uint64_t tail;                /* next submit position */
    uint64_t ret_head;            /* next return position */
    uint32_t outstanding;
    int connected;
    uint32_t sub_gen;
    uint64_t head_cache; /* last head read from the subscriber's line */
    uint64_t sub_port_id;
    struct fy_slot *sub_slot;
    struct fy_conn *shm;
};

/* A sent sample's size and metadata, kept to queue it again from history
 * (written only when the service keeps history). */
struct pub_stamp {
    uint32_t size;
    uint64_t sequence;
    uint64_t timestamp_ns;
};

struct pub_loan {
    void *payload;
    uint32_t chunk;
    uint32_t size;
};

struct ferry_pub {
    struct fy_port_link link; /* first: the node closes ports through it */
    /* The data path's fields, together and copied out of the service's
     * configuration and geometry (validated at open). */
    struct pub_loan *loans;
    uint32_t nloans, max_loans;
    uint32_t *free_stack;
    uint32_t nfree;
    uint32_t *refs;
    char *chunk0; /* payload of chunk 0 */
    uint64_t stride;
    uint64_t max_payload;
    const _Atomic uint64_t *sub_gen_now; /* in the service header */
    uint64_t seen_sub_gen;
    struct pub_conn *conns; /* [max_subscribers] */
    uint32_t *active;       /* connected subscriber slots */
    uint32_t nactive;
    struct pub_conn *solo; /* the connection when there is exactly one */
    uint32_t queue_cap, conn_limit;
    uint32_t chunk_count;
    uint32_t gen;
    uint64_t seq, sent;
    uint64_t sub_mask, ret_mask;
    unsigned sub_log2, ret_log2;
    uint32_t prefetch_ahead; /* submit slots; 0: none (see put) */
    int block;               /* FERRY_OVERFLOW_BLOCK */
    int timestamps;
    uint32_t history_cap;
    ferry_node *node;
    struct fy_service svc;
    uint32_t slot;
    uint64_t id;
    int data_fd;
    char *data;
    uint32_t *history;        /* ring of the newest chunks, oldest at hist_first */
    struct pub_stamp *stamps; /* [chunk_count]: what the last send of each chunk said */
    uint32_t hist_count, hist_first;
    uint32_t rr; /* round robin of fy_pub_send_any */
};

static int refresh(ferry_pub *pub);

static void unref(ferry_pub *pub, uint32_t chunk)
{
    if (--pub->refs[chunk] == 0)
        pub->free_stack[pub->nfree++] = chunk;
}

/* Takes back what a subscriber returned. */
__attribute__((noinline)) static void drain(ferry_pub *pub, struct pub_conn *pc)
{
    uint64_t pos = pc->ret_head;
    for (;;) {
        uint64_t e = atomic_load_explicit(&pc->ret[pos & pub->ret_mask], memory_order_acquire);
        if (!fy_ret_ready(e, pos, pub->ret_log2, pub->gen))
            break;
        pos++;
        uint32_t chunk = fy_entry_chunk(e);
        if (chunk < pub->chunk_count && pc->held[chunk]) {
            pc->held[chunk] = 0;
            pc->outstanding--;
            unref(pub, chunk);
        }
        /* Otherwise the subscriber returned something it was never given:
         * ignored, so a buggy peer cannot free a chunk someone else reads. */
    }
    pc->ret_head = pos;
}

static void drain_all(ferry_pub *pub)
{
    for (uint32_t i = 0; i < pub->nactive; i++)
        drain(pub, &pub->conns[pub->active[i]]);
}

static void disconnect(ferry_pub *pub, struct pub_conn *pc)
{
    for (uint32_t c = 0; c < pub->svc.geo.chunk_count; c++) {
        if (pc->held[c]) {
            pc->held[c] = 0;
            unref(pub, c);
        }
    }
    pc->outstanding = 0;
    pc->connected = 0;
}

/* Queues chunk on pc. call: the call fields (request-response), or NULL.
 * The slot's exchange is the wake protocol's fence before fy_wake reads
 * the subscriber's flags. */
static inline void put(ferry_pub *pub, struct pub_conn *pc, uint32_t chunk, uint32_t size, uint64_t sequence,
                       uint64_t timestamp_ns, const struct fy_sample_meta *call)
{
    uint64_t t = pc->tail;
    struct fy_submit_slot *slot = &pc->submit[t & pub->sub_mask];
    if (call)
        fy_submit_put_call(slot, call);
    fy_submit_put(slot, fy_entry_make(t, pub->sub_log2, pub->gen, chunk, size), sequence, timestamp_ns);
    pc->shadow[t & pub->sub_mask] = chunk;
    pc->tail = t + 1;
    /* Half a ring ahead, at most 8 slots: far enough for the line to arrive
     * before the put that needs it (a cross-core miss costs several sends),
     * and never the next slot, which a subscriber that keeps up is polling:
     * taking that line from it would slow it down. Rings of 2 slots have no
     * such slot. */
    if (pub->prefetch_ahead)
        fy_prefetch_for_write(&pc->submit[(pc->tail + pub->prefetch_ahead) & pub->sub_mask]);
    pc->held[chunk] = 1;
    pc->outstanding++;
    pub->refs[chunk]++;
}

/* Takes returns back right after a hand-off, once the connection's queue
 * is full by our count: the subscriber's return line is a cache miss, and
 * here it overlaps with the sample's flight instead of delaying the next
 * send (where has_room would otherwise drain). */
static inline void reclaim_after_put(ferry_pub *pub, struct pub_conn *pc)
{
    if (pc->outstanding >= pub->queue_cap)
        drain(pub, pc);
}

/* One hand-off to connection pc (known to have room): queue the chunk,
 * wake the subscriber if it sleeps, take back what it returned. */
static inline void hand_over(ferry_pub *pub, struct pub_conn *pc, uint32_t chunk, uint32_t size, uint64_t sequence,
                             uint64_t timestamp_ns, const struct fy_sample_meta *call)
{
    put(pub, pc, chunk, size, sequence, timestamp_ns, call);
    fy_wake(pc->waiter, pub->svc.domain, pc->sub_port_id);
    reclaim_after_put(pub, pc);
}

static int make_room(ferry_pub *pub, struct pub_conn *pc);

/* Publish-subscribe: make room on pc as the overflow policy says (BLOCK
 * made sure of it before), then hand over. */
static inline void offer(ferry_pub *pub, struct pub_conn *pc, uint32_t chunk, uint32_t size, uint64_t sequence,
                         uint64_t timestamp_ns)
{
    if (!pub->block && pc->outstanding >= pub->queue_cap && !make_room(pub, pc))
        return;
    hand_over(pub, pc, chunk, size, sequence, timestamp_ns, NULL);
}

/* Under the service lock: resets the shared rings and links to subscriber
 * generation sub_gen, then queues history. */
static int connect_sub(ferry_pub *pub, uint32_t s, uint32_t sub_gen)
{
    struct pub_conn *pc = &pub->conns[s];
    const struct fy_svc_geometry *g = &pub->svc.geo;
    if (!pc->held)
        pc->held = calloc(g->chunk_count, 1);
    if (!pc->shadow)
        pc->shadow = calloc(g->sub_ring_size, sizeof *pc->shadow);
    if (!pc->held || !pc->shadow)
        return fy_fail(FERRY_ENOMEM, "publisher on \"%s\": out of memory", pub->svc.name);
    pc->shm = fy_conn_at(pub->svc.hdr, g, pub->svc.cfg.max_subscribers, pub->slot, s);
    pc->sub_slot = fy_sub_slot(pub->svc.hdr, g, s);
    pc->waiter = &pc->sub_slot->waiter;
    pc->sub_port_id = atomic_load_explicit(&pc->sub_slot->port_id, memory_order_relaxed);
    pc->submit = fy_conn_submit(pc->shm);
    pc->ret = fy_conn_ret(pc->shm, g);
    atomic_store_explicit(&pc->shm->link, 0, memory_order_relaxed);
    atomic_store_explicit(&pc->shm->head, 0, memory_order_relaxed);
    atomic_store_explicit(&pc->shm->dropped, 0, memory_order_relaxed);
    for (uint32_t i = 0; i < g->sub_ring_size; i++)
        atomic_store_explicit(&pc->submit[i].word, 0, memory_order_relaxed);
    for (uint32_t i = 0; i < g->ret_ring_size; i++)
        atomic_store_explicit(&pc->ret[i], 0, memory_order_relaxed);
    pc->tail = pc->head_cache = pc->ret_head = 0;
    pc->outstanding = 0;
    pc->sub_gen = sub_gen;
    pc->connected = 1;
    /* History first, newest last, at most what the queue holds. */
    uint32_t n = pub->hist_count < pub->queue_cap ? pub->hist_count : pub->queue_cap;
    for (uint32_t k = pub->hist_count - n; k < pub->hist_count; k++) {
        uint32_t chunk = pub->history[(pub->hist_first + k) % pub->history_cap];
        const struct pub_stamp *st = &pub->stamps[chunk];
        put(pub, pc, chunk, st->size, st->sequence, st->timestamp_ns, NULL);
    }
    /* Release: the resets and the history entries are visible to the
     * subscriber once it reads this link (acquire). */
    atomic_store_explicit(&pc->shm->link, fy_link_make(pub->gen, sub_gen), memory_order_release);
    atomic_fetch_add_explicit(&pc->sub_slot->epoch, 1, memory_order_seq_cst);
    fy_wake(&pc->sub_slot->waiter, pub->svc.domain, pc->sub_port_id);
    return FERRY_OK;
}

/* Re-reads the subscriber slots: takes back what departed subscribers held
 * and connects new ones. */
static int refresh(ferry_pub *pub)
{
    int rc = fy_service_lock(&pub->svc);
    if (rc)
        return rc;
    pub->seen_sub_gen = atomic_load_explicit(&pub->svc.hdr->sub_gen, memory_order_acquire);
    pub->nactive = 0;
    for (uint32_t s = 0; s < pub->svc.cfg.max_subscribers && rc == FERRY_OK; s++) {
        struct fy_slot *ss = fy_sub_slot(pub->svc.hdr, &pub->svc.geo, s);
        int active = atomic_load_explicit(&ss->state, memory_order_acquire) == FY_SLOT_ACTIVE;
        uint32_t gen = atomic_load_explicit(&ss->gen, memory_order_relaxed);
        struct pub_conn *pc = &pub->conns[s];
        if (pc->connected && (!active || gen != pc->sub_gen))
            disconnect(pub, pc);
        if (active && !pc->connected)
            rc = connect_sub(pub, s, gen);
        if (pc->connected)
            pub->active[pub->nactive++] = s;
    }
    if (rc)
        /* The scan stopped early: look again at the next send, so that
         * subscribers after the failing one get back into active[]. */
        pub->seen_sub_gen--;
    pub->solo = pub->nactive == 1 ? &pub->conns[pub->active[0]] : NULL;
    fy_service_unlock(&pub->svc);
    return rc;
}

static inline int refresh_if_needed(ferry_pub *pub)
{
    /* Acquire pairs with the release in sub_slot_free / join. */
    if (atomic_load_explicit(pub->sub_gen_now, memory_order_acquire) != pub->seen_sub_gen)
        return refresh(pub);
    return FERRY_OK;
}

/* Whether connection pc can take one more sample now. */
static int has_room(ferry_pub *pub, struct pub_conn *pc)
{
    /* Fewer than queue_cap outstanding means the ring has room: no need to
     * read the subscriber's head line (it stays in the subscriber's cache). */
    if (pc->outstanding < pub->queue_cap)
        return 1;
    drain(pub, pc);
    if (pc->outstanding < pub->queue_cap)
        return 1;
    if (pc->tail - pc->head_cache >= pub->queue_cap) {
        uint64_t h = atomic_load_explicit(&pc->shm->head, memory_order_acquire);
        if (h > pc->tail)
            return 0; /* nonsense from a peer: full until it behaves (head_cache stays) */
        pc->head_cache = h;
        if (pc->tail - pc->head_cache >= pub->queue_cap)
            return 0;
    }
    if (pc->outstanding >= pub->conn_limit) {
        drain(pub, pc);
        if (pc->outstanding >= pub->conn_limit)
            return 0;
    }
    return 1;
}

/* DROP_OLDEST: make room by taking back the oldest queued entries. */
__attribute__((noinline)) static int make_room(ferry_pub *pub, struct pub_conn *pc)
{
    if (pc->outstanding < pub->queue_cap)
        return 1; /* see has_room */
    drain(pub, pc);
    if (pc->outstanding < pub->queue_cap)
        return 1;
    if (pc->tail - pc->head_cache >= pub->queue_cap) {
        uint64_t h = atomic_load_explicit(&pc->shm->head, memory_order_acquire);
        for (;;) {
            if (h > pc->tail || pc->tail - h > pub->queue_cap) {
                /* Not a position this ring can be at: a peer wrote
                 * nonsense. Skip this subscriber rather than loop over the gap. */
                atomic_fetch_add_explicit(&pc->shm->dropped, 1, memory_order_relaxed);
                return 0;
            }
            if (pc->tail - h < pub->queue_cap)
                break;
            if (atomic_compare_exchange_strong_explicit(&pc->shm->head, &h, h + 1, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                /* The chunk comes from the private shadow, not from shared memory. */
                uint32_t victim = pc->shadow[h & pub->sub_mask];
                if (pc->held[victim]) {
                    pc->held[victim] = 0;
                    pc->outstanding--;
                    unref(pub, victim);
                }
                atomic_fetch_add_explicit(&pc->shm->dropped, 1, memory_order_relaxed);
                h++;
            }
        }
        pc->head_cache = h;
    }
    if (pc->outstanding >= pub->conn_limit) {
        drain(pub, pc);
        if (pc->outstanding >= pub->conn_limit) {
            /* The subscriber holds more than it may: it is not following the
             * protocol. Count the sample as lost for it. */
            atomic_fetch_add_explicit(&pc->shm->dropped, 1, memory_order_relaxed);
            return 0;
        }
    }
    return 1;
}

static inline struct pub_loan *find_loan(ferry_pub *pub, const void *payload)
{
    for (uint32_t i = 0; i < pub->nloans; i++)
        if (pub->loans[i].payload == payload)
            return &pub->loans[i];
    return NULL;
}

static void end_loan(ferry_pub *pub, struct pub_loan *l)
{
    uint32_t chunk = l->chunk;
    *l = pub->loans[--pub->nloans];
    unref(pub, chunk);
}

void ferry_pubsub_opts_init(ferry_pubsub_opts *o);

static int pub_open(ferry_pub **out, ferry_node *node, const char *service, const struct fy_svc_config *cfgp,
                    int timestamps, int listed);

/* Leaves the service (retiring the slot) and frees everything private; for
 * close and for a failed open alike. */
static void pub_destroy(ferry_pub *pub)
{
    uint64_t data_size = pub->svc.geo.data_size;
    uint32_t max_subs = pub->svc.cfg.max_subscribers;
    fy_service_leave(&pub->svc, FY_PORT_PUB, pub->slot, pub->gen);
    if (pub->data)
        fy_os_unmap(pub->data, data_size);
    fy_os_close(pub->data_fd);
    for (uint32_t s = 0; pub->conns && s < max_subs; s++) {
        free(pub->conns[s].held);
        free(pub->conns[s].shadow);
    }
    free(pub->conns);
    free(pub->active);
    free(pub->refs);
    free(pub->free_stack);
    free(pub->loans);
    free(pub->history);
    free(pub->stamps);
    free(pub);
}

int ferry_pub_open(ferry_pub **out, ferry_node *node, const char *service, const ferry_pubsub_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_pub_open: pub is NULL");
    *out = NULL;
    if (!node)
        return fy_fail(FERRY_EINVAL, "ferry_pub_open: node is NULL: open one with ferry_node_open");
    int rc = fy_service_name_check(service);
    struct fy_svc_config cfg;
    if (rc || (rc = fy_config_from_opts(&cfg, opts)) != FERRY_OK)
        return rc;
    return pub_open(out, node, service, &cfg, opts ? opts->timestamps != 0 : 0, 1);
}

int fy_pub_open_cfg(ferry_pub **out, ferry_node *node, const char *name, const struct fy_svc_config *cfg)
{
    *out = NULL;
    /* Requests and responses expose no timestamp: no clock read per call. */
    return pub_open(out, node, name, cfg, 0, 0);
}

static int pub_open(ferry_pub **out, ferry_node *node, const char *service, const struct fy_svc_config *cfgp,
                    int timestamps, int listed)
{
    struct fy_svc_config cfg = *cfgp;
    int rc;
    ferry_pub *pub = calloc(1, sizeof *pub);
    if (!pub)
        return fy_fail(FERRY_ENOMEM, "ferry_pub_open: out of memory");
    pub->node = node;
    pub->id = fy_os_random64();
    pub->timestamps = timestamps;
    pub->data_fd = -1;
    pub->link.next = pub->link.prev = &pub->link; /* unlisted until added */
    struct fy_opener who = fy_node_opener(node);
    rc = fy_service_join(&pub->svc, &who, service, &cfg, FY_PORT_PUB, pub->id, &pub->slot, &pub->gen);
    if (rc) {
        free(pub);
        return rc;
    }
    const struct fy_svc_geometry *g = &pub->svc.geo;
    const struct fy_svc_config *c = &pub->svc.cfg;
    pub->sub_log2 = fy_log2(g->sub_ring_size);
    pub->sub_mask = g->sub_ring_size - 1;
    pub->prefetch_ahead = g->sub_ring_size >= 4 ? (g->sub_ring_size / 2 < 8 ? g->sub_ring_size / 2 : 8) : 0;
    pub->ret_log2 = fy_log2(g->ret_ring_size);
    pub->ret_mask = g->ret_ring_size - 1;
    pub->queue_cap = c->queue_capacity;
    pub->conn_limit = c->queue_capacity + c->max_borrowed;
    pub->max_loans = c->max_loans;
    pub->max_payload = c->max_payload;
    pub->chunk_count = (uint32_t)g->chunk_count;
    pub->stride = g->chunk_stride;
    pub->block = c->overflow == FERRY_OVERFLOW_BLOCK;
    pub->history_cap = c->history;
    pub->sub_gen_now = &pub->svc.hdr->sub_gen;
    pub->conns = calloc(c->max_subscribers, sizeof *pub->conns);
    pub->active = calloc(c->max_subscribers, sizeof *pub->active);
    pub->refs = calloc(g->chunk_count, sizeof *pub->refs);
    pub->free_stack = calloc(g->chunk_count, sizeof *pub->free_stack);
    pub->loans = calloc(c->max_loans, sizeof *pub->loans);
    pub->history = calloc(c->history ? c->history : 1, sizeof *pub->history);
    pub->stamps = calloc(c->history ? g->chunk_count : 1, sizeof *pub->stamps);
    if (!pub->conns || !pub->active || !pub->refs || !pub->free_stack || !pub->loans || !pub->history ||
        !pub->stamps) {
        rc = fy_fail(FERRY_ENOMEM, "ferry_pub_open: out of memory");
        goto fail;
    }
    /* Chunk 0 on top of the stack: the first loans reuse the same memory. */
    for (uint32_t i = 0; i < g->chunk_count; i++)
        pub->free_stack[i] = g->chunk_count - 1 - i;
    pub->nfree = g->chunk_count;

    char path[FY_PATH_MAX];
    fy_path_pub_data(path, pub->svc.domain, pub->svc.hash, pub->slot, pub->gen);
    fy_os_unlink(path); /* a leftover of an earlier holder of this slot generation */
    pub->data_fd = fy_os_create(path, who.mode, who.group);
    if (pub->data_fd < 0) {
        rc = pub->data_fd;
        goto fail;
    }
    if ((rc = fy_os_reserve(pub->data_fd, g->data_size, path)) != FERRY_OK)
        goto fail;
    pub->data = fy_os_map(pub->data_fd, g->data_size, 1);
    if (!pub->data) {
        rc = fy_fail(FERRY_ENOMEM, "cannot map %llu bytes for publisher data %s", (unsigned long long)g->data_size,
                     path);
        goto fail;
    }
    struct fy_data_header *dh = (struct fy_data_header *)pub->data;
    dh->magic = FY_MAGIC_DATA;
    dh->slot = pub->slot;
    dh->gen = pub->gen;
    dh->chunk_count = g->chunk_count;
    dh->chunk_stride = g->chunk_stride;
    dh->payload_offset = g->payload_offset;
    dh->size = g->data_size;
    pub->chunk0 = fy_chunk_base(pub->data, g, 0) + g->payload_offset;
    if ((rc = refresh(pub)) != FERRY_OK)
        goto fail;
    if (listed)
        fy_node_add_port(node, &pub->link, FY_LINK_PUB);
    *out = pub;
    fy_ok();
    return FERRY_OK;
fail:
    pub_destroy(pub);
    return rc;
}

/* No free chunk: take back what subscribers returned, then what dead ones
 * held. */
FY_COLD static int loan_refill(ferry_pub *pub)
{
    drain_all(pub);
    if (pub->nfree)
        return FERRY_OK;
    fy_domain_cleanup(pub->svc.domain, NULL);
    int rc = refresh(pub);
    if (rc)
        return rc;
    drain_all(pub);
    if (pub->nfree == 0)
        return fy_fail(FERRY_ELIMIT, "publisher on \"%s\": all %u samples are in use", pub->svc.name,
                       pub->chunk_count);
    return FERRY_OK;
}

FY_COLD static int loan_bad(const ferry_pub *pub, size_t size, void **payload)
{
    if (!pub || !payload)
        return fy_fail(FERRY_EINVAL, "ferry_pub_loan: %s is NULL", pub ? "payload" : "pub");
    if (size - 1 >= pub->max_payload)
        return fy_fail(FERRY_EINVAL, "ferry_pub_loan on \"%s\": size %zu must be 1..max_payload (%llu)",
                       pub->svc.name, size, (unsigned long long)pub->max_payload);
    return fy_fail(FERRY_ELIMIT, "publisher on \"%s\" already holds %u loans (max_loans): send or discard one first",
                   pub->svc.name, pub->nloans);
}

int ferry_pub_loan(ferry_pub *pub, size_t size, void **payload)
{
    /* size - 1 wraps for 0: one comparison checks 1..max_payload. */
    if (FY_UNLIKELY(!pub || !payload || size - 1 >= pub->max_payload || pub->nloans == pub->max_loans)) {
        if (payload)
            *payload = NULL;
        return loan_bad(pub, size, payload);
    }
    if (FY_UNLIKELY(pub->nfree == 0)) {
        int rc = loan_refill(pub);
        if (rc) {
            *payload = NULL;
            return rc;
        }
    }
    /* The send that follows stores to this slot: ask for its line now, so
     * that its transfer overlaps with whatever the caller does between loan
     * and send instead of stalling the send. This is the slot a subscriber
     * that keeps up is polling (which put's prefetch avoids, see there):
     * here the store follows within the caller's fill, and the poll it
     * delays would find nothing new before that store anyway. Measured on
     * the 2-vCPU VM of docs/performance.md: a request-response round trip
     * about a quarter shorter, a publish-subscribe hand-off a few ns. */
    if (pub->solo)
        fy_prefetch_for_write(&pub->solo->submit[pub->solo->tail & pub->sub_mask]);
    uint32_t chunk = pub->free_stack[--pub->nfree];
    pub->refs[chunk] = 1;
    char *p = pub->chunk0 + chunk * pub->stride;
    pub->loans[pub->nloans++] = (struct pub_loan){.payload = p, .chunk = chunk, .size = (uint32_t)size};
    *payload = p;
    return FERRY_OK;
}

/* Waits (BLOCK) or fails (try) until every connection has room. */
static int wait_for_room(ferry_pub *pub, int try_only)
{
    uint64_t start = 0, next_probe = 0;
    unsigned spins = 0;
    for (;;) {
        int rc = refresh_if_needed(pub);
        if (rc)
            return rc;
        struct pub_conn *full = NULL;
        uint32_t full_slot = 0;
        for (uint32_t i = 0; i < pub->nactive && !full; i++) {
            struct pub_conn *pc = &pub->conns[pub->active[i]];
            if (!has_room(pub, pc)) {
                full = pc;
                full_slot = pub->active[i];
            }
        }
        if (!full)
            return FERRY_OK;
        if (try_only)
            /* Static text: callers retry this in a loop, and formatting the
             * service name in would cost more than the check. */
            return fy_fail_static(FERRY_EAGAIN, "ferry_pub_try_send: a subscriber's queue is full: retry later");
        /* Spin briefly, then yield, then sleep: an active subscriber frees
         * room within microseconds, an idle one should not cost a core. */
        uint64_t now = fy_os_now_ns();
        if (start == 0)
            start = next_probe = now;
        if (spins < 1000)
            spins++;
        else if (now - start < 1000000)
            fy_os_yield();
        else
            fy_os_sleep_ns(50000);
        if (now >= next_probe + 10000000) {
            /* Every 10 ms: is the subscriber we wait for still alive? */
            next_probe = now;
            struct fy_slot *ss = fy_sub_slot(pub->svc.hdr, &pub->svc.geo, full_slot);
            if (!fy_node_alive(pub->svc.domain, atomic_load_explicit(&ss->owner, memory_order_relaxed)))
                fy_service_reap_locked(&pub->svc);
        }
    }
}

/* Delivers loan l on connection s (known to have room) with the call
 * fields of meta, and ends the loan. */
static void deliver_one(ferry_pub *pub, struct pub_loan *l, uint32_t s, const struct fy_call_meta *meta)
{
    struct pub_conn *pc = &pub->conns[s];
    struct fy_sample_meta call = {
        .call_id = meta->call_id, .reply_slot = meta->reply_slot, .reply_gen = meta->reply_gen, .flags = meta->flags};
    hand_over(pub, pc, l->chunk, l->size, ++pub->seq, 0, &call);
    pub->sent++;
    end_loan(pub, l);
}

FY_COLD static int send_to_slow(ferry_pub *pub, struct pub_loan *l, uint32_t s, uint32_t gen,
                                 uint64_t expected_owner, const struct fy_call_meta *meta);

int fy_pub_send_to(ferry_pub *pub, void *payload, uint32_t s, uint32_t gen, uint64_t expected_owner,
                   const struct fy_call_meta *meta)
{
    struct pub_loan *l = find_loan(pub, payload);
    if (!l)
        return fy_fail(FERRY_EINVAL, "%p is not a loan of this port (sent or discarded already?)", payload);
    /* The common case (a response): the subscribers are as we saw them, the
     * one named is connected, belongs to the expected node and has room by
     * our own count. Anything else takes the careful path. */
    struct pub_conn *pc = s < pub->svc.cfg.max_subscribers ? &pub->conns[s] : NULL;
    if (FY_LIKELY(pc && atomic_load_explicit(pub->sub_gen_now, memory_order_acquire) == pub->seen_sub_gen &&
                  pc->connected && pc->sub_gen == gen && pc->outstanding < pub->queue_cap &&
                  (!expected_owner ||
                   atomic_load_explicit(&pc->sub_slot->owner, memory_order_relaxed) == expected_owner))) {
        deliver_one(pub, l, s, meta);
        return FERRY_OK;
    }
    return send_to_slow(pub, l, s, gen, expected_owner, meta);
}

FY_COLD static int send_to_slow(ferry_pub *pub, struct pub_loan *l, uint32_t s, uint32_t gen,
                                 uint64_t expected_owner, const struct fy_call_meta *meta)
{
    int rc = refresh_if_needed(pub);
    if (rc == FERRY_OK && (s >= pub->svc.cfg.max_subscribers || !pub->conns[s].connected ||
                           pub->conns[s].sub_gen != gen))
        rc = refresh(pub); /* it may have arrived after our last look */
    if (rc == FERRY_OK && (s >= pub->svc.cfg.max_subscribers || !pub->conns[s].connected ||
                           pub->conns[s].sub_gen != gen))
        rc = fy_fail(FERRY_EDISCONNECTED, "\"%s\": the peer this goes to is gone", pub->svc.name);
    if (rc == FERRY_OK && expected_owner &&
        atomic_load_explicit(&pub->conns[s].sub_slot->owner, memory_order_relaxed) != expected_owner)
        rc = fy_fail(FERRY_EDISCONNECTED, "\"%s\": the reply slot named by the request is not its sender's",
                     pub->svc.name);
    if (rc) {
        end_loan(pub, l);
        return rc;
    }
    if (!has_room(pub, &pub->conns[s])) {
        /* Full: a peer that died no longer empties its queue. Find out now
         * rather than report "full" forever. */
        struct fy_slot *ss = pub->conns[s].sub_slot;
        if (!fy_node_alive(pub->svc.domain, atomic_load_explicit(&ss->owner, memory_order_relaxed))) {
            fy_pub_reap(pub);
            end_loan(pub, l);
            return fy_fail(FERRY_EDISCONNECTED, "\"%s\": the peer this goes to died", pub->svc.name);
        }
        return fy_fail(FERRY_EAGAIN, "\"%s\": the peer's queue is full: retry later", pub->svc.name);
    }
    deliver_one(pub, l, s, meta);
    return FERRY_OK;
}

int fy_pub_send_any(ferry_pub *pub, void *payload, const struct fy_call_meta *meta, uint32_t *sub_slot,
                    uint32_t *sub_gen)
{
    struct pub_loan *l = find_loan(pub, payload);
    if (!l)
        return fy_fail(FERRY_EINVAL, "%p is not a loan of this port (sent or discarded already?)", payload);
    /* The common case (a request to the only server, which has room). */
    if (FY_LIKELY(pub->solo && atomic_load_explicit(pub->sub_gen_now, memory_order_acquire) == pub->seen_sub_gen &&
                  pub->solo->outstanding < pub->queue_cap)) {
        uint32_t s = pub->active[0];
        *sub_slot = s;
        *sub_gen = pub->solo->sub_gen;
        deliver_one(pub, l, s, meta);
        return FERRY_OK;
    }
    int rc = refresh_if_needed(pub);
    if (rc) {
        end_loan(pub, l); /* documented: taken back on errors other than the three below */
        return rc;
    }
    if (pub->nactive == 0)
        return fy_fail(FERRY_ENOTFOUND, "\"%s\": no server is running", pub->svc.name);
    for (uint32_t k = 0; k < pub->nactive; k++) {
        uint32_t i = (pub->rr + k) % pub->nactive;
        uint32_t s = pub->active[i];
        if (!has_room(pub, &pub->conns[s]))
            continue;
        pub->rr = i + 1;
        *sub_slot = s;
        *sub_gen = pub->conns[s].sub_gen;
        deliver_one(pub, l, s, meta);
        return FERRY_OK;
    }
    return fy_fail(FERRY_EAGAIN, "\"%s\": every server's request queue is full: retry later", pub->svc.name);
}

int fy_pub_connected_to(ferry_pub *pub, uint32_t s, uint32_t gen)
{
    refresh_if_needed(pub);
    return s < pub->svc.cfg.max_subscribers && pub->conns[s].connected && pub->conns[s].sub_gen == gen;
}

uint32_t fy_pub_subscribers(ferry_pub *pub)
{
    refresh_if_needed(pub);
    return pub->nactive;
}

void fy_pub_reap(ferry_pub *pub)
{
    fy_service_reap_locked(&pub->svc);
    refresh_if_needed(pub);
}

/* BLOCK: whether every connection has room by our own count (the common
 * case, decided without reading shared memory). */
static inline int room_everywhere(const ferry_pub *pub)
{
    for (uint32_t i = 0; i < pub->nactive; i++)
        if (pub->conns[pub->active[i]].outstanding >= pub->queue_cap)
            return 0;
    return 1;
}

static void remember(ferry_pub *pub, uint32_t chunk, uint32_t size, uint64_t sequence, uint64_t timestamp_ns)
{
    uint32_t h = pub->history_cap;
    pub->stamps[chunk] = (struct pub_stamp){.size = size, .sequence = sequence, .timestamp_ns = timestamp_ns};
    if (pub->hist_count == h) {
        unref(pub, pub->history[pub->hist_first]);
        pub->hist_first = (pub->hist_first + 1) % h;
        pub->hist_count--;
    }
    pub->history[(pub->hist_first + pub->hist_count) % h] = chunk;
    pub->hist_count++;
    pub->refs[chunk]++;
}

FY_COLD static int send_bad(const ferry_pub *pub, const void *payload)
{
    if (!pub || !payload)
        return fy_fail(FERRY_EINVAL, "ferry_pub_send: %s is NULL", pub ? "payload" : "pub");
    return fy_fail(FERRY_EINVAL,
                   "ferry_pub_send on \"%s\": %p is not a loan of this publisher (sent or discarded already?)",
                   pub->svc.name, payload);
}

/* The subscribers changed, or (BLOCK) a queue is full by our count: refresh,
 * wait or fail. 0: go on and send; otherwise the code to return (the loan is
 * ended unless it is FERRY_EAGAIN under BLOCK, where the caller keeps it). */
FY_COLD static int send_prepare(ferry_pub *pub, struct pub_loan *l, int try_only)
{
    int rc = pub->block ? wait_for_room(pub, try_only) : refresh(pub);
    if (rc == FERRY_EAGAIN && pub->block)
        return rc;
    if (rc)
        end_loan(pub, l);
    return rc;
}

static void deliver_all(ferry_pub *pub, uint32_t chunk, uint32_t size, uint64_t sequence, uint64_t timestamp_ns);

/* The hand-off is the store in put(): everything before it is on the path
 * from the user's send to the subscriber's take, so the common case checks
 * only private counts there, keeps every rare case out of line and leaves
 * bookkeeping for after. */
static int send_loan(ferry_pub *pub, void *payload, int try_only)
{
    struct pub_loan *l = FY_LIKELY(pub && payload) ? find_loan(pub, payload) : NULL;
    if (FY_UNLIKELY(!l))
        return send_bad(pub, payload);
    /* Acquire pairs with the release in sub_slot_free / join. */
    if (FY_UNLIKELY(atomic_load_explicit(pub->sub_gen_now, memory_order_acquire) != pub->seen_sub_gen ||
                    (pub->block && !room_everywhere(pub)))) {
        int rc = send_prepare(pub, l, try_only);
        if (rc)
            return rc;
    }
    uint32_t chunk = l->chunk, size = l->size;
    uint64_t sequence = ++pub->seq;
    uint64_t timestamp_ns = pub->timestamps ? fy_os_now_ns() : 0;
    if (FY_LIKELY(pub->solo != NULL))
        offer(pub, pub->solo, chunk, size, sequence, timestamp_ns); /* one subscriber: no loop */
    else
        deliver_all(pub, chunk, size, sequence, timestamp_ns);
    if (pub->history_cap)
        remember(pub, chunk, size, sequence, timestamp_ns);
    pub->sent++;
    end_loan(pub, l);
    return FERRY_OK;
}

/* Queues chunk on every connection (DROP_OLDEST: making room first). */
__attribute__((noinline)) static void deliver_all(ferry_pub *pub, uint32_t chunk, uint32_t size, uint64_t sequence,
                                                  uint64_t timestamp_ns)
{
    for (uint32_t i = 0; i < pub->nactive; i++)
        offer(pub, &pub->conns[pub->active[i]], chunk, size, sequence, timestamp_ns);
}

int ferry_pub_send(ferry_pub *pub, void *payload) { return send_loan(pub, payload, 0); }

int ferry_pub_try_send(ferry_pub *pub, void *payload) { return send_loan(pub, payload, 1); }

int ferry_pub_send_copy(ferry_pub *pub, const void *data, size_t size)
{
    if (!data)
        return fy_fail(FERRY_EINVAL, "ferry_pub_send_copy: data is NULL");
    void *p;
    int rc = ferry_pub_loan(pub, size, &p);
    if (rc)
        return rc;
    memcpy(p, data, size);
    return ferry_pub_send(pub, p);
}

void ferry_pub_discard(ferry_pub *pub, void *payload)
{
    struct pub_loan *l = pub && payload ? find_loan(pub, payload) : NULL;
    if (!l) {
        fy_fail(FERRY_EINVAL, "ferry_pub_discard: %p is not a loan of this publisher", payload);
        return;
    }
    end_loan(pub, l);
    fy_ok();
}

int ferry_pub_update(ferry_pub *pub)
{
    if (!pub)
        return fy_fail(FERRY_EINVAL, "ferry_pub_update: pub is NULL");
    int rc = refresh(pub);
    if (rc == FERRY_OK)
        drain_all(pub);
    return rc;
}

int ferry_pub_stats_get(const ferry_pub *pub, ferry_pub_stats *st)
{
    if (!pub || !st)
        return fy_fail(FERRY_EINVAL, "ferry_pub_stats_get: %s is NULL", pub ? "stats" : "pub");
    st->sent = pub->sent;
    st->subscribers = pub->nactive;
    st->loans = pub->nloans;
    return FERRY_OK;
}

uint64_t ferry_pub_id(const ferry_pub *pub) { return pub ? pub->id : 0; }

void ferry_pub_close(ferry_pub *pub)
{
    if (!pub)
        return;
    fy_node_remove_port(pub->node, &pub->link);
    pub_destroy(pub);
}
