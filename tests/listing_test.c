/*
 * listing_test: ferry_service_list and ferry_node_list.
 *  - an empty domain lists nothing;
 *  - each service is listed once with its name, pattern, type name, static
 *    options (opts.type_name pointing to the info's type_name) and the
 *    publisher / subscriber slots in use, which follow opens and closes;
 *  - nodes are listed with name, id, pid, uid, alive;
 *  - a callback returning non-zero stops the listing;
 *  - other domains are not listed; closed nodes leave nothing behind.
 */
#include "ferry_test.h"

#include <string.h>
#include <unistd.h>

#define MAX_ITEMS 16

struct services {
    int calls;
    int stop_after;
    ferry_service_info items[MAX_ITEMS];
};

static int on_service(const ferry_service_info *info, void *user)
{
    struct services *s = user;
    /* The type name pointer of the options points into the info itself. */
    CHECK(info->opts.type_name == info->type_name);
    if (s->calls < MAX_ITEMS)
        s->items[s->calls] = *info;
    s->calls++;
    return s->stop_after && s->calls >= s->stop_after;
}

static const ferry_service_info *find_service(const struct services *s, const char *name)
{
    const ferry_service_info *found = NULL;
    for (int i = 0; i < s->calls && i < MAX_ITEMS; i++) {
        if (strcmp(s->items[i].name, name) == 0) {
            CHECK_MSG(found == NULL, "service %s listed twice", name);
            found = &s->items[i];
        }
    }
    CHECK_MSG(found != NULL, "service %s not listed", name);
    return found;
}

struct nodes {
    int calls;
    int stop_after;
    ferry_node_info items[MAX_ITEMS];
};

static int on_node(const ferry_node_info *info, void *user)
{
    struct nodes *n = user;
    if (n->calls < MAX_ITEMS)
        n->items[n->calls] = *info;
    n->calls++;
    return n->stop_after && n->calls >= n->stop_after;
}

static struct services list_services(const char *domain, int stop_after)
{
    struct services s;
    memset(&s, 0, sizeof s);
    s.stop_after = stop_after;
    CHECK_OK(ferry_service_list(domain, on_service, &s));
    return s;
}

static struct nodes list_nodes(const char *domain, int stop_after)
{
    struct nodes n;
    memset(&n, 0, sizeof n);
    n.stop_after = stop_after;
    CHECK_OK(ferry_node_list(domain, on_node, &n));
    return n;
}

/* A domain where nothing was ever opened: no entries (FERRY_OK, or
 * FERRY_ENOTFOUND if the library reports the domain as unknown). */
static void expect_nothing_listed(const char *domain)
{
    struct services s;
    memset(&s, 0, sizeof s);
    int rc = ferry_service_list(domain, on_service, &s);
    CHECK_MSG(rc == FERRY_OK || rc == FERRY_ENOTFOUND, "listing an empty domain gave %d", rc);
    CHECK_EQ(s.calls, 0);
    struct nodes n;
    memset(&n, 0, sizeof n);
    rc = ferry_node_list(domain, on_node, &n);
    CHECK_MSG(rc == FERRY_OK || rc == FERRY_ENOTFOUND, "listing an empty domain gave %d", rc);
    CHECK_EQ(n.calls, 0);
}

int main(void)
{
    ft_init("listing_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1], empty[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "listing");
    ft_domain(empty, "listempty");

    /* An empty domain. */
    expect_nothing_listed(empty);
    struct services s;
    struct nodes n;

    ferry_node *a = ft_node_open(domain, "lister-a");
    ferry_node *b = ft_node_open(domain, "lister-b");

    ferry_pubsub_opts imu;
    ferry_pubsub_opts_init(&imu);
    imu.type_name = "imu.Sample";
    imu.max_payload = 128;
    imu.alignment = 32;
    imu.history = 2;
    imu.queue_capacity = 6;
    imu.max_publishers = 2;
    imu.max_subscribers = 4;
    imu.max_loans = 3;
    imu.max_borrowed = 1;
    imu.overflow = FERRY_OVERFLOW_BLOCK;
    ferry_pub *pub = NULL;
    ferry_sub *s1 = NULL, *s2 = NULL, *g = NULL;
    CHECK_OK(ferry_pub_open(&pub, a, "sensors/imu", &imu));
    CHECK_OK(ferry_sub_open(&s1, a, "sensors/imu", &imu));
    CHECK_OK(ferry_sub_open(&s2, b, "sensors/imu", &imu));
    CHECK_OK(ferry_sub_open(&g, b, "sensors/gps", NULL));

    s = list_services(domain, 0);
    CHECK_EQ(s.calls, 2);
    const ferry_service_info *i1 = find_service(&s, "sensors/imu");
    CHECK_EQ(i1->pattern, FERRY_PATTERN_PUBSUB);
    CHECK(strcmp(i1->type_name, "imu.Sample") == 0);
    CHECK_EQ(i1->opts.max_payload, 128);
    CHECK_EQ(i1->opts.alignment, 32);
    CHECK_EQ(i1->opts.history, 2);
    CHECK_EQ(i1->opts.queue_capacity, 6);
    CHECK_EQ(i1->opts.max_publishers, 2);
    CHECK_EQ(i1->opts.max_subscribers, 4);
    CHECK_EQ(i1->opts.max_loans, 3);
    CHECK_EQ(i1->opts.max_borrowed, 1);
    CHECK_EQ(i1->opts.overflow, FERRY_OVERFLOW_BLOCK);
    CHECK_EQ(i1->publishers, 1);
    CHECK_EQ(i1->subscribers, 2);
    const ferry_service_info *i2 = find_service(&s, "sensors/gps");
    CHECK_EQ(i2->pattern, FERRY_PATTERN_PUBSUB);
    CHECK(strcmp(i2->type_name, "bytes") == 0);
    CHECK_EQ(i2->opts.max_payload, 4096);
    CHECK_EQ(i2->opts.alignment, 8);
    CHECK_EQ(i2->opts.history, 0);
    CHECK_EQ(i2->opts.queue_capacity, 4);
    CHECK_EQ(i2->opts.max_publishers, 4);
    CHECK_EQ(i2->opts.max_subscribers, 8);
    CHECK_EQ(i2->opts.max_loans, 2);
    CHECK_EQ(i2->opts.max_borrowed, 2);
    CHECK_EQ(i2->opts.overflow, FERRY_OVERFLOW_DROP_OLDEST);
    CHECK_EQ(i2->publishers, 0);
    CHECK_EQ(i2->subscribers, 1);

    /* Stopping early. */
    s = list_services(domain, 1);
    CHECK_EQ(s.calls, 1);

    /* Counts follow the ports. */
    ferry_sub_close(s2);
    ferry_pub *pub2 = NULL;
    CHECK_OK(ferry_pub_open(&pub2, b, "sensors/imu", &imu));
    s = list_services(domain, 0);
    i1 = find_service(&s, "sensors/imu");
    CHECK_EQ(i1->publishers, 2);
    CHECK_EQ(i1->subscribers, 1);

    /* Nodes. */
    n = list_nodes(domain, 0);
    CHECK_EQ(n.calls, 2);
    int seen_a = 0, seen_b = 0;
    for (int i = 0; i < n.calls; i++) {
        const ferry_node_info *ni = &n.items[i];
        CHECK_EQ(ni->pid, getpid());
        CHECK_EQ(ni->uid, getuid());
        CHECK_EQ(ni->alive, 1);
        if (ni->id == ferry_node_id(a)) {
            CHECK(strcmp(ni->name, "lister-a") == 0);
            seen_a++;
        } else if (ni->id == ferry_node_id(b)) {
            CHECK(strcmp(ni->name, "lister-b") == 0);
            seen_b++;
        }
    }
    CHECK(seen_a == 1 && seen_b == 1);
    n = list_nodes(domain, 1);
    CHECK_EQ(n.calls, 1);

    /* Other domains see none of it. */
    expect_nothing_listed(empty);

    /* Closing node b closes its ports. */
    ferry_node_close(b);
    s = list_services(domain, 0);
    i1 = find_service(&s, "sensors/imu");
    CHECK_EQ(i1->publishers, 1);
    CHECK_EQ(i1->subscribers, 1);
    n = list_nodes(domain, 0);
    CHECK_EQ(n.calls, 1);
    CHECK_EQ(n.items[0].id, ferry_node_id(a));

    ferry_node_close(a);
    n = list_nodes(domain, 0);
    CHECK_EQ(n.calls, 0);
    s = list_services(domain, 0);
    CHECK_EQ(s.calls, 0);
    ft_check_no_shm(domain);
    ft_check_no_shm(empty);
    return ft_pass();
}
