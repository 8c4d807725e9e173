/*
 * ferry_test_peer: the other process of the multi-process tests.
 *
 * Usage: ferry_test_peer <domain>
 * Reads one command per line on stdin, answers one line per command on
 * stdout: "ok [values]" or "err <ferry code> <message>". Exits when stdin
 * closes or on "exit" (closing its node first).
 *
 *   node <name> [mode=<octal>] [group=<gid>]   open the node   -> ok <node id> <pid>
 *   pub <service> [opts...]                    open a publisher -> ok <publisher id>
 *   sub <service> [opts...]                    open a subscriber -> ok
 *        opts: type= payload= align= hist= q= pubs= subs= loans= borrowed= overflow=drop|block
 *   send <count> [<size>]      send count self-checking samples -> ok <last sequence>
 *   sendloop [<size>]          answer ok, then send until killed
 *   update                     ferry_pub_update                 -> ok
 *   take <count> [<ms>]        take count samples and keep them -> ok <n> <first seq> <last seq>
 *   recv <count> [<ms>]        take, check, release count samples -> ok <n> <first seq> <last seq>
 *   release_all                release every kept sample        -> ok
 *   substats                   -> ok <received> <lost> <publishers> <borrowed>
 *   pubstats                   -> ok <sent> <subscribers> <loans>
 *   drop <uid> <gid>           give up root privileges          -> ok
 *   cleanup                    ferry_cleanup of the domain      -> ok <removed>
 *   nodes                      ferry_node_list -> ok <count> [<pid>:<alive> ...]
 *   scribble                   take a sample and write into it (the mapping is
 *                              read-only: this should kill the peer)   -> ok if it survived
 *   fork_child <ms>            fork a child that only sleeps ms and exits
 *                              (keeps inherited descriptors) -> ok <child pid>
 *   die <ms>                   answer ok, sleep, then SIGKILL itself
 *   close                      close the node                   -> ok
 *   exit                       close the node and exit 0
 * Error codes below -100 are the peer's own (bad command, corrupt sample).
 */
#include <ferry/ferry.h>

#include "peer_side.h"
#include "ferry_test.h"
#include "payload.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PEER_EUSAGE (-101)
#define PEER_ECORRUPT (-102)
#define MAX_KEPT 256

static const char *domain;
static ferry_node *node;
static ferry_pub *pub;
static ferry_sub *sub;
static uint64_t pub_seq;
static const void *kept[MAX_KEPT];
static int n_kept;

struct node_listing {
    int count;
    char text[1024];
};

static int list_node(const ferry_node_info *info, void *user)
{
    struct node_listing *l = user;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof l->text - len, " %ld:%d", info->pid, info->alive);
    l->count++;
    return 0;
}

static int parse_opts(char *cursor, ferry_pubsub_opts *opts)
{
    ferry_pubsub_opts_init(opts);
    char *w;
    char err[256];
    while (ft_next_word(&cursor, &w)) {
        if (ft_opts_parse_word(opts, w, err, sizeof err) != 0) {
            printf("err %d %s\n", PEER_EUSAGE, err);
            fflush(stdout);
            return -1;
        }
    }
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

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

/* Takes one sample (waiting up to ms), checks it; 0 and its sequence, or a code. */
static int take_one(unsigned ms, const void **out, uint64_t *seq)
{
    const void *p = NULL;
    size_t size = 0;
    int rc = ft_take_wait(sub, &p, &size, ms);
    if (rc != FERRY_OK)
        return rc;
    ferry_sample_info info;
    rc = ferry_sub_sample_info(sub, p, &info);
    if (rc != FERRY_OK)
        return rc;
    uint64_t tag = 0, s = 0;
    if (!ft_payload_check(p, size, &tag, &s) || tag != info.publisher_id || s != info.sequence ||
        info.size != size)
        return PEER_ECORRUPT;
    *out = p;
    *seq = s;
    return FERRY_OK;
}

static void cmd_take(char *args, int keep)
{
    char *w;
    unsigned count = 1, ms = FT_WAIT_MS;
    if (ft_next_word(&args, &w))
        count = (unsigned)strtoul(w, NULL, 0);
    if (ft_next_word(&args, &w))
        ms = (unsigned)strtoul(w, NULL, 0);
    uint64_t first = 0, last = 0;
    for (unsigned i = 0; i < count; i++) {
        const void *p;
        uint64_t seq;
        int rc = take_one(ms, &p, &seq);
        if (rc != FERRY_OK) {
            char what[64];
            snprintf(what, sizeof what, "take %u of %u", i + 1, count);
            ft_reply_err(rc, "%s", what);
            return;
        }
        if (i == 0)
            first = seq;
        last = seq;
        if (keep && n_kept < MAX_KEPT)
            kept[n_kept++] = p;
        else
            ferry_sub_release(sub, p);
    }
    ft_reply_ok("%u %llu %llu", count, (unsigned long long)first, (unsigned long long)last);
}

static void run(char *line)
{
    char *cursor = line, *cmd;
    if (!ft_next_word(&cursor, &cmd)) {
        ft_reply_err(PEER_EUSAGE, "empty command");
        return;
    }
    char *w;
    int rc;
    if (strcmp(cmd, "node") == 0) {
        ferry_node_opts opts;
        ferry_node_opts_init(&opts);
        opts.domain = domain;
        char *name = "peer";
        if (ft_next_word(&cursor, &w))
            name = w;
        while (ft_next_word(&cursor, &w)) {
            if (strncmp(w, "mode=", 5) == 0)
                opts.mode = (unsigned)strtoul(w + 5, NULL, 8);
            else if (strncmp(w, "group=", 6) == 0)
                opts.group = strtol(w + 6, NULL, 10);
        }
        rc = ferry_node_open(&node, name, &opts);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_node_open");
        else
            ft_reply_ok("%llu %ld", (unsigned long long)ferry_node_id(node), (long)getpid());
    } else if (strcmp(cmd, "pub") == 0 || strcmp(cmd, "sub") == 0) {
        char *service;
        ferry_pubsub_opts opts;
        if (!ft_next_word(&cursor, &service)) {
            ft_reply_err(PEER_EUSAGE, "service missing");
            return;
        }
        if (parse_opts(cursor, &opts) != 0)
            return;
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
    } else if (strcmp(cmd, "send") == 0) {
        unsigned count = 1;
        size_t size = 64;
        if (ft_next_word(&cursor, &w))
            count = (unsigned)strtoul(w, NULL, 0);
        if (ft_next_word(&cursor, &w))
            size = (size_t)strtoul(w, NULL, 0);
        for (unsigned i = 0; i < count; i++) {
            rc = send_one(size);
            if (rc != FERRY_OK) {
                ft_reply_err(rc, "send");
                return;
            }
        }
        ft_reply_ok("%llu", (unsigned long long)pub_seq);
    } else if (strcmp(cmd, "sendloop") == 0) {
        size_t max = 256;
        if (ft_next_word(&cursor, &w))
            max = (size_t)strtoul(w, NULL, 0);
        ft_reply_ok(NULL);
        for (;;) {
            rc = send_one(ft_payload_size(pub_seq + 1, FT_PAYLOAD_MIN, max));
            if (rc != FERRY_OK) {
                ft_reply_err(rc, "sendloop");
                return;
            }
        }
    } else if (strcmp(cmd, "update") == 0) {
        rc = ferry_pub_update(pub);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_pub_update");
        else
            ft_reply_ok(NULL);
    } else if (strcmp(cmd, "take") == 0) {
        cmd_take(cursor, 1);
    } else if (strcmp(cmd, "recv") == 0) {
        cmd_take(cursor, 0);
    } else if (strcmp(cmd, "release_all") == 0) {
        for (int i = 0; i < n_kept; i++)
            ferry_sub_release(sub, kept[i]);
        n_kept = 0;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "substats") == 0) {
        ferry_sub_stats st;
        rc = ferry_sub_stats_get(sub, &st);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_sub_stats_get");
        else
            ft_reply_ok("%llu %llu %u %u", (unsigned long long)st.received, (unsigned long long)st.lost,
                     (unsigned)st.publishers, (unsigned)st.borrowed);
    } else if (strcmp(cmd, "pubstats") == 0) {
        ferry_pub_stats st;
        rc = ferry_pub_stats_get(pub, &st);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_pub_stats_get");
        else
            ft_reply_ok("%llu %u %u", (unsigned long long)st.sent, (unsigned)st.subscribers,
                     (unsigned)st.loans);
    } else if (strcmp(cmd, "drop") == 0) {
        char *u, *g;
        if (!ft_next_word(&cursor, &u) || !ft_next_word(&cursor, &g)) {
            ft_reply_err(PEER_EUSAGE, "drop <uid> <gid>");
            return;
        }
        gid_t gid = (gid_t)strtoul(g, NULL, 10);
        uid_t uid = (uid_t)strtoul(u, NULL, 10);
        if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
            printf("err %d drop: %s\n", PEER_EUSAGE, strerror(errno));
            fflush(stdout);
            return;
        }
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "cleanup") == 0) {
        unsigned removed = 0;
        rc = ferry_cleanup(domain, &removed);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_cleanup");
        else
            ft_reply_ok("%u", removed);
    } else if (strcmp(cmd, "nodes") == 0) {
        struct node_listing l;
        memset(&l, 0, sizeof l);
        rc = ferry_node_list(domain, list_node, &l);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_node_list");
        else
            ft_reply_ok("%d%s", l.count, l.text);
    } else if (strcmp(cmd, "scribble") == 0) {
        const void *p = NULL;
        rc = ft_take_wait(sub, &p, NULL, FT_WAIT_MS);
        if (rc != FERRY_OK) {
            ft_reply_err(rc, "scribble: take");
            return;
        }
        volatile unsigned char *target = (volatile unsigned char *)(uintptr_t)p;
        target[0] = (unsigned char)(target[0] ^ 0xff);
        ft_reply_ok("survived");
    } else if (strcmp(cmd, "fork_child") == 0) {
        unsigned ms = 1000;
        if (ft_next_word(&cursor, &w))
            ms = (unsigned)strtoul(w, NULL, 0);
        fflush(stdout);
        pid_t child = fork();
        if (child < 0) {
            printf("err %d fork: %s\n", PEER_EUSAGE, strerror(errno));
            fflush(stdout);
            return;
        }
        if (child == 0) {
            /* A helper process that does not use ferry: it only waits. It
             * must not answer on the pipe or outlive the test for long. */
            sleep_ms(ms);
            _exit(0);
        }
        ft_reply_ok("%ld", (long)child);
    } else if (strcmp(cmd, "die") == 0) {
        unsigned ms = 0;
        if (ft_next_word(&cursor, &w))
            ms = (unsigned)strtoul(w, NULL, 0);
        ft_reply_ok(NULL);
        sleep_ms(ms);
        raise(SIGKILL);
    } else if (strcmp(cmd, "close") == 0) {
        ferry_node_close(node);
        node = NULL;
        pub = NULL;
        sub = NULL;
        n_kept = 0;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "exit") == 0) {
        ferry_node_close(node);
        exit(0);
    } else {
        ft_reply_err(PEER_EUSAGE, "unknown command");
    }
}

int main(int argc, char **argv)
{
    domain = ft_side_init(argc, argv, 90);
    ft_side_serve(run);
    ferry_node_close(node);
    return 0;
}
