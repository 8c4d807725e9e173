#include "rr_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef FERRY_RR_PEER_PATH
#error "FERRY_RR_PEER_PATH must name the ferry_rr_peer executable"
#endif

void rr_peer_start(ft_peer *peer, const char *domain, const char *name)
{
    ft_peer_start_program(peer, FERRY_RR_PEER_PATH, domain);
    if (name) {
        char line[256];
        ft_peer_ok(peer, line, sizeof line, "node %s", name);
    }
}

const char *rr_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms)
{
    return ft_peer_later_ok(peer, line, size, timeout_ms);
}

static const char *find_key(const char *reply, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = reply; (p = strstr(p, key)) != NULL; p++)
        if ((p == reply || p[-1] == ' ') && p[klen] == '=')
            return p + klen + 1;
    return NULL;
}

long long rr_reply_field(const char *reply, const char *key)
{
    const char *v = find_key(reply, key);
    return v ? strtoll(v, NULL, 10) : -1;
}

long long rr_reply_count(const char *reply, const char *key, uint64_t tag)
{
    const char *v = find_key(reply, key);
    while (v && *v && *v != ' ') {
        char *end;
        unsigned long long t = strtoull(v, &end, 10);
        if (*end != ':')
            return 0;
        long long c = strtoll(end + 1, &end, 10);
        if (t == tag)
            return c;
        v = *end == ',' ? end + 1 : end;
    }
    return 0;
}

long long rr_reply_sum(const char *reply, const char *key, int *ntags)
{
    const char *v = find_key(reply, key);
    long long sum = 0;
    int n = 0;
    while (v && *v && *v != ' ') {
        char *end;
        strtoull(v, &end, 10);
        if (*end != ':')
            break;
        sum += strtoll(end + 1, &end, 10);
        n++;
        v = *end == ',' ? end + 1 : end;
    }
    if (ntags)
        *ntags = n;
    return sum;
}

/* ---- soft checks ---------------------------------------------------------------- */

static int soft_failures;

void rr_soft_fail_(const char *file, int line, const char *expr, const char *fmt, ...)
{
    char message[1024];
    snprintf(message, sizeof message, "%s", ferry_last_error_message());
    int code = ferry_last_error();
    fprintf(stderr, "FAIL (going on): %s:%d: %s\n", file, line, expr);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs("  ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    fprintf(stderr, "  ferry_last_error() = %d, message: \"%s\"\n", code, message);
    soft_failures++;
}

int rr_soft_failures(void) { return soft_failures; }

int rr_pass(void)
{
    if (soft_failures) {
        fprintf(stderr, "FAIL: %d check(s) failed (see above)\n", soft_failures);
        fflush(stderr);
        exit(1);
    }
    return ft_pass();
}

/* ---- waiting ---------------------------------------------------------------------- */

static void short_pause(unsigned spins)
{
    if (spins < 64) {
        sched_yield();
    } else {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

int rr_client_take_wait(ferry_client *c, uint64_t *id, const void **resp, size_t *size, int *last,
                        unsigned timeout_ms)
{
    uint64_t deadline = ft_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (unsigned spins = 0;; spins++) {
        int rc = ferry_client_take(c, id, resp, size, last);
        if (rc != FERRY_EAGAIN || ft_now_ns() > deadline)
            return rc;
        short_pause(spins);
    }
}

int rr_server_take_wait(ferry_server *s, ferry_call *call, const void **req, size_t *size, unsigned timeout_ms)
{
    uint64_t deadline = ft_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (unsigned spins = 0;; spins++) {
        int rc = ferry_server_take(s, call, req, size);
        if (rc != FERRY_EAGAIN || ft_now_ns() > deadline)
            return rc;
        short_pause(spins);
    }
}

int rr_send(ferry_client *c, uint64_t tag, uint64_t seq, uint32_t parts, uint32_t mode, uint64_t *id)
{
    void *p = NULL;
    int rc = ferry_client_loan(c, rr_req_size(seq), &p);
    if (rc)
        return rc;
    rr_req_fill(p, tag, seq, seq, parts, mode);
    rc = ferry_client_send(c, p, id);
    if (rc == FERRY_ENOTFOUND || rc == FERRY_EAGAIN || rc == FERRY_ELIMIT) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ferry_last_error_message());
        ferry_client_discard(c, p);
        CHECK_MSG(ferry_last_error() == FERRY_OK, "the loan should have stayed with the caller after %d (%s)", rc,
                  msg);
    }
    return rc;
}

int rr_serve_until_reply(ferry_server *s, uint64_t tag, struct rr_server_stats *st, ft_peer *peer,
                         unsigned timeout_ms)
{
    uint64_t deadline = ft_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        if (memchr(peer->buf, '\n', peer->len))
            return FERRY_OK;
        struct pollfd pfd = {peer->from_fd, POLLIN, 0};
        if (poll(&pfd, 1, 0) > 0)
            return FERRY_OK;
        CHECK_MSG(ft_now_ns() < deadline, "peer %ld sent no reply within %u ms while this process served",
                  (long)peer->pid, timeout_ms);
        int rc = ferry_server_wait(s, 10000000);
        if (rc != FERRY_OK && rc != FERRY_ETIMEDOUT)
            return rc;
        rc = rr_serve_available(s, tag, st, ft_now_ns() + 5000000000ull);
        if (rc)
            return rc;
    }
}

/* ---- services, domains ---------------------------------------------------------------- */

struct counts_ctx {
    const char *service;
    rr_counts *out;
};

static int count_cb(const ferry_service_info *info, void *user)
{
    struct counts_ctx *cc = user;
    if (strcmp(info->name, cc->service) != 0)
        return 0;
    cc->out->found++;
    cc->out->pattern = info->pattern;
    cc->out->clients = info->publishers;
    cc->out->servers = info->subscribers;
    snprintf(cc->out->type_name, sizeof cc->out->type_name, "%s", info->type_name);
    snprintf(cc->out->response_type, sizeof cc->out->response_type, "%s", info->response_type);
    return 0;
}

rr_counts rr_service_counts(const char *domain, const char *service)
{
    rr_counts out;
    memset(&out, 0, sizeof out);
    struct counts_ctx cc = {service, &out};
    CHECK_OK(ferry_service_list(domain, count_cb, &cc));
    return out;
}

struct node_ctx {
    long pid;
    int found, alive;
};

static int node_cb(const ferry_node_info *info, void *user)
{
    struct node_ctx *nc = user;
    if (info->pid == nc->pid) {
        nc->found++;
        nc->alive = info->alive;
    }
    return 0;
}

int rr_node_listed(const char *domain, long pid, int *alive)
{
    struct node_ctx nc = {pid, 0, 0};
    CHECK_OK(ferry_node_list(domain, node_cb, &nc));
    if (alive)
        *alive = nc.alive;
    return nc.found;
}

void rr_finish_domain(const char *domain, ferry_node *node)
{
    ferry_node_close(node);
    unsigned removed = 0;
    CHECK_OK(ferry_cleanup(domain, &removed));
    ft_check_no_shm(domain);
}

double rr_ms_since(uint64_t t0) { return (double)(ft_now_ns() - t0) / 1e6; }

ferry_client *rr_client_open(ferry_node *node, const char *service, const ferry_reqres_opts *opts)
{
    ferry_client *c = NULL;
    CHECK_OK(ferry_client_open(&c, node, service, opts));
    CHECK(c != NULL);
    return c;
}

ferry_server *rr_server_open(ferry_node *node, const char *service, const ferry_reqres_opts *opts)
{
    ferry_server *s = NULL;
    CHECK_OK(ferry_server_open(&s, node, service, opts));
    CHECK(s != NULL);
    return s;
}
