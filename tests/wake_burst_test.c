/*
 * wake_burst_test: many wakers, one sleeper, no lost wake-up.
 *
 * The first waker of a burst clears the sleeper's ASLEEP flag and makes the
 * only FUTEX_WAKE; the others see it clear and make no system call. This
 * test hammers that path: four publisher threads send bursts of 1..16
 * samples with pauses between them to one subscriber that sleeps in
 * ferry_sub_wait (no spinning, liveness probe at 60 s so that it cannot
 * hide a lost wake-up) and drains with ferry_sub_take whenever it wakes.
 * Every sample of every publisher must arrive, in order per publisher. The
 * samples are stamped: when a wait returns more than 50 ms after the first
 * sample it then takes was sent (or after the wait began, if later), the
 * subscriber slept through that sample's wake-up (the wait has a 500 ms
 * timeout, so a lost wake-up shows as a late return, OK or timed out).
 * The pauses between bursts (0..200 us) let the subscriber fall asleep
 * between most of them, so wakers race with a sleeper again and again.
 */
#include "ferry_test.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLISHERS 4
#define BURSTS 400
#define WAIT_TIMEOUT_NS 500000000ll
#define WAKE_SLACK_NS 50000000ull

struct waker {
    ferry_pub *pub;
    uint32_t index;
    unsigned seed;
    uint64_t sent;         /* the thread's own count */
    _Atomic uint64_t done; /* the final count once finished, else 0 */
};

static atomic_int finished;

static void pause_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000};
    nanosleep(&ts, NULL);
}

static void *waker_main(void *arg)
{
    struct waker *w = arg;
    for (int b = 0; b < BURSTS; b++) {
        unsigned n = 1 + (unsigned)rand_r(&w->seed) % 16;
        for (unsigned i = 0; i < n; i++) {
            uint64_t msg[2] = {w->index, w->sent + 1};
            void *p;
            if (ferry_pub_loan(w->pub, sizeof msg, &p) != FERRY_OK)
                goto out;
            memcpy(p, msg, sizeof msg);
            int rc;
            /* BLOCK: try_send refuses while the queue is full; keep the loan. */
            while ((rc = ferry_pub_try_send(w->pub, p)) == FERRY_EAGAIN)
                pause_us(10);
            if (rc != FERRY_OK)
                goto out;
            w->sent++;
        }
        pause_us((unsigned)rand_r(&w->seed) % 200);
    }
out:
    atomic_store(&w->done, w->sent);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

int main(void)
{
    ft_init("wake_burst_test", 60);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "wakeburst");
    ferry_node *node = ft_node_open(domain, "burst");

    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 16;
    o.queue_capacity = 8;
    o.max_publishers = PUBLISHERS;
    o.max_subscribers = 1;
    o.overflow = FERRY_OVERFLOW_BLOCK; /* nothing may be lost */
    o.timestamps = 1;                  /* see the lost wake-up check */
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "burst", &o));
    ferry_wait_opts wo;
    ferry_wait_opts_init(&wo);
    wo.spin_ns = 0;
    wo.liveness_ns = 60000000000ll;
    CHECK_OK(ferry_sub_set_wait_opts(sub, &wo));

    struct waker wakers[PUBLISHERS];
    pthread_t threads[PUBLISHERS];
    for (uint32_t i = 0; i < PUBLISHERS; i++) {
        memset(&wakers[i], 0, sizeof wakers[i]);
        wakers[i].index = i;
        wakers[i].seed = 12345u + i;
        CHECK_OK(ferry_pub_open(&wakers[i].pub, node, "burst", &o));
    }
    for (uint32_t i = 0; i < PUBLISHERS; i++)
        CHECK(pthread_create(&threads[i], NULL, waker_main, &wakers[i]) == 0);

    /* Every sample of every publisher, in order, until all publishers have
     * finished and everything they counted has arrived. */
    uint64_t got[PUBLISHERS] = {0};
    uint64_t total = 0, waits = 0, timeouts = 0; /* timeouts in a row */
    uint64_t wait_began = 0, wait_ended = 0; /* the last wait; 0: none since a take */
    for (;;) {
        const void *p;
        size_t size;
        int rc;
        while ((rc = ferry_sub_take(sub, &p, &size)) == FERRY_OK) {
            uint64_t msg[2];
            CHECK_EQ(size, sizeof msg);
            memcpy(msg, p, sizeof msg);
            ferry_sample_info info;
            CHECK_OK(ferry_sub_sample_info(sub, p, &info));
            ferry_sub_release(sub, p);
            if (wait_ended) {
                uint64_t from = info.timestamp_ns > wait_began ? info.timestamp_ns : wait_began;
                CHECK_MSG(wait_ended < from + WAKE_SLACK_NS,
                          "a wait returned %.1f ms after a sample it should have woken up for: a lost wake-up",
                          (double)(wait_ended - from) / 1e6);
                wait_ended = 0;
            }
            CHECK_MSG(msg[0] < PUBLISHERS, "publisher index %" PRIu64, msg[0]);
            CHECK_MSG(msg[1] == got[msg[0]] + 1, "publisher %" PRIu64 ": sample %" PRIu64 " after %" PRIu64, msg[0],
                      msg[1], got[msg[0]]);
            got[msg[0]] = msg[1];
            total++;
            timeouts = 0;
        }
        CHECK_RC(rc, FERRY_EAGAIN);
        int all_done = atomic_load(&finished) == PUBLISHERS;
        uint64_t expected = 0;
        for (uint32_t i = 0; all_done && i < PUBLISHERS; i++)
            expected += atomic_load(&wakers[i].done);
        if (all_done && total == expected)
            break;
        /* A finished publisher wakes nobody: the last wait may time out. */
        wait_began = ft_now_ns();
        rc = ferry_sub_wait(sub, WAIT_TIMEOUT_NS);
        wait_ended = ft_now_ns();
        waits++;
        if (rc == FERRY_ETIMEDOUT) {
            CHECK_MSG(++timeouts < 10, "%" PRIu64 " samples received, then nothing for 5 s", total);
            continue;
        }
        CHECK_MSG(rc == FERRY_OK, "ferry_sub_wait gave %d (%s)", rc, ferry_last_error_message());
    }
    for (uint32_t i = 0; i < PUBLISHERS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK_MSG(got[i] == wakers[i].sent && got[i] >= BURSTS, "publisher %u: sent %" PRIu64 ", received %" PRIu64, i,
                  wakers[i].sent, got[i]);
        ferry_pub_close(wakers[i].pub);
    }
    printf("%" PRIu64 " samples from %d publishers in %" PRIu64 " waits\n", total, PUBLISHERS, waits);
    ferry_sub_close(sub);
    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
