/*
 * tcp: a TCP connection over 127.0.0.1 with TCP_NODELAY, made before fork
 * (listen on an ephemeral port, connect, accept, close the listener); A
 * keeps the connecting end, B the accepted one. write()/read() of the whole
 * payload as in `uds`.
 */
#include "bench.h"
#include "fdio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int tcp_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    struct fd_pair_shared *sh = fd_pair_new();
    if (!sh)
        return -1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int rc = -1;
    if (ls < 0) {
        bench_fail("socket: %s", strerror(errno));
    } else if (bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 1) != 0 ||
               getsockname(ls, (struct sockaddr *)&addr, &len) != 0) {
        bench_fail("listen on 127.0.0.1: %s", strerror(errno));
    } else if ((sh->fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
               connect(sh->fd[0], (struct sockaddr *)&addr, sizeof addr) != 0) {
        bench_fail("connect to 127.0.0.1:%u: %s", ntohs(addr.sin_port), strerror(errno));
    } else if ((sh->fd[1] = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) < 0) {
        bench_fail("accept: %s", strerror(errno));
    } else {
        int one = 1;
        for (int i = 0; i < 2; i++)
            setsockopt(sh->fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        rc = 0;
    }
    if (ls >= 0)
        close(ls);
    if (rc != 0) {
        fd_pair_cleanup(p, sh);
        return -1;
    }
    *shared = sh;
    return 0;
}

const struct bench_method bench_method_tcp = {
    .name = "tcp",
    .summary = "TCP over 127.0.0.1 (TCP_NODELAY), write()/read() of the whole payload",
    .stream = 1,
    .prepare = tcp_prepare,
    .open = fd_pair_open,
    .send = fd_stream_send,
    .recv = fd_stream_recv,
    .close = fd_ep_free,
    .cleanup = fd_pair_cleanup,
};
