/* ferry-bench: running one measurement of one method in two processes. */
#ifndef FERRY_BENCH_HARNESS_H
#define FERRY_BENCH_HARNESS_H

#include <stdint.h>

#include "bench.h"

struct bench_job {
    const struct bench_method *method;
    struct bench_params params; /* tag is filled in by bench_run */
    int cpu_a, cpu_b;           /* -1: leave unpinned */
    double timeout_s;           /* both children are killed after this long */

    /* BENCH_PINGPONG */
    uint64_t warmup;    /* untimed round trips first, at least this many... */
    uint64_t warmup_ns; /* ...and for at least this long */
    uint64_t samples; /* timed samples */
    uint32_t batch;   /* round trips per sample (>= 1) */

    /* BENCH_STREAM: either a fixed number of messages (stream_count > 0), or
     * as many as the sender can send in stream_ns after the warm-up. The
     * first stream_warmup messages are not counted in the rate. */
    uint64_t stream_count;
    uint64_t stream_ns;
    uint64_t stream_warmup;
};

struct bench_outcome {
    int ok;
    char error[700];
    /* BENCH_PINGPONG: job->samples round-trip times in ns, each over
     * job->batch round trips; malloc'ed, free with bench_outcome_free. */
    uint64_t *rt_ns;
    uint64_t n;
    /* Involuntary context switches of A and B during the timed part (a few
     * are kernel housekeeping; see off_cpu for how much time they took). */
    uint64_t preempted;
    /* The larger of A's and B's share of the timed part's wall time spent
     * runnable but waiting for a CPU (another task ran there; sleeping by
     * choice does not count): 0.001 is kernel housekeeping, a few percent
     * or more means the machine was busy. 0 where the kernel has no
     * schedstat. */
    double off_cpu;
    /* BENCH_STREAM */
    uint64_t messages; /* counted messages (after the warm-up) */
    double seconds;
    double msgs_per_s;
};

/* Call once, before any bench_run: blocks SIGCHLD so that the parent can
 * wait for its children with a timeout. */
void bench_harness_init(void);

/* Runs one measurement: forks the two sides, waits (killing both on failure
 * or timeout), cleans up. Returns 0 when it succeeded (out->ok), -1 otherwise
 * with out->error set. */
int bench_run(const struct bench_job *job, struct bench_outcome *out);

void bench_outcome_free(struct bench_outcome *out);

#endif
