/*
 * sysv-mq: one System V message queue (IPC_PRIVATE, made before fork) with
 * message type 1 for A->B and 2 for B->A; msgsnd()/msgrcv() of the whole
 * payload. Sizes above /proc/sys/kernel/msgmax (and, for streaming, the queue
 * limit msgmnb) are skipped with the reason. cleanup() removes the queue.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

struct svmq_ep {
    int id;
    long tx_type, rx_type;
    size_t size;
    long *tx, *rx; /* mtype followed by the payload */
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

static int svmq_supports(const struct bench_params *p, char *why, size_t n)
{
    long max = read_long("/proc/sys/kernel/msgmax");
    if (max > 0 && p->size > (size_t)max) {
        snprintf(why, n, "System V messages carry at most %ld bytes here (/proc/sys/kernel/msgmax)", max);
        return 0;
    }
    long mnb = read_long("/proc/sys/kernel/msgmnb");
    if (mnb > 0 && p->size > (size_t)mnb) {
        snprintf(why, n, "a System V queue holds at most %ld bytes here (/proc/sys/kernel/msgmnb)", mnb);
        return 0;
    }
    return 1;
}

static int svmq_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    int *id = malloc(sizeof *id);
    if (!id)
        return bench_fail("out of memory");
    *id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (*id < 0) {
        bench_fail("msgget: %s", strerror(errno));
        free(id);
        return -1;
    }
    *shared = id;
    return 0;
}

static int svmq_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    int *id = shared;
    if (!id)
        return 0;
    int rc = 0;
    if (msgctl(*id, IPC_RMID, NULL) != 0)
        rc = bench_fail("msgctl IPC_RMID: %s", strerror(errno));
    free(id);
    return rc;
}

static void svmq_close(void *opaque)
{
    struct svmq_ep *ep = opaque;
    if (!ep)
        return;
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

static int svmq_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct svmq_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->id = *(int *)shared;
    ep->tx_type = role == BENCH_ROLE_A ? 1 : 2;
    ep->rx_type = role == BENCH_ROLE_A ? 2 : 1;
    ep->size = p->size;
    ep->tx = calloc(1, sizeof(long) + p->size);
    ep->rx = calloc(1, sizeof(long) + p->size);
    if (!ep->tx || !ep->rx) {
        svmq_close(ep);
        return bench_fail("out of memory");
    }
    ep->tx[0] = ep->tx_type;
    *out = ep;
    return 0;
}

static int svmq_send(void *opaque, uint64_t seq)
{
    struct svmq_ep *ep = opaque;
    bench_payload_fill(ep->tx + 1, ep->size, seq, 0);
    while (msgsnd(ep->id, ep->tx, ep->size, 0) != 0) {
        if (errno != EINTR)
            return bench_fail("msgsnd: %s", strerror(errno));
    }
    return 0;
}

static int svmq_recv(void *opaque, uint64_t seq)
{
    struct svmq_ep *ep = opaque;
    ssize_t r;
    while ((r = msgrcv(ep->id, ep->rx, ep->size, ep->rx_type, 0)) < 0) {
        if (errno != EINTR)
            return bench_fail("msgrcv: %s", strerror(errno));
    }
    if ((size_t)r != ep->size)
        return bench_fail("message %llu: %zd bytes, expected %zu", (unsigned long long)seq, r, ep->size);
    return bench_payload_check(ep->rx + 1, ep->size, seq, 0);
}

const struct bench_method bench_method_sysv_mq = {
    .name = "sysv-mq",
    .summary = "System V message queue, msgsnd()/msgrcv() with a type per direction (sizes up to kernel.msgmax)",
    .stream = 1,
    .prepare = svmq_prepare,
    .open = svmq_open,
    .send = svmq_send,
    .recv = svmq_recv,
    .close = svmq_close,
    .cleanup = svmq_cleanup,
    .supports = svmq_supports,
};
