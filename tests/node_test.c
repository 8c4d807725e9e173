/*
 * node_test: nodes and domains.
 *  - ferry_node_opts_init defaults (domain NULL, mode 0600, group -1);
 *  - open/close, domain/name/id accessors (ids unique, NULL-safe accessors);
 *  - domain rules (1-32 of [A-Za-z0-9_-]) and node name rules (1-63
 *    printable characters): FERRY_EINVAL and *node NULL on bad ones;
 *  - FERRY_DOMAIN is used when no domain is given (opts NULL or domain NULL);
 *  - ferry_node_list reports our nodes with name, id, pid, uid, alive;
 *  - ferry_cleanup on a domain without dead nodes removes nothing;
 *  - closing every node leaves nothing in /dev/shm.
 */
#include "ferry_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SEEN 64

struct seen {
    int n;
    ferry_node_info nodes[MAX_SEEN];
};

static int collect(const ferry_node_info *info, void *user)
{
    struct seen *s = user;
    if (s->n < MAX_SEEN)
        s->nodes[s->n] = *info;
    s->n++;
    return 0;
}

static const ferry_node_info *find(const struct seen *s, uint64_t id)
{
    for (int i = 0; i < s->n && i < MAX_SEEN; i++)
        if (s->nodes[i].id == id)
            return &s->nodes[i];
    return NULL;
}

static void expect_bad_domain(const char *domain)
{
    ferry_node_opts opts;
    ferry_node_opts_init(&opts);
    opts.domain = domain;
    ferry_node *node = (ferry_node *)&opts; /* must be set to NULL on failure */
    int rc = ferry_node_open(&node, "n", &opts);
    CHECK_MSG(rc == FERRY_EINVAL, "domain \"%s\" gave %d (%s)", domain, rc, ferry_strerror(rc));
    CHECK(node == NULL);
    CHECK(strlen(ferry_last_error_message()) > 0);
}

static void expect_bad_name(const char *domain, const char *name)
{
    ferry_node_opts opts;
    ferry_node_opts_init(&opts);
    opts.domain = domain;
    ferry_node *node = (ferry_node *)&opts;
    int rc = ferry_node_open(&node, name, &opts);
    CHECK_MSG(rc == FERRY_EINVAL, "node name \"%s\" gave %d (%s)", name ? name : "(null)", rc,
              ferry_strerror(rc));
    CHECK(node == NULL);
}

int main(void)
{
    ft_init("node_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1], env_domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "node");
    ft_domain(env_domain, "nodeenv");

    /* Defaults. */
    ferry_node_opts opts;
    memset(&opts, 0x5a, sizeof opts);
    ferry_node_opts_init(&opts);
    CHECK(opts.domain == NULL);
    CHECK_EQ(opts.mode, 0600);
    CHECK(opts.group == -1);

    /* NULL-safe accessors and close. */
    CHECK(ferry_node_domain(NULL) == NULL);
    CHECK(ferry_node_name(NULL) == NULL);
    CHECK_EQ(ferry_node_id(NULL), 0);
    ferry_node_close(NULL);

    /* Open two nodes. */
    ferry_node *a = ft_node_open(domain, "alpha");
    ferry_node *b = ft_node_open(domain, "beta node: 2");
    CHECK(strcmp(ferry_node_domain(a), domain) == 0);
    CHECK(strcmp(ferry_node_name(a), "alpha") == 0);
    CHECK(strcmp(ferry_node_name(b), "beta node: 2") == 0);
    CHECK(ferry_node_id(a) != 0);
    CHECK(ferry_node_id(b) != 0);
    CHECK(ferry_node_id(a) != ferry_node_id(b));
    CHECK_MSG(ft_shm_count(domain) > 0, "an open node should have its object in /dev/shm");

    /* The longest names are accepted. */
    char name63[FERRY_NODE_NAME_MAX + 1];
    memset(name63, 'n', FERRY_NODE_NAME_MAX);
    name63[FERRY_NODE_NAME_MAX] = '\0';
    ferry_node *c = ft_node_open(domain, name63);
    CHECK(strcmp(ferry_node_name(c), name63) == 0);

    char domain32[FERRY_DOMAIN_MAX + 1];
    {
        char tag[FERRY_DOMAIN_MAX + 1];
        int pid_digits = snprintf(NULL, 0, "%ld", (long)getpid());
        int tag_len = FERRY_DOMAIN_MAX - 2 - pid_digits;
        memset(tag, 'L', (size_t)tag_len);
        tag[tag_len] = '\0';
        ft_domain(domain32, tag);
        CHECK_EQ(strlen(domain32), FERRY_DOMAIN_MAX);
    }
    ferry_node *d = ft_node_open(domain32, "long-domain");
    CHECK(strcmp(ferry_node_domain(d), domain32) == 0);
    ferry_node_close(d);
    ft_check_no_shm(domain32);

    /* Bad domains. */
    char domain33[FERRY_DOMAIN_MAX + 2];
    memset(domain33, 'd', sizeof domain33 - 1);
    domain33[sizeof domain33 - 1] = '\0';
    expect_bad_domain("");
    expect_bad_domain(domain33);
    expect_bad_domain("a.b");
    expect_bad_domain("a/b");
    expect_bad_domain("../x");
    expect_bad_domain("a b");
    expect_bad_domain("a:b");
    expect_bad_domain("caf\xc3\xa9");

    /* Bad node names. */
    char name64[FERRY_NODE_NAME_MAX + 2];
    memset(name64, 'n', sizeof name64 - 1);
    name64[sizeof name64 - 1] = '\0';
    expect_bad_name(domain, NULL);
    expect_bad_name(domain, "");
    expect_bad_name(domain, name64);
    expect_bad_name(domain, "line\nbreak");
    expect_bad_name(domain, "tab\there");
    expect_bad_name(domain, "\x7f");
    CHECK_RC(ferry_node_open(NULL, "n", &opts), FERRY_EINVAL);

    /* Listing: our three nodes, alive, with our pid and uid. */
    struct seen seen = {0};
    CHECK_OK(ferry_node_list(domain, collect, &seen));
    CHECK_EQ(seen.n, 3);
    ferry_node *mine[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        const ferry_node_info *info = find(&seen, ferry_node_id(mine[i]));
        CHECK_MSG(info != NULL, "node %s is not listed", ferry_node_name(mine[i]));
        CHECK(strcmp(info->name, ferry_node_name(mine[i])) == 0);
        CHECK_EQ(info->pid, getpid());
        CHECK_EQ(info->uid, getuid());
        CHECK_EQ(info->alive, 1);
    }

    /* Nothing is dead: cleanup removes nothing and keeps our nodes. */
    unsigned removed = 12345;
    CHECK_OK(ferry_cleanup(domain, &removed));
    CHECK_EQ(removed, 0);
    CHECK_OK(ferry_cleanup(domain, NULL));
    seen.n = 0;
    CHECK_OK(ferry_node_list(domain, collect, &seen));
    CHECK_EQ(seen.n, 3);
    CHECK_RC(ferry_cleanup("bad.domain", NULL), FERRY_EINVAL);
    CHECK_RC(ferry_node_list("bad.domain", collect, &seen), FERRY_EINVAL);

    /* A closed node disappears from the list. */
    ferry_node_close(b);
    seen.n = 0;
    CHECK_OK(ferry_node_list(domain, collect, &seen));
    CHECK_EQ(seen.n, 2);
    CHECK(find(&seen, ferry_node_id(a)) != NULL);
    CHECK(find(&seen, ferry_node_id(c)) != NULL);

    /* Many nodes at once. */
    ferry_node *many[20];
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "many-%d", i);
        many[i] = ft_node_open(domain, name);
    }
    seen.n = 0;
    CHECK_OK(ferry_node_list(domain, collect, &seen));
    CHECK_EQ(seen.n, 22);
    for (int i = 0; i < 20; i++)
        ferry_node_close(many[i]);
    ferry_node_close(a);
    ferry_node_close(c);
    seen.n = 0;
    CHECK_OK(ferry_node_list(domain, collect, &seen));
    CHECK_EQ(seen.n, 0);
    ft_check_no_shm(domain);

    /* FERRY_DOMAIN: used with opts NULL and with opts.domain NULL. */
    CHECK(setenv("FERRY_DOMAIN", env_domain, 1) == 0);
    ferry_node *e1 = NULL, *e2 = NULL;
    CHECK_OK(ferry_node_open(&e1, "env1", NULL));
    CHECK(strcmp(ferry_node_domain(e1), env_domain) == 0);
    ferry_node_opts_init(&opts);
    CHECK_OK(ferry_node_open(&e2, "env2", &opts));
    CHECK(strcmp(ferry_node_domain(e2), env_domain) == 0);
    seen.n = 0;
    CHECK_OK(ferry_node_list(NULL, collect, &seen));
    CHECK_EQ(seen.n, 2);
    CHECK(find(&seen, ferry_node_id(e1)) != NULL);
    CHECK(ft_shm_count(env_domain) > 0);
    ferry_node_close(e1);
    ferry_node_close(e2);
    ft_check_no_shm(env_domain);

    /* An invalid FERRY_DOMAIN is refused like an invalid opts.domain. */
    CHECK(setenv("FERRY_DOMAIN", "not/valid", 1) == 0);
    ferry_node *bad = (ferry_node *)&opts;
    CHECK_RC(ferry_node_open(&bad, "env3", NULL), FERRY_EINVAL);
    CHECK(bad == NULL);
    CHECK(unsetenv("FERRY_DOMAIN") == 0);

    ft_check_no_shm(domain);
    ft_check_no_shm(env_domain);
    return ft_pass();
}
