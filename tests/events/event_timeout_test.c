/*
 * event_timeout_test: timeouts of ferry_sub_wait, ferry_listener_wait and
 * ferry_waitset_wait.
 *  - with nothing coming, 20 ms and 100 ms timeouts return FERRY_ETIMEDOUT
 *    after at least the timeout and at most 200 ms later (loaded CI);
 *  - the liveness probe does not end a wait early: 250 ms with the default
 *    100 ms probe, and 100 ms with a 1 ms probe, both last the full time;
 *  - spinning counts against the timeout: spin 50 ms with a 20 ms timeout
 *    returns after ~20 ms; spin 5 ms with 100 ms sleeps the rest;
 *  - timeout 0 only checks: FERRY_ETIMEDOUT at once when nothing is there,
 *    FERRY_OK at once when a sample / an event is pending (and what is
 *    pending is then collected); the listener's try_wait says FERRY_EAGAIN;
 *  - bad timeouts (-2) and bad wait options are FERRY_EINVAL.
 */
#include "ev_support.h"

#include <stdio.h>

#define SLACK_MS 200.0

static void check_elapsed(const char *what, double ms, double timeout_ms)
{
    CHECK_MSG(ms >= timeout_ms, "%s returned after %.3f ms, before its %.0f ms timeout", what, ms, timeout_ms);
    CHECK_MSG(ms <= timeout_ms + SLACK_MS, "%s returned after %.1f ms, %.0f ms timeout", what, ms, timeout_ms);
}

static void sub_timeout(ferry_sub *sub, unsigned ms)
{
    uint64_t t0 = ft_now_ns();
    CHECK_RC(ferry_sub_wait(sub, (int64_t)ms * 1000000), FERRY_ETIMEDOUT);
    check_elapsed("ferry_sub_wait", ev_ms_since(t0), ms);
    CHECK_LAST_ERROR(FERRY_ETIMEDOUT);
}

static void listener_timeout(ferry_listener *l, unsigned ms)
{
    uint32_t ids[4] = {99, 99, 99, 99};
    size_t n = 77;
    uint64_t t0 = ft_now_ns();
    CHECK_RC(ferry_listener_wait(l, ids, 4, &n, (int64_t)ms * 1000000), FERRY_ETIMEDOUT);
    check_elapsed("ferry_listener_wait", ev_ms_since(t0), ms);
    CHECK_EQ(n, 0);
}

static int never(const ferry_event_info *e, void *user)
{
    (void)e;
    (void)user;
    CHECK_MSG(0, "a callback ran although nothing was ready");
    return 0;
}

static void waitset_timeout(ferry_waitset *ws, unsigned ms)
{
    unsigned fired = 99;
    uint64_t t0 = ft_now_ns();
    CHECK_RC(ferry_waitset_wait(ws, (int64_t)ms * 1000000, never, NULL, &fired), FERRY_ETIMEDOUT);
    check_elapsed("ferry_waitset_wait", ev_ms_since(t0), ms);
    CHECK_EQ(fired, 0);
}

int main(void)
{
    ft_init("event_timeout_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evtimeout");
    ferry_node *node = ft_node_open(domain, "local");

    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "to/sub", NULL));
    ferry_pub *pub = NULL; /* connected, but silent */
    CHECK_OK(ferry_pub_open(&pub, node, "to/sub", NULL));
    CHECK_OK(ferry_pub_update(pub));
    ferry_event_opts eo = ev_event_opts(63);
    ferry_listener *lis = NULL;
    CHECK_OK(ferry_listener_open(&lis, node, "to/ev", &eo));
    ferry_notifier *nt = NULL;
    CHECK_OK(ferry_notifier_open(&nt, node, "to/ev", &eo));
    /* Opening the publisher / notifier is not "something to take". */
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);

    /* ---- plain timeouts ----------------------------------------------------- */
    for (int i = 0; i < 3; i++) {
        sub_timeout(sub, 20);
        listener_timeout(lis, 20);
    }
    sub_timeout(sub, 100);
    listener_timeout(lis, 100);

    /* ---- the liveness probe does not end the wait --------------------------- */
    sub_timeout(sub, 250);
    listener_timeout(lis, 250);
    ev_sub_wait_opts(sub, 0, 1000000); /* probe every 1 ms */
    ev_listener_wait_opts(lis, 0, 1000000);
    sub_timeout(sub, 100);
    listener_timeout(lis, 100);

    /* ---- spinning counts against the timeout -------------------------------- */
    ev_sub_wait_opts(sub, 50000000, 100000000);
    ev_listener_wait_opts(lis, 50000000, 100000000);
    sub_timeout(sub, 20);
    listener_timeout(lis, 20);
    ev_sub_wait_opts(sub, 5000000, 100000000);
    ev_listener_wait_opts(lis, 5000000, 100000000);
    sub_timeout(sub, 100);
    listener_timeout(lis, 100);
    CHECK_OK(ferry_sub_set_wait_opts(sub, NULL));
    CHECK_OK(ferry_listener_set_wait_opts(lis, NULL));

    /* ---- timeout 0 = try ----------------------------------------------------- */
    uint64_t t0 = ft_now_ns();
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
    uint32_t ids[8];
    size_t n = 5;
    CHECK_RC(ferry_listener_wait(lis, ids, 8, &n, 0), FERRY_ETIMEDOUT);
    CHECK_EQ(n, 0);
    CHECK_RC(ferry_listener_try_wait(lis, ids, 8, &n), FERRY_EAGAIN);
    CHECK_EQ(n, 0);
    double ms = ev_ms_since(t0);
    CHECK_MSG(ms < 50.0, "three zero-timeout checks took %.1f ms", ms);

    CHECK_OK(ferry_pub_send_copy(pub, "x", 1));
    CHECK_OK(ferry_notifier_notify(nt, 9));
    t0 = ft_now_ns();
    CHECK_OK(ferry_sub_wait(sub, 0));
    CHECK_OK(ferry_sub_wait(sub, 0)); /* waiting does not consume */
    CHECK_OK(ferry_listener_wait(lis, ids, 8, &n, 0));
    ms = ev_ms_since(t0);
    CHECK_MSG(ms < 50.0, "zero-timeout waits with something pending took %.1f ms", ms);
    CHECK_EQ(n, 1);
    CHECK_EQ(ids[0], 9);
    CHECK_EQ(ev_drain(sub), 1);
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
    CHECK_RC(ferry_listener_wait(lis, ids, 8, &n, 0), FERRY_ETIMEDOUT);
    /* A sample that is already there is reported at once by a long wait too. */
    CHECK_OK(ferry_pub_send_copy(pub, "y", 1));
    t0 = ft_now_ns();
    CHECK_OK(ferry_sub_wait(sub, 5000000000ll));
    CHECK_MSG(ev_ms_since(t0) < 50.0, "a 5 s wait with a queued sample took %.1f ms", ev_ms_since(t0));
    CHECK_EQ(ev_drain(sub), 1);

    /* ---- wait sets ------------------------------------------------------------- */
    ferry_waitset *ws = NULL;
    CHECK_OK(ferry_waitset_open(&ws));
    ferry_attachment *as = NULL, *al = NULL;
    CHECK_OK(ferry_waitset_attach_sub(ws, sub, NULL, &as));
    CHECK_OK(ferry_waitset_attach_listener(ws, lis, NULL, &al));
    waitset_timeout(ws, 20);
    waitset_timeout(ws, 100);
    waitset_timeout(ws, 250); /* past the set's own liveness probe */
    unsigned fired = 9;
    t0 = ft_now_ns();
    CHECK_RC(ferry_waitset_wait(ws, 0, never, NULL, &fired), FERRY_ETIMEDOUT);
    CHECK_MSG(ev_ms_since(t0) < 50.0, "ferry_waitset_wait(0) took %.1f ms", ev_ms_since(t0));
    CHECK_EQ(fired, 0);
    ferry_waitset_detach(ws, as);
    ferry_waitset_detach(ws, al);
    ferry_waitset_close(ws);

    /* ---- invalid arguments -------------------------------------------------- */
    CHECK_RC(ferry_sub_wait(sub, -2), FERRY_EINVAL);
    CHECK_RC(ferry_sub_wait(NULL, 0), FERRY_EINVAL);
    CHECK_RC(ferry_listener_wait(lis, ids, 8, &n, -2), FERRY_EINVAL);
    CHECK_RC(ferry_listener_wait(lis, ids, 0, &n, 0), FERRY_EINVAL);
    ferry_wait_opts wo;
    ferry_wait_opts_init(&wo);
    CHECK_EQ(wo.spin_ns, 0);
    CHECK_EQ(wo.liveness_ns, 100000000);
    wo.spin_ns = -1;
    CHECK_RC(ferry_sub_set_wait_opts(sub, &wo), FERRY_EINVAL);
    ferry_wait_opts_init(&wo);
    wo.liveness_ns = 0;
    CHECK_RC(ferry_listener_set_wait_opts(lis, &wo), FERRY_EINVAL);

    ferry_listener_close(lis);
    ferry_notifier_close(nt);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
    ev_finish_domain(domain, node);
    return ft_pass();
}
