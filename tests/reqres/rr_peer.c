/*
 * ferry_rr_peer: the other process of the request-response tests.
 *
 * Usage: ferry_rr_peer <domain>
 * Started by fork+exec (posix_spawn, see rr_support.c). One command per line
 * on stdin, one reply line per command on stdout: "ok [values]" or
 * "err <code> <message>" (codes below -100: see rr_proto.h). Exits when
 * stdin closes, on "exit" (closing its node first), when its parent dies, or
 * after 60 s at the latest.
 *
 *   node <name>                         open the node                      -> ok <pid>
 *   server <service> [opts...]          open the server                    -> ok
 *   client <service> [opts...]          open the client                    -> ok
 *        opts: rr_opts_parse_word words (reqtype= maxreq= pending= reqq= ...)
 *   serve <tag>                         answer ok, then serve every request (tagging responses
 *                                       with tag) until the next line, which must be "stop"
 *        -> ok served=<n> responses=<n> eagain=<n> disc=<n> bad=<n> held=<n> clients=<tag>:<n>,...
 *   hold <n> <ms>                       take n requests within ms and keep them unfinished -> ok <n>
 *   calls <n> <tag> <parts> <mode> <window> <ms>
 *                                       rr_run_calls   -> ok calls=<n> responses=<n> servers=<tag>:<n>,...
 *   send <n> <tag> <mode>               send n requests, take nothing      -> ok <first id> <last id>
 *   wait_server <ms>                    ferry_client_wait_server           -> ok <elapsed ms>
 *   sleep <ms>                          -> ok, after ms
 *   close_server | close_client         -> ok
 *   exit                                close the node and exit 0
 */
#include "peer_side.h"
#include "rr_proto.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *domain;
static ferry_node *node;
static ferry_server *server;
static ferry_client *client;

/* ---- stdin, line by line, pollable ------------------------------------------ */

static char inbuf[8192];
static size_t inlen;

/* Moves one complete line (without newline) into line; 1 if there was one. */
static int pop_line(char *line, size_t size)
{
    char *nl = memchr(inbuf, '\n', inlen);
    if (!nl)
        return 0;
    size_t n = (size_t)(nl - inbuf);
    if (n >= size)
        n = size - 1;
    memcpy(line, inbuf, n);
    line[n] = '\0';
    size_t used = (size_t)(nl - inbuf) + 1;
    inlen -= used;
    memmove(inbuf, inbuf + used, inlen);
    return 1;
}

/* Reads what stdin has within timeout_ms (-1: blocks). 0 on end of input. */
static int fill_input(int timeout_ms)
{
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc <= 0)
        return 1;
    if (inlen == sizeof inbuf)
        return 0;
    ssize_t r = read(STDIN_FILENO, inbuf + inlen, sizeof inbuf - inlen);
    if (r < 0 && errno == EINTR)
        return 1;
    if (r <= 0)
        return 0;
    inlen += (size_t)r;
    return 1;
}

static int read_line(char *line, size_t size)
{
    while (!pop_line(line, size))
        if (!fill_input(-1))
            return 0;
    return 1;
}

/* ---- replies ------------------------------------------------------------------------ */

static void format_tags(char *out, size_t size, const uint64_t *tags, const uint64_t *counts)
{
    size_t off = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < RR_MAX_TAGS && counts[i]; i++) {
        int n = snprintf(out + off, size - off, "%s%llu:%llu", i ? "," : "", (unsigned long long)tags[i],
                         (unsigned long long)counts[i]);
        if (n < 0 || (size_t)n >= size - off)
            break;
        off += (size_t)n;
    }
    if (!out[0])
        snprintf(out, size, "-");
}

/* ---- commands ---------------------------------------------------------------------------- */

static void cmd_open(const char *cmd, char *cursor)
{
    char *service, *w;
    if (!node) {
        ft_reply_err(RR_EUSAGE, "no node");
        return;
    }
    if (!ft_next_word(&cursor, &service)) {
        ft_reply_err(RR_EUSAGE, "service missing");
        return;
    }
    ferry_reqres_opts opts;
    rr_opts_default(&opts);
    while (ft_next_word(&cursor, &w)) {
        if (rr_opts_parse_word(&opts, w) != 0) {
            ft_reply_err(RR_EUSAGE, "bad option '%s'", w);
            return;
        }
    }
    int rc;
    if (strcmp(cmd, "server") == 0)
        rc = ferry_server_open(&server, node, service, &opts);
    else
        rc = ferry_client_open(&client, node, service, &opts);
    if (rc)
        ft_reply_err(rc, "%s open", cmd);
    else
        ft_reply_ok(NULL);
}

static void cmd_serve(char *cursor)
{
    uint64_t tag = (uint64_t)ft_word_ll(&cursor, 1);
    if (!server) {
        ft_reply_err(RR_EUSAGE, "no server");
        return;
    }
    ft_reply_ok(NULL);
    static struct rr_server_stats st;
    memset(&st, 0, sizeof st);
    int failed = 0;
    char line[256];
    for (;;) {
        if (pop_line(line, sizeof line))
            break;
        if (failed) {
            if (!fill_input(-1))
                exit(0);
            continue;
        }
        if (!fill_input(0))
            exit(0);
        if (pop_line(line, sizeof line))
            break;
        int rc = ferry_server_wait(server, 10000000);
        if (rc != FERRY_OK && rc != FERRY_ETIMEDOUT) {
            snprintf(st.problem, sizeof st.problem, "ferry_server_wait: %d %s", rc, ferry_last_error_message());
            failed = rc;
            continue;
        }
        rc = rr_serve_available(server, tag, &st, rr_now_ns() + 5000000000ull);
        if (rc)
            failed = rc;
    }
    if (strcmp(line, "stop") != 0) {
        ft_reply_err(RR_EUSAGE, "serving: '%s' is not stop", line);
        return;
    }
    char tags[400];
    format_tags(tags, sizeof tags, st.tags, st.counts);
    if (failed) {
        ft_reply_err(failed, "serving failed after %llu calls: %s", (unsigned long long)st.served, st.problem);
        return;
    }
    ft_reply_ok("served=%llu responses=%llu eagain=%llu disc=%llu bad=%llu held=%u clients=%s%s%s",
             (unsigned long long)st.served, (unsigned long long)st.responses, (unsigned long long)st.eagain,
             (unsigned long long)st.disconnected, (unsigned long long)st.bad, st.nheld, tags,
             st.problem[0] ? " problem: " : "", st.problem);
}

static void cmd_hold(char *cursor)
{
    long long n = ft_word_ll(&cursor, 1), ms = ft_word_ll(&cursor, 5000);
    if (!server) {
        ft_reply_err(RR_EUSAGE, "no server");
        return;
    }
    uint64_t deadline = rr_now_ns() + (uint64_t)ms * 1000000u;
    long long got = 0;
    while (got < n) {
        ferry_call call;
        const void *p;
        size_t size;
        int rc = ferry_server_take(server, &call, &p, &size);
        if (rc == FERRY_EAGAIN) {
            if (rr_now_ns() > deadline) {
                ft_reply_err(FERRY_ETIMEDOUT, "hold: %lld of %lld requests within %lld ms", got, n, ms);
                return;
            }
            ferry_server_wait(server, 10000000);
            continue;
        }
        if (rc) {
            ft_reply_err(rc, "hold: ferry_server_take");
            return;
        }
        got++;
    }
    ft_reply_ok("%lld", got);
}

static void cmd_calls(char *cursor)
{
    unsigned n = (unsigned)ft_word_ll(&cursor, 10);
    uint64_t tag = (uint64_t)ft_word_ll(&cursor, 1);
    uint32_t parts = (uint32_t)ft_word_ll(&cursor, 0), mode = (uint32_t)ft_word_ll(&cursor, RR_END_LAST);
    unsigned window = (unsigned)ft_word_ll(&cursor, 4), ms = (unsigned)ft_word_ll(&cursor, 10000);
    if (!client) {
        ft_reply_err(RR_EUSAGE, "no client");
        return;
    }
    struct rr_call_stats st;
    memset(&st, 0, sizeof st);
    char why[400];
    int rc = rr_run_calls(client, n, tag, parts, mode, window, ms, &st, why, sizeof why);
    if (rc) {
        printf("err %d calls: %s\n", rc, why);
        fflush(stdout);
        return;
    }
    char servers[400];
    format_tags(servers, sizeof servers, st.servers, st.counts);
    ft_reply_ok("calls=%llu responses=%llu servers=%s", (unsigned long long)st.calls,
             (unsigned long long)st.responses, servers);
}

static void cmd_send(char *cursor)
{
    long long n = ft_word_ll(&cursor, 1);
    uint64_t tag = (uint64_t)ft_word_ll(&cursor, 1);
    uint32_t mode = (uint32_t)ft_word_ll(&cursor, RR_END_LAST);
    if (!client) {
        ft_reply_err(RR_EUSAGE, "no client");
        return;
    }
    uint64_t first = 0, id = 0;
    for (long long i = 0; i < n; i++) {
        uint64_t seq = 1000 + (uint64_t)i;
        void *p;
        int rc = ferry_client_loan(client, rr_req_size(seq), &p);
        if (rc) {
            ft_reply_err(rc, "send: loan %lld", i);
            return;
        }
        rr_req_fill(p, tag, seq, seq, 0, mode);
        if ((rc = ferry_client_send(client, p, &id)) != FERRY_OK) {
            ft_reply_err(rc, "send: request %lld", i);
            return;
        }
        if (!first)
            first = id;
    }
    ft_reply_ok("%llu %llu", (unsigned long long)first, (unsigned long long)id);
}

static void run(char *line)
{
    char *cursor = line, *cmd;
    if (!ft_next_word(&cursor, &cmd))
        return;
    if (strcmp(cmd, "node") == 0) {
        char *name;
        if (node || !ft_next_word(&cursor, &name)) {
            ft_reply_err(RR_EUSAGE, "node: name missing or node open");
            return;
        }
        ferry_node_opts o;
        ferry_node_opts_init(&o);
        o.domain = domain;
        int rc = ferry_node_open(&node, name, &o);
        if (rc)
            ft_reply_err(rc, "ferry_node_open");
        else
            ft_reply_ok("%ld", (long)getpid());
    } else if (strcmp(cmd, "server") == 0 || strcmp(cmd, "client") == 0) {
        cmd_open(cmd, cursor);
    } else if (strcmp(cmd, "serve") == 0) {
        cmd_serve(cursor);
    } else if (strcmp(cmd, "hold") == 0) {
        cmd_hold(cursor);
    } else if (strcmp(cmd, "calls") == 0) {
        cmd_calls(cursor);
    } else if (strcmp(cmd, "send") == 0) {
        cmd_send(cursor);
    } else if (strcmp(cmd, "wait_server") == 0) {
        long long ms = ft_word_ll(&cursor, 1000);
        uint64_t t0 = rr_now_ns();
        int rc = client ? ferry_client_wait_server(client, ms * 1000000) : RR_EUSAGE;
        if (rc)
            ft_reply_err(rc, "wait_server");
        else
            ft_reply_ok("%llu", (unsigned long long)((rr_now_ns() - t0) / 1000000u));
    } else if (strcmp(cmd, "sleep") == 0) {
        long long ms = ft_word_ll(&cursor, 100);
        rr_sleep_us((unsigned)(ms * 1000));
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "close_server") == 0) {
        ferry_server_close(server);
        server = NULL;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "close_client") == 0) {
        ferry_client_close(client);
        client = NULL;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "exit") == 0) {
        ferry_node_close(node);
        exit(0);
    } else {
        ft_reply_err(RR_EUSAGE, "unknown command '%s'", cmd);
    }
}

int main(int argc, char **argv)
{
    domain = ft_side_init(argc, argv, 60);
    char line[2048];
    while (read_line(line, sizeof line))
        run(line);
    ferry_node_close(node);
    return 0;
}
