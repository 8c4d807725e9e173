#include "st_support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FERRY_STATE_PEER_PATH
#error "FERRY_STATE_PEER_PATH must name the ferry_state_peer executable"
#endif

void st_peer_start(ft_peer *peer, const char *domain, const char *name)
{
    ft_peer_start_program(peer, FERRY_STATE_PEER_PATH, domain);
    if (name) {
        char line[256];
        ft_peer_ok(peer, line, sizeof line, "node %s", name);
    }
}

const char *st_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms)
{
    return ft_peer_later_ok(peer, line, size, timeout_ms);
}

double st_ms_since(uint64_t t0) { return (double)(ft_now_ns() - t0) / 1e6; }

const char *st_tmpdir(char *out)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, 512, "%s/ferry-state-XXXXXX", base);
    CHECK_MSG(mkdtemp(out) != NULL, "mkdtemp(%s): %s", out, strerror(errno));
    return out;
}

void st_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    CHECK_MSG(rmdir(dir) == 0, "rmdir(%s): %s", dir, strerror(errno));
}

int st_state_file(const char *dir, char *path, size_t size)
{
    static const char suffix[] = ".ferry-state";
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "opendir(%s): %s", dir, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= sizeof suffix - 1 || strcmp(e->d_name + len - (sizeof suffix - 1), suffix) != 0)
            continue;
        if (n++ == 0 && path)
            snprintf(path, size, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

int st_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "opendir(%s): %s", dir, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

struct counts_ctx {
    const char *service;
    st_counts *out;
};

static int count_cb(const ferry_service_info *info, void *user)
{
    struct counts_ctx *c = user;
    if (strcmp(info->name, c->service) != 0)
        return 0;
    c->out->found = 1;
    CHECK_MSG(info->pattern == FERRY_PATTERN_STATE, "service %s is listed with pattern %d", info->name,
              (int)info->pattern);
    c->out->writers = info->publishers;
    c->out->readers = info->subscribers;
    c->out->opts = info->state_opts;
    return 1;
}

st_counts st_service_counts(const char *domain, const char *service)
{
    st_counts counts;
    memset(&counts, 0, sizeof counts);
    struct counts_ctx c = {service, &counts};
    CHECK_OK(ferry_service_list(domain, count_cb, &c));
    return counts;
}

uint64_t st_read_ok(ferry_state_reader *r, size_t min, size_t max, size_t *size)
{
    uint64_t v = 0;
    size_t sz = 0;
    char why[256] = "";
    int rc = st_read(r, min, max, &v, &sz, why, sizeof why);
    CHECK_MSG(rc != ST_ECORRUPT, "value read is damaged: %s", why);
    CHECK_OK(rc);
    if (size)
        *size = sz;
    return v;
}

static int print_node(const ferry_node_info *info, void *user)
{
    (void)user;
    fprintf(stderr, "  node %s: id %016llx, pid %ld (this test: %ld), uid %ld, %s\n", info->name,
            (unsigned long long)info->id, info->pid, (long)getpid(), info->uid, info->alive ? "alive" : "dead");
    return 0;
}

void st_check_no_shm_(const char *domain, const char *file, int line)
{
    if (ft_shm_count(domain) != 0) {
        fprintf(stderr, "%s:%d: objects of domain %s are left; its nodes:\n", file, line, domain);
        ferry_node_list(domain, print_node, NULL);
    }
    ft_check_no_shm(domain);
}

void st_finish_domain(const char *domain, ferry_node *node)
{
    ferry_node_close(node);
    CHECK_OK(ferry_cleanup(domain, NULL));
    st_check_no_shm(domain);
}
