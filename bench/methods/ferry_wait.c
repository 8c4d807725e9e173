/*
 * ferry-wait, ferry-spin: ferry publish-subscribe as in `ferry`, but the
 * receiver blocks in ferry_sub_wait before every take instead of busy-polling
 * ferry_sub_take: the wake-up latency an application sees when it does not
 * burn a core. ferry-wait sleeps at once (the default wait options);
 * ferry-spin sets spin_ns = 20000 with ferry_sub_set_wait_opts, so it polls
 * for up to 20 us before it sleeps. Pools, options, cleanup and the
 * sequence check (payload untouched) as `ferry`.
 */
#include "bench.h"

#include <stdlib.h>

#include "ferry/ferry.h"
#include "ferry_seq.h"

extern const struct bench_method bench_method_ferry;

struct fw_ep {
    ferry_node *node;
    ferry_pub *pub;
    ferry_sub *sub;
    size_t size;
    int stream;
    struct ferry_seq seq;
};

static int fw_err(const char *what)
{
    return bench_fail("%s: %s (%s)", what, ferry_strerror(ferry_last_error()), ferry_last_error_message());
}

static int fw_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    *shared = NULL;
    return 0;
}

static void fw_close(void *opaque)
{
    struct fw_ep *ep = opaque;
    if (!ep)
        return;
    ferry_sub_close(ep->sub);
    ferry_pub_close(ep->pub);
    ferry_node_close(ep->node);
    free(ep);
}

static int fw_open_common(const struct bench_params *p, enum bench_role role, int64_t spin_ns, void **out)
{
    struct fw_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->stream = p->mode == BENCH_STREAM;
    ferry_node_opts nopts;
    ferry_node_opts_init(&nopts);
    nopts.domain = p->tag;
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = "ferry-bench";
    o.max_payload = p->size;
    o.alignment = BENCH_LINE;
    o.history = 0;
    o.max_publishers = 1;
    o.max_subscribers = 1;
    o.max_loans = ep->stream ? 2 : 1;
    o.max_borrowed = ep->stream ? 2 : 1;
    o.queue_capacity = ep->stream ? p->queue : 2;
    o.overflow = FERRY_OVERFLOW_BLOCK;
    const char *tx = NULL, *rx = NULL;
    if (ep->stream) {
        if (role == BENCH_ROLE_A)
            tx = "stream";
        else
            rx = "stream";
    } else {
        tx = role == BENCH_ROLE_A ? "ping" : "pong";
        rx = role == BENCH_ROLE_A ? "pong" : "ping";
    }
    if (ferry_node_open(&ep->node, role == BENCH_ROLE_A ? "bench-a" : "bench-b", &nopts) != FERRY_OK) {
        fw_err("ferry_node_open");
        goto fail;
    }
    if (rx) {
        if (ferry_sub_open(&ep->sub, ep->node, rx, &o) != FERRY_OK) {
            fw_err("ferry_sub_open");
            goto fail;
        }
        ferry_wait_opts w;
        ferry_wait_opts_init(&w);
        w.spin_ns = spin_ns;
        if (ferry_sub_set_wait_opts(ep->sub, &w) != FERRY_OK) {
            fw_err("ferry_sub_set_wait_opts");
            goto fail;
        }
    }
    if (tx && ferry_pub_open(&ep->pub, ep->node, tx, &o) != FERRY_OK) {
        fw_err("ferry_pub_open");
        goto fail;
    }
    *out = ep;
    return 0;
fail:
    fw_close(ep);
    return -1;
}

static int fw_open_wait(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    (void)shared;
    return fw_open_common(p, role, 0, out);
}

static int fw_open_spin(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    (void)shared;
    return fw_open_common(p, role, 20000, out);
}

static int fw_send(void *opaque, uint64_t seq)
{
    struct fw_ep *ep = opaque;
    void *payload;
    if (ferry_pub_loan(ep->pub, ep->size, &payload) != FERRY_OK)
        return fw_err("ferry_pub_loan");
    (void)seq; /* the receiver checks the sequence ferry carries */
    if (!ep->stream)
        return ferry_pub_send(ep->pub, payload) == FERRY_OK ? 0 : fw_err("ferry_pub_send");
    unsigned spins = 0;
    for (;;) {
        int rc = ferry_pub_try_send(ep->pub, payload);
        if (rc == FERRY_OK)
            return 0;
        if (rc != FERRY_EAGAIN)
            return fw_err("ferry_pub_try_send");
        bench_spin(&spins);
    }
}

static int fw_recv(void *opaque, uint64_t seq)
{
    struct fw_ep *ep = opaque;
    const void *payload;
    size_t size = 0;
    int rc;
    for (;;) {
        rc = ferry_sub_wait(ep->sub, FERRY_FOREVER);
        if (rc != FERRY_OK)
            return fw_err("ferry_sub_wait");
        rc = ferry_sub_take(ep->sub, &payload, &size);
        if (rc != FERRY_EAGAIN)
            break;
    }
    if (rc != FERRY_OK)
        return fw_err("ferry_sub_take");
    int bad;
    if (size != ep->size)
        bad = bench_fail("message %llu: size %zu, expected %zu", (unsigned long long)seq, size, ep->size);
    else
        bad = ferry_seq_check(&ep->seq, ep->sub, payload, seq);
    ferry_sub_release(ep->sub, payload);
    return bad;
}

static int fw_cleanup(const struct bench_params *p, void *shared) { return bench_method_ferry.cleanup(p, shared); }

const struct bench_method bench_method_ferry_wait = {
    .name = "ferry-wait",
    .summary = "ferry publish-subscribe, the receiver sleeps in ferry_sub_wait before every take (wake-up "
               "latency)",
    .stream = 1,
    .prepare = fw_prepare,
    .open = fw_open_wait,
    .send = fw_send,
    .recv = fw_recv,
    .close = fw_close,
    .cleanup = fw_cleanup,
};

const struct bench_method bench_method_ferry_spin = {
    .name = "ferry-spin",
    .summary = "ferry-wait with spin_ns = 20000 (ferry_sub_set_wait_opts): polls up to 20 us, then sleeps",
    .stream = 1,
    .prepare = fw_prepare,
    .open = fw_open_spin,
    .send = fw_send,
    .recv = fw_recv,
    .close = fw_close,
    .cleanup = fw_cleanup,
};
