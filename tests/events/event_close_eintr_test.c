/*
 * event_close_eintr_test: closing ports normally, and signals during waits.
 *  - a listener process (its listener in FD mode, with ids pending) closes
 *    its listener: the close returns promptly, our notifications go on
 *    succeeding quickly, our own listener still gets them; a listener
 *    process opening and closing its listener 50 times while a notifier
 *    process notifies in a loop: nothing hangs, and that process exits
 *    cleanly;
 *  - a notifier closed normally (ferry_notifier_close, and the node closed
 *    by exit) raises FERRY_EVENT_PEER_GONE at our sleeping listener at once:
 *    its liveness probe is set to 60 s, so only the close can have raised it;
 *  - signals: SIGUSR1 (a no-op handler installed without SA_RESTART) sent by
 *    another process every 2 ms to us while we wait. ferry_sub_wait,
 *    ferry_listener_wait and ferry_waitset_wait with nothing coming still
 *    time out only after their full 300 ms; ferry_sub_wait(FERRY_FOREVER),
 *    ferry_sub_wait(5 s) and ferry_listener_wait(5 s) return FERRY_OK only
 *    when the sample / event sent 200 ms later arrives (a take then finds
 *    the sample), never early.
 */
#include "ev_support.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LIVENESS_OFF 60000000000ll

static volatile sig_atomic_t signals_seen;

static void on_usr1(int sig)
{
    (void)sig;
    signals_seen++;
}

/* The signalling peer starts sending SIGUSR1 to us for ms. */
static void start_signals(ft_peer *sig, unsigned ms)
{
    char line[256];
    ft_peer_ok(sig, line, sizeof line, "signal %ld %u 2000", (long)getpid(), ms);
}

/* Its second reply: how many it sent. */
static void end_signals(ft_peer *sig)
{
    char line[256];
    unsigned long long sent = 0;
    CHECK(sscanf(ev_peer_later_ok(sig, line, sizeof line, 5000), "%llu", &sent) == 1);
    CHECK(sent > 0);
}

static int never(const ferry_event_info *e, void *user)
{
    (void)e;
    (void)user;
    CHECK_MSG(0, "a callback ran although nothing was ready");
    return 0;
}

int main(void)
{
    ft_init("event_close_eintr_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evclose");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");
    ferry_event_opts eo = ev_event_opts(63);

    /* ---- a listener closed by its process ------------------------------------- */
    ferry_notifier *nt = NULL;
    CHECK_OK(ferry_notifier_open(&nt, node, "close/e", &eo));
    ferry_listener *mine = NULL;
    CHECK_OK(ferry_listener_open(&mine, node, "close/e", &eo));
    ft_peer lp;
    ev_peer_start(&lp, domain, "listener");
    ft_peer_ok(&lp, line, sizeof line, "listener close/e 63");
    ft_peer_ok(&lp, line, sizeof line, "listenerfd");
    CHECK_OK(ferry_notifier_notify(nt, 3));
    uint64_t t0 = ft_now_ns();
    ft_peer_ok(&lp, line, sizeof line, "close_listener");
    CHECK_MSG(ev_ms_since(t0) < 1000.0, "closing a listener took %.1f ms", ev_ms_since(t0));
    t0 = ft_now_ns();
    for (int i = 0; i < 1000; i++)
        CHECK_OK(ferry_notifier_notify(nt, (uint32_t)(i % 64)));
    CHECK_MSG(ev_ms_since(t0) < 1000.0, "1000 notifications after the close took %.1f ms", ev_ms_since(t0));
    uint64_t seen = 0;
    CHECK_EQ(ev_collect_all(mine, &seen, 50), 64);
    CHECK_EQ(seen, ~0ull >> 1); /* ids 0..62 (63 is outside the bitmap of ev_collect_all) */

    /* Open and close 50 times while another process notifies in a loop. */
    ft_peer np;
    ev_peer_start(&np, domain, "notifier");
    ft_peer_ok(&np, line, sizeof line, "notifier close/e 63");
    ft_peer_ok(&np, line, sizeof line, "notifyfor 400 9");
    t0 = ft_now_ns();
    for (int i = 0; i < 50; i++) {
        ft_peer_ok(&lp, line, sizeof line, "listener close/e 63");
        if (i % 2 == 0)
            ft_peer_ok(&lp, line, sizeof line, "listenerfd");
        ft_peer_ok(&lp, line, sizeof line, "close_listener");
    }
    CHECK_MSG(ev_ms_since(t0) < 5000.0, "50 listener open/close took %.1f ms", ev_ms_since(t0));
    unsigned long long count = 0;
    CHECK(sscanf(ev_peer_later_ok(&np, line, sizeof line, 5000), "%llu", &count) == 1);
    CHECK(count > 0);
    ft_peer_finish(&lp);
    seen = 0;
    ev_collect_all(mine, &seen, 50);
    CHECK(seen & (1ull << 9));

    /* ---- a notifier closed normally: PEER_GONE ------------------------------- */
    ferry_listener *gl = NULL;
    CHECK_OK(ferry_listener_open(&gl, node, "close/g", &eo));
    ev_listener_wait_opts(gl, 0, LIVENESS_OFF);
    ft_peer_ok(&np, line, sizeof line, "close_notifier");
    ft_peer_ok(&np, line, sizeof line, "notifier close/g 63");
    ft_peer_ok(&np, line, sizeof line, "after 50 close_notifier");
    uint32_t ids[8];
    size_t n = 0;
    t0 = ft_now_ns();
    CHECK_OK(ferry_listener_wait(gl, ids, 8, &n, 5000000000ll));
    double ms = ev_ms_since(t0);
    CHECK_EQ(n, 1);
    CHECK_MSG(ids[0] == FERRY_EVENT_PEER_GONE, "collected %u", (unsigned)ids[0]);
    CHECK_MSG(ms < 1000.0, "PEER_GONE after a close came %.1f ms later", ms);
    ev_peer_later_ok(&np, line, sizeof line, 5000);
    CHECK_RC(ferry_listener_wait(gl, ids, 8, &n, 100000000), FERRY_ETIMEDOUT);
    /* The node closed by exit. */
    ft_peer_ok(&np, line, sizeof line, "notifier close/g 63");
    ft_peer_ok(&np, line, sizeof line, "after 50 exit");
    t0 = ft_now_ns();
    CHECK_OK(ferry_listener_wait(gl, ids, 8, &n, 5000000000ll));
    ms = ev_ms_since(t0);
    CHECK_EQ(n, 1);
    CHECK_MSG(ids[0] == FERRY_EVENT_PEER_GONE, "collected %u", (unsigned)ids[0]);
    CHECK_MSG(ms < 1000.0, "PEER_GONE after an exit came %.1f ms later", ms);
    ev_peer_reap(&np, 5000);

    /* ---- signals during waits -------------------------------------------------- */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: system calls fail with EINTR */
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "eintr/s", NULL));
    ferry_listener *el = NULL;
    CHECK_OK(ferry_listener_open(&el, node, "eintr/e", &eo));
    ft_peer src, sig;
    ev_peer_start(&src, domain, "source");
    ft_peer_ok(&src, line, sizeof line, "pub eintr/s");
    ft_peer_ok(&src, line, sizeof line, "update");
    ft_peer_ok(&src, line, sizeof line, "notifier eintr/e 63");
    ev_peer_start(&sig, domain, "signaller");
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
    ferry_waitset *ws = NULL;
    CHECK_OK(ferry_waitset_open(&ws));
    CHECK_OK(ferry_waitset_attach_listener(ws, el, NULL, NULL));

    /* Nothing comes: full timeouts. */
    start_signals(&sig, 1200);
    sig_atomic_t before = signals_seen;
    t0 = ft_now_ns();
    int rc = ferry_sub_wait(sub, 300000000);
    ms = ev_ms_since(t0);
    CHECK_MSG(rc == FERRY_ETIMEDOUT, "ferry_sub_wait under signals returned %s after %.1f ms", ferry_strerror(rc), ms);
    CHECK_MSG(ms >= 300.0 && ms < 600.0, "ferry_sub_wait(300 ms) under signals returned after %.1f ms", ms);
    t0 = ft_now_ns();
    rc = ferry_listener_wait(el, ids, 8, &n, 300000000);
    ms = ev_ms_since(t0);
    CHECK_MSG(rc == FERRY_ETIMEDOUT, "ferry_listener_wait under signals returned %s after %.1f ms",
              ferry_strerror(rc), ms);
    CHECK_MSG(ms >= 300.0 && ms < 600.0, "ferry_listener_wait(300 ms) under signals returned after %.1f ms", ms);
    unsigned fired = 0;
    t0 = ft_now_ns();
    rc = ferry_waitset_wait(ws, 300000000, never, NULL, &fired);
    ms = ev_ms_since(t0);
    CHECK_MSG(rc == FERRY_ETIMEDOUT, "ferry_waitset_wait under signals returned %s after %.1f ms",
              ferry_strerror(rc), ms);
    CHECK_MSG(ms >= 300.0 && ms < 600.0, "ferry_waitset_wait(300 ms) under signals returned after %.1f ms", ms);
    CHECK_MSG(signals_seen - before >= 20, "only %d signals arrived during 900 ms of waiting",
              (int)(signals_seen - before));
    end_signals(&sig);

    /* Something comes 200 ms later: OK then, not before. */
    const int64_t waits[2] = {FERRY_FOREVER, 5000000000ll};
    for (int i = 0; i < 2; i++) {
        start_signals(&sig, 400);
        ft_peer_ok(&src, line, sizeof line, "after 200 send 1");
        before = signals_seen;
        t0 = ft_now_ns();
        rc = ferry_sub_wait(sub, waits[i]);
        ms = ev_ms_since(t0);
        CHECK_MSG(rc == FERRY_OK, "ferry_sub_wait under signals returned %s after %.1f ms", ferry_strerror(rc), ms);
        const void *p = NULL;
        /* FERRY_OK means a take finds the sample: an early return would fail here. */
        CHECK_OK(ferry_sub_take(sub, &p, NULL));
        ferry_sub_release(sub, p);
        CHECK_MSG(ms >= 100.0, "ferry_sub_wait returned after %.1f ms, the sample comes at 200 ms", ms);
        CHECK_MSG(signals_seen - before >= 5, "only %d signals arrived during the wait", (int)(signals_seen - before));
        ev_peer_later_ok(&src, line, sizeof line, 5000);
        end_signals(&sig);
    }
    start_signals(&sig, 400);
    ft_peer_ok(&src, line, sizeof line, "after 200 notify 4");
    before = signals_seen;
    t0 = ft_now_ns();
    rc = ferry_listener_wait(el, ids, 8, &n, 5000000000ll);
    ms = ev_ms_since(t0);
    CHECK_MSG(rc == FERRY_OK, "ferry_listener_wait under signals returned %s after %.1f ms", ferry_strerror(rc), ms);
    CHECK_EQ(n, 1);
    CHECK_EQ(ids[0], 4);
    CHECK_MSG(ms >= 100.0, "ferry_listener_wait returned after %.1f ms, the event comes at 200 ms", ms);
    CHECK_MSG(signals_seen - before >= 5, "only %d signals arrived during the wait", (int)(signals_seen - before));
    ev_peer_later_ok(&src, line, sizeof line, 5000);
    end_signals(&sig);

    ferry_waitset_close(ws);
    ft_peer_finish(&sig);
    ft_peer_finish(&src);
    ferry_listener_close(el);
    ferry_sub_close(sub);
    ferry_listener_close(gl);
    ferry_listener_close(mine);
    ferry_notifier_close(nt);
    ev_finish_domain(domain, node);
    return ft_pass();
}
