/*
 * event_liveness_loop_test: a dead peer is reported to a waiter that waits
 * in short slices. The header says of ferry_wait_opts.liveness_ns: "How often
 * a sleeping waiter checks that its peers are still alive (default 100 ms).
 * A dead peer is reported within about this time." An application that
 * waits in a loop of short timeouts (here 20 ms, below the 100 ms probe
 * period; a common pattern to poll a quit flag) sleeps nearly all the time,
 * so it must learn of the death as well:
 *  - a publisher process killed while we loop on ferry_sub_wait(20 ms):
 *    FERRY_EDISCONNECTED within ~1 s;
 *  - a notifier process killed while we loop on ferry_listener_wait(20 ms):
 *    FERRY_EVENT_PEER_GONE within ~1 s.
 */
#include "ev_support.h"

#include <stdio.h>

#define DIE_MS 100
#define LIMIT_MS 1500.0

int main(void)
{
    ft_init("event_liveness_loop_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evliveloop");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");

    /* ---- subscriber --------------------------------------------------------- */
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "loop/s", NULL));
    ft_peer pp;
    ev_peer_start(&pp, domain, "pub");
    ft_peer_ok(&pp, line, sizeof line, "pub loop/s");
    ft_peer_ok(&pp, line, sizeof line, "update");
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
    ft_peer_ok(&pp, line, sizeof line, "die %d", DIE_MS);
    uint64_t t0 = ft_now_ns();
    int rc = FERRY_ETIMEDOUT;
    unsigned slices = 0;
    while (rc == FERRY_ETIMEDOUT && ev_ms_since(t0) < 2000.0) {
        rc = ferry_sub_wait(sub, 20000000);
        slices++;
    }
    double ms = ev_ms_since(t0);
    ft_peer_wait_killed(&pp, 5000);
    /* Both halves run; the verdict comes at the end. */
    int sub_ok = rc == FERRY_EDISCONNECTED && ms <= LIMIT_MS;
    char sub_msg[512];
    snprintf(sub_msg, sizeof sub_msg,
             "looping on ferry_sub_wait(20 ms): %s after %.0f ms (%u waits) since the publisher was told to "
             "die in %d ms; expected FERRY_EDISCONNECTED within ~1 s",
             ferry_strerror(rc), ms, slices, DIE_MS);
    fprintf(stderr, "%s: %s\n", sub_ok ? "ok" : "BAD", sub_msg);
    CHECK_OK(ferry_cleanup(domain, NULL));

    /* ---- listener ------------------------------------------------------------ */
    ferry_event_opts eo = ev_event_opts(63);
    ferry_listener *lis = NULL;
    CHECK_OK(ferry_listener_open(&lis, node, "loop/e", &eo));
    ev_peer_start(&pp, domain, "notifier");
    ft_peer_ok(&pp, line, sizeof line, "notifier loop/e 63");
    ft_peer_ok(&pp, line, sizeof line, "die %d", DIE_MS);
    t0 = ft_now_ns();
    rc = FERRY_ETIMEDOUT;
    slices = 0;
    uint32_t ids[8] = {0};
    size_t n = 0;
    while (rc == FERRY_ETIMEDOUT && ev_ms_since(t0) < 2000.0) {
        rc = ferry_listener_wait(lis, ids, 8, &n, 20000000);
        slices++;
    }
    ms = ev_ms_since(t0);
    ft_peer_wait_killed(&pp, 5000);
    int lis_ok = rc == FERRY_OK && n == 1 && ids[0] == FERRY_EVENT_PEER_GONE && ms <= LIMIT_MS;
    fprintf(stderr,
            "%s: looping on ferry_listener_wait(20 ms): %s (%zu ids) after %.0f ms (%u waits) since the notifier "
            "was told to die in %d ms; expected FERRY_EVENT_PEER_GONE within ~1 s\n",
            lis_ok ? "ok" : "BAD", ferry_strerror(rc), n, ms, slices, DIE_MS);
    CHECK_OK(ferry_cleanup(domain, NULL));

    ferry_listener_close(lis);
    ferry_sub_close(sub);
    ev_finish_domain(domain, node);
    CHECK_MSG(sub_ok, "%s", sub_msg);
    CHECK_MSG(lis_ok, "the listener did not learn of the dead notifier (see above)");
    return ft_pass();
}
