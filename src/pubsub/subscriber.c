/*
 * The subscriber: maps each publisher's data segment read-only, takes
 * entries from its submit rings and hands chunk indices back on release.
 * It never trusts an index or a size it reads: both are checked against the
 * geometry it validated when it opened the service.
 */
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/error.h"
#include "core/node.h"
#include "event/sources.h"
#include "event/waiter.h"
#include "os/os.h"
#include "pubsub/internal.h"
#include "pubsub/pubsub.h"
#include "queue/ring.h"
#include "service/registry.h"
#include "service/service.h"

/* A publisher data segment, mapped read-only. Lives while connected or while
 * a taken sample points into it. */
struct sub_map {
    struct sub_map *next;
    char *chunk0; /* payload of chunk 0 */
    char *base;
    uint64_t link;   /* of the connection it was mapped for */
    uint64_t pub_id; /* the publisher's port id */
    uint32_t pub_slot, pub_gen;
    uint32_t held;
    int connected;
};

struct sub_conn {
    int connected;
    int closing; /* the publisher is gone: read what is queued, then let go */
    uint64_t link;
    struct fy_conn *shm;
    struct fy_submit_slot *submit;
    _Atomic uint64_t *ret;
    uint64_t ret_tail;
    struct sub_map *map;
};

struct sub_held {
    const void *payload;
    struct sub_map *map;
    uint32_t chunk;
    uint32_t size;
    uint64_t sequence;
    uint64_t timestamp_ns;
};

/* A released sample whose return is not written yet (see flush_returns). */
struct sub_return {
    uint64_t link;
    uint32_t pub_slot;
    uint32_t chunk;
};

struct ferry_sub {
    struct fy_port_link link;
    /* The data path's fields, together and copied out of the service's
     * configuration and geometry (validated at open). */
    struct sub_held *held;
    uint32_t nheld, max_borrowed;
    struct sub_return *returns; /* [max_borrowed], released, not yet handed back */
    uint32_t nreturns;
    uint32_t nactive;
    uint32_t *active;
    struct sub_conn *conns; /* [max_publishers] */
    uint32_t next;          /* round robin over active */
    uint32_t chunk_count;
    const _Atomic uint64_t *epoch_now; /* in this subscriber's slot */
    uint64_t seen_epoch;
    uint64_t stride;
    uint64_t max_payload;
    uint64_t received;
    uint64_t sub_mask, ret_mask;
    unsigned sub_log2, ret_log2;
    int head_shared;  /* DROP_OLDEST: the publisher may move head too */
    int ready_sample; /* the last sub_ready found a sample (not just a departure) */
    struct sub_conn *solo; /* the one active connection, while it is not closing */
    ferry_node *node;
    struct fy_service svc;
    uint32_t slot, gen;
    uint64_t id;
    struct sub_map *maps;
    uint64_t lost_before; /* dropped counts of connections that ended */
    uint32_t gone;        /* publishers that went away, not yet reported by ferry_sub_wait */
    struct fy_waiter waiter;
    struct fy_wait_ops wait_ops;   /* ready: a sample or a departure to report */
    struct fy_wait_ops sample_ops; /* ready: a sample (re-arming the fd after a take) */
};

static void map_release(ferry_sub *sub, struct sub_map *m)
{
    if (m->held || m->connected)
        return;
    for (struct sub_map **pp = &sub->maps; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    fy_os_unmap(m->base, sub->svc.geo.data_size);
    free(m);
}

static int map_publisher(ferry_sub *sub, uint32_t p, uint32_t gen, uint64_t link, uint64_t pub_id,
                         struct sub_map **out)
{
    char path[FY_PATH_MAX];
    fy_path_pub_data(path, sub->svc.domain, sub->svc.hash, p, gen);
    int fd = fy_os_open(path, 0);
    if (fd < 0)
        return fd;
    const struct fy_svc_geometry *g = &sub->svc.geo;
    int64_t size = fy_os_size(fd);
    char *base = size == (int64_t)g->data_size ? fy_os_map(fd, g->data_size, 0) : NULL;
    fy_os_close(fd);
    if (!base)
        return fy_fail(FERRY_ECORRUPT, "publisher data %s has %lld bytes, expected %llu", path, (long long)size,
                       (unsigned long long)g->data_size);
    const struct fy_data_header *dh = (const struct fy_data_header *)base;
    if (dh->magic != FY_MAGIC_DATA || dh->chunk_count != g->chunk_count || dh->chunk_stride != g->chunk_stride ||
        dh->payload_offset != g->payload_offset) {
        fy_os_unmap(base, g->data_size);
        return fy_fail(FERRY_ECORRUPT, "publisher data %s does not match its service's layout", path);
    }
    struct sub_map *m = calloc(1, sizeof *m);
    if (!m) {
        fy_os_unmap(base, g->data_size);
        return fy_fail(FERRY_ENOMEM, "subscriber: out of memory");
    }
    m->base = base;
    m->chunk0 = fy_chunk_base(base, g, 0) + g->payload_offset;
    m->link = link;
    m->pub_id = pub_id;
    m->pub_slot = p;
    m->pub_gen = gen;
    m->connected = 1;
    m->next = sub->maps;
    sub->maps = m;
    *out = m;
    return FERRY_OK;
}

/* The connection a take may go to directly (take_solo). */
static void set_solo(ferry_sub *sub)
{
    struct sub_conn *sc = sub->nactive == 1 ? &sub->conns[sub->active[0]] : NULL;
    sub->solo = sc && !sc->closing ? sc : NULL;
}

static void conn_drop(ferry_sub *sub, struct sub_conn *sc)
{
    if (!sc->connected)
        return;
    sub->lost_before += atomic_load_explicit(&sc->shm->dropped, memory_order_relaxed);
    sub->gone++;
    sc->connected = 0;
    sc->map->connected = 0;
    map_release(sub, sc->map);
    sc->map = NULL;
}

/* Under the service lock: brings the connections in line with the links the
 * publishers have set for this subscriber. */
static int refresh(ferry_sub *sub)
{
    int rc = fy_service_lock(&sub->svc);
    if (rc)
        return rc;
    struct fy_svc_header *h = sub->svc.hdr;
    const struct fy_svc_geometry *g = &sub->svc.geo;
    sub->seen_epoch = atomic_load_explicit(&fy_sub_slot(h, g, sub->slot)->epoch, memory_order_acquire);
    sub->nactive = 0;
    for (uint32_t p = 0; p < sub->svc.cfg.max_publishers; p++) {
        struct fy_slot *ps = fy_pub_slot(h, g, p);
        uint32_t st = atomic_load_explicit(&ps->state, memory_order_acquire);
        uint32_t pgen = atomic_load_explicit(&ps->gen, memory_order_relaxed);
        struct fy_conn *c = fy_conn_at(h, g, sub->svc.cfg.max_subscribers, p, sub->slot);
        uint64_t link = atomic_load_explicit(&c->link, memory_order_acquire);
        struct sub_conn *sc = &sub->conns[p];
        int linked = st != FY_SLOT_FREE && link == fy_link_make(pgen, sub->gen);
        if (sc->connected && (!linked || sc->link != link))
            conn_drop(sub, sc);
        if (linked && !sc->connected) {
            struct sub_map *m = NULL;
            uint64_t pub_id = atomic_load_explicit(&ps->port_id, memory_order_relaxed);
            if (map_publisher(sub, p, pgen, link, pub_id, &m) != FERRY_OK) {
                /* Cannot read its samples (permissions?): look again at the
                 * next take rather than wait for the epoch to move. */
                sub->seen_epoch--;
                continue;
            }
            sc->connected = 1;
            sc->link = link;
            sc->shm = c;
            sc->submit = fy_conn_submit(c);
            sc->ret = fy_conn_ret(c, g);
            sc->ret_tail = 0; /* the publisher emptied the return ring when it linked */
            sc->map = m;
        }
        if (sc->connected) {
            sc->closing = st != FY_SLOT_ACTIVE;
            sub->active[sub->nactive++] = p;
        }
    }
    set_solo(sub);
    fy_service_unlock(&sub->svc);
    return FERRY_OK;
}

static void finish_closing(ferry_sub *sub, uint32_t p);
static int sub_has_sample(ferry_sub *sub);

/* Hands released chunks back to their publishers. ferry_sub_release only
 * notes them: writing the return ring there would put a store to a line the
 * publisher reads right before the subscriber's own next hand-off (a reply,
 * a forwarded sample), whose fence would wait for it. Here, at the next
 * take or wait, the store overlaps with idle time instead. A noted return
 * still counts against max_borrowed, so the publisher's accounting of what
 * this subscriber may hold is unchanged. */
__attribute__((noinline)) static void flush_returns(ferry_sub *sub)
{
    for (uint32_t i = 0; i < sub->nreturns; i++) {
        const struct sub_return *r = &sub->returns[i];
        struct sub_conn *sc = &sub->conns[r->pub_slot];
        /* The shared link too: a new publisher may have taken the slot since
         * our last refresh (line 0 of the connection is read-mostly: cheap). */
        if (sc->connected && sc->link == r->link &&
            atomic_load_explicit(&sc->shm->link, memory_order_acquire) == r->link) {
            /* Tagged with the publisher's generation: should the slot have
             * gone to a new publisher meanwhile, it ignores this return. */
            fy_ring_put(sc->ret, sub->ret_mask, sub->ret_log2, sc->ret_tail, r->chunk, (uint32_t)(r->link >> 32));
            sc->ret_tail++;
        }
    }
    sub->nreturns = 0;
}

/* Whether a take would find a sample, or a departure is to be reported.
 * Peeks at the entry at each head without consuming it. */
static int sub_ready(void *ctx)
{
    ferry_sub *sub = ctx;
    sub->ready_sample = 0;
    if (sub->nreturns)
        flush_returns(sub); /* before a sleep, the publisher may need them */
    uint64_t epoch = atomic_load_explicit(sub->epoch_now, memory_order_seq_cst);
    if (epoch != sub->seen_epoch && refresh(sub) != FERRY_OK)
        return 1; /* let the caller meet the error on take */
    for (uint32_t i = 0; i < sub->nactive; i++) {
        struct sub_conn *sc = &sub->conns[sub->active[i]];
        uint64_t h = atomic_load_explicit(&sc->shm->head, memory_order_relaxed);
        if (fy_submit_ready(sc->submit, sub->sub_mask, sub->sub_log2, h, memory_order_seq_cst)) {
            sub->ready_sample = 1;
            return 1;
        }
        if (sc->closing) {
            finish_closing(sub, sub->active[i]);
            i--;
        }
    }
    return sub->gone != 0;
}

/* The spin phase's look (fy_wait_ops.peek) in take_solo's common case: the
 * one connection's head entry, without flushing, refreshing or looping, so
 * that a sample that arrives while spinning is noticed sooner. -1 (let
 * sub_ready decide) in every other case. */
static int sub_peek(void *ctx)
{
    ferry_sub *sub = ctx;
    struct sub_conn *sc = sub->solo;
    if (!sc || sub->nreturns || sub->gone ||
        atomic_load_explicit(sub->epoch_now, memory_order_relaxed) != sub->seen_epoch)
        return -1;
    uint64_t h = atomic_load_explicit(&sc->shm->head, memory_order_relaxed);
    if (!fy_submit_ready(sc->submit, sub->sub_mask, sub->sub_log2, h, memory_order_acquire))
        return 0;
    sub->ready_sample = 1;
    return 1;
}

/* Whether a take would find a sample. A departure alone does not keep the
 * fd readable once the user has seen an empty take; ferry_sub_wait and wait
 * sets still report it. */
static int sub_sample_ready(void *ctx)
{
    ferry_sub *sub = ctx;
    sub_ready(sub);
    return sub_has_sample(sub);
}

/* Checks that the publishers this subscriber reads from are alive; cleans
 * up after dead ones (which changes the epoch, seen by sub_ready). */
static int sub_peers(void *ctx)
{
    ferry_sub *sub = ctx;
    int dead = 0;
    for (uint32_t i = 0; i < sub->nactive && !dead; i++) {
        struct fy_slot *ps = fy_pub_slot(sub->svc.hdr, &sub->svc.geo, sub->active[i]);
        if (atomic_load_explicit(&ps->state, memory_order_acquire) == FY_SLOT_ACTIVE &&
            !fy_node_alive(sub->svc.domain, atomic_load_explicit(&ps->owner, memory_order_relaxed)))
            dead = 1;
    }
    if (dead)
        fy_service_reap_locked(&sub->svc);
    return dead;
}

static int sub_open(ferry_sub **out, ferry_node *node, const char *service, const struct fy_svc_config *cfgp,
                    int listed);

static inline int refresh_if_needed(ferry_sub *sub)
{
    /* Acquire pairs with the publisher's release after it (re)linked us. */
    uint64_t epoch = atomic_load_explicit(sub->epoch_now, memory_order_acquire);
    return epoch != sub->seen_epoch ? refresh(sub) : FERRY_OK;
}

int ferry_sub_open(ferry_sub **out, ferry_node *node, const char *service, const ferry_pubsub_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_sub_open: sub is NULL");
    *out = NULL;
    if (!node)
        return fy_fail(FERRY_EINVAL, "ferry_sub_open: node is NULL: open one with ferry_node_open");
    int rc = fy_service_name_check(service);
    struct fy_svc_config cfg;
    if (rc || (rc = fy_config_from_opts(&cfg, opts)) != FERRY_OK)
        return rc;
    return sub_open(out, node, service, &cfg, 1);
}

int fy_sub_open_cfg(ferry_sub **out, ferry_node *node, const char *name, const struct fy_svc_config *cfg)
{
    *out = NULL;
    return sub_open(out, node, name, cfg, 0);
}

static int sub_open(ferry_sub **out, ferry_node *node, const char *service, const struct fy_svc_config *cfgp,
                    int listed)
{
    struct fy_svc_config cfg = *cfgp;
    int rc;
    ferry_sub *sub = calloc(1, sizeof *sub);
    if (!sub)
        return fy_fail(FERRY_ENOMEM, "ferry_sub_open: out of memory");
    sub->node = node;
    sub->id = fy_os_random64();
    sub->link.next = sub->link.prev = &sub->link; /* unlisted until added */
    struct fy_opener who = fy_node_opener(node);
    rc = fy_service_join(&sub->svc, &who, service, &cfg, FY_PORT_SUB, sub->id, &sub->slot, &sub->gen);
    if (rc) {
        free(sub);
        return rc;
    }
    const struct fy_svc_geometry *g = &sub->svc.geo;
    sub->sub_log2 = fy_log2(g->sub_ring_size);
    sub->sub_mask = g->sub_ring_size - 1;
    sub->ret_log2 = fy_log2(g->ret_ring_size);
    sub->ret_mask = g->ret_ring_size - 1;
    sub->head_shared = sub->svc.cfg.overflow == FERRY_OVERFLOW_DROP_OLDEST;
    sub->max_borrowed = sub->svc.cfg.max_borrowed;
    sub->max_payload = sub->svc.cfg.max_payload;
    sub->chunk_count = (uint32_t)g->chunk_count;
    sub->stride = g->chunk_stride;
    sub->epoch_now = &fy_sub_slot(sub->svc.hdr, g, sub->slot)->epoch;
    sub->conns = calloc(sub->svc.cfg.max_publishers, sizeof *sub->conns);
    sub->active = calloc(sub->svc.cfg.max_publishers, sizeof *sub->active);
    sub->held = calloc(sub->svc.cfg.max_borrowed, sizeof *sub->held);
    sub->returns = calloc(sub->svc.cfg.max_borrowed, sizeof *sub->returns);
    if (!sub->conns || !sub->active || !sub->held || !sub->returns) {
        fy_service_leave(&sub->svc, FY_PORT_SUB, sub->slot, sub->gen);
        free(sub->conns);
        free(sub->active);
        free(sub->held);
        free(sub->returns);
        free(sub);
        return fy_fail(FERRY_ENOMEM, "ferry_sub_open: out of memory");
    }
    sub->wait_ops.ready = sub_ready;
    sub->wait_ops.peek = sub_peek;
    sub->wait_ops.peers = sub_peers;
    sub->wait_ops.ctx = sub;
    sub->sample_ops.ready = sub_sample_ready;
    sub->sample_ops.peers = sub_peers;
    sub->sample_ops.ctx = sub;
    fy_waiter_init(&sub->waiter, &fy_sub_slot(sub->svc.hdr, g, sub->slot)->waiter, sub->svc.domain, sub->id);
    /* Force a first refresh on the first take. */
    sub->seen_epoch = atomic_load_explicit(&fy_sub_slot(sub->svc.hdr, g, sub->slot)->epoch, memory_order_relaxed) - 1;
    if (listed)
        fy_node_add_port(node, &sub->link, FY_LINK_SUB);
    *out = sub;
    fy_ok();
    return FERRY_OK;
}

/* The publisher of sc is gone and sc is empty: let the publisher's segment
 * go if no other subscriber needs it, and forget the connection. */
static void finish_closing(ferry_sub *sub, uint32_t p)
{
    if (fy_service_lock(&sub->svc) == FERRY_OK) {
        fy_service_orphan_try_free(&sub->svc, p);
        fy_service_unlock(&sub->svc);
    }
    conn_drop(sub, &sub->conns[p]);
    for (uint32_t i = 0; i < sub->nactive; i++) {
        if (sub->active[i] == p) {
            sub->active[i] = sub->active[--sub->nactive];
            break;
        }
    }
    set_solo(sub);
}

/* Nothing at any head; the fd (if asked for) is re-armed. */
__attribute__((noinline)) static int take_empty(ferry_sub *sub)
{
    if (sub->waiter.fd >= 0)
        fy_waiter_rearm(&sub->waiter, &sub->sample_ops);
    return fy_fail_static(FERRY_EAGAIN, "ferry_sub_take: no sample queued");
}

static int take_impl(ferry_sub *sub, const void **payload, size_t *size, struct fy_call_meta *meta,
                     ferry_sample_info *info);

/* The entry at a head came from another publisher generation than its
 * connection's, or the connection's publisher is gone and drained: refresh,
 * then take from what is there now. */
FY_COLD static int take_again(ferry_sub *sub, uint32_t i, int changed, const void **payload, size_t *size,
                              struct fy_call_meta *meta, ferry_sample_info *info)
{
    uint32_t p = sub->active[i];
    struct sub_conn *sc = &sub->conns[p];
    if (changed) {
        /* If the connection did not change, the entry is not any
         * publisher's: report it rather than look again forever. */
        uint64_t seen = sc->link;
        int rc = refresh(sub);
        if (rc)
            return rc;
        if (sc->connected && sc->link == seen)
            return fy_fail(FERRY_ECORRUPT,
                           "subscriber on \"%s\": a queued entry carries another publisher generation than its "
                           "connection",
                           sub->svc.name);
    } else {
        finish_closing(sub, p); /* the slot at i now holds another publisher */
    }
    return sub->nactive ? take_impl(sub, payload, size, meta, info) : take_empty(sub);
}

FY_COLD static int take_bad_args(const ferry_sub *sub)
{
    return fy_fail(FERRY_EINVAL, "ferry_sub_take: %s is NULL", sub ? "payload" : "sub");
}

FY_COLD static int take_limit(const ferry_sub *sub)
{
    return fy_fail(FERRY_ELIMIT, "subscriber on \"%s\" holds %u samples (max_borrowed): release one before taking more",
                   sub->svc.name, sub->nheld);
}

FY_COLD static int take_corrupt(const ferry_sub *sub, uint32_t chunk, uint32_t size)
{
    return fy_fail(FERRY_ECORRUPT, "subscriber on \"%s\": a publisher queued chunk %u of size %u, outside its segment",
                   sub->svc.name, chunk, size);
}

static inline void take_call_fields(const ferry_sub *sub, const struct sub_map *m, const struct fy_sample_meta *sm,
                                     struct fy_call_meta *meta)
{
    meta->call_id = sm->call_id;
    meta->reply_slot = sm->reply_slot;
    meta->reply_gen = sm->reply_gen;
    meta->flags = sm->flags;
    /* From the publisher's slot, not from the sample: a peer cannot forge it. */
    meta->origin_owner =
        atomic_load_explicit(&fy_pub_slot(sub->svc.hdr, &sub->svc.geo, m->pub_slot)->owner, memory_order_relaxed);
}

/* What take_conn found at a connection's head. */
enum { TAKE_EMPTY = 0, TAKE_TAKEN = 1, TAKE_CHANGED = 2 /* another publisher generation's entry */ };

/* Takes the entry at the head of connection sc: TAKE_TAKEN, TAKE_EMPTY,
 * TAKE_CHANGED, or a negative code (FERRY_ECORRUPT: the entry is skipped). */
static inline int take_conn(ferry_sub *sub, struct sub_conn *sc, const void **payload, size_t *size,
                            struct fy_call_meta *meta, ferry_sample_info *info)
{
    uint64_t e;
    /* Zeroed for the compiler, which cannot tell that the call fields are
     * read only when written; it drops the stores it does not need. */
    struct fy_sample_meta sm = {0};
    int got = fy_submit_take(sc->submit, &sc->shm->head, sub->sub_mask, sub->sub_log2, (uint32_t)(sc->link >> 32),
                             sub->head_shared, &e, &sm, meta != NULL);
    if (FY_UNLIKELY(got <= 0))
        return got == 0 ? TAKE_EMPTY : TAKE_CHANGED;
    uint32_t chunk = fy_entry_chunk(e), sz = fy_entry_size(e);
    if (FY_UNLIKELY(chunk >= sub->chunk_count || sz - 1 >= sub->max_payload))
        return take_corrupt(sub, chunk, sz);
    struct sub_map *m = sc->map;
    const char *p = m->chunk0 + chunk * sub->stride;
    sub->held[sub->nheld++] = (struct sub_held){
        .payload = p, .map = m, .chunk = chunk, .size = sz, .sequence = sm.sequence, .timestamp_ns = sm.timestamp_ns};
    m->held++;
    sub->received++;
    *payload = p;
    if (size)
        *size = sz;
    if (info)
        *info = (ferry_sample_info){
            .sequence = sm.sequence, .timestamp_ns = sm.timestamp_ns, .publisher_id = m->pub_id, .size = sz};
    if (meta)
        take_call_fields(sub, m, &sm, meta);
    return TAKE_TAKEN;
}

/* take_conn on active connection i, dealing with a changed or departed
 * publisher: 1 taken, 0 empty, or a negative code. */
static inline int take_from(ferry_sub *sub, uint32_t i, const void **payload, size_t *size,
                            struct fy_call_meta *meta, ferry_sample_info *info)
{
    struct sub_conn *sc = &sub->conns[sub->active[i]];
    int got = take_conn(sub, sc, payload, size, meta, info);
    if (FY_LIKELY(got == TAKE_TAKEN))
        return 1;
    if (got == TAKE_CHANGED || (got == TAKE_EMPTY && sc->closing)) {
        int rc = take_again(sub, i, got == TAKE_CHANGED, payload, size, meta, info);
        return rc == FERRY_OK ? 1 : rc;
    }
    return got; /* TAKE_EMPTY (0) or a negative code */
}

/* The take. meta: the call fields (request-response) or NULL (publish-
 * subscribe, whose slots never carry them); info: the metadata for
 * ferry_sub_take_info, or NULL.
 * The load of the sample's line is the hand-off: what follows it is on the
 * path to the user, so the common case is a straight line of private
 * bookkeeping and every rare case is out of line. */
static int take_impl(ferry_sub *sub, const void **payload, size_t *size, struct fy_call_meta *meta,
                     ferry_sample_info *info)
{
    if (FY_UNLIKELY(!sub || !payload))
        return take_bad_args(sub);
    *payload = NULL;
    if (sub->nreturns)
        flush_returns(sub);
    if (FY_UNLIKELY(sub->nheld == sub->max_borrowed))
        return take_limit(sub);
    /* Acquire pairs with the publisher's release after it (re)linked us. */
    if (FY_UNLIKELY(atomic_load_explicit(sub->epoch_now, memory_order_acquire) != sub->seen_epoch)) {
        int rc = refresh(sub);
        if (rc)
            return rc;
    }
    uint32_t n = sub->nactive;
    uint32_t i = sub->next < n ? sub->next : 0;
    for (uint32_t k = 0; k < n; k++, i = i + 1 < n ? i + 1 : 0) {
        int got = take_from(sub, i, payload, size, meta, info);
        if (got < 0)
            return got;
        if (got > 0) {
            sub->next = i + 1; /* round robin across publishers */
            return FERRY_OK;
        }
    }
    return take_empty(sub);
}

/* The common case, decided before anything else: one connection (not
 * closing), no return to write, room to take, no change of connections, no
 * fd to re-arm. Then a take is take_conn and nothing more, and an empty one
 * returns after three loads (epoch, head, the head's entry): busy-polling
 * applications call take in a loop, whose period a sample that arrives waits
 * on average half of. Returns FERRY_OK, FERRY_EAGAIN, a negative code, or 1:
 * not the common case, use take_impl. */
static inline int take_solo(ferry_sub *sub, const void **payload, size_t *size, struct fy_call_meta *meta,
                            ferry_sample_info *info)
{
    struct sub_conn *sc = sub->solo;
    if (!sc || sub->nreturns || sub->nheld == sub->max_borrowed || sub->waiter.fd >= 0 ||
        atomic_load_explicit(sub->epoch_now, memory_order_relaxed) != sub->seen_epoch)
        return 1;
    int got = take_conn(sub, sc, payload, size, meta, info);
    if (FY_LIKELY(got == TAKE_TAKEN))
        return FERRY_OK;
    if (got == TAKE_CHANGED)
        return 1;
    *payload = NULL;
    return got == TAKE_EMPTY ? fy_fail_static(FERRY_EAGAIN, "ferry_sub_take: no sample queued") : got;
}

int ferry_sub_take(ferry_sub *sub, const void **payload, size_t *size)
{
    if (FY_LIKELY(sub && payload)) {
        int rc = take_solo(sub, payload, size, NULL, NULL);
        if (rc != 1)
            return rc;
    }
    return take_impl(sub, payload, size, NULL, NULL);
}

int ferry_sub_take_info(ferry_sub *sub, const void **payload, ferry_sample_info *info)
{
    if (FY_LIKELY(sub && payload)) {
        int rc = take_solo(sub, payload, NULL, NULL, info);
        if (rc != 1)
            return rc;
    }
    return take_impl(sub, payload, NULL, NULL, info);
}

int fy_sub_take_meta(ferry_sub *sub, const void **payload, size_t *size, struct fy_call_meta *meta)
{
    if (FY_LIKELY(sub && payload)) {
        int rc = take_solo(sub, payload, size, meta, NULL);
        if (rc != 1)
            return rc;
    }
    return take_impl(sub, payload, size, meta, NULL);
}

static inline struct sub_held *find_held(const ferry_sub *sub, const void *payload)
{
    for (uint32_t i = 0; i < sub->nheld; i++)
        if (sub->held[i].payload == payload)
            return &sub->held[i];
    return NULL;
}

FY_COLD static int info_bad(const ferry_sub *sub, const void *payload, const ferry_sample_info *info)
{
    if (!sub || !payload || !info)
        return fy_fail(FERRY_EINVAL, "ferry_sub_sample_info: an argument is NULL");
    return fy_fail(FERRY_EINVAL, "ferry_sub_sample_info: %p is not a sample taken from this subscriber", payload);
}

int ferry_sub_sample_info(const ferry_sub *sub, const void *payload, ferry_sample_info *info)
{
    const struct sub_held *hd = FY_LIKELY(sub && payload && info) ? find_held(sub, payload) : NULL;
    if (FY_UNLIKELY(!hd))
        return info_bad(sub, payload, info);
    info->sequence = hd->sequence;
    info->timestamp_ns = hd->timestamp_ns;
    info->publisher_id = hd->map->pub_id;
    info->size = hd->size;
    return FERRY_OK;
}

FY_COLD static void release_bad(const void *payload)
{
    fy_fail(FERRY_EINVAL, "ferry_sub_release: %p is not a sample taken from this subscriber (released twice?)",
            payload);
}

void ferry_sub_release(ferry_sub *sub, const void *payload)
{
    struct sub_held *hd = FY_LIKELY(sub && payload) ? find_held(sub, payload) : NULL;
    if (FY_UNLIKELY(!hd)) {
        release_bad(payload);
        return;
    }
    struct sub_map *m = hd->map;
    /* nheld + nreturns <= max_borrowed: room is always there. */
    sub->returns[sub->nreturns++] = (struct sub_return){.link = m->link, .pub_slot = m->pub_slot, .chunk = hd->chunk};
    struct sub_held *last = &sub->held[--sub->nheld];
    if (hd != last)
        *hd = *last;
    /* A local count, not m->held re-read: the decrement and the test in
     * map_release would otherwise be a store and a wider load of the same
     * bytes, which the CPU cannot forward. */
    uint32_t left = --m->held;
    if (FY_UNLIKELY(left == 0 && !m->connected))
        map_release(sub, m);
    fy_ok();
}

int ferry_sub_stats_get(ferry_sub *sub, ferry_sub_stats *st)
{
    if (!sub || !st)
        return fy_fail(FERRY_EINVAL, "ferry_sub_stats_get: %s is NULL", sub ? "stats" : "sub");
    int rc = refresh_if_needed(sub);
    if (rc)
        return rc;
    st->received = sub->received;
    st->lost = sub->lost_before;
    for (uint32_t i = 0; i < sub->nactive; i++)
        st->lost += atomic_load_explicit(&sub->conns[sub->active[i]].shm->dropped, memory_order_relaxed);
    st->publishers = sub->nactive;
    st->borrowed = sub->nheld;
    return FERRY_OK;
}

int ferry_sub_set_wait_opts(ferry_sub *sub, const ferry_wait_opts *opts)
{
    if (!sub)
        return fy_fail(FERRY_EINVAL, "ferry_sub_set_wait_opts: sub is NULL");
    return fy_waiter_set_opts(&sub->waiter, opts);
}

int ferry_sub_wait(ferry_sub *sub, int64_t timeout_ns)
{
    if (!sub)
        return fy_fail(FERRY_EINVAL, "ferry_sub_wait: sub is NULL");
    if (timeout_ns < 0 && timeout_ns != FERRY_FOREVER)
        return fy_fail(FERRY_EINVAL, "ferry_sub_wait: timeout %lld: use >= 0 or FERRY_FOREVER", (long long)timeout_ns);
    int rc = fy_waiter_wait(&sub->waiter, &sub->wait_ops, timeout_ns);
    if (rc == FERRY_ETIMEDOUT)
        return fy_fail(FERRY_ETIMEDOUT, "ferry_sub_wait on \"%s\": no sample within %lld ns", sub->svc.name,
                       (long long)timeout_ns);
    /* Ready: a sample (known from the last look, usually), or a departure to
     * report once. */
    if (sub->ready_sample || sub_has_sample(sub))
        return FERRY_OK;
    if (sub->gone) {
        sub->gone = 0;
        return fy_fail(FERRY_EDISCONNECTED, "ferry_sub_wait on \"%s\": a publisher went away", sub->svc.name);
    }
    return FERRY_OK;
}

int ferry_sub_fd(ferry_sub *sub)
{
    if (!sub)
        return fy_fail(FERRY_EINVAL, "ferry_sub_fd: sub is NULL");
    int fd = fy_waiter_fd(&sub->waiter);
    if (fd >= 0 && sub_ready(sub)) {
        /* Already something to take: make the fd readable now. */
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong(&sub->waiter.shm->signaled, &zero, 1))
            fy_os_signal_send(sub->waiter.name);
    }
    return fd;
}

void ferry_sub_close(ferry_sub *sub)
{
    if (!sub)
        return;
    fy_node_remove_port(sub->node, &sub->link);
    flush_returns(sub);
    fy_waiter_fini(&sub->waiter);
    /* Samples still held are taken back by their publishers when they see
     * this slot freed; the mappings go with this process's view. */
    fy_service_leave(&sub->svc, FY_PORT_SUB, sub->slot, sub->gen);
    struct sub_map *m = sub->maps;
    while (m) {
        struct sub_map *next = m->next;
        fy_os_unmap(m->base, sub->svc.geo.data_size);
        free(m);
        m = next;
    }
    free(sub->conns);
    free(sub->active);
    free(sub->held);
    free(sub->returns);
    free(sub);
}

/* ---- wait set hooks ------------------------------------------------------ */

static int sub_has_sample(ferry_sub *sub)
{
    for (uint32_t i = 0; i < sub->nactive; i++) {
        struct sub_conn *sc = &sub->conns[sub->active[i]];
        uint64_t h = atomic_load_explicit(&sc->shm->head, memory_order_relaxed);
        if (fy_submit_ready(sc->submit, sub->sub_mask, sub->sub_log2, h, memory_order_acquire))
            return 1;
    }
    return 0;
}

int fy_sub_pending(ferry_sub *sub, unsigned *gone)
{
    sub_ready(sub); /* refreshes and finishes departed publishers */
    *gone = sub->gone;
    sub->gone = 0;
    return sub_has_sample(sub);
}

void fy_sub_settle(ferry_sub *sub)
{
    if (sub->waiter.fd >= 0 && !sub_ready(sub))
        fy_waiter_rearm(&sub->waiter, &sub->wait_ops);
}

int fy_sub_check_peers(ferry_sub *sub) { return sub_peers(sub); }

/* ---- building blocks (pubsub/internal.h) --------------------------------- */

void fy_sub_identity(const ferry_sub *sub, uint32_t *slot, uint32_t *gen)
{
    *slot = sub->slot;
    *gen = sub->gen;
}

struct fy_waiter *fy_sub_waiter(ferry_sub *sub) { return &sub->waiter; }

uint32_t fy_sub_max_borrowed(const ferry_sub *sub) { return sub->svc.cfg.max_borrowed; }

const struct fy_wait_ops *fy_sub_wait_ops(ferry_sub *sub) { return &sub->sample_ops; }
