/*
 * state_persist_test: a persisted value outlives every process.
 *
 *  1. A writer process with persist_dir (a mkdtemp directory) publishes 20
 *     versions; a reader process reads the last; both exit: the service is
 *     gone from /dev/shm, the directory holds exactly one saved file
 *     (<domain>.<...>.ferry-state, mode 0600, no temporary left).
 *  2. A new reader (this process) opening with the same persist_dir reads
 *     version 20 with its exact value; a second reader opening without
 *     persist_dir reads it too. A new writer continues at 21; after all
 *     closes a fresh reader reads 21.
 *  3. A writer process publishes 5 more and is killed (SIGKILL); after
 *     ferry_cleanup nothing is in /dev/shm, and a new reader reads 26.
 *  4. A reader opening the saved service without persist_dir finds nothing
 *     (FERRY_EAGAIN: the file is only read when asked for); a writer that
 *     then opens it with persist_dir brings version 26 back for both and
 *     continues at 27.
 */
#include "st_support.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SERVICE "state/persist"
#define MAX_SIZE 1024u

static char dir[512];

static void expect_saved_file(const char *domain)
{
    char path[1024];
    CHECK_MSG(st_state_file(dir, path, sizeof path) == 1, "%s holds %d saved files", dir,
              st_state_file(dir, NULL, 0));
    CHECK_MSG(st_dir_entries(dir) == 1, "%s holds %d entries, expected only the saved file", dir,
              st_dir_entries(dir));
    const char *base = strrchr(path, '/') + 1;
    CHECK_MSG(strncmp(base, domain, strlen(domain)) == 0 && base[strlen(domain)] == '.',
              "saved file %s is not named after domain %s", base, domain);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_MSG((st.st_mode & 07777) == 0600, "%s has mode %04o", path, (unsigned)(st.st_mode & 07777));
}

static ferry_state_reader *open_reader(ferry_node *node, const char *persist)
{
    ferry_state_opts o = st_opts(MAX_SIZE, 4, persist);
    ferry_state_reader *r = NULL;
    CHECK_OK(ferry_state_reader_open(&r, node, SERVICE, &o));
    return r;
}

int main(void)
{
    ft_init("state_persist_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stpersist");
    st_tmpdir(dir);
    char line[1024];
    const char *r;
    unsigned long long v = 0;

    /* ---- 1. publish from one process, read from another, all exit ---- */
    ft_peer w, rd;
    st_peer_start(&w, domain, "writer");
    r = ft_peer_ok(&w, line, sizeof line, "writer %s size=%u persist=%s", SERVICE, MAX_SIZE, dir);
    CHECK_MSG(strcmp(r, " 0") == 0, "fresh service, empty directory: version%s", r);
    r = ft_peer_ok(&w, line, sizeof line, "publish 20 %u %u", ST_VALUE_MIN, MAX_SIZE);
    CHECK_MSG(strcmp(r, " 20") == 0, "publish 20 gave%s", r);
    st_peer_start(&rd, domain, "reader");
    ft_peer_ok(&rd, line, sizeof line, "reader %s size=%u persist=%s", SERVICE, MAX_SIZE, dir);
    r = ft_peer_ok(&rd, line, sizeof line, "read %u %u", ST_VALUE_MIN, MAX_SIZE);
    CHECK_MSG(sscanf(r, "%llu", &v) == 1 && v == 20, "reader process read%s", r);
    ft_peer_finish(&w);
    ft_peer_finish(&rd);
    st_check_no_shm(domain);
    expect_saved_file(domain);

    /* ---- 2. restart: read it back, continue the numbering ---- */
    ferry_node *node = ft_node_open(domain, "main");
    ferry_state_reader *r1 = open_reader(node, dir);
    size_t size = 0;
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, &size), 20);
    CHECK_EQ(size, st_value_size(20, ST_VALUE_MIN, MAX_SIZE));
    ferry_state_reader *r2 = open_reader(node, NULL);
    CHECK_EQ(st_read_ok(r2, ST_VALUE_MIN, MAX_SIZE, NULL), 20);
    ferry_state_opts wopts = st_opts(MAX_SIZE, 4, dir);
    st_writer sw;
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &wopts));
    CHECK_EQ(sw.version, 20);
    uint64_t pv = 0;
    CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &pv));
    CHECK_EQ(pv, 21);
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, NULL), 21);
    CHECK_EQ(st_read_ok(r2, ST_VALUE_MIN, MAX_SIZE, NULL), 21);
    ferry_state_writer_close(sw.w);
    ferry_state_reader_close(r1);
    ferry_state_reader_close(r2);
    ferry_node_close(node);
    st_check_no_shm(domain);
    expect_saved_file(domain);
    node = ft_node_open(domain, "main");
    r1 = open_reader(node, dir);
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, NULL), 21);
    ferry_state_reader_close(r1);
    ferry_node_close(node);
    st_check_no_shm(domain);

    /* ---- 3. the writer is killed: what it published is saved ---- */
    st_peer_start(&w, domain, "writer2");
    r = ft_peer_ok(&w, line, sizeof line, "writer %s size=%u persist=%s", SERVICE, MAX_SIZE, dir);
    CHECK_MSG(strcmp(r, " 21") == 0, "writer reopened at version%s", r);
    r = ft_peer_ok(&w, line, sizeof line, "publish 5 %u %u", ST_VALUE_MIN, MAX_SIZE);
    CHECK_MSG(strcmp(r, " 26") == 0, "publish 5 gave%s", r);
    ft_peer_kill(&w);
    CHECK_OK(ferry_cleanup(domain, NULL));
    st_check_no_shm(domain);
    expect_saved_file(domain);
    node = ft_node_open(domain, "main");
    r1 = open_reader(node, dir);
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, NULL), 26);
    ferry_state_reader_close(r1);

    /* ---- 4. without persist_dir nothing is loaded; the writer's open loads it ---- */
    r2 = open_reader(node, NULL);
    const void *data = NULL;
    CHECK_RC(ferry_state_read_begin(r2, &data, &size, NULL), FERRY_EAGAIN);
    CHECK(data == NULL);
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &wopts));
    CHECK_EQ(sw.version, 26);
    CHECK_EQ(st_read_ok(r2, ST_VALUE_MIN, MAX_SIZE, NULL), 26);
    CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &pv));
    CHECK_EQ(pv, 27);
    ferry_state_writer_close(sw.w);
    ferry_state_reader_close(r2);
    ferry_node_close(node);
    st_check_no_shm(domain);
    expect_saved_file(domain);

    st_rmdir(dir);
    return ft_pass();
}
