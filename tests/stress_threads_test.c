/*
 * stress_threads_test: the queue path under concurrency, in one process
 * (publisher and subscriber ports used from different threads).
 *  - DROP_OLDEST, 1 publisher thread -> 1 subscriber thread: sequences strictly
 *    increase, payloads intact, received + lost == sent, the last sample
 *    arrives;
 *  - BLOCK, 1 -> 1: every sequence exactly once and in order, lost == 0;
 *  - BLOCK, 2 publishers (one with ferry_pub_send, one retrying
 *    ferry_pub_try_send with the same loan on FERRY_EAGAIN) -> 2 subscribers:
 *    each subscriber gets every sample of each publisher in order;
 *  - every subscriber keeps a few samples taken and checks them again before
 *    releasing them (their memory must not be reused meanwhile);
 *  - BLOCK, subscribers join and leave while a publisher thread sends without
 *    pause: no gap from the first send after the open, and a subscriber that
 *    closes while the publisher waits for it does not stop the publisher.
 *  Sample counts are hundreds of thousands, divided for sanitizer builds.
 */
#include "ferry_test.h"
#include "payload.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* ThreadSanitizer slows every atomic access down: fewer samples there. */
#if defined(__SANITIZE_THREAD__)
#define SCALE_DIV 4
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SCALE_DIV 4
#endif
#endif
#ifndef SCALE_DIV
#define SCALE_DIV 1
#endif

#define MAX_PAYLOAD 256
#define HOLD 3 /* samples a subscriber keeps taken (max_borrowed is 4) */
#define PHASE_LIMIT_NS (25ull * 1000000000ull)

struct pub_thread {
    ferry_pub *pub;
    uint64_t count;
    size_t size; /* bytes per sample: sets how fast this publisher goes */
    int use_try_send;
    atomic_int *done; /* incremented when finished */
    uint64_t eagain;  /* try_send refusals seen */
    atomic_int *ready; /* subscribers running; start when it reaches n_subs */
    int n_subs;
};

struct sub_thread {
    ferry_sub *sub;
    int n_pubs;
    uint64_t pub_ids[2];
    uint64_t expected_per_pub; /* BLOCK: exactly this many per publisher */
    int exact;                 /* 1: no gaps allowed */
    atomic_int *done;          /* publishers finished when *done == n_pubs */
    atomic_int *ready;         /* incremented once running */
    uint64_t received;
    uint64_t last[2];
    /* Taken samples kept for a while (up to max_borrowed) and checked again
     * before release: the publisher must never reuse their memory. */
    struct held {
        const void *p;
        size_t size;
        uint64_t seq;
    } held[HOLD];
    unsigned n_held;
};

static void *publish(void *arg)
{
    struct pub_thread *t = arg;
    uint64_t id = ferry_pub_id(t->pub);
    uint64_t deadline = ft_now_ns() + PHASE_LIMIT_NS;
    /* Start together with the subscribers, so that they really race. */
    while (atomic_load(t->ready) < t->n_subs) {
        CHECK_MSG(ft_now_ns() < deadline, "subscriber threads did not start");
        sched_yield();
    }
    for (uint64_t s = 1; s <= t->count; s++) {
        void *p = NULL;
        CHECK_OK(ferry_pub_loan(t->pub, t->size, &p));
        ft_payload_fill(p, t->size, id, s);
        if (t->use_try_send) {
            int rc;
            while ((rc = ferry_pub_try_send(t->pub, p)) == FERRY_EAGAIN) {
                t->eagain++;
                CHECK_MSG(ft_now_ns() < deadline, "try_send refused for too long at %" PRIu64, s);
                sched_yield();
            }
            CHECK_OK(rc);
        } else {
            CHECK_OK(ferry_pub_send(t->pub, p));
        }
        if ((s & 4095) == 0)
            CHECK_MSG(ft_now_ns() < deadline, "publisher too slow: %" PRIu64 " of %" PRIu64, s, t->count);
    }
    atomic_fetch_add(t->done, 1);
    return NULL;
}

static void release_oldest(struct sub_thread *t)
{
    struct held *h = &t->held[0];
    uint64_t seq = 0;
    CHECK_MSG(ft_payload_check(h->p, h->size, NULL, &seq) && seq == h->seq,
              "taken sample %" PRIu64 " changed while it was held", h->seq);
    ferry_sub_release(t->sub, h->p);
    CHECK_LAST_ERROR(FERRY_OK);
    memmove(&t->held[0], &t->held[1], (t->n_held - 1) * sizeof t->held[0]);
    t->n_held--;
}

static int take_one(struct sub_thread *t)
{
    const void *p = NULL;
    size_t size = 0;
    int rc = ferry_sub_take(t->sub, &p, &size);
    if (rc == FERRY_EAGAIN)
        return 0;
    CHECK_OK(rc);
    ferry_sample_info info;
    CHECK_OK(ferry_sub_sample_info(t->sub, p, &info));
    uint64_t tag = 0, seq = 0;
    CHECK_MSG(ft_payload_check(p, size, &tag, &seq), "corrupt sample");
    CHECK_EQ(info.sequence, seq);
    CHECK_EQ(info.publisher_id, tag);
    int k = -1;
    for (int i = 0; i < t->n_pubs; i++)
        if (t->pub_ids[i] == tag)
            k = i;
    CHECK_MSG(k >= 0, "sample from unknown publisher %" PRIu64, tag);
    if (t->exact)
        CHECK_MSG(seq == t->last[k] + 1, "publisher %d: sequence %" PRIu64 " after %" PRIu64, k, seq,
                  t->last[k]);
    else
        CHECK_MSG(seq > t->last[k], "publisher %d: sequence %" PRIu64 " after %" PRIu64, k, seq, t->last[k]);
    t->last[k] = seq;
    t->received++;
    if (t->n_held == HOLD)
        release_oldest(t);
    t->held[t->n_held++] = (struct held){p, size, seq};
    return 1;
}

static void *subscribe(void *arg)
{
    struct sub_thread *t = arg;
    uint64_t deadline = ft_now_ns() + PHASE_LIMIT_NS;
    unsigned idle = 0;
    atomic_fetch_add(t->ready, 1);
    for (;;) {
        if (take_one(t)) {
            idle = 0;
            continue;
        }
        if (atomic_load(t->done) == t->n_pubs) {
            /* Publishers finished: drain what is left. */
            while (take_one(t))
                ;
            while (t->n_held)
                release_oldest(t);
            break;
        }
        CHECK_MSG(ft_now_ns() < deadline, "subscriber stuck after %" PRIu64 " samples", t->received);
        if (++idle > 64)
            sched_yield();
    }
    return NULL;
}

static ferry_pubsub_opts stress_opts(uint32_t q, ferry_overflow overflow)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = "stress.Sample";
    o.max_payload = MAX_PAYLOAD;
    o.queue_capacity = q;
    o.overflow = overflow;
    o.max_loans = 4;
    o.max_borrowed = 4;
    return o;
}

static void one_to_one(ferry_node *node, const char *service, ferry_overflow overflow, uint64_t n)
{
    ferry_pubsub_opts o = stress_opts(overflow == FERRY_OVERFLOW_BLOCK ? 16 : 64, overflow);
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, service, &o));
    CHECK_OK(ferry_pub_open(&pub, node, service, &o));
    atomic_int done = 0, ready = 0;
    /* DROP_OLDEST: large samples slow the publisher down to about the
     * subscriber's speed, so that takes and drops race all the time. */
    size_t size = overflow == FERRY_OVERFLOW_BLOCK ? 48 : MAX_PAYLOAD;
    struct pub_thread pt = {pub, n, size, 0, &done, 0, &ready, 1};
    struct sub_thread st;
    memset(&st, 0, sizeof st);
    st.sub = sub;
    st.n_pubs = 1;
    st.pub_ids[0] = ferry_pub_id(pub);
    st.exact = overflow == FERRY_OVERFLOW_BLOCK;
    st.done = &done;
    st.ready = &ready;

    uint64_t t0 = ft_now_ns();
    pthread_t tp, ts;
    CHECK(pthread_create(&ts, NULL, subscribe, &st) == 0);
    CHECK(pthread_create(&tp, NULL, publish, &pt) == 0);
    CHECK(pthread_join(tp, NULL) == 0);
    CHECK(pthread_join(ts, NULL) == 0);
    double secs = (double)(ft_now_ns() - t0) / 1e9;

    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.received, st.received);
    CHECK_EQ(st.last[0], n);
    if (overflow == FERRY_OVERFLOW_BLOCK) {
        CHECK_EQ(st.received, n);
        CHECK_EQ(ss.lost, 0);
    } else {
        CHECK_MSG(ss.received + ss.lost == n, "received %" PRIu64 " + lost %" PRIu64 " != sent %" PRIu64,
                  ss.received, ss.lost, n);
    }
    printf("  %s: %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64 " lost, %.2f s\n", service, n,
           ss.received, ss.lost, secs);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
}

static void two_to_two(ferry_node *node, uint64_t n)
{
    ferry_pubsub_opts o = stress_opts(8, FERRY_OVERFLOW_BLOCK);
    ferry_pub *pubs[2] = {NULL, NULL};
    ferry_sub *subs[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        CHECK_OK(ferry_sub_open(&subs[i], node, "stress/many", &o));
    for (int i = 0; i < 2; i++)
        CHECK_OK(ferry_pub_open(&pubs[i], node, "stress/many", &o));
    atomic_int done = 0, ready = 0;
    struct pub_thread pt[2] = {{pubs[0], n, 48, 0, &done, 0, &ready, 2}, {pubs[1], n, 64, 1, &done, 0, &ready, 2}};
    struct sub_thread st[2];
    memset(st, 0, sizeof st);
    for (int i = 0; i < 2; i++) {
        st[i].sub = subs[i];
        st[i].n_pubs = 2;
        st[i].pub_ids[0] = ferry_pub_id(pubs[0]);
        st[i].pub_ids[1] = ferry_pub_id(pubs[1]);
        st[i].exact = 1;
        st[i].done = &done;
        st[i].ready = &ready;
    }
    /* Connect both subscribers to both publishers before the race starts. */
    for (int i = 0; i < 2; i++)
        CHECK_OK(ferry_pub_update(pubs[i]));

    uint64_t t0 = ft_now_ns();
    pthread_t tp[2], ts[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&ts[i], NULL, subscribe, &st[i]) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&tp[i], NULL, publish, &pt[i]) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(tp[i], NULL) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(ts[i], NULL) == 0);
    double secs = (double)(ft_now_ns() - t0) / 1e9;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(st[i].received, 2 * n);
        CHECK_EQ(st[i].last[0], n);
        CHECK_EQ(st[i].last[1], n);
        ferry_sub_stats ss;
        CHECK_OK(ferry_sub_stats_get(subs[i], &ss));
        CHECK_EQ(ss.lost, 0);
        CHECK_EQ(ss.received, 2 * n);
    }
    printf("  stress/many: 2 x %" PRIu64 " to 2 subscribers, %" PRIu64 " try_send refusals, %.2f s\n", n,
           pt[1].eagain, secs);
    for (int i = 0; i < 2; i++) {
        ferry_pub_close(pubs[i]);
        ferry_sub_close(subs[i]);
    }
}

struct endless_pub {
    ferry_pub *pub;
    atomic_int stop;
    _Atomic uint64_t published; /* sequence of the last send that returned */
};

static void *publish_until_stopped(void *arg)
{
    struct endless_pub *t = arg;
    uint64_t id = ferry_pub_id(t->pub);
    uint64_t deadline = ft_now_ns() + PHASE_LIMIT_NS;
    for (uint64_t s = 1; !atomic_load(&t->stop); s++) {
        void *p = NULL;
        CHECK_OK(ferry_pub_loan(t->pub, 48, &p));
        ft_payload_fill(p, 48, id, s);
        CHECK_OK(ferry_pub_send(t->pub, p));
        atomic_store(&t->published, s);
        if ((s & 1023) == 0)
            CHECK_MSG(ft_now_ns() < deadline, "publisher ran too long");
    }
    return NULL;
}

/* Subscribers come and go while a BLOCK publisher sends without pause: each
 * gets every sample from the first send that started after its open
 * returned, without gaps; closing one while the publisher waits for it does
 * not stop the publisher. */
static void join_leave(ferry_node *node, int rounds)
{
    ferry_pubsub_opts o = stress_opts(8, FERRY_OVERFLOW_BLOCK);
    struct endless_pub ep;
    memset(&ep, 0, sizeof ep);
    CHECK_OK(ferry_pub_open(&ep.pub, node, "stress/join", &o));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, publish_until_stopped, &ep) == 0);

    for (int r = 0; r < rounds; r++) {
        ferry_sub *sub = NULL;
        CHECK_OK(ferry_sub_open(&sub, node, "stress/join", &o));
        uint64_t at_open = atomic_load(&ep.published);
        uint64_t prev = 0;
        for (int k = 0; k < 300; k++) {
            const void *p = NULL;
            size_t size = 0;
            CHECK_OK(ft_take_wait(sub, &p, &size, FT_WAIT_MS));
            uint64_t seq = 0;
            CHECK_MSG(ft_payload_check(p, size, NULL, &seq), "corrupt sample");
            if (k == 0)
                CHECK_MSG(seq <= at_open + 2, "round %d: first sample %" PRIu64 ", but %" PRIu64
                          " had been sent when the subscriber opened", r, seq, at_open);
            else
                CHECK_MSG(seq == prev + 1, "round %d: sequence %" PRIu64 " after %" PRIu64, r, seq, prev);
            prev = seq;
            ferry_sub_release(sub, p);
        }
        /* Leave with a full queue half of the time: the publisher may be
         * waiting for this subscriber right now. */
        if (r % 2)
            ft_sleep_ms(2);
        ferry_sub_close(sub);
        uint64_t before = atomic_load(&ep.published);
        uint64_t deadline = ft_now_ns() + (uint64_t)FT_WAIT_MS * 1000000u;
        while (atomic_load(&ep.published) < before + 100) {
            CHECK_MSG(ft_now_ns() < deadline, "round %d: the publisher stopped after the subscriber closed", r);
            sched_yield();
        }
    }
    atomic_store(&ep.stop, 1);
    CHECK(pthread_join(th, NULL) == 0);
    printf("  stress/join: %d subscribers joined and left, %" PRIu64 " samples sent\n", rounds,
           (uint64_t)atomic_load(&ep.published));
    ferry_pub_close(ep.pub);
}

int main(void)
{
    ft_init("stress_threads_test", 58);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stress");
    ferry_node *node = ft_node_open(domain, "stress");

    one_to_one(node, "stress/drop", FERRY_OVERFLOW_DROP_OLDEST, 400000 / SCALE_DIV);
    one_to_one(node, "stress/block", FERRY_OVERFLOW_BLOCK, 200000 / SCALE_DIV);
    two_to_two(node, 100000 / SCALE_DIV);
    join_leave(node, 60);

    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
