/*
 * reqres_server_crash_test: a server process is killed (SIGKILL) while
 * calls to it are open. Client in this process.
 *  1. Busy polling: 3 calls held by the server; after the kill,
 *     ferry_client_take (never waiting) reports FERRY_EDISCONNECTED once for
 *     each of the 3 call ids, within about 1 s; then ferry_client_pending is
 *     0, take is FERRY_EAGAIN and ferry_client_wait is FERRY_EAGAIN (no call
 *     open).
 *  2. Waiting: 2 calls held; after the kill ferry_client_wait (5 s limit)
 *     returns FERRY_OK within about 1 s, and two takes give
 *     FERRY_EDISCONNECTED for both ids.
 *  3. Two servers, one killed with a call held: that call fails, and then
 *     50 calls all reach the live server and are answered.
 *  0. (In this process, before the crashes.) A server that closes with a call
 *     open: the client's next take is FERRY_EDISCONNECTED for that call. A
 *     client that closes with a call open: the server's respond is
 *     FERRY_EDISCONNECTED, then respond is FERRY_EINVAL and finish FERRY_OK.
 *  ferry_node_list shows killed nodes as not alive; ferry_cleanup removes
 *  them and nothing of the domain is left at the end.
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "rr/crash-server"

static ferry_reqres_opts opts;
static char words[512];

static void start_holder(ft_peer *peer, const char *domain, const char *name)
{
    char line[512];
    rr_peer_start(peer, domain, name);
    ft_peer_ok(peer, line, sizeof line, "server %s %s", SERVICE, words);
}

static void kill_and_check_listed(ft_peer *peer, const char *domain)
{
    long pid = (long)peer->pid;
    ft_peer_kill(peer);
    int alive = 1;
    /* Still listed (not cleaned up yet), as dead. */
    if (rr_node_listed(domain, pid, &alive))
        CHECK_MSG(alive == 0, "killed node of pid %ld listed as alive", pid);
}

/* Takes (busy polling, never waiting) until every id in ids was reported
 * FERRY_EDISCONNECTED once; returns the milliseconds it took. */
static double take_disconnects(ferry_client *c, const uint64_t *ids, int n, uint64_t t0)
{
    int seen[8] = {0};
    int nseen = 0;
    uint64_t deadline = ft_now_ns() + 5000000000ull;
    while (nseen < n) {
        uint64_t id = 0;
        const void *resp = NULL;
        size_t size = 0;
        int last = 0;
        int rc = ferry_client_take(c, &id, &resp, &size, &last);
        if (rc == FERRY_EAGAIN) {
            CHECK_MSG(ft_now_ns() < deadline, "after 5 s of polling, only %d of %d calls were reported failed", nseen,
                      n);
            continue;
        }
        CHECK_RC(rc, FERRY_EDISCONNECTED);
        CHECK(resp == NULL);
        int k = 0;
        while (k < n && ids[k] != id)
            k++;
        CHECK_MSG(k < n, "FERRY_EDISCONNECTED for call %llu, which is not one of the open calls",
                  (unsigned long long)id);
        CHECK_MSG(!seen[k], "call %llu reported failed twice", (unsigned long long)id);
        seen[k] = 1;
        nseen++;
    }
    return rr_ms_since(t0);
}

static void closing(ferry_node *node)
{
    ferry_server *s = rr_server_open(node, "rr/closing", &opts);
    ferry_client *c = rr_client_open(node, "rr/closing", &opts);
    uint64_t id, got = 0;
    ferry_call call;
    const void *req, *resp;
    size_t size;
    int last;
    CHECK_OK(rr_send(c, 1, 1, 0, RR_END_LAST, &id));
    CHECK_OK(rr_server_take_wait(s, &call, &req, &size, FT_WAIT_MS));
    CHECK_OK(ferry_server_respond_copy(s, call, "first", 5, 0));
    ferry_server_close(s);
    /* The response sent before the close comes first, then the failure. */
    CHECK_OK(ferry_client_take(c, &got, &resp, &size, &last));
    CHECK(got == id && size == 5 && last == 0);
    ferry_client_release(c, resp);
    CHECK_RC(ferry_client_take(c, &got, &resp, &size, &last), FERRY_EDISCONNECTED);
    CHECK_EQ(got, id);
    CHECK_EQ(ferry_client_pending(c), 0);

    s = rr_server_open(node, "rr/closing", &opts);
    CHECK_OK(rr_send(c, 1, 2, 0, RR_END_LAST, &id));
    CHECK_OK(rr_server_take_wait(s, &call, &req, &size, FT_WAIT_MS));
    ferry_client_close(c);
    CHECK_RC(ferry_server_respond_copy(s, call, "gone", 4, 0), FERRY_EDISCONNECTED);
    CHECK_RC(ferry_server_respond_copy(s, call, "gone", 4, 0), FERRY_EINVAL);
    CHECK_OK(ferry_server_finish(s, call));
    ferry_server_close(s);
}

int main(void)
{
    ft_init("reqres_server_crash_test", 25);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrcrashs");
    char line[1024], why[512];
    rr_opts_default(&opts);
    rr_opts_format(&opts, words, sizeof words);
    ferry_node *node = ft_node_open(domain, "caller");
    closing(node);
    ferry_client *c = rr_client_open(node, SERVICE, &opts);

    /* 1. Busy polling with ferry_client_take. */
    ft_peer s1;
    start_holder(&s1, domain, "holder-1");
    CHECK_OK(ferry_client_wait_server(c, 5000000000ll));
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        CHECK_OK(rr_send(c, 1, (uint64_t)i + 1, 0, RR_HOLD, &ids[i]));
    ft_peer_ok(&s1, line, sizeof line, "hold 3 5000");
    CHECK_EQ(ferry_client_pending(c), 3);
    uint64_t t0 = ft_now_ns();
    kill_and_check_listed(&s1, domain);
    double ms = take_disconnects(c, ids, 3, t0);
    printf("polling: 3 calls failed %.1f ms after the kill\n", ms);
    SOFT_CHECK(ms < 1500, "took %.1f ms to report the dead server's calls (about 1 s expected)", ms);
    CHECK_EQ(ferry_client_pending(c), 0);
    uint64_t id;
    const void *resp;
    size_t size;
    int last;
    CHECK_RC(ferry_client_take(c, &id, &resp, &size, &last), FERRY_EAGAIN);
    CHECK_RC(ferry_client_wait(c, 1000000000), FERRY_EAGAIN);

    /* 2. Waiting with ferry_client_wait. */
    ft_peer s2;
    start_holder(&s2, domain, "holder-2");
    CHECK_OK(ferry_client_wait_server(c, 5000000000ll));
    for (int i = 0; i < 2; i++) {
        int rc = rr_send(c, 1, (uint64_t)i + 10, 0, RR_HOLD, &ids[i]);
        CHECK_MSG(rc == FERRY_OK, "send %d to the second server: %d (the dead one should be gone)", i, rc);
    }
    ft_peer_ok(&s2, line, sizeof line, "hold 2 5000");
    CHECK_RC(ferry_client_wait(c, 0), FERRY_ETIMEDOUT);
    t0 = ft_now_ns();
    kill_and_check_listed(&s2, domain);
    int rc = ferry_client_wait(c, 5000000000ll);
    ms = rr_ms_since(t0);
    printf("waiting: ferry_client_wait returned %d after %.1f ms\n", rc, ms);
    CHECK_OK(rc);
    SOFT_CHECK(ms < 1500, "ferry_client_wait took %.1f ms to report the dead server (about 1 s expected)", ms);
    ms = take_disconnects(c, ids, 2, t0);
    SOFT_CHECK(ms < 1500, "took %.1f ms to report both calls", ms);
    CHECK_EQ(ferry_client_pending(c), 0);

    /* 3. One of two servers dies: the other goes on. */
    ft_peer s3, s4;
    start_holder(&s4, domain, "holder-4");
    CHECK_OK(ferry_client_wait_server(c, 5000000000ll));
    CHECK_OK(rr_send(c, 1, 20, 0, RR_HOLD, &ids[0]));
    ft_peer_ok(&s4, line, sizeof line, "hold 1 5000");
    start_holder(&s3, domain, "server-3");
    ft_peer_ok(&s3, line, sizeof line, "serve 23");
    t0 = ft_now_ns();
    kill_and_check_listed(&s4, domain);
    CHECK_OK(ferry_client_wait(c, 5000000000ll));
    take_disconnects(c, ids, 1, t0);
    struct rr_call_stats cs;
    memset(&cs, 0, sizeof cs);
    rc = rr_run_calls(c, 50, 1, 0, RR_END_LAST, 4, 10000, &cs, why, sizeof why);
    CHECK_MSG(rc == FERRY_OK, "calls after one server died: %d %s", rc, why);
    CHECK_EQ(cs.servers[0], 23);
    CHECK_EQ(cs.counts[0], 50);
    const char *r = ft_peer_ok(&s3, line, sizeof line, "stop");
    CHECK_EQ(rr_reply_field(r, "served"), 50);

    /* Cleanup removes what the dead servers left. */
    unsigned removed = 0;
    CHECK_OK(ferry_cleanup(domain, &removed));
    printf("ferry_cleanup removed %u objects\n", removed);
    CHECK_EQ(rr_node_listed(domain, (long)s1.pid, NULL), 0);
    CHECK_EQ(rr_node_listed(domain, (long)s2.pid, NULL), 0);
    CHECK_EQ(rr_node_listed(domain, (long)s4.pid, NULL), 0);
    rr_counts k = rr_service_counts(domain, SERVICE);
    CHECK_EQ(k.servers, 1);
    CHECK_EQ(k.clients, 1);
    ft_peer_finish(&s3);
    ferry_client_close(c);
    rr_finish_domain(domain, node);
    return rr_pass();
}
