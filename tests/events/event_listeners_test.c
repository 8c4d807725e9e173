/*
 * event_listeners_test: many notifiers and listeners across processes.
 * Four notifier processes, three listeners (ours and two listener
 * processes) on one event service (max_event_id 63):
 *  - two listener processes asleep in ferry_listener_wait are both woken
 *    by one notifier process's notification and collect exactly that id;
 *  - every listener receives the ids of every notifier; an id raised
 *    several times (by one notifier three times, by all four notifiers)
 *    before collection is collected once; ids come in increasing order;
 *  - ids above max_event_id (64, FERRY_EVENT_PEER_GONE itself) are
 *    FERRY_EINVAL, in our process and in a notifier process, and raise
 *    nothing;
 *  - collecting with max smaller than what is pending returns the lowest
 *    max ids and leaves the rest pending, in order, also across 64-bit
 *    words (max_event_id 200: ids 0, 63, 64, 127, 128, 199, 200);
 *  - max_event_id 4095 works, 4096 is FERRY_EINVAL, a different
 *    max_event_id on an existing service is FERRY_EINCOMPATIBLE;
 *  - when the notifier processes close their nodes, our listener gets
 *    FERRY_EVENT_PEER_GONE.
 */
#include "ev_support.h"

#include <stdio.h>
#include <string.h>

#define NNOTIFIERS 4

/* Parses the peer's "listen" reply into ids; returns the count. */
static size_t parse_listen(const char *line, int expect_rc, uint32_t *ids, size_t max)
{
    int rc = -100, off = 0;
    unsigned long long el = 0, t0 = 0;
    unsigned n = 0;
    CHECK_MSG(sscanf(line, "ok %d %llu %llu %u%n", &rc, &el, &t0, &n, &off) == 4, "listen replied '%s'", line);
    CHECK_RC(rc, expect_rc);
    CHECK(n <= max);
    const char *s = line + off;
    for (unsigned i = 0; i < n; i++) {
        int used = 0;
        unsigned v = 0;
        CHECK_MSG(sscanf(s, " %u%n", &v, &used) == 1, "listen reply '%s' is short", line);
        ids[i] = v;
        s += used;
    }
    return n;
}

static void check_ids(const char *who, const uint32_t *got, size_t n, const uint32_t *want, size_t nwant)
{
    if (n != nwant) {
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s got id %u\n", who, (unsigned)got[i]);
    }
    CHECK_MSG(n == nwant, "%s collected %zu ids, expected %zu", who, n, nwant);
    for (size_t i = 0; i < n; i++)
        CHECK_MSG(got[i] == want[i], "%s: id %zu is %u, expected %u", who, i, (unsigned)got[i], (unsigned)want[i]);
}

static void try_expect(ferry_listener *l, size_t max, const uint32_t *want, size_t nwant)
{
    uint32_t ids[64];
    size_t n = 99;
    CHECK(max <= 64);
    if (nwant == 0) {
        CHECK_RC(ferry_listener_try_wait(l, ids, max, &n), FERRY_EAGAIN);
        CHECK_EQ(n, 0);
        return;
    }
    CHECK_OK(ferry_listener_try_wait(l, ids, max, &n));
    check_ids("our listener", ids, n, want, nwant);
}

int main(void)
{
    ft_init("event_listeners_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evlisten");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");
    ferry_event_opts eo = ev_event_opts(63);
    ferry_listener *lis = NULL;
    CHECK_OK(ferry_listener_open(&lis, node, "ev/many", &eo));

    ft_peer nt[NNOTIFIERS], lp[2];
    for (int k = 0; k < NNOTIFIERS; k++) {
        char name[32];
        snprintf(name, sizeof name, "notifier%d", k);
        ev_peer_start(&nt[k], domain, name);
        ft_peer_ok(&nt[k], line, sizeof line, "notifier ev/many 63");
    }
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "listener%d", k);
        ev_peer_start(&lp[k], domain, name);
        ft_peer_ok(&lp[k], line, sizeof line, "listener ev/many 63");
    }
    uint32_t ids[64];

    /* ---- sleeping listener processes, one notification ------------------- */
    for (int k = 0; k < 2; k++)
        ft_peer_send(&lp[k], "listen 5000");
    ft_sleep_ms(50);
    ft_peer_ok(&nt[2], line, sizeof line, "notify 40");
    static const uint32_t just40[] = {40};
    for (int k = 0; k < 2; k++) {
        ft_peer_reply(&lp[k], line, sizeof line, 5000);
        size_t n = parse_listen(line, FERRY_OK, ids, 64);
        check_ids("listener process", ids, n, just40, 1);
    }
    try_expect(lis, 64, just40, 1);
    try_expect(lis, 64, NULL, 0);

    /* ---- every notifier reaches every listener; repeated ids coalesce ---- */
    for (int k = 0; k < NNOTIFIERS; k++) {
        ft_peer_ok(&nt[k], line, sizeof line, "notify %d 3", k * 10 + 1);
        ft_peer_ok(&nt[k], line, sizeof line, "notify %d", k * 10 + 2);
        ft_peer_ok(&nt[k], line, sizeof line, "notify 5");
    }
    static const uint32_t all[] = {1, 2, 5, 11, 12, 21, 22, 31, 32};
    size_t nall = sizeof all / sizeof all[0];
    try_expect(lis, 64, all, nall);
    try_expect(lis, 64, NULL, 0);
    for (int k = 0; k < 2; k++) {
        ft_peer_send(&lp[k], "listen 0");
        ft_peer_reply(&lp[k], line, sizeof line, 5000);
        size_t n = parse_listen(line, FERRY_OK, ids, 64);
        check_ids("listener process", ids, n, all, nall);
        ft_peer_send(&lp[k], "listen 0");
        ft_peer_reply(&lp[k], line, sizeof line, 5000);
        CHECK_EQ(parse_listen(line, FERRY_ETIMEDOUT, ids, 64), 0);
    }
    /* id 5 three times from one notifier, nothing else: once. */
    ft_peer_ok(&nt[0], line, sizeof line, "notify 5 3");
    static const uint32_t just5[] = {5};
    try_expect(lis, 64, just5, 1);
    try_expect(lis, 64, NULL, 0);

    /* ---- ids above max_event_id ------------------------------------------- */
    ferry_notifier *mine = NULL;
    CHECK_OK(ferry_notifier_open(&mine, node, "ev/many", &eo));
    CHECK_RC(ferry_notifier_notify(mine, 64), FERRY_EINVAL);
    CHECK_RC(ferry_notifier_notify(mine, 1000), FERRY_EINVAL);
    CHECK_RC(ferry_notifier_notify(mine, FERRY_EVENT_PEER_GONE), FERRY_EINVAL);
    CHECK_RC(ferry_notifier_notify(NULL, 1), FERRY_EINVAL);
    CHECK_EQ(ft_peer_err(&nt[1], "notify 64"), FERRY_EINVAL);
    CHECK_EQ(ft_peer_err(&nt[1], "notify %u", (unsigned)FERRY_EVENT_PEER_GONE), FERRY_EINVAL);
    try_expect(lis, 64, NULL, 0);
    CHECK_OK(ferry_notifier_notify(mine, 63)); /* the highest valid id */
    static const uint32_t just63[] = {63};
    try_expect(lis, 64, just63, 1);

    /* ---- max smaller than what is pending ---------------------------------- */
    CHECK_OK(ferry_notifier_notify(mine, 7));
    CHECK_OK(ferry_notifier_notify(mine, 3));
    CHECK_OK(ferry_notifier_notify(mine, 6));
    CHECK_OK(ferry_notifier_notify(mine, 4));
    ft_peer_ok(&nt[3], line, sizeof line, "notify 9");
    static const uint32_t p34[] = {3, 4}, p67[] = {6, 7}, p9[] = {9};
    try_expect(lis, 2, p34, 2);
    try_expect(lis, 2, p67, 2);
    /* Pending ids survive a wait with a timeout too. */
    size_t n = 0;
    CHECK_OK(ferry_listener_wait(lis, ids, 2, &n, 1000000000));
    check_ids("our listener", ids, n, p9, 1);
    try_expect(lis, 2, NULL, 0);
    /* The listener processes have not collected since the coalesced 5 and the 63. */
    static const uint32_t p34679[] = {3, 4, 5, 6, 7, 9, 63};
    for (int k = 0; k < 2; k++) {
        ft_peer_send(&lp[k], "listen 0");
        ft_peer_reply(&lp[k], line, sizeof line, 5000);
        size_t m = parse_listen(line, FERRY_OK, ids, 64);
        check_ids("listener process", ids, m, p34679, 7);
    }

    /* ---- several words of ids ------------------------------------------------ */
    ferry_event_opts wide = ev_event_opts(200);
    ferry_listener *lw = NULL;
    ferry_notifier *nw = NULL;
    CHECK_OK(ferry_listener_open(&lw, node, "ev/wide", &wide));
    CHECK_OK(ferry_notifier_open(&nw, node, "ev/wide", &wide));
    static const uint32_t wide_ids[] = {200, 0, 128, 64, 199, 127, 63};
    for (size_t i = 0; i < sizeof wide_ids / sizeof wide_ids[0]; i++)
        CHECK_OK(ferry_notifier_notify(nw, wide_ids[i]));
    CHECK_RC(ferry_notifier_notify(nw, 201), FERRY_EINVAL);
    static const uint32_t w1[] = {0, 63, 64}, w2[] = {127, 128, 199}, w3[] = {200};
    try_expect(lw, 3, w1, 3);
    try_expect(lw, 3, w2, 3);
    try_expect(lw, 3, w3, 1);
    try_expect(lw, 3, NULL, 0);
    for (uint32_t id = 0; id <= 200; id++)
        CHECK_OK(ferry_notifier_notify(nw, id));
    uint32_t many[64];
    uint32_t expect_next = 0;
    for (;;) {
        size_t got = 0;
        int rc = ferry_listener_try_wait(lw, many, 64, &got);
        if (rc == FERRY_EAGAIN)
            break;
        CHECK_OK(rc);
        for (size_t i = 0; i < got; i++)
            CHECK_EQ(many[i], expect_next++);
    }
    CHECK_EQ(expect_next, 201);
    ferry_notifier_close(nw);
    ferry_listener_close(lw);

    /* ---- limits of max_event_id ---------------------------------------------- */
    ferry_event_opts big = ev_event_opts(4095);
    ferry_listener *lb = NULL;
    ferry_notifier *nb = NULL;
    CHECK_OK(ferry_listener_open(&lb, node, "ev/big", &big));
    CHECK_OK(ferry_notifier_open(&nb, node, "ev/big", &big));
    CHECK_OK(ferry_notifier_notify(nb, 4095));
    CHECK_RC(ferry_notifier_notify(nb, 4096), FERRY_EINVAL);
    static const uint32_t b4095[] = {4095};
    try_expect(lb, 4, b4095, 1);
    ferry_event_opts toobig = ev_event_opts(4096);
    ferry_listener *bad = NULL;
    CHECK_RC(ferry_listener_open(&bad, node, "ev/toobig", &toobig), FERRY_EINVAL);
    CHECK(bad == NULL);
    ferry_event_opts other = ev_event_opts(62);
    CHECK_RC(ferry_listener_open(&bad, node, "ev/big", &other), FERRY_EINCOMPATIBLE);
    CHECK(bad == NULL);
    ferry_notifier_close(nb);
    ferry_listener_close(lb);

    /* ---- notifier processes leave: PEER_GONE ----------------------------- */
    for (int k = 0; k < 2; k++)
        ft_peer_finish(&lp[k]);
    try_expect(lis, 64, NULL, 0);
    for (int k = 0; k < NNOTIFIERS; k++)
        ft_peer_finish(&nt[k]);
    static const uint32_t gone[] = {FERRY_EVENT_PEER_GONE};
    try_expect(lis, 64, gone, 1); /* four departures, collected once */
    try_expect(lis, 64, NULL, 0);

    ferry_notifier_close(mine);
    ferry_listener_close(lis);
    ev_finish_domain(domain, node);
    return ft_pass();
}
