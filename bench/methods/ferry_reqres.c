/*
 * ferry-reqres, ferry-reqres-touch: ferry's request-response pattern. A is
 * the client, B the server of service "rpc". A loans a request of the
 * message size and sends it (ferry_client_send); B busy-polls
 * ferry_server_take, checks the request's size, loans a response of the same
 * size, responds with FERRY_RESPONSE_LAST and finishes the call; A busy-polls
 * ferry_client_take and checks that the response is the last one of the call
 * it sent and that call ids advance by one per call, in step with the
 * harness's sequence. As in `ferry`, the payloads stay untouched: this
 * measures the two hand-offs. With touch, both sides also write the harness's
 * sequence into every 64 B line of what they send and check every line of
 * what they receive. The harness times A's round trip (one call) and reports
 * half of it, as for every method, so the figure is comparable with the
 * one-way latencies. Sizes up to 1 MiB.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

#include "ferry/ferry.h"

#define RR_MAX_SIZE (1024u * 1024u)

extern const struct bench_method bench_method_ferry;

struct rr_ep {
    ferry_node *node;
    ferry_client *client;
    ferry_server *server;
    size_t size;
    int touch;
    uint64_t call_id; /* client: the open call */
    ferry_call call;  /* server: the call being answered */
    int have_offset;
    uint64_t id_offset; /* client: harness sequence - call id */
};

static int rr_err(const char *what)
{
    return bench_fail("%s: %s (%s)", what, ferry_strerror(ferry_last_error()), ferry_last_error_message());
}

static int rr_supports(const struct bench_params *p, char *why, size_t n)
{
    if (p->size > RR_MAX_SIZE) {
        snprintf(why, n, "ferry-reqres is measured up to 1 MiB");
        return 0;
    }
    return 1;
}

static int rr_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    *shared = NULL;
    return 0;
}

static void rr_close(void *opaque)
{
    struct rr_ep *ep = opaque;
    if (!ep)
        return;
    ferry_client_close(ep->client);
    ferry_server_close(ep->server);
    ferry_node_close(ep->node);
    free(ep);
}

static int rr_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    (void)shared;
    struct rr_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->touch = p->touch;
    ferry_node_opts nopts;
    ferry_node_opts_init(&nopts);
    nopts.domain = p->tag;
    ferry_reqres_opts o;
    ferry_reqres_opts_init(&o);
    o.request_type = o.response_type = "ferry-bench";
    o.max_request = o.max_response = p->size;
    o.alignment = BENCH_LINE;
    o.max_clients = 1;
    o.max_servers = 1;
    o.max_pending = 1;
    o.request_queue = 2;
    o.response_queue = 2;
    o.max_loans = 1;
    o.max_borrowed = 1;
    if (ferry_node_open(&ep->node, role == BENCH_ROLE_A ? "bench-a" : "bench-b", &nopts) != FERRY_OK) {
        rr_err("ferry_node_open");
        goto fail;
    }
    if (role == BENCH_ROLE_A) {
        if (ferry_client_open(&ep->client, ep->node, "rpc", &o) != FERRY_OK) {
            rr_err("ferry_client_open");
            goto fail;
        }
    } else if (ferry_server_open(&ep->server, ep->node, "rpc", &o) != FERRY_OK) {
        rr_err("ferry_server_open");
        goto fail;
    }
    *out = ep;
    return 0;
fail:
    rr_close(ep);
    return -1;
}

/* A: a request; B: the response to the call taken in rr_recv. */
static int rr_send(void *opaque, uint64_t seq)
{
    struct rr_ep *ep = opaque;
    void *payload;
    if (ep->client) {
        if (ferry_client_loan(ep->client, ep->size, &payload) != FERRY_OK)
            return rr_err("ferry_client_loan");
        if (ep->touch)
            bench_payload_fill(payload, ep->size, seq, 1);
        unsigned spins = 0;
        for (;;) {
            int rc = ferry_client_send(ep->client, payload, &ep->call_id);
            if (rc == FERRY_OK)
                return 0;
            /* The server is opened before the start barrier, but may not be
             * listed yet on the very first call. */
            if (rc != FERRY_ENOTFOUND && rc != FERRY_EAGAIN) {
                return rr_err("ferry_client_send");
            }
            bench_spin(&spins);
        }
    }
    if (ferry_server_loan(ep->server, ep->call, ep->size, &payload) != FERRY_OK)
        return rr_err("ferry_server_loan");
    if (ep->touch)
        bench_payload_fill(payload, ep->size, seq, 1);
    if (ferry_server_respond(ep->server, ep->call, payload, FERRY_RESPONSE_LAST) != FERRY_OK)
        return rr_err("ferry_server_respond");
    if (ferry_server_finish(ep->server, ep->call) != FERRY_OK)
        return rr_err("ferry_server_finish");
    return 0;
}

static int rr_recv(void *opaque, uint64_t seq)
{
    struct rr_ep *ep = opaque;
    const void *payload;
    size_t size = 0;
    unsigned spins = 0;
    int rc;
    if (ep->server) {
        while ((rc = ferry_server_take(ep->server, &ep->call, &payload, &size)) == FERRY_EAGAIN)
            bench_spin(&spins);
        if (rc != FERRY_OK)
            return rr_err("ferry_server_take");
        if (size != ep->size)
            return bench_fail("request %llu: size %zu, expected %zu", (unsigned long long)seq, size, ep->size);
        /* The request stays valid until ferry_server_finish (in rr_send). */
        return ep->touch ? bench_payload_check(payload, ep->size, seq, 1) : 0;
    }
    uint64_t id = 0;
    int last = 0;
    while ((rc = ferry_client_take(ep->client, &id, &payload, &size, &last)) == FERRY_EAGAIN)
        bench_spin(&spins);
    if (rc != FERRY_OK)
        return rr_err("ferry_client_take");
    int bad = 0;
    if (id != ep->call_id || !last)
        bad = bench_fail("response %llu: call %llu (last %d), expected the last response of call %llu",
                         (unsigned long long)seq, (unsigned long long)id, last, (unsigned long long)ep->call_id);
    else if (size != ep->size || !payload)
        bad = bench_fail("response %llu: size %zu, expected %zu", (unsigned long long)seq, size, ep->size);
    else if (ep->touch)
        bad = bench_payload_check(payload, ep->size, seq, 1);
    if (!bad) {
        if (!ep->have_offset) {
            ep->id_offset = seq - id;
            ep->have_offset = 1;
        }
        if (id + ep->id_offset != seq)
            bad = bench_seq_error(seq, id + ep->id_offset);
    }
    ferry_client_release(ep->client, payload);
    return bad;
}

static int rr_cleanup(const struct bench_params *p, void *shared) { return bench_method_ferry.cleanup(p, shared); }

const struct bench_method bench_method_ferry_reqres = {
    .name = "ferry-reqres",
    .summary = "ferry request-response: one call (request + last response, both busy-polled, payloads "
               "untouched); one-way = round trip / 2; up to 1 MiB",
    .touch = 0,
    .stream = 0,
    .prepare = rr_prepare,
    .open = rr_open,
    .send = rr_send,
    .recv = rr_recv,
    .close = rr_close,
    .cleanup = rr_cleanup,
    .supports = rr_supports,
};

const struct bench_method bench_method_ferry_reqres_touch = {
    .name = "ferry-reqres-touch",
    .summary = "ferry-reqres, plus both sides write and read every 64 B line of request and response",
    .touch = 1,
    .stream = 0,
    .prepare = rr_prepare,
    .open = rr_open,
    .send = rr_send,
    .recv = rr_recv,
    .close = rr_close,
    .cleanup = rr_cleanup,
    .supports = rr_supports,
};
