/*
 * event_peer_gone_test: a peer process is killed with SIGKILL while we wait
 * (liveness probe at its default of 100 ms).
 *  - a publisher process dies while we sleep in ferry_sub_wait: the wait
 *    returns FERRY_EDISCONNECTED within ~1 s of the death, once (the next
 *    wait times out), and the subscriber counts no publisher any more;
 *  - a publisher that had queued two samples dies: both samples are
 *    delivered (FERRY_OK, intact, in order) before FERRY_EDISCONNECTED;
 *  - a notifier process dies while we sleep in ferry_listener_wait: the
 *    wait returns FERRY_EVENT_PEER_GONE within ~1 s; a second, live notifier
 *    process still reaches us afterwards;
 *  - the same through a wait set: the subscriber is reported with
 *    disconnected = 1 (once), the listener collects FERRY_EVENT_PEER_GONE;
 *  - after each kill ferry_cleanup removes what the dead node left, and at
 *    the end nothing of the domain is left in /dev/shm.
 */
#include "ev_support.h"
#include "payload.h"

#include <stdio.h>
#include <string.h>

#define DIE_MS 100
#define DETECT_MS 1000.0 /* within ~1 s of the death */

static void cleanup_after_kill(const char *domain)
{
    unsigned removed = 0;
    CHECK_OK(ferry_cleanup(domain, &removed));
}

static unsigned publishers(ferry_sub *sub)
{
    ferry_sub_stats st;
    CHECK_OK(ferry_sub_stats_get(sub, &st));
    return st.publishers;
}

struct ws_ctx {
    ferry_sub *sub;
    ferry_listener *lis;
    unsigned samples, disconnected, sub_reports, gone, ids;
};

static int on_event(const ferry_event_info *e, void *user)
{
    struct ws_ctx *c = user;
    if (e->kind == FERRY_SOURCE_SUBSCRIBER) {
        c->sub_reports++;
        if (e->disconnected)
            c->disconnected++;
        c->samples += ev_drain(c->sub);
    } else {
        CHECK_EQ(e->kind, FERRY_SOURCE_LISTENER);
        CHECK_EQ(e->disconnected, 0);
        uint32_t ids[64];
        size_t n = 0;
        int rc = ferry_listener_try_wait(c->lis, ids, 64, &n);
        CHECK_MSG(rc == FERRY_OK || rc == FERRY_EAGAIN, "try_wait: %d", rc);
        for (size_t i = 0; i < n; i++) {
            if (ids[i] == FERRY_EVENT_PEER_GONE)
                c->gone++;
            else
                c->ids++;
        }
    }
    return 0;
}

int main(void)
{
    ft_init("event_peer_gone_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evgone");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");

    /* ---- (a) publisher killed while we sleep in ferry_sub_wait ------------ */
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "gone/s", NULL));
    {
        ft_peer pp;
        ev_peer_start(&pp, domain, "pub_a");
        ft_peer_ok(&pp, line, sizeof line, "pub gone/s");
        ft_peer_ok(&pp, line, sizeof line, "update");
        CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
        CHECK_EQ(publishers(sub), 1);
        ft_peer_ok(&pp, line, sizeof line, "die %d", DIE_MS);
        uint64_t t0 = ft_now_ns();
        CHECK_RC(ferry_sub_wait(sub, 5000000000ll), FERRY_EDISCONNECTED);
        double ms = ev_ms_since(t0);
        CHECK_MSG(ms <= DIE_MS + DETECT_MS, "the death was reported after %.1f ms", ms);
        CHECK_MSG(ms >= DIE_MS * 0.5, "FERRY_EDISCONNECTED after %.1f ms, before the peer died", ms);
        ft_peer_wait_killed(&pp, 5000);
        CHECK_RC(ferry_sub_wait(sub, 150000000), FERRY_ETIMEDOUT); /* reported once */
        CHECK_EQ(publishers(sub), 0);
        cleanup_after_kill(domain);
    }

    /* ---- (a') with two samples queued ----------------------------------------- */
    {
        ft_peer pp;
        ev_peer_start(&pp, domain, "pub_b");
        unsigned long long pub_id = 0;
        CHECK(sscanf(ft_peer_ok(&pp, line, sizeof line, "pub gone/s"), "%llu", &pub_id) == 1);
        ft_peer_ok(&pp, line, sizeof line, "send 2");
        ft_peer_ok(&pp, line, sizeof line, "die %d", DIE_MS);
        uint64_t t0 = ft_now_ns();
        for (uint64_t s = 1; s <= 2; s++) {
            CHECK_OK(ferry_sub_wait(sub, 5000000000ll));
            const void *p = NULL;
            size_t size = 0;
            CHECK_OK(ferry_sub_take(sub, &p, &size));
            uint64_t tag = 0, seq = 0;
            CHECK(ft_payload_check(p, size, &tag, &seq));
            CHECK_EQ(tag, pub_id);
            CHECK_EQ(seq, s);
            ferry_sub_release(sub, p);
        }
        CHECK_RC(ferry_sub_wait(sub, 5000000000ll), FERRY_EDISCONNECTED);
        double ms = ev_ms_since(t0);
        CHECK_MSG(ms <= DIE_MS + DETECT_MS, "the death was reported after %.1f ms", ms);
        ft_peer_wait_killed(&pp, 5000);
        CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
        cleanup_after_kill(domain);
    }

    /* ---- (b) notifier killed while we sleep in ferry_listener_wait ----------- */
    ferry_event_opts eo = ev_event_opts(63);
    ferry_listener *lis = NULL;
    CHECK_OK(ferry_listener_open(&lis, node, "gone/e", &eo));
    {
        ft_peer alive, doomed;
        ev_peer_start(&alive, domain, "notifier_alive");
        ft_peer_ok(&alive, line, sizeof line, "notifier gone/e 63");
        ev_peer_start(&doomed, domain, "notifier_doomed");
        ft_peer_ok(&doomed, line, sizeof line, "notifier gone/e 63");
        ft_peer_ok(&doomed, line, sizeof line, "notify 3");
        uint32_t ids[8];
        size_t n = 0;
        CHECK_OK(ferry_listener_wait(lis, ids, 8, &n, 2000000000));
        CHECK_EQ(n, 1);
        CHECK_EQ(ids[0], 3);
        ft_peer_ok(&doomed, line, sizeof line, "die %d", DIE_MS);
        uint64_t t0 = ft_now_ns();
        CHECK_OK(ferry_listener_wait(lis, ids, 8, &n, 5000000000ll));
        double ms = ev_ms_since(t0);
        CHECK_EQ(n, 1);
        CHECK_MSG(ids[0] == FERRY_EVENT_PEER_GONE, "collected %u instead of FERRY_EVENT_PEER_GONE", (unsigned)ids[0]);
        CHECK_MSG(ms <= DIE_MS + DETECT_MS, "the death was reported after %.1f ms", ms);
        CHECK_MSG(ms >= DIE_MS * 0.5, "PEER_GONE after %.1f ms, before the peer died", ms);
        ft_peer_wait_killed(&doomed, 5000);
        CHECK_RC(ferry_listener_wait(lis, ids, 8, &n, 150000000), FERRY_ETIMEDOUT);
        /* The live notifier still reaches us. */
        ft_peer_ok(&alive, line, sizeof line, "after 30 notify 8");
        CHECK_OK(ferry_listener_wait(lis, ids, 8, &n, 2000000000));
        CHECK_EQ(n, 1);
        CHECK_EQ(ids[0], 8);
        ev_peer_later_ok(&alive, line, sizeof line, 5000);
        ft_peer_finish(&alive);
        CHECK_OK(ferry_listener_wait(lis, ids, 8, &n, 2000000000)); /* its normal close */
        CHECK_EQ(n, 1);
        CHECK_EQ(ids[0], FERRY_EVENT_PEER_GONE);
        cleanup_after_kill(domain);
    }

    /* ---- (c) the same through a wait set ----------------------------------------- */
    {
        ferry_waitset *ws = NULL;
        CHECK_OK(ferry_waitset_open(&ws));
        struct ws_ctx c;
        memset(&c, 0, sizeof c);
        c.sub = sub;
        c.lis = lis;
        CHECK_OK(ferry_waitset_attach_sub(ws, sub, NULL, NULL));
        CHECK_OK(ferry_waitset_attach_listener(ws, lis, NULL, NULL));
        ft_peer pp;
        ev_peer_start(&pp, domain, "both");
        ft_peer_ok(&pp, line, sizeof line, "pub gone/s");
        ft_peer_ok(&pp, line, sizeof line, "notifier gone/e 63");
        ft_peer_ok(&pp, line, sizeof line, "send 1");
        ft_peer_ok(&pp, line, sizeof line, "notify 1");
        uint64_t t0 = ft_now_ns();
        while ((c.samples < 1 || c.ids < 1) && ev_ms_since(t0) < 3000.0)
            ferry_waitset_wait(ws, 50000000, on_event, &c, NULL);
        CHECK_EQ(c.samples, 1);
        CHECK_EQ(c.ids, 1);
        CHECK_EQ(c.disconnected, 0);
        CHECK_EQ(c.gone, 0);
        ft_peer_ok(&pp, line, sizeof line, "die %d", DIE_MS);
        t0 = ft_now_ns();
        while ((c.disconnected < 1 || c.gone < 1) && ev_ms_since(t0) < 3000.0)
            ferry_waitset_wait(ws, 50000000, on_event, &c, NULL);
        double ms = ev_ms_since(t0);
        CHECK_MSG(c.disconnected == 1, "wait set: subscriber disconnected reports: %u", c.disconnected);
        CHECK_MSG(c.gone == 1, "wait set: PEER_GONE collected %u times", c.gone);
        CHECK_MSG(ms <= DIE_MS + DETECT_MS, "the wait set reported the death after %.1f ms", ms);
        ft_peer_wait_killed(&pp, 5000);
        /* Reported once. */
        t0 = ft_now_ns();
        while (ev_ms_since(t0) < 300.0)
            ferry_waitset_wait(ws, 50000000, on_event, &c, NULL);
        CHECK_EQ(c.disconnected, 1);
        CHECK_EQ(c.gone, 1);
        CHECK_EQ(c.samples, 1);
        CHECK_EQ(publishers(sub), 0);
        ferry_waitset_close(ws);
        cleanup_after_kill(domain);
    }

    ferry_listener_close(lis);
    ferry_sub_close(sub);
    ev_finish_domain(domain, node);
    return ft_pass();
}
