/*
 * state_permissions_test: who may open a state service and its saved file.
 *  - the saved file is created mode 0600, and stays 0600 under umask 022,
 *    000 and 077 (each publish replaces it); the segment and every other
 *    object of the domain in /dev/shm are 0600 too; a writer whose node has
 *    mode 0660 saves its file 0660 under umask 027 and 077 (the node's
 *    mode, not narrowed by the umask);
 *  - as root: a process that dropped to uid/gid 65534 cannot open the live
 *    service, as reader or writer, with or without persist_dir:
 *    FERRY_EPERM (from ferry_node_open or from the port open); root's ports
 *    are undisturbed;
 *  - as root: with every port closed and the directory opened to others
 *    (0755), that process cannot bring the 0600 file of root back: its
 *    reader open fails with FERRY_EPERM naming the file, and leaves nothing
 *    behind.
 *  Not root: the first part runs, then the test reports a skip (77).
 */
#include "st_support.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVICE "state/perm"
#define MAX_SIZE 256u
#define NOBODY 65534

static unsigned file_mode(const char *path)
{
    struct stat st;
    CHECK_MSG(stat(path, &st) == 0, "stat %s", path);
    return (unsigned)(st.st_mode & 07777);
}

static void expect_shm_modes(const char *domain)
{
    char names[FT_SHM_MAX][FT_SHM_NAME];
    int n = ft_shm_list(domain, names, FT_SHM_MAX);
    CHECK_MSG(n >= 2, "%d objects of domain %s in /dev/shm (node and service expected)", n, domain);
    for (int i = 0; i < n && i < FT_SHM_MAX; i++) {
        char p[FT_SHM_NAME + 16];
        snprintf(p, sizeof p, "/dev/shm/%.255s", names[i]);
        CHECK_MSG(file_mode(p) == 0600, "%s has mode %04o", p, file_mode(p));
    }
}

int main(void)
{
    ft_init("state_permissions_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stperm");
    char dir[512], path[1024], line[1024];
    st_tmpdir(dir);
    ferry_node *node = ft_node_open(domain, "owner");
    ferry_state_opts o = st_opts(MAX_SIZE, 4, dir);
    st_writer sw;
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &o));
    ferry_state_reader *reader = NULL;
    CHECK_OK(ferry_state_reader_open(&reader, node, SERVICE, &o));
    uint64_t v = 0;

    /* ---- modes ---- */
    mode_t masks[] = {022, 0, 077};
    for (size_t k = 0; k < sizeof masks / sizeof masks[0]; k++) {
        umask(masks[k]);
        CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &v));
        CHECK_EQ(st_state_file(dir, path, sizeof path), 1);
        CHECK_MSG(file_mode(path) == 0600, "umask %03o: the saved file has mode %04o", (unsigned)masks[k],
                  file_mode(path));
        CHECK_EQ(st_dir_entries(dir), 1);
    }
    umask(022);
    expect_shm_modes(domain);

    /* A node of mode 0660: its writer's saved file is 0660, whatever the umask. */
    {
        char gdir[512], gpath[1024];
        st_tmpdir(gdir);
        ferry_node_opts no;
        ferry_node_opts_init(&no);
        no.domain = domain;
        no.mode = 0660;
        ferry_node *gnode = NULL;
        CHECK_OK(ferry_node_open(&gnode, "group-writer", &no));
        ferry_state_opts go = st_opts(MAX_SIZE, 4, gdir);
        st_writer gw;
        CHECK_OK(st_writer_open(&gw, gnode, "state/perm-group", &go));
        mode_t gmasks[] = {027, 077};
        for (size_t k = 0; k < 2; k++) {
            umask(gmasks[k]);
            CHECK_OK(st_publish(&gw, ST_VALUE_MIN, MAX_SIZE, NULL));
            CHECK_EQ(st_state_file(gdir, gpath, sizeof gpath), 1);
            CHECK_MSG(file_mode(gpath) == 0660, "node mode 0660, umask %03o: the saved file has mode %04o",
                      (unsigned)gmasks[k], file_mode(gpath));
        }
        umask(022);
        ferry_state_writer_close(gw.w);
        ferry_node_close(gnode);
        st_rmdir(gdir);
    }

    if (geteuid() != 0) {
        ferry_state_reader_close(reader);
        ferry_state_writer_close(sw.w);
        st_finish_domain(domain, node);
        st_rmdir(dir);
        ft_skip("not root: cannot run a process as another user to check FERRY_EPERM");
    }
    struct stat shm;
    CHECK(stat("/dev/shm", &shm) == 0);
    if ((shm.st_mode & 01777) != 01777) {
        ferry_state_reader_close(reader);
        ferry_state_writer_close(sw.w);
        st_finish_domain(domain, node);
        st_rmdir(dir);
        ft_skip("/dev/shm is not world-writable with sticky bit (mode %04o)", (unsigned)(shm.st_mode & 07777));
    }

    /* ---- the live service: denied ---- */
    ft_peer peer;
    st_peer_start(&peer, domain, NULL);
    ft_peer_ok(&peer, line, sizeof line, "drop %d %d", NOBODY, NOBODY);
    ft_peer_send(&peer, "node intruder");
    ft_peer_reply(&peer, line, sizeof line, FT_WAIT_MS);
    int code = 0;
    printf("node open as nobody: %s\n", line);
    if (strncmp(line, "ok", 2) == 0) {
        code = ft_peer_err(&peer, "reader %s size=%u readers=4", SERVICE, MAX_SIZE);
        CHECK_MSG(code == FERRY_EPERM, "reader open by nobody gave %d (%s)", code, ferry_strerror(code));
        code = ft_peer_err(&peer, "writer %s size=%u readers=4", SERVICE, MAX_SIZE);
        CHECK_MSG(code == FERRY_EPERM, "writer open by nobody gave %d (%s)", code, ferry_strerror(code));
        code = ft_peer_err(&peer, "reader %s size=%u readers=4 persist=%s", SERVICE, MAX_SIZE, dir);
        CHECK_MSG(code == FERRY_EPERM, "reader open with persist_dir by nobody gave %d (%s)", code,
                  ferry_strerror(code));
    } else {
        CHECK_MSG(sscanf(line, "err %d", &code) == 1, "peer: %s", line);
        CHECK_MSG(code == FERRY_EPERM, "node open by nobody gave %d (%s)", code, ferry_strerror(code));
    }
    ft_peer_finish(&peer);
    CHECK_EQ(st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL), v);
    CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &v));
    CHECK_EQ(st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL), v);
    st_counts c = st_service_counts(domain, SERVICE);
    CHECK_MSG(c.found && c.writers == 1 && c.readers == 1, "after the intruder: %u writer(s), %u reader(s)",
              (unsigned)c.writers, (unsigned)c.readers);
    expect_shm_modes(domain);

    /* ---- the saved file of root: denied ---- */
    ferry_state_reader_close(reader);
    ferry_state_writer_close(sw.w);
    ferry_node_close(node);
    st_check_no_shm(domain);
    CHECK(chmod(dir, 0755) == 0);
    st_peer_start(&peer, domain, NULL);
    ft_peer_ok(&peer, line, sizeof line, "drop %d %d", NOBODY, NOBODY);
    ft_peer_ok(&peer, line, sizeof line, "node intruder");
    ft_peer_send(&peer, "reader %s size=%u readers=4 persist=%s", SERVICE, MAX_SIZE, dir);
    ft_peer_reply(&peer, line, sizeof line, FT_WAIT_MS);
    CHECK_MSG(sscanf(line, "err %d", &code) == 1 && code == FERRY_EPERM,
              "nobody opening root's saved state replied '%s'", line);
    printf("reader open as nobody, root's file: %s\n", line);
    CHECK_MSG(strstr(line, path) != NULL, "the message does not name %s: '%s'", path, line);
    ft_peer_finish(&peer);
    st_check_no_shm(domain);
    CHECK_MSG(file_mode(path) == 0600, "the saved file now has mode %04o", file_mode(path));

    /* Root still gets its value back. */
    node = ft_node_open(domain, "owner");
    CHECK_OK(ferry_state_reader_open(&reader, node, SERVICE, &o));
    CHECK_EQ(st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL), v);
    ferry_state_reader_close(reader);
    st_finish_domain(domain, node);
    st_rmdir(dir);
    return ft_pass();
}
