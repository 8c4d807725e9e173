/*
 * cross_user_test: processes of different users share a service (mode 0660
 * and a common group), and one of them runs a node with the default mode
 * 0600, so the others cannot read its node object. Being unable to read it
 * must not make the others take that node for dead:
 *  - ferry_cleanup (and ferry_node_open, which cleans up too) by the other
 *    user leaves the live subscriber connected: it receives the next sample;
 *  - a BLOCK publisher of the other user waits for the live subscriber
 *    instead of dropping it: every sample arrives.
 * Needs root (to run the peer as nobody, 65534); skipped otherwise.
 */
#include "ferry_test.h"
#include "payload.h"
#include "peer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

static ferry_node *open_node(const char *domain, const char *name, unsigned mode, long group)
{
    ferry_node_opts opts;
    ferry_node_opts_init(&opts);
    opts.domain = domain;
    opts.mode = mode;
    opts.group = group;
    ferry_node *node = NULL;
    CHECK_OK(ferry_node_open(&node, name, &opts));
    return node;
}

static void start_nobody(ft_peer *peer, const char *domain)
{
    char line[256];
    ft_peer_start(peer, domain);
    ft_peer_ok(peer, line, sizeof line, "drop %d %d", NOBODY, NOBODY);
}

/* Another user's cleanup and node open leave a live subscriber alone. */
static void cleanup_by_other_user(const char *domain)
{
    char line[1024];
    ferry_node *shared = open_node(domain, "shared", 0660, NOBODY);
    ferry_node *private_node = open_node(domain, "private", 0600, -1);
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, shared, "xuser/data", NULL));
    CHECK_OK(ferry_sub_open(&sub, private_node, "xuser/data", NULL));
    CHECK_OK(ferry_pub_send_copy(pub, "one", 4));
    const void *p = NULL;
    CHECK_OK(ft_take_wait(sub, &p, NULL, FT_WAIT_MS));
    ferry_sub_release(sub, p);

    ft_peer peer;
    start_nobody(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "cleanup");
    ft_peer_ok(&peer, line, sizeof line, "node visitor mode=0660 group=%d", NOBODY);
    ft_peer_finish(&peer);

    CHECK_OK(ferry_pub_send_copy(pub, "two", 4));
    int rc = ft_take_wait(sub, &p, NULL, FT_WAIT_MS);
    CHECK_MSG(rc == FERRY_OK,
              "a live subscriber whose node object nobody cannot read was disconnected by nobody's "
              "ferry_cleanup / ferry_node_open: take gave %d (%s)",
              rc, ferry_strerror(rc));
    ferry_sub_release(sub, p);
    ferry_node_close(private_node);
    ferry_node_close(shared);
    ft_check_no_shm(domain);
}

/* Another user's BLOCK publisher waits for a live subscriber it cannot probe. */
static void block_publisher_of_other_user(const char *domain)
{
    char line[1024], opts_text[512];
    ferry_node *shared = open_node(domain, "shared", 0660, NOBODY);
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 128;
    o.queue_capacity = 2;
    o.overflow = FERRY_OVERFLOW_BLOCK;
    ft_opts_format(&o, opts_text, sizeof opts_text);
    /* The service is created by the group-shared node, so nobody may join. */
    ferry_pub *creator = NULL;
    CHECK_OK(ferry_pub_open(&creator, shared, "xuser/block", &o));

    /* nobody's node first (its open cleans up; that case is checked
     * separately), then our private subscriber. */
    ft_peer peer;
    start_nobody(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "node sender mode=0660 group=%d", NOBODY);
    ferry_node *private_node = open_node(domain, "private", 0600, -1);
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, private_node, "xuser/block", &o));
    const char *r = ft_peer_ok(&peer, line, sizeof line, "pub xuser/block %s", opts_text);
    unsigned long long pub_id = 0;
    CHECK(sscanf(r, "%llu", &pub_id) == 1);
    /* 6 samples into a queue of 2: the peer has to wait for us. */
    ft_peer_send(&peer, "send 6 64");
    ft_sleep_ms(400); /* long enough for a liveness probe while it waits */
    for (uint64_t s = 1; s <= 6; s++) {
        const void *p = NULL;
        size_t size = 0;
        int rc = ft_take_wait(sub, &p, &size, FT_WAIT_MS);
        CHECK_MSG(rc == FERRY_OK, "sample %" PRIu64 " of the other user's BLOCK publisher is lost: %d (%s)", s,
                  rc, ferry_strerror(rc));
        uint64_t seq = 0, tag = 0;
        CHECK(ft_payload_check(p, size, &tag, &seq));
        CHECK_EQ(tag, pub_id);
        CHECK_MSG(seq == s, "sequence %" PRIu64 ", expected %" PRIu64, seq, s);
        ferry_sub_release(sub, p);
    }
    ft_peer_reply(&peer, line, sizeof line, FT_WAIT_MS);
    CHECK_MSG(strcmp(line, "ok 6") == 0, "peer: %s", line);
    ferry_sub_stats ss;
    CHECK_OK(ferry_sub_stats_get(sub, &ss));
    CHECK_EQ(ss.lost, 0);
    ft_peer_finish(&peer);
    ferry_node_close(private_node);
    ferry_node_close(shared);
    ft_check_no_shm(domain);
}

int main(void)
{
    ft_init("cross_user_test", 20);
    if (geteuid() != 0)
        ft_skip("not root: cannot run a process as another user");
    struct stat shm;
    CHECK(stat("/dev/shm", &shm) == 0);
    if ((shm.st_mode & 01777) != 01777)
        ft_skip("/dev/shm is not world-writable with sticky bit");
    char d1[FERRY_DOMAIN_MAX + 1], d2[FERRY_DOMAIN_MAX + 1];
    ft_domain(d1, "xuserclean");
    ft_domain(d2, "xuserblock");
    block_publisher_of_other_user(d2);
    cleanup_by_other_user(d1);
    return ft_pass();
}
