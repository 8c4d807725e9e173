/*
 * ferry-bridge-bench: one-way latency and throughput of a sample carried by
 * two ferry-bridge processes over TCP loopback (publisher in domain A,
 * subscriber in domain B), next to plain ZeroMQ PUB/SUB over the same
 * loopback in the same run, for 64 B and 1 MiB.
 *
 *   ferry-bridge-bench PATH/TO/ferry-bridge [--quick] [--only 64|1m] [--spin-us US]
 *                      [--queue N] [--block] [--shared-context] [--calls]
 *
 * Latency: one sample in flight at a time; the sender writes CLOCK_MONOTONIC
 * into the payload and the receiver (same process) subtracts it on arrival.
 * Throughput: a sender thread sends as fast as it can for a fixed time; the
 * receiver counts what arrives (both paths drop rather than block, so the
 * rate is the delivered rate; deliv% is received / sent). The ferry services
 * at both ends have queue_capacity 8 and DROP_OLDEST unless --queue and
 * --block say otherwise: with --block the publisher waits for bridge A
 * instead of overwriting what it has not taken yet, and what the link cannot
 * carry is dropped at bridge A's ZeroMQ socket, as plain ZeroMQ's PUB drops
 * at its own.
 *
 * --calls adds 64 B request-response round trips, one call at a time: a
 * ferry client in domain B calling a server in domain A through the bridges'
 * stand-in, next to ZeroMQ REQ/REP over TCP loopback (REP in a thread with a
 * context of its own).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include <ferry/ferry.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct lat {
    double median_us, p99_us;
    int n, lost;
};

static struct lat summarize(uint64_t *v, int n, int lost)
{
    struct lat l = {0, 0, n, lost};
    if (n > 0) {
        qsort(v, (size_t)n, sizeof *v, cmp_u64);
        l.median_us = (double)v[n / 2] / 1e3;
        l.p99_us = (double)v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3;
    }
    return l;
}

struct tput {
    double msgs_s, mb_s, delivered_pct;
};

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* ---- plain ZeroMQ ------------------------------------------------------------ */

/* The PUB and the SUB socket have a context (and so a ZeroMQ I/O thread)
 * each, as two processes or two machines would: with one shared context a
 * single I/O thread would serve both ends of the TCP connection, a hop that
 * no real deployment (and not the bridged path, with its two bridges) has. */
struct zpair {
    void *ctx_pub, *ctx_sub, *pub, *sub;
};
static int shared_context;      /* --shared-context */
static uint32_t local_queue = 8; /* --queue */
static int local_block;          /* --block */

static int zpair_open(struct zpair *z)
{
    char ep[64];
    size_t len = sizeof ep;
    int hwm = 1000, to = 1000;
    z->ctx_pub = zmq_ctx_new();
    z->ctx_sub = shared_context ? z->ctx_pub : zmq_ctx_new();
    z->pub = zmq_socket(z->ctx_pub, ZMQ_PUB);
    z->sub = zmq_socket(z->ctx_sub, ZMQ_SUB);
    zmq_setsockopt(z->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(z->sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(z->sub, ZMQ_RCVTIMEO, &to, sizeof to);
    zmq_setsockopt(z->sub, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_bind(z->pub, "tcp://127.0.0.1:*") != 0 || zmq_getsockopt(z->pub, ZMQ_LAST_ENDPOINT, ep, &len) != 0 ||
        zmq_connect(z->sub, ep) != 0) {
        fprintf(stderr, "bench: zmq setup: %s\n", zmq_strerror(errno));
        return -1;
    }
    /* slow joiner: send until one arrives */
    char b = 0;
    for (int i = 0; i < 500; i++) {
        zmq_send(z->pub, &b, 1, ZMQ_DONTWAIT);
        if (zmq_recv(z->sub, &b, 1, ZMQ_DONTWAIT) >= 0)
            break;
        usleep(10000);
    }
    while (zmq_recv(z->sub, &b, 1, ZMQ_DONTWAIT) >= 0) {
    }
    return 0;
}

static void zpair_close(struct zpair *z)
{
    int zero = 0;
    zmq_setsockopt(z->pub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(z->sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(z->pub);
    zmq_close(z->sub);
    zmq_ctx_term(z->ctx_pub);
    if (z->ctx_sub != z->ctx_pub)
        zmq_ctx_term(z->ctx_sub);
}

static struct lat zmq_latency(struct zpair *z, size_t size, int iters)
{
    unsigned char *buf = calloc(1, size), *rbuf = malloc(size);
    uint64_t *v = calloc((size_t)iters, sizeof *v);
    int n = 0, lost = 0;
    for (int i = 0; i < iters; i++) {
        uint64_t t = now_ns();
        memcpy(buf, &t, 8);
        zmq_send(z->pub, buf, size, 0);
        int got;
        /* skip a late 1-byte probe of the slow-joiner loop in zpair_open */
        while ((got = zmq_recv(z->sub, rbuf, size, 0)) >= 0 && (size_t)got != size) {
        }
        if (got < 0) {
            lost++;
            continue;
        }
        uint64_t t0;
        memcpy(&t0, rbuf, 8);
        v[n++] = now_ns() - t0;
    }
    struct lat l = summarize(v, n, lost);
    free(buf);
    free(rbuf);
    free(v);
    return l;
}

struct sender {
    void *zpub;            /* ZeroMQ, or */
    ferry_pub *fpub;       /* ferry */
    size_t size;
    uint64_t duration_ns;
    _Atomic uint64_t sent;
    _Atomic int done;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    unsigned char *buf = calloc(1, s->size);
    uint64_t end = now_ns() + s->duration_ns, sent = 0;
    while (now_ns() < end) {
        for (int k = 0; k < 16; k++) {
            if (s->zpub) {
                if (zmq_send(s->zpub, buf, s->size, 0) >= 0)
                    sent++;
            } else {
                void *p = NULL;
                if (ferry_pub_loan(s->fpub, s->size, &p) == FERRY_OK) {
                    memcpy(p, buf, 16);
                    if (ferry_pub_send(s->fpub, p) == FERRY_OK)
                        sent++;
                }
            }
        }
    }
    atomic_store(&s->sent, sent);
    atomic_store(&s->done, 1);
    free(buf);
    return NULL;
}

/* Counts until the sender is done and nothing came for 300 ms. */
static struct tput finish_tput(struct sender *s, uint64_t received, uint64_t t0, uint64_t tlast)
{
    struct tput t = {0, 0, 0};
    double secs = (double)(tlast - t0) / 1e9;
    if (secs > 0) {
        t.msgs_s = (double)received / secs;
        t.mb_s = t.msgs_s * (double)s->size / 1e6;
    }
    uint64_t sent = atomic_load(&s->sent);
    if (sent)
        t.delivered_pct = 100.0 * (double)(received < sent ? received : sent) / (double)sent;
    return t;
}

static struct tput zmq_throughput(struct zpair *z, size_t size, uint64_t dur)
{
    struct sender s = {.zpub = z->pub, .size = size, .duration_ns = dur};
    pthread_t th;
    unsigned char *rbuf = malloc(size);
    int to = 300;
    zmq_setsockopt(z->sub, ZMQ_RCVTIMEO, &to, sizeof to);
    uint64_t t0 = now_ns(), tlast = t0, received = 0;
    pthread_create(&th, NULL, sender_main, &s);
    for (;;) {
        if (zmq_recv(z->sub, rbuf, size, 0) >= 0) {
            received++;
            tlast = now_ns();
        } else if (atomic_load(&s.done)) {
            break;
        }
    }
    pthread_join(th, NULL);
    free(rbuf);
    to = 1000;
    zmq_setsockopt(z->sub, ZMQ_RCVTIMEO, &to, sizeof to);
    return finish_tput(&s, received, t0, tlast);
}

/* ---- through two bridges --------------------------------------------------------- */

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

struct fpair {
    ferry_node *na, *nb;
    ferry_pub *pub;
    ferry_sub *sub;
};

static int fpair_open(struct fpair *f, const char *da, const char *db, const char *service, size_t max_payload)
{
    ferry_node_opts no;
    ferry_pubsub_opts o;
    ferry_node_opts_init(&no);
    ferry_pubsub_opts_init(&o);
    o.max_payload = max_payload;
    o.queue_capacity = local_queue;
    o.overflow = local_block ? FERRY_OVERFLOW_BLOCK : FERRY_OVERFLOW_DROP_OLDEST;
    o.max_subscribers = 4;
    no.domain = da;
    if (ferry_node_open(&f->na, "bench-a", &no) != FERRY_OK)
        return -1;
    no.domain = db;
    if (ferry_node_open(&f->nb, "bench-b", &no) != FERRY_OK || ferry_sub_open(&f->sub, f->nb, service, &o) != FERRY_OK ||
        ferry_pub_open(&f->pub, f->na, service, &o) != FERRY_OK)
        return -1;
    /* wait until the path through both bridges carries samples */
    for (int i = 0; i < 1000; i++) {
        void *p = NULL;
        if (ferry_pub_loan(f->pub, 8, &p) == FERRY_OK) {
            memset(p, 0, 8);
            ferry_pub_send(f->pub, p);
        }
        if (ferry_sub_wait(f->sub, 10000000) == FERRY_OK) {
            const void *q;
            usleep(100000);
            while (ferry_sub_take(f->sub, &q, NULL) == FERRY_OK)
                ferry_sub_release(f->sub, q);
            return 0;
        }
    }
    fprintf(stderr, "bench: nothing came through the bridges\n");
    return -1;
}

static void fpair_close(struct fpair *f)
{
    ferry_node_close(f->na);
    ferry_node_close(f->nb);
}

static struct lat bridge_latency(struct fpair *f, size_t size, int iters)
{
    uint64_t *v = calloc((size_t)iters, sizeof *v);
    int n = 0, lost = 0;
    for (int i = 0; i < iters; i++) {
        void *p = NULL;
        if (ferry_pub_loan(f->pub, size, &p) != FERRY_OK) {
            lost++;
            continue;
        }
        uint64_t t = now_ns();
        memcpy(p, &t, 8);
        ferry_pub_send(f->pub, p);
        if (ferry_sub_wait(f->sub, 1000000000) != FERRY_OK) {
            lost++;
            continue;
        }
        const void *q;
        if (ferry_sub_take(f->sub, &q, NULL) == FERRY_OK) {
            uint64_t t0;
            memcpy(&t0, q, 8);
            v[n++] = now_ns() - t0;
            ferry_sub_release(f->sub, q);
        }
    }
    struct lat l = summarize(v, n, lost);
    free(v);
    return l;
}

static struct tput bridge_throughput(struct fpair *f, size_t size, uint64_t dur)
{
    struct sender s = {.fpub = f->pub, .size = size, .duration_ns = dur};
    pthread_t th;
    uint64_t t0 = now_ns(), tlast = t0, received = 0;
    pthread_create(&th, NULL, sender_main, &s);
    for (;;) {
        if (ferry_sub_wait(f->sub, 300000000) == FERRY_OK) {
            const void *q;
            while (ferry_sub_take(f->sub, &q, NULL) == FERRY_OK) {
                ferry_sub_release(f->sub, q);
                received++;
                tlast = now_ns();
            }
        } else if (atomic_load(&s.done) && now_ns() - tlast > 300000000u) {
            break;
        }
    }
    pthread_join(th, NULL);
    return finish_tput(&s, received, t0, tlast);
}

/* ---- calls (--calls) ------------------------------------------------------------- */

/* A server that answers every request with one response, its own bytes
 * (ferry: in domain A, reached from domain B through the bridges; ZeroMQ: a
 * REP socket in a context of its own). Round trips are measured one call at
 * a time, the client blocking as an ordinary one would. */
struct echo {
    const char *domain, *service;
    void *zrep;
    _Atomic int stop, ready;
};

static void *ferry_echo_main(void *arg)
{
    struct echo *e = arg;
    ferry_node_opts no;
    ferry_node_opts_init(&no);
    no.domain = e->domain;
    ferry_node *node = NULL;
    ferry_server *s = NULL;
    if (ferry_node_open(&node, "bench-server", &no) != FERRY_OK || ferry_server_open(&s, node, e->service, NULL) != FERRY_OK) {
        fprintf(stderr, "bench: echo server: %s\n", ferry_last_error_message());
        atomic_store(&e->ready, -1);
        ferry_node_close(node);
        return NULL;
    }
    atomic_store(&e->ready, 1);
    while (!atomic_load(&e->stop)) {
        if (ferry_server_wait(s, 100000000) != FERRY_OK)
            continue;
        ferry_call call;
        const void *req;
        size_t size;
        while (ferry_server_take(s, &call, &req, &size) == FERRY_OK) {
            ferry_server_respond_copy(s, call, req, size, FERRY_RESPONSE_LAST);
            ferry_server_finish(s, call);
        }
    }
    ferry_node_close(node);
    return NULL;
}

static void *zmq_echo_main(void *arg)
{
    struct echo *e = arg;
    unsigned char buf[4096];
    while (!atomic_load(&e->stop)) {
        int n = zmq_recv(e->zrep, buf, sizeof buf, 0);
        if (n >= 0)
            zmq_send(e->zrep, buf, (size_t)n, 0);
    }
    return NULL;
}

static struct lat zmq_call_rtt(size_t size, int iters)
{
    void *cs = zmq_ctx_new(), *cc = zmq_ctx_new();
    void *rep = zmq_socket(cs, ZMQ_REP), *req = zmq_socket(cc, ZMQ_REQ);
    int to = 200, zero = 0;
    char ep[64];
    size_t len = sizeof ep;
    zmq_setsockopt(rep, ZMQ_RCVTIMEO, &to, sizeof to);
    zmq_bind(rep, "tcp://127.0.0.1:*");
    zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, ep, &len);
    zmq_connect(req, ep);
    struct echo e = {.zrep = rep};
    pthread_t th;
    pthread_create(&th, NULL, zmq_echo_main, &e);
    unsigned char *buf = calloc(1, size), *rbuf = malloc(size);
    uint64_t *v = calloc((size_t)iters, sizeof *v);
    int n = 0;
    for (int i = 0; i < iters; i++) {
        uint64_t t = now_ns();
        zmq_send(req, buf, size, 0);
        if (zmq_recv(req, rbuf, size, 0) >= 0)
            v[n++] = now_ns() - t;
    }
    struct lat l = summarize(v, n, iters - n);
    atomic_store(&e.stop, 1);
    pthread_join(th, NULL);
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(req);
    zmq_close(rep);
    zmq_ctx_term(cc);
    zmq_ctx_term(cs);
    free(buf);
    free(rbuf);
    free(v);
    return l;
}

static struct lat bridge_call_rtt(const char *da, const char *db, size_t size, int iters)
{
    struct lat l = {0, 0, 0, iters};
    struct echo e = {.domain = da, .service = "bench/rr"};
    pthread_t th;
    pthread_create(&th, NULL, ferry_echo_main, &e);
    while (!atomic_load(&e.ready))
        usleep(1000);
    ferry_node_opts no;
    ferry_node_opts_init(&no);
    no.domain = db;
    ferry_node *node = NULL;
    ferry_client *c = NULL;
    if (atomic_load(&e.ready) < 0 || ferry_node_open(&node, "bench-client", &no) != FERRY_OK ||
        ferry_client_open(&c, node, "bench/rr", NULL) != FERRY_OK ||
        ferry_client_wait_server(c, 10000000000ll) != FERRY_OK) {
        fprintf(stderr, "bench: no stand-in for bench/rr: %s\n", ferry_last_error_message());
    } else {
        unsigned char *buf = calloc(1, size);
        uint64_t *v = calloc((size_t)iters, sizeof *v);
        int n = 0;
        for (int i = 0; i < iters; i++) {
            uint64_t t = now_ns(), id;
            if (ferry_client_send_copy(c, buf, size, &id) != FERRY_OK)
                continue;
            for (int last = 0; !last;) {
                uint64_t got;
                const void *r;
                size_t sz;
                if (ferry_client_wait(c, 1000000000) != FERRY_OK)
                    break;
                int rc = ferry_client_take(c, &got, &r, &sz, &last);
                if (rc == FERRY_EAGAIN)
                    continue;
                ferry_client_release(c, r);
                if (rc != FERRY_OK)
                    break;
                if (last)
                    v[n++] = now_ns() - t;
            }
        }
        l = summarize(v, n, iters - n);
        free(buf);
        free(v);
    }
    atomic_store(&e.stop, 1);
    pthread_join(th, NULL);
    ferry_node_close(node);
    return l;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(stderr,
                "usage: %s PATH/TO/ferry-bridge [--quick] [--only 64|1m] [--spin-us US] [--queue N] [--block]\n"
                "          [--shared-context]\n"
                "  --quick           fewer samples, shorter throughput runs\n"
                "  --only 64|1m      one payload size only\n"
                "  --queue N         queue_capacity of the ferry services at both ends (default 8, 1..4096)\n"
                "  --block           the ferry services use FERRY_OVERFLOW_BLOCK (default DROP_OLDEST)\n"
                "  --spin-us US      passed to both bridges (default: not given, i.e. 0)\n"
                "  --shared-context  plain ZeroMQ PUB and SUB share one context and I/O thread\n"
                "                    (how this benchmark measured before; see docs/bridge.md)\n"
                "  --calls           also 64 B request-response round trips: a ferry call through\n"
                "                    the bridges (both then bind and connect) next to ZeroMQ REQ/REP\n",
                argv[0]);
        return argc < 2 ? 2 : 0;
    }
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* The same allocator settings as ferry-bridge (see there), so that plain
     * ZeroMQ, whose frames are allocated in this process, is not slowed by
     * page faults the bridges avoid. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
    int quick = 0, calls = 0;
    const char *only = NULL;
    char *spin = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--shared-context")) {
            shared_context = 1;
        } else if (!strcmp(argv[i], "--spin-us") && i + 1 < argc) {
            spin = argv[++i];
        } else if (!strcmp(argv[i], "--queue") && i + 1 < argc && atoi(argv[i + 1]) >= 1 &&
                   atoi(argv[i + 1]) <= 4096) {
            local_queue = (uint32_t)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--block")) {
            local_block = 1;
        } else if (!strcmp(argv[i], "--calls")) {
            calls = 1;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc &&
                   (!strcmp(argv[i + 1], "64") || !strcmp(argv[i + 1], "1m"))) {
            only = argv[++i];
        } else {
            fprintf(stderr, "%s: unexpected argument \"%s\" (try --help)\n", argv[0], argv[i]);
            return 2;
        }
    }
    char da[33], db[33], bind_ep[64], conn_ep[64];
    snprintf(da, sizeof da, "brbenchA%d", (int)getpid());
    snprintf(db, sizeof db, "brbenchB%d", (int)getpid());
    int port = free_port();
    snprintf(bind_ep, sizeof bind_ep, "tcp://127.0.0.1:%d", port);
    snprintf(conn_ep, sizeof conn_ep, "tcp://127.0.0.1:%d", port);
    /* Calls need both bridges to hear each other: B binds too, A connects. */
    char bind_b[64], conn_b[64];
    int port_b = free_port();
    snprintf(bind_b, sizeof bind_b, "tcp://127.0.0.1:%d", port_b);
    snprintf(conn_b, sizeof conn_b, "tcp://127.0.0.1:%d", port_b);
    char *spin_a[] = {spin ? "--spin-us" : NULL, spin, NULL};
    char *argv_a[16] = {argv[1], "--domain", da, "--bind", bind_ep, "--export", "bench/*", "--scan-ms", "20"};
    char *argv_b[16] = {argv[1], "--domain", db, "--connect", conn_ep, "--import", "bench/*"};
    int na = 9, nb = 7;
    if (calls) {
        argv_a[na++] = "--connect";
        argv_a[na++] = conn_b;
        argv_b[nb++] = "--bind";
        argv_b[nb++] = bind_b;
    }
    for (int k = 0; spin_a[k]; k++) {
        argv_a[na++] = spin_a[k];
        argv_b[nb++] = spin_a[k];
    }
    pid_t pa = spawn(argv_a), pb = spawn(argv_b);

    static const struct {
        const char *name, *service;
        size_t size;
        int iters;
    } cases[] = {{"64 B", "bench/s64", 64, 5000}, {"1 MiB", "bench/s1m", 1 << 20, 300}};
    uint64_t dur = quick ? 300000000u : 1000000000u;
    int rc = 0;
    printf("%-6s %-12s %12s %12s %8s %14s %10s %7s\n", "size", "path", "lat p50 us", "lat p99 us", "lost",
           "msgs/s", "MB/s", "deliv%");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (only && (cases[c].size == 64) != (strcmp(only, "64") == 0))
            continue;
        int iters = quick ? cases[c].iters / 5 : cases[c].iters;
        struct zpair z;
        if (zpair_open(&z) != 0) {
            rc = 1;
            break;
        }
        struct lat zl = zmq_latency(&z, cases[c].size, iters);
        struct tput zt = zmq_throughput(&z, cases[c].size, dur);
        zpair_close(&z);
        printf("%-6s %-12s %12.1f %12.1f %8d %14.0f %10.1f %7.1f\n", cases[c].name, "zmq pub/sub", zl.median_us,
               zl.p99_us, zl.lost, zt.msgs_s, zt.mb_s, zt.delivered_pct);

        struct fpair f = {0};
        if (fpair_open(&f, da, db, cases[c].service, cases[c].size) != 0) {
            fprintf(stderr, "bench: ferry setup: %s\n", ferry_last_error_message());
            fpair_close(&f);
            rc = 1;
            break;
        }
        struct lat fl = bridge_latency(&f, cases[c].size, iters);
        struct tput ft = bridge_throughput(&f, cases[c].size, dur);
        fpair_close(&f);
        printf("%-6s %-12s %12.1f %12.1f %8d %14.0f %10.1f %7.1f\n", cases[c].name, "ferry-bridge", fl.median_us,
               fl.p99_us, fl.lost, ft.msgs_s, ft.mb_s, ft.delivered_pct);
        fflush(stdout);
    }
    if (calls && rc == 0) {
        int iters = quick ? 400 : 2000;
        struct lat zc = zmq_call_rtt(64, iters), fc = bridge_call_rtt(da, db, 64, iters);
        printf("%-6s %-12s %12.1f %12.1f %8d   (round trips, not one-way)\n", "64 B", "zmq req/rep", zc.median_us,
               zc.p99_us, zc.lost);
        printf("%-6s %-12s %12.1f %12.1f %8d   (round trips, not one-way)\n", "64 B", "ferry call", fc.median_us,
               fc.p99_us, fc.lost);
        if (fc.n == 0)
            rc = 1;
    }
    kill(pa, SIGTERM);
    kill(pb, SIGTERM);
    waitpid(pa, NULL, 0);
    waitpid(pb, NULL, 0);
    return rc;
}
