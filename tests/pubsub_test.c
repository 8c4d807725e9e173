/*
 * pubsub_test: publish-subscribe in one process.
 *  - a subscriber receives every sample sent after it opened, in order, intact,
 *    with sample info: sequence 1, 2, ... per publisher, timestamp_ns from
 *    CLOCK_MONOTONIC taken during the send, publisher_id == ferry_pub_id,
 *    size == the size loaned; samples sent before it opened are not received;
 *  - several subscribers each get every sample; several publishers keep their
 *    own order and sequences;
 *  - sizes 1..max_payload; payload alignment as configured (8, 64);
 *  - ferry_pub_send_copy, ferry_pub_try_send (DROP_OLDEST: always accepted),
 *    ferry_pub_discard (no delivery, no sequence used);
 *  - timestamps = 0 (a publisher option, and its default, NULL options
 *    included) leaves timestamp_ns 0;
 *  - pub/sub stats; a closed publisher's samples stay readable; closing a
 *    subscriber that holds samples; thousands of samples recycle memory.
 */
#include "ferry_test.h"
#include "payload.h"

#include <string.h>

static ferry_pubsub_opts opts_with(size_t max_payload, uint32_t q, uint32_t loans, size_t align)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = "test.Blob";
    o.max_payload = max_payload;
    o.queue_capacity = q;
    o.max_loans = loans;
    o.alignment = align;
    o.timestamps = 1; /* the checks below look at timestamp_ns */
    return o;
}

/* Loans, fills (self-checking payload with the given sequence) and sends. */
static void send_checked(ferry_pub *pub, size_t size, uint64_t seq, uint64_t *t_before, uint64_t *t_after)
{
    void *p = NULL;
    CHECK_OK(ferry_pub_loan(pub, size, &p));
    ft_payload_fill(p, size, ferry_pub_id(pub), seq);
    if (t_before)
        *t_before = ft_now_ns();
    CHECK_OK(ferry_pub_send(pub, p));
    if (t_after)
        *t_after = ft_now_ns();
}

/* ferry_sub_take_info, waiting up to FT_WAIT_MS. */
static int take_info_wait(ferry_sub *sub, const void **p, ferry_sample_info *info)
{
    int rc;
    while ((rc = ferry_sub_take_info(sub, p, info)) == FERRY_EAGAIN)
        if ((rc = ferry_sub_wait(sub, (int64_t)FT_WAIT_MS * 1000000)) != FERRY_OK)
            return rc;
    return rc;
}

/* Takes one sample and checks everything about it: odd sequence numbers
 * with ferry_sub_take_info, whose metadata must equal what
 * ferry_sub_sample_info says. */
static void expect_sample(ferry_sub *sub, const ferry_pub *from, uint64_t seq, size_t size,
                          uint64_t t_min, uint64_t t_max)
{
    const void *p = NULL;
    size_t got = 0;
    ferry_sample_info info;
    if (seq & 1) {
        ferry_sample_info taken;
        CHECK_OK(take_info_wait(sub, &p, &taken));
        CHECK_OK(ferry_sub_sample_info(sub, p, &info));
        CHECK_EQ(taken.sequence, info.sequence);
        CHECK_EQ(taken.timestamp_ns, info.timestamp_ns);
        CHECK_EQ(taken.publisher_id, info.publisher_id);
        CHECK_EQ(taken.size, info.size);
        got = taken.size;
    } else {
        CHECK_OK(ft_take_wait(sub, &p, &got, FT_WAIT_MS));
        CHECK_OK(ferry_sub_sample_info(sub, p, &info));
    }
    uint64_t tag = 0, s = 0;
    CHECK_MSG(ft_payload_check(p, got, &tag, &s), "corrupt payload (size %zu)", got);
    CHECK_EQ(got, size);
    CHECK_EQ(info.size, size);
    CHECK_EQ(s, seq);
    CHECK_EQ(info.sequence, seq);
    CHECK_EQ(tag, ferry_pub_id(from));
    CHECK_EQ(info.publisher_id, ferry_pub_id(from));
    CHECK_MSG(info.timestamp_ns >= t_min && info.timestamp_ns <= t_max,
              "timestamp %llu outside the send [%llu, %llu]", (unsigned long long)info.timestamp_ns,
              (unsigned long long)t_min, (unsigned long long)t_max);
    ferry_sub_release(sub, p);
    CHECK_LAST_ERROR(FERRY_OK);
    /* Released: its info is gone. */
    CHECK_RC(ferry_sub_sample_info(sub, p, &info), FERRY_EINVAL);
}

static void expect_empty(ferry_sub *sub)
{
    const void *p = NULL;
    CHECK_RC(ferry_sub_take(sub, &p, NULL), FERRY_EAGAIN);
    /* An empty take_info leaves info alone. */
    ferry_sample_info info = {.sequence = 77};
    CHECK_RC(ferry_sub_take_info(sub, &p, &info), FERRY_EAGAIN);
    CHECK_EQ(info.sequence, 77);
    CHECK(p == NULL);
    CHECK_RC(ferry_sub_take_info(sub, &p, NULL), FERRY_EAGAIN);
    CHECK_RC(ferry_sub_take_info(NULL, &p, &info), FERRY_EINVAL);
}

static void basic_order_and_info(ferry_node *node)
{
    ferry_pubsub_opts o = opts_with(1024, 16, 4, 8);
    ferry_sub *sub = NULL;
    ferry_pub *pub = NULL;
    /* The subscriber creates the service. */
    CHECK_OK(ferry_sub_open(&sub, node, "basic", &o));
    CHECK_OK(ferry_pub_open(&pub, node, "basic", &o));
    expect_empty(sub);

    uint64_t t0[10], t1[10];
    for (int i = 0; i < 10; i++)
        send_checked(pub, ft_payload_size((uint64_t)i, FT_PAYLOAD_MIN, 1024), (uint64_t)i + 1, &t0[i], &t1[i]);
    for (int i = 0; i < 10; i++)
        expect_sample(sub, pub, (uint64_t)i + 1, ft_payload_size((uint64_t)i, FT_PAYLOAD_MIN, 1024),
                      t0[i], t1[i]);
    expect_empty(sub);

    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.sent, 10);
    CHECK_EQ(ps.subscribers, 1);
    CHECK_EQ(ps.loans, 0);
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.received, 10);
    CHECK_EQ(ss.lost, 0);
    CHECK_EQ(ss.publishers, 1);
    CHECK_EQ(ss.borrowed, 0);

    /* Loan bookkeeping, discard. */
    void *a = NULL, *b = NULL;
    CHECK_OK(ferry_pub_loan(pub, 100, &a));
    CHECK_OK(ferry_pub_loan(pub, 100, &b));
    CHECK(a != b);
    CHECK(((uintptr_t)a & 7u) == 0 && ((uintptr_t)b & 7u) == 0);
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 2);
    ferry_clear_error();
    ferry_pub_discard(pub, a);
    CHECK_EQ(ferry_last_error(), FERRY_OK);
    ferry_pub_discard(pub, b);
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 0);
    CHECK_EQ(ps.sent, 10);
    expect_empty(sub);

    /* A second subscriber gets only what is sent after it opened; a discard
     * used no sequence number. */
    ferry_sub *late = NULL;
    CHECK_OK(ferry_sub_open(&late, node, "basic", &o));
    uint64_t b0, b1;
    send_checked(pub, 40, 11, &b0, &b1);
    expect_sample(sub, pub, 11, 40, b0, b1);
    expect_sample(late, pub, 11, 40, b0, b1);
    expect_empty(late);
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.subscribers, 2);

    /* try_send with DROP_OLDEST is always accepted, like send. */
    void *t = NULL;
    CHECK_OK(ferry_pub_loan(pub, 64, &t));
    ft_payload_fill(t, 64, ferry_pub_id(pub), 12);
    b0 = ft_now_ns();
    CHECK_OK(ferry_pub_try_send(pub, t));
    b1 = ft_now_ns();
    expect_sample(sub, pub, 12, 64, b0, b1);
    expect_sample(late, pub, 12, 64, b0, b1);

    /* send_copy. */
    char text[] = "the quick brown fox";
    CHECK_OK(ferry_pub_send_copy(pub, text, sizeof text));
    const void *p = NULL;
    size_t size = 0;
    CHECK_OK(ft_take_wait(late, &p, &size, FT_WAIT_MS));
    CHECK_EQ(size, sizeof text);
    CHECK(memcmp(p, text, sizeof text) == 0);
    ferry_sample_info info;
    CHECK_OK(ferry_sub_sample_info(late, p, &info));
    CHECK_EQ(info.sequence, 13);
    ferry_sub_release(late, p);

    /* Closing a subscriber that holds a sample and has one queued. */
    CHECK_OK(ft_take_wait(sub, &p, &size, FT_WAIT_MS));
    CHECK_OK(ferry_pub_send_copy(pub, text, 4));
    ferry_sub_close(sub);
    CHECK_OK(ferry_pub_update(pub));
    CHECK_OK(ferry_pub_send_copy(pub, text, 5));
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.subscribers, 1);
    CHECK_OK(ft_take_wait(late, &p, &size, FT_WAIT_MS));
    CHECK_EQ(size, 4);
    ferry_sub_release(late, p);
    CHECK_OK(ft_take_wait(late, &p, &size, FT_WAIT_MS));
    CHECK_EQ(size, 5);
    ferry_sub_release(late, p);

    /* A closed publisher's samples stay readable. */
    send_checked(pub, 200, 16, &b0, &b1);
    uint64_t c0, c1;
    send_checked(pub, 300, 17, &c0, &c1);
    ferry_pub_close(pub);
    const void *x = NULL, *y = NULL;
    size_t xs = 0, ys = 0;
    CHECK_OK(ft_take_wait(late, &x, &xs, FT_WAIT_MS));
    CHECK_OK(ft_take_wait(late, &y, &ys, FT_WAIT_MS));
    uint64_t sx = 0, sy = 0;
    CHECK(ft_payload_check(x, xs, NULL, &sx) && sx == 16);
    CHECK(ft_payload_check(y, ys, NULL, &sy) && sy == 17);
    ferry_sub_release(late, y);
    /* The closed publisher's queue is empty now; x is still taken and must
     * stay readable while the subscriber notices the publisher is gone. */
    expect_empty(late);
    expect_empty(late);
    CHECK(ft_payload_check(x, xs, NULL, &sx) && sx == 16);
    ferry_sub_release(late, x);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_sub_stats ss2;
    CHECK_OK(ferry_sub_stats_get(late, &ss2));
    CHECK_EQ(ss2.publishers, 0);
    CHECK_EQ(ss2.borrowed, 0);
    ferry_sub_close(late);
}

static void many_publishers_and_subscribers(ferry_node *node)
{
    ferry_pubsub_opts o = opts_with(128, 64, 2, 8);
    ferry_pub *pubs[3] = {NULL, NULL, NULL};
    ferry_sub *subs[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        CHECK_OK(ferry_sub_open(&subs[i], node, "fan/in/out", &o));
    for (int i = 0; i < 3; i++)
        CHECK_OK(ferry_pub_open(&pubs[i], node, "fan/in/out", &o));
    CHECK(ferry_pub_id(pubs[0]) != ferry_pub_id(pubs[1]));
    CHECK(ferry_pub_id(pubs[1]) != ferry_pub_id(pubs[2]));
    CHECK(ferry_pub_id(pubs[0]) != ferry_pub_id(pubs[2]));

    /* Interleaved: 0, 1, 2, 0, 1, 2, ... (pub 2 sends half as often). */
    uint64_t sent[3] = {0, 0, 0};
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 3; i++) {
            if (i == 2 && round % 2)
                continue;
            sent[i]++;
            send_checked(pubs[i], 32 + (size_t)i, sent[i], NULL, NULL);
        }
    }
    for (int s = 0; s < 3; s++) {
        uint64_t next[3] = {1, 1, 1};
        uint64_t total = sent[0] + sent[1] + sent[2];
        for (uint64_t k = 0; k < total; k++) {
            const void *p = NULL;
            size_t size = 0;
            CHECK_OK(ft_take_wait(subs[s], &p, &size, FT_WAIT_MS));
            ferry_sample_info info;
            CHECK_OK(ferry_sub_sample_info(subs[s], p, &info));
            int from = -1;
            for (int i = 0; i < 3; i++)
                if (info.publisher_id == ferry_pub_id(pubs[i]))
                    from = i;
            CHECK_MSG(from >= 0, "unknown publisher id %llu", (unsigned long long)info.publisher_id);
            uint64_t seq = 0, tag = 0;
            CHECK(ft_payload_check(p, size, &tag, &seq));
            CHECK_EQ(tag, info.publisher_id);
            CHECK_EQ(size, 32 + (size_t)from);
            CHECK_MSG(info.sequence == next[from], "subscriber %d: publisher %d sequence %llu, expected %llu",
                      s, from, (unsigned long long)info.sequence, (unsigned long long)next[from]);
            CHECK_EQ(seq, info.sequence);
            next[from]++;
            ferry_sub_release(subs[s], p);
        }
        expect_empty(subs[s]);
        ferry_sub_stats ss;
        CHECK_OK(ferry_sub_stats_get(subs[s], &ss));
        CHECK_EQ(ss.publishers, 3);
        CHECK_EQ(ss.received, total);
    }
    for (int i = 0; i < 3; i++) {
        ferry_pub_close(pubs[i]);
        ferry_sub_close(subs[i]);
    }
}

static void sizes_and_alignment(ferry_node *node)
{
    ferry_pubsub_opts o = opts_with(4096, 4, 2, 64);
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "sizes", &o));
    CHECK_OK(ferry_sub_open(&sub, node, "sizes", &o));
    const size_t sizes[] = {1, 2, 7, 8, 63, 64, 65, 1000, 4095, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = NULL;
        CHECK_OK(ferry_pub_loan(pub, sizes[i], (void **)&p));
        CHECK_MSG(((uintptr_t)p & 63u) == 0, "loan %p not aligned to 64", (void *)p);
        for (size_t k = 0; k < sizes[i]; k++)
            p[k] = (unsigned char)(k * 13u + i);
        CHECK_OK(ferry_pub_send(pub, p));
        const unsigned char *q = NULL;
        size_t size = 0;
        CHECK_OK(ft_take_wait(sub, (const void **)&q, &size, FT_WAIT_MS));
        CHECK_MSG(((uintptr_t)q & 63u) == 0, "sample %p not aligned to 64", (const void *)q);
        CHECK_EQ(size, sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            CHECK(q[k] == (unsigned char)(k * 13u + i));
        ferry_sub_release(sub, q);
    }

    /* Memory is recycled: many more samples than any pool holds. */
    for (uint64_t i = 0; i < 5000; i++) {
        size_t size = ft_payload_size(i, FT_PAYLOAD_MIN, 4096);
        void *p = NULL;
        CHECK_OK(ferry_pub_loan(pub, size, &p));
        ft_payload_fill(p, size, ferry_pub_id(pub), 11 + i);
        CHECK_OK(ferry_pub_send(pub, p));
        if (i % 3 == 2) { /* let the queue fill a little between takes */
            for (int k = 0; k < 3; k++) {
                uint64_t seq = ft_recv_checked(sub, FT_WAIT_MS);
                CHECK_EQ(seq, 11 + i - 2 + (uint64_t)k);
            }
        }
    }
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.lost, 0);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
}

/* timestamps = 0: a publisher option, not part of the service; its samples
 * carry timestamp_ns 0, another publisher's still carry the time. */
static void without_timestamps(ferry_node *node)
{
    ferry_pubsub_opts o = opts_with(64, 4, 2, 8);
    ferry_pubsub_opts quiet = o;
    quiet.timestamps = 0;
    ferry_sub *sub = NULL;
    ferry_pub *stamped = NULL, *unstamped = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "stamps", &o));
    CHECK_OK(ferry_pub_open(&unstamped, node, "stamps", &quiet));
    CHECK_OK(ferry_pub_open(&stamped, node, "stamps", &o));
    uint64_t t0 = 0, t1 = 0;
    send_checked(unstamped, 40, 1, NULL, NULL);
    expect_sample(sub, unstamped, 1, 40, 0, 0);
    send_checked(stamped, 40, 1, &t0, &t1);
    expect_sample(sub, stamped, 1, 40, t0, t1);
    ferry_pub_close(stamped);
    ferry_pub_close(unstamped);
    ferry_sub_close(sub);

    /* NULL options are the defaults: no timestamps either. */
    ferry_sub *dsub = NULL;
    ferry_pub *dpub = NULL;
    CHECK_OK(ferry_sub_open(&dsub, node, "stamps/defaults", NULL));
    CHECK_OK(ferry_pub_open(&dpub, node, "stamps/defaults", NULL));
    send_checked(dpub, 40, 1, NULL, NULL);
    expect_sample(dsub, dpub, 1, 40, 0, 0);
    ferry_pub_close(dpub);
    ferry_sub_close(dsub);
}

/* ferry_sub_take_info fills info also when the take first has to let go of
 * a departed publisher: the round robin reaches p1's empty connection (p1
 * closed with a sample queued, which was then read) before p2's sample. */
static void take_info_after_departure(ferry_node *node)
{
    ferry_pubsub_opts o = opts_with(256, 4, 2, 8);
    ferry_sub *sub = NULL;
    ferry_pub *p1 = NULL, *p2 = NULL, *p3 = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "departure", &o));
    CHECK_OK(ferry_pub_open(&p1, node, "departure", &o));
    CHECK_OK(ferry_pub_open(&p2, node, "departure", &o));
    CHECK_OK(ferry_pub_open(&p3, node, "departure", &o));
    uint64_t p1_id = ferry_pub_id(p1);
    const void *q = NULL;
    ferry_sample_info info;
    send_checked(p1, 64, 1, NULL, NULL);
    ferry_pub_close(p1); /* its sample is still queued: it stays readable */
    CHECK_OK(take_info_wait(sub, &q, &info));
    CHECK_EQ(info.publisher_id, p1_id);
    ferry_sub_release(sub, q);
    /* A sample of p3's: the round robin then starts again at p1's slot. */
    send_checked(p3, 64, 1, NULL, NULL);
    CHECK_OK(take_info_wait(sub, &q, &info));
    CHECK_EQ(info.publisher_id, ferry_pub_id(p3));
    ferry_sub_release(sub, q);
    send_checked(p2, 80, 1, NULL, NULL);
    ferry_sample_info fresh = {.sequence = 999, .publisher_id = 999, .size = 999};
    CHECK_OK(take_info_wait(sub, &q, &fresh));
    CHECK_EQ(fresh.publisher_id, ferry_pub_id(p2));
    CHECK_EQ(fresh.sequence, 1);
    CHECK_EQ(fresh.size, 80);
    ferry_sub_release(sub, q);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_pub_close(p2);
    ferry_pub_close(p3);
    ferry_sub_close(sub);
}

int main(void)
{
    ft_init("pubsub_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "pubsub");
    ferry_node *node = ft_node_open(domain, "pubsub");

    /* A publisher without subscribers sends into the void. */
    ferry_pub *lonely = NULL;
    CHECK_OK(ferry_pub_open(&lonely, node, "nobody/listens", NULL));
    for (int i = 0; i < 20; i++)
        CHECK_OK(ferry_pub_send_copy(lonely, "x", 1));
    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_stats_get(lonely, &ps));
    CHECK_EQ(ps.sent, 20);
    CHECK_EQ(ps.subscribers, 0);
    ferry_pub_close(lonely);

    basic_order_and_info(node);
    many_publishers_and_subscribers(node);
    sizes_and_alignment(node);
    without_timestamps(node);
    take_info_after_departure(node);

    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
