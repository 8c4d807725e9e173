/*
 * wake_stall_test: a waker that stalls does not hold back the others.
 *
 * Wakers of a burst share the work: the first one to wake a sleeping
 * subscriber clears its ASLEEP flag, so that the later ones skip the system
 * call. That must happen only after its FUTEX_WAKE: a waker preempted,
 * stopped or killed between seeing ASLEEP and waking would otherwise leave
 * the subscriber asleep while every later waker thinks it is awake, until
 * its liveness probe (here 10 s).
 *
 * This test links the library statically and wraps its futex wake (the
 * linker's --wrap) so that publisher A's wake stalls for 1.5 s. The
 * subscriber sleeps; A sends (and stalls in its wake); 100 ms later
 * publisher B sends. The subscriber must be awake within 50 ms of B's send.
 *
 * Self-contained (no test support library: that one links the shared
 * library, and two copies of ferry in one process would not share state).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ferry/ferry.h"

#define STALL_US 1500000u
#define MAX_WAKE_NS 50000000ull

static _Thread_local int stall_this_thread;

/* The library's own, renamed by --wrap=fy_os_futex_wake. */
void __real_fy_os_futex_wake(_Atomic uint32_t *word);
void __wrap_fy_os_futex_wake(_Atomic uint32_t *word);

void __wrap_fy_os_futex_wake(_Atomic uint32_t *word)
{
    if (stall_this_thread)
        usleep(STALL_US); /* as if preempted right before the system call */
    __real_fy_os_futex_wake(word);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "FAIL wake_stall_test: %s (%s)\n", what, ferry_last_error_message());
    exit(1);
}

static ferry_pub *pub_a, *pub_b;
static _Atomic uint64_t b_sent_at;

static void *send_a(void *arg)
{
    (void)arg;
    usleep(200000); /* the subscriber is asleep by now */
    stall_this_thread = 1;
    if (ferry_pub_send_copy(pub_a, "A", 1) != FERRY_OK)
        fail("publisher A: send");
    return NULL;
}

static void *send_b(void *arg)
{
    (void)arg;
    usleep(300000);
    atomic_store(&b_sent_at, now_ns());
    if (ferry_pub_send_copy(pub_b, "B", 1) != FERRY_OK)
        fail("publisher B: send");
    return NULL;
}

int main(void)
{
    alarm(20);
    char domain[FERRY_DOMAIN_MAX + 1];
    snprintf(domain, sizeof domain, "wakestall%d", (int)getpid());
    ferry_node_opts no;
    ferry_node_opts_init(&no);
    no.domain = domain;
    ferry_node *node = NULL;
    if (ferry_node_open(&node, "stall", &no) != FERRY_OK)
        fail("node open");

    ferry_sub *sub = NULL;
    if (ferry_sub_open(&sub, node, "stall", NULL) != FERRY_OK || ferry_pub_open(&pub_a, node, "stall", NULL) != FERRY_OK ||
        ferry_pub_open(&pub_b, node, "stall", NULL) != FERRY_OK)
        fail("open");
    ferry_wait_opts wo;
    ferry_wait_opts_init(&wo);
    wo.liveness_ns = 10000000000ll; /* the probe must not be what wakes it */
    if (ferry_sub_set_wait_opts(sub, &wo) != FERRY_OK)
        fail("wait options");
    const void *p;
    size_t size;
    if (ferry_sub_take(sub, &p, &size) != FERRY_EAGAIN) /* connects, finds nothing */
        fail("a sample before any send");

    pthread_t a, b;
    if (pthread_create(&a, NULL, send_a, NULL) != 0 || pthread_create(&b, NULL, send_b, NULL) != 0)
        fail("pthread_create");
    int rc = ferry_sub_wait(sub, 5000000000ll);
    uint64_t woke = now_ns();
    if (rc != FERRY_OK)
        fail("ferry_sub_wait");
    uint64_t sent = atomic_load(&b_sent_at);
    int ok = 1;
    if (sent == 0) {
        fprintf(stderr, "FAIL wake_stall_test: woke before publisher B sent, with A's wake stalled\n");
        ok = 0;
    } else if (woke - sent > MAX_WAKE_NS) {
        fprintf(stderr, "FAIL wake_stall_test: woke %.1f ms after B's send (A's wake stalls %.0f ms)\n",
                (double)(woke - sent) / 1e6, STALL_US / 1e3);
        ok = 0;
    } else {
        printf("woke %.2f ms after B's send while A's wake stalled\n", (double)(woke - sent) / 1e6);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    ferry_pub_close(pub_a);
    ferry_pub_close(pub_b);
    ferry_sub_close(sub);
    ferry_node_close(node);
    unsigned removed = 0;
    ferry_cleanup(domain, &removed);
    if (!ok)
        return 1;
    printf("PASS wake_stall_test\n");
    return 0;
}
