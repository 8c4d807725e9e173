/*
 * ferry_ev_peer: the other process of the event and wait tests.
 *
 * Usage: ferry_ev_peer <domain>
 * Same protocol as tests/peer/ferry_test_peer.c: one command per line on
 * stdin, one reply line per command on stdout, "ok [values]" or
 * "err <ferry code> <message>". Exits when stdin closes, on "exit" (closing
 * its node first), when its parent dies, or after 90 s at the latest.
 * Times given in ms; -1 means FERRY_FOREVER.
 *
 *   node <name>                    open the node                    -> ok <pid>
 *   pub <service> [opts...]        open the publisher               -> ok <publisher id>
 *   sub <service> [opts...]        open the subscriber              -> ok
 *   notifier <service> [max_id]    open the notifier                -> ok
 *   listener <service> [max_id]    open the listener                -> ok
 *   waitopts <spin_ns> <liveness_ns>  wait options of sub and listener -> ok
 *   subfd | listenerfd             switch the port to FD mode       -> ok <fd>
 *   send <count> [<size>]          send self-checking samples       -> ok <last seq>
 *   update                         ferry_pub_update                 -> ok
 *   subwait <ms>                   ferry_sub_wait, then (on FERRY_OK) take, check, release
 *                                  -> ok <rc> <elapsed_us> <seq> <sample timestamp_ns> <t0_ns>
 *   notify <id> [<count>]          notify count times               -> ok
 *   notifyfor <ms> <id>            answer ok, notify in a loop for ms -> second line: ok <count>
 *   listen <ms>                    ferry_listener_wait (room for 64 ids)
 *                                  -> ok <rc> <elapsed_us> <t0_ns> <n> <ids...>
 *   echo_sub <n> <ms>              n times: ferry_sub_wait(ms) on the subscriber, take
 *                                  the 8-byte round number, send it back on the publisher
 *                                  -> (at the end) ok <n> <longest wait us>
 *   echo_ev <n> <ms>               n times: ferry_listener_wait(ms), notify the same id
 *                                  back on the notifier -> (at the end) ok <n> <longest wait us>
 *   signal <pid> <ms> <every_us>   answer ok, send SIGUSR1 to pid every every_us for ms
 *                                  -> second line: ok <signals sent>
 *   after <ms> <command...>        answer ok, sleep ms, then run the command (its reply
 *                                  is a second line)
 *   close_sub | close_pub | close_notifier | close_listener     -> ok
 *   die <ms>                       answer ok, sleep, then SIGKILL itself
 *   exit                           close the node and exit 0
 */
#include <ferry/ferry.h>

#include "peer_side.h"
#include "ferry_test.h"
#include "payload.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PEER_EUSAGE (-101)
#define PEER_ECORRUPT (-102)
#define PEER_EPROTO (-103)

static const char *domain;
static ferry_node *node;
static ferry_pub *pub;
static ferry_sub *sub;
static ferry_notifier *notifier;
static ferry_listener *listener;
static uint64_t pub_seq;

static int64_t ms_to_timeout(long long ms) { return ms < 0 ? FERRY_FOREVER : (int64_t)ms * 1000000; }

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t now_ns(void) { return ft_now_ns(); }

static int send_one(size_t size)
{
    void *p = NULL;
    int rc = ferry_pub_loan(pub, size, &p);
    if (rc != FERRY_OK)
        return rc;
    ft_payload_fill(p, size, ferry_pub_id(pub), pub_seq + 1);
    rc = ferry_pub_send(pub, p);
    if (rc == FERRY_OK)
        pub_seq++;
    return rc;
}

static void cmd_subwait(char *args)
{
    int64_t timeout = ms_to_timeout(ft_word_ll(&args, -1));
    uint64_t t0 = now_ns();
    int rc = ferry_sub_wait(sub, timeout);
    uint64_t t1 = now_ns();
    uint64_t seq = 0, ts = 0;
    if (rc == FERRY_OK) {
        const void *p = NULL;
        size_t size = 0;
        int trc = ferry_sub_take(sub, &p, &size);
        if (trc != FERRY_OK) {
            ft_reply_err(trc, "take after ferry_sub_wait returned FERRY_OK");
            return;
        }
        ferry_sample_info info;
        uint64_t tag = 0;
        if (ferry_sub_sample_info(sub, p, &info) != FERRY_OK || !ft_payload_check(p, size, &tag, &seq) ||
            tag != info.publisher_id || seq != info.sequence) {
            ft_reply_err(PEER_ECORRUPT, "corrupt sample");
            return;
        }
        ts = info.timestamp_ns;
        ferry_sub_release(sub, p);
    }
    ft_reply_ok("%d %llu %llu %llu %llu", rc, (unsigned long long)((t1 - t0) / 1000u), (unsigned long long)seq,
             (unsigned long long)ts, (unsigned long long)t0);
}

static void cmd_listen(char *args)
{
    int64_t timeout = ms_to_timeout(ft_word_ll(&args, -1));
    uint32_t ids[64];
    size_t n = 0;
    uint64_t t0 = now_ns();
    int rc = ferry_listener_wait(listener, ids, 64, &n, timeout);
    uint64_t t1 = now_ns();
    char text[64 * 12 + 1];
    size_t off = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n && off < sizeof text - 12; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, " %u", (unsigned)ids[i]);
    ft_reply_ok("%d %llu %llu %zu%s", rc, (unsigned long long)((t1 - t0) / 1000u), (unsigned long long)t0, n, text);
}

static void cmd_echo_sub(char *args)
{
    long long n = ft_word_ll(&args, 1);
    int64_t timeout = ms_to_timeout(ft_word_ll(&args, 2000));
    uint64_t longest = 0;
    for (long long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        int rc = ferry_sub_wait(sub, timeout);
        uint64_t dt = now_ns() - t0;
        if (dt > longest)
            longest = dt;
        if (rc != FERRY_OK) {
            ft_reply_err(rc, "echo_sub: ferry_sub_wait in round %lld of %lld (after %llu us)", i + 1, n,
                      (unsigned long long)(dt / 1000u));
            return;
        }
        const void *p = NULL;
        size_t size = 0;
        rc = ferry_sub_take(sub, &p, &size);
        if (rc != FERRY_OK) {
            ft_reply_err(rc, "echo_sub: take in round %lld after ferry_sub_wait returned FERRY_OK", i + 1);
            return;
        }
        uint64_t round = 0;
        if (size != sizeof round) {
            ft_reply_err(PEER_ECORRUPT, "echo_sub: sample of %zu bytes", size);
            return;
        }
        memcpy(&round, p, sizeof round);
        ferry_sub_release(sub, p);
        rc = ferry_pub_send_copy(pub, &round, sizeof round);
        if (rc != FERRY_OK) {
            ft_reply_err(rc, "echo_sub: send in round %lld", i + 1);
            return;
        }
    }
    ft_reply_ok("%lld %llu", n, (unsigned long long)(longest / 1000u));
}

static void cmd_echo_ev(char *args)
{
    long long n = ft_word_ll(&args, 1);
    int64_t timeout = ms_to_timeout(ft_word_ll(&args, 2000));
    uint64_t longest = 0;
    for (long long i = 0; i < n; i++) {
        uint32_t ids[8];
        size_t count = 0;
        uint64_t t0 = now_ns();
        int rc = ferry_listener_wait(listener, ids, 8, &count, timeout);
        uint64_t dt = now_ns() - t0;
        if (dt > longest)
            longest = dt;
        if (rc != FERRY_OK) {
            ft_reply_err(rc, "echo_ev: ferry_listener_wait in round %lld of %lld (after %llu us)", i + 1, n,
                      (unsigned long long)(dt / 1000u));
            return;
        }
        if (count != 1) {
            ft_reply_err(PEER_EPROTO, "echo_ev: round %lld collected %zu ids (first %u)", i + 1, count,
                      (unsigned)ids[0]);
            return;
        }
        rc = ferry_notifier_notify(notifier, ids[0]);
        if (rc != FERRY_OK) {
            ft_reply_err(rc, "echo_ev: notify in round %lld", i + 1);
            return;
        }
    }
    ft_reply_ok("%lld %llu", n, (unsigned long long)(longest / 1000u));
}

static void run(char *line);

static void run_cmd(char *cmd, char *cursor)
{
    char *w;
    int rc;
    if (strcmp(cmd, "node") == 0) {
        ferry_node_opts opts;
        ferry_node_opts_init(&opts);
        opts.domain = domain;
        char *name = "evpeer";
        if (ft_next_word(&cursor, &w))
            name = w;
        rc = ferry_node_open(&node, name, &opts);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_node_open");
        else
            ft_reply_ok("%ld", (long)getpid());
    } else if (strcmp(cmd, "pub") == 0 || strcmp(cmd, "sub") == 0) {
        char *service;
        if (!ft_next_word(&cursor, &service)) {
            ft_reply_err(PEER_EUSAGE, "service missing");
            return;
        }
        ferry_pubsub_opts opts;
        ferry_pubsub_opts_init(&opts);
        char err[256];
        while (ft_next_word(&cursor, &w)) {
            if (ft_opts_parse_word(&opts, w, err, sizeof err) != 0) {
                ft_reply_err(PEER_EUSAGE, "%s", err);
                return;
            }
        }
        if (cmd[0] == 'p') {
            rc = ferry_pub_open(&pub, node, service, &opts);
            if (rc != FERRY_OK)
                ft_reply_err(rc, "ferry_pub_open");
            else
                ft_reply_ok("%llu", (unsigned long long)ferry_pub_id(pub));
        } else {
            rc = ferry_sub_open(&sub, node, service, &opts);
            if (rc != FERRY_OK)
                ft_reply_err(rc, "ferry_sub_open");
            else
                ft_reply_ok(NULL);
        }
    } else if (strcmp(cmd, "notifier") == 0 || strcmp(cmd, "listener") == 0) {
        char *service;
        if (!ft_next_word(&cursor, &service)) {
            ft_reply_err(PEER_EUSAGE, "service missing");
            return;
        }
        ferry_event_opts opts;
        ferry_event_opts_init(&opts);
        opts.max_event_id = (uint32_t)ft_word_ll(&cursor, opts.max_event_id);
        if (cmd[0] == 'n')
            rc = ferry_notifier_open(&notifier, node, service, &opts);
        else
            rc = ferry_listener_open(&listener, node, service, &opts);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_%s_open", cmd);
        else
            ft_reply_ok(NULL);
    } else if (strcmp(cmd, "waitopts") == 0) {
        ferry_wait_opts wo;
        ferry_wait_opts_init(&wo);
        wo.spin_ns = (int64_t)ft_word_ll(&cursor, wo.spin_ns);
        wo.liveness_ns = (int64_t)ft_word_ll(&cursor, wo.liveness_ns);
        rc = FERRY_OK;
        if (sub)
            rc = ferry_sub_set_wait_opts(sub, &wo);
        if (rc == FERRY_OK && listener)
            rc = ferry_listener_set_wait_opts(listener, &wo);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "set_wait_opts");
        else
            ft_reply_ok(NULL);
    } else if (strcmp(cmd, "subfd") == 0 || strcmp(cmd, "listenerfd") == 0) {
        int fd = cmd[0] == 's' ? ferry_sub_fd(sub) : ferry_listener_fd(listener);
        if (fd < 0)
            ft_reply_err(fd, "%s", cmd);
        else
            ft_reply_ok("%d", fd);
    } else if (strcmp(cmd, "send") == 0) {
        long long count = ft_word_ll(&cursor, 1);
        size_t size = (size_t)ft_word_ll(&cursor, 64);
        for (long long i = 0; i < count; i++) {
            rc = send_one(size);
            if (rc != FERRY_OK) {
                ft_reply_err(rc, "send %lld of %lld", i + 1, count);
                return;
            }
        }
        ft_reply_ok("%llu", (unsigned long long)pub_seq);
    } else if (strcmp(cmd, "update") == 0) {
        rc = ferry_pub_update(pub);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_pub_update");
        else
            ft_reply_ok(NULL);
    } else if (strcmp(cmd, "subwait") == 0) {
        cmd_subwait(cursor);
    } else if (strcmp(cmd, "notify") == 0) {
        uint32_t id = (uint32_t)ft_word_ll(&cursor, 0);
        long long count = ft_word_ll(&cursor, 1);
        for (long long i = 0; i < count; i++) {
            rc = ferry_notifier_notify(notifier, id);
            if (rc != FERRY_OK) {
                ft_reply_err(rc, "ferry_notifier_notify(%u)", (unsigned)id);
                return;
            }
        }
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "notifyfor") == 0) {
        long long ms = ft_word_ll(&cursor, 100);
        uint32_t id = (uint32_t)ft_word_ll(&cursor, 0);
        ft_reply_ok(NULL);
        uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
        unsigned long long count = 0;
        while (now_ns() < end) {
            rc = ferry_notifier_notify(notifier, id);
            if (rc != FERRY_OK) {
                ft_reply_err(rc, "notifyfor: ferry_notifier_notify(%u)", (unsigned)id);
                return;
            }
            count++;
        }
        ft_reply_ok("%llu", count);
    } else if (strcmp(cmd, "listen") == 0) {
        cmd_listen(cursor);
    } else if (strcmp(cmd, "echo_sub") == 0) {
        cmd_echo_sub(cursor);
    } else if (strcmp(cmd, "echo_ev") == 0) {
        cmd_echo_ev(cursor);
    } else if (strcmp(cmd, "signal") == 0) {
        pid_t pid = (pid_t)ft_word_ll(&cursor, 0);
        long long ms = ft_word_ll(&cursor, 100);
        long long every_us = ft_word_ll(&cursor, 5000);
        if (pid <= 1) {
            ft_reply_err(PEER_EUSAGE, "signal: bad pid");
            return;
        }
        ft_reply_ok(NULL);
        uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
        unsigned long long sent = 0;
        while (now_ns() < end) {
            if (kill(pid, SIGUSR1) != 0) {
                ft_reply_err(PEER_EUSAGE, "signal: kill: %s", strerror(errno));
                return;
            }
            sent++;
            struct timespec ts = {(time_t)(every_us / 1000000), (long)(every_us % 1000000) * 1000L};
            nanosleep(&ts, NULL);
        }
        ft_reply_ok("%llu", sent);
    } else if (strcmp(cmd, "after") == 0) {
        long long ms = ft_word_ll(&cursor, 0);
        ft_reply_ok(NULL);
        sleep_ms(ms);
        run(cursor);
    } else if (strcmp(cmd, "close_sub") == 0) {
        ferry_sub_close(sub);
        sub = NULL;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "close_pub") == 0) {
        ferry_pub_close(pub);
        pub = NULL;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "close_notifier") == 0) {
        ferry_notifier_close(notifier);
        notifier = NULL;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "close_listener") == 0) {
        ferry_listener_close(listener);
        listener = NULL;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "die") == 0) {
        long long ms = ft_word_ll(&cursor, 0);
        ft_reply_ok(NULL);
        sleep_ms(ms);
        raise(SIGKILL);
    } else if (strcmp(cmd, "exit") == 0) {
        ferry_node_close(node);
        exit(0);
    } else {
        ft_reply_err(PEER_EUSAGE, "unknown command '%s'", cmd);
    }
}

static void run(char *line)
{
    char *cursor = line, *cmd;
    if (!ft_next_word(&cursor, &cmd)) {
        ft_reply_err(PEER_EUSAGE, "empty command");
        return;
    }
    run_cmd(cmd, cursor);
}

int main(int argc, char **argv)
{
    domain = ft_side_init(argc, argv, 90);
    ft_side_serve(run);
    ferry_node_close(node);
    return 0;
}
