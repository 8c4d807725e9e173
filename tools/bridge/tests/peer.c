/*
 * Test helper for the ferry-bridge tests: a publisher and a checking
 * subscriber of self-verifying samples.
 *
 *   bridge_test_peer pub DOMAIN SERVICE [--size B] [--rate HZ] [--count N]
 *   bridge_test_peer sub DOMAIN SERVICE [--count N] [--tags K] [--timeout S]
 *                        [--allow-gaps] [--progress FILE]
 * common: [--max-payload B] [--queue Q] (service options; both ends must agree)
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

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "pub") && strcmp(argv[1], "sub"))) {
        fprintf(stderr, "usage: %s pub|sub DOMAIN SERVICE [options]\n", argv[0]);
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
