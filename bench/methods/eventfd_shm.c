/*
 * eventfd+shm: the wake-up of an eventfd around a shared-memory copy. Per
 * direction a data area in shared memory and an eventfd (both made before
 * fork). The sender copies its private message into the data area and
 * write()s 1 to the eventfd; the receiver blocks in read() on the eventfd,
 * then copies the data area into its private buffer and checks it. So every
 * message costs two copies and two system calls, and the receiver sleeps.
 */
#include "bench.h"
#include "fdio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct efd_shared {
    int efd[2]; /* [0]: A->B */
    unsigned char *map;
    size_t map_bytes, area;
};

struct efd_ep {
    int tx_fd, rx_fd;
    unsigned char *tx_data, *rx_data;
    unsigned char *tx, *rx;
    size_t size;
};

static int efd_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    struct efd_shared *sh = shared;
    if (!sh)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (sh->efd[i] >= 0)
            close(sh->efd[i]);
    }
    bench_shared_free(sh->map, sh->map_bytes);
    free(sh);
    return 0;
}

static int efd_prepare(const struct bench_params *p, void **shared)
{
    struct efd_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return bench_fail("out of memory");
    sh->efd[0] = sh->efd[1] = -1;
    sh->area = ((p->size + 127) / 128) * 128;
    sh->map_bytes = 2 * sh->area;
    sh->map = bench_shared_alloc(sh->map_bytes);
    if (!sh->map) {
        efd_cleanup(p, sh);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        sh->efd[i] = eventfd(0, EFD_CLOEXEC);
        if (sh->efd[i] < 0) {
            bench_fail("eventfd: %s", strerror(errno));
            efd_cleanup(p, sh);
            return -1;
        }
    }
    *shared = sh;
    return 0;
}

static void efd_close(void *opaque)
{
    struct efd_ep *ep = opaque;
    if (!ep)
        return;
    free(ep->tx);
    free(ep->rx);
    free(ep);
}

static int efd_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    struct efd_shared *sh = shared;
    struct efd_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->size = p->size;
    ep->tx = calloc(1, p->size);
    ep->rx = calloc(1, p->size);
    if (!ep->tx || !ep->rx) {
        efd_close(ep);
        return bench_fail("out of memory");
    }
    int a = role == BENCH_ROLE_A;
    ep->tx_fd = sh->efd[a ? 0 : 1];
    ep->rx_fd = sh->efd[a ? 1 : 0];
    ep->tx_data = sh->map + (a ? 0 : sh->area);
    ep->rx_data = sh->map + (a ? sh->area : 0);
    *out = ep;
    return 0;
}

static int efd_send(void *opaque, uint64_t seq)
{
    struct efd_ep *ep = opaque;
    bench_payload_fill(ep->tx, ep->size, seq, 0);
    memcpy(ep->tx_data, ep->tx, ep->size);
    uint64_t one = 1;
    return fd_write_all(ep->tx_fd, &one, sizeof one, "eventfd");
}

static int efd_recv(void *opaque, uint64_t seq)
{
    struct efd_ep *ep = opaque;
    uint64_t n;
    if (fd_read_all(ep->rx_fd, &n, sizeof n, "eventfd") != 0)
        return -1;
    if (n != 1)
        return bench_fail("message %llu: eventfd counted %llu wake-ups, expected 1", (unsigned long long)seq,
                          (unsigned long long)n);
    memcpy(ep->rx, ep->rx_data, ep->size);
    return bench_payload_check(ep->rx, ep->size, seq, 0);
}

const struct bench_method bench_method_eventfd_shm = {
    .name = "eventfd+shm",
    .summary = "eventfd wake-up (receiver blocks in read) around a memcpy in and out of shared memory",
    .stream = 0,
    .prepare = efd_prepare,
    .open = efd_open,
    .send = efd_send,
    .recv = efd_recv,
    .close = efd_close,
    .cleanup = efd_cleanup,
};
