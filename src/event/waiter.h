/*
 * Sleeping and waking across processes, shared by subscribers and listeners.
 *
 * The waiter's record (struct fy_waiter_shm) sits in its port slot. The
 * protocol is the classic "announce, then re-check" pair, with a full fence
 * on each side so that at least one side sees the other:
 *
 *   waiter                                   waker
 *   seq = futex (acquire)                    publish data (seq_cst RMW:
 *   flags = ASLEEP | seq << 8                  xchg of the ring entry, or
 *           (seq_cst RMW, FD kept)             fetch_or of the event bits)
 *   if data ready: flags &= ~ASLEEP, done    f = flags
 *   futex_wait(futex, seq)                   if f & ASLEEP:
 *   flags &= ~ASLEEP                             futex += 1; futex_wake
 *                                                CAS(flags, f -> f & ~ASLEEP)
 *
 * If the waiter's re-check misses the data, the waker's load of flags must
 * see ASLEEP (both are seq_cst), and the futex bump makes a futex_wait that
 * starts late return at once: no wake-up is lost. When nobody sleeps the
 * waker makes no system call.
 *
 * The closing CAS spares the wakers that come after a completed wake the
 * system call, so a burst of sends to a sleeper costs about one FUTEX_WAKE,
 * not one per send until the waiter gets to run. It clears ASLEEP only
 * after this waker's FUTEX_WAKE, and only for the sleep it saw (the
 * generation bits change when the waiter sleeps again): a waker stalled
 * before its wake (preempted, stopped, killed) leaves ASLEEP set, and the
 * next waker wakes the sleeper instead.
 *
 * FD mode (the port's fd was asked for): wakers also send one datagram to
 * the waiter's signal socket, but only when they flip `signaled` from 0 to
 * 1, so a burst costs one system call. The waiter resets `signaled` and
 * drains its socket only when it finds nothing pending, then re-checks and
 * re-signals itself if something arrived meanwhile: the fd stays readable
 * exactly while there is something to collect (spurious readiness aside).
 */
#ifndef FY_EVENT_WAITER_H
#define FY_EVENT_WAITER_H

#include <stdint.h>

#include "ferry/ferry.h"
#include "shm/layout.h"

#define FY_WAIT_NAME_MAX 96

/* Private side of a waiting port. */
struct fy_waiter {
    struct fy_waiter_shm *shm;
    char name[FY_WAIT_NAME_MAX]; /* signal socket name */
    int fd;                      /* signal socket, -1 until asked for */
    int64_t spin_ns;
    int64_t liveness_ns;
    uint64_t next_probe; /* kept across waits, so short waits still probe */
};

/* Name of the signal socket of port port_id in domain. */
void fy_waiter_name(char out[FY_WAIT_NAME_MAX], const char *domain, uint64_t port_id);

void fy_waiter_init(struct fy_waiter *w, struct fy_waiter_shm *shm, const char *domain, uint64_t port_id);
void fy_waiter_fini(struct fy_waiter *w);
int fy_waiter_set_opts(struct fy_waiter *w, const ferry_wait_opts *opts);

/* Creates the signal socket and switches to FD mode; returns the fd. */
int fy_waiter_fd(struct fy_waiter *w);

/* Waker side, after the seq_cst publication of the data. The common case,
 * nobody waiting, is one load of a line that stays in this core's cache. */
void fy_wake_slow(struct fy_waiter_shm *shm, uint32_t flags, const char *domain, uint64_t port_id);

static inline void fy_wake(struct fy_waiter_shm *shm, const char *domain, uint64_t port_id)
{
    uint32_t f = atomic_load_explicit(&shm->flags, memory_order_seq_cst);
    if (f & (FY_WAIT_ASLEEP | FY_WAIT_FD))
        fy_wake_slow(shm, f, domain, port_id);
}

/* Callbacks of a waiting port: ready() says whether there is something to
 * report (non-zero); peers() checks that peers are alive and returns 0, or
 * non-zero when it found (and cleaned up after) a dead one. peek() (may be
 * NULL) is what the spin phase calls instead of ready() while it can: a
 * cheap look for the common case, 1 ready, 0 not yet, -1 cannot tell (then
 * ready() decides). */
struct fy_wait_ops {
    int (*ready)(void *ctx);
    int (*peers)(void *ctx);
    int (*peek)(void *ctx);
    void *ctx;
};

/* Waits until ready(), for at most timeout_ns (FERRY_FOREVER: no limit).
 * FERRY_OK when ready, FERRY_ETIMEDOUT otherwise. */
int fy_waiter_wait(struct fy_waiter *w, const struct fy_wait_ops *ops, int64_t timeout_ns);

/* FD mode: the port found nothing to collect; re-arm the fd. */
void fy_waiter_rearm(struct fy_waiter *w, const struct fy_wait_ops *ops);

#endif
