/*
 * event_stress_test: no lost wake-up. Two processes play ping-pong, each
 * side sleeping in a blocking wait for the other's message, 20000 round
 * trips per variant:
 *  - samples, ferry_sub_wait without spinning (every wait goes to sleep);
 *  - samples, ferry_sub_wait with spin_ns = 20000 (both sides), first
 *    back to back, then with a 50 us pause before every 8th ping so that
 *    the peer's spin runs out and it goes to sleep (spin -> sleep path);
 *  - events, ferry_listener_wait without spinning.
 * Both sides set liveness_ns to 60 s, so the periodic probe cannot hide a
 * lost wake-up: one would leave a side asleep until its 2 s per-round
 * timeout, which fails the test with the round number. Every echoed
 * round number / id must be the one sent.
 */
#include "ev_support.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ROUNDS 20000
#define ROUND_TIMEOUT_NS 2000000000ll
#define LIVENESS_OFF 60000000000ll

static void finish_peer_round(ft_peer *peer, const char *what, uint64_t t0, uint64_t longest_ns)
{
    char line[1024];
    ft_peer_reply(peer, line, sizeof line, 10000);
    unsigned long long n = 0, peer_longest_us = 0;
    CHECK_MSG(sscanf(line, "ok %llu %llu", &n, &peer_longest_us) == 2, "%s: peer replied '%s'", what, line);
    CHECK_EQ(n, ROUNDS);
    double ms = ev_ms_since(t0);
    printf("%s: %d round trips in %.0f ms (%.1f us each); longest wait: ours %.1f ms, peer's %.1f ms\n", what, ROUNDS,
           ms, ms * 1000.0 / ROUNDS, (double)longest_ns / 1e6, (double)peer_longest_us / 1e3);
}

/* pause_every: every that many rounds, pause 50 us before the ping, so that a
 * spinning peer runs out of spin and goes to sleep (0: never pause). */
static void pingpong_sub(ft_peer *peer, ferry_pub *ping, ferry_sub *pong, unsigned pause_every, const char *what)
{
    ft_peer_send(peer, "echo_sub %d %lld", ROUNDS, ROUND_TIMEOUT_NS / 1000000);
    uint64_t t0 = ft_now_ns(), longest = 0;
    for (uint64_t i = 1; i <= ROUNDS; i++) {
        if (pause_every && i % pause_every == 0) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
        CHECK_OK(ferry_pub_send_copy(ping, &i, sizeof i));
        uint64_t w0 = ft_now_ns();
        int rc = ferry_sub_wait(pong, ROUND_TIMEOUT_NS);
        uint64_t dt = ft_now_ns() - w0;
        if (dt > longest)
            longest = dt;
        CHECK_MSG(rc == FERRY_OK, "%s: round %" PRIu64 ": ferry_sub_wait returned %s after %.1f ms (lost wake-up?)",
                  what, i, ferry_strerror(rc), (double)dt / 1e6);
        const void *p = NULL;
        size_t size = 0;
        CHECK_OK(ferry_sub_take(pong, &p, &size));
        CHECK_EQ(size, sizeof i);
        uint64_t echo = 0;
        memcpy(&echo, p, sizeof echo);
        ferry_sub_release(pong, p);
        CHECK_MSG(echo == i, "%s: round %" PRIu64 " echoed %" PRIu64, what, i, echo);
    }
    const void *p = NULL;
    CHECK_RC(ferry_sub_take(pong, &p, NULL), FERRY_EAGAIN);
    finish_peer_round(peer, what, t0, longest);
}

static void pingpong_ev(ft_peer *peer, ferry_notifier *ping, ferry_listener *pong, const char *what)
{
    ft_peer_send(peer, "echo_ev %d %lld", ROUNDS, ROUND_TIMEOUT_NS / 1000000);
    uint64_t t0 = ft_now_ns(), longest = 0;
    for (uint32_t i = 1; i <= ROUNDS; i++) {
        uint32_t id = i % 64;
        CHECK_OK(ferry_notifier_notify(ping, id));
        uint32_t ids[8];
        size_t n = 0;
        uint64_t w0 = ft_now_ns();
        int rc = ferry_listener_wait(pong, ids, 8, &n, ROUND_TIMEOUT_NS);
        uint64_t dt = ft_now_ns() - w0;
        if (dt > longest)
            longest = dt;
        CHECK_MSG(rc == FERRY_OK, "%s: round %u: ferry_listener_wait returned %s after %.1f ms (lost wake-up?)", what,
                  (unsigned)i, ferry_strerror(rc), (double)dt / 1e6);
        CHECK_MSG(n == 1 && ids[0] == id, "%s: round %u: collected %zu ids, first %u, expected %u", what, (unsigned)i,
                  n, (unsigned)ids[0], (unsigned)id);
    }
    finish_peer_round(peer, what, t0, longest);
}

int main(void)
{
    ft_init("event_stress_test", 45);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evstress");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");

    ferry_pubsub_opts po;
    ferry_pubsub_opts_init(&po);
    po.max_payload = 64;
    ferry_sub *pong = NULL;
    CHECK_OK(ferry_sub_open(&pong, node, "stress/pong", &po));
    ferry_pub *ping = NULL;
    CHECK_OK(ferry_pub_open(&ping, node, "stress/ping", &po));
    ferry_event_opts eo = ev_event_opts(63);
    ferry_listener *epong = NULL;
    CHECK_OK(ferry_listener_open(&epong, node, "stress/epong", &eo));
    ferry_notifier *eping = NULL;
    CHECK_OK(ferry_notifier_open(&eping, node, "stress/eping", &eo));

    ft_peer peer;
    ev_peer_start(&peer, domain, "echo");
    ft_peer_ok(&peer, line, sizeof line, "sub stress/ping payload=64");
    ft_peer_ok(&peer, line, sizeof line, "pub stress/pong payload=64");
    ft_peer_ok(&peer, line, sizeof line, "listener stress/eping 63");
    ft_peer_ok(&peer, line, sizeof line, "notifier stress/epong 63");

    ev_sub_wait_opts(pong, 0, LIVENESS_OFF);
    ev_listener_wait_opts(epong, 0, LIVENESS_OFF);
    ft_peer_ok(&peer, line, sizeof line, "waitopts 0 %lld", LIVENESS_OFF);
    pingpong_sub(&peer, ping, pong, 0, "samples, no spin");

    ev_sub_wait_opts(pong, 20000, LIVENESS_OFF);
    ft_peer_ok(&peer, line, sizeof line, "waitopts 20000 %lld", LIVENESS_OFF);
    pingpong_sub(&peer, ping, pong, 0, "samples, spin 20 us");
    pingpong_sub(&peer, ping, pong, 8, "samples, spin 20 us, 50 us pause every 8th");

    ft_peer_ok(&peer, line, sizeof line, "waitopts 0 %lld", LIVENESS_OFF);
    pingpong_ev(&peer, eping, epong, "events, no spin");

    ft_peer_finish(&peer);
    ferry_notifier_close(eping);
    ferry_listener_close(epong);
    ferry_pub_close(ping);
    ferry_sub_close(pong);
    ev_finish_domain(domain, node);
    return ft_pass();
}
