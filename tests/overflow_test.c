/*
 * overflow_test: what happens when a subscriber queue is full.
 *  DROP_OLDEST:
 *  - the publisher never waits; a subscriber that does not take keeps the
 *    newest queue_capacity samples; ferry_sub_stats.lost counts the dropped
 *    ones; a fast subscriber of the same service loses nothing;
 *  - a taken (borrowed) sample stays intact while its queue overflows.
 *  BLOCK:
 *  - ferry_pub_try_send returns FERRY_EAGAIN when a queue is full, delivers
 *    to nobody, and the caller keeps the loan (it can retry or discard);
 *  - ferry_pub_send waits until the subscriber makes room, then delivers;
 *  - nothing is lost; without subscribers nothing waits.
 */
#include "ferry_test.h"
#include "payload.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static void send_seq(ferry_pub *pub, uint64_t seq)
{
    void *p = NULL;
    CHECK_OK(ferry_pub_loan(pub, 64, &p));
    ft_payload_fill(p, 64, ferry_pub_id(pub), seq);
    CHECK_OK(ferry_pub_send(pub, p));
}

static void expect_seq(ferry_sub *sub, uint64_t seq)
{
    uint64_t got = ft_recv_checked(sub, FT_WAIT_MS);
    CHECK_MSG(got == seq, "received sequence %llu, expected %llu", (unsigned long long)got,
              (unsigned long long)seq);
}

static void expect_empty(ferry_sub *sub)
{
    const void *p = NULL;
    CHECK_RC(ferry_sub_take(sub, &p, NULL), FERRY_EAGAIN);
}

static void drop_oldest(ferry_node *node)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 64;
    o.queue_capacity = 4;
    o.overflow = FERRY_OVERFLOW_DROP_OLDEST;
    ferry_pub *pub = NULL;
    ferry_sub *slow = NULL, *fast = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "drop", &o));
    CHECK_OK(ferry_sub_open(&slow, node, "drop", &o));
    CHECK_OK(ferry_sub_open(&fast, node, "drop", &o));

    uint64_t t0 = ft_now_ns();
    for (uint64_t s = 1; s <= 10; s++) {
        send_seq(pub, s);
        expect_seq(fast, s);
    }
    CHECK_MSG(ft_now_ns() - t0 < 2000000000u, "DROP_OLDEST sends should not wait");
    for (uint64_t s = 7; s <= 10; s++)
        expect_seq(slow, s);
    expect_empty(slow);
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(slow, &ss));
    CHECK_EQ(ss.lost, 6);
    CHECK_EQ(ss.received, 4);
    CHECK_OK(ferry_sub_stats_get(fast, &ss));
    CHECK_EQ(ss.lost, 0);
    CHECK_EQ(ss.received, 10);

    /* A borrowed sample survives its queue overflowing. */
    send_seq(pub, 11);
    send_seq(pub, 12);
    const void *held = NULL;
    size_t held_size = 0;
    CHECK_OK(ft_take_wait(slow, &held, &held_size, FT_WAIT_MS));
    for (uint64_t s = 13; s <= 40; s++)
        send_seq(pub, s);
    uint64_t seq = 0;
    CHECK_MSG(ft_payload_check(held, held_size, NULL, &seq), "a taken sample was overwritten");
    CHECK_EQ(seq, 11);
    for (uint64_t s = 37; s <= 40; s++)
        expect_seq(slow, s);
    expect_empty(slow);
    CHECK(ft_payload_check(held, held_size, NULL, &seq) && seq == 11);
    ferry_sub_release(slow, held);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_sub_stats_get(slow, &ss));
    /* Queue [12] after the take; 13..15 fill it; 16..40 each drop one: 12..36. */
    CHECK_EQ(ss.lost, 6 + 25);
    ferry_pub_close(pub);
    ferry_sub_close(slow);
    ferry_sub_close(fast);
}

struct taker {
    ferry_sub *sub;
    unsigned delay_ms;
    atomic_int taken;
    uint64_t seq;
};

static void *take_later(void *arg)
{
    struct taker *t = arg;
    ft_sleep_ms(t->delay_ms);
    t->seq = ft_recv_checked(t->sub, FT_WAIT_MS);
    atomic_store(&t->taken, 1);
    return NULL;
}

static void block(ferry_node *node)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 64;
    o.queue_capacity = 2;
    o.overflow = FERRY_OVERFLOW_BLOCK;
    ferry_pub *pub = NULL;
    ferry_sub *slow = NULL, *fast = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "block", &o));

    /* No subscriber: nothing to wait for. */
    for (int i = 0; i < 50; i++)
        CHECK_OK(ferry_pub_send_copy(pub, "nobody", 6));

    CHECK_OK(ferry_sub_open(&slow, node, "block", &o));
    CHECK_OK(ferry_sub_open(&fast, node, "block", &o));
    send_seq(pub, 51);
    send_seq(pub, 52);
    expect_seq(fast, 51);
    expect_seq(fast, 52);

    /* slow's queue is full: try_send refuses, delivers to nobody, keeps the loan. */
    void *p = NULL;
    CHECK_OK(ferry_pub_loan(pub, 64, &p));
    ft_payload_fill(p, 64, ferry_pub_id(pub), 53);
    CHECK_RC(ferry_pub_try_send(pub, p), FERRY_EAGAIN);
    CHECK_RC(ferry_pub_try_send(pub, p), FERRY_EAGAIN);
    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 1);
    CHECK_EQ(ps.sent, 52);
    ft_sleep_ms(10);
    expect_empty(fast);
    memset(p, 0, 64); /* still ours to write */
    ft_payload_fill(p, 64, ferry_pub_id(pub), 53);

    /* Room again: the same loan goes out. */
    expect_seq(slow, 51);
    CHECK_OK(ferry_pub_try_send(pub, p));
    expect_seq(fast, 53);
    expect_seq(slow, 52);
    expect_seq(slow, 53);

    /* A refused loan can also be discarded. */
    send_seq(pub, 54);
    send_seq(pub, 55);
    expect_seq(fast, 54);
    expect_seq(fast, 55);
    CHECK_OK(ferry_pub_loan(pub, 64, &p));
    CHECK_RC(ferry_pub_try_send(pub, p), FERRY_EAGAIN);
    ferry_clear_error();
    ferry_pub_discard(pub, p);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 0);

    /* send waits until the slow subscriber takes (from another thread). */
    struct taker t = {slow, 300, 0, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, take_later, &t) == 0);
    uint64_t t0 = ft_now_ns();
    send_seq(pub, 56);
    uint64_t waited_ms = (ft_now_ns() - t0) / 1000000u;
    CHECK_MSG(atomic_load(&t.taken) || waited_ms >= 250,
              "ferry_pub_send returned after %llu ms, before the queue had room",
              (unsigned long long)waited_ms);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ(t.seq, 54);
    expect_seq(fast, 56);
    expect_seq(slow, 55);
    expect_seq(slow, 56);
    expect_empty(slow);
    expect_empty(fast);

    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(slow, &ss));
    CHECK_EQ(ss.lost, 0);
    CHECK_EQ(ss.received, 6);
    CHECK_OK(ferry_sub_stats_get(fast, &ss));
    CHECK_EQ(ss.lost, 0);
    CHECK_EQ(ss.received, 6);
    ferry_pub_close(pub);
    ferry_sub_close(slow);
    ferry_sub_close(fast);
}

int main(void)
{
    ft_init("overflow_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "overflow");
    ferry_node *node = ft_node_open(domain, "overflow");
    drop_oldest(node);
    block(node);
    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
