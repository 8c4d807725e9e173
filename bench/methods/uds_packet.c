/*
 * uds-dgram, uds-seqpkt: a Unix datagram / seqpacket socket pair, one
 * send()/recv() per message (seqpacket also keeps message boundaries on a
 * connection). The pair is made before fork (socket buffers grown to twice
 * the message size where net.core.wmem_max allows); A keeps one end, B the
 * other. A size the kernel cannot carry in one message is skipped with the
 * reason.
 */
#include "bench.h"
#include "fdio.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static int make_pair(int type, int fd[2])
{
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fd) != 0)
        return bench_fail("socketpair: %s", strerror(errno));
    return 0;
}

static int make_dgram_pair(int fd[2]) { return make_pair(SOCK_DGRAM, fd); }
static int make_seqpkt_pair(int fd[2]) { return make_pair(SOCK_SEQPACKET, fd); }

static int prepare_pair(int (*make)(int fd[2]), const struct bench_params *p, void **shared)
{
    struct fd_pair_shared *sh = fd_pair_new();
    if (!sh)
        return -1;
    if (make(sh->fd) != 0) {
        fd_pair_cleanup(p, sh);
        return -1;
    }
    *shared = sh;
    for (int i = 0; i < 2; i++)
        fd_grow_buffers(sh->fd[i], 2 * p->size + 65536);
    return 0;
}

static int dgram_supports(const struct bench_params *p, char *why, size_t n)
{
    return fd_dgram_probe(make_dgram_pair, p->size, "a Unix datagram socket", why, n);
}

static int dgram_prepare(const struct bench_params *p, void **shared)
{
    return prepare_pair(make_dgram_pair, p, shared);
}

static int seqpkt_supports(const struct bench_params *p, char *why, size_t n)
{
    return fd_dgram_probe(make_seqpkt_pair, p->size, "a Unix seqpacket socket", why, n);
}

static int seqpkt_prepare(const struct bench_params *p, void **shared)
{
    return prepare_pair(make_seqpkt_pair, p, shared);
}

const struct bench_method bench_method_uds_dgram = {
    .name = "uds-dgram",
    .summary = "Unix datagram socket pair: one send()/recv() per message",
    .stream = 1,
    .prepare = dgram_prepare,
    .open = fd_pair_open,
    .send = fd_dgram_send,
    .recv = fd_dgram_recv,
    .close = fd_ep_free,
    .cleanup = fd_pair_cleanup,
    .supports = dgram_supports,
};

const struct bench_method bench_method_uds_seqpkt = {
    .name = "uds-seqpkt",
    .summary = "Unix seqpacket socket pair: one send()/recv() per message, boundaries kept",
    .stream = 1,
    .prepare = seqpkt_prepare,
    .open = fd_pair_open,
    .send = fd_dgram_send,
    .recv = fd_dgram_recv,
    .close = fd_ep_free,
    .cleanup = fd_pair_cleanup,
    .supports = seqpkt_supports,
};
