/*
 * limits_test: configured limits give FERRY_ELIMIT, and freeing a slot
 * makes room again.
 *  - max_publishers / max_subscribers: per service, across nodes; closing a
 *    port frees its slot; the service listing counts the slots in use;
 *  - max_loans: the next loan fails, a send or discard makes room;
 *  - max_borrowed: the next take fails without losing the sample, a release
 *    makes room.
 */
#include "ferry_test.h"
#include "payload.h"

#include <string.h>

struct counts {
    const char *name;
    uint32_t publishers, subscribers;
    int found;
};

static int count_slots(const ferry_service_info *info, void *user)
{
    struct counts *c = user;
    if (strcmp(info->name, c->name) == 0) {
        c->found++;
        c->publishers = info->publishers;
        c->subscribers = info->subscribers;
    }
    return 0;
}

static struct counts slots(const char *domain, const char *service)
{
    struct counts c = {service, 0, 0, 0};
    CHECK_OK(ferry_service_list(domain, count_slots, &c));
    CHECK_EQ(c.found, 1);
    return c;
}

static void port_limits(const char *domain, ferry_node *n1, ferry_node *n2)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_publishers = 2;
    o.max_subscribers = 3;

    ferry_pub *p[3] = {NULL, NULL, NULL};
    CHECK_OK(ferry_pub_open(&p[0], n1, "ports", &o));
    CHECK_OK(ferry_pub_open(&p[1], n2, "ports", &o));
    CHECK_RC(ferry_pub_open(&p[2], n1, "ports", &o), FERRY_ELIMIT);
    CHECK(strlen(ferry_last_error_message()) > 0);
    CHECK_RC(ferry_pub_open(&p[2], n2, "ports", &o), FERRY_ELIMIT);
    CHECK_EQ(slots(domain, "ports").publishers, 2);
    ferry_pub_close(p[0]);
    CHECK_EQ(slots(domain, "ports").publishers, 1);
    CHECK_OK(ferry_pub_open(&p[2], n2, "ports", &o));
    CHECK_RC(ferry_pub_open(&p[0], n1, "ports", &o), FERRY_ELIMIT);

    ferry_sub *s[4] = {NULL, NULL, NULL, NULL};
    CHECK_OK(ferry_sub_open(&s[0], n1, "ports", &o));
    CHECK_OK(ferry_sub_open(&s[1], n2, "ports", &o));
    CHECK_OK(ferry_sub_open(&s[2], n1, "ports", &o));
    CHECK_RC(ferry_sub_open(&s[3], n2, "ports", &o), FERRY_ELIMIT);
    CHECK_RC(ferry_sub_open(&s[3], n1, "ports", &o), FERRY_ELIMIT);
    struct counts c = slots(domain, "ports");
    CHECK_EQ(c.subscribers, 3);
    CHECK_EQ(c.publishers, 2);
    ferry_sub_close(s[1]);
    CHECK_EQ(slots(domain, "ports").subscribers, 2);
    CHECK_OK(ferry_sub_open(&s[3], n1, "ports", &o));

    /* The ports that exist work. */
    CHECK_OK(ferry_pub_send_copy(p[1], "one", 4));
    CHECK_OK(ferry_pub_send_copy(p[2], "two", 4));
    ferry_sub *live[] = {s[0], s[2], s[3]};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 2; k++) {
            const void *x = NULL;
            size_t size = 0;
            CHECK_OK(ft_take_wait(live[i], &x, &size, FT_WAIT_MS));
            CHECK_EQ(size, 4);
            ferry_sub_release(live[i], x);
        }
    }
    ferry_pub_close(p[1]);
    ferry_pub_close(p[2]);
    for (int i = 0; i < 3; i++)
        ferry_sub_close(live[i]);
}

static void loan_limit(ferry_node *node)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_loans = 3;
    o.queue_capacity = 8;
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "loans", &o));
    CHECK_OK(ferry_sub_open(&sub, node, "loans", &o));
    void *l[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        CHECK_OK(ferry_pub_loan(pub, 16, &l[i]));
    CHECK_RC(ferry_pub_loan(pub, 16, &l[3]), FERRY_ELIMIT);
    CHECK(strlen(ferry_last_error_message()) > 0);
    CHECK_RC(ferry_pub_send_copy(pub, "copy", 4), FERRY_ELIMIT);
    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 3);
    ferry_pub_discard(pub, l[0]);
    CHECK_OK(ferry_pub_loan(pub, 16, &l[0]));
    CHECK_RC(ferry_pub_loan(pub, 16, &l[3]), FERRY_ELIMIT);
    CHECK_OK(ferry_pub_send(pub, l[1]));
    CHECK_OK(ferry_pub_loan(pub, 16, &l[3]));
    CHECK_OK(ferry_pub_send(pub, l[0]));
    CHECK_OK(ferry_pub_send(pub, l[2]));
    CHECK_OK(ferry_pub_send(pub, l[3]));
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.loans, 0);
    CHECK_EQ(ps.sent, 4);
    for (int i = 0; i < 4; i++) {
        const void *x = NULL;
        CHECK_OK(ft_take_wait(sub, &x, NULL, FT_WAIT_MS));
        ferry_sub_release(sub, x);
    }
    ferry_pub_close(pub);
    ferry_sub_close(sub);
}

static void borrow_limit(ferry_node *node)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_borrowed = 2;
    o.queue_capacity = 8;
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "borrowed", &o));
    CHECK_OK(ferry_sub_open(&sub, node, "borrowed", &o));
    for (uint64_t s = 1; s <= 4; s++) {
        void *p = NULL;
        CHECK_OK(ferry_pub_loan(pub, 64, &p));
        ft_payload_fill(p, 64, ferry_pub_id(pub), s);
        CHECK_OK(ferry_pub_send(pub, p));
    }
    const void *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(ft_take_wait(sub, &a, NULL, FT_WAIT_MS));
    CHECK_OK(ft_take_wait(sub, &b, NULL, FT_WAIT_MS));
    CHECK_RC(ferry_sub_take(sub, &c, NULL), FERRY_ELIMIT);
    CHECK(strlen(ferry_last_error_message()) > 0);
    CHECK_RC(ferry_sub_take(sub, &c, NULL), FERRY_ELIMIT);
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.borrowed, 2);
    CHECK_EQ(ss.received, 2);
    ferry_sub_release(sub, a);
    /* The refused takes lost nothing: 3 and 4 are still queued. */
    CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), 3);
    ferry_sub_release(sub, b);
    CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), 4);
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.borrowed, 0);
    CHECK_EQ(ss.received, 4);
    CHECK_EQ(ss.lost, 0);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
}

int main(void)
{
    ft_init("limits_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "limits");
    ferry_node *n1 = ft_node_open(domain, "one");
    ferry_node *n2 = ft_node_open(domain, "two");
    port_limits(domain, n1, n2);
    loan_limit(n1);
    borrow_limit(n2);
    ferry_node_close(n1);
    ferry_node_close(n2);
    ft_check_no_shm(domain);
    return ft_pass();
}
