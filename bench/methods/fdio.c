/* Helpers of the file-descriptor methods; see fdio.h. */
#include "fdio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct fd_ep *fd_ep_new(size_t size)
{
    struct fd_ep *ep = calloc(1, sizeof *ep);
    if (!ep) {
        bench_fail("out of memory");
        return NULL;
    }
    ep->rfd = ep->wfd = -1;
    ep->size = size;
    ep->tx = calloc(1, size);
    ep->rx = calloc(1, size + 1);
    if (!ep->tx || !ep->rx) {
        fd_ep_free(ep);
        bench_fail("out of memory for %zu-byte buffers", size);
        return NULL;
    }
    return ep;
}

void fd_ep_free(void *opaque)
{
    struct fd_ep *ep = opaque;
    if (!ep)
        return;
    if (ep->rfd >= 0)
        close(ep->rfd);
    if (ep->wfd >= 0 && ep->wfd != ep->rfd)
        close(ep->wfd);
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

int fd_write_all(int fd, const void *buf, size_t n, const char *what)
{
    const unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return bench_fail("write to the %s: %s", what, strerror(errno));
        }
        done += (size_t)w;
    }
    return 0;
}

int fd_read_all(int fd, void *buf, size_t n, const char *what)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, p + done, n - done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return bench_fail("read from the %s: %s", what, strerror(errno));
        }
        if (r == 0)
            return bench_fail("the peer closed the %s", what);
        done += (size_t)r;
    }
    return 0;
}

int fd_stream_send(void *opaque, uint64_t seq)
{
    struct fd_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    return fd_write_all(ep->wfd, ep->tx, ep->size, "channel");
}

int fd_stream_recv(void *opaque, uint64_t seq)
{
    struct fd_ep *ep = opaque;
    if (fd_read_all(ep->rfd, ep->rx, ep->size, "channel") != 0)
        return -1;
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

int fd_dgram_send(void *opaque, uint64_t seq)
{
    struct fd_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    for (;;) {
        ssize_t w = send(ep->wfd, ep->tx, ep->size, 0);
        if (w < 0 && (errno == EINTR || errno == ENOBUFS)) {
            if (errno == ENOBUFS)
                bench_yield();
            continue;
        }
        if (w < 0)
            return bench_fail("send of a %zu-byte datagram: %s", ep->size, strerror(errno));
        if ((size_t)w != ep->size)
            return bench_fail("send: %zd of %zu bytes", w, ep->size);
        return 0;
    }
}

int fd_dgram_recv(void *opaque, uint64_t seq)
{
    struct fd_ep *ep = opaque;
    for (;;) {
        ssize_t r = recv(ep->rfd, ep->rx, ep->size + 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return bench_fail("recv: %s", strerror(errno));
        if ((size_t)r != ep->size)
            return bench_fail("message %llu: datagram of %zd bytes, expected %zu", (unsigned long long)seq, r,
                              ep->size);
        return bench_payload_check(ep->rx, ep->size, seq, 0);
    }
}

void fd_grow_buffers(int fd, size_t want)
{
    int v = want > 0x7fffffffu / 2 ? 0x7fffffff / 2 : (int)want;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
}

int fd_dgram_probe(int (*make_pair)(int fd[2]), size_t size, const char *what, char *why, size_t n)
{
    int fd[2];
    if (make_pair(fd) != 0) {
        snprintf(why, n, "%s: cannot create sockets: %s", what, bench_error());
        return 0;
    }
    fd_grow_buffers(fd[0], 2 * size + 65536);
    fd_grow_buffers(fd[1], 2 * size + 65536);
    unsigned char *buf = calloc(1, size);
    int ok = 0;
    if (!buf) {
        snprintf(why, n, "out of memory");
    } else if (send(fd[0], buf, size, MSG_DONTWAIT) == (ssize_t)size) {
        ok = 1;
    } else {
        snprintf(why, n, "%s cannot carry a %zu-byte datagram here: %s", what, size,
                 errno == EMSGSIZE ? "message too long (EMSGSIZE)" : strerror(errno));
    }
    free(buf);
    close(fd[0]);
    close(fd[1]);
    return ok;
}

int bench_temp_dir(char *out, size_t n, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(out, n, "%s/ferry-bench-%s-XXXXXX", tmp, tag);
    if (!mkdtemp(out))
        return bench_fail("mkdtemp %s: %s", out, strerror(errno));
    return 0;
}

struct fd_pair_shared *fd_pair_new(void)
{
    struct fd_pair_shared *sh = malloc(sizeof *sh);
    if (!sh) {
        bench_fail("out of memory");
        return NULL;
    }
    sh->fd[0] = sh->fd[1] = -1;
    return sh;
}

int fd_pair_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct fd_pair_shared *sh = shared;
    struct fd_ep *ep = fd_ep_new(p->size);
    if (!ep)
        return -1;
    int mine = role == BENCH_ROLE_A ? 0 : 1;
    close(sh->fd[1 - mine]);
    ep->rfd = ep->wfd = sh->fd[mine];
    *out = ep;
    return 0;
}

int fd_pair_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct fd_pair_shared *sh = shared;
    if (!sh)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (sh->fd[i] >= 0)
            close(sh->fd[i]);
    }
    free(sh);
    return 0;
}
