/*
 * pipe: two anonymous pipes (A->B and B->A) made before fork; write() of the
 * whole payload, read() until all of it is there. The kernel copies every
 * byte twice (into the pipe buffer and out of it).
 */
#include "bench.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int pipe_cleanup(const struct bench_params *p, void *shared);

struct pipe_shared {
    int ab[2], ba[2];
};

static int pipe_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    struct pipe_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    sh->ab[0] = sh->ab[1] = sh->ba[0] = sh->ba[1] = -1;
    *shared = sh;
    if (pipe2(sh->ab, O_CLOEXEC) != 0 || pipe2(sh->ba, O_CLOEXEC) != 0)
        {
        bench_fail("pipe2: %s", strerror(errno));
        pipe_cleanup(p, sh);
        *shared = NULL;
        return -1;
    }
    return 0;
}

static int pipe_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct pipe_shared *sh = shared;
    struct fd_ep *ep = fd_ep_new(p->size);
    if (!ep)
        return -1;
    int keep_r = role == BENCH_ROLE_A ? sh->ba[0] : sh->ab[0];
    int keep_w = role == BENCH_ROLE_A ? sh->ab[1] : sh->ba[1];
    if (p->mode == BENCH_STREAM) {
        if (role == BENCH_ROLE_A)
            keep_r = -1;
        else
            keep_w = -1;
    }
    for (int i = 0; i < 2; i++) {
        if (sh->ab[i] != keep_r && sh->ab[i] != keep_w)
            close(sh->ab[i]);
        if (sh->ba[i] != keep_r && sh->ba[i] != keep_w)
            close(sh->ba[i]);
    }
    ep->rfd = keep_r;
    ep->wfd = keep_w;
    *out = ep;
    return 0;
}

static int pipe_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct pipe_shared *sh = shared;
    if (!sh)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (sh->ab[i] >= 0)
            close(sh->ab[i]);
        if (sh->ba[i] >= 0)
            close(sh->ba[i]);
    }
    free(sh);
    return 0;
}

const struct bench_method bench_method_pipe = {
    .name = "pipe",
    .summary = "two anonymous pipes, write()/read() of the whole payload (copies in the kernel)",
    .stream = 1,
    .prepare = pipe_prepare,
    .open = pipe_open,
    .send = fd_stream_send,
    .recv = fd_stream_recv,
    .close = fd_ep_free,
    .cleanup = pipe_cleanup,
};
