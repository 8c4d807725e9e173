/*
 * reqres_stream_test: calls with several responses (server in ferry_rr_peer,
 * client here, response_queue 4).
 *  - N responses then one with FERRY_RESPONSE_LAST: the client takes N
 *    responses with last = 0, parts in order, then the last one (payload,
 *    last = 1); ferry_client_pending goes 1 -> 0 only then;
 *  - N responses then ferry_server_finish without a last response: N with
 *    last = 0, then an end-of-stream whose response is NULL, size 0, last 1,
 *    with the call's id; N = 0: only the end-of-stream;
 *  - a stream of 61 responses through a queue of 4: the server meets
 *    FERRY_EAGAIN (and retries with the same loan), nothing is lost or
 *    reordered;
 *  - several streams open at once (both endings): each in order, each ends
 *    once;
 * and in this process: FERRY_RESPONSE_LAST then ferry_server_finish sends
 * no second end (exactly one response, then FERRY_EAGAIN); ferry_server_abort
 * fails its call at the client with FERRY_EDISCONNECTED after the responses
 * sent before it, leaves another call open, and kills the token.
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "rr/stream"

static void take_part(ferry_client *c, uint64_t id, uint64_t seq, uint32_t part, int want_last)
{
    uint64_t got = 0, server = 0;
    const void *resp = NULL;
    size_t size = 0;
    int last = -1;
    char why[512];
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK_EQ(got, id);
    CHECK_MSG(rr_resp_check(resp, size, 4, seq, seq, part, &server, why, sizeof why) == 0, "%s", why);
    CHECK_EQ(server, 5);
    CHECK_MSG(last == want_last, "part %u: last %d, expected %d", part, last, want_last);
    ferry_client_release(c, resp);
    CHECK_LAST_ERROR(FERRY_OK);
}

static void take_end(ferry_client *c, uint64_t id)
{
    uint64_t got = 0;
    const void *resp = (const void *)&got;
    size_t size = 99;
    int last = -1;
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK_EQ(got, id);
    CHECK_MSG(resp == NULL && size == 0 && last == 1, "end of stream: response %p size %zu last %d", resp, size,
              last);
    ferry_client_release(c, resp); /* NULL is accepted */
    CHECK_LAST_ERROR(FERRY_OK);
}

int main(void)
{
    ft_init("reqres_stream_test", 25);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrstream");
    char line[1024], words[512], why[512];
    ferry_node *node = ft_node_open(domain, "caller");
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.response_queue = 4;
    rr_opts_format(&o, words, sizeof words);

    ft_peer peer;
    rr_peer_start(&peer, domain, "streamer");
    ft_peer_ok(&peer, line, sizeof line, "server %s %s", SERVICE, words);
    ft_peer_ok(&peer, line, sizeof line, "serve 5");
    ferry_client *c = rr_client_open(node, SERVICE, &o);
    CHECK_OK(ferry_client_wait_server(c, 5000000000ll));

    /* N responses, then a last one. */
    uint64_t id = 0;
    CHECK_OK(rr_send(c, 4, 1, 3, RR_END_LAST, &id));
    for (uint32_t part = 0; part < 3; part++) {
        take_part(c, id, 1, part, 0);
        CHECK_EQ(ferry_client_pending(c), 1);
    }
    take_part(c, id, 1, 3, 1);
    CHECK_EQ(ferry_client_pending(c), 0);

    /* N responses, then ferry_server_finish. */
    CHECK_OK(rr_send(c, 4, 2, 4, RR_END_FINISH, &id));
    for (uint32_t part = 0; part < 4; part++) {
        take_part(c, id, 2, part, 0);
        CHECK_EQ(ferry_client_pending(c), 1);
    }
    take_end(c, id);
    CHECK_EQ(ferry_client_pending(c), 0);

    /* No response at all, only the end. */
    CHECK_OK(rr_send(c, 4, 3, 0, RR_END_FINISH, &id));
    take_end(c, id);
    CHECK_EQ(ferry_client_pending(c), 0);
    uint64_t got;
    const void *resp;
    size_t size;
    int last;
    CHECK_RC(ferry_client_take(c, &got, &resp, &size, &last), FERRY_EAGAIN);

    /* A stream longer than the queue, taken slowly. */
    CHECK_OK(rr_send(c, 4, 4, 60, RR_END_LAST, &id));
    for (uint32_t part = 0; part <= 60; part++) {
        if (part % 8 == 0)
            ft_sleep_ms(3);
        take_part(c, id, 4, part, part == 60);
    }
    CHECK_EQ(ferry_client_pending(c), 0);

    /* Several streams at once, both endings. */
    struct rr_call_stats cs;
    memset(&cs, 0, sizeof cs);
    int rc = rr_run_calls(c, 40, 4, 9, RR_END_LAST, 4, 15000, &cs, why, sizeof why);
    CHECK_MSG(rc == FERRY_OK, "streams ending with a last response: %d %s", rc, why);
    CHECK_EQ(cs.responses, 40 * 10);
    memset(&cs, 0, sizeof cs);
    rc = rr_run_calls(c, 40, 4, 6, RR_END_FINISH, 4, 15000, &cs, why, sizeof why);
    CHECK_MSG(rc == FERRY_OK, "streams ended by finish: %d %s", rc, why);
    CHECK_EQ(cs.responses, 40 * 7);

    const char *r = ft_peer_ok(&peer, line, sizeof line, "stop");
    printf("server: %s\n", r);
    CHECK_EQ(rr_reply_field(r, "served"), 4 + 80);
    CHECK_EQ(rr_reply_field(r, "responses"), 4 + 4 + 0 + 61 + 400 + 240);
    CHECK_EQ(rr_reply_field(r, "bad"), 0);
    CHECK_EQ(rr_reply_field(r, "disc"), 0);
    CHECK_MSG(rr_reply_field(r, "eagain") > 0, "the 61-response stream never met a full response queue of 4");
    ft_peer_finish(&peer);
    ferry_client_close(c);

    /* LAST, then finish: one end only. */
    ferry_server *s = rr_server_open(node, "rr/stream-local", &o);
    c = rr_client_open(node, "rr/stream-local", &o);
    CHECK_OK(rr_send(c, 4, 5, 0, RR_END_LAST, &id));
    ferry_call call;
    const void *req;
    size_t rsize;
    CHECK_OK(rr_server_take_wait(s, &call, &req, &rsize, FT_WAIT_MS));
    CHECK_OK(ferry_server_respond_copy(s, call, "done", 4, FERRY_RESPONSE_LAST));
    CHECK_OK(ferry_server_finish(s, call));
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK_EQ(got, id);
    CHECK(resp != NULL && size == 4 && memcmp(resp, "done", 4) == 0);
    CHECK_EQ(last, 1);
    ferry_client_release(c, resp);
    ft_sleep_ms(20);
    CHECK_RC(ferry_client_take(c, &got, &resp, &size, &last), FERRY_EAGAIN);
    CHECK_EQ(ferry_client_pending(c), 0);
    /* ferry_server_abort: what was sent before arrives, then the call
     * fails with FERRY_EDISCONNECTED; another call goes on; the token is
     * dead afterwards. */
    uint64_t id2 = 0;
    ferry_call call2;
    CHECK_OK(rr_send(c, 4, 6, 0, RR_END_LAST, &id));
    CHECK_OK(rr_server_take_wait(s, &call, &req, &rsize, FT_WAIT_MS));
    CHECK_OK(rr_send(c, 4, 7, 0, RR_END_LAST, &id2));
    CHECK_OK(rr_server_take_wait(s, &call2, &req, &rsize, FT_WAIT_MS));
    CHECK_OK(ferry_server_respond_copy(s, call, "part", 4, 0));
    CHECK_OK(ferry_server_abort(s, call));
    CHECK_RC(ferry_server_abort(s, call), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond_copy(s, call, "late", 4, 0), FERRY_EINVAL);
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK_EQ(got, id);
    CHECK(resp != NULL && size == 4 && memcmp(resp, "part", 4) == 0 && last == 0);
    ferry_client_release(c, resp);
    got = 0;
    CHECK_RC(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS), FERRY_EDISCONNECTED);
    CHECK_EQ(got, id);
    CHECK_EQ(ferry_client_pending(c), 1);
    CHECK_OK(ferry_server_respond_copy(s, call2, "fine", 4, FERRY_RESPONSE_LAST));
    CHECK_OK(ferry_server_finish(s, call2));
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK_EQ(got, id2);
    CHECK(resp != NULL && size == 4 && memcmp(resp, "fine", 4) == 0 && last == 1);
    ferry_client_release(c, resp);
    CHECK_EQ(ferry_client_pending(c), 0);
    ferry_client_close(c);
    ferry_server_close(s);

    rr_finish_domain(domain, node);
    return rr_pass();
}
