/*
 * reqres_many_test: three client processes and two server processes on one
 * service, all calls at once.
 *  - every client completes its 400 calls, each with exactly one response
 *    (checked content, tag of the client, sequence, call id; no response
 *    for a call that is not open);
 *  - the servers together served exactly 1200 calls (none twice, none lost),
 *    no invalid request, no disconnection;
 *  - for every client, what each server says it served for that client
 *    equals what the client counted from that server (the right client);
 *  - requests spread over both servers: each served at least a quarter of
 *    all calls, and every client was answered by both.
 * Then, in this process, round robin itself: with two servers that take
 * nothing, six requests alternate between them; with request_queue 2 and
 * both queues full, the next send is FERRY_EAGAIN; once one server took a
 * request, the next send goes to that server (the only one with room).
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "rr/many"
#define NCLIENTS 3
#define NSERVERS 2
#define NCALLS 400

static void round_robin(ferry_node *node)
{
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.request_queue = 3;
    ferry_server *a = rr_server_open(node, "rr/rr", &o);
    ferry_server *b = rr_server_open(node, "rr/rr", &o);
    ferry_client *c = rr_client_open(node, "rr/rr", &o);
    uint64_t ids[7];
    for (uint64_t seq = 1; seq <= 6; seq++)
        CHECK_OK(rr_send(c, 1, seq, 0, RR_END_LAST, &ids[seq]));
    /* Which server got seq 1 decides the pattern: the other gets 2, and so on. */
    ferry_call call;
    const void *req;
    size_t size;
    ferry_server *first = a, *second = b;
    int rc = ferry_server_take(a, &call, &req, &size);
    if (rc == FERRY_EAGAIN) {
        first = b;
        second = a;
        rc = ferry_server_take(b, &call, &req, &size);
    }
    CHECK_OK(rc);
    uint64_t got[2][3];
    got[0][0] = ((const struct rr_req *)req)->seq;
    CHECK_OK(ferry_server_finish(first, call));
    for (int i = 1; i < 3; i++) {
        CHECK_OK(ferry_server_take(first, &call, &req, &size));
        got[0][i] = ((const struct rr_req *)req)->seq;
        CHECK_OK(ferry_server_finish(first, call));
    }
    for (int i = 0; i < 3; i++) {
        CHECK_OK(ferry_server_take(second, &call, &req, &size));
        got[1][i] = ((const struct rr_req *)req)->seq;
        CHECK_OK(ferry_server_finish(second, call));
    }
    CHECK_RC(ferry_server_take(first, &call, &req, &size), FERRY_EAGAIN);
    CHECK_RC(ferry_server_take(second, &call, &req, &size), FERRY_EAGAIN);
    printf("round robin: first server got %llu %llu %llu, second %llu %llu %llu\n",
           (unsigned long long)got[0][0], (unsigned long long)got[0][1], (unsigned long long)got[0][2],
           (unsigned long long)got[1][0], (unsigned long long)got[1][1], (unsigned long long)got[1][2]);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(got[0][i], 1 + 2 * i);
        CHECK_EQ(got[1][i], 2 + 2 * i);
    }
    /* Drain the end-of-stream markers. */
    for (int i = 0; i < 6; i++) {
        uint64_t id;
        const void *resp;
        size_t rsize;
        int last;
        CHECK_OK(rr_client_take_wait(c, &id, &resp, &rsize, &last, FT_WAIT_MS));
        CHECK(resp == NULL && rsize == 0 && last == 1);
    }
    CHECK_EQ(ferry_client_pending(c), 0);

    /* Full queues: FERRY_EAGAIN; then only the server with room gets it. */
    for (uint64_t seq = 1; seq <= 6; seq++)
        CHECK_OK(rr_send(c, 1, 10 + seq, 0, RR_END_LAST, &ids[seq]));
    CHECK_RC(rr_send(c, 1, 20, 0, RR_END_LAST, NULL), FERRY_EAGAIN);
    CHECK_OK(ferry_server_take(b, &call, &req, &size));
    ferry_call held_b = call;
    uint64_t id20 = 0;
    CHECK_OK(rr_send(c, 1, 20, 0, RR_END_LAST, &id20));
    CHECK_RC(rr_send(c, 1, 21, 0, RR_END_LAST, NULL), FERRY_EAGAIN);
    CHECK_OK(ferry_server_finish(b, held_b));
    int found = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_OK(ferry_server_take(b, &call, &req, &size));
        if (((const struct rr_req *)req)->seq == 20)
            found++;
        CHECK_OK(ferry_server_finish(b, call));
    }
    CHECK_MSG(found == 1, "the request sent when only server b had room did not reach server b");
    ferry_client_close(c);
    ferry_server_close(a);
    ferry_server_close(b);
}

int main(void)
{
    ft_init("reqres_many_test", 25);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrmany");
    char line[1024], words[512];
    ferry_reqres_opts o;
    rr_opts_default(&o);
    rr_opts_format(&o, words, sizeof words);

    ft_peer servers[NSERVERS], clients[NCLIENTS];
    for (int i = 0; i < NSERVERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "server-%d", i);
        rr_peer_start(&servers[i], domain, name);
        ft_peer_ok(&servers[i], line, sizeof line, "server %s %s", SERVICE, words);
        ft_peer_ok(&servers[i], line, sizeof line, "serve %d", 101 + i);
    }
    for (int i = 0; i < NCLIENTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "client-%d", i);
        rr_peer_start(&clients[i], domain, name);
        ft_peer_ok(&clients[i], line, sizeof line, "client %s %s", SERVICE, words);
    }
    uint64_t t0 = ft_now_ns();
    for (int i = 0; i < NCLIENTS; i++)
        ft_peer_send(&clients[i], "calls %d %d 0 %d 8 15000", NCALLS, 1 + i, RR_END_LAST);
    char creply[NCLIENTS][1024];
    for (int i = 0; i < NCLIENTS; i++) {
        const char *r = rr_peer_later_ok(&clients[i], line, sizeof line, 20000);
        snprintf(creply[i], sizeof creply[i], "%s", r);
        printf("client %d: %s\n", 1 + i, r);
    }
    printf("%d calls in %.1f ms\n", NCLIENTS * NCALLS, rr_ms_since(t0));
    char sreply[NSERVERS][1024];
    for (int i = 0; i < NSERVERS; i++) {
        const char *r = ft_peer_ok(&servers[i], line, sizeof line, "stop");
        snprintf(sreply[i], sizeof sreply[i], "%s", r);
        printf("server %d: %s\n", 101 + i, r);
    }

    long long total = 0;
    for (int s = 0; s < NSERVERS; s++) {
        long long served = rr_reply_field(sreply[s], "served");
        CHECK_EQ(rr_reply_field(sreply[s], "bad"), 0);
        CHECK_EQ(rr_reply_field(sreply[s], "disc"), 0);
        CHECK_EQ(rr_reply_field(sreply[s], "held"), 0);
        CHECK_EQ(rr_reply_field(sreply[s], "responses"), served);
        CHECK_EQ(rr_reply_sum(sreply[s], "clients", NULL), served);
        CHECK_MSG(served >= NCLIENTS * NCALLS / 4, "server %d served %lld of %d calls: not spread", 101 + s, served,
                  NCLIENTS * NCALLS);
        total += served;
    }
    CHECK_EQ(total, NCLIENTS * NCALLS);
    for (int c = 0; c < NCLIENTS; c++) {
        CHECK_EQ(rr_reply_field(creply[c], "calls"), NCALLS);
        CHECK_EQ(rr_reply_field(creply[c], "responses"), NCALLS);
        int ntags = 0;
        CHECK_EQ(rr_reply_sum(creply[c], "servers", &ntags), NCALLS);
        CHECK_MSG(ntags == NSERVERS, "client %d was answered by %d servers", 1 + c, ntags);
        long long by_servers = 0;
        for (int s = 0; s < NSERVERS; s++) {
            long long from_client = rr_reply_count(creply[c], "servers", (uint64_t)(101 + s));
            long long from_server = rr_reply_count(sreply[s], "clients", (uint64_t)(1 + c));
            CHECK_MSG(from_client == from_server, "client %d counted %lld answers of server %d, which served %lld",
                      1 + c, from_client, 101 + s, from_server);
            by_servers += from_server;
        }
        CHECK_EQ(by_servers, NCALLS);
    }

    for (int i = 0; i < NCLIENTS; i++)
        ft_peer_finish(&clients[i]);
    for (int i = 0; i < NSERVERS; i++)
        ft_peer_finish(&servers[i]);

    ferry_node *node = ft_node_open(domain, "rr");
    round_robin(node);
    rr_finish_domain(domain, node);
    return rr_pass();
}
