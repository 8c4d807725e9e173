/*
 * service_name_test: service name rules (segments of [A-Za-z0-9_.-]
 * separated by single '/', 1-255 bytes, no leading/trailing '/', no empty,
 * "." or ".." segment).
 *  - valid names open a publisher and a subscriber that talk to each other,
 *    and are listed under exactly that name;
 *  - invalid names give FERRY_EINVAL for both and create nothing;
 *  - names differing only in case or separators are different services.
 */
#include "ferry_test.h"

#include <string.h>

struct lookup {
    const char *name;
    int found;
    int total;
};

static int find_service(const ferry_service_info *info, void *user)
{
    struct lookup *l = user;
    l->total++;
    if (strcmp(info->name, l->name) == 0)
        l->found++;
    return 0;
}

static void expect_valid(ferry_node *node, const char *domain, const char *name)
{
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    int rc = ferry_sub_open(&sub, node, name, NULL);
    CHECK_MSG(rc == FERRY_OK, "valid service name \"%s\" refused: %d (%s)", name, rc, ferry_strerror(rc));
    CHECK_OK(ferry_pub_open(&pub, node, name, NULL));
    CHECK_OK(ferry_pub_send_copy(pub, name, strlen(name) + 1));
    const void *p = NULL;
    size_t size = 0;
    CHECK_OK(ft_take_wait(sub, &p, &size, FT_WAIT_MS));
    CHECK_EQ(size, strlen(name) + 1);
    CHECK(strcmp(p, name) == 0);
    ferry_sub_release(sub, p);

    struct lookup l = {name, 0, 0};
    CHECK_OK(ferry_service_list(domain, find_service, &l));
    CHECK_MSG(l.found == 1, "service \"%s\" listed %d times", name, l.found);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
}

static void expect_invalid(ferry_node *node, const char *domain, const char *name)
{
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    int rc = ferry_pub_open(&pub, node, name, NULL);
    CHECK_MSG(rc == FERRY_EINVAL, "invalid service name \"%s\": pub open gave %d (%s)", name, rc,
              ferry_strerror(rc));
    CHECK(strlen(ferry_last_error_message()) > 0);
    rc = ferry_sub_open(&sub, node, name, NULL);
    CHECK_MSG(rc == FERRY_EINVAL, "invalid service name \"%s\": sub open gave %d (%s)", name, rc,
              ferry_strerror(rc));
    struct lookup l = {name, 0, 0};
    CHECK_OK(ferry_service_list(domain, find_service, &l));
    CHECK_EQ(l.total, 0);
}

int main(void)
{
    ft_init("service_name_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "svcname");
    ferry_node *node = ft_node_open(domain, "names");

    char max_name[FERRY_SERVICE_NAME_MAX + 1];
    /* 255 bytes: "aaaa/aaaa/..." */
    for (int i = 0; i < FERRY_SERVICE_NAME_MAX; i++)
        max_name[i] = (i % 5 == 3) ? '/' : 'a';
    max_name[FERRY_SERVICE_NAME_MAX] = '\0';
    CHECK(max_name[FERRY_SERVICE_NAME_MAX - 1] != '/');
    char too_long[FERRY_SERVICE_NAME_MAX + 2];
    memset(too_long, 'b', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';

    const char *valid[] = {
        "a", "Z", "0", "_", "-", "a.b", "camera/front/image", "Camera-1_raw.v2/x",
        "...", "..a", "a..", ".hidden/x", "x/.y", "a/b/c/d/e/f/g/h", max_name,
    };
    const char *invalid[] = {
        "", "/", "/a", "a/", "a//b", "/a/b/", ".", "..", "a/.", "./a", "a/./b", "a/../b",
        "..", "a b", "a\tb", "a\\b", "a:b", "a*b", "a?b", "caf\xc3\xa9", "a\nb", too_long,
    };

    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        expect_invalid(node, domain, invalid[i]);
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        expect_valid(node, domain, valid[i]);

    /* Names are exact: case and structure make different services. */
    ferry_pub *pub = NULL;
    ferry_sub *upper = NULL, *lower = NULL, *flat = NULL;
    CHECK_OK(ferry_sub_open(&lower, node, "topic/x", NULL));
    CHECK_OK(ferry_sub_open(&upper, node, "Topic/X", NULL));
    CHECK_OK(ferry_sub_open(&flat, node, "topic.x", NULL));
    CHECK_OK(ferry_pub_open(&pub, node, "topic/x", NULL));
    CHECK_OK(ferry_pub_send_copy(pub, "hi", 3));
    const void *p = NULL;
    CHECK_OK(ft_take_wait(lower, &p, NULL, FT_WAIT_MS));
    ferry_sub_release(lower, p);
    ft_sleep_ms(20);
    CHECK_RC(ferry_sub_take(upper, &p, NULL), FERRY_EAGAIN);
    CHECK_RC(ferry_sub_take(flat, &p, NULL), FERRY_EAGAIN);

    ferry_node_close(node); /* closes the ports too */
    ft_check_no_shm(domain);
    return ft_pass();
}
