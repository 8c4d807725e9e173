/*
 * corrupt_test: shared memory that holds garbage is refused with
 * FERRY_ECORRUPT, not trusted.
 *  - a peer creates a service; every object that the publisher open added to
 *    /dev/shm is overwritten with 0xA5 bytes: opening a subscriber or a
 *    publisher on it gives FERRY_ECORRUPT; listing does not crash;
 *  - the same with the objects truncated to 16 bytes (no SIGBUS);
 *  - our own node keeps working; cleanup does not crash.
 */
#include "ferry_test.h"
#include "peer.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef char shm_names[FT_SHM_MAX][FT_SHM_NAME];

static int contains(shm_names names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int count_cb(const ferry_service_info *info, void *user)
{
    (void)info;
    ++*(int *)user;
    return 0;
}

/* Damages what the service open added: garbage (truncate 0) or truncated (1). */
static int damage_new_objects(shm_names before, int n_before, shm_names after, int n_after, int truncate)
{
    int damaged = 0;
    for (int i = 0; i < n_after; i++) {
        if (contains(before, n_before, after[i]))
            continue;
        char path[FT_SHM_NAME + 16];
        snprintf(path, sizeof path, "/dev/shm/%.255s", after[i]);
        int fd = open(path, O_RDWR);
        CHECK_MSG(fd >= 0, "open %s", path);
        struct stat st;
        CHECK(fstat(fd, &st) == 0);
        if (truncate) {
            CHECK(ftruncate(fd, 16) == 0);
        } else {
            char junk[4096];
            memset(junk, 0xA5, sizeof junk);
            for (off_t off = 0; off < st.st_size; off += (off_t)sizeof junk) {
                size_t len = (size_t)(st.st_size - off) < sizeof junk ? (size_t)(st.st_size - off) : sizeof junk;
                CHECK(pwrite(fd, junk, len, off) == (ssize_t)len);
            }
        }
        close(fd);
        printf("  damaged %s (%lld bytes)\n", after[i], (long long)st.st_size);
        damaged++;
    }
    return damaged;
}

static void scenario(const char *domain, int truncate)
{
    char line[1024];
    static shm_names before, after;
    ferry_node *node = ft_node_open(domain, "victim");

    ft_peer peer;
    ft_peer_start(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "node creator");
    int n_before = ft_shm_list(domain, before, FT_SHM_MAX);
    ft_peer_ok(&peer, line, sizeof line, "pub corrupt/svc");
    int n_after = ft_shm_list(domain, after, FT_SHM_MAX);
    CHECK_MSG(n_after > n_before, "opening a publisher on a new service created no object");
    CHECK(damage_new_objects(before, n_before, after, n_after, truncate) > 0);

    ferry_sub *sub = NULL;
    ferry_pub *pub = NULL;
    int rc = ferry_sub_open(&sub, node, "corrupt/svc", NULL);
    CHECK_MSG(rc == FERRY_ECORRUPT, "sub open on %s objects gave %d (%s)", truncate ? "truncated" : "garbage",
              rc, ferry_strerror(rc));
    CHECK(strlen(ferry_last_error_message()) > 0);
    rc = ferry_pub_open(&pub, node, "corrupt/svc", NULL);
    CHECK_MSG(rc == FERRY_ECORRUPT, "pub open on %s objects gave %d (%s)", truncate ? "truncated" : "garbage",
              rc, ferry_strerror(rc));
    int services = 0;
    ferry_service_list(domain, count_cb, &services); /* any result, but no crash */

    /* Our node is fine otherwise. */
    ferry_pub *ok_pub = NULL;
    ferry_sub *ok_sub = NULL;
    CHECK_OK(ferry_sub_open(&ok_sub, node, "healthy", NULL));
    CHECK_OK(ferry_pub_open(&ok_pub, node, "healthy", NULL));
    CHECK_OK(ferry_pub_send_copy(ok_pub, "fine", 5));
    const void *p = NULL;
    CHECK_OK(ft_take_wait(ok_sub, &p, NULL, FT_WAIT_MS));
    CHECK(strcmp(p, "fine") == 0);
    ferry_sub_release(ok_sub, p);

    ft_peer_kill(&peer);
    ferry_cleanup(domain, NULL); /* must not crash on the damaged objects */
    ferry_node_close(node);

    /* Objects the library could not recognise may remain: remove them (we
     * damaged them), then nothing else may be left. */
    static shm_names left;
    int n_left = ft_shm_list(domain, left, FT_SHM_MAX);
    for (int i = 0; i < n_left; i++) {
        int damaged = contains(after, n_after, left[i]) && !contains(before, n_before, left[i]);
        CHECK_MSG(damaged, "%s (not damaged) was left behind", left[i]);
        char path[FT_SHM_NAME + 16];
        snprintf(path, sizeof path, "/dev/shm/%.255s", left[i]);
        printf("  note: damaged object %s left after cleanup; removing it\n", left[i]);
        unlink(path);
    }
    ft_check_no_shm(domain);
}

int main(void)
{
    ft_init("corrupt_test", 20);
    char d1[FERRY_DOMAIN_MAX + 1], d2[FERRY_DOMAIN_MAX + 1];
    ft_domain(d1, "corrupt");
    ft_domain(d2, "corrupttrunc");
    scenario(d1, 0);
    scenario(d2, 1);
    return ft_pass();
}
