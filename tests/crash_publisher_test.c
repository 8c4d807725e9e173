/*
 * crash_publisher_test: a publisher process is killed with SIGKILL in the
 * middle of a tight send loop (three times).
 *  - the subscriber only ever sees intact samples (self-checking payloads,
 *    info matching the payload), with increasing sequences from the peer's
 *    publisher id, before and after the kill;
 *  - ferry_node_list reports the killed node as not alive before cleanup;
 *  - ferry_cleanup removes its objects (nothing of it is left in /dev/shm);
 *  - a sample taken before the kill stays readable through the cleanup and
 *    is released normally;
 *  - the subscriber keeps working: a new publisher's samples arrive.
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
    int alive;
};

static int on_node(const ferry_node_info *info, void *user)
{
    struct find_node *f = user;
    if (info->pid == f->pid) {
        f->found++;
        f->alive = info->alive;
    }
    return 0;
}

/* Takes one sample if there is one within timeout_ms; checks it against the
 * publisher id and the last sequence seen. Returns 1 if it took one. */
static int take_checked(ferry_sub *sub, uint64_t pub_id, uint64_t *last_seq, unsigned timeout_ms)
{
    const void *p = NULL;
    size_t size = 0;
    int rc = ft_take_wait(sub, &p, &size, timeout_ms);
    if (rc == FERRY_EAGAIN)
        return 0;
    CHECK_OK(rc);
    ferry_sample_info info;
    CHECK_OK(ferry_sub_sample_info(sub, p, &info));
    uint64_t tag = 0, seq = 0;
    CHECK_MSG(ft_payload_check(p, size, &tag, &seq), "torn or corrupt sample of %zu bytes", size);
    CHECK_EQ(info.size, size);
    CHECK_EQ(info.sequence, seq);
    CHECK_EQ(tag, pub_id);
    CHECK_EQ(info.publisher_id, pub_id);
    CHECK_MSG(seq > *last_seq, "sequence %" PRIu64 " after %" PRIu64, seq, *last_seq);
    *last_seq = seq;
    ferry_sub_release(sub, p);
    CHECK_LAST_ERROR(FERRY_OK);
    return 1;
}

int main(void)
{
    ft_init("crash_publisher_test", 30);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "crashpub");
    char line[1024], opts_text[512];

    ferry_node *node = ft_node_open(domain, "reader");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 1024;
    o.queue_capacity = 32;
    o.max_loans = 2;
    ft_opts_format(&o, opts_text, sizeof opts_text);
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "crash/pub", &o));
    int baseline = ft_shm_count(domain);

    for (int round = 0; round < 3; round++) {
        ft_peer peer;
        ft_peer_start(&peer, domain);
        ft_peer_ok(&peer, line, sizeof line, "node writer");
        const char *r = ft_peer_ok(&peer, line, sizeof line, "pub crash/pub %s", opts_text);
        unsigned long long pub_id = 0;
        CHECK(sscanf(r, "%llu", &pub_id) == 1);
        ft_peer_ok(&peer, line, sizeof line, "sendloop 1024");

        uint64_t last = 0, got = 0;
        while (got < 2000u + 1000u * (unsigned)round) {
            CHECK_MSG(take_checked(sub, pub_id, &last, FT_WAIT_MS), "the publisher stopped early");
            got++;
        }
        /* Keep one sample taken across the kill and the cleanup. */
        const void *held = NULL;
        size_t held_size = 0;
        CHECK_OK(ft_take_wait(sub, &held, &held_size, FT_WAIT_MS));
        uint64_t held_seq = 0;
        CHECK(ft_payload_check(held, held_size, NULL, &held_seq));
        CHECK(held_seq > last);
        last = held_seq;

        long pid = peer.pid;
        ft_peer_kill(&peer);

        /* Whatever was queued is intact. */
        uint64_t drained = 0;
        while (take_checked(sub, pub_id, &last, 50))
            drained++;
        CHECK_MSG(drained <= o.queue_capacity, "%" PRIu64 " samples after the kill", drained);

        struct find_node f = {pid, 0, 0};
        CHECK_OK(ferry_node_list(domain, on_node, &f));
        CHECK_EQ(f.found, 1);
        CHECK_MSG(f.alive == 0, "the killed node is listed as alive");

        unsigned removed = 0;
        CHECK_OK(ferry_cleanup(domain, &removed));
        CHECK(removed > 0);
        f.found = 0;
        CHECK_OK(ferry_node_list(domain, on_node, &f));
        CHECK_EQ(f.found, 0);
        CHECK_EQ(ft_shm_count(domain), baseline);

        /* The sample taken before the kill is still readable and releasable. */
        uint64_t seq = 0;
        CHECK_MSG(ft_payload_check(held, held_size, NULL, &seq) && seq == held_seq,
                  "a sample taken before its publisher died changed after cleanup");
        ferry_sub_release(sub, held);
        CHECK_LAST_ERROR(FERRY_OK);
    }

    /* The subscriber still works with a new publisher. */
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "crash/pub", &o));
    for (uint64_t s = 1; s <= 10; s++) {
        void *p = NULL;
        CHECK_OK(ferry_pub_loan(pub, 100, &p));
        ft_payload_fill(p, 100, ferry_pub_id(pub), s);
        CHECK_OK(ferry_pub_send(pub, p));
    }
    uint64_t last = 0;
    for (uint64_t s = 1; s <= 10; s++) {
        CHECK(take_checked(sub, ferry_pub_id(pub), &last, FT_WAIT_MS));
        CHECK_EQ(last, s);
    }
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.borrowed, 0);
    CHECK_EQ(ss.publishers, 1);

    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
