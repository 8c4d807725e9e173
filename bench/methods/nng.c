/*
 * nng: NNG pair1 sockets over ipc:// (a Unix socket in a temporary
 * directory). A listens, B dials (non-blocking, so NNG retries until A
 * listens); nng_send() of the whole payload, nng_recv() into a private
 * buffer. Latency only: nng_close() may drop messages still queued, so the
 * last messages of a stream could not be checked. Built only when nng is
 * found.
 */
#include "bench.h"
#include "ipcdir.h"

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nng_ep {
    nng_socket sock;
    int opened;
    size_t size;
    unsigned char *tx, *rx;
};

/* Larger messages made the ping-pong hang here (NNG 1.5.2, pair1 over ipc://,
 * 512 KiB and 1 MiB; 64 KiB passes): measured up to this size until that is
 * understood. */
#define NNG_MAX_SIZE (64u * 1024u)

static int n_supports(const struct bench_params *p, char *why, size_t n)
{
    if (p->size > NNG_MAX_SIZE) {
        snprintf(why, n, "messages above 64 KiB hung in this harness with NNG %s (pair1, ipc://); not measured",
                 nng_version());
        return 0;
    }
    return 1;
}

static int nerr(const char *what, int rc) { return bench_fail("%s: %s", what, nng_strerror(rc)); }

static void n_close(void *opaque)
{
    struct nng_ep *ep = opaque;
    if (!ep)
        return;
    if (ep->opened)
        nng_close(ep->sock);
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

static int n_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct ipcdir_shared *sh = shared;
    struct nng_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->tx = calloc(1, p->size);
    ep->rx = calloc(1, p->size + 1);
    if (!ep->tx || !ep->rx) {
        n_close(ep);
        return bench_fail("out of memory");
    }
    int rc = nng_pair1_open(&ep->sock);
    if (rc != 0) {
        n_close(ep);
        return nerr("nng_pair1_open", rc);
    }
    ep->opened = 1;
    /* Messages above the default 1 MiB receive limit. */
    rc = nng_socket_set_size(ep->sock, NNG_OPT_RECVMAXSZ, p->size + 4096);
    if (rc != 0) {
        n_close(ep);
        return nerr("nng_socket_set_size recv-size-max", rc);
    }
    if (role == BENCH_ROLE_A)
        rc = nng_listen(ep->sock, sh->url, NULL, 0);
    else
        rc = nng_dial(ep->sock, sh->url, NULL, NNG_FLAG_NONBLOCK);
    if (rc != 0) {
        nerr(role == BENCH_ROLE_A ? "nng_listen" : "nng_dial", rc);
        n_close(ep);
        return -1;
    }
    *out = ep;
    return 0;
}

static int n_send(void *opaque, uint64_t seq)
{
    struct nng_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    int rc = nng_send(ep->sock, ep->tx, ep->size, 0);
    return rc == 0 ? 0 : nerr("nng_send", rc);
}

static int n_recv(void *opaque, uint64_t seq)
{
    struct nng_ep *ep = opaque;
    size_t n = ep->size + 1;
    int rc = nng_recv(ep->sock, ep->rx, &n, 0);
    if (rc != 0)
        return nerr("nng_recv", rc);
    if (n != ep->size)
        return bench_fail("message %llu: %zu bytes, expected %zu", (unsigned long long)seq, n, ep->size);
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

const struct bench_method bench_method_nng = {
    .name = "nng",
    .summary = "NNG pair1 over ipc://, nng_send()/nng_recv() (copies; latency only)",
    .stream = 0,
    .prepare = ipcdir_prepare,
    .open = n_open,
    .send = n_send,
    .recv = n_recv,
    .close = n_close,
    .cleanup = ipcdir_cleanup,
    .supports = n_supports,
};
