/*
 * reqres_noserver_test: requests that reach no server.
 *  - with no server (and a server on another service), ferry_client_send is
 *    FERRY_ENOTFOUND at once and the caller keeps the loan;
 *    ferry_client_send_copy is FERRY_ENOTFOUND too and keeps no loan; no
 *    call is opened;
 *  - ferry_client_wait with no call open is FERRY_EAGAIN at once;
 *  - ferry_client_wait_server with a 200 ms timeout is FERRY_ETIMEDOUT after
 *    about 200 ms (not much earlier, not much later); with timeout 0, at once;
 *  - a ferry_client_wait_server (5 s limit) that starts before a server
 *    process opens its server returns FERRY_OK soon after it did;
 *    then a call is answered;
 *  - when that server closes, sends are FERRY_ENOTFOUND again.
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "rr/noserver"

int main(void)
{
    ft_init("reqres_noserver_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrnoserv");
    char line[1024], words[512], why[512];
    ferry_reqres_opts o;
    rr_opts_default(&o);
    rr_opts_format(&o, words, sizeof words);
    ferry_node *node = ft_node_open(domain, "caller");
    ferry_server *other = rr_server_open(node, "rr/noserver-other", &o);
    ferry_client *c = rr_client_open(node, SERVICE, &o);

    void *p = NULL;
    CHECK_OK(ferry_client_loan(c, rr_req_size(1), &p));
    rr_req_fill(p, 1, 1, 1, 0, RR_END_LAST);
    uint64_t id = 77;
    uint64_t t0 = ft_now_ns();
    CHECK_RC(ferry_client_send(c, p, &id), FERRY_ENOTFOUND);
    CHECK_MSG(rr_ms_since(t0) < 100, "FERRY_ENOTFOUND took %.1f ms", rr_ms_since(t0));
    CHECK_EQ(ferry_client_pending(c), 0);
    CHECK_RC(ferry_client_send_copy(c, "abc", 3, &id), FERRY_ENOTFOUND);
    CHECK_EQ(ferry_client_pending(c), 0);
    void *q = NULL;
    CHECK_OK(ferry_client_loan(c, 8, &q)); /* max_loans 2: p and q; send_copy kept nothing */
    ferry_client_discard(c, q);
    CHECK_LAST_ERROR(FERRY_OK);
    t0 = ft_now_ns();
    CHECK_RC(ferry_client_wait(c, 2000000000), FERRY_EAGAIN);
    CHECK_MSG(rr_ms_since(t0) < 100, "ferry_client_wait with no call open took %.1f ms", rr_ms_since(t0));

    t0 = ft_now_ns();
    CHECK_RC(ferry_client_wait_server(c, 0), FERRY_ETIMEDOUT);
    CHECK_MSG(rr_ms_since(t0) < 100, "ferry_client_wait_server(0) took %.1f ms", rr_ms_since(t0));
    t0 = ft_now_ns();
    CHECK_RC(ferry_client_wait_server(c, 200000000), FERRY_ETIMEDOUT);
    double ms = rr_ms_since(t0);
    printf("ferry_client_wait_server(200 ms) returned after %.1f ms\n", ms);
    CHECK_MSG(ms >= 190 && ms < 1500, "ferry_client_wait_server(200 ms) returned after %.1f ms", ms);

    /* A server process that starts while we wait. */
    ft_peer peer;
    rr_peer_start(&peer, domain, "late-server");
    ft_peer_send(&peer, "sleep 300");
    ft_peer_send(&peer, "server %s %s", SERVICE, words);
    t0 = ft_now_ns();
    CHECK_OK(ferry_client_wait_server(c, 5000000000ll));
    ms = rr_ms_since(t0);
    printf("ferry_client_wait_server returned FERRY_OK after %.1f ms\n", ms);
    CHECK_MSG(ms >= 250, "ferry_client_wait_server returned after %.1f ms, before the server could open", ms);
    rr_peer_later_ok(&peer, line, sizeof line, FT_WAIT_MS); /* sleep */
    rr_peer_later_ok(&peer, line, sizeof line, FT_WAIT_MS); /* server */
    CHECK_OK(ferry_client_wait_server(c, 0));
    ft_peer_ok(&peer, line, sizeof line, "serve 3");
    CHECK_OK(ferry_client_send(c, p, &id)); /* the loan kept since FERRY_ENOTFOUND */
    struct rr_call_stats cs;
    memset(&cs, 0, sizeof cs);
    const void *resp;
    size_t size;
    int last;
    uint64_t got;
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK_EQ(got, id);
    CHECK_MSG(rr_resp_check(resp, size, 1, 1, 1, 0, NULL, why, sizeof why) == 0, "%s", why);
    CHECK_EQ(last, 1);
    ferry_client_release(c, resp);
    const char *r = ft_peer_ok(&peer, line, sizeof line, "stop");
    CHECK_EQ(rr_reply_field(r, "served"), 1);

    /* The server closes: no server again. */
    ft_peer_ok(&peer, line, sizeof line, "close_server");
    CHECK_RC(rr_send(c, 1, 2, 0, RR_END_LAST, &id), FERRY_ENOTFOUND);
    CHECK_RC(ferry_client_wait_server(c, 0), FERRY_ETIMEDOUT);
    CHECK_EQ(ferry_client_pending(c), 0);
    ft_peer_finish(&peer);

    ferry_client_close(c);
    ferry_server_close(other);
    rr_finish_domain(domain, node);
    return rr_pass();
}
