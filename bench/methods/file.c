/*
 * file: a plain file in $TMPDIR (default /tmp), no mapping. Per direction a
 * 4 KiB header block holding a sequence word and a data area of the message
 * size after it. The sender pwrite()s the message into the data area, then
 * pwrite()s the sequence number into the header; the receiver pread()s the
 * header until it holds the number it expects (busy-polling with system
 * calls), then pread()s the data area and checks it. Each child opens the
 * file by name (its own open file description); cleanup() removes it.
 */
#include "bench.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_HDR 4096u

struct file_shared {
    char path[256];
};

struct file_ep {
    int fd;
    off_t tx_off, rx_off; /* header offsets; data follows at + FILE_HDR */
    size_t size;
    unsigned char *tx, *rx;
};

static off_t region(size_t size) { return (off_t)(FILE_HDR + ((size + FILE_HDR - 1) / FILE_HDR) * FILE_HDR); }

static int file_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct file_shared *sh = shared;
    if (!sh)
        return 0;
    if (sh->path[0])
        unlink(sh->path);
    free(sh);
    return 0;
}

static int file_prepare(const struct bench_params *p, void **shared)
{
    struct file_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    const char *tmp = getenv("TMPDIR");
    snprintf(sh->path, sizeof sh->path, "%s/ferry-bench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", p->tag);
    int fd = mkostemp(sh->path, O_CLOEXEC);
    if (fd < 0) {
        bench_fail("mkstemp %s: %s", sh->path, strerror(errno));
        sh->path[0] = '\0';
        file_cleanup(p, sh);
        return -1;
    }
    int rc = ftruncate(fd, 2 * region(p->size));
    close(fd);
    if (rc != 0) {
        bench_fail("ftruncate %s: %s", sh->path, strerror(errno));
        file_cleanup(p, sh);
        return -1;
    }
    *shared = sh;
    return 0;
}

static void file_close(void *opaque)
{
    struct file_ep *ep = opaque;
    if (!ep)
        return;
    if (ep->fd >= 0)
        close(ep->fd);
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

static int file_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct file_shared *sh = shared;
    struct file_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->tx = calloc(1, p->size);
    ep->rx = calloc(1, p->size);
    ep->fd = open(sh->path, O_RDWR | O_CLOEXEC);
    if (!ep->tx || !ep->rx || ep->fd < 0) {
        bench_fail("open %s: %s", sh->path, ep->fd < 0 ? strerror(errno) : "out of memory");
        file_close(ep);
        return -1;
    }
    ep->tx_off = role == BENCH_ROLE_A ? 0 : region(p->size);
    ep->rx_off = role == BENCH_ROLE_A ? region(p->size) : 0;
    *out = ep;
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
    const unsigned char *b = buf;
    while (n) {
        ssize_t w = pwrite(fd, b, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return bench_fail("pwrite: %s", w < 0 ? strerror(errno) : "wrote nothing");
        b += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
    unsigned char *b = buf;
    while (n) {
        ssize_t r = pread(fd, b, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return bench_fail("pread: %s", r < 0 ? strerror(errno) : "end of file");
        b += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

static int file_send(void *opaque, uint64_t seq)
{
    struct file_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    if (pwrite_all(ep->fd, ep->tx, ep->size, ep->tx_off + FILE_HDR) != 0)
        return -1;
    return pwrite_all(ep->fd, &seq, sizeof seq, ep->tx_off);
}

static int file_recv(void *opaque, uint64_t seq)
{
    struct file_ep *ep = opaque;
    unsigned spins = 0;
    for (;;) {
        uint64_t v;
        if (pread_all(ep->fd, &v, sizeof v, ep->rx_off) != 0)
            return -1;
        if (v == seq)
            break;
        if (v > seq)
            return bench_seq_error(seq, v);
        bench_spin(&spins);
    }
    if (pread_all(ep->fd, ep->rx, ep->size, ep->rx_off + FILE_HDR) != 0)
        return -1;
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

const struct bench_method bench_method_file = {
    .name = "file",
    .summary = "a plain file in /tmp: pwrite() the message, then its sequence number into a header; the "
               "receiver polls the header with pread(), then pread()s the message",
    .stream = 0,
    .prepare = file_prepare,
    .open = file_open,
    .send = file_send,
    .recv = file_recv,
    .close = file_close,
    .cleanup = file_cleanup,
};
