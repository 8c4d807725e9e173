/* A temporary directory holding one ipc:// socket file, for zmq and nng. */
#ifndef FERRY_BENCH_IPCDIR_H
#define FERRY_BENCH_IPCDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "fdio.h"

struct ipcdir_shared {
    char dir[200];
    char path[240];
    char url[260];
};

static inline int ipcdir_prepare(const struct bench_params *p, void **shared)
{
    struct ipcdir_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    if (bench_temp_dir(sh->dir, sizeof sh->dir, p->tag) != 0) {
        free(sh);
        return -1;
    }
    snprintf(sh->path, sizeof sh->path, "%s/s", sh->dir);
    snprintf(sh->url, sizeof sh->url, "ipc://%s", sh->path);
    *shared = sh;
    return 0;
}

static inline int ipcdir_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct ipcdir_shared *sh = shared;
    if (!sh)
        return 0;
    unlink(sh->path);
    rmdir(sh->dir);
    free(sh);
    return 0;
}

#endif
