/*
 * udp: two UDP sockets on 127.0.0.1, each bound to an ephemeral port and
 * connected to the other, made before fork; one send()/recv() per message.
 * Sizes above the largest datagram (65507 bytes of payload) are skipped with
 * the reason. No streaming: UDP drops datagrams when the receiver falls
 * behind, so a stream would measure loss, not transport.
 */
#include "bench.h"
#include "fdio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int udp_pair(int fd[2])
{
    struct sockaddr_in addr[2];
    fd[0] = fd[1] = -1;
    for (int i = 0; i < 2; i++) {
        memset(&addr[i], 0, sizeof addr[i]);
        addr[i].sin_family = AF_INET;
        addr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr[i];
        fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&addr[i], sizeof addr[i]) != 0 ||
            getsockname(fd[i], (struct sockaddr *)&addr[i], &len) != 0)
            goto fail;
    }
    if (connect(fd[0], (struct sockaddr *)&addr[1], sizeof addr[1]) != 0 ||
        connect(fd[1], (struct sockaddr *)&addr[0], sizeof addr[0]) != 0)
        goto fail;
    return 0;
fail:
    bench_fail("UDP socket on 127.0.0.1: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        if (fd[i] >= 0)
            close(fd[i]);
        fd[i] = -1;
    }
    return -1;
}

static int udp_supports(const struct bench_params *p, char *why, size_t n)
{
    return fd_dgram_probe(udp_pair, p->size, "UDP", why, n);
}

static int udp_prepare(const struct bench_params *p, void **shared)
{
    struct fd_pair_shared *sh = fd_pair_new();
    if (!sh)
        return -1;
    if (udp_pair(sh->fd) != 0) {
        fd_pair_cleanup(p, sh);
        return -1;
    }
    for (int i = 0; i < 2; i++)
        fd_grow_buffers(sh->fd[i], 2 * p->size + 65536);
    *shared = sh;
    return 0;
}

const struct bench_method bench_method_udp = {
    .name = "udp",
    .summary = "UDP over 127.0.0.1, one send()/recv() per message (latency only; sizes up to 65507 B)",
    .stream = 0,
    .prepare = udp_prepare,
    .open = fd_pair_open,
    .send = fd_dgram_send,
    .recv = fd_dgram_recv,
    .close = fd_ep_free,
    .cleanup = fd_pair_cleanup,
    .supports = udp_supports,
};
