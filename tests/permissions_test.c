/*
 * permissions_test: who may open what.
 *  - by default every object a node creates in /dev/shm is mode 0600 and
 *    owned by the creating user (even with umask 022 the mode is exact);
 *  - node opts mode 0660 + group: objects are mode 0660 with that group;
 *  - as root: a peer that dropped to nobody (65534) gets FERRY_EPERM for a
 *    0600 service of root (from ferry_node_open or from the port open), its
 *    ferry_cleanup disturbs nothing, and it leaves nothing behind;
 *  - as root: with mode 0660 and group 65534 the unprivileged peer may
 *    subscribe and receives samples.
 *  Not root: the first two parts run, then the test reports a skip.
 */
#include "ferry_test.h"
#include "payload.h"
#include "peer.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

/* Every object of domain has exactly mode and group gid (gid -1: any). */
static void expect_modes(const char *domain, unsigned mode, long gid)
{
    char names[FT_SHM_MAX][FT_SHM_NAME];
    int n = ft_shm_list(domain, names, FT_SHM_MAX);
    CHECK_MSG(n > 0, "no objects of domain %s in /dev/shm", domain);
    for (int i = 0; i < n && i < FT_SHM_MAX; i++) {
        char path[FT_SHM_NAME + 16];
        snprintf(path, sizeof path, "/dev/shm/%.255s", names[i]);
        struct stat st;
        CHECK_MSG(stat(path, &st) == 0, "stat %s", path);
        CHECK_MSG((st.st_mode & 07777) == mode, "%s has mode %04o, expected %04o", path,
                  (unsigned)(st.st_mode & 07777), mode);
        CHECK_MSG(st.st_uid == geteuid(), "%s is owned by uid %ld", path, (long)st.st_uid);
        if (gid >= 0)
            CHECK_MSG((long)st.st_gid == gid, "%s has group %ld, expected %ld", path, (long)st.st_gid,
                      gid);
    }
}

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

static void send_some(ferry_pub *pub, uint64_t first, uint64_t n)
{
    for (uint64_t s = first; s < first + n; s++) {
        void *p = NULL;
        CHECK_OK(ferry_pub_loan(pub, 64, &p));
        ft_payload_fill(p, 64, ferry_pub_id(pub), s);
        CHECK_OK(ferry_pub_send(pub, p));
    }
}

int main(void)
{
    ft_init("permissions_test", 20);
    char d_default[FERRY_DOMAIN_MAX + 1], d_group[FERRY_DOMAIN_MAX + 1], d_deny[FERRY_DOMAIN_MAX + 1];
    ft_domain(d_default, "permdef");
    ft_domain(d_group, "permgrp");
    ft_domain(d_deny, "permdeny");
    int root = geteuid() == 0;
    char line[1024];

    /* ---- default: 0600 ---- */
    ferry_node *node = open_node(d_default, "owner", 0600, -1);
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "perm/default", NULL));
    CHECK_OK(ferry_sub_open(&sub, node, "perm/default", NULL));
    CHECK_OK(ferry_pub_send_copy(pub, "x", 1));
    expect_modes(d_default, 0600, (long)getegid());
    ferry_node_close(node);
    {
        /* Default options give 0600 too. */
        ferry_node *dflt = ft_node_open(d_default, "defaults");
        CHECK_OK(ferry_pub_open(&pub, dflt, "perm/default", NULL));
        expect_modes(d_default, 0600, -1);
        ferry_node_close(dflt);
    }
    ft_check_no_shm(d_default);

    /* ---- group access: 0660 + group ---- */
    long group = root ? NOBODY : (long)getegid();
    node = open_node(d_group, "owner", 0660, group);
    CHECK_OK(ferry_pub_open(&pub, node, "perm/shared", NULL));
    CHECK_OK(ferry_sub_open(&sub, node, "perm/shared", NULL));
    expect_modes(d_group, 0660, group);

    if (!root) {
        ferry_node_close(node);
        ft_check_no_shm(d_group);
        ft_skip("not root: cannot run a process as another user to check FERRY_EPERM");
    }

    struct stat shm;
    CHECK(stat("/dev/shm", &shm) == 0);
    if ((shm.st_mode & 01777) != 01777) {
        ferry_node_close(node);
        ft_check_no_shm(d_group);
        ft_skip("/dev/shm is not world-writable with sticky bit (mode %04o)", (unsigned)(shm.st_mode & 07777));
    }

    /* An unprivileged member of the group may subscribe. */
    ft_peer peer;
    ft_peer_start(&peer, d_group);
    ft_peer_ok(&peer, line, sizeof line, "drop %d %d", NOBODY, NOBODY);
    ft_peer_ok(&peer, line, sizeof line, "node guest mode=0660 group=%d", NOBODY);
    ft_peer_ok(&peer, line, sizeof line, "sub perm/shared");
    send_some(pub, 1, 3);
    const char *r = ft_peer_ok(&peer, line, sizeof line, "recv 3");
    CHECK_MSG(strcmp(r, " 3 1 3") == 0, "group member received:%s", r);
    ft_peer_finish(&peer);

    ferry_node_close(node);
    ft_check_no_shm(d_group);

    /* ---- denied: 0600 service of root, peer runs as nobody ---- */
    node = open_node(d_deny, "owner", 0600, -1);
    CHECK_OK(ferry_pub_open(&pub, node, "perm/secret", NULL));
    CHECK_OK(ferry_sub_open(&sub, node, "perm/secret", NULL));
    send_some(pub, 1, 2);
    ft_peer_start(&peer, d_deny);
    ft_peer_ok(&peer, line, sizeof line, "drop %d %d", NOBODY, NOBODY);
    ft_peer_send(&peer, "node intruder");
    ft_peer_reply(&peer, line, sizeof line, FT_WAIT_MS);
    int code = 0;
    if (strncmp(line, "ok", 2) == 0) {
        code = ft_peer_err(&peer, "sub perm/secret");
        CHECK_MSG(code == FERRY_EPERM, "sub open by nobody gave %d (%s)", code, ferry_strerror(code));
        code = ft_peer_err(&peer, "pub perm/secret");
        CHECK_MSG(code == FERRY_EPERM, "pub open by nobody gave %d (%s)", code, ferry_strerror(code));
    } else {
        CHECK_MSG(sscanf(line, "err %d", &code) == 1, "peer: %s", line);
        CHECK_MSG(code == FERRY_EPERM, "node open by nobody gave %d (%s)", code, ferry_strerror(code));
    }
    /* Its cleanup cannot touch what it cannot open. */
    ft_peer_ok(&peer, line, sizeof line, "cleanup");
    ft_peer_finish(&peer);

    /* Root's ports were not disturbed. */
    CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), 1);
    CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), 2);
    send_some(pub, 3, 1);
    CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), 3);
    expect_modes(d_deny, 0600, -1);
    ferry_node_close(node);
    ft_check_no_shm(d_deny);
    return ft_pass();
}
