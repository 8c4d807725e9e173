/*
 * zmq: ZeroMQ PAIR sockets over ipc:// (a Unix socket in a temporary
 * directory). A binds, B connects, each in its own context; zmq_send() of
 * the whole payload, zmq_recv() into a private buffer (ZeroMQ copies it on
 * both sides and moves it through its I/O threads). Built only when
 * pkg-config finds libzmq.
 */
#include "bench.h"
#include "ipcdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct zmq_ep {
    void *ctx, *sock;
    size_t size;
    unsigned char *tx, *rx;
};

static int zerr(const char *what) { return bench_fail("%s: %s", what, zmq_strerror(zmq_errno())); }

static void z_close(void *opaque)
{
    struct zmq_ep *ep = opaque;
    if (!ep)
        return;
    if (ep->sock)
        zmq_close(ep->sock); /* default linger: queued messages are still delivered */
    if (ep->ctx)
        zmq_ctx_term(ep->ctx);
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

static int z_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct ipcdir_shared *sh = shared;
    struct zmq_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->tx = calloc(1, p->size);
    ep->rx = calloc(1, p->size + 1);
    if (!ep->tx || !ep->rx) {
        z_close(ep);
        return bench_fail("out of memory");
    }
    ep->ctx = zmq_ctx_new();
    if (!ep->ctx) {
        z_close(ep);
        return zerr("zmq_ctx_new");
    }
    ep->sock = zmq_socket(ep->ctx, ZMQ_PAIR);
    if (!ep->sock) {
        zerr("zmq_socket");
        z_close(ep);
        return -1;
    }
    int rc = role == BENCH_ROLE_A ? zmq_bind(ep->sock, sh->url) : zmq_connect(ep->sock, sh->url);
    if (rc != 0) {
        zerr(role == BENCH_ROLE_A ? "zmq_bind" : "zmq_connect");
        z_close(ep);
        return -1;
    }
    *out = ep;
    return 0;
}

static int z_send(void *opaque, uint64_t seq)
{
    struct zmq_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    while (zmq_send(ep->sock, ep->tx, ep->size, 0) < 0) {
        if (zmq_errno() != EINTR)
            return zerr("zmq_send");
    }
    return 0;
}

static int z_recv(void *opaque, uint64_t seq)
{
    struct zmq_ep *ep = opaque;
    int n;
    while ((n = zmq_recv(ep->sock, ep->rx, ep->size + 1, 0)) < 0) {
        if (zmq_errno() != EINTR)
            return zerr("zmq_recv");
    }
    if ((size_t)n != ep->size)
        return bench_fail("message %llu: %d bytes, expected %zu", (unsigned long long)seq, n, ep->size);
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

const struct bench_method bench_method_zmq = {
    .name = "zmq",
    .summary = "ZeroMQ PAIR over ipc://, zmq_send()/zmq_recv() (copies; through ZeroMQ's I/O threads)",
    .stream = 1,
    .prepare = ipcdir_prepare,
    .open = z_open,
    .send = z_send,
    .recv = z_recv,
    .close = z_close,
    .cleanup = ipcdir_cleanup,
};
