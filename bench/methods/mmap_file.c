/*
 * mmap-file: as shm-copy, but the shared pages are those of a file in
 * $TMPDIR (default /tmp), mapped MAP_SHARED by the parent before fork: copy
 * in, copy out, sequence word polled. cleanup() unmaps and removes the file.
 * On a disk-backed /tmp the kernel may write the dirty pages back meanwhile.
 */
#include "shmcopy.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int mf_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct shmcopy_shared *sh = shared;
    if (!sh)
        return 0;
    if (sh->map)
        munmap(sh->map, sh->map_bytes);
    if (sh->fd >= 0)
        close(sh->fd);
    if (sh->path[0])
        unlink(sh->path);
    free(sh);
    return 0;
}

static int mf_prepare(const struct bench_params *p, void **shared)
{
    struct shmcopy_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    const char *tmp = getenv("TMPDIR");
    snprintf(sh->path, sizeof sh->path, "%s/ferry-bench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", p->tag);
    sh->map_bytes = shmcopy_bytes(p->size);
    sh->fd = mkostemp(sh->path, O_CLOEXEC);
    if (sh->fd < 0) {
        bench_fail("mkstemp %s: %s", sh->path, strerror(errno));
        sh->path[0] = '\0';
        mf_cleanup(p, sh);
        return -1;
    }
    if (ftruncate(sh->fd, (off_t)sh->map_bytes) != 0) {
        bench_fail("ftruncate %s: %s", sh->path, strerror(errno));
        mf_cleanup(p, sh);
        return -1;
    }
    void *m = mmap(NULL, sh->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, sh->fd, 0);
    if (m == MAP_FAILED) {
        bench_fail("mmap %s: %s", sh->path, strerror(errno));
        mf_cleanup(p, sh);
        return -1;
    }
    sh->map = m;
    *shared = sh;
    return 0;
}

const struct bench_method bench_method_mmap_file = {
    .name = "mmap-file",
    .summary = "a file in /tmp mapped MAP_SHARED, memcpy in and out, sequence word polled",
    .stream = 0,
    .prepare = mf_prepare,
    .open = shmcopy_open,
    .send = shmcopy_send,
    .recv = shmcopy_recv,
    .close = shmcopy_close,
    .cleanup = mf_cleanup,
};
