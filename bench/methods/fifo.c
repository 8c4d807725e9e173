/*
 * fifo: two named pipes (A->B and B->A) in a fresh directory under $TMPDIR
 * (default /tmp). Each child opens them by name in the same order (first
 * A->B, then B->A), so the blocking opens pair up; then as `pipe`.
 */
#include "bench.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fifo_cleanup(const struct bench_params *p, void *shared);

struct fifo_shared {
    char dir[256];
    char ab[300], ba[300];
};

static int fifo_prepare(const struct bench_params *p, void **shared)
{
    struct fifo_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    *shared = sh;
    if (bench_temp_dir(sh->dir, sizeof sh->dir, p->tag) != 0) {
        sh->dir[0] = '\0';
        fifo_cleanup(p, sh);
        *shared = NULL;
        return -1;
    }
    snprintf(sh->ab, sizeof sh->ab, "%s/ab", sh->dir);
    snprintf(sh->ba, sizeof sh->ba, "%s/ba", sh->dir);
    if (mkfifo(sh->ab, 0600) != 0 || mkfifo(sh->ba, 0600) != 0) {
        bench_fail("mkfifo in %s: %s", sh->dir, strerror(errno));
        fifo_cleanup(p, sh);
        *shared = NULL;
        return -1;
    }
    return 0;
}

static int open_fifo(const char *path, int flags)
{
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        bench_fail("open %s: %s", path, strerror(errno));
    return fd;
}

static int fifo_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct fifo_shared *sh = shared;
    struct fd_ep *ep = fd_ep_new(p->size);
    if (!ep)
        return -1;
    int a = role == BENCH_ROLE_A;
    int *first = a ? &ep->wfd : &ep->rfd;
    *first = open_fifo(sh->ab, a ? O_WRONLY : O_RDONLY);
    if (*first >= 0 && p->mode == BENCH_PINGPONG) {
        int *second = a ? &ep->rfd : &ep->wfd;
        *second = open_fifo(sh->ba, a ? O_RDONLY : O_WRONLY);
    }
    if (ep->rfd < 0 && ep->wfd < 0) {
        fd_ep_free(ep);
        return -1;
    }
    if (p->mode == BENCH_PINGPONG && (ep->rfd < 0 || ep->wfd < 0)) {
        fd_ep_free(ep);
        return -1;
    }
    *out = ep;
    return 0;
}

static int fifo_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct fifo_shared *sh = shared;
    if (!sh)
        return 0;
    if (sh->dir[0]) {
        unlink(sh->ab);
        unlink(sh->ba);
        rmdir(sh->dir);
    }
    free(sh);
    return 0;
}

const struct bench_method bench_method_fifo = {
    .name = "fifo",
    .summary = "two named pipes in a temporary directory, write()/read() of the whole payload",
    .stream = 1,
    .prepare = fifo_prepare,
    .open = fifo_open,
    .send = fd_stream_send,
    .recv = fd_stream_recv,
    .close = fd_ep_free,
    .cleanup = fifo_cleanup,
};
