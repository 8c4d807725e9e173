/*
 * restart_release_test: a sample held across a publisher restart.
 *
 * A subscriber holds a sample of publisher A; A closes and publisher B takes
 * the same slot before the subscriber takes again; the subscriber then
 * releases A's sample. That release was meant for A: it must neither free
 * one of B's chunks nor shift B's view of the return ring, so afterwards B
 * still delivers up to queue_capacity + max_borrowed to this subscriber
 * (BLOCK, queue 1, borrowed 1: with one sample held and the queue empty,
 * a try_send must succeed). Also run with the release before the restart,
 * as a control.
 */
#include "ferry_test.h"

#include <string.h>

static void scenario(const char *domain, int release_after_restart)
{
    ferry_node *n = ft_node_open(domain, "restart");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.queue_capacity = 1;
    o.max_borrowed = 1;
    o.overflow = FERRY_OVERFLOW_BLOCK;
    ferry_pub *a = NULL, *b = NULL;
    ferry_sub *s = NULL;
    const void *p = NULL, *held = NULL;
    size_t size = 0;
    int v = 1;
    CHECK_OK(ferry_pub_open(&a, n, "restart/svc", &o));
    CHECK_OK(ferry_sub_open(&s, n, "restart/svc", &o));
    CHECK_OK(ferry_pub_send_copy(a, &v, sizeof v));
    CHECK_OK(ferry_sub_take(s, &p, &size));
    ferry_sub_release(s, p);
    v = 2;
    CHECK_OK(ferry_pub_send_copy(a, &v, sizeof v));
    CHECK_OK(ferry_sub_take(s, &held, &size));
    if (!release_after_restart)
        ferry_sub_release(s, held);
    ferry_pub_close(a);
    CHECK_OK(ferry_pub_open(&b, n, "restart/svc", &o));
    if (release_after_restart) {
        ferry_clear_error();
        ferry_sub_release(s, held);
        CHECK_EQ(ferry_last_error(), FERRY_OK);
    }
    /* A few round trips with B, then hold one sample: allowed. */
    for (int i = 0; i < 3; i++) {
        v = 10 + i;
        CHECK_OK(ferry_pub_send_copy(b, &v, sizeof v));
        CHECK_OK(ferry_sub_take(s, &p, &size));
        CHECK_EQ(*(const int *)p, 10 + i);
        ferry_sub_release(s, p);
    }
    v = 20;
    CHECK_OK(ferry_pub_send_copy(b, &v, sizeof v));
    CHECK_OK(ferry_sub_take(s, &held, &size));
    /* Queue empty, one of max_borrowed held: there is room for one more. */
    void *loan = NULL;
    CHECK_OK(ferry_pub_loan(b, sizeof v, &loan));
    memcpy(loan, &v, sizeof v);
    int rc = ferry_pub_try_send(b, loan);
    CHECK_MSG(rc == FERRY_OK,
              "%s: try_send with an empty queue and one sample held returned %d (%s): a release lost a chunk",
              release_after_restart ? "release after the restart" : "control", rc, ferry_strerror(rc));
    if (rc != FERRY_OK)
        ferry_pub_discard(b, loan);
    ferry_sub_release(s, held);
    CHECK_OK(ferry_sub_take(s, &p, &size));
    ferry_sub_release(s, p);
    ferry_node_close(n);
}

int main(void)
{
    ft_init("restart_release_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "trestart");
    scenario(domain, 0);
    scenario(domain, 1);
    ft_check_no_shm(domain);
    return ft_pass();
}
