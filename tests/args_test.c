/*
 * args_test: bad input is refused with FERRY_EINVAL (and a message), and
 * leaves the ports usable.
 *  - NULL handles / out-pointers / callbacks for every function that takes them;
 *  - ferry_pubsub_opts_init defaults; bad options: alignment not a power of
 *    two or above 4096, max_payload 0, over-long type name, zero queue or
 *    port limits, an unknown overflow policy;
 *  - loan of size 0 or above max_payload (max_payload itself works);
 *  - send / try_send / discard of a pointer that is not a loan of this
 *    publisher (stack memory, inside a loan, another publisher's loan, a loan
 *    already sent); a failed send leaves the real loans intact;
 *  - release of a pointer that is not a taken sample (stack memory, double
 *    release, another subscriber's sample, inside a sample): void, sets
 *    ferry_last_error() to FERRY_EINVAL; a good release sets FERRY_OK;
 *  - ferry_sub_sample_info of a pointer that is not taken;
 *  - NULL is a no-op for the close functions, 0 for ferry_pub_id.
 */
#include "ferry_test.h"

#include <stdio.h>
#include <string.h>

static int count_cb(const ferry_service_info *info, void *user)
{
    (void)info;
    ++*(int *)user;
    return 0;
}

static void expect_bad_opts(ferry_node *node, const char *service, const ferry_pubsub_opts *opts,
                            const char *what)
{
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    int rc = ferry_pub_open(&pub, node, service, opts);
    CHECK_MSG(rc == FERRY_EINVAL, "pub with %s gave %d (%s)", what, rc, ferry_strerror(rc));
    CHECK(strlen(ferry_last_error_message()) > 0);
    rc = ferry_sub_open(&sub, node, service, opts);
    CHECK_MSG(rc == FERRY_EINVAL, "sub with %s gave %d (%s)", what, rc, ferry_strerror(rc));
}

int main(void)
{
    ft_init("args_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "args");

    /* Defaults of the pub/sub options. */
    ferry_pubsub_opts o;
    memset(&o, 0x5a, sizeof o);
    ferry_pubsub_opts_init(&o);
    CHECK(o.type_name == NULL || strcmp(o.type_name, "bytes") == 0);
    CHECK_EQ(o.max_payload, 4096);
    CHECK_EQ(o.alignment, 8);
    CHECK_EQ(o.history, 0);
    CHECK_EQ(o.queue_capacity, 4);
    CHECK_EQ(o.max_publishers, 4);
    CHECK_EQ(o.max_subscribers, 8);
    CHECK_EQ(o.max_loans, 2);
    CHECK_EQ(o.max_borrowed, 2);
    CHECK_EQ(o.overflow, FERRY_OVERFLOW_DROP_OLDEST);
    CHECK_EQ(o.timestamps, 0);

    ferry_node *node = ft_node_open(domain, "args");
    ferry_pub *pub = NULL, *pub2 = NULL;
    ferry_sub *sub = NULL, *sub2 = NULL;

    /* NULL arguments of the open functions. */
    CHECK_RC(ferry_pub_open(NULL, node, "s", NULL), FERRY_EINVAL);
    CHECK_RC(ferry_pub_open(&pub, NULL, "s", NULL), FERRY_EINVAL);
    CHECK_RC(ferry_pub_open(&pub, node, NULL, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_sub_open(NULL, node, "s", NULL), FERRY_EINVAL);
    CHECK_RC(ferry_sub_open(&sub, NULL, "s", NULL), FERRY_EINVAL);
    CHECK_RC(ferry_sub_open(&sub, node, NULL, NULL), FERRY_EINVAL);

    /* Bad options. */
    const size_t bad_alignments[] = {3, 6, 12, 24, 100, 4097, 8192, 65536};
    for (size_t i = 0; i < sizeof bad_alignments / sizeof bad_alignments[0]; i++) {
        ferry_pubsub_opts_init(&o);
        o.alignment = bad_alignments[i];
        char what[64];
        snprintf(what, sizeof what, "alignment %zu", bad_alignments[i]);
        expect_bad_opts(node, "bad/alignment", &o, what);
    }
    ferry_pubsub_opts_init(&o);
    o.max_payload = 0;
    expect_bad_opts(node, "bad/payload", &o, "max_payload 0");
    char long_type[FERRY_TYPE_NAME_MAX + 2];
    memset(long_type, 't', sizeof long_type - 1);
    long_type[sizeof long_type - 1] = '\0';
    ferry_pubsub_opts_init(&o);
    o.type_name = long_type;
    expect_bad_opts(node, "bad/type", &o, "a 128-byte type name");
    /* Limits of zero make no service. */
    static const char *const zero_names[] = {"queue_capacity", "max_publishers", "max_subscribers", "max_loans",
                                             "max_borrowed"};
    for (int f = 0; f < 5; f++) {
        ferry_pubsub_opts_init(&o);
        uint32_t *fields[] = {&o.queue_capacity, &o.max_publishers, &o.max_subscribers, &o.max_loans,
                              &o.max_borrowed};
        *fields[f] = 0;
        char what[64];
        snprintf(what, sizeof what, "%s 0", zero_names[f]);
        expect_bad_opts(node, "bad/zero", &o, what);
    }
    ferry_pubsub_opts_init(&o);
    o.overflow = (ferry_overflow)7;
    expect_bad_opts(node, "bad/overflow", &o, "overflow 7");

    /* Nothing was created by the refused opens. */
    int services = 0;
    CHECK_OK(ferry_service_list(domain, count_cb, &services));
    CHECK_EQ(services, 0);

    /* Open a working pair. Alignment 4096 (the maximum) is valid. */
    ferry_pubsub_opts_init(&o);
    o.max_payload = 256;
    o.max_loans = 3;
    o.queue_capacity = 8;
    CHECK_OK(ferry_pub_open(&pub, node, "args/data", &o));
    CHECK_OK(ferry_pub_open(&pub2, node, "args/data", &o));
    CHECK_OK(ferry_sub_open(&sub, node, "args/data", &o));
    CHECK_OK(ferry_sub_open(&sub2, node, "args/data", &o));
    {
        ferry_pubsub_opts big = o;
        big.alignment = 4096;
        ferry_pub *p4k = NULL;
        CHECK_OK(ferry_pub_open(&p4k, node, "args/align4k", &big));
        void *x = NULL;
        CHECK_OK(ferry_pub_loan(p4k, 1, &x));
        CHECK(((uintptr_t)x & 4095u) == 0);
        ferry_pub_close(p4k);
    }

    /* NULLs on the data path. */
    void *loan = NULL;
    CHECK_RC(ferry_pub_loan(NULL, 8, &loan), FERRY_EINVAL);
    CHECK_RC(ferry_pub_loan(pub, 8, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_pub_send(NULL, loan), FERRY_EINVAL);
    CHECK_RC(ferry_pub_send(pub, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_pub_try_send(NULL, loan), FERRY_EINVAL);
    CHECK_RC(ferry_pub_try_send(pub, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_pub_send_copy(NULL, "abc", 3), FERRY_EINVAL);
    CHECK_RC(ferry_pub_send_copy(pub, NULL, 3), FERRY_EINVAL);
    CHECK_RC(ferry_pub_update(NULL), FERRY_EINVAL);
    ferry_pub_stats ps;
    CHECK_RC(ferry_pub_stats_get(NULL, &ps), FERRY_EINVAL);
    CHECK_RC(ferry_pub_stats_get(pub, NULL), FERRY_EINVAL);
    const void *taken = NULL;
    size_t size = 0;
    CHECK_RC(ferry_sub_take(NULL, &taken, &size), FERRY_EINVAL);
    CHECK_RC(ferry_sub_take(sub, NULL, &size), FERRY_EINVAL);
    ferry_sample_info info;
    CHECK_RC(ferry_sub_sample_info(NULL, &info, &info), FERRY_EINVAL);
    CHECK_RC(ferry_sub_sample_info(sub, NULL, &info), FERRY_EINVAL);
    ferry_sub_stats ss;
    CHECK_RC(ferry_sub_stats_get(NULL, &ss), FERRY_EINVAL);
    CHECK_RC(ferry_sub_stats_get(sub, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_service_list(domain, NULL, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_node_list(domain, NULL, NULL), FERRY_EINVAL);
    ferry_clear_error();
    ferry_pub_discard(NULL, &o);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_clear_error();
    ferry_pub_discard(pub, NULL);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_clear_error();
    ferry_sub_release(NULL, &o);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_clear_error();
    ferry_sub_release(sub, NULL);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    CHECK_EQ(ferry_pub_id(NULL), 0);
    CHECK(ferry_pub_id(pub) != 0);
    CHECK(ferry_pub_id(pub) != ferry_pub_id(pub2));
    ferry_pub_close(NULL);
    ferry_sub_close(NULL);

    /* Loan sizes. */
    CHECK_RC(ferry_pub_loan(pub, 0, &loan), FERRY_EINVAL);
    CHECK_RC(ferry_pub_loan(pub, 257, &loan), FERRY_EINVAL);
    CHECK_RC(ferry_pub_loan(pub, (size_t)-1, &loan), FERRY_EINVAL);
    CHECK_RC(ferry_pub_send_copy(pub, "x", 0), FERRY_EINVAL);
    {
        static char big[257];
        CHECK_RC(ferry_pub_send_copy(pub, big, sizeof big), FERRY_EINVAL);
    }
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 0);
    CHECK_EQ(ps.sent, 0);

    void *full = NULL;
    CHECK_OK(ferry_pub_loan(pub, 256, &full));
    memset(full, 0xab, 256);
    CHECK_OK(ferry_pub_loan(pub, 16, &loan));
    memset(loan, 0x11, 16);
    void *other = NULL;
    CHECK_OK(ferry_pub_loan(pub2, 16, &other));
    memset(other, 0x22, 16);

    /* Sending what is not a loan of this publisher. */
    char stack[64];
    CHECK_RC(ferry_pub_send(pub, stack), FERRY_EINVAL);
    CHECK_RC(ferry_pub_try_send(pub, stack), FERRY_EINVAL);
    CHECK_RC(ferry_pub_send(pub, (char *)loan + 1), FERRY_EINVAL);
    CHECK_RC(ferry_pub_send(pub, other), FERRY_EINVAL);
    ferry_clear_error();
    ferry_pub_discard(pub, stack);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_clear_error();
    ferry_pub_discard(pub, other);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 2);
    CHECK_EQ(ps.sent, 0);

    /* The real loans still work: nothing was sent by the failures above. */
    CHECK_RC(ferry_sub_take(sub, &taken, &size), FERRY_EAGAIN);
    CHECK_OK(ferry_pub_send(pub, full));
    CHECK_OK(ferry_pub_send(pub2, other));
    /* A loan already sent is no loan any more. */
    CHECK_RC(ferry_pub_send(pub, full), FERRY_EINVAL);
    ferry_clear_error();
    ferry_pub_discard(pub, full);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_pub_discard(pub, loan);
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 0);
    CHECK_EQ(ps.sent, 1);
    /* A discarded loan is no loan any more either. */
    CHECK_RC(ferry_pub_send(pub, loan), FERRY_EINVAL);
    ferry_clear_error();
    ferry_pub_discard(pub, loan);
    CHECK_LAST_ERROR(FERRY_EINVAL);

    /* Subscribers: take both samples (pub's, then pub2's: one per publisher). */
    const void *s1 = NULL, *s2 = NULL, *o1 = NULL;
    size_t z1 = 0, z2 = 0;
    CHECK_OK(ft_take_wait(sub, &s1, &z1, FT_WAIT_MS));
    CHECK_OK(ft_take_wait(sub, &s2, &z2, FT_WAIT_MS));
    CHECK_OK(ft_take_wait(sub2, &o1, NULL, FT_WAIT_MS));
    CHECK((z1 == 256 && z2 == 16) || (z1 == 16 && z2 == 256));

    /* sample_info of something that is not taken by this subscriber. */
    CHECK_RC(ferry_sub_sample_info(sub, stack, &info), FERRY_EINVAL);
    CHECK_RC(ferry_sub_sample_info(sub, o1, &info), FERRY_EINVAL);
    CHECK_RC(ferry_sub_sample_info(sub, s1, NULL), FERRY_EINVAL);
    CHECK_OK(ferry_sub_sample_info(sub, s1, &info));
    CHECK_EQ(info.size, z1);

    /* Releases of foreign pointers are ignored with FERRY_EINVAL. */
    ferry_clear_error();
    ferry_sub_release(sub, stack);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    CHECK(strlen(ferry_last_error_message()) > 0);
    ferry_clear_error();
    ferry_sub_release(sub, o1); /* sub2's sample */
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_clear_error();
    ferry_sub_release(sub, (const char *)s1 + 1);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.borrowed, 2);

    /* A good release reports FERRY_OK even after an earlier failure. */
    ferry_sub_release(sub, s1);
    CHECK_LAST_ERROR(FERRY_OK);
    /* Double release. */
    ferry_clear_error();
    ferry_sub_release(sub, s1);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_sub_release(sub, s2);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.borrowed, 0);
    CHECK_EQ(ss.received, 2);

    /* sub2's samples are intact after the foreign release attempt (the two
     * publishers' samples may come in either order). */
    int seen_big = 0, seen_small = 0;
    for (int i = 0; i < 2; i++) {
        if (i == 1)
            CHECK_OK(ft_take_wait(sub2, &o1, NULL, FT_WAIT_MS));
        CHECK_OK(ferry_sub_sample_info(sub2, o1, &info));
        const unsigned char *b = o1;
        if (info.size == 256) {
            CHECK(b[0] == 0xab && b[255] == 0xab);
            CHECK_EQ(info.publisher_id, ferry_pub_id(pub));
            seen_big++;
        } else {
            CHECK_EQ(info.size, 16);
            CHECK(b[0] == 0x22 && b[15] == 0x22);
            CHECK_EQ(info.publisher_id, ferry_pub_id(pub2));
            seen_small++;
        }
        ferry_sub_release(sub2, o1);
        CHECK_LAST_ERROR(FERRY_OK);
    }
    CHECK(seen_big == 1 && seen_small == 1);
    CHECK_RC(ferry_sub_take(sub2, &o1, &size), FERRY_EAGAIN);
    CHECK_RC(ferry_sub_take(sub, &o1, &size), FERRY_EAGAIN);

    ferry_sub_close(sub);
    ferry_sub_close(sub2);
    ferry_pub_close(pub);
    ferry_pub_close(pub2);
    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
