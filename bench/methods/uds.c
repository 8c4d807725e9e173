/*
 * uds: a Unix stream socket pair, the copying baseline.
 *
 * The pair is made before fork; A keeps one end, B the other. A message is
 * the payload written with write() (looping over partial writes) and read
 * back with read() into a private buffer until all size bytes are there.
 * The sequence number travels in the first 8 bytes; the kernel copies every
 * byte twice anyway, so there is no separate touch variant.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct uds_shared {
    int fd[2];
};

struct uds_ep {
    int fd;
    size_t size;
    unsigned char *tx;
    unsigned char *rx;
};

static int uds_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    struct uds_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sh->fd) != 0) {
        free(sh);
        return bench_fail("socketpair: %s", strerror(errno));
    }
    *shared = sh;
    return 0;
}

static void uds_close(void *opaque)
{
    struct uds_ep *ep = opaque;
    if (!ep)
        return;
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

static int uds_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct uds_shared *sh = shared;
    struct uds_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    unsigned mine = role == BENCH_ROLE_A ? 0 : 1;
    ep->fd = sh->fd[mine];
    close(sh->fd[1 - mine]);
    ep->size = p->size;
    ep->tx = calloc(1, p->size);
    ep->rx = calloc(1, p->size);
    if (!ep->tx || !ep->rx) {
        uds_close(ep);
        return bench_fail("out of memory for %zu-byte buffers", p->size);
    }
    *out = ep;
    return 0;
}

static int uds_send(void *opaque, uint64_t seq)
{
    struct uds_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    size_t done = 0;
    while (done < ep->size) {
        ssize_t n = write(ep->fd, ep->tx + done, ep->size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return bench_fail("write to the socket: %s", strerror(errno));
        }
        done += (size_t)n;
    }
    return 0;
}

static int uds_recv(void *opaque, uint64_t seq)
{
    struct uds_ep *ep = opaque;
    size_t done = 0;
    while (done < ep->size) {
        ssize_t n = read(ep->fd, ep->rx + done, ep->size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return bench_fail("read from the socket: %s", strerror(errno));
        }
        if (n == 0)
            return bench_fail("the peer closed the socket before message %llu", (unsigned long long)seq);
        done += (size_t)n;
    }
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

static int uds_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct uds_shared *sh = shared;
    if (sh) {
        close(sh->fd[0]);
        close(sh->fd[1]);
        free(sh);
    }
    return 0;
}

const struct bench_method bench_method_uds = {
    .name = "uds",
    .summary = "Unix stream socket pair, write()/read() of the whole payload (copies in the kernel)",
    .touch = 0,
    .stream = 1,
    .prepare = uds_prepare,
    .open = uds_open,
    .send = uds_send,
    .recv = uds_recv,
    .close = uds_close,
    .cleanup = uds_cleanup,
};
