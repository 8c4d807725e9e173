/*
 * multiprocess_test: publish-subscribe between processes (the peer helper is
 * a separate executable).
 *  - peer publisher -> our subscriber, BLOCK overflow, 3000 samples: every
 *    sequence 1..3000 in order, payloads intact, publisher_id as the peer
 *    reports it, timestamps (CLOCK_MONOTONIC of the peer) within the time of
 *    the exchange;
 *  - our publisher -> peer subscriber: everything arrives;
 *  - history across processes: the peer publisher's ferry_pub_update
 *    delivers the last H samples to our late subscriber;
 *  - node and service listings show the peer's node (pid, alive) and ports;
 *  - ferry_cleanup removes nothing of a live process, which keeps working;
 *  - after the peer exits its node and ports are gone and nothing is left.
 */
#include "ferry_test.h"
#include "payload.h"
#include "peer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct find_node {
    long pid;
    int found;
    ferry_node_info info;
};

static int on_node(const ferry_node_info *info, void *user)
{
    struct find_node *f = user;
    if (info->pid == f->pid) {
        f->found++;
        f->info = *info;
    }
    return 0;
}

struct find_service {
    const char *name;
    int found;
    ferry_service_info info;
};

static int on_service(const ferry_service_info *info, void *user)
{
    struct find_service *f = user;
    if (strcmp(info->name, f->name) == 0) {
        f->found++;
        f->info = *info;
    }
    return 0;
}

int main(void)
{
    ft_init("multiprocess_test", 30);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "multiproc");
    ferry_node *node = ft_node_open(domain, "local");
    char line[1024];

    ft_peer peer;
    ft_peer_start(&peer, domain);
    const char *r = ft_peer_ok(&peer, line, sizeof line, "node remote");
    unsigned long long peer_node_id = 0;
    long peer_pid = 0;
    CHECK(sscanf(r, "%llu %ld", &peer_node_id, &peer_pid) == 2);
    CHECK_EQ(peer_pid, peer.pid);
    CHECK(peer_node_id != ferry_node_id(node));

    /* ---- peer publishes, we subscribe (BLOCK: nothing may be lost) ---- */
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 512;
    o.queue_capacity = 8;
    o.overflow = FERRY_OVERFLOW_BLOCK;
    o.timestamps = 1; /* the peer's samples carry its clock */
    char opts_text[512];
    ft_opts_format(&o, opts_text, sizeof opts_text);
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "mp/data", &o));
    r = ft_peer_ok(&peer, line, sizeof line, "pub mp/data %s", opts_text);
    unsigned long long peer_pub_id = 0;
    CHECK(sscanf(r, "%llu", &peer_pub_id) == 1 && peer_pub_id != 0);

    /* Listings see the other process. */
    struct find_node fn;
    memset(&fn, 0, sizeof fn);
    fn.pid = peer.pid;
    CHECK_OK(ferry_node_list(domain, on_node, &fn));
    CHECK_EQ(fn.found, 1);
    CHECK_EQ(fn.info.id, peer_node_id);
    CHECK_EQ(fn.info.alive, 1);
    CHECK(strcmp(fn.info.name, "remote") == 0);
    struct find_service fs;
    memset(&fs, 0, sizeof fs);
    fs.name = "mp/data";
    CHECK_OK(ferry_service_list(domain, on_service, &fs));
    CHECK_EQ(fs.found, 1);
    CHECK_EQ(fs.info.publishers, 1);
    CHECK_EQ(fs.info.subscribers, 1);

    const uint64_t n = 3000;
    uint64_t t_start = ft_now_ns();
    ft_peer_send(&peer, "send %" PRIu64 " 200", n);
    for (uint64_t s = 1; s <= n; s++) {
        const void *p = NULL;
        size_t size = 0;
        int rc = ft_take_wait(sub, &p, &size, FT_WAIT_MS);
        CHECK_MSG(rc == FERRY_OK, "sample %" PRIu64 " of %" PRIu64 " did not arrive: %d (%s)", s, n, rc,
                  ferry_strerror(rc));
        ferry_sample_info info;
        CHECK_OK(ferry_sub_sample_info(sub, p, &info));
        uint64_t tag = 0, seq = 0;
        CHECK_MSG(ft_payload_check(p, size, &tag, &seq), "corrupt sample %" PRIu64, s);
        CHECK_MSG(info.sequence == s, "got sequence %" PRIu64 ", expected %" PRIu64, info.sequence, s);
        CHECK_EQ(seq, s);
        CHECK_EQ(size, 200);
        CHECK_EQ(info.size, 200);
        CHECK_EQ(info.publisher_id, peer_pub_id);
        CHECK_EQ(tag, peer_pub_id);
        uint64_t now = ft_now_ns();
        CHECK_MSG(info.timestamp_ns >= t_start && info.timestamp_ns <= now,
                  "timestamp %" PRIu64 " outside [%" PRIu64 ", %" PRIu64 "]", info.timestamp_ns, t_start, now);
        ferry_sub_release(sub, p);
    }
    ft_peer_reply(&peer, line, sizeof line, FT_WAIT_MS);
    CHECK_MSG(strcmp(line, "ok 3000") == 0, "peer: %s", line);
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.received, n);
    CHECK_EQ(ss.lost, 0);
    CHECK_EQ(ss.publishers, 1);
    r = ft_peer_ok(&peer, line, sizeof line, "pubstats");
    CHECK_MSG(strcmp(r, " 3000 1 0") == 0, "peer publisher stats:%s", r);

    /* ferry_cleanup leaves a live process alone. */
    unsigned removed = 99;
    CHECK_OK(ferry_cleanup(domain, &removed));
    CHECK_EQ(removed, 0);
    fn.found = 0;
    CHECK_OK(ferry_node_list(domain, on_node, &fn));
    CHECK_EQ(fn.found, 1);
    CHECK_EQ(fn.info.alive, 1);
    ft_peer_send(&peer, "send 5 200");
    for (uint64_t s = n + 1; s <= n + 5; s++)
        CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), s);
    ft_peer_reply(&peer, line, sizeof line, FT_WAIT_MS);
    CHECK_MSG(strcmp(line, "ok 3005") == 0, "peer: %s", line);

    /* ---- we publish, the peer subscribes ---- */
    ferry_pubsub_opts o2;
    ferry_pubsub_opts_init(&o2);
    o2.max_payload = 1024;
    o2.queue_capacity = 128;
    ft_opts_format(&o2, opts_text, sizeof opts_text);
    ft_peer_ok(&peer, line, sizeof line, "sub mp/back %s", opts_text);
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "mp/back", &o2));
    for (uint64_t s = 1; s <= 100; s++) {
        void *p = NULL;
        size_t size = ft_payload_size(s, FT_PAYLOAD_MIN, 1024);
        CHECK_OK(ferry_pub_loan(pub, size, &p));
        ft_payload_fill(p, size, ferry_pub_id(pub), s);
        CHECK_OK(ferry_pub_send(pub, p));
    }
    r = ft_peer_ok(&peer, line, sizeof line, "recv 100");
    CHECK_MSG(strcmp(r, " 100 1 100") == 0, "peer received:%s", r);
    r = ft_peer_ok(&peer, line, sizeof line, "substats");
    CHECK_MSG(strcmp(r, " 100 0 1 0") == 0, "peer subscriber stats:%s", r);
    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.subscribers, 1);
    CHECK_EQ(ps.sent, 100);

    /* ---- history across processes ---- */
    ft_peer_finish(&peer);
    ft_peer_start(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "node historian");
    ferry_pubsub_opts oh;
    ferry_pubsub_opts_init(&oh);
    oh.max_payload = 128;
    oh.history = 4;
    oh.queue_capacity = 8;
    ft_opts_format(&oh, opts_text, sizeof opts_text);
    r = ft_peer_ok(&peer, line, sizeof line, "pub mp/hist %s", opts_text);
    CHECK(sscanf(r, "%llu", &peer_pub_id) == 1);
    r = ft_peer_ok(&peer, line, sizeof line, "send 10 100");
    ferry_sub *late = NULL;
    CHECK_OK(ferry_sub_open(&late, node, "mp/hist", &oh));
    ft_peer_ok(&peer, line, sizeof line, "update");
    for (uint64_t s = 7; s <= 10; s++) {
        uint64_t got = ft_recv_checked(late, FT_WAIT_MS);
        CHECK_MSG(got == s, "history: got %" PRIu64 ", expected %" PRIu64, got, s);
    }
    const void *p = NULL;
    CHECK_RC(ferry_sub_take(late, &p, NULL), FERRY_EAGAIN);
    ft_peer_ok(&peer, line, sizeof line, "send 1 100");
    CHECK_EQ(ft_recv_checked(late, FT_WAIT_MS), 11);

    /* ---- the peer leaves ---- */
    ft_peer_finish(&peer);
    fn.found = 0;
    CHECK_OK(ferry_node_list(domain, on_node, &fn));
    CHECK_EQ(fn.found, 0);
    fs.name = "mp/hist";
    fs.found = 0;
    CHECK_OK(ferry_service_list(domain, on_service, &fs));
    if (fs.found)
        CHECK_EQ(fs.info.publishers, 0);

    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
