/*
 * event_waitset_test: one wait set over a subscriber and a listener (fed by
 * another process), a user pipe, a deadline and an interval.
 *  - every report carries the kind, user pointer and attachment it was
 *    attached with;
 *  - three samples give three subscriber reports when each callback takes
 *    one (level-triggered); the listener's ids are all collected;
 *  - the pipe is reported while readable, and not any more once its
 *    callback detached it (its byte stays unread);
 *  - two sources ready in the same batch: the first callback detaches both,
 *    the second is not reported;
 *  - the deadline fires exactly once, not before its time, and stays
 *    attached (silent) until detached; a deadline detached before its time
 *    never fires;
 *  - the interval fires repeatedly; after 75 ms without waiting, its report
 *    says missed >= 2; once detached it fires no more;
 *  - a callback returning non-zero ends ferry_waitset_run;
 *  - ferry_waitset_stop from another thread ends ferry_waitset_run, both
 *    while an interval keeps it busy and while it sleeps with nothing ready;
 *  - a sample sent by the other process 50 ms into ferry_waitset_run is
 *    reported;
 *  - bad attachments are FERRY_EINVAL; closing the set leaves the sources
 *    usable.
 */
#include "ev_support.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { S_SUB, S_LIS, S_PIPE, S_DEADLINE, S_INTERVAL, S_N };
static const ferry_source_kind kinds[S_N] = {FERRY_SOURCE_SUBSCRIBER, FERRY_SOURCE_LISTENER, FERRY_SOURCE_FD,
                                             FERRY_SOURCE_DEADLINE, FERRY_SOURCE_INTERVAL};

struct ctx {
    ferry_waitset *ws;
    ferry_sub *sub;
    ferry_listener *lis;
    int tags[S_N];
    ferry_attachment *att[S_N];
    unsigned fired[S_N];
    unsigned samples;
    uint64_t ids;
    uint64_t missed_total, missed_last;
    uint64_t deadline_at, attached_at;
    int detach_pipe_in_cb;
};

static int on_event(const ferry_event_info *e, void *user)
{
    struct ctx *c = user;
    CHECK(e->user != NULL);
    int k = *(const int *)e->user;
    CHECK(k >= 0 && k < S_N);
    CHECK(e->user == &c->tags[k]);
    CHECK_EQ(e->kind, kinds[k]);
    CHECK(e->attachment == c->att[k]);
    c->fired[k]++;
    switch (k) {
    case S_SUB: {
        CHECK_EQ(e->disconnected, 0);
        const void *p = NULL;
        CHECK_OK(ferry_sub_take(c->sub, &p, NULL)); /* one per report */
        ferry_sub_release(c->sub, p);
        c->samples++;
        break;
    }
    case S_LIS: {
        uint32_t ids[64];
        size_t n = 0;
        CHECK_OK(ferry_listener_try_wait(c->lis, ids, 64, &n));
        for (size_t i = 0; i < n; i++) {
            CHECK(ids[i] < 63);
            c->ids |= 1ull << ids[i];
        }
        break;
    }
    case S_PIPE:
        if (c->detach_pipe_in_cb) {
            ferry_waitset_detach(c->ws, e->attachment);
            CHECK_LAST_ERROR(FERRY_OK);
            c->att[S_PIPE] = NULL;
        }
        break;
    case S_DEADLINE:
        c->deadline_at = ft_now_ns();
        break;
    case S_INTERVAL:
        c->missed_total += e->missed;
        c->missed_last = e->missed;
        break;
    }
    return 0;
}

static void wait_for(struct ctx *c, unsigned ms)
{
    uint64_t t0 = ft_now_ns();
    while (ev_ms_since(t0) < (double)ms) {
        unsigned fired = 0;
        int rc = ferry_waitset_wait(c->ws, 20000000, on_event, c, &fired);
        CHECK_MSG(rc == FERRY_OK || rc == FERRY_ETIMEDOUT, "ferry_waitset_wait returned %d", rc);
        CHECK(rc == FERRY_OK ? fired > 0 : fired == 0);
    }
}

/* ---- two sources in one batch ---------------------------------------------- */

struct batch {
    ferry_waitset *ws;
    ferry_attachment *a, *b;
    unsigned calls;
};

static int on_batch(const ferry_event_info *e, void *user)
{
    struct batch *bt = user;
    bt->calls++;
    CHECK(e->attachment == bt->a || e->attachment == bt->b);
    ferry_waitset_detach(bt->ws, bt->a);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_waitset_detach(bt->ws, bt->b);
    CHECK_LAST_ERROR(FERRY_OK);
    return 0;
}

/* ---- run / stop ------------------------------------------------------------------ */

struct counter {
    unsigned calls;
    unsigned stop_at; /* 0: never stop */
    ferry_sub *sub;
    unsigned samples;
};

static int on_count(const ferry_event_info *e, void *user)
{
    struct counter *cn = user;
    cn->calls++;
    if (e->kind == FERRY_SOURCE_SUBSCRIBER) {
        const void *p = NULL;
        if (ferry_sub_take(cn->sub, &p, NULL) == FERRY_OK) {
            ferry_sub_release(cn->sub, p);
            cn->samples++;
            return 1;
        }
    }
    return cn->stop_at && cn->calls >= cn->stop_at;
}

struct stopper {
    ferry_waitset *ws;
    unsigned after_ms;
    uint64_t stopped_at;
};

static void *stop_thread(void *arg)
{
    struct stopper *st = arg;
    ft_sleep_ms(st->after_ms);
    st->stopped_at = ft_now_ns();
    ferry_waitset_stop(st->ws);
    return NULL;
}

static void run_until_stopped(ferry_waitset *ws, struct counter *cn)
{
    struct stopper st = {ws, 100, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, stop_thread, &st) == 0);
    CHECK_OK(ferry_waitset_run(ws, on_count, cn));
    uint64_t returned = ft_now_ns();
    CHECK(pthread_join(th, NULL) == 0);
    /* The thread takes its time stamp just before ferry_waitset_stop. */
    CHECK_MSG(st.stopped_at != 0 && returned >= st.stopped_at,
              "ferry_waitset_run returned %.1f ms before ferry_waitset_stop was called",
              st.stopped_at ? (double)(st.stopped_at - returned) / 1e6 : -1.0);
    double late_ms = (double)(returned - st.stopped_at) / 1e6;
    CHECK_MSG(late_ms < 1000.0, "ferry_waitset_run returned %.1f ms after ferry_waitset_stop", late_ms);
}

int main(void)
{
    ft_init("event_waitset_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evwaitset");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");

    ft_peer peer;
    ev_peer_start(&peer, domain, "source");
    ft_peer_ok(&peer, line, sizeof line, "pub ws/s q=8");
    ft_peer_ok(&peer, line, sizeof line, "notifier ws/e 63");
    ferry_pubsub_opts po;
    ferry_pubsub_opts_init(&po);
    po.queue_capacity = 8;
    ferry_event_opts eo = ev_event_opts(63);

    struct ctx c;
    memset(&c, 0, sizeof c);
    for (int k = 0; k < S_N; k++)
        c.tags[k] = k;
    CHECK_OK(ferry_sub_open(&c.sub, node, "ws/s", &po));
    CHECK_OK(ferry_listener_open(&c.lis, node, "ws/e", &eo));
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    CHECK_OK(ferry_waitset_open(&c.ws));

    /* ---- a mix of sources ----------------------------------------------------- */
    CHECK_OK(ferry_waitset_attach_sub(c.ws, c.sub, &c.tags[S_SUB], &c.att[S_SUB]));
    CHECK_OK(ferry_waitset_attach_listener(c.ws, c.lis, &c.tags[S_LIS], &c.att[S_LIS]));
    CHECK_OK(ferry_waitset_attach_fd(c.ws, pfd[0], &c.tags[S_PIPE], &c.att[S_PIPE]));
    c.attached_at = ft_now_ns();
    CHECK_OK(ferry_waitset_attach_deadline(c.ws, 30000000, &c.tags[S_DEADLINE], &c.att[S_DEADLINE]));
    CHECK_OK(ferry_waitset_attach_interval(c.ws, 20000000, &c.tags[S_INTERVAL], &c.att[S_INTERVAL]));
    for (int k = 0; k < S_N; k++)
        CHECK(c.att[k] != NULL);
    c.detach_pipe_in_cb = 1;

    ft_peer_ok(&peer, line, sizeof line, "send 3");
    ft_peer_ok(&peer, line, sizeof line, "notify 4");
    ft_peer_ok(&peer, line, sizeof line, "notify 9");
    CHECK(write(pfd[1], "x", 1) == 1);
    uint64_t t0 = ft_now_ns();
    wait_for(&c, 300);
    double span_ms = ev_ms_since(t0);

    CHECK_EQ(c.samples, 3);
    CHECK_EQ(c.fired[S_SUB], 3);
    CHECK_EQ(c.ids, (1ull << 4) | (1ull << 9));
    CHECK(c.fired[S_LIS] >= 1 && c.fired[S_LIS] <= 2);
    CHECK_EQ(c.fired[S_PIPE], 1);
    CHECK(c.att[S_PIPE] == NULL);
    CHECK_EQ(c.fired[S_DEADLINE], 1);
    double deadline_ms = (double)(c.deadline_at - c.attached_at) / 1e6;
    CHECK_MSG(deadline_ms >= 30.0, "the 30 ms deadline fired after %.3f ms", deadline_ms);
    unsigned periods = c.fired[S_INTERVAL] + (unsigned)c.missed_total;
    CHECK_MSG(c.fired[S_INTERVAL] >= 3 && periods >= (unsigned)(span_ms / 40.0) &&
                  periods <= (unsigned)(span_ms / 20.0) + 2,
              "interval of 20 ms over %.0f ms: %u reports, %llu missed", span_ms, c.fired[S_INTERVAL],
              (unsigned long long)c.missed_total);
    CHECK(ev_readable(pfd[0], 0)); /* the byte is still there... */
    CHECK(write(pfd[1], "y", 1) == 1);
    unsigned before = c.fired[S_INTERVAL];
    wait_for(&c, 100); /* ...but the detached pipe is not reported */
    CHECK_EQ(c.fired[S_PIPE], 1);
    CHECK_EQ(c.fired[S_DEADLINE], 1);
    CHECK(c.fired[S_INTERVAL] > before);
    /* A fired deadline stays attached (not firing again) until detached. */
    ferry_waitset_detach(c.ws, c.att[S_DEADLINE]);
    CHECK_LAST_ERROR(FERRY_OK);
    c.att[S_DEADLINE] = NULL;
    ferry_waitset_detach(c.ws, c.att[S_INTERVAL]);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_waitset_attach_interval(c.ws, 20000000, &c.tags[S_INTERVAL], &c.att[S_INTERVAL]));

    /* ---- missed periods ------------------------------------------------------ */
    ft_sleep_ms(75);
    before = c.fired[S_INTERVAL];
    unsigned fired = 0;
    CHECK_OK(ferry_waitset_wait(c.ws, 100000000, on_event, &c, &fired));
    CHECK_EQ(fired, 1);
    CHECK_EQ(c.fired[S_INTERVAL], before + 1);
    CHECK_MSG(c.missed_last >= 2, "after 75 ms without waiting the 20 ms interval says missed=%llu",
              (unsigned long long)c.missed_last);

    /* ---- detach the interval: silence ----------------------------------------- */
    ferry_waitset_detach(c.ws, c.att[S_INTERVAL]);
    CHECK_LAST_ERROR(FERRY_OK);
    c.att[S_INTERVAL] = NULL;
    before = c.fired[S_INTERVAL];
    CHECK_RC(ferry_waitset_wait(c.ws, 100000000, on_event, &c, &fired), FERRY_ETIMEDOUT);
    CHECK_EQ(fired, 0);
    CHECK_EQ(c.fired[S_INTERVAL], before);

    /* ---- a deadline detached before its time never fires -------------------------- */
    CHECK_OK(ferry_waitset_attach_deadline(c.ws, 30000000, &c.tags[S_DEADLINE], &c.att[S_DEADLINE]));
    ferry_waitset_detach(c.ws, c.att[S_DEADLINE]);
    CHECK_LAST_ERROR(FERRY_OK);
    c.att[S_DEADLINE] = NULL;
    CHECK_RC(ferry_waitset_wait(c.ws, 80000000, on_event, &c, &fired), FERRY_ETIMEDOUT);
    CHECK_EQ(c.fired[S_DEADLINE], 1);

    /* ---- two ready in one batch; the first detaches both ------------------------- */
    int qa[2], qb[2];
    CHECK(pipe(qa) == 0 && pipe(qb) == 0);
    struct batch bt = {c.ws, NULL, NULL, 0};
    CHECK_OK(ferry_waitset_attach_fd(c.ws, qa[0], NULL, &bt.a));
    CHECK_OK(ferry_waitset_attach_fd(c.ws, qb[0], NULL, &bt.b));
    CHECK(write(qa[1], "a", 1) == 1 && write(qb[1], "b", 1) == 1);
    CHECK_OK(ferry_waitset_wait(c.ws, 1000000000, on_batch, &bt, &fired));
    CHECK_EQ(bt.calls, 1);
    CHECK_EQ(fired, 1);
    CHECK_RC(ferry_waitset_wait(c.ws, 50000000, on_batch, &bt, &fired), FERRY_ETIMEDOUT);
    CHECK_EQ(bt.calls, 1);

    /* ---- a callback's non-zero verdict ends run ----------------------------------- */
    ferry_attachment *tick = NULL;
    CHECK_OK(ferry_waitset_attach_interval(c.ws, 10000000, NULL, &tick));
    struct counter cn = {0, 3, c.sub, 0};
    t0 = ft_now_ns();
    CHECK_OK(ferry_waitset_run(c.ws, on_count, &cn));
    CHECK_EQ(cn.calls, 3);
    CHECK_MSG(ev_ms_since(t0) < 1000.0, "three 10 ms ticks took %.1f ms", ev_ms_since(t0));

    /* ---- ferry_waitset_stop from another thread ----------------------------------- */
    struct counter busy = {0, 0, c.sub, 0};
    run_until_stopped(c.ws, &busy); /* the interval keeps it busy */
    CHECK(busy.calls >= 2);
    ferry_waitset_detach(c.ws, tick);
    CHECK_LAST_ERROR(FERRY_OK);
    struct counter idle = {0, 0, c.sub, 0};
    run_until_stopped(c.ws, &idle); /* nothing ready at all */
    CHECK_EQ(idle.calls, 0);

    /* ---- a sample that comes during run --------------------------------------- */
    ft_peer_ok(&peer, line, sizeof line, "after 50 send 1");
    struct counter one = {0, 0, c.sub, 0};
    t0 = ft_now_ns();
    CHECK_OK(ferry_waitset_run(c.ws, on_count, &one));
    CHECK_EQ(one.samples, 1);
    CHECK_MSG(ev_ms_since(t0) < 1000.0, "run reported the sample after %.1f ms", ev_ms_since(t0));
    ev_peer_later_ok(&peer, line, sizeof line, 5000);

    /* ---- bad attachments -------------------------------------------------------- */
    ferry_attachment *bad = NULL;
    CHECK_RC(ferry_waitset_attach_deadline(c.ws, 0, NULL, &bad), FERRY_EINVAL);
    CHECK_RC(ferry_waitset_attach_interval(c.ws, -5, NULL, &bad), FERRY_EINVAL);
    CHECK_RC(ferry_waitset_attach_fd(c.ws, -1, NULL, &bad), FERRY_EINVAL);
    CHECK_RC(ferry_waitset_attach_fd(c.ws, qa[0], NULL, &bad), FERRY_OK);
    CHECK_RC(ferry_waitset_attach_fd(c.ws, qa[0], NULL, NULL), FERRY_EINVAL); /* twice */
    ferry_waitset_detach(c.ws, bad);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_RC(ferry_waitset_wait(NULL, 0, on_event, &c, &fired), FERRY_EINVAL);
    CHECK_RC(ferry_waitset_wait(c.ws, -2, on_event, &c, &fired), FERRY_EINVAL);

    /* ---- closing the set leaves the sources usable --------------------------------- */
    ferry_waitset_close(c.ws);
    ft_peer_ok(&peer, line, sizeof line, "send 1");
    ft_peer_ok(&peer, line, sizeof line, "notify 2");
    CHECK_OK(ferry_sub_wait(c.sub, 2000000000));
    CHECK_EQ(ev_drain(c.sub), 1);
    uint32_t id = 0;
    size_t n = 0;
    CHECK_OK(ferry_listener_wait(c.lis, &id, 1, &n, 2000000000));
    CHECK_EQ(id, 2);

    for (int i = 0; i < 2; i++) {
        close(pfd[i]);
        close(qa[i]);
        close(qb[i]);
    }
    ft_peer_finish(&peer);
    ferry_sub_close(c.sub);
    ferry_listener_close(c.lis);
    ev_finish_domain(domain, node);
    return ft_pass();
}
