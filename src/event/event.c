/*
 * Event services: notifiers raise numbered events at every listener.
 *
 * Each listener slot owns a bitset of pending ids in the service segment.
 * A notification is one seq_cst fetch_or per listener (repeated ids
 * coalesce) followed by the wake check of src/event/waiter.h: no system call
 * unless that listener sleeps or is watched through its fd and not already
 * signalled. A listener collects by exchanging each word with 0.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/node.h"
#include "event/sources.h"
#include "event/waiter.h"
#include "os/os.h"
#include "service/registry.h"
#include "service/service.h"

struct ferry_notifier {
    struct fy_port_link link;
    ferry_node *node;
    struct fy_service svc;
    uint32_t slot, gen;
    uint64_t id;
};

struct ferry_listener {
    struct fy_port_link link;
    ferry_node *node;
    struct fy_service svc;
    uint32_t slot, gen;
    uint64_t id;
    _Atomic uint64_t *bits;
    uint32_t words;
    struct fy_waiter waiter;
    struct fy_wait_ops ops;
};

static int open_common(struct fy_service *svc, ferry_node *node, const char *service, const ferry_event_opts *opts,
                       enum fy_port_kind kind, uint64_t id, uint32_t *slot, uint32_t *gen, const char *what)
{
    if (!node)
        return fy_fail(FERRY_EINVAL, "%s: node is NULL: open one with ferry_node_open", what);
    int rc = fy_service_name_check(service);
    struct fy_svc_config cfg;
    if (rc || (rc = fy_config_from_event_opts(&cfg, opts)) != FERRY_OK)
        return rc;
    struct fy_opener who = fy_node_opener(node);
    return fy_service_join(svc, &who, service, &cfg, kind, id, slot, gen);
}

int ferry_notifier_open(ferry_notifier **out, ferry_node *node, const char *service, const ferry_event_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_notifier_open: notifier is NULL");
    *out = NULL;
    ferry_notifier *n = calloc(1, sizeof *n);
    if (!n)
        return fy_fail(FERRY_ENOMEM, "ferry_notifier_open: out of memory");
    n->node = node;
    n->id = fy_os_random64();
    int rc = open_common(&n->svc, node, service, opts, FY_PORT_PUB, n->id, &n->slot, &n->gen, "ferry_notifier_open");
    if (rc) {
        free(n);
        return rc;
    }
    fy_node_add_port(node, &n->link, FY_LINK_NOTIFIER);
    *out = n;
    fy_ok();
    return FERRY_OK;
}

int ferry_notifier_notify(ferry_notifier *n, uint32_t event_id)
{
    if (!n)
        return fy_fail(FERRY_EINVAL, "ferry_notifier_notify: notifier is NULL");
    if (event_id > n->svc.cfg.max_event_id)
        return fy_fail(FERRY_EINVAL, "ferry_notifier_notify on \"%s\": event id %u is above max_event_id (%u)",
                       n->svc.name, event_id, n->svc.cfg.max_event_id);
    fy_event_raise(&n->svc, event_id);
    return FERRY_OK;
}

void ferry_notifier_close(ferry_notifier *n)
{
    if (!n)
        return;
    fy_node_remove_port(n->node, &n->link);
    fy_service_leave(&n->svc, FY_PORT_PUB, n->slot, n->gen);
    free(n);
}

/* ---- listener ------------------------------------------------------------ */

static int listener_ready(void *ctx)
{
    ferry_listener *l = ctx;
    for (uint32_t w = 0; w < l->words; w++)
        if (atomic_load_explicit(&l->bits[w], memory_order_seq_cst))
            return 1;
    return 0;
}

/* A notifier whose process died is retired, which raises PEER_GONE here. */
static int listener_peers(void *ctx)
{
    ferry_listener *l = ctx;
    int dead = 0;
    for (uint32_t p = 0; p < l->svc.cfg.max_publishers && !dead; p++) {
        struct fy_slot *ns = fy_pub_slot(l->svc.hdr, &l->svc.geo, p);
        if (atomic_load_explicit(&ns->state, memory_order_acquire) == FY_SLOT_ACTIVE &&
            !fy_node_alive(l->svc.domain, atomic_load_explicit(&ns->owner, memory_order_relaxed)))
            dead = 1;
    }
    if (dead)
        fy_service_reap_locked(&l->svc);
    return dead;
}

int ferry_listener_open(ferry_listener **out, ferry_node *node, const char *service, const ferry_event_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_listener_open: listener is NULL");
    *out = NULL;
    ferry_listener *l = calloc(1, sizeof *l);
    if (!l)
        return fy_fail(FERRY_ENOMEM, "ferry_listener_open: out of memory");
    l->node = node;
    l->id = fy_os_random64();
    int rc = open_common(&l->svc, node, service, opts, FY_PORT_SUB, l->id, &l->slot, &l->gen, "ferry_listener_open");
    if (rc) {
        free(l);
        return rc;
    }
    l->bits = fy_event_bits(l->svc.hdr, &l->svc.geo, l->slot);
    l->words = (l->svc.cfg.max_event_id + 2 + 63) / 64;
    fy_waiter_init(&l->waiter, &fy_sub_slot(l->svc.hdr, &l->svc.geo, l->slot)->waiter, l->svc.domain, l->id);
    l->ops.ready = listener_ready;
    l->ops.peers = listener_peers;
    l->ops.ctx = l;
    fy_node_add_port(node, &l->link, FY_LINK_LISTENER);
    *out = l;
    fy_ok();
    return FERRY_OK;
}

static int collect(ferry_listener *l, uint32_t *ids, size_t max, size_t *count)
{
    size_t n = 0;
    uint32_t gone_bit = l->svc.cfg.max_event_id + 1;
    for (uint32_t w = 0; w < l->words && n < max; w++) {
        if (atomic_load_explicit(&l->bits[w], memory_order_relaxed) == 0)
            continue;
        /* acq_rel: see whatever the notifier wrote before raising the id. */
        uint64_t v = atomic_exchange_explicit(&l->bits[w], 0, memory_order_acq_rel);
        while (v && n < max) {
            unsigned b = (unsigned)__builtin_ctzll(v);
            v &= v - 1;
            uint32_t id = w * 64 + b;
            if (id > gone_bit)
                continue; /* bits past the last id: a peer's garbage */
            ids[n++] = id == gone_bit ? FERRY_EVENT_PEER_GONE : id;
        }
        if (v) /* did not fit: leave pending */
            atomic_fetch_or_explicit(&l->bits[w], v, memory_order_relaxed);
    }
    *count = n;
    /* FD mode: an fd that stays readable with nothing pending would cost
     * the user a wake-up; re-arm as soon as everything was collected. */
    if (l->waiter.fd >= 0 && (n == 0 || !listener_ready(l)))
        fy_waiter_rearm(&l->waiter, &l->ops);
    return n == 0 ? FERRY_EAGAIN : FERRY_OK;
}

static int check_collect_args(ferry_listener *l, uint32_t *ids, size_t max, size_t *count, const char *what)
{
    if (count)
        *count = 0;
    if (!l || !ids || !count)
        return fy_fail(FERRY_EINVAL, "%s: %s is NULL", what, !l ? "listener" : !ids ? "ids" : "count");
    if (max == 0)
        return fy_fail(FERRY_EINVAL, "%s: max is 0: pass room for at least one id", what);
    return FERRY_OK;
}

int ferry_listener_try_wait(ferry_listener *l, uint32_t *ids, size_t max, size_t *count)
{
    int rc = check_collect_args(l, ids, max, count, "ferry_listener_try_wait");
    if (rc)
        return rc;
    rc = collect(l, ids, max, count);
    return rc == FERRY_EAGAIN ? fy_fail(rc, "ferry_listener_try_wait on \"%s\": no event pending", l->svc.name) : rc;
}

int ferry_listener_wait(ferry_listener *l, uint32_t *ids, size_t max, size_t *count, int64_t timeout_ns)
{
    int rc = check_collect_args(l, ids, max, count, "ferry_listener_wait");
    if (rc)
        return rc;
    if (timeout_ns < 0 && timeout_ns != FERRY_FOREVER)
        return fy_fail(FERRY_EINVAL, "ferry_listener_wait: timeout %lld: use >= 0 or FERRY_FOREVER",
                       (long long)timeout_ns);
    uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : fy_os_now_ns() + (uint64_t)timeout_ns;
    for (;;) {
        if (collect(l, ids, max, count) == FERRY_OK)
            return FERRY_OK;
        uint64_t now = fy_os_now_ns();
        if (now >= deadline && timeout_ns >= 0)
            break;
        int64_t left = timeout_ns < 0 ? FERRY_FOREVER : (int64_t)(deadline - now);
        if (fy_waiter_wait(&l->waiter, &l->ops, left) == FERRY_ETIMEDOUT)
            break;
    }
    return fy_fail(FERRY_ETIMEDOUT, "ferry_listener_wait on \"%s\": no event within %lld ns", l->svc.name,
                   (long long)timeout_ns);
}

int ferry_listener_fd(ferry_listener *l)
{
    if (!l)
        return fy_fail(FERRY_EINVAL, "ferry_listener_fd: listener is NULL");
    int fd = fy_waiter_fd(&l->waiter);
    if (fd >= 0 && listener_ready(l)) {
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong(&l->waiter.shm->signaled, &zero, 1))
            fy_os_signal_send(l->waiter.name);
    }
    return fd;
}

int ferry_listener_set_wait_opts(ferry_listener *l, const ferry_wait_opts *opts)
{
    if (!l)
        return fy_fail(FERRY_EINVAL, "ferry_listener_set_wait_opts: listener is NULL");
    return fy_waiter_set_opts(&l->waiter, opts);
}

void ferry_listener_close(ferry_listener *l)
{
    if (!l)
        return;
    fy_node_remove_port(l->node, &l->link);
    fy_waiter_fini(&l->waiter);
    fy_service_leave(&l->svc, FY_PORT_SUB, l->slot, l->gen);
    free(l);
}

int fy_listener_pending(ferry_listener *l) { return listener_ready(l); }

void fy_listener_settle(ferry_listener *l)
{
    if (l->waiter.fd >= 0 && !listener_ready(l))
        fy_waiter_rearm(&l->waiter, &l->ops);
}

int fy_listener_check_peers(ferry_listener *l) { return listener_peers(l); }
