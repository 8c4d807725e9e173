/*
 * compat_test: opening an existing service checks the options.
 *  - type_name, max_payload, alignment, overflow must match exactly: any
 *    difference gives FERRY_EINCOMPATIBLE with a message naming the field,
 *    for publishers and subscribers;
 *  - history, queue_capacity, max_publishers, max_subscribers, max_loans,
 *    max_borrowed: an opener's value up to the service's is accepted, above
 *    it FERRY_EINCOMPATIBLE naming the field;
 *  - NULL options open a service created with the defaults;
 *  - refused opens change nothing (the service keeps its options and counts);
 *  - a service whose ports all closed can be created again with new options.
 */
#include "ferry_test.h"

#include <string.h>

static ferry_pubsub_opts service_opts(void)
{
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = "geo.Point3";
    o.max_payload = 512;
    o.alignment = 16;
    o.history = 4;
    o.queue_capacity = 8;
    o.max_publishers = 3;
    o.max_subscribers = 5;
    o.max_loans = 4;
    o.max_borrowed = 3;
    o.overflow = FERRY_OVERFLOW_BLOCK;
    return o;
}

static void expect_incompatible(ferry_node *node, const ferry_pubsub_opts *o, const char *field, int as_pub)
{
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    int rc = as_pub ? ferry_pub_open(&pub, node, "compat", o) : ferry_sub_open(&sub, node, "compat", o);
    CHECK_MSG(rc == FERRY_EINCOMPATIBLE, "%s open with a different %s gave %d (%s)", as_pub ? "pub" : "sub",
              field, rc, ferry_strerror(rc));
    const char *msg = ferry_last_error_message();
    CHECK_MSG(strstr(msg, field) != NULL, "the message \"%s\" does not name %s", msg, field);
}

static void expect_compatible(ferry_node *node, const ferry_pubsub_opts *o, const char *what)
{
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    int rc = ferry_pub_open(&pub, node, "compat", o);
    CHECK_MSG(rc == FERRY_OK, "pub open with %s gave %d (%s)", what, rc, ferry_strerror(rc));
    rc = ferry_sub_open(&sub, node, "compat", o);
    CHECK_MSG(rc == FERRY_OK, "sub open with %s gave %d (%s)", what, rc, ferry_strerror(rc));
    ferry_pub_close(pub);
    ferry_sub_close(sub);
}

struct check_opts {
    int found;
    ferry_service_info info;
};

static int grab(const ferry_service_info *info, void *user)
{
    struct check_opts *c = user;
    if (strcmp(info->name, "compat") == 0) {
        c->found++;
        c->info = *info;
    }
    return 0;
}

int main(void)
{
    ft_init("compat_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "compat");
    ferry_node *node = ft_node_open(domain, "compat");
    ferry_node *other = ft_node_open(domain, "other");

    const ferry_pubsub_opts base = service_opts();
    ferry_sub *owner = NULL;
    CHECK_OK(ferry_sub_open(&owner, node, "compat", &base));

    /* Exact-match fields. */
    for (int as_pub = 0; as_pub <= 1; as_pub++) {
        ferry_pubsub_opts o = base;
        o.type_name = "geo.Point2";
        expect_incompatible(other, &o, "type_name", as_pub);
        o.type_name = NULL; /* "bytes" */
        expect_incompatible(other, &o, "type_name", as_pub);
        o = base;
        o.max_payload = 511;
        expect_incompatible(other, &o, "max_payload", as_pub);
        o.max_payload = 513;
        expect_incompatible(other, &o, "max_payload", as_pub);
        o = base;
        o.alignment = 8;
        expect_incompatible(other, &o, "alignment", as_pub);
        o.alignment = 32;
        expect_incompatible(other, &o, "alignment", as_pub);
        o = base;
        o.overflow = FERRY_OVERFLOW_DROP_OLDEST;
        expect_incompatible(other, &o, "overflow", as_pub);
    }

    /* Fields where the opener may ask for less but not more. */
    static const char *const names[] = {"history",         "queue_capacity", "max_publishers",
                                        "max_subscribers", "max_loans",      "max_borrowed"};
    for (int f = 0; f < 6; f++) {
        ferry_pubsub_opts more = base, less = base;
        uint32_t *m[] = {&more.history,         &more.queue_capacity, &more.max_publishers,
                         &more.max_subscribers, &more.max_loans,      &more.max_borrowed};
        uint32_t *l[] = {&less.history,         &less.queue_capacity, &less.max_publishers,
                         &less.max_subscribers, &less.max_loans,      &less.max_borrowed};
        *m[f] += 1;
        *l[f] -= 1;
        expect_incompatible(other, &more, names[f], 1);
        expect_incompatible(other, &more, names[f], 0);
        expect_compatible(other, &less, names[f]);
    }
    expect_compatible(other, &base, "the same options");

    /* The refused opens changed nothing. */
    struct check_opts c = {0};
    CHECK_OK(ferry_service_list(domain, grab, &c));
    CHECK_EQ(c.found, 1);
    CHECK(strcmp(c.info.type_name, "geo.Point3") == 0);
    CHECK_EQ(c.info.opts.max_payload, 512);
    CHECK_EQ(c.info.opts.alignment, 16);
    CHECK_EQ(c.info.opts.history, 4);
    CHECK_EQ(c.info.opts.queue_capacity, 8);
    CHECK_EQ(c.info.opts.max_publishers, 3);
    CHECK_EQ(c.info.opts.max_subscribers, 5);
    CHECK_EQ(c.info.opts.max_loans, 4);
    CHECK_EQ(c.info.opts.max_borrowed, 3);
    CHECK_EQ(c.info.opts.overflow, FERRY_OVERFLOW_BLOCK);
    CHECK_EQ(c.info.publishers, 0);
    CHECK_EQ(c.info.subscribers, 1);

    /* The service works after all of this. */
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_pub_open(&pub, other, "compat", &base));
    CHECK_OK(ferry_pub_send_copy(pub, "hello", 6));
    const void *p = NULL;
    CHECK_OK(ft_take_wait(owner, &p, NULL, FT_WAIT_MS));
    CHECK(strcmp(p, "hello") == 0);
    ferry_sub_release(owner, p);
    ferry_pub_close(pub);
    ferry_sub_close(owner);

    /* NULL options and explicit defaults are the same service. */
    ferry_pub *d1 = NULL;
    ferry_sub *d2 = NULL;
    ferry_pubsub_opts defaults;
    ferry_pubsub_opts_init(&defaults);
    CHECK_OK(ferry_pub_open(&d1, node, "defaults", NULL));
    CHECK_OK(ferry_sub_open(&d2, other, "defaults", &defaults));
    defaults.type_name = "bytes";
    ferry_sub *d3 = NULL;
    CHECK_OK(ferry_sub_open(&d3, other, "defaults", &defaults));
    defaults.max_payload = 4097;
    ferry_sub *d4 = NULL;
    CHECK_RC(ferry_sub_open(&d4, other, "defaults", &defaults), FERRY_EINCOMPATIBLE);

    /* Once every port has closed the service is gone: it can be created
     * again with other options. */
    ferry_pubsub_opts changed = base;
    changed.max_payload = 64;
    changed.overflow = FERRY_OVERFLOW_DROP_OLDEST;
    changed.type_name = "geo.Point2";
    CHECK_OK(ferry_pub_open(&pub, other, "compat", &changed));
    CHECK_RC(ferry_sub_open(&owner, node, "compat", &base), FERRY_EINCOMPATIBLE);
    ferry_node_close(node);
    ferry_node_close(other);
    ft_check_no_shm(domain);
    return ft_pass();
}
