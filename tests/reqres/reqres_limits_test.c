/*
 * reqres_limits_test: every limit of ferry_reqres_opts, in this process.
 *  - max_pending: with max_pending calls open, ferry_client_send is
 *    FERRY_ELIMIT and the caller keeps the loan (the same pointer is sent
 *    once a call ended); ferry_client_send_copy at the limit leaks no loan;
 *  - request_queue: with the only server's queue full, FERRY_EAGAIN, the
 *    caller keeps the loan, which goes through once the server took one;
 *  - response_queue: with the client's queue full, ferry_server_respond is
 *    FERRY_EAGAIN and the server keeps the loan, which goes through once
 *    the client took a response; ferry_server_respond_copy and
 *    ferry_server_finish are FERRY_EAGAIN too and leave the call usable;
 *  - max_clients / max_servers: one more is FERRY_ELIMIT on open, the failed
 *    open takes no slot, and a slot freed by a close can be taken again;
 *  - max_borrowed: a server with that many unfinished calls gets
 *    FERRY_ELIMIT from ferry_server_take until it finishes one; a client
 *    holding that many responses gets FERRY_ELIMIT from ferry_client_take
 *    until it releases one;
 *  - max_loans: client and server loans beyond it are FERRY_ELIMIT.
 * (What the messages of these errors say is checked by reqres_compat_test.)
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

static ferry_call take_one(ferry_server *s, uint64_t *seq)
{
    ferry_call call = 0;
    const void *req = NULL;
    size_t size = 0;
    CHECK_OK(rr_server_take_wait(s, &call, &req, &size, FT_WAIT_MS));
    char why[256];
    CHECK_MSG(rr_req_check(req, size, why, sizeof why) == 0, "%s", why);
    if (seq)
        *seq = ((const struct rr_req *)req)->seq;
    return call;
}

static void take_end(ferry_client *c, uint64_t *id)
{
    const void *resp = NULL;
    size_t size = 1;
    int last = 0;
    CHECK_OK(rr_client_take_wait(c, id, &resp, &size, &last, FT_WAIT_MS));
    CHECK(resp == NULL && size == 0 && last == 1);
}

static void max_pending(ferry_node *node)
{
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.max_pending = 2;
    ferry_server *s = rr_server_open(node, "rr/lim-pending", &o);
    ferry_client *c = rr_client_open(node, "rr/lim-pending", &o);
    uint64_t id1, id2, id3, id;
    CHECK_OK(rr_send(c, 1, 1, 0, RR_END_FINISH, &id1));
    CHECK_OK(rr_send(c, 1, 2, 0, RR_END_FINISH, &id2));
    CHECK_EQ(ferry_client_pending(c), 2);
    void *p = NULL;
    CHECK_OK(ferry_client_loan(c, rr_req_size(3), &p));
    rr_req_fill(p, 1, 3, 3, 0, RR_END_FINISH);
    CHECK_RC(ferry_client_send(c, p, &id3), FERRY_ELIMIT);
    CHECK_MSG(strstr(ferry_last_error_message(), "max_pending") != NULL, "message: %s", ferry_last_error_message());
    CHECK_EQ(ferry_client_pending(c), 2);
    /* send_copy at the limit: FERRY_ELIMIT, and its loan is not kept. */
    char buf[sizeof(struct rr_req)];
    rr_req_fill(buf, 1, 0, 0, 0, RR_END_FINISH);
    CHECK_RC(ferry_client_send_copy(c, buf, sizeof buf, &id), FERRY_ELIMIT);
    void *q = NULL;
    CHECK_OK(ferry_client_loan(c, 16, &q)); /* max_loans 2: p and q */
    ferry_client_discard(c, q);
    CHECK_LAST_ERROR(FERRY_OK);

    /* One call ends: the kept loan is sent as it is. */
    ferry_call call = take_one(s, NULL);
    CHECK_OK(ferry_server_finish(s, call));
    take_end(c, &id);
    CHECK_EQ(id, id1);
    CHECK_EQ(ferry_client_pending(c), 1);
    CHECK_OK(ferry_client_send(c, p, &id3));
    CHECK_EQ(ferry_client_pending(c), 2);
    uint64_t seq = 0;
    call = take_one(s, &seq);
    CHECK_EQ(seq, 2);
    CHECK_OK(ferry_server_finish(s, call));
    call = take_one(s, &seq);
    CHECK_EQ(seq, 3);
    CHECK_OK(ferry_server_finish(s, call));
    take_end(c, &id);
    CHECK_EQ(id, id2);
    take_end(c, &id);
    CHECK_EQ(id, id3);
    CHECK_EQ(ferry_client_pending(c), 0);
    ferry_client_close(c);
    ferry_server_close(s);
}

static void request_queue(ferry_node *node)
{
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.request_queue = 2;
    ferry_server *s = rr_server_open(node, "rr/lim-reqq", &o);
    ferry_client *c = rr_client_open(node, "rr/lim-reqq", &o);
    uint64_t id;
    CHECK_OK(rr_send(c, 1, 1, 0, RR_END_FINISH, &id));
    CHECK_OK(rr_send(c, 1, 2, 0, RR_END_FINISH, &id));
    void *p = NULL;
    CHECK_OK(ferry_client_loan(c, rr_req_size(3), &p));
    rr_req_fill(p, 1, 3, 3, 0, RR_END_FINISH);
    CHECK_RC(ferry_client_send(c, p, &id), FERRY_EAGAIN);
    CHECK_EQ(ferry_client_pending(c), 2);
    ferry_call call = take_one(s, NULL);
    CHECK_OK(ferry_client_send(c, p, &id)); /* the loan stayed ours */
    CHECK_EQ(ferry_client_pending(c), 3);
    CHECK_OK(ferry_server_finish(s, call));
    for (int i = 0; i < 2; i++)
        CHECK_OK(ferry_server_finish(s, take_one(s, NULL)));
    for (int i = 0; i < 3; i++)
        take_end(c, &id);
    CHECK_EQ(ferry_client_pending(c), 0);
    ferry_client_close(c);
    ferry_server_close(s);
}

static void response_queue(ferry_node *node)
{
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.response_queue = 2;
    ferry_server *s = rr_server_open(node, "rr/lim-respq", &o);
    ferry_client *c = rr_client_open(node, "rr/lim-respq", &o);
    uint64_t id;
    CHECK_OK(rr_send(c, 1, 1, 5, RR_END_FINISH, &id));
    ferry_call call = take_one(s, NULL);
    CHECK_OK(ferry_server_respond_copy(s, call, "r0", 2, 0));
    CHECK_OK(ferry_server_respond_copy(s, call, "r1", 2, 0));
    void *p = NULL;
    CHECK_OK(ferry_server_loan(s, call, 2, &p));
    memcpy(p, "r2", 2);
    CHECK_RC(ferry_server_respond(s, call, p, 0), FERRY_EAGAIN);
    /* respond_copy and finish meet the same full queue; the call goes on. */
    CHECK_RC(ferry_server_respond_copy(s, call, "rX", 2, 0), FERRY_EAGAIN);
    CHECK_RC(ferry_server_finish(s, call), FERRY_EAGAIN);
    void *q = NULL;
    CHECK_OK(ferry_server_loan(s, call, 2, &q)); /* max_loans 2: p and q, so respond_copy kept none */
    ferry_server_discard(s, q);
    CHECK_LAST_ERROR(FERRY_OK);

    const void *resp;
    size_t size;
    int last;
    uint64_t got;
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK(got == id && size == 2 && memcmp(resp, "r0", 2) == 0 && last == 0);
    ferry_client_release(c, resp);
    CHECK_OK(ferry_server_respond(s, call, p, 0)); /* the kept loan */
    CHECK_RC(ferry_server_finish(s, call), FERRY_EAGAIN);
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK(got == id && size == 2 && memcmp(resp, "r1", 2) == 0 && last == 0);
    ferry_client_release(c, resp);
    CHECK_OK(ferry_server_finish(s, call));
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK(got == id && size == 2 && memcmp(resp, "r2", 2) == 0 && last == 0);
    ferry_client_release(c, resp);
    take_end(c, &got);
    CHECK_EQ(got, id);
    CHECK_EQ(ferry_client_pending(c), 0);
    ferry_client_close(c);
    ferry_server_close(s);
}

static void port_limits(const char *domain, ferry_node *node)
{
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.max_clients = 2;
    o.max_servers = 1;
    ferry_client *c1 = rr_client_open(node, "rr/lim-ports", &o);
    ferry_client *c2 = rr_client_open(node, "rr/lim-ports", &o);
    ferry_client *c3 = (ferry_client *)&o;
    CHECK_RC(ferry_client_open(&c3, node, "rr/lim-ports", &o), FERRY_ELIMIT);
    CHECK(c3 == NULL);
    ferry_server *s1 = rr_server_open(node, "rr/lim-ports", &o);
    ferry_server *s2 = (ferry_server *)&o;
    CHECK_RC(ferry_server_open(&s2, node, "rr/lim-ports", &o), FERRY_ELIMIT);
    CHECK(s2 == NULL);
    rr_counts k = rr_service_counts(domain, "rr/lim-ports");
    CHECK_EQ(k.found, 1);
    CHECK_EQ(k.pattern, FERRY_PATTERN_REQRES);
    CHECK_EQ(k.clients, 2);
    CHECK_EQ(k.servers, 1);
    /* A freed slot is taken again, and works. */
    ferry_client_close(c2);
    c3 = rr_client_open(node, "rr/lim-ports", &o);
    ferry_server_close(s1);
    ferry_server *s3 = rr_server_open(node, "rr/lim-ports", &o);
    uint64_t id;
    CHECK_OK(rr_send(c3, 1, 1, 0, RR_END_FINISH, &id));
    CHECK_OK(ferry_server_finish(s3, take_one(s3, NULL)));
    take_end(c3, &id);
    ferry_client_close(c1);
    ferry_client_close(c3);
    ferry_server_close(s3);
}

static void borrowed_and_loans(ferry_node *node)
{
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.max_borrowed = 2;
    ferry_server *s = rr_server_open(node, "rr/lim-borrowed", &o);
    ferry_client *c = rr_client_open(node, "rr/lim-borrowed", &o);
    uint64_t id;
    for (uint64_t seq = 1; seq <= 3; seq++)
        CHECK_OK(rr_send(c, 1, seq, 0, RR_END_FINISH, &id));
    ferry_call a = take_one(s, NULL), b = take_one(s, NULL), x;
    const void *req;
    size_t size;
    ft_sleep_ms(5);
    CHECK_RC(ferry_server_take(s, &x, &req, &size), FERRY_ELIMIT);
    CHECK_MSG(strstr(ferry_last_error_message(), "max_borrowed") != NULL, "message: %s", ferry_last_error_message());
    CHECK_OK(ferry_server_finish(s, a));
    ferry_call d = take_one(s, NULL);

    /* Server loans: max_loans (2) per server. */
    void *l1, *l2, *l3;
    CHECK_OK(ferry_server_loan(s, b, 8, &l1));
    CHECK_OK(ferry_server_loan(s, d, 8, &l2));
    CHECK_RC(ferry_server_loan(s, b, 8, &l3), FERRY_ELIMIT);
    memcpy(l1, "b-first-", 8);
    memcpy(l2, "d-first-", 8);
    CHECK_OK(ferry_server_respond(s, b, l1, 0));
    CHECK_OK(ferry_server_respond(s, d, l2, 0));
    CHECK_OK(ferry_server_respond_copy(s, b, "b-second", 8, 0));

    /* Client responses held: max_borrowed (2). */
    const void *r1, *r2, *r3;
    uint64_t g1, g2, g3;
    int last;
    take_end(c, &g1); /* the end of call a, no payload: nothing held */
    CHECK_OK(rr_client_take_wait(c, &g1, &r1, &size, &last, FT_WAIT_MS));
    CHECK_OK(rr_client_take_wait(c, &g2, &r2, &size, &last, FT_WAIT_MS));
    CHECK_RC(ferry_client_take(c, &g3, &r3, &size, &last), FERRY_ELIMIT);
    ferry_client_release(c, r1);
    CHECK_OK(rr_client_take_wait(c, &g3, &r3, &size, &last, FT_WAIT_MS));
    ferry_client_release(c, r2);
    ferry_client_release(c, r3);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_server_finish(s, b));
    CHECK_OK(ferry_server_finish(s, d));
    take_end(c, &id);
    take_end(c, &id);
    CHECK_EQ(ferry_client_pending(c), 0);

    /* Client loans: max_loans (2). */
    void *p1, *p2, *p3;
    CHECK_OK(ferry_client_loan(c, 8, &p1));
    CHECK_OK(ferry_client_loan(c, 8, &p2));
    CHECK_RC(ferry_client_loan(c, 8, &p3), FERRY_ELIMIT);
    ferry_client_discard(c, p1);
    ferry_client_discard(c, p2);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_client_close(c);
    ferry_server_close(s);
}

int main(void)
{
    ft_init("reqres_limits_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrlimits");
    ferry_node *node = ft_node_open(domain, "limits");
    max_pending(node);
    request_queue(node);
    response_queue(node);
    port_limits(domain, node);
    borrowed_and_loans(node);
    rr_finish_domain(domain, node);
    return rr_pass();
}
