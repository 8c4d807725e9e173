/*
 * posix-mq: two POSIX message queues (A->B, B->A) named after the
 * measurement, created by the parent with mq_msgsize = the message size and
 * opened by name in each child; mq_send()/mq_receive() of the whole payload.
 * Sizes above /proc/sys/fs/mqueue/msgsize_max are skipped with the reason
 * (an unprivileged process cannot go above it). cleanup() unlinks both.
 */
#include "bench.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pmq_shared {
    char name[2][64];
    int made[2];
};

struct pmq_ep {
    mqd_t rq, wq;
    size_t size;
    unsigned char *tx, *rx;
};

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static long pmq_depth(void)
{
    long m = read_long("/proc/sys/fs/mqueue/msg_max");
    return m <= 0 ? 10 : m < 10 ? m : 10;
}

static int pmq_supports(const struct bench_params *p, char *why, size_t n)
{
    long max = read_long("/proc/sys/fs/mqueue/msgsize_max");
    if (max > 0 && p->size > (size_t)max) {
        snprintf(why, n, "POSIX message queues carry at most %ld bytes here (/proc/sys/fs/mqueue/msgsize_max)",
                 max);
        return 0;
    }
    return 1;
}

static int pmq_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct pmq_shared *sh = shared;
    if (!sh)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (sh->made[i])
            mq_unlink(sh->name[i]);
    }
    free(sh);
    return 0;
}

static int pmq_prepare(const struct bench_params *p, void **shared)
{
    struct pmq_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = pmq_depth();
    attr.mq_msgsize = (long)p->size;
    for (int i = 0; i < 2; i++) {
        snprintf(sh->name[i], sizeof sh->name[i], "/ferry-bench-%s-%s", p->tag, i ? "ba" : "ab");
        mqd_t q = mq_open(sh->name[i], O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
        if (q == (mqd_t)-1) {
            bench_fail("mq_open %s (msgsize %zu, maxmsg %ld): %s", sh->name[i], p->size, attr.mq_maxmsg,
                       strerror(errno));
            pmq_cleanup(p, sh);
            return -1;
        }
        sh->made[i] = 1;
        mq_close(q);
    }
    *shared = sh;
    return 0;
}

static void pmq_close(void *opaque)
{
    struct pmq_ep *ep = opaque;
    if (!ep)
        return;
    if (ep->rq != (mqd_t)-1)
        mq_close(ep->rq);
    if (ep->wq != (mqd_t)-1)
        mq_close(ep->wq);
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

static int pmq_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct pmq_shared *sh = shared;
    struct pmq_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->rq = ep->wq = (mqd_t)-1;
    ep->size = p->size;
    ep->tx = calloc(1, p->size);
    ep->rx = calloc(1, p->size);
    if (!ep->tx || !ep->rx) {
        pmq_close(ep);
        return bench_fail("out of memory");
    }
    int a = role == BENCH_ROLE_A;
    int stream = p->mode == BENCH_STREAM;
    if (a || !stream)
        ep->wq = mq_open(sh->name[a ? 0 : 1], O_WRONLY | O_CLOEXEC);
    if (!a || !stream)
        ep->rq = mq_open(sh->name[a ? 1 : 0], O_RDONLY | O_CLOEXEC);
    if (((a || !stream) && ep->wq == (mqd_t)-1) || ((!a || !stream) && ep->rq == (mqd_t)-1)) {
        bench_fail("mq_open: %s", strerror(errno));
        pmq_close(ep);
        return -1;
    }
    *out = ep;
    return 0;
}

static int pmq_send(void *opaque, uint64_t seq)
{
    struct pmq_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    while (mq_send(ep->wq, (const char *)ep->tx, ep->size, 0) != 0) {
        if (errno != EINTR)
            return bench_fail("mq_send: %s", strerror(errno));
    }
    return 0;
}

static int pmq_recv(void *opaque, uint64_t seq)
{
    struct pmq_ep *ep = opaque;
    ssize_t r;
    while ((r = mq_receive(ep->rq, (char *)ep->rx, ep->size, NULL)) < 0) {
        if (errno != EINTR)
            return bench_fail("mq_receive: %s", strerror(errno));
    }
    if ((size_t)r != ep->size)
        return bench_fail("message %llu: %zd bytes, expected %zu", (unsigned long long)seq, r, ep->size);
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

const struct bench_method bench_method_posix_mq = {
    .name = "posix-mq",
    .summary = "two POSIX message queues, mq_send()/mq_receive() (sizes up to fs.mqueue.msgsize_max)",
    .stream = 1,
    .prepare = pmq_prepare,
    .open = pmq_open,
    .send = pmq_send,
    .recv = pmq_recv,
    .close = pmq_close,
    .cleanup = pmq_cleanup,
    .supports = pmq_supports,
};
