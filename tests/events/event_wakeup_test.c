/*
 * event_wakeup_test: a sleeping waiter is woken by another process.
 *  - we sleep in ferry_sub_wait(FERRY_FOREVER) (bounded only by the test's
 *    watchdog) and the peer publishes ~50 ms later: the wait returns
 *    FERRY_OK, the sample can be taken and is intact, it was sent after we
 *    went to sleep (its CLOCK_MONOTONIC timestamp is later than the start of
 *    the wait) and we woke soon after it was sent. The liveness probe is set
 *    to 60 s, so only the publisher's wake-up can end the wait: a lost
 *    wake-up hangs and the watchdog fails the test;
 *  - the other way round: the peer sleeps in ferry_sub_wait(FERRY_FOREVER),
 *    we publish 50 ms later, it wakes and takes that sample;
 *  - two peers asleep on the same service are both woken by one sample;
 *  - the same for a listener: we sleep in ferry_listener_wait(FERRY_FOREVER)
 *    and the peer's notification wakes us with exactly its id, and the peer
 *    sleeping in ferry_listener_wait is woken by our notification.
 */
#include "ev_support.h"
#include "payload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LIVENESS_OFF 60000000000ll /* 60 s: no probe during the test */
#define MAX_WAKE_MS 500.0          /* generous: loaded CI machines */

static void publish(ferry_pub *pub, uint64_t seq)
{
    void *p = NULL;
    CHECK_OK(ferry_pub_loan(pub, 64, &p));
    ft_payload_fill(p, 64, ferry_pub_id(pub), seq);
    CHECK_OK(ferry_pub_send(pub, p));
}

/* Parses "ok <rc> <elapsed_us> <seq> <ts> <t0>" of the peer's subwait. */
struct subwait_reply {
    int rc;
    unsigned long long elapsed_us, seq, ts, t0;
};

static struct subwait_reply parse_subwait(const char *r)
{
    struct subwait_reply s;
    memset(&s, 0, sizeof s);
    CHECK_MSG(sscanf(r, "%d %llu %llu %llu %llu", &s.rc, &s.elapsed_us, &s.seq, &s.ts, &s.t0) == 5,
              "bad subwait reply '%s'", r);
    return s;
}

int main(void)
{
    ft_init("event_wakeup_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evwake");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");

    /* ---- we sleep, the peer publishes ------------------------------------ */
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "wake/a", NULL));
    ev_sub_wait_opts(sub, 0, LIVENESS_OFF);
    ft_peer peer;
    ev_peer_start(&peer, domain, "writer");
    unsigned long long peer_pub_id = 0;
    CHECK(sscanf(ft_peer_ok(&peer, line, sizeof line, "pub wake/a ts=1"), "%llu", &peer_pub_id) == 1);

    int slept = 0;
    uint64_t expect_seq = 0;
    for (int attempt = 0; slept < 5 && attempt < 12; attempt++) {
        ft_peer_ok(&peer, line, sizeof line, "after 50 send 1");
        uint64_t t0 = ft_now_ns();
        CHECK_OK(ferry_sub_wait(sub, FERRY_FOREVER));
        uint64_t t1 = ft_now_ns();
        const void *p = NULL;
        size_t size = 0;
        CHECK_OK(ferry_sub_take(sub, &p, &size));
        ferry_sample_info info;
        CHECK_OK(ferry_sub_sample_info(sub, p, &info));
        uint64_t tag = 0, seq = 0;
        CHECK(ft_payload_check(p, size, &tag, &seq));
        CHECK_EQ(tag, peer_pub_id);
        CHECK_EQ(seq, ++expect_seq);
        ferry_sub_release(sub, p);
        CHECK_LAST_ERROR(FERRY_OK);
        /* The peer's reply to the delayed send. */
        unsigned long long last = 0;
        CHECK(sscanf(ev_peer_later_ok(&peer, line, sizeof line, 5000), "%llu", &last) == 1);
        CHECK_EQ(last, expect_seq);
        /* Nothing else is queued. */
        CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
        CHECK_MSG(info.timestamp_ns <= t1, "sample stamped after the wait returned");
        if (info.timestamp_ns <= t0)
            continue; /* we were descheduled for 50 ms: the wait never slept; again */
        slept++;
        double wake_ms = (double)(t1 - info.timestamp_ns) / 1e6;
        CHECK_MSG(wake_ms < MAX_WAKE_MS, "woke %.1f ms after the sample was sent", wake_ms);
    }
    CHECK_MSG(slept == 5, "only %d of the waits slept before the sample came", slept);

    /* ---- the peer sleeps, we publish ------------------------------------- */
    ferry_pub *pub = NULL;
    ferry_pubsub_opts stamped;
    ferry_pubsub_opts_init(&stamped);
    stamped.timestamps = 1; /* the peer measures its wake-up from the stamp */
    CHECK_OK(ferry_pub_open(&pub, node, "wake/b", &stamped));
    ft_peer_ok(&peer, line, sizeof line, "sub wake/b");
    ft_peer_ok(&peer, line, sizeof line, "waitopts 0 %lld", LIVENESS_OFF);
    for (uint64_t round = 1; round <= 3; round++) {
        ft_peer_send(&peer, "subwait -1");
        ft_sleep_ms(50);
        uint64_t sent = ft_now_ns();
        publish(pub, round);
        ft_peer_reply(&peer, line, sizeof line, 5000);
        CHECK_MSG(strncmp(line, "ok", 2) == 0, "peer subwait replied '%s'", line);
        struct subwait_reply s = parse_subwait(line + 2);
        CHECK_RC(s.rc, FERRY_OK);
        CHECK_EQ(s.seq, round);
        CHECK_MSG(s.t0 < sent, "the peer started waiting after we published (round %" PRIu64 ")", round);
        CHECK_MSG(s.elapsed_us * 1000ull + 1000000ull >= s.ts - s.t0, "peer wait shorter than the time to the send");
        double wake_ms = ((double)s.t0 + (double)s.elapsed_us * 1000.0 - (double)s.ts) / 1e6;
        CHECK_MSG(wake_ms < MAX_WAKE_MS, "peer woke %.1f ms after the send", wake_ms);
    }

    /* ---- two sleepers, one sample ----------------------------------------- */
    ft_peer peer2;
    ev_peer_start(&peer2, domain, "reader2");
    ft_peer_ok(&peer2, line, sizeof line, "sub wake/b");
    ft_peer_ok(&peer2, line, sizeof line, "waitopts 0 %lld", LIVENESS_OFF);
    CHECK_OK(ferry_pub_update(pub)); /* connect peer2 now */
    ft_peer_send(&peer, "subwait -1");
    ft_peer_send(&peer2, "subwait -1");
    ft_sleep_ms(50);
    publish(pub, 4);
    ft_peer *both[2] = {&peer, &peer2};
    for (int i = 0; i < 2; i++) {
        ft_peer_reply(both[i], line, sizeof line, 5000);
        CHECK_MSG(strncmp(line, "ok", 2) == 0, "peer %d subwait replied '%s'", i + 1, line);
        struct subwait_reply s = parse_subwait(line + 2);
        CHECK_RC(s.rc, FERRY_OK);
        CHECK_EQ(s.seq, 4);
    }
    ft_peer_finish(&peer2);

    /* ---- listeners --------------------------------------------------------- */
    ferry_event_opts eo = ev_event_opts(63);
    ferry_listener *lis = NULL;
    CHECK_OK(ferry_listener_open(&lis, node, "wake/ev", &eo));
    ev_listener_wait_opts(lis, 0, LIVENESS_OFF);
    ft_peer_ok(&peer, line, sizeof line, "notifier wake/ev 63");
    for (uint32_t id = 5; id < 8; id++) {
        ft_peer_ok(&peer, line, sizeof line, "after 50 notify %u", (unsigned)id);
        uint64_t t0 = ft_now_ns();
        uint32_t ids[8];
        size_t n = 0;
        CHECK_OK(ferry_listener_wait(lis, ids, 8, &n, FERRY_FOREVER));
        double ms = ev_ms_since(t0);
        CHECK_EQ(n, 1);
        CHECK_EQ(ids[0], id);
        CHECK_MSG(ms < 50.0 + MAX_WAKE_MS, "listener woke after %.1f ms", ms);
        ev_peer_later_ok(&peer, line, sizeof line, 5000);
    }
    ferry_notifier *nt = NULL;
    CHECK_OK(ferry_notifier_open(&nt, node, "wake/ev2", &eo));
    ft_peer_ok(&peer, line, sizeof line, "listener wake/ev2 63");
    ft_peer_ok(&peer, line, sizeof line, "waitopts 0 %lld", LIVENESS_OFF);
    for (uint32_t id = 60; id < 63; id++) {
        ft_peer_send(&peer, "listen -1");
        ft_sleep_ms(50);
        uint64_t sent = ft_now_ns();
        CHECK_OK(ferry_notifier_notify(nt, id));
        ft_peer_reply(&peer, line, sizeof line, 5000);
        int rc = -100;
        unsigned long long el = 0, t0 = 0;
        unsigned n = 0, got = 0;
        CHECK_MSG(sscanf(line, "ok %d %llu %llu %u %u", &rc, &el, &t0, &n, &got) == 5, "peer listen replied '%s'",
                  line);
        CHECK_RC(rc, FERRY_OK);
        CHECK_EQ(n, 1);
        CHECK_EQ(got, id);
        CHECK_MSG(t0 < sent, "the peer started waiting after we notified");
        double wake_ms = ((double)t0 + (double)el * 1000.0 - (double)sent) / 1e6;
        CHECK_MSG(wake_ms < MAX_WAKE_MS, "peer listener woke %.1f ms after the notification", wake_ms);
    }

    ft_peer_finish(&peer);
    ferry_listener_close(lis);
    ferry_notifier_close(nt);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
    ev_finish_domain(domain, node);
    return ft_pass();
}
