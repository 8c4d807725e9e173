/*
 * reqres_basic_test: one client and one server in two processes.
 *
 * A. Server in ferry_rr_peer, client here:
 *    - ferry_client_wait_server finds the server;
 *    - one call step by step: the send gives a call id, ferry_client_pending
 *      is 1, the one response carries that id, last = 1, its content is
 *      f(request) (tag, sequence, f(x), tail complemented), pending is back
 *      to 0 and a further take is FERRY_EAGAIN;
 *    - 2000 pipelined calls (up to max_pending open) and 200 one-at-a-time
 *      calls: every response checked against its request, ids grow and
 *      match, pending follows and ends at 0;
 *    - the server counts exactly the calls made, all from this client, no
 *      invalid request, no disconnection.
 * B. Roles swapped: server here, client in the peer: 500 checked calls.
 * Nothing of the domain is left in /dev/shm.
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "rr/basic"
#define SERVICE_B "rr/basic-b"

int main(void)
{
    ft_init("reqres_basic_test", 25);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrbasic");
    char line[1024], words[512], why[512];

    ferry_node *node = ft_node_open(domain, "caller");
    ferry_reqres_opts o;
    rr_opts_default(&o);
    rr_opts_format(&o, words, sizeof words);

    ft_peer peer;
    rr_peer_start(&peer, domain, "server-proc");
    ft_peer_ok(&peer, line, sizeof line, "server %s %s", SERVICE, words);
    ft_peer_ok(&peer, line, sizeof line, "serve 7");

    ferry_client *c = rr_client_open(node, SERVICE, &o);
    CHECK_OK(ferry_client_wait_server(c, 5000000000ll));
    CHECK_EQ(ferry_client_pending(c), 0);

    /* One call, step by step. */
    uint64_t id = 0;
    CHECK_OK(rr_send(c, 3, 42, 0, RR_END_LAST, &id));
    CHECK(id != 0);
    CHECK_EQ(ferry_client_pending(c), 1);
    uint64_t got_id = 0, server_tag = 0;
    const void *resp = NULL;
    size_t size = 0;
    int last = -1;
    CHECK_OK(rr_client_take_wait(c, &got_id, &resp, &size, &last, FT_WAIT_MS));
    CHECK_EQ(got_id, id);
    CHECK_EQ(last, 1);
    CHECK_MSG(rr_resp_check(resp, size, 3, 42, 42, 0, &server_tag, why, sizeof why) == 0, "%s", why);
    CHECK_EQ(server_tag, 7);
    CHECK_EQ(ferry_client_pending(c), 0);
    ferry_client_release(c, resp);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_RC(ferry_client_take(c, &got_id, &resp, &size, &last), FERRY_EAGAIN);
    CHECK(resp == NULL);

    /* Many calls, pipelined up to max_pending. */
    struct rr_call_stats cs;
    memset(&cs, 0, sizeof cs);
    uint64_t t0 = ft_now_ns();
    int rc = rr_run_calls(c, 2000, 3, 0, RR_END_LAST, o.max_pending, 20000, &cs, why, sizeof why);
    CHECK_MSG(rc == FERRY_OK, "pipelined calls: %d %s", rc, why);
    CHECK_EQ(cs.calls, 2000);
    CHECK_EQ(cs.responses, 2000);
    CHECK_EQ(cs.servers[0], 7);
    CHECK_EQ(cs.counts[0], 2000);
    printf("2000 pipelined calls in %.1f ms\n", rr_ms_since(t0));

    /* One at a time. */
    memset(&cs, 0, sizeof cs);
    rc = rr_run_calls(c, 200, 3, 0, RR_END_LAST, 1, 10000, &cs, why, sizeof why);
    CHECK_MSG(rc == FERRY_OK, "sequential calls: %d %s", rc, why);
    CHECK_EQ(cs.calls, 200);
    CHECK_EQ(ferry_client_pending(c), 0);

    const char *r = ft_peer_ok(&peer, line, sizeof line, "stop");
    printf("server: %s\n", r);
    CHECK_EQ(rr_reply_field(r, "served"), 2201);
    CHECK_EQ(rr_reply_field(r, "responses"), 2201);
    CHECK_EQ(rr_reply_field(r, "bad"), 0);
    CHECK_EQ(rr_reply_field(r, "disc"), 0);
    CHECK_EQ(rr_reply_field(r, "held"), 0);
    CHECK_EQ(rr_reply_count(r, "clients", 3), 2201);

    /* B: the server here, the client there. */
    ferry_server *s = rr_server_open(node, SERVICE_B, &o);
    ft_peer_ok(&peer, line, sizeof line, "client %s %s", SERVICE_B, words);
    ft_peer_ok(&peer, line, sizeof line, "wait_server 5000");
    ft_peer_send(&peer, "calls 500 9 0 %d 8 15000", RR_END_LAST);
    struct rr_server_stats ss;
    memset(&ss, 0, sizeof ss);
    rc = rr_serve_until_reply(s, 11, &ss, &peer, 20000);
    CHECK_MSG(rc == FERRY_OK, "serving: %d %s", rc, ss.problem);
    r = rr_peer_later_ok(&peer, line, sizeof line, FT_WAIT_MS);
    printf("client: %s\n", r);
    CHECK_EQ(rr_reply_field(r, "calls"), 500);
    CHECK_EQ(rr_reply_count(r, "servers", 11), 500);
    CHECK_EQ(ss.served, 500);
    CHECK_EQ(ss.bad, 0);
    CHECK_EQ(ss.disconnected, 0);
    CHECK_EQ(ss.counts[0], 500);
    CHECK_EQ(ss.tags[0], 9);

    ft_peer_finish(&peer);
    ferry_client_close(c);
    ferry_server_close(s);
    rr_finish_domain(domain, node);
    return rr_pass();
}
