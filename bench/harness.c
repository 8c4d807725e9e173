/*
 * ferry-bench harness: one measurement = one fork of two children.
 *
 * The parent prepares the method (shared mappings, sockets), then forks child
 * A and child B, each pinned to its core; it never opens an endpoint itself,
 * so nothing of a method is ever inherited across fork in an open state. The
 * children share a small control block (an anonymous shared mapping) for a
 * start barrier, the stream's final count, results and error messages; A
 * writes its timing samples into a second shared mapping. The parent waits
 * for both with a deadline (sigtimedwait on SIGCHLD): when one side fails,
 * the other, which may be spinning for a message that will never come, is
 * killed by its pid; after the deadline both are.
 */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct ctl {
    alignas(BENCH_LINE) _Atomic uint32_t barrier_count;
    _Atomic uint32_t barrier_phase;
    _Atomic uint32_t failed;
    /* Stream: B has received its last message (or given up). A closes only
     * then: some methods drop what is still queued when the sender closes
     * (a ZeroMQ PAIR peer that goes away discards its undelivered messages
     * on a loaded machine), which would read as a lost message. */
    _Atomic uint32_t stream_done;
    /* Stream: the number of the last message, stored (release) by the sender
     * before it sends that message; 0 until then. Its own line: the receiver
     * reads it after every message. */
    alignas(BENCH_LINE) _Atomic uint64_t stream_total;
    /* Ping-pong: the sequence number of the first timed round trip, stored
     * (release) by A before it sends that message; 0 while warming up. B
     * reads it after every message until it is set, and then knows where
     * to stop. */
    alignas(BENCH_LINE) _Atomic uint64_t timed_from;
    alignas(BENCH_LINE) uint64_t t_warm_ns;
    uint64_t t_end_ns;
    uint64_t received;
    int32_t pid[2];     /* of A and B, written by each before the start barrier */
    double off_cpu[2];  /* share of the timed part that A or B waited for a CPU (larger of the two) */
    uint64_t ivcsw[2];  /* involuntary context switches in the timed part, per side */
    char err[2][600];
};

static sigset_t g_old_mask;
static unsigned g_counter;

void bench_harness_init(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &g_old_mask);
}

/* Two-party barrier; -1 when the peer reported a failure meanwhile. */
static int barrier(struct ctl *c)
{
    uint32_t phase = atomic_load_explicit(&c->barrier_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&c->barrier_count, 1, memory_order_acq_rel) == 1) {
        atomic_store_explicit(&c->barrier_count, 0, memory_order_relaxed);
        atomic_store_explicit(&c->barrier_phase, phase + 1, memory_order_release);
        return 0;
    }
    unsigned spins = 0;
    while (atomic_load_explicit(&c->barrier_phase, memory_order_acquire) == phase) {
        if (atomic_load_explicit(&c->failed, memory_order_relaxed))
            return bench_fail("the other side failed before the start");
        bench_spin(&spins);
    }
    return 0;
}

/* How much of a stretch of wall time the two sides spent runnable but
 * waiting for a CPU (another task had it): the scheduler's run_delay from
 * /proc/PID/schedstat. Time a side sleeps by choice (blocking in read(), a
 * futex...) does not count. The side that brackets the timed part reads both
 * processes, outside the timed region; each side counts its own involuntary
 * context switches. */
struct on_cpu {
    uint64_t wall, ivcsw;
    int64_t delay[2];
    int bracket;
};

static uint64_t ivcsw_now(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_nivcsw;
}

/* run_delay of pid in ns, -1 when unknown (no schedstat in this kernel). */
static int64_t run_delay_ns(int32_t pid)
{
    char path[64], buf[128];
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long run = 0, delay = 0;
    int n = fgets(buf, sizeof buf, f) ? sscanf(buf, "%llu %llu", &run, &delay) : 0;
    fclose(f);
    return n == 2 ? (int64_t)delay : -1;
}

static struct on_cpu on_cpu_start(const struct ctl *c, int bracket)
{
    struct on_cpu o = {0, ivcsw_now(), {-1, -1}, bracket};
    if (bracket) {
        o.delay[0] = run_delay_ns(c->pid[0]);
        o.delay[1] = run_delay_ns(c->pid[1]);
    }
    o.wall = bench_now_ns();
    return o;
}

/* Records this side's figures for the stretch that began at o. */
static void on_cpu_end(struct ctl *c, int side, struct on_cpu o)
{
    uint64_t wall = bench_now_ns() - o.wall;
    c->ivcsw[side] = ivcsw_now() - o.ivcsw;
    c->off_cpu[side] = 0;
    if (!o.bracket || wall == 0)
        return;
    for (int r = 0; r < 2; r++) {
        int64_t d = run_delay_ns(c->pid[r]);
        if (d < 0 || o.delay[r] < 0 || d < o.delay[r])
            continue;
        double share = (double)(d - o.delay[r]) / (double)wall;
        if (share > c->off_cpu[side])
            c->off_cpu[side] = share;
    }
}

static int run_pingpong_a(const struct bench_job *job, void *ep, uint64_t *samples, struct ctl *c)
{
    const struct bench_method *m = job->method;
    uint64_t seq = 1;
    uint64_t t_start = bench_now_ns();
    for (;; seq++) {
        if (seq > job->warmup && bench_now_ns() - t_start >= job->warmup_ns)
            break;
        if (m->send(ep, seq) != 0 || m->recv(ep, seq) != 0)
            return -1;
    }
    struct on_cpu oc = on_cpu_start(c, 1);
    atomic_store_explicit(&c->timed_from, seq, memory_order_release);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < job->samples; i++) {
        for (uint32_t b = 0; b < job->batch; b++, seq++) {
            if (m->send(ep, seq) != 0 || m->recv(ep, seq) != 0)
                return -1;
        }
        uint64_t t1 = bench_now_ns();
        samples[i] = t1 - t0;
        t0 = t1;
    }
    on_cpu_end(c, 0, oc);
    return 0;
}

static int run_pingpong_b(const struct bench_job *job, void *ep, struct ctl *c)
{
    const struct bench_method *m = job->method;
    uint64_t total = 0; /* known once A has finished warming up */
    struct on_cpu oc = {0, 0, {-1, -1}, 0};
    for (uint64_t seq = 1; total == 0 || seq <= total; seq++) {
        if (m->recv(ep, seq) != 0 || m->send(ep, seq) != 0)
            return -1;
        if (total == 0) {
            uint64_t from = atomic_load_explicit(&c->timed_from, memory_order_acquire);
            if (from) {
                total = from - 1 + job->samples * job->batch;
                oc = on_cpu_start(c, 0);
            }
        }
    }
    on_cpu_end(c, 1, oc);
    return 0;
}

static int run_stream_a(const struct bench_job *job, void *ep, struct ctl *c)
{
    const struct bench_method *m = job->method;
    if (job->stream_count) {
        for (uint64_t seq = 1; seq <= job->stream_count; seq++) {
            if (m->send(ep, seq) != 0)
                return -1;
        }
        return 0;
    }
    uint64_t t_warm = 0;
    struct on_cpu oc = {0, 0, {-1, -1}, 0};
    for (uint64_t seq = 1;; seq++) {
        if (seq == job->stream_warmup + 1) {
            t_warm = bench_now_ns();
            oc = on_cpu_start(c, 0);
        }
        if (seq > job->stream_warmup && (seq & 1023) == 0 && bench_now_ns() - t_warm >= job->stream_ns) {
            atomic_store_explicit(&c->stream_total, seq, memory_order_release);
            on_cpu_end(c, 0, oc);
            return m->send(ep, seq);
        }
        if (m->send(ep, seq) != 0)
            return -1;
    }
}

static int run_stream_b(const struct bench_job *job, void *ep, struct ctl *c)
{
    const struct bench_method *m = job->method;
    struct on_cpu oc = on_cpu_start(c, 1);
    uint64_t t_warm = bench_now_ns();
    for (uint64_t seq = 1;; seq++) {
        if (m->recv(ep, seq) != 0)
            return -1;
        if (seq == job->stream_warmup) {
            oc = on_cpu_start(c, 1);
            t_warm = bench_now_ns();
        }
        if (atomic_load_explicit(&c->stream_total, memory_order_acquire) == seq) {
            c->t_end_ns = bench_now_ns();
            on_cpu_end(c, 1, oc);
            c->t_warm_ns = t_warm;
            c->received = seq;
            return 0;
        }
    }
}

static void child_main(const struct bench_job *job, enum bench_role role, struct ctl *c, uint64_t *samples,
                       void *shared)
{
    sigprocmask(SIG_SETMASK, &g_old_mask, NULL);
    bench_clear_error();
    const struct bench_method *m = job->method;
    void *ep = NULL;
    int rc = bench_pin_to_cpu(role == BENCH_ROLE_A ? job->cpu_a : job->cpu_b);
    if (rc == 0)
        rc = m->open(&job->params, shared, role, &ep);
    c->pid[role] = (int32_t)getpid();
    if (rc == 0)
        rc = barrier(c);
    if (rc == 0) {
        if (job->params.mode == BENCH_PINGPONG)
            rc = role == BENCH_ROLE_A ? run_pingpong_a(job, ep, samples, c) : run_pingpong_b(job, ep, c);
        else if (role == BENCH_ROLE_A)
            rc = run_stream_a(job, ep, c);
        else
            rc = run_stream_b(job, ep, c);
    }
    if (job->params.mode == BENCH_STREAM && role == BENCH_ROLE_B)
        atomic_store_explicit(&c->stream_done, 1, memory_order_release);
    if (job->params.mode == BENCH_STREAM && role == BENCH_ROLE_A && rc == 0) {
        /* Bounded by the parent's deadline, which kills both sides. */
        while (!atomic_load_explicit(&c->stream_done, memory_order_acquire) &&
               !atomic_load_explicit(&c->failed, memory_order_acquire))
            usleep(1000);
    }
    if (rc != 0) {
        snprintf(c->err[role], sizeof c->err[role], "%s", bench_error());
        atomic_store_explicit(&c->failed, 1, memory_order_release);
    }
    if (ep)
        m->close(ep);
    _exit(rc == 0 ? 0 : 1);
}

static void append(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    if (len)
        snprintf(buf + len, cap - len, "; ");
    len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static void describe_status(char *out, size_t n, int status)
{
    if (WIFEXITED(status))
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, n, "stopped");
}

int bench_run(const struct bench_job *job, struct bench_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct bench_job j = *job;
    snprintf(j.params.tag, sizeof j.params.tag, "fb%ld_%u", (long)getpid(), ++g_counter);
    if (j.batch == 0)
        j.batch = 1;
    if (j.stream_count)
        j.stream_warmup = 0;
    bench_clear_error();

    struct ctl *c = bench_shared_alloc(sizeof *c);
    size_t samples_bytes = (size_t)(j.params.mode == BENCH_PINGPONG ? j.samples : 0) * sizeof(uint64_t) + 8;
    uint64_t *samples = bench_shared_alloc(samples_bytes);
    if (!c || !samples) {
        snprintf(out->error, sizeof out->error, "%s", bench_error());
        bench_shared_free(c, sizeof *c);
        bench_shared_free(samples, samples_bytes);
        return -1;
    }
    if (j.params.mode == BENCH_STREAM && j.stream_count)
        atomic_store(&c->stream_total, j.stream_count);

    void *shared = NULL;
    if (j.method->prepare(&j.params, &shared) != 0) {
        snprintf(out->error, sizeof out->error, "prepare: %s", bench_error());
        bench_shared_free(c, sizeof *c);
        bench_shared_free(samples, samples_bytes);
        return -1;
    }

    fflush(stdout);
    fflush(stderr);
    pid_t pid[2] = {-1, -1};
    int status[2] = {0, 0};
    int alive = 0;
    char perr[300] = "";
    for (int r = 0; r < 2; r++) {
        pid[r] = fork();
        if (pid[r] == 0)
            child_main(&j, r == 0 ? BENCH_ROLE_A : BENCH_ROLE_B, c, samples, shared);
        if (pid[r] < 0) {
            snprintf(perr, sizeof perr, "fork: %s", strerror(errno));
            atomic_store(&c->failed, 1);
            break;
        }
        alive++;
    }

    /* Wait for both, killing the survivor when one side fails and both at the
     * deadline. */
    int timed_out = 0;
    int done[2] = {pid[0] < 0, pid[1] < 0};
    uint64_t deadline = bench_now_ns() + (uint64_t)(j.timeout_s * 1e9);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    while (alive > 0) {
        for (int r = 0; r < 2; r++) {
            if (done[r])
                continue;
            pid_t w = waitpid(pid[r], &status[r], WNOHANG);
            if (w == pid[r]) {
                done[r] = 1;
                alive--;
                int bad = !WIFEXITED(status[r]) || WEXITSTATUS(status[r]) != 0;
                if (bad && !done[1 - r])
                    kill(pid[1 - r], SIGKILL);
            }
        }
        if (alive == 0)
            break;
        uint64_t now = bench_now_ns();
        if (now >= deadline) {
            if (!timed_out) {
                timed_out = 1;
                for (int r = 0; r < 2; r++) {
                    if (!done[r])
                        kill(pid[r], SIGKILL);
                }
            }
            deadline = now + 1000000000ull; /* reap what was killed */
            continue;
        }
        uint64_t wait_ns = deadline - now;
        if (wait_ns > 1000000000ull)
            wait_ns = 1000000000ull;
        struct timespec ts = {(time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull)};
        sigtimedwait(&chld, NULL, &ts);
    }

    bench_clear_error();
    int cleanup_rc = j.method->cleanup(&j.params, shared);
    char cleanup_err[600] = "";
    if (cleanup_rc != 0)
        snprintf(cleanup_err, sizeof cleanup_err, "%s", bench_error());

    /* Compose the outcome, the first cause first. */
    const char *who[2] = {"A", "B"};
    char *e = out->error;
    size_t ecap = sizeof out->error;
    if (timed_out)
        append(e, ecap, "timed out after %.0f s (a side hangs: a lost message or a deadlock)", j.timeout_s);
    if (perr[0])
        append(e, ecap, "%s", perr);
    for (int r = 0; r < 2; r++) {
        if (c->err[r][0]) {
            append(e, ecap, "side %s: %s", who[r], c->err[r]);
        } else if (pid[r] > 0 && !timed_out && (!WIFEXITED(status[r]) || WEXITSTATUS(status[r]) != 0)) {
            /* Killed by us because the other side failed: not a cause. */
            if (c->err[1 - r][0] && WIFSIGNALED(status[r]) && WTERMSIG(status[r]) == SIGKILL)
                continue;
            char d[120];
            describe_status(d, sizeof d, status[r]);
            append(e, ecap, "side %s %s", who[r], d);
        }
    }
    if (cleanup_err[0])
        append(e, ecap, "cleanup: %s", cleanup_err);
    int ok = e[0] == '\0';

    if (ok && j.params.mode == BENCH_PINGPONG) {
        out->rt_ns = malloc(j.samples * sizeof(uint64_t) + 8);
        if (!out->rt_ns) {
            ok = 0;
            snprintf(out->error, sizeof out->error, "out of memory");
        } else {
            memcpy(out->rt_ns, samples, j.samples * sizeof(uint64_t));
            out->n = j.samples;
        }
    } else if (ok) {
        out->messages = c->received > j.stream_warmup ? c->received - j.stream_warmup : 0;
        out->seconds = (double)(c->t_end_ns - c->t_warm_ns) / 1e9;
        out->msgs_per_s = out->seconds > 0 ? (double)out->messages / out->seconds : 0;
    }
    out->off_cpu = c->off_cpu[0] > c->off_cpu[1] ? c->off_cpu[0] : c->off_cpu[1];
    out->preempted = c->ivcsw[0] + c->ivcsw[1];
    out->ok = ok;
    bench_shared_free(c, sizeof *c);
    bench_shared_free(samples, samples_bytes);
    return ok ? 0 : -1;
}

void bench_outcome_free(struct bench_outcome *out)
{
    free(out->rt_ns);
    out->rt_ns = NULL;
}
