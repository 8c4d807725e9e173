/*
 * Test helper for the ferry-bridge tests: a publisher and a checking
 * subscriber of self-verifying samples, a notifier and a listener, a server
 * and a checking client.
 *
 *   bridge_test_peer pub DOMAIN SERVICE [--size B] [--rate HZ] [--count N]
 *   bridge_test_peer sub DOMAIN SERVICE [--count N] [--tags K] [--timeout S]
 *                        [--allow-gaps] [--progress FILE]
 * common: [--max-payload B] [--queue Q] (service options; both ends must agree)
 *
 *   bridge_test_peer notify DOMAIN SERVICE --ids A,B,... [--rate HZ]
 *       raises each id in turn until SIGTERM
 *   bridge_test_peer listen DOMAIN SERVICE --ids A,B,... [--timeout S]
 *       succeeds once every id was heard; "--ids none": succeeds when
 *       nothing at all is heard for S seconds
 *   bridge_test_peer serve DOMAIN SERVICE [--parts K] [--hold-ms MS]
 *       answers each request with K responses (the last one LAST), after
 *       MS ms; until SIGTERM, then prints served=N
 *   bridge_test_peer call DOMAIN SERVICE [--count N] [--parts K] [--timeout S]
 *                         [--expect-disconnect]
 *       waits for a server, makes N calls one after another and checks
 *       each one's K responses; with --expect-disconnect, succeeds when its
 *       one call fails with FERRY_EDISCONNECTED instead
 * A request: u64 number, u64 tag, filler; a response: u64 number, u32 part,
 * u32 parts, u64 FNV-1a of the request.
 *
 * A sample: u64 counter (1, 2, ...), u64 tag (random per publisher), filler
 * derived from counter, u64 FNV-1a of everything before it. The subscriber
 * checks the checksum, that counters of a tag strictly increase (a repeat is
 * a duplicate, a backwards step a reordering) and, unless --allow-gaps, that
 * none is skipped after the first one seen. It succeeds once K tags each
 * reached N samples (or at SIGTERM/SIGINT when N is 0), printing a summary:
 *   received=R bad=B dup=D reorder=O gaps=G tags=T
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

static volatile sig_atomic_t g_stop;
static void on_signal(int s)
{
    (void)s;
    g_stop = 1;
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct tagstat {
    uint64_t tag, last, count;
};


/* ---- events and calls --------------------------------------------------------- */

struct xopts {
    uint32_t ids[64];
    size_t nids;
    int ids_none;
    double rate, timeout;
    unsigned long long count;
    unsigned parts, hold_ms;
    int expect_disconnect;
};

static int parse_xopts(int argc, char **argv, struct xopts *x)
{
    *x = (struct xopts){.rate = 200, .timeout = 20, .count = 1, .parts = 1};
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--expect-disconnect")) {
            x->expect_disconnect = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "%s needs a value\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--ids")) {
            if (!strcmp(v, "none")) {
                x->ids_none = 1;
                continue;
            }
            for (const char *p = v; *p && x->nids < 64;) {
                char *end;
                x->ids[x->nids++] = (uint32_t)strtoul(p, &end, 10);
                p = *end == ',' ? end + 1 : end;
                if (end == p && *p)
                    return -1;
            }
        } else if (!strcmp(a, "--rate"))
            x->rate = strtod(v, NULL);
        else if (!strcmp(a, "--timeout"))
            x->timeout = strtod(v, NULL);
        else if (!strcmp(a, "--count"))
            x->count = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--parts"))
            x->parts = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--hold-ms"))
            x->hold_ms = (unsigned)strtoul(v, NULL, 10);
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return -1;
        }
    }
    return x->parts >= 1 ? 0 : -1;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static int run_notify(ferry_node *node, const char *service, const struct xopts *x)
{
    ferry_notifier *n = NULL;
    if (x->nids == 0 || ferry_notifier_open(&n, node, service, NULL) != FERRY_OK) {
        fprintf(stderr, "peer notify: %s\n", x->nids ? ferry_last_error_message() : "--ids needed");
        return 1;
    }
    unsigned long long sent = 0;
    for (size_t k = 0; !g_stop; k = (k + 1) % x->nids) {
        if (ferry_notifier_notify(n, x->ids[k]) != FERRY_OK) {
            fprintf(stderr, "peer notify: %s\n", ferry_last_error_message());
            return 1;
        }
        sent++;
        sleep_ns((uint64_t)(1e9 / x->rate));
    }
    printf("notified=%llu\n", sent);
    ferry_notifier_close(n);
    return 0;
}

static int run_listen(ferry_node *node, const char *service, const struct xopts *x)
{
    ferry_listener *l = NULL;
    if (ferry_listener_open(&l, node, service, NULL) != FERRY_OK) {
        fprintf(stderr, "peer listen: %s\n", ferry_last_error_message());
        return 1;
    }
    int heard[64] = {0};
    unsigned long long total = 0, strangers = 0;
    uint64_t deadline = now_ns() + (uint64_t)(x->timeout * 1e9);
    size_t missing = x->nids;
    while (!g_stop && now_ns() < deadline && (x->ids_none || missing)) {
        uint32_t ids[128];
        size_t count = 0;
        if (ferry_listener_wait(l, ids, 128, &count, 50000000) != FERRY_OK)
            continue;
        for (size_t i = 0; i < count; i++) {
            if (ids[i] == FERRY_EVENT_PEER_GONE)
                continue;
            total++;
            int known = 0;
            for (size_t k = 0; k < x->nids; k++)
                if (ids[i] == x->ids[k]) {
                    known = 1;
                    if (!heard[k]++)
                        missing--;
                }
            strangers += !known;
        }
    }
    printf("heard=%llu strangers=%llu missing=%zu\n", total, strangers, missing);
    ferry_listener_close(l);
    if (x->ids_none)
        return total == 0 ? 0 : 1;
    return missing == 0 && strangers == 0 ? 0 : 1;
}

static void fill_request(unsigned char *p, uint64_t number, uint64_t tag)
{
    memcpy(p, &number, 8);
    memcpy(p + 8, &tag, 8);
    for (size_t i = 16; i < 64; i++)
        p[i] = (unsigned char)(number * 7 + i);
}

static int run_serve(ferry_node *node, const char *service, const struct xopts *x)
{
    ferry_server *s = NULL;
    if (ferry_server_open(&s, node, service, NULL) != FERRY_OK) {
        fprintf(stderr, "peer serve: %s\n", ferry_last_error_message());
        return 1;
    }
    unsigned long long served = 0, failed = 0;
    while (!g_stop) {
        if (ferry_server_wait(s, 50000000) != FERRY_OK)
            continue;
        ferry_call call;
        const void *req;
        size_t size;
        while (!g_stop && ferry_server_take(s, &call, &req, &size) == FERRY_OK) {
            uint64_t number = 0, sum = fnv(req, size);
            if (size >= 8)
                memcpy(&number, req, 8);
            for (unsigned t = 0; t < x->hold_ms && !g_stop; t++)
                sleep_ns(1000000);
            for (uint32_t part = 0; part < x->parts; part++) {
                unsigned char resp[24];
                memcpy(resp, &number, 8);
                memcpy(resp + 8, &part, 4);
                memcpy(resp + 12, &x->parts, 4);
                memcpy(resp + 16, &sum, 8);
                unsigned flags = part + 1 == x->parts ? FERRY_RESPONSE_LAST : 0;
                int rc;
                while ((rc = ferry_server_respond_copy(s, call, resp, sizeof resp, flags)) == FERRY_EAGAIN && !g_stop)
                    sleep_ns(1000000);
                failed += rc != FERRY_OK;
            }
            ferry_server_finish(s, call);
            served++;
        }
    }
    printf("served=%llu failed=%llu\n", served, failed);
    ferry_server_close(s);
    return 0;
}

static int run_call(ferry_node *node, const char *service, const struct xopts *x)
{
    ferry_client *c = NULL;
    if (ferry_client_open(&c, node, service, NULL) != FERRY_OK) {
        fprintf(stderr, "peer call: %s\n", ferry_last_error_message());
        return 1;
    }
    uint64_t deadline = now_ns() + (uint64_t)(x->timeout * 1e9), tag = now_ns() ^ ((uint64_t)getpid() << 40);
    unsigned long long ok = 0, bad = 0, disconnected = 0, refused = 0;
    int rc = ferry_client_wait_server(c, (int64_t)(x->timeout * 1e9));
    for (uint64_t number = 1; rc == FERRY_OK && !g_stop && number <= x->count && now_ns() < deadline; number++) {
        unsigned char req[64];
        fill_request(req, number, tag);
        uint64_t id = 0, sum = fnv(req, sizeof req);
        int sent;
        while ((sent = ferry_client_send_copy(c, req, sizeof req, &id)) == FERRY_ENOTFOUND && now_ns() < deadline)
            sleep_ns(10000000); /* the stand-in is being replaced: wait for the next */
        if (sent != FERRY_OK) {
            refused++;
            break;
        }
        uint32_t next_part = 0;
        for (int done = 0; !done && !g_stop && now_ns() < deadline;) {
            if (ferry_client_wait(c, 50000000) != FERRY_OK)
                continue;
            uint64_t got = 0;
            const void *resp = NULL;
            size_t size = 0;
            int last = 0;
            int t = ferry_client_take(c, &got, &resp, &size, &last);
            if (t == FERRY_EAGAIN)
                continue;
            if (t == FERRY_EDISCONNECTED && got == id) {
                disconnected++;
                done = 1;
                continue;
            }
            if (t != FERRY_OK || got != id) {
                fprintf(stderr, "peer call %llu: take returned %d (%s), call %llu, expected %llu\n",
                        (unsigned long long)number, t, ferry_last_error_message(), (unsigned long long)got,
                        (unsigned long long)id);
                bad++;
                ferry_client_release(c, resp);
                done = 1;
                continue;
            }
            uint64_t n = 0, s = 0;
            uint32_t part = 0, parts = 0;
            if (resp && size == 24) {
                memcpy(&n, resp, 8);
                memcpy(&part, (const char *)resp + 8, 4);
                memcpy(&parts, (const char *)resp + 12, 4);
                memcpy(&s, (const char *)resp + 16, 8);
            }
            ferry_client_release(c, resp);
            if (n != number || part != next_part || parts != x->parts || s != sum ||
                last != (part + 1 == x->parts)) {
                fprintf(stderr, "peer call %llu: response %u of %u (last %d, size %zu) does not match\n",
                        (unsigned long long)number, part, parts, last, size);
                bad++;
                done = 1;
                continue;
            }
            next_part++;
            if (last) {
                ok++;
                done = 1;
            }
        }
        if (disconnected || next_part != x->parts)
            break;
    }
    printf("calls_ok=%llu bad=%llu disconnected=%llu refused=%llu%s\n", ok, bad, disconnected, refused,
           rc == FERRY_OK ? "" : " (no server)");
    ferry_client_close(c);
    if (x->expect_disconnect)
        return disconnected == 1 && bad == 0 ? 0 : 1;
    return ok == x->count && bad == 0 && disconnected == 0 ? 0 : 1;
}

static int run_other(const char *mode, const char *domain, const char *service, int argc, char **argv)
{
    struct xopts x;
    if (parse_xopts(argc, argv, &x) != 0) {
        fprintf(stderr, "bad options for %s\n", mode);
        return 2;
    }
    ferry_node_opts no;
    ferry_node_opts_init(&no);
    no.domain = domain;
    ferry_node *node = NULL;
    if (ferry_node_open(&node, mode, &no) != FERRY_OK) {
        fprintf(stderr, "peer: %s\n", ferry_last_error_message());
        return 1;
    }
    int rc = !strcmp(mode, "notify")   ? run_notify(node, service, &x)
             : !strcmp(mode, "listen") ? run_listen(node, service, &x)
             : !strcmp(mode, "serve")  ? run_serve(node, service, &x)
                                       : run_call(node, service, &x);
    ferry_node_close(node);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && (!strcmp(argv[1], "notify") || !strcmp(argv[1], "listen") || !strcmp(argv[1], "serve") ||
                      !strcmp(argv[1], "call"))) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        return run_other(argv[1], argv[2], argv[3], argc, argv);
    }
    if (argc < 4 || (strcmp(argv[1], "pub") && strcmp(argv[1], "sub"))) {
        fprintf(stderr, "usage: %s pub|sub|notify|listen|serve|call DOMAIN SERVICE [options]\n", argv[0]);
        return 2;
    }
    int is_pub = !strcmp(argv[1], "pub");
    const char *domain = argv[2], *service = argv[3], *progress = NULL;
    size_t size = 64, max_payload = 4096;
    double rate = 1000, timeout = 20;
    unsigned long long count = 0;
    unsigned queue = 256, tags_wanted = 1;
    int allow_gaps = 0;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--allow-gaps")) {
            allow_gaps = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "%s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--size"))
            size = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--rate"))
            rate = strtod(v, NULL);
        else if (!strcmp(a, "--count"))
            count = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--tags"))
            tags_wanted = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--timeout"))
            timeout = strtod(v, NULL);
        else if (!strcmp(a, "--max-payload"))
            max_payload = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--queue"))
            queue = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--progress"))
            progress = v;
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    if (size < 24 || size > max_payload || tags_wanted == 0 || tags_wanted > 16) {
        fprintf(stderr, "bad --size / --tags\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    ferry_node_opts no;
    ferry_node_opts_init(&no);
    no.domain = domain;
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = max_payload;
    o.queue_capacity = queue;
    ferry_node *node = NULL;
    if (ferry_node_open(&node, is_pub ? "test-pub" : "test-sub", &no) != FERRY_OK) {
        fprintf(stderr, "peer: %s\n", ferry_last_error_message());
        return 1;
    }
    int rc = 0;
    if (is_pub) {
        ferry_pub *pub = NULL;
        if (ferry_pub_open(&pub, node, service, &o) != FERRY_OK) {
            fprintf(stderr, "peer pub: %s\n", ferry_last_error_message());
            ferry_node_close(node);
            return 1;
        }
        uint64_t tag = now_ns() ^ ((uint64_t)getpid() << 40);
        uint64_t period = rate > 0 ? (uint64_t)(1e9 / rate) : 0, next = now_ns();
        for (uint64_t n = 1; !g_stop && (count == 0 || n <= count); n++) {
            unsigned char *p = NULL;
            if (ferry_pub_loan(pub, size, (void **)&p) != FERRY_OK) {
                fprintf(stderr, "peer pub: loan: %s\n", ferry_last_error_message());
                rc = 1;
                break;
            }
            memcpy(p, &n, 8);
            memcpy(p + 8, &tag, 8);
            for (size_t i = 16; i < size - 8; i++)
                p[i] = (unsigned char)(n * 31 + i);
            uint64_t h = fnv(p, size - 8);
            memcpy(p + size - 8, &h, 8);
            ferry_pub_send(pub, p);
            if (period) {
                next += period;
                uint64_t t = now_ns();
                if (next > t) {
                    struct timespec ts = {(time_t)((next - t) / 1000000000u), (long)((next - t) % 1000000000u)};
                    nanosleep(&ts, NULL);
                }
            }
        }
        ferry_node_close(node);
        return rc;
    }

    ferry_sub *sub = NULL;
    if (ferry_sub_open(&sub, node, service, &o) != FERRY_OK) {
        fprintf(stderr, "peer sub: %s\n", ferry_last_error_message());
        ferry_node_close(node);
        return 1;
    }
    struct tagstat tags[16];
    unsigned ntags = 0;
    unsigned long long received = 0, bad = 0, dup = 0, reorder = 0, gaps = 0;
    uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
    int done = 0;
    while (!g_stop && !done && now_ns() < deadline) {
        int w = ferry_sub_wait(sub, 50000000);
        if (w != FERRY_OK)
            continue;
        const void *pv = NULL;
        size_t sz = 0;
        while (ferry_sub_take(sub, &pv, &sz) == FERRY_OK) {
            const unsigned char *p = pv;
            uint64_t n, tag, h;
            received++;
            if (sz < 24) {
                bad++;
                ferry_sub_release(sub, pv);
                continue;
            }
            memcpy(&n, p, 8);
            memcpy(&tag, p + 8, 8);
            memcpy(&h, p + sz - 8, 8);
            int ok = h == fnv(p, sz - 8);
            for (size_t i = 16; ok && i < sz - 8; i++)
                ok = p[i] == (unsigned char)(n * 31 + i);
            ferry_sub_release(sub, pv);
            if (!ok) {
                bad++;
                continue;
            }
            struct tagstat *t = NULL;
            for (unsigned i = 0; i < ntags; i++)
                if (tags[i].tag == tag)
                    t = &tags[i];
            if (!t) {
                if (ntags == 16) {
                    bad++;
                    continue;
                }
                t = &tags[ntags++];
                *t = (struct tagstat){tag, n, 1};
                continue;
            }
            if (n == t->last)
                dup++;
            else if (n < t->last)
                reorder++;
            else {
                gaps += n - t->last - 1;
                t->last = n;
                t->count++;
            }
        }
        if (progress) {
            /* written aside, then renamed: a reader never sees half a file */
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s.tmp", progress);
            FILE *f = fopen(tmp, "w");
            if (f) {
                unsigned long long m = 0;
                for (unsigned i = 0; i < ntags; i++)
                    m += tags[i].count;
                fprintf(f, "%llu\n", m);
                fclose(f);
                rename(tmp, progress);
            }
        }
        if (count && ntags >= tags_wanted) {
            done = 1;
            for (unsigned i = 0; i < ntags; i++)
                if (tags[i].count < count)
                    done = 0;
        }
    }
    printf("received=%llu bad=%llu dup=%llu reorder=%llu gaps=%llu tags=%u", received, bad, dup, reorder,
           gaps, ntags);
    for (unsigned i = 0; i < ntags; i++)
        printf(" tag%u=%llu", i, (unsigned long long)tags[i].count);
    printf("\n");
    if (bad || dup || reorder || (!allow_gaps && gaps) || ntags < tags_wanted || (count && !done))
        rc = 1;
    if (!count && received == 0)
        rc = 1;
    ferry_node_close(node);
    return rc;
}
