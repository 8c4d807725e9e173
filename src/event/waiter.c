#include "event/waiter.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "os/os.h"

#define FY_DEFAULT_LIVENESS_NS 100000000ll

void fy_waiter_name(char out[FY_WAIT_NAME_MAX], const char *domain, uint64_t port_id)
{
    snprintf(out, FY_WAIT_NAME_MAX, "ferry.%s.w.%016llx", domain, (unsigned long long)port_id);
}

void fy_waiter_init(struct fy_waiter *w, struct fy_waiter_shm *shm, const char *domain, uint64_t port_id)
{
    w->shm = shm;
    fy_waiter_name(w->name, domain, port_id);
    w->fd = -1;
    w->spin_ns = 0;
    w->liveness_ns = FY_DEFAULT_LIVENESS_NS;
    w->next_probe = 0;
}

void fy_waiter_fini(struct fy_waiter *w)
{
    if (w->fd >= 0) {
        atomic_fetch_and_explicit(&w->shm->flags, ~(uint32_t)FY_WAIT_FD, memory_order_relaxed);
        fy_os_close(w->fd);
        w->fd = -1;
    }
}

void ferry_wait_opts_init(ferry_wait_opts *o)
{
    if (!o)
        return;
    o->spin_ns = 0;
    o->liveness_ns = FY_DEFAULT_LIVENESS_NS;
}

int fy_waiter_set_opts(struct fy_waiter *w, const ferry_wait_opts *opts)
{
    ferry_wait_opts def;
    if (!opts) {
        ferry_wait_opts_init(&def);
        opts = &def;
    }
    if (opts->spin_ns < 0 || opts->spin_ns > 1000000000ll)
        return fy_fail(FERRY_EINVAL, "wait option spin_ns is %lld: use 0 to 1000000000 (1 s)",
                       (long long)opts->spin_ns);
    if (opts->liveness_ns < 1000000ll || opts->liveness_ns > 60000000000ll)
        return fy_fail(FERRY_EINVAL, "wait option liveness_ns is %lld: use 1000000 (1 ms) to 60000000000 (60 s)",
                       (long long)opts->liveness_ns);
    w->spin_ns = opts->spin_ns;
    w->liveness_ns = opts->liveness_ns;
    w->next_probe = 0;
    return FERRY_OK;
}

int fy_waiter_fd(struct fy_waiter *w)
{
    if (w->fd >= 0)
        return w->fd;
    int fd = fy_os_signal_open(w->name);
    if (fd < 0)
        return fd;
    w->fd = fd;
    atomic_store_explicit(&w->shm->signaled, 0, memory_order_relaxed);
    /* seq_cst: ordered before the caller's re-check (fy_waiter_rearm). */
    atomic_fetch_or_explicit(&w->shm->flags, FY_WAIT_FD, memory_order_seq_cst);
    return fd;
}

void fy_wake_slow(struct fy_waiter_shm *shm, uint32_t f, const char *domain, uint64_t port_id)
{
    if (f & FY_WAIT_ASLEEP) {
        /* The waiter read the futex word before it set ASLEEP, so this
         * increment either comes before its FUTEX_WAIT (which then returns
         * at once) or is followed by the wake below. */
        atomic_fetch_add_explicit(&shm->futex, 1, memory_order_release);
        fy_os_futex_wake(&shm->futex);
        /* Woken: later wakers of this sleep may skip the system call. Not
         * if the waiter has gone back to sleep since f was read (other
         * generation) or changed its flags otherwise: then the CAS fails
         * and ASLEEP stays for the next waker to act on (waiter.h). */
        uint32_t expected = f;
        atomic_compare_exchange_strong_explicit(&shm->flags, &expected, f & ~(uint32_t)FY_WAIT_ASLEEP,
                                                memory_order_relaxed, memory_order_relaxed);
    }
    if ((f & FY_WAIT_FD) && atomic_load_explicit(&shm->signaled, memory_order_seq_cst) == 0) {
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong_explicit(&shm->signaled, &zero, 1, memory_order_seq_cst,
                                                    memory_order_relaxed)) {
            char name[FY_WAIT_NAME_MAX];
            fy_waiter_name(name, domain, port_id);
            fy_os_signal_send(name);
        }
    }
}

void fy_waiter_rearm(struct fy_waiter *w, const struct fy_wait_ops *ops)
{
    if (w->fd < 0 || atomic_load_explicit(&w->shm->signaled, memory_order_relaxed) == 0)
        return;
    fy_os_signal_drain(w->fd);
    atomic_store_explicit(&w->shm->signaled, 0, memory_order_seq_cst);
    /* Something may have arrived between the caller's empty check and the
     * reset: wakers saw signaled == 1 and sent nothing. Signal ourselves. */
    if (ops->ready(ops->ctx)) {
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong(&w->shm->signaled, &zero, 1))
            fy_os_signal_send(w->name);
    }
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Sets ASLEEP and the generation of this sleep (seq_cst RMW), keeping FD. */
static void announce_sleep(struct fy_waiter_shm *shm, uint32_t seq)
{
    uint32_t old = atomic_load_explicit(&shm->flags, memory_order_relaxed);
    uint32_t want;
    do
        want = (old & FY_WAIT_FD) | FY_WAIT_ASLEEP | (seq << FY_WAIT_GEN_SHIFT);
    while (!atomic_compare_exchange_weak_explicit(&shm->flags, &old, want, memory_order_seq_cst,
                                                  memory_order_relaxed));
}

int fy_waiter_wait(struct fy_waiter *w, const struct fy_wait_ops *ops, int64_t timeout_ns)
{
    if (ops->ready(ops->ctx))
        return FERRY_OK;
    if (timeout_ns == 0)
        return FERRY_ETIMEDOUT;
    uint64_t start = fy_os_now_ns();
    uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : start + (uint64_t)timeout_ns;
    if (w->spin_ns > 0) {
        uint64_t spin_end = start + (uint64_t)w->spin_ns;
        if (spin_end > deadline)
            spin_end = deadline;
        for (unsigned i = 0;; i++) {
            int seen = ops->peek ? ops->peek(ops->ctx) : -1;
            if (seen > 0 || (seen < 0 && ops->ready(ops->ctx)))
                return FERRY_OK;
            cpu_relax();
            if ((i & 63) == 63 && fy_os_now_ns() >= spin_end)
                break;
        }
    }
    uint64_t now0 = fy_os_now_ns();
    if (w->next_probe == 0 || w->next_probe > now0 + (uint64_t)w->liveness_ns)
        w->next_probe = now0 + (uint64_t)w->liveness_ns;
    for (;;) {
        uint64_t next_probe = w->next_probe;
        uint32_t seq = atomic_load_explicit(&w->shm->futex, memory_order_acquire);
        announce_sleep(w->shm, seq);
        if (ops->ready(ops->ctx)) {
            atomic_fetch_and_explicit(&w->shm->flags, ~(uint32_t)FY_WAIT_ASLEEP, memory_order_relaxed);
            return FERRY_OK;
        }
        uint64_t now = fy_os_now_ns();
        uint64_t until = deadline < next_probe ? deadline : next_probe;
        if (now < until)
            fy_os_futex_wait(&w->shm->futex, seq, (int64_t)(until - now));
        atomic_fetch_and_explicit(&w->shm->flags, ~(uint32_t)FY_WAIT_ASLEEP, memory_order_relaxed);
        if (ops->ready(ops->ctx))
            return FERRY_OK;
        now = fy_os_now_ns();
        if (now >= next_probe) {
            w->next_probe = now + (uint64_t)w->liveness_ns;
            if (ops->peers && ops->peers(ops->ctx) && ops->ready(ops->ctx))
                return FERRY_OK;
        }
        if (now >= deadline)
            return FERRY_ETIMEDOUT;
    }
}
