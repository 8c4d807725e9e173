/*
 * ferry, ferry-touch, ferry-ts, ferry-wait, ferry-spin: the library under
 * test.
 *
 * Ping-pong: A publishes on "ping" and subscribes to "pong"; B the reverse.
 * Every message is loaned and sent; the receiver busy-polls
 * ferry_sub_take_info, checks the size and the sequence number and releases.
 * Without touch the payload stays untouched (this measures the hand-off):
 * the sequence checked is the one ferry carries with every sample
 * (ferry_sample_info.sequence), which must advance in step with the
 * harness's. With touch the sender
 * writes the harness's sequence into every 64 B line and the receiver checks
 * every line. Small pools: queue 2, one publisher, one subscriber, no
 * history, max_payload = the message size.
 *
 * Stream: A publishes on "stream" with FERRY_OVERFLOW_BLOCK and hands each
 * loan over with ferry_pub_try_send, retrying while the queue is full; B
 * takes, checks and releases.
 *
 * ferry-ts publishes with timestamps. ferry-wait and ferry-spin receive
 * differently: when a take finds nothing, the receiver blocks in
 * ferry_sub_wait instead of busy-polling ferry_sub_take_info, which is the wake-up latency an
 * application sees when it does not burn a core. ferry-wait sleeps at once
 * (the default wait options); ferry-spin sets spin_ns = 20000 with
 * ferry_sub_set_wait_opts, so it polls for up to 20 us before it sleeps.
 *
 * Every measurement uses its own domain (the harness's tag). cleanup() runs
 * ferry_cleanup on it once both processes have gone and then makes sure that
 * nothing of the domain is left in /dev/shm.
 */
#include "bench.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/ferry.h"

struct ferry_ep {
    ferry_node *node;
    ferry_pub *pub;
    ferry_sub *sub;
    size_t size;
    int touch;
    int stream;
    int wait; /* receive through ferry_sub_wait */
    int have_offset;
    uint64_t seq_offset; /* harness sequence - ferry sequence */
};

/* Bits of bench_method.touch (passed on as bench_params.touch) that this
 * file reads as variants; bit 0 is touch itself. */
#define FERRY_BENCH_TIMESTAMPS 2 /* publish with timestamps */
#define FERRY_BENCH_WAIT 4       /* receive through ferry_sub_wait */
#define FERRY_BENCH_SPIN 8       /* ... with spin_ns = 20000 */

static int ferry_err(const char *what)
{
    return bench_fail("%s: %s (%s)", what, ferry_strerror(ferry_last_error()), ferry_last_error_message());
}

static void opts_for(const struct bench_params *p, ferry_pubsub_opts *o)
{
    ferry_pubsub_opts_init(o);
    o->type_name = "ferry-bench";
    o->max_payload = p->size;
    o->alignment = BENCH_LINE;
    o->history = 0;
    o->max_publishers = 1;
    o->max_subscribers = 1;
    o->max_loans = p->mode == BENCH_STREAM ? 2 : 1;
    o->max_borrowed = p->mode == BENCH_STREAM ? 2 : 1;
    o->queue_capacity = p->mode == BENCH_STREAM ? p->queue : 2;
    o->overflow = FERRY_OVERFLOW_BLOCK;
    /* ferry-ts: the same with the per-sample clock read (off by default). */
    o->timestamps = (p->touch & FERRY_BENCH_TIMESTAMPS) ? 1 : 0;
}

static int ferry_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    *shared = NULL;
    return 0;
}

static void ferry_close_ep(void *opaque)
{
    struct ferry_ep *ep = opaque;
    if (!ep)
        return;
    ferry_sub_close(ep->sub);
    ferry_pub_close(ep->pub);
    ferry_node_close(ep->node);
    free(ep);
}

static int ferry_open_ep(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    (void)shared;
    struct ferry_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->touch = p->touch & 1;
    ep->stream = p->mode == BENCH_STREAM;
    ep->wait = (p->touch & (FERRY_BENCH_WAIT | FERRY_BENCH_SPIN)) != 0;

    ferry_node_opts nopts;
    ferry_node_opts_init(&nopts);
    nopts.domain = p->tag;
    ferry_pubsub_opts o;
    opts_for(p, &o);

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
    int rc = ferry_node_open(&ep->node, role == BENCH_ROLE_A ? "bench-a" : "bench-b", &nopts);
    if (rc != FERRY_OK) {
        ferry_err("ferry_node_open");
        goto fail;
    }
    /* Subscribe first: a sample sent before the subscriber exists is not
     * delivered (history 0). The harness's barrier follows open(). */
    if (rx && ferry_sub_open(&ep->sub, ep->node, rx, &o) != FERRY_OK) {
        ferry_err("ferry_sub_open");
        goto fail;
    }
    if (rx && (p->touch & FERRY_BENCH_SPIN)) {
        ferry_wait_opts w;
        ferry_wait_opts_init(&w);
        w.spin_ns = 20000;
        if (ferry_sub_set_wait_opts(ep->sub, &w) != FERRY_OK) {
            ferry_err("ferry_sub_set_wait_opts");
            goto fail;
        }
    }
    if (tx && ferry_pub_open(&ep->pub, ep->node, tx, &o) != FERRY_OK) {
        ferry_err("ferry_pub_open");
        goto fail;
    }
    *out = ep;
    return 0;
fail:
    ferry_close_ep(ep);
    return -1;
}

static int ferry_send(void *opaque, uint64_t seq)
{
    struct ferry_ep *ep = opaque;
    void *payload;
    if (ferry_pub_loan(ep->pub, ep->size, &payload) != FERRY_OK)
        return ferry_err("ferry_pub_loan");
    if (ep->touch)
        bench_payload_fill(payload, ep->size, seq, 1);
    if (!ep->stream) {
        if (ferry_pub_send(ep->pub, payload) != FERRY_OK)
            return ferry_err("ferry_pub_send");
        return 0;
    }
    unsigned spins = 0;
    for (;;) {
        int rc = ferry_pub_try_send(ep->pub, payload);
        if (rc == FERRY_OK)
            return 0;
        if (rc != FERRY_EAGAIN)
            return ferry_err("ferry_pub_try_send");
        bench_spin(&spins);
    }
}

static int ferry_recv(void *opaque, uint64_t seq)
{
    struct ferry_ep *ep = opaque;
    const void *payload;
    ferry_sample_info info;
    unsigned spins = 0;
    int rc;
    while ((rc = ferry_sub_take_info(ep->sub, &payload, &info)) == FERRY_EAGAIN) {
        if (!ep->wait)
            bench_spin(&spins);
        else if (ferry_sub_wait(ep->sub, FERRY_FOREVER) != FERRY_OK)
            return ferry_err("ferry_sub_wait");
    }
    if (rc != FERRY_OK)
        return ferry_err("ferry_sub_take_info");
    int bad = 0;
    if (info.size != ep->size) {
        bad = bench_fail("message %llu: size %zu, expected %zu", (unsigned long long)seq, info.size, ep->size);
    } else if (ep->touch) {
        bad = bench_payload_check(payload, ep->size, seq, 1);
    } else {
        if (!ep->have_offset) {
            ep->seq_offset = seq - info.sequence;
            ep->have_offset = 1;
        }
        if (info.sequence + ep->seq_offset != seq)
            bad = bench_seq_error(seq, info.sequence + ep->seq_offset);
    }
    ferry_sub_release(ep->sub, payload);
    return bad;
}

static int ferry_cleanup_domain(const struct bench_params *p, void *shared)
{
    (void)shared;
    unsigned removed = 0;
    int ret = 0;
    if (ferry_cleanup(p->tag, &removed) != FERRY_OK)
        ret = ferry_err("ferry_cleanup");
    static int noted;
    if (removed && !noted) {
        noted = 1;
        fprintf(stderr,
                "note: ferry_cleanup removed %u object(s) of domain %s that its closed (or killed) nodes left "
                "in /dev/shm (reported once)\n",
                removed, p->tag);
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "ferry.%s.", p->tag);
    size_t plen = strlen(prefix);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return ret;
    unsigned left = 0;
    char first[256] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, plen) != 0)
            continue;
        if (!left)
            snprintf(first, sizeof first, "%s", de->d_name);
        left++;
        char path[512];
        snprintf(path, sizeof path, "/dev/shm/%s", de->d_name);
        unlink(path);
    }
    closedir(d);
    if (left)
        ret = bench_fail("%u object(s) of domain %s were still in /dev/shm after ferry_cleanup (first: %s); "
                         "removed them",
                         left, p->tag, first);
    return ret;
}

/* The five variants differ in name, summary and the touch bits only. */
#define FERRY_METHOD(method_name, bits, text)                                                                          \
    {                                                                                                                  \
        .name = method_name, .summary = text, .touch = bits, .stream = 1, .prepare = ferry_prepare,                    \
        .open = ferry_open_ep, .send = ferry_send, .recv = ferry_recv, .close = ferry_close_ep,                        \
        .cleanup = ferry_cleanup_domain,                                                                               \
    }

const struct bench_method bench_method_ferry =
    FERRY_METHOD("ferry", 0,
                 "ferry publish-subscribe, loan/send per message, busy-polling ferry_sub_take_info; payload "
                 "untouched, the sequence checked is the one ferry carries (ferry_sample_info)");

const struct bench_method bench_method_ferry_ts =
    FERRY_METHOD("ferry-ts", FERRY_BENCH_TIMESTAMPS,
                 "ferry with timestamps = 1: one clock read per send (ferry_sample_info.timestamp_ns)");

const struct bench_method bench_method_ferry_touch =
    FERRY_METHOD("ferry-touch", 1, "ferry, plus the sender writes and the receiver reads every 64 B line of the payload");

const struct bench_method bench_method_ferry_wait =
    FERRY_METHOD("ferry-wait", FERRY_BENCH_WAIT,
                 "ferry publish-subscribe, the receiver sleeps in ferry_sub_wait whenever nothing is queued "
                 "(wake-up latency)");

const struct bench_method bench_method_ferry_spin =
    FERRY_METHOD("ferry-spin", FERRY_BENCH_SPIN,
                 "ferry-wait with spin_ns = 20000 (ferry_sub_set_wait_opts): polls up to 20 us, then sleeps");
