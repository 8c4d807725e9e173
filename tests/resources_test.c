/*
 * resources_test: resources are given back and exhaustion fails cleanly.
 *  - ferry_node_close closes ports that still hold loans and taken samples
 *    (sanitizer builds catch leaks) and leaves nothing in /dev/shm;
 *  - opening and closing ports and nodes many times leaks no slot and no
 *    shared-memory object;
 *  - subscribers that close while holding taken and queued samples give
 *    them back to a long-lived publisher (it never runs out of loans);
 *  - a service larger than /dev/shm fails with FERRY_ENOSPC (or ENOMEM), at
 *    open or at the first loan, instead of crashing later (SIGBUS); a size
 *    that overflows size computations fails; neither leaves objects behind;
 *  - many services in one node.
 */
#include "ferry_test.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

static void close_with_everything_open(const char *domain)
{
    ferry_node *node = ft_node_open(domain, "busy");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.history = 2;
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "busy", &o));
    CHECK_OK(ferry_sub_open(&sub, node, "busy", &o));
    for (int i = 0; i < 3; i++)
        CHECK_OK(ferry_pub_send_copy(pub, "data", 4));
    const void *held = NULL;
    CHECK_OK(ft_take_wait(sub, &held, NULL, FT_WAIT_MS));
    void *loan = NULL;
    CHECK_OK(ferry_pub_loan(pub, 100, &loan));
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

static void churn(const char *domain)
{
    ferry_node *node = ft_node_open(domain, "churn");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_publishers = 1;
    o.max_subscribers = 1;
    ferry_sub *keep = NULL;
    ferry_pub *keep_pub = NULL;
    /* Keep the service alive with a second node's ports while churning. */
    ferry_node *holder = ft_node_open(domain, "holder");
    ferry_pubsub_opts wide = o;
    wide.max_publishers = 2;
    wide.max_subscribers = 2;
    CHECK_OK(ferry_sub_open(&keep, holder, "churn", &wide));
    CHECK_OK(ferry_pub_open(&keep_pub, holder, "churn/other", &o));
    int baseline = ft_shm_count(domain);
    for (int i = 0; i < 200; i++) {
        ferry_pub *pub = NULL;
        ferry_sub *sub = NULL;
        CHECK_OK(ferry_pub_open(&pub, node, "churn", &o));
        CHECK_OK(ferry_sub_open(&sub, node, "churn", &o));
        CHECK_OK(ferry_pub_send_copy(pub, "x", 1));
        const void *p = NULL;
        CHECK_OK(ft_take_wait(sub, &p, NULL, FT_WAIT_MS));
        if (i % 2)
            ferry_sub_release(sub, p);
        ferry_sub_close(sub);
        ferry_pub_close(pub);
        const void *q = NULL;
        CHECK_OK(ft_take_wait(keep, &q, NULL, FT_WAIT_MS));
        ferry_sub_release(keep, q);
        /* No segment piles up (one of a closed publisher may wait for keep). */
        CHECK(ft_shm_count(domain) <= baseline + 1);
    }
    /* The last closed publisher's segment stays while keep has its sample
     * queued; it goes once keep finds its queue empty. */
    const void *none = NULL;
    CHECK_RC(ferry_sub_take(keep, &none, NULL), FERRY_EAGAIN);
    CHECK_EQ(ft_shm_count(domain), baseline);
    for (int i = 0; i < 100; i++) {
        ferry_node *n = ft_node_open(domain, "short-lived");
        ferry_node_close(n);
    }
    CHECK_EQ(ft_shm_count(domain), baseline);
    ferry_node_close(node);
    ferry_node_close(holder);
    ft_check_no_shm(domain);
}

/* Subscribers that close while holding taken and queued samples give them
 * back: a long-lived publisher never runs out of memory to loan. */
static void closing_subscribers_give_back(const char *domain)
{
    ferry_node *node = ft_node_open(domain, "giveback");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_subscribers = 2;
    o.queue_capacity = 4;
    o.max_borrowed = 2;
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "giveback", &o));
    for (int i = 0; i < 300; i++) {
        ferry_sub *a = NULL, *b = NULL;
        CHECK_OK(ferry_sub_open(&a, node, "giveback", &o));
        CHECK_OK(ferry_sub_open(&b, node, "giveback", &o));
        for (int k = 0; k < 5; k++)
            CHECK_OK(ferry_pub_send_copy(pub, "sample", 7));
        const void *p = NULL;
        CHECK_OK(ft_take_wait(a, &p, NULL, FT_WAIT_MS));
        CHECK_OK(ft_take_wait(a, &p, NULL, FT_WAIT_MS));
        CHECK_OK(ft_take_wait(b, &p, NULL, FT_WAIT_MS));
        ferry_sub_close(a); /* holds 2, has 2 queued */
        ferry_sub_close(b); /* holds 1, has 3 queued */
    }
    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_update(pub));
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.subscribers, 0);
    CHECK_EQ(ps.loans, 0);
    CHECK_EQ(ps.sent, 1500);
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

static void too_big(const char *domain)
{
    struct statvfs vfs;
    CHECK(statvfs("/dev/shm", &vfs) == 0);
    unsigned long long shm_bytes = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
    CHECK(shm_bytes > 0);

    ferry_node *node = ft_node_open(domain, "big");
    int baseline = ft_shm_count(domain);
    /* 1 GiB samples, and more queue slots than /dev/shm can hold. */
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = (size_t)1 << 30;
    o.queue_capacity = (uint32_t)(shm_bytes / o.max_payload + 2);
    ferry_pub *pub = NULL;
    int rc = ferry_pub_open(&pub, node, "big", &o);
    if (rc == FERRY_OK) {
        /* Space may be taken at the first loan instead: it must fail there. */
        void *p = NULL;
        rc = ferry_pub_loan(pub, 1, &p);
        if (rc == FERRY_OK)
            rc = ferry_pub_send(pub, p);
        ferry_pub_close(pub);
    }
    CHECK_MSG(rc == FERRY_ENOSPC || rc == FERRY_ENOMEM,
              "a service larger than /dev/shm (%llu bytes) gave %d (%s)", shm_bytes, rc, ferry_strerror(rc));
    CHECK(strlen(ferry_last_error_message()) > 0);
    CHECK_EQ(ft_shm_count(domain), baseline);

    o.max_payload = SIZE_MAX - 4096;
    ferry_sub *sub = NULL;
    rc = ferry_sub_open(&sub, node, "huge", &o);
    CHECK_MSG(rc < 0, "max_payload SIZE_MAX-4096 was accepted");
    CHECK_EQ(ft_shm_count(domain), baseline);

    /* The node still works. */
    CHECK_OK(ferry_pub_open(&pub, node, "small", NULL));
    CHECK_OK(ferry_pub_send_copy(pub, "ok", 2));
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

static void many_services(const char *domain)
{
    ferry_node *node = ft_node_open(domain, "many");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 64;
    ferry_pub *pubs[50];
    ferry_sub *subs[50];
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof name, "many/s%02d", i);
        CHECK_OK(ferry_pub_open(&pubs[i], node, name, &o));
        CHECK_OK(ferry_sub_open(&subs[i], node, name, &o));
    }
    for (int i = 0; i < 50; i++)
        CHECK_OK(ferry_pub_send_copy(pubs[i], &i, sizeof i));
    for (int i = 0; i < 50; i++) {
        const void *p = NULL;
        size_t size = 0;
        CHECK_OK(ft_take_wait(subs[i], &p, &size, FT_WAIT_MS));
        CHECK_EQ(size, sizeof i);
        int v;
        memcpy(&v, p, sizeof v);
        CHECK_EQ(v, i);
        ferry_sub_release(subs[i], p);
    }
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

int main(void)
{
    ft_init("resources_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "resources");
    close_with_everything_open(domain);
    churn(domain);
    closing_subscribers_give_back(domain);
    too_big(domain);
    many_services(domain);
    ft_check_no_shm(domain);
    return ft_pass();
}
