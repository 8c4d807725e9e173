/*
 * The list of methods. To add one: write methods/<name>.c defining a
 * const struct bench_method, declare it here, add it to bench_methods[] and
 * add the file to bench/CMakeLists.txt.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

extern const struct bench_method bench_method_raw;
extern const struct bench_method bench_method_raw_touch;
extern const struct bench_method bench_method_ferry;
extern const struct bench_method bench_method_ferry_touch;
extern const struct bench_method bench_method_ferry_ts;
extern const struct bench_method bench_method_ferry_wait;
extern const struct bench_method bench_method_ferry_spin;
extern const struct bench_method bench_method_ferry_event;
extern const struct bench_method bench_method_ferry_reqres;
extern const struct bench_method bench_method_ferry_reqres_touch;
extern const struct bench_method bench_method_shm_copy;
extern const struct bench_method bench_method_mmap_file;
extern const struct bench_method bench_method_eventfd_shm;
extern const struct bench_method bench_method_futex;
extern const struct bench_method bench_method_uds;
extern const struct bench_method bench_method_uds_dgram;
extern const struct bench_method bench_method_uds_seqpkt;
extern const struct bench_method bench_method_pipe;
extern const struct bench_method bench_method_fifo;
extern const struct bench_method bench_method_tcp;
extern const struct bench_method bench_method_udp;
extern const struct bench_method bench_method_posix_mq;
extern const struct bench_method bench_method_sysv_mq;
extern const struct bench_method bench_method_signal;
extern const struct bench_method bench_method_file;
#ifdef FERRY_BENCH_HAVE_ZMQ
extern const struct bench_method bench_method_zmq;
#endif
#ifdef FERRY_BENCH_HAVE_NNG
extern const struct bench_method bench_method_nng;
#endif

const struct bench_method *const bench_methods[] = {
    &bench_method_raw,
    &bench_method_raw_touch,
    &bench_method_ferry,
    &bench_method_ferry_touch,
    &bench_method_ferry_ts,
    &bench_method_ferry_wait,
    &bench_method_ferry_spin,
    &bench_method_ferry_event,
    &bench_method_ferry_reqres,
    &bench_method_ferry_reqres_touch,
    &bench_method_shm_copy,
    &bench_method_mmap_file,
    &bench_method_eventfd_shm,
    &bench_method_futex,
    &bench_method_uds,
    &bench_method_uds_dgram,
    &bench_method_uds_seqpkt,
    &bench_method_pipe,
    &bench_method_fifo,
    &bench_method_tcp,
    &bench_method_udp,
    &bench_method_posix_mq,
    &bench_method_sysv_mq,
    &bench_method_signal,
    &bench_method_file,
#ifdef FERRY_BENCH_HAVE_ZMQ
    &bench_method_zmq,
#endif
#ifdef FERRY_BENCH_HAVE_NNG
    &bench_method_nng,
#endif
    NULL,
};

/* Methods this build does not have, and why. */
const char *const bench_methods_missing[] = {
#ifndef FERRY_BENCH_HAVE_ZMQ
    "zmq: libzmq was not found when ferry-bench was built (Debian: apt-get install libzmq3-dev, then "
    "reconfigure)",
#endif
#ifndef FERRY_BENCH_HAVE_NNG
    "nng: nng was not found when ferry-bench was built (Debian: apt-get install libnng-dev, then reconfigure)",
#endif
    "iceoryx: not packaged for Debian/Ubuntu (it needs a source build and its RouDi daemon): not measured",
    "ferry state read: a single-process micro-benchmark, not a hand-off between two processes: not measured "
    "by this harness",
    NULL,
};

const struct bench_method *bench_method_find(const char *name)
{
    for (size_t i = 0; bench_methods[i]; i++) {
        if (strcmp(bench_methods[i]->name, name) == 0)
            return bench_methods[i];
    }
    return NULL;
}

int bench_method_supports(const struct bench_method *m, const struct bench_params *p, char *why, size_t n)
{
    if (n)
        why[0] = '\0';
    if (p->mode == BENCH_STREAM && !m->stream) {
        snprintf(why, n, "%s does not stream", m->name);
        return 0;
    }
    if (!m->supports)
        return 1;
    bench_clear_error();
    if (m->supports(p, why, n))
        return 1;
    if (n && !why[0])
        snprintf(why, n, "not supported here");
    return 0;
}
