/*
 * history_test: late subscribers and history.
 *  - history H: a subscriber that opens after N > H sends receives the H most
 *    recent samples (in order, intact, with their original sequence and
 *    publisher id) at the publisher's next ferry_pub_update(), and nothing
 *    more on a second update;
 *  - at the next send instead of an update: the H older samples and then the
 *    new one;
 *  - fewer than H samples sent: all of them; history 0: none; more history
 *    than queue_capacity: the newest queue_capacity samples;
 *  - a subscriber that was there from the start gets no duplicates;
 *  - each publisher of a service delivers its own history.
 */
#include "ferry_test.h"
#include "payload.h"

#include <string.h>

static ferry_pubsub_opts hist_opts(uint32_t history)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 256;
    o.history = history;
    o.queue_capacity = 8;
    return o;
}

static void send_n(ferry_pub *pub, uint64_t first, uint64_t n)
{
    for (uint64_t s = first; s < first + n; s++) {
        void *p = NULL;
        size_t size = ft_payload_size(s, FT_PAYLOAD_MIN, 256);
        CHECK_OK(ferry_pub_loan(pub, size, &p));
        ft_payload_fill(p, size, ferry_pub_id(pub), s);
        CHECK_OK(ferry_pub_send(pub, p));
    }
}

/* Nothing (more) is queued. */
static void expect_nothing(ferry_sub *sub)
{
    ft_sleep_ms(10);
    const void *p = NULL;
    CHECK_RC(ferry_sub_take(sub, &p, NULL), FERRY_EAGAIN);
}

/* Receives samples first..last (inclusive) of pub, then nothing more. */
static void expect_range(ferry_sub *sub, const ferry_pub *pub, uint64_t first, uint64_t last)
{
    for (uint64_t s = first; s <= last; s++) {
        const void *p = NULL;
        size_t size = 0;
        int rc = ft_take_wait(sub, &p, &size, FT_WAIT_MS);
        CHECK_MSG(rc == FERRY_OK, "expected sample %llu of [%llu, %llu]: take gave %d (%s)",
                  (unsigned long long)s, (unsigned long long)first, (unsigned long long)last, rc,
                  ferry_strerror(rc));
        ferry_sample_info info;
        CHECK_OK(ferry_sub_sample_info(sub, p, &info));
        uint64_t seq = 0;
        CHECK(ft_payload_check(p, size, NULL, &seq));
        CHECK_MSG(info.sequence == s, "got sequence %llu, expected %llu",
                  (unsigned long long)info.sequence, (unsigned long long)s);
        CHECK_EQ(seq, s);
        CHECK_EQ(info.publisher_id, ferry_pub_id(pub));
        CHECK_EQ(info.size, size);
        ferry_sub_release(sub, p);
    }
    expect_nothing(sub);
}

int main(void)
{
    ft_init("history_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "history");
    ferry_node *node = ft_node_open(domain, "history");
    ferry_pubsub_opts o3 = hist_opts(3);

    /* Early subscriber: gets everything once, no duplicates from history. */
    ferry_sub *early = NULL;
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_sub_open(&early, node, "h3", &o3));
    CHECK_OK(ferry_pub_open(&pub, node, "h3", &o3));
    send_n(pub, 1, 6);
    CHECK_OK(ferry_pub_update(pub));
    CHECK_OK(ferry_pub_update(pub));
    expect_range(early, pub, 1, 6);

    /* Late subscriber, delivered by ferry_pub_update: the 3 most recent. */
    ferry_sub *late1 = NULL;
    CHECK_OK(ferry_sub_open(&late1, node, "h3", &o3));
    CHECK_OK(ferry_pub_update(pub));
    expect_range(late1, pub, 4, 6);
    CHECK_OK(ferry_pub_update(pub)); /* no second delivery */
    expect_nothing(late1);
    expect_nothing(early);
    send_n(pub, 7, 1);
    expect_range(early, pub, 7, 7);
    expect_range(late1, pub, 7, 7);

    /* Late subscriber, delivered by the next send: history, then the new sample. */
    ferry_sub *late2 = NULL;
    CHECK_OK(ferry_sub_open(&late2, node, "h3", &o3));
    send_n(pub, 8, 1);
    expect_range(late2, pub, 5, 8);
    expect_range(late1, pub, 8, 8);
    expect_range(early, pub, 8, 8);
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(late2, &ss));
    CHECK_EQ(ss.received, 4);
    CHECK_EQ(ss.lost, 0);
    ferry_pub_close(pub);
    ferry_sub_close(early);
    ferry_sub_close(late1);
    ferry_sub_close(late2);

    /* Fewer samples than the history holds. */
    ferry_pubsub_opts o5 = hist_opts(5);
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "h5", &o5));
    send_n(pub, 1, 2);
    CHECK_OK(ferry_sub_open(&sub, node, "h5", &o5));
    CHECK_OK(ferry_pub_update(pub));
    expect_range(sub, pub, 1, 2);
    ferry_pub_close(pub);
    ferry_sub_close(sub);

    /* No history. */
    ferry_pubsub_opts o0 = hist_opts(0);
    CHECK_OK(ferry_pub_open(&pub, node, "h0", &o0));
    send_n(pub, 1, 3);
    CHECK_OK(ferry_sub_open(&sub, node, "h0", &o0));
    CHECK_OK(ferry_pub_update(pub));
    expect_nothing(sub);
    send_n(pub, 4, 1);
    expect_range(sub, pub, 4, 4);
    ferry_pub_close(pub);
    ferry_sub_close(sub);

    /* More history than queue: the newest queue_capacity of it. */
    ferry_pubsub_opts big = hist_opts(6);
    big.queue_capacity = 3;
    CHECK_OK(ferry_pub_open(&pub, node, "h6q3", &big));
    send_n(pub, 1, 10);
    CHECK_OK(ferry_sub_open(&sub, node, "h6q3", &big));
    CHECK_OK(ferry_pub_update(pub));
    expect_range(sub, pub, 8, 10);
    ferry_pub_close(pub);
    ferry_sub_close(sub);

    /* Each publisher delivers its own history at its own update. */
    ferry_pubsub_opts o2 = hist_opts(2);
    ferry_pub *p1 = NULL, *p2 = NULL;
    CHECK_OK(ferry_pub_open(&p1, node, "h2", &o2));
    CHECK_OK(ferry_pub_open(&p2, node, "h2", &o2));
    send_n(p1, 1, 5);
    send_n(p2, 1, 3);
    CHECK_OK(ferry_sub_open(&sub, node, "h2", &o2));
    CHECK_OK(ferry_pub_update(p1));
    expect_range(sub, p1, 4, 5);
    CHECK_OK(ferry_pub_update(p2));
    expect_range(sub, p2, 2, 3);
    ferry_pub_close(p1);
    ferry_pub_close(p2);
    ferry_sub_close(sub);

    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
