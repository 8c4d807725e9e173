/*
 * ferry-event: ferry's event pattern. A notifies on "ping" and listens on
 * "pong", B the reverse; a message is one event id (1 + the sequence number
 * modulo 63, so consecutive messages differ), collected with a blocking
 * ferry_listener_wait and checked. Events carry no payload: measured at 64 B
 * only, other sizes are skipped. No streaming (repeated ids coalesce by
 * design, so a stream could not be checked message by message).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

#include "ferry/ferry.h"

extern const struct bench_method bench_method_ferry;

struct fe_ep {
    ferry_node *node;
    ferry_notifier *tx;
    ferry_listener *rx;
};

static int fe_err(const char *what)
{
    return bench_fail("%s: %s (%s)", what, ferry_strerror(ferry_last_error()), ferry_last_error_message());
}

static uint32_t fe_id(uint64_t seq) { return (uint32_t)(1 + seq % 63); }

static int fe_supports(const struct bench_params *p, char *why, size_t n)
{
    if (p->size != 64) {
        snprintf(why, n, "an event carries no payload (only its id): measured at 64 B only");
        return 0;
    }
    return 1;
}

static int fe_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    *shared = NULL;
    return 0;
}

static void fe_close(void *opaque)
{
    struct fe_ep *ep = opaque;
    if (!ep)
        return;
    ferry_listener_close(ep->rx);
    ferry_notifier_close(ep->tx);
    ferry_node_close(ep->node);
    free(ep);
}

static int fe_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    (void)shared;
    struct fe_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ferry_node_opts nopts;
    ferry_node_opts_init(&nopts);
    nopts.domain = p->tag;
    ferry_event_opts o;
    ferry_event_opts_init(&o);
    o.max_notifiers = 1;
    o.max_listeners = 1;
    const char *tx = role == BENCH_ROLE_A ? "ping" : "pong";
    const char *rx = role == BENCH_ROLE_A ? "pong" : "ping";
    if (ferry_node_open(&ep->node, role == BENCH_ROLE_A ? "bench-a" : "bench-b", &nopts) != FERRY_OK) {
        fe_err("ferry_node_open");
        goto fail;
    }
    if (ferry_listener_open(&ep->rx, ep->node, rx, &o) != FERRY_OK) {
        fe_err("ferry_listener_open");
        goto fail;
    }
    if (ferry_notifier_open(&ep->tx, ep->node, tx, &o) != FERRY_OK) {
        fe_err("ferry_notifier_open");
        goto fail;
    }
    *out = ep;
    return 0;
fail:
    fe_close(ep);
    return -1;
}

static int fe_send(void *opaque, uint64_t seq)
{
    struct fe_ep *ep = opaque;
    return ferry_notifier_notify(ep->tx, fe_id(seq)) == FERRY_OK ? 0 : fe_err("ferry_notifier_notify");
}

static int fe_recv(void *opaque, uint64_t seq)
{
    struct fe_ep *ep = opaque;
    uint32_t ids[4];
    size_t count = 0;
    if (ferry_listener_wait(ep->rx, ids, 4, &count, FERRY_FOREVER) != FERRY_OK)
        return fe_err("ferry_listener_wait");
    /* The peer may finish and close its notifier right after its last
     * message: its departure (FERRY_EVENT_PEER_GONE) can then come with it. */
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (ids[i] != FERRY_EVENT_PEER_GONE)
            ids[kept++] = ids[i];
    count = kept;
    if (count != 1 || ids[0] != fe_id(seq))
        return bench_fail("message %llu: collected %zu event id(s), the first %u; expected exactly id %u",
                          (unsigned long long)seq, count, count ? ids[0] : 0u, fe_id(seq));
    return 0;
}

static int fe_cleanup(const struct bench_params *p, void *shared) { return bench_method_ferry.cleanup(p, shared); }

const struct bench_method bench_method_ferry_event = {
    .name = "ferry-event",
    .summary = "ferry events: notify one id, the peer sleeps in ferry_listener_wait; no payload, 64 B row only",
    .stream = 0,
    .prepare = fe_prepare,
    .open = fe_open,
    .send = fe_send,
    .recv = fe_recv,
    .close = fe_close,
    .cleanup = fe_cleanup,
    .supports = fe_supports,
};
