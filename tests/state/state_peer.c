/*
 * ferry_state_peer: the other process of the shared-state tests.
 *
 * Usage: ferry_state_peer <domain>
 * Same protocol as tests/peer/ferry_test_peer.c: one command per line on
 * stdin, one reply line per command on stdout, "ok [values]" or
 * "err <code> <message>" (codes below -100: see st_value.h). Exits when
 * stdin closes, on "exit" (closing its node first), when its parent dies,
 * or after 90 s at the latest. Values are those of st_value.h; <min> <max>
 * give the size range the writer draws sizes from (the reader derives the
 * expected size of each version from it).
 *
 *   node <name>                    open the node                        -> ok <pid>
 *   drop <uid> <gid>               give up root privileges              -> ok
 *   writer <service> [opts...]     open the writer                      -> ok <current version>
 *   reader <service> [opts...]     open the reader                      -> ok
 *        opts: size=<max_size> readers=<max_readers> type=<name> persist=<dir>
 *   publish <count> <min> <max>    publish count values                 -> ok <last version>
 *   pubfor <ms> <min> <max>        publish for ms                       -> ok <count> <last version>
 *   publoop <min> <max>            answer ok, then publish until killed (a failure answers err)
 *   read <min> <max>               one checked read                     -> ok <version> <size>
 *   readfor <ms> <min> <max>       checked reads for ms
 *        -> ok <reads> <torn> <backwards> <badsize> <distinct> <first> <last> [first problem]
 *   hold <min> <max>               read_begin, check, keep the guard    -> ok <version> <size>
 *   check                          the held value is unchanged and intact -> ok <version>
 *   end                            read_end                             -> ok
 *   wait <newer_than> <ms>         ferry_state_wait (ms -1: forever)    -> ok <rc> <elapsed_us>
 *   after <ms> <command...>        answer ok, sleep, then run the command (its reply is a second line)
 *   close_writer | close_reader    -> ok
 *   die <ms>                       answer ok, sleep, then SIGKILL itself
 *   exit                           close the node and exit 0
 */
#include <ferry/ferry.h>

#include "peer_side.h"
#include "ferry_test.h"
#include "st_value.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *domain;
static ferry_node *node;
static st_writer writer;
static ferry_state_reader *reader;
static const void *held;
static size_t held_size;
static uint64_t held_version;
static unsigned char *held_copy;

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void cmd_open(const char *cmd, char *cursor)
{
    char *service, *w;
    if (!ft_next_word(&cursor, &service)) {
        ft_reply_err(ST_EUSAGE, "service missing");
        return;
    }
    ferry_state_opts opts;
    ferry_state_opts_init(&opts);
    while (ft_next_word(&cursor, &w)) {
        if (st_opts_parse_word(&opts, w) != 0) {
            ft_reply_err(ST_EUSAGE, "bad option '%s'", w);
            return;
        }
    }
    int rc;
    if (strcmp(cmd, "writer") == 0) {
        rc = st_writer_open(&writer, node, service, &opts);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_state_writer_open");
        else
            ft_reply_ok("%llu", (unsigned long long)writer.version);
    } else {
        rc = ferry_state_reader_open(&reader, node, service, &opts);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_state_reader_open");
        else
            ft_reply_ok(NULL);
    }
}

static void cmd_readfor(char *cursor)
{
    long long ms = ft_word_ll(&cursor, 1000);
    size_t min = (size_t)ft_word_ll(&cursor, ST_VALUE_MIN);
    size_t max = (size_t)ft_word_ll(&cursor, 0);
    uint64_t end = ft_now_ns() + (uint64_t)ms * 1000000u;
    unsigned long long reads = 0, torn = 0, backwards = 0, badsize = 0, distinct = 0;
    uint64_t first = 0, last = 0;
    char problem[300] = "";
    while (ft_now_ns() < end) {
        const void *data = NULL;
        size_t size = 0;
        uint64_t v = 0;
        int rc = ferry_state_read_begin(reader, &data, &size, &v);
        if (rc == FERRY_EAGAIN)
            continue;
        if (rc != FERRY_OK) {
            ft_reply_err(rc, "readfor: ferry_state_read_begin after %llu reads", reads);
            return;
        }
        char why[256];
        int ok = st_value_check(data, size, v, why, sizeof why) && st_value_check(data, size, v, why, sizeof why);
        int size_ok = max == 0 || size == st_value_size(v, min, max);
        ferry_state_read_end(reader);
        if (ferry_last_error() != FERRY_OK) {
            ft_reply_err(ferry_last_error(), "readfor: ferry_state_read_end");
            return;
        }
        reads++;
        if (!ok) {
            torn++;
            if (!problem[0])
                snprintf(problem, sizeof problem, "torn: %s", why);
        } else if (!size_ok) {
            badsize++;
            if (!problem[0])
                snprintf(problem, sizeof problem, "version %llu has size %zu, published with %zu",
                         (unsigned long long)v, size, st_value_size(v, min, max));
        }
        if (v < last) {
            backwards++;
            if (!problem[0])
                snprintf(problem, sizeof problem, "version %llu after %llu", (unsigned long long)v,
                         (unsigned long long)last);
        }
        if (v != last)
            distinct++;
        if (!first)
            first = v;
        last = v;
    }
    ft_reply_ok("%llu %llu %llu %llu %llu %llu %llu%s%s", reads, torn, backwards, badsize, distinct,
             (unsigned long long)first, (unsigned long long)last, problem[0] ? " " : "", problem);
}

static void cmd_hold(char *cursor)
{
    size_t min = (size_t)ft_word_ll(&cursor, ST_VALUE_MIN);
    size_t max = (size_t)ft_word_ll(&cursor, 0);
    size_t size = 0;
    uint64_t v = 0;
    int rc = ferry_state_read_begin(reader, &held, &size, &v);
    if (rc != FERRY_OK) {
        ft_reply_err(rc, "hold: ferry_state_read_begin");
        return;
    }
    char why[256];
    if (!st_value_check(held, size, v, why, sizeof why) || (max && size != st_value_size(v, min, max))) {
        ft_reply_err(ST_ECORRUPT, "hold: version %llu: %s", (unsigned long long)v, why);
        return;
    }
    free(held_copy);
    held_copy = malloc(size);
    if (!held_copy) {
        ft_reply_err(ST_EUSAGE, "hold: out of memory");
        return;
    }
    memcpy(held_copy, held, size);
    held_size = size;
    held_version = v;
    ft_reply_ok("%llu %zu", (unsigned long long)v, size);
}

static void cmd_check(void)
{
    char why[256];
    if (!held) {
        ft_reply_err(ST_EUSAGE, "check: nothing held");
        return;
    }
    if (memcmp(held, held_copy, held_size) != 0) {
        size_t at = 0;
        while (at < held_size && ((const unsigned char *)held)[at] == held_copy[at])
            at++;
        ft_reply_err(ST_ECHANGED, "check: held version %llu (%zu bytes) changed at byte %zu under the guard",
                  (unsigned long long)held_version, held_size, at);
        return;
    }
    if (!st_value_check(held, held_size, held_version, why, sizeof why)) {
        ft_reply_err(ST_ECORRUPT, "check: %s", why);
        return;
    }
    ft_reply_ok("%llu", (unsigned long long)held_version);
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
        char *name = "statepeer";
        if (ft_next_word(&cursor, &w))
            name = w;
        rc = ferry_node_open(&node, name, &opts);
        if (rc != FERRY_OK)
            ft_reply_err(rc, "ferry_node_open");
        else
            ft_reply_ok("%ld", (long)getpid());
    } else if (strcmp(cmd, "drop") == 0) {
        uid_t u = (uid_t)ft_word_ll(&cursor, 65534);
        gid_t g = (gid_t)ft_word_ll(&cursor, 65534);
        if (setgroups(1, &g) != 0 || setgid(g) != 0 || setuid(u) != 0) {
            printf("err %d drop: %s\n", ST_EUSAGE, strerror(errno));
            fflush(stdout);
            return;
        }
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "writer") == 0 || strcmp(cmd, "reader") == 0) {
        cmd_open(cmd, cursor);
    } else if (strcmp(cmd, "publish") == 0) {
        long long count = ft_word_ll(&cursor, 1);
        size_t min = (size_t)ft_word_ll(&cursor, ST_VALUE_MIN);
        size_t max = (size_t)ft_word_ll(&cursor, 0);
        for (long long i = 0; i < count; i++) {
            rc = st_publish(&writer, min, max, NULL);
            if (rc != FERRY_OK) {
                ft_reply_err(rc, "publish %lld of %lld (version %llu)", i + 1, count,
                          (unsigned long long)writer.version);
                return;
            }
        }
        ft_reply_ok("%llu", (unsigned long long)writer.version);
    } else if (strcmp(cmd, "pubfor") == 0 || strcmp(cmd, "publoop") == 0) {
        int loop = cmd[3] == 'l';
        long long ms = loop ? 0 : ft_word_ll(&cursor, 1000);
        size_t min = (size_t)ft_word_ll(&cursor, ST_VALUE_MIN);
        size_t max = (size_t)ft_word_ll(&cursor, 0);
        if (loop)
            ft_reply_ok(NULL);
        uint64_t end = ft_now_ns() + (uint64_t)ms * 1000000u;
        unsigned long long count = 0;
        while (loop || ft_now_ns() < end) {
            rc = st_publish(&writer, min, max, NULL);
            if (rc != FERRY_OK) {
                ft_reply_err(rc, "%s: publish %llu (version %llu)", cmd, count + 1,
                          (unsigned long long)writer.version);
                return;
            }
            count++;
        }
        ft_reply_ok("%llu %llu", count, (unsigned long long)writer.version);
    } else if (strcmp(cmd, "read") == 0) {
        size_t min = (size_t)ft_word_ll(&cursor, ST_VALUE_MIN);
        size_t max = (size_t)ft_word_ll(&cursor, 0);
        uint64_t v = 0;
        size_t size = 0;
        char why[256] = "";
        rc = st_read(reader, min, max, &v, &size, why, sizeof why);
        if (rc == ST_ECORRUPT)
            ft_reply_err(rc, "read: %s", why);
        else if (rc != FERRY_OK)
            ft_reply_err(rc, "read");
        else
            ft_reply_ok("%llu %zu", (unsigned long long)v, size);
    } else if (strcmp(cmd, "readfor") == 0) {
        cmd_readfor(cursor);
    } else if (strcmp(cmd, "hold") == 0) {
        cmd_hold(cursor);
    } else if (strcmp(cmd, "check") == 0) {
        cmd_check();
    } else if (strcmp(cmd, "end") == 0) {
        ferry_state_read_end(reader);
        held = NULL;
        if (ferry_last_error() != FERRY_OK)
            ft_reply_err(ferry_last_error(), "ferry_state_read_end");
        else
            ft_reply_ok(NULL);
    } else if (strcmp(cmd, "wait") == 0) {
        uint64_t newer = (uint64_t)ft_word_ll(&cursor, 0);
        long long ms = ft_word_ll(&cursor, -1);
        uint64_t t0 = ft_now_ns();
        rc = ferry_state_wait(reader, newer, ms < 0 ? FERRY_FOREVER : (int64_t)ms * 1000000);
        ft_reply_ok("%d %llu", rc, (unsigned long long)((ft_now_ns() - t0) / 1000u));
    } else if (strcmp(cmd, "after") == 0) {
        long long ms = ft_word_ll(&cursor, 0);
        ft_reply_ok(NULL);
        sleep_ms(ms);
        run(cursor);
    } else if (strcmp(cmd, "close_writer") == 0) {
        ferry_state_writer_close(writer.w);
        writer.w = NULL;
        ft_reply_ok(NULL);
    } else if (strcmp(cmd, "close_reader") == 0) {
        ferry_state_reader_close(reader);
        reader = NULL;
        held = NULL;
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
        ft_reply_err(ST_EUSAGE, "unknown command '%s'", cmd);
    }
}

static void run(char *line)
{
    char *cursor = line, *cmd;
    if (!ft_next_word(&cursor, &cmd)) {
        ft_reply_err(ST_EUSAGE, "empty command");
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
