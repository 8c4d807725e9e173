/*
 * sub_wait_test: blocking receive (ferry_sub_wait, ferry_sub_fd), which is
 * where FERRY_ETIMEDOUT and FERRY_EDISCONNECTED come from.
 *  - wait returns FERRY_OK at once when a sample is queued, FERRY_ETIMEDOUT
 *    after about the timeout when none comes (0: only checks), FERRY_EINVAL
 *    for a NULL subscriber or a negative timeout other than FERRY_FOREVER;
 *  - a waiting thread wakes when a sample is sent from another thread;
 *  - a publisher that closes is reported once as FERRY_EDISCONNECTED, after
 *    its queued samples were taken; a publisher process killed with SIGKILL
 *    too, within about the liveness period;
 *  - ferry_sub_fd is readable while samples are queued, not when empty.
 */
#include "ferry_test.h"
#include "payload.h"
#include "peer.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000ll

struct delayed_send {
    ferry_pub *pub;
    unsigned delay_ms;
};

static void *send_later(void *arg)
{
    struct delayed_send *d = arg;
    ft_sleep_ms(d->delay_ms);
    CHECK_OK(ferry_pub_send_copy(d->pub, "wake", 5));
    return NULL;
}

static int fd_readable(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, timeout_ms);
    CHECK(rc >= 0);
    return rc > 0 && (p.revents & POLLIN);
}

static void drain(ferry_sub *sub)
{
    const void *p = NULL;
    while (ferry_sub_take(sub, &p, NULL) == FERRY_OK)
        ferry_sub_release(sub, p);
}

int main(void)
{
    ft_init("sub_wait_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "subwait");
    ferry_node *node = ft_node_open(domain, "waiter");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.queue_capacity = 8;
    ferry_sub *sub = NULL;
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "wait/data", &o));
    CHECK_OK(ferry_pub_open(&pub, node, "wait/data", &o));

    /* Arguments. */
    CHECK_RC(ferry_sub_wait(NULL, 0), FERRY_EINVAL);
    CHECK_RC(ferry_sub_wait(sub, -2), FERRY_EINVAL);
    CHECK_RC(ferry_sub_fd(NULL), FERRY_EINVAL);
    ferry_wait_opts wo;
    memset(&wo, 0x5a, sizeof wo);
    ferry_wait_opts_init(&wo);
    CHECK_EQ(wo.spin_ns, 0);
    CHECK_EQ(wo.liveness_ns, 100 * MS);
    CHECK_OK(ferry_sub_set_wait_opts(sub, NULL));
    CHECK_RC(ferry_sub_set_wait_opts(NULL, &wo), FERRY_EINVAL);

    /* Timeouts. */
    uint64_t t0 = ft_now_ns();
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
    CHECK(strlen(ferry_last_error_message()) > 0);
    CHECK_RC(ferry_sub_wait(sub, 50 * MS), FERRY_ETIMEDOUT);
    uint64_t waited = ft_now_ns() - t0;
    CHECK_MSG(waited >= 45 * (uint64_t)MS && waited < 2000 * (uint64_t)MS, "a 50 ms wait took %llu ns",
              (unsigned long long)waited);

    /* Something queued: at once. */
    CHECK_OK(ferry_pub_send_copy(pub, "now", 4));
    t0 = ft_now_ns();
    CHECK_OK(ferry_sub_wait(sub, 5000 * MS));
    CHECK_OK(ferry_sub_wait(sub, 0));
    CHECK(ft_now_ns() - t0 < 1000 * (uint64_t)MS);
    const void *p = NULL;
    CHECK_OK(ferry_sub_take(sub, &p, NULL));
    CHECK(strcmp(p, "now") == 0);
    ferry_sub_release(sub, p);

    /* Woken by another thread's send. */
    struct delayed_send d = {pub, 100};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, send_later, &d) == 0);
    t0 = ft_now_ns();
    CHECK_OK(ferry_sub_wait(sub, 5000 * MS));
    waited = ft_now_ns() - t0;
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_MSG(waited >= 80 * (uint64_t)MS, "woke after %llu ns, before the send", (unsigned long long)waited);
    CHECK_OK(ferry_sub_take(sub, &p, NULL));
    CHECK(strcmp(p, "wake") == 0);
    ferry_sub_release(sub, p);

    /* The fd. */
    int fd = ferry_sub_fd(sub);
    CHECK_MSG(fd >= 0, "ferry_sub_fd gave %d", fd);
    CHECK(!fd_readable(fd, 0));
    CHECK_OK(ferry_pub_send_copy(pub, "fd", 3));
    CHECK_MSG(fd_readable(fd, 2000), "the fd did not become readable");
    drain(sub);
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
    CHECK_MSG(!fd_readable(fd, 0), "the fd is readable with nothing queued");

    /* A publisher that closes: its samples first, then one EDISCONNECTED. */
    CHECK_OK(ferry_pub_send_copy(pub, "last1", 6));
    CHECK_OK(ferry_pub_send_copy(pub, "last2", 6));
    ferry_pub_close(pub);
    CHECK_OK(ferry_sub_wait(sub, 1000 * MS));
    drain(sub);
    CHECK_RC(ferry_sub_wait(sub, 1000 * MS), FERRY_EDISCONNECTED);
    CHECK(strlen(ferry_last_error_message()) > 0);
    CHECK_RC(ferry_sub_wait(sub, 20 * MS), FERRY_ETIMEDOUT);

    /* A publisher process that is killed. */
    char line[1024];
    ft_peer peer;
    ft_peer_start(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "node doomed");
    char opts_text[512];
    ft_opts_format(&o, opts_text, sizeof opts_text);
    ft_peer_ok(&peer, line, sizeof line, "pub wait/data %s", opts_text);
    ft_peer_ok(&peer, line, sizeof line, "send 1 64");
    CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), 1);
    ft_peer_kill(&peer);
    t0 = ft_now_ns();
    int rc = ferry_sub_wait(sub, 5000 * MS);
    waited = ft_now_ns() - t0;
    CHECK_MSG(rc == FERRY_EDISCONNECTED, "waiting on a killed publisher gave %d (%s) after %llu ms", rc,
              ferry_strerror(rc), (unsigned long long)(waited / (uint64_t)MS));
    CHECK_MSG(waited < 2000 * (uint64_t)MS, "the killed publisher was reported after %llu ms",
              (unsigned long long)(waited / (uint64_t)MS));
    CHECK_RC(ferry_sub_wait(sub, 20 * MS), FERRY_ETIMEDOUT);

    CHECK_OK(ferry_cleanup(domain, NULL));
    ferry_node_close(node);
    ft_check_no_shm(domain);
    return ft_pass();
}
