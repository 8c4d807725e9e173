/*
 * signal: real-time signals. Each side blocks SIGRTMIN and collects it with
 * sigwaitinfo(); the sender raises it at the peer with sigqueue(), the
 * sequence number (its low 31 bits) in sival_int. A signal carries no
 * payload, so this is a notification-latency figure measured at 64 B only
 * (other sizes are skipped); no streaming (the queue of pending signals is
 * small, RLIMIT_SIGPENDING).
 */
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sig_shared {
    _Atomic int pid[2];
};

struct sig_ep {
    struct sig_shared *sh;
    int me;
    pid_t peer;
    sigset_t set;
};

static int sig_supports(const struct bench_params *p, char *why, size_t n)
{
    if (p->size != 64) {
        snprintf(why, n, "a signal carries no payload (only the sequence number in sival_int): measured at 64 B "
                         "only");
        return 0;
    }
    return 1;
}

static int sig_prepare(const struct bench_params *p, void **shared)
{
    (void)p;
    struct sig_shared *sh = bench_shared_alloc(sizeof *sh);
    if (!sh)
        return -1;
    *shared = sh;
    return 0;
}

static int sig_cleanup(const struct bench_params *p, void *shared)
{
    (void)p;
    bench_shared_free(shared, sizeof(struct sig_shared));
    return 0;
}

static int sig_open(const struct bench_params *p, void *shared, enum bench_role role, void **out)
{
    (void)p;
    struct sig_ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return bench_fail("out of memory");
    ep->sh = shared;
    ep->me = role == BENCH_ROLE_A ? 0 : 1;
    sigemptyset(&ep->set);
    sigaddset(&ep->set, SIGRTMIN);
    if (sigprocmask(SIG_BLOCK, &ep->set, NULL) != 0) {
        free(ep);
        return bench_fail("sigprocmask: %s", strerror(errno));
    }
    /* Published before the harness's barrier: the peer reads it after. */
    atomic_store(&ep->sh->pid[ep->me], (int)getpid());
    *out = ep;
    return 0;
}

static void sig_close(void *ep) { free(ep); }

static pid_t peer_of(struct sig_ep *ep)
{
    if (!ep->peer)
        ep->peer = (pid_t)atomic_load(&ep->sh->pid[1 - ep->me]);
    return ep->peer;
}

static int sig_send(void *opaque, uint64_t seq)
{
    struct sig_ep *ep = opaque;
    union sigval v;
    v.sival_int = (int)(seq & 0x7fffffff);
    while (sigqueue(peer_of(ep), SIGRTMIN, v) != 0) {
        if (errno == EAGAIN) {
            bench_yield();
            continue;
        }
        return bench_fail("sigqueue to %d: %s", (int)ep->peer, strerror(errno));
    }
    return 0;
}

static int sig_recv(void *opaque, uint64_t seq)
{
    struct sig_ep *ep = opaque;
    siginfo_t si;
    int s;
    while ((s = sigwaitinfo(&ep->set, &si)) < 0) {
        if (errno != EINTR)
            return bench_fail("sigwaitinfo: %s", strerror(errno));
    }
    if (si.si_pid != peer_of(ep))
        return bench_fail("message %llu: a signal from pid %d, not the peer %d", (unsigned long long)seq,
                          (int)si.si_pid, (int)ep->peer);
    uint64_t got = (uint64_t)(unsigned)si.si_value.sival_int;
    uint64_t want = seq & 0x7fffffff;
    if (got != want)
        return bench_seq_error(want, got);
    return 0;
}

const struct bench_method bench_method_signal = {
    .name = "signal",
    .summary = "sigqueue(SIGRTMIN) with the sequence in sival_int, sigwaitinfo(); no payload, 64 B row only",
    .stream = 0,
    .prepare = sig_prepare,
    .open = sig_open,
    .send = sig_send,
    .recv = sig_recv,
    .close = sig_close,
    .cleanup = sig_cleanup,
    .supports = sig_supports,
};
