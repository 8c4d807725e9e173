/*
 * ferry-bridge: carries publish-subscribe services between machines over
 * ZeroMQ. One process per host and domain; see docs/bridge.md.
 *
 * Single thread: one zmq_poll over the SUB socket and the fds of the local
 * subscribers (ferry_sub_fd). Samples of exported services are copied into a
 * one-frame ZeroMQ message (topic, header, payload, see wire.h) and sent on
 * the bound PUB socket without ever waiting; messages received on the SUB
 * socket (connected to the peers) are republished into the local domain by
 * one local publisher per service, opened with the options the message carries.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include <ferry/ferry.h>

#include "wire.h"

#define EXIT_USAGE 2
#define DEDUP_SLOTS 32

static const char usage_text[] =
    "usage: ferry-bridge [--domain D] [--bind ENDPOINT] [--connect ENDPOINT]...\n"
    "                    [--service NAME|GLOB]... [--export NAME|GLOB]... [--import NAME|GLOB]...\n"
    "                    [--curve-secret FILE [--curve-peer-public FILE]...] [options]\n"
    "       ferry-bridge --config FILE [options]\n"
    "       ferry-bridge --keygen PREFIX     writes PREFIX.secret (0600) and PREFIX.public\n"
    "\n"
    "Carries ferry publish-subscribe services between hosts over ZeroMQ: samples of the\n"
    "exported services go out on the bound PUB socket; samples received from the peers\n"
    "(SUB socket connected to each --connect) are republished into the local domain.\n"
    "\n"
    "options:\n"
    "  -d, --domain D             local ferry domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "  -b, --bind ENDPOINT        ZeroMQ endpoint to publish on, e.g. tcp://127.0.0.1:7400\n"
    "  -c, --connect ENDPOINT     a peer bridge's --bind endpoint (repeatable)\n"
    "  -s, --service PAT          export and import services matching PAT (repeatable);\n"
    "                             PAT is a name or a glob (*, ?, [...]; * also matches /)\n"
    "  -e, --export PAT           only send services matching PAT to the peers\n"
    "  -i, --import PAT           only republish services matching PAT from the peers\n"
    "  -f, --config FILE          read options from FILE: one \"option value\" a line\n"
    "                             (long option names without --), # comments\n"
    "      --curve-secret FILE    enable CURVE: this bridge's secret key (Z85, 40 chars)\n"
    "      --curve-peer-public F  the public key of the peer(s): once for all --connect,\n"
    "                             or once per --connect in the same order\n"
    "      --keygen PREFIX        generate a key pair (zmq_curve_keypair) and exit\n"
    "      --hwm N                ZeroMQ send/receive high-water mark, messages (default 1000)\n"
    "      --scan-ms MS           how often the service listing is checked (default 250)\n"
    "      --stats S              print counters on stderr every S seconds (default: at exit)\n"
    "      --spin-us US           after traffic, poll without sleeping for US microseconds\n"
    "                             (default 0): lower latency for a steady stream, at the\n"
    "                             cost of a busy core; only worth it with cores to spare\n"
    "  -v, --verbose              log every service opened\n"
    "  -h, --help                 this help\n"
    "\n"
    "CURVE is off by default: without it, traffic is plain text and anyone who can\n"
    "reach the bound port can subscribe. SIGINT/SIGTERM stop the bridge cleanly.\n"
    "\n"
    "exit codes: 0 stopped by a signal, 1 runtime error, 2 usage error\n";

/* ---- configuration ---------------------------------------------------------- */

enum { DIR_EXPORT = 1, DIR_IMPORT = 2 };

struct pattern {
    char *text;
    int dir;
};

struct config {
    char *domain;
    char *bind;
    char **connect;
    size_t nconnect;
    struct pattern *pats;
    size_t npats;
    char *curve_secret;
    char **curve_peer;
    size_t ncurve_peer;
    int hwm;
    int scan_ms;
    int stats_s;
    int spin_us;
    int verbose;
};

static struct config cfg = {.hwm = 1000, .scan_ms = 250};
static volatile sig_atomic_t g_stop;

static void die_oom(void)
{
    fprintf(stderr, "ferry-bridge: out of memory\n");
    exit(1);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die_oom();
    return d;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        die_oom();
    return q;
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ferry-bridge: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        logmsg("--%s: expected an integer in %d..%d, got \"%s\"", opt, lo, hi, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static void add_pattern(const char *text, int dir)
{
    cfg.pats = xrealloc(cfg.pats, (cfg.npats + 1) * sizeof *cfg.pats);
    cfg.pats[cfg.npats].text = xstrdup(text);
    cfg.pats[cfg.npats].dir = dir;
    cfg.npats++;
}

static int read_config(const char *path, int depth);

/* Applies one option by its long name; 0 ok, -1 usage error. */
static int apply_option(const char *name, const char *v, int depth)
{
    if (!strcmp(name, "domain")) {
        free(cfg.domain);
        cfg.domain = xstrdup(v);
    } else if (!strcmp(name, "bind")) {
        free(cfg.bind);
        cfg.bind = xstrdup(v);
    } else if (!strcmp(name, "connect")) {
        cfg.connect = xrealloc(cfg.connect, (cfg.nconnect + 1) * sizeof *cfg.connect);
        cfg.connect[cfg.nconnect++] = xstrdup(v);
    } else if (!strcmp(name, "service")) {
        add_pattern(v, DIR_EXPORT | DIR_IMPORT);
    } else if (!strcmp(name, "export")) {
        add_pattern(v, DIR_EXPORT);
    } else if (!strcmp(name, "import")) {
        add_pattern(v, DIR_IMPORT);
    } else if (!strcmp(name, "curve-secret")) {
        free(cfg.curve_secret);
        cfg.curve_secret = xstrdup(v);
    } else if (!strcmp(name, "curve-peer-public")) {
        cfg.curve_peer = xrealloc(cfg.curve_peer, (cfg.ncurve_peer + 1) * sizeof *cfg.curve_peer);
        cfg.curve_peer[cfg.ncurve_peer++] = xstrdup(v);
    } else if (!strcmp(name, "hwm")) {
        return parse_int(name, v, 0, 100000000, &cfg.hwm);
    } else if (!strcmp(name, "scan-ms")) {
        return parse_int(name, v, 10, 3600000, &cfg.scan_ms);
    } else if (!strcmp(name, "stats")) {
        return parse_int(name, v, 0, 86400, &cfg.stats_s);
    } else if (!strcmp(name, "spin-us")) {
        return parse_int(name, v, 0, 1000000, &cfg.spin_us);
    } else if (!strcmp(name, "verbose")) {
        cfg.verbose = 1;
    } else if (!strcmp(name, "config")) {
        return read_config(v, depth + 1);
    } else {
        logmsg("unknown option \"%s\"", name);
        return -1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int read_config(const char *path, int depth)
{
    if (depth > 4) {
        logmsg("%s: config files nested too deeply", path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        logmsg("cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *sp = s + strcspn(s, " \t");
        char *value = "";
        if (*sp) {
            *sp = '\0';
            value = trim(sp + 1);
        }
        if (*value == '\0' && strcmp(s, "verbose") != 0) {
            logmsg("%s:%d: option \"%s\" needs a value", path, lineno, s);
            rc = -1;
        } else if (apply_option(s, value, depth) != 0) {
            logmsg("%s:%d: invalid line", path, lineno);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

static int read_key(const char *path, char key[41])
{
    FILE *f = fopen(path, "r");
    if (!f) {
        logmsg("cannot open key file %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[128] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = trim(buf);
    if (strlen(s) != 40) {
        logmsg("%s: expected a 40-character Z85 CURVE key (see --keygen)", path);
        return -1;
    }
    uint8_t bin[32];
    if (!zmq_z85_decode(bin, s)) {
        logmsg("%s: not a valid Z85 key", path);
        return -1;
    }
    memcpy(key, s, 41);
    return 0;
}

static int write_key(const char *path, const char *key, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        logmsg("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    char line[48];
    int n = snprintf(line, sizeof line, "%s\n", key);
    int ok = write(fd, line, (size_t)n) == n;
    close(fd);
    if (!ok) {
        logmsg("cannot write %s", path);
        return -1;
    }
    return 0;
}

static int keygen(const char *prefix)
{
    char pub[41], sec[41];
    if (zmq_curve_keypair(pub, sec) != 0) {
        logmsg("zmq_curve_keypair: %s (libzmq built without CURVE?)", zmq_strerror(errno));
        return 1;
    }
    size_t n = strlen(prefix) + 8;
    char *ps = xrealloc(NULL, n), *pp = xrealloc(NULL, n);
    snprintf(ps, n, "%s.secret", prefix);
    snprintf(pp, n, "%s.public", prefix);
    int rc = write_key(ps, sec, 0600) == 0 && write_key(pp, pub, 0644) == 0 ? 0 : 1;
    if (rc == 0)
        printf("secret key: %s\npublic key: %s (%s)\n", ps, pp, pub);
    free(ps);
    free(pp);
    return rc;
}

static int is_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int wanted(const char *service, int dir)
{
    for (size_t i = 0; i < cfg.npats; i++) {
        const struct pattern *p = &cfg.pats[i];
        if (!(p->dir & dir))
            continue;
        if (is_glob(p->text) ? fnmatch(p->text, service, 0) == 0 : strcmp(p->text, service) == 0)
            return 1;
    }
    return 0;
}

static int is_loopback(const char *ep)
{
    static const char *const ok[] = {"tcp://127.", "tcp://localhost:", "tcp://[::1]:", "ipc://",
                                     "inproc://"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strncmp(ep, ok[i], strlen(ok[i])))
            return 1;
    return 0;
}

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t random_id(void)
{
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
            v = 0;
        close(fd);
    }
    if (v == 0)
        v = now_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
    return v;
}

/* ---- runtime state ---------------------------------------------------------- */

struct seen {
    uint64_t origin, publisher, last_seq, used;
};

/* Remembers the newest sequence per (origin, publisher); 1 when seq was
 * already seen (a duplicate), 0 when it is new (and records it). */
static int dedup(struct seen *tab, uint64_t *tick, uint64_t origin, uint64_t publisher, uint64_t seq)
{
    struct seen *victim = &tab[0];
    for (int i = 0; i < DEDUP_SLOTS; i++) {
        struct seen *s = &tab[i];
        if (s->used && s->origin == origin && s->publisher == publisher) {
            s->used = ++*tick;
            if (seq != 0 && seq <= s->last_seq)
                return 1;
            s->last_seq = seq;
            return 0;
        }
        if (s->used < victim->used)
            victim = s;
    }
    victim->origin = origin;
    victim->publisher = publisher;
    victim->last_seq = seq;
    victim->used = ++*tick;
    return 0;
}

struct fwd { /* an exported local service */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    char type[FERRY_TYPE_NAME_MAX + 1];
    ferry_pubsub_opts opts;
    ferry_sub *sub;
    int fd;
    uint64_t open_ns;
    /* Topic, NUL and header prepared once at open (head_len bytes): per
     * sample they are copied into the frame and the publisher, sequence,
     * timestamp, size and forward time patched in. */
    unsigned char head[FYB_TOPIC_PREFIX_LEN + FERRY_SERVICE_NAME_MAX + 1 + FYB_HEADER_SIZE];
    size_t head_len;
    struct seen seen[DEDUP_SLOTS];
    uint64_t tick;
    uint64_t forwarded, own, dup, old, dropped;
};

struct rep { /* an imported service, republished locally */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    size_t name_len;
    ferry_pub *pub;
    uint64_t id;
    uint64_t retry_ns; /* open failed: do not retry before */
    struct seen seen[DEDUP_SLOTS];
    uint64_t tick;
    uint64_t republished, dup, dropped;
};

static struct {
    uint64_t origin;
    ferry_node *node;
    void *zctx, *pub, *sub;
    int nodrop; /* ZMQ_XPUB_NODROP is on: a full link makes zmq_send fail, counted */
    /* The link was full (zmq_send EAGAIN): until this time DROP_OLDEST
     * services are left alone (see drain_fwd). */
    uint64_t link_full_until;
    struct fwd **fwds;
    size_t nfwd;
    struct rep **reps;
    size_t nrep;
    uint64_t rx, rx_bad, rx_loop, rx_unwanted;
} B;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int is_own_publisher(uint64_t id)
{
    for (size_t i = 0; i < B.nrep; i++)
        if (B.reps[i]->pub && B.reps[i]->id == id)
            return 1;
    return 0;
}

/* ---- exporting --------------------------------------------------------------- */

struct scan_hit {
    char name[FERRY_SERVICE_NAME_MAX + 1];
    char type[FERRY_TYPE_NAME_MAX + 1];
    ferry_pubsub_opts opts;
};

struct scan_list {
    struct scan_hit *v;
    size_t n;
};

static int find_fwd(const char *name)
{
    for (size_t i = 0; i < B.nfwd; i++)
        if (!strcmp(B.fwds[i]->name, name))
            return (int)i;
    return -1;
}

static int scan_cb(const ferry_service_info *info, void *user)
{
    struct scan_list *l = user;
    if (info->pattern != FERRY_PATTERN_PUBSUB || !wanted(info->name, DIR_EXPORT) ||
        find_fwd(info->name) >= 0)
        return 0;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    struct scan_hit *h = &l->v[l->n++];
    snprintf(h->name, sizeof h->name, "%s", info->name);
    snprintf(h->type, sizeof h->type, "%s", info->type_name);
    h->opts = info->opts;
    h->opts.type_name = NULL;
    return 0;
}

/* Opens a subscriber on every exported service that appeared since the last scan. */
static void scan_services(void)
{
    struct scan_list l = {0};
    int rc = ferry_service_list(cfg.domain, scan_cb, &l);
    if (rc != FERRY_OK) {
        logmsg("listing domain services failed: %s", ferry_last_error_message());
        free(l.v);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        struct fwd *f = calloc(1, sizeof *f);
        if (!f)
            die_oom();
        snprintf(f->name, sizeof f->name, "%s", l.v[i].name);
        snprintf(f->type, sizeof f->type, "%s", l.v[i].type);
        f->opts = l.v[i].opts;
        f->opts.type_name = f->type;
        f->open_ns = now_ns(CLOCK_MONOTONIC);
        if (ferry_sub_open(&f->sub, B.node, f->name, &f->opts) != FERRY_OK) {
            logmsg("cannot subscribe to %s: %s", f->name, ferry_last_error_message());
            free(f);
            continue;
        }
        size_t topic_len = (size_t)snprintf((char *)f->head, sizeof f->head, FYB_TOPIC_PREFIX "%s", f->name);
        f->head[topic_len] = '\0';
        f->head_len = topic_len + 1 + FYB_HEADER_SIZE;
        fyb_header h = {0};
        h.origin = B.origin;
        h.max_payload = f->opts.max_payload;
        h.alignment = (uint32_t)f->opts.alignment;
        h.history = f->opts.history;
        h.queue_capacity = f->opts.queue_capacity;
        h.max_publishers = f->opts.max_publishers;
        h.max_subscribers = f->opts.max_subscribers;
        h.max_loans = f->opts.max_loans;
        h.max_borrowed = f->opts.max_borrowed;
        h.overflow = (uint32_t)f->opts.overflow;
        snprintf(h.type_name, sizeof h.type_name, "%s", f->type);
        fyb_encode(f->head + topic_len + 1, &h);
        f->fd = ferry_sub_fd(f->sub);
        if (f->fd < 0) {
            logmsg("ferry_sub_fd(%s): %s", f->name, ferry_last_error_message());
            ferry_sub_close(f->sub);
            free(f);
            continue;
        }
        B.fwds = xrealloc(B.fwds, (B.nfwd + 1) * sizeof *B.fwds);
        B.fwds[B.nfwd++] = f;
        if (cfg.verbose)
            logmsg("exporting %s (type %s, max_payload %zu)", f->name, f->type, f->opts.max_payload);
    }
    free(l.v);
}

/* How long DROP_OLDEST services are not drained after the link was found
 * full. While they wait, their publishers go on, and the bridge's subscriber
 * queue keeps the newest samples (the older ones are lost there, counted as
 * overrun_out) instead of the bridge spinning on take + a failing zmq_send
 * for every sample, which starved the ZeroMQ I/O threads of CPU. A full
 * ZeroMQ pipe only takes writes again once its reader has drained half of
 * it (hwm/2 messages), and with ZMQ_DONTWAIT libzmq itself notices that
 * with a delay of up to ~1 ms (its command throttling), so 1 ms costs no
 * link time. */
#define LINK_FULL_BACKOFF_NS 1000000u

/* Sends one sample as one frame (wire.h); 0 sent, -1 not sent (errno
 * EAGAIN: the link is full). The payload is copied into the frame. */
static int send_sample(struct fwd *f, const ferry_sample_info *info, const void *payload, size_t size)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, f->head_len + size) != 0)
        return -1;
    unsigned char *d = zmq_msg_data(&m);
    memcpy(d, f->head, f->head_len);
    unsigned char *h = d + f->head_len - FYB_HEADER_SIZE;
    fyb_put64(h + FYB_OFF_PUBLISHER, info->publisher_id);
    fyb_put64(h + FYB_OFF_SEQUENCE, info->sequence);
    fyb_put64(h + FYB_OFF_TIMESTAMP, info->timestamp_ns);
    fyb_put64(h + FYB_OFF_PAYLOAD_SIZE, size);
    fyb_put64(h + FYB_OFF_FORWARD_TIME, now_ns(CLOCK_REALTIME));
    memcpy(d + f->head_len, payload, size);
    if (zmq_msg_send(&m, B.pub, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&m); /* not sent: still ours */
        errno = e;
        return -1; /* a full link (EAGAIN) or an error */
    }
    return 0;
}

/* A DROP_OLDEST service is not drained while the link is full (see
 * LINK_FULL_BACKOFF_NS); a BLOCK service always is, so that its publishers
 * never wait on the network (what cannot be sent is dropped and counted). */
static int fwd_paused(const struct fwd *f, uint64_t now)
{
    return f->opts.overflow != FERRY_OVERFLOW_BLOCK && now < B.link_full_until;
}

/* Takes and sends every queued sample (up to a bound, so that the other
 * direction is served too); stops early when the link turns out full. */
static void drain_fwd(struct fwd *f)
{
    for (int n = 0; n < 256; n++) {
        const void *p = NULL;
        size_t size = 0;
        int rc = ferry_sub_take(f->sub, &p, &size);
        if (rc == FERRY_EAGAIN)
            return;
        if (rc != FERRY_OK) {
            logmsg("take on %s: %s", f->name, ferry_last_error_message());
            return;
        }
        ferry_sample_info info;
        if (ferry_sub_sample_info(f->sub, p, &info) != FERRY_OK) {
            ferry_sub_release(f->sub, p);
            continue;
        }
        int full = 0;
        if (is_own_publisher(info.publisher_id)) {
            f->own++; /* came from another bridge: never sent on */
        } else if (info.timestamp_ns != 0 && info.timestamp_ns < f->open_ns) {
            /* history older than this subscriber: it may come from a dead
             * bridge's republisher, whose id is unknown; remote sides keep
             * their own history */
            f->old++;
        } else if (dedup(f->seen, &f->tick, 0, info.publisher_id, info.sequence)) {
            f->dup++;
        } else if (B.pub) {
            if (send_sample(f, &info, p, size) == 0) {
                f->forwarded++;
            } else {
                f->dropped++;
                full = errno == EAGAIN;
            }
        }
        ferry_sub_release(f->sub, p);
        if (full) {
            B.link_full_until = now_ns(CLOCK_MONOTONIC) + LINK_FULL_BACKOFF_NS;
            if (f->opts.overflow != FERRY_OVERFLOW_BLOCK)
                return; /* the rest waits in the queue, see fwd_paused */
        }
    }
}

/* ---- importing --------------------------------------------------------------- */

static struct rep *get_rep(const char *name, const fyb_header *h)
{
    struct rep *r = NULL;
    for (size_t i = 0; i < B.nrep; i++)
        if (!strcmp(B.reps[i]->name, name)) {
            r = B.reps[i];
            break;
        }
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            die_oom();
        snprintf(r->name, sizeof r->name, "%s", name);
        r->name_len = strlen(r->name);
        B.reps = xrealloc(B.reps, (B.nrep + 1) * sizeof *B.reps);
        B.reps[B.nrep++] = r;
    }
    if (r->pub)
        return r;
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (now < r->retry_ns)
        return NULL;
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = h->type_name;
    o.max_payload = (size_t)h->max_payload;
    o.alignment = h->alignment;
    o.history = h->history;
    o.queue_capacity = h->queue_capacity;
    o.max_publishers = h->max_publishers;
    o.max_subscribers = h->max_subscribers;
    o.max_loans = h->max_loans;
    o.max_borrowed = h->max_borrowed;
    o.overflow = h->overflow == 1 ? FERRY_OVERFLOW_BLOCK : FERRY_OVERFLOW_DROP_OLDEST;
    if (ferry_pub_open(&r->pub, B.node, name, &o) != FERRY_OK) {
        logmsg("cannot republish %s: %s (retrying in 5 s)", name, ferry_last_error_message());
        r->pub = NULL;
        r->retry_ns = now + 5000000000u;
        return NULL;
    }
    r->id = ferry_pub_id(r->pub);
    if (cfg.verbose)
        logmsg("importing %s (type %s, max_payload %zu)", name, h->type_name, o.max_payload);
    return r;
}

static void handle_message(const unsigned char *frame, size_t len)
{
    B.rx++;
    const char *tname;
    size_t nlen, payload_size;
    const unsigned char *hdr, *payload;
    fyb_header h;
    if (fyb_split(frame, len, FERRY_SERVICE_NAME_MAX, &tname, &nlen, &hdr, &payload, &payload_size) != 0 ||
        fyb_decode(&h, hdr, FYB_HEADER_SIZE) != 0 || h.payload_size != payload_size || h.payload_size == 0 ||
        h.payload_size > h.max_payload) {
        B.rx_bad++;
        return;
    }
    if (h.origin == B.origin) {
        B.rx_loop++;
        return;
    }
    /* A service already republished was matched against the import
     * patterns when it was first seen: skip the glob matching. */
    struct rep *r = NULL;
    for (size_t i = 0; i < B.nrep && !r; i++)
        if (B.reps[i]->pub && B.reps[i]->name_len == nlen && memcmp(B.reps[i]->name, tname, nlen) == 0)
            r = B.reps[i];
    if (!r) {
        char name[FERRY_SERVICE_NAME_MAX + 1];
        memcpy(name, tname, nlen);
        name[nlen] = '\0';
        if (!wanted(name, DIR_IMPORT)) {
            B.rx_unwanted++;
            return;
        }
        r = get_rep(name, &h);
        if (!r) {
            B.rx_bad++;
            return;
        }
    }
    if (dedup(r->seen, &r->tick, h.origin, h.publisher, h.sequence)) {
        r->dup++;
        return;
    }
    void *buf = NULL;
    if (ferry_pub_loan(r->pub, (size_t)h.payload_size, &buf) != FERRY_OK) {
        r->dropped++;
        return;
    }
    memcpy(buf, payload, (size_t)h.payload_size);
    int rc = ferry_pub_try_send(r->pub, buf);
    if (rc == FERRY_EAGAIN) { /* overflow block and a full local subscriber: never wait */
        ferry_pub_discard(r->pub, buf);
        r->dropped++;
    } else if (rc != FERRY_OK) {
        r->dropped++;
    } else {
        r->republished++;
    }
}

static void drain_sub(void)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (int n = 0; n < 256; n++) {
        if (zmq_msg_recv(&m, B.sub, ZMQ_DONTWAIT) < 0)
            break; /* nothing queued */
        if (!zmq_msg_more(&m)) {
            handle_message(zmq_msg_data(&m), zmq_msg_size(&m));
            continue;
        }
        /* A multipart message (an older wire version, or not a bridge):
         * not a sample. Its parts arrive together: read them all. */
        B.rx++;
        B.rx_bad++;
        while (zmq_msg_more(&m) && zmq_msg_recv(&m, B.sub, ZMQ_DONTWAIT) >= 0) {
        }
    }
    zmq_msg_close(&m);
}

/* ---- setup and main loop ------------------------------------------------------- */

static int zset(void *s, int opt, int v, const char *what)
{
    if (zmq_setsockopt(s, opt, &v, sizeof v) != 0) {
        logmsg("zmq_setsockopt(%s): %s", what, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

static int setup_zmq(void)
{
    char secret[41] = {0}, public_key[41] = {0};
    int curve = cfg.curve_secret != NULL;
    if (curve) {
        if (read_key(cfg.curve_secret, secret) != 0)
            return -1;
        if (zmq_curve_public(public_key, secret) != 0) {
            logmsg("zmq_curve_public: %s", zmq_strerror(errno));
            return -1;
        }
    }
    B.zctx = zmq_ctx_new();
    if (!B.zctx) {
        logmsg("zmq_ctx_new: %s", zmq_strerror(errno));
        return -1;
    }
    if (cfg.bind) {
        B.pub = zmq_socket(B.zctx, ZMQ_PUB);
        if (!B.pub || zset(B.pub, ZMQ_SNDHWM, cfg.hwm, "ZMQ_SNDHWM") || zset(B.pub, ZMQ_LINGER, 0, "ZMQ_LINGER") ||
            zset(B.pub, ZMQ_HEARTBEAT_IVL, 1000, "ZMQ_HEARTBEAT_IVL") ||
            zset(B.pub, ZMQ_HEARTBEAT_TIMEOUT, 3000, "ZMQ_HEARTBEAT_TIMEOUT"))
            return -1;
        B.nodrop = zset(B.pub, ZMQ_XPUB_NODROP, 1, "ZMQ_XPUB_NODROP") == 0;
        if (curve && (zset(B.pub, ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER") ||
                      zmq_setsockopt(B.pub, ZMQ_CURVE_SECRETKEY, secret, 40) != 0)) {
            logmsg("CURVE setup of the PUB socket failed: %s", zmq_strerror(errno));
            return -1;
        }
        if (zmq_bind(B.pub, cfg.bind) != 0) {
            logmsg("cannot bind %s: %s", cfg.bind, zmq_strerror(errno));
            return -1;
        }
        if (!curve && !is_loopback(cfg.bind))
            logmsg("warning: %s is not a loopback address and CURVE is off: samples travel in plain "
                   "text and anyone who reaches the port can subscribe (see --curve-secret)",
                   cfg.bind);
    }
    B.sub = zmq_socket(B.zctx, ZMQ_SUB);
    if (!B.sub || zset(B.sub, ZMQ_RCVHWM, cfg.hwm, "ZMQ_RCVHWM") || zset(B.sub, ZMQ_LINGER, 0, "ZMQ_LINGER") ||
        zset(B.sub, ZMQ_RECONNECT_IVL, 100, "ZMQ_RECONNECT_IVL") ||
        zset(B.sub, ZMQ_RECONNECT_IVL_MAX, 1000, "ZMQ_RECONNECT_IVL_MAX") ||
        zset(B.sub, ZMQ_HEARTBEAT_IVL, 1000, "ZMQ_HEARTBEAT_IVL") ||
        zset(B.sub, ZMQ_HEARTBEAT_TIMEOUT, 3000, "ZMQ_HEARTBEAT_TIMEOUT"))
        return -1;
    /* ZeroMQ filters by prefix: subscribe to the literal prefix of each
     * import pattern; the exact match is checked on arrival. */
    for (size_t i = 0; i < cfg.npats; i++) {
        if (!(cfg.pats[i].dir & DIR_IMPORT))
            continue;
        char topic[FYB_TOPIC_PREFIX_LEN + FERRY_SERVICE_NAME_MAX + 1];
        size_t lit = strcspn(cfg.pats[i].text, "*?[\\");
        if (lit > FERRY_SERVICE_NAME_MAX)
            lit = FERRY_SERVICE_NAME_MAX;
        int n = snprintf(topic, sizeof topic, FYB_TOPIC_PREFIX "%.*s", (int)lit, cfg.pats[i].text);
        if (zmq_setsockopt(B.sub, ZMQ_SUBSCRIBE, topic, (size_t)n) != 0) {
            logmsg("ZMQ_SUBSCRIBE: %s", zmq_strerror(errno));
            return -1;
        }
    }
    for (size_t i = 0; i < cfg.nconnect; i++) {
        if (curve) {
            char peer[41];
            const char *file = cfg.curve_peer[cfg.ncurve_peer == 1 ? 0 : i];
            if (read_key(file, peer) != 0)
                return -1;
            /* options are taken per connection at zmq_connect */
            if (zmq_setsockopt(B.sub, ZMQ_CURVE_SERVERKEY, peer, 40) != 0 ||
                zmq_setsockopt(B.sub, ZMQ_CURVE_PUBLICKEY, public_key, 40) != 0 ||
                zmq_setsockopt(B.sub, ZMQ_CURVE_SECRETKEY, secret, 40) != 0) {
                logmsg("CURVE setup of the SUB socket failed: %s", zmq_strerror(errno));
                return -1;
            }
        }
        if (zmq_connect(B.sub, cfg.connect[i]) != 0) {
            logmsg("cannot connect to %s: %s", cfg.connect[i], zmq_strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void print_stats(void)
{
    uint64_t fw = 0, own = 0, dup = 0, old = 0, drop = 0, overrun = 0, rep = 0, rdup = 0, rdrop = 0;
    for (size_t i = 0; i < B.nfwd; i++) {
        ferry_sub_stats st;
        if (ferry_sub_stats_get(B.fwds[i]->sub, &st) == FERRY_OK)
            overrun += st.lost;
        fw += B.fwds[i]->forwarded;
        own += B.fwds[i]->own;
        dup += B.fwds[i]->dup;
        old += B.fwds[i]->old;
        drop += B.fwds[i]->dropped;
    }
    for (size_t i = 0; i < B.nrep; i++) {
        rep += B.reps[i]->republished;
        rdup += B.reps[i]->dup;
        rdrop += B.reps[i]->dropped;
    }
    fprintf(stderr,
            "ferry-bridge: origin %016llx exported=%zu forwarded=%llu skipped_own=%llu skipped_old=%llu "
            "duplicates_out=%llu dropped_out=%llu overrun_out=%llu | imported=%zu received=%llu republished=%llu "
            "duplicates_in=%llu dropped_in=%llu loops=%llu bad=%llu unwanted=%llu\n",
            (unsigned long long)B.origin, B.nfwd, (unsigned long long)fw, (unsigned long long)own,
            (unsigned long long)old, (unsigned long long)dup, (unsigned long long)drop,
            (unsigned long long)overrun, B.nrep,
            (unsigned long long)B.rx, (unsigned long long)rep, (unsigned long long)rdup,
            (unsigned long long)rdrop, (unsigned long long)B.rx_loop, (unsigned long long)B.rx_bad,
            (unsigned long long)B.rx_unwanted);
}

static void teardown(void)
{
    for (size_t i = 0; i < B.nfwd; i++) {
        ferry_sub_close(B.fwds[i]->sub);
        free(B.fwds[i]);
    }
    for (size_t i = 0; i < B.nrep; i++) {
        ferry_pub_close(B.reps[i]->pub);
        free(B.reps[i]);
    }
    free(B.fwds);
    free(B.reps);
    ferry_node_close(B.node);
    if (B.pub)
        zmq_close(B.pub);
    if (B.sub)
        zmq_close(B.sub);
    if (B.zctx)
        zmq_ctx_term(B.zctx);
}

static void free_config(void)
{
    free(cfg.domain);
    free(cfg.bind);
    for (size_t i = 0; i < cfg.nconnect; i++)
        free(cfg.connect[i]);
    free(cfg.connect);
    for (size_t i = 0; i < cfg.npats; i++)
        free(cfg.pats[i].text);
    free(cfg.pats);
    free(cfg.curve_secret);
    for (size_t i = 0; i < cfg.ncurve_peer; i++)
        free(cfg.curve_peer[i]);
    free(cfg.curve_peer);
}

static int run(void)
{
    ferry_node_opts no;
    ferry_node_opts_init(&no);
    no.domain = cfg.domain;
    if (ferry_node_open(&B.node, "ferry-bridge", &no) != FERRY_OK) {
        logmsg("cannot open a node in domain %s: %s", cfg.domain ? cfg.domain : "(default)",
               ferry_last_error_message());
        return 1;
    }
    if (setup_zmq() != 0)
        return 1;
    logmsg("origin %016llx, domain %s, %s%s, %zu peer(s), CURVE %s", (unsigned long long)B.origin,
           ferry_node_domain(B.node), cfg.bind ? "bound to " : "not bound", cfg.bind ? cfg.bind : "",
           cfg.nconnect, cfg.curve_secret ? "on" : "off");

    zmq_pollitem_t *items = NULL;
    struct fwd **polled = NULL; /* polled[i] is the service of items[i + 1] */
    uint64_t last_traffic = 0;
    uint64_t next_scan = 0, next_stats = cfg.stats_s ? now_ns(CLOCK_MONOTONIC) + (uint64_t)cfg.stats_s * 1000000000u : 0;
    while (!g_stop) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= next_scan) {
            scan_services();
            next_scan = now + (uint64_t)cfg.scan_ms * 1000000u;
        }
        if (next_stats && now >= next_stats) {
            print_stats();
            next_stats = now + (uint64_t)cfg.stats_s * 1000000000u;
        }
        items = xrealloc(items, (B.nfwd + 1) * sizeof *items);
        polled = xrealloc(polled, (B.nfwd + 1) * sizeof *polled);
        items[0] = (zmq_pollitem_t){.socket = B.sub, .events = ZMQ_POLLIN};
        int nitems = 1;
        for (size_t i = 0; i < B.nfwd; i++) {
            if (fwd_paused(B.fwds[i], now))
                continue;
            polled[nitems - 1] = B.fwds[i];
            items[nitems++] = (zmq_pollitem_t){.socket = NULL, .fd = B.fwds[i]->fd, .events = ZMQ_POLLIN};
        }
        uint64_t wake = next_scan;
        if (now < B.link_full_until && B.link_full_until < wake)
            wake = B.link_full_until;
        long timeout = (long)((wake > now ? wake - now : 0) / 1000000u) + 1;
        /* --spin-us: shortly after traffic, only look (timeout 0) instead of
         * sleeping, so that the next sample does not pay for a wake-up. */
        if (cfg.spin_us && now - last_traffic < (uint64_t)cfg.spin_us * 1000u)
            timeout = 0;
        int rc = zmq_poll(items, nitems, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            logmsg("zmq_poll: %s", zmq_strerror(errno));
            free(items);
            free(polled);
            return 1;
        }
        if (rc > 0)
            last_traffic = now;
        if (items[0].revents & ZMQ_POLLIN)
            drain_sub();
        for (int i = 1; i < nitems; i++)
            if (items[i].revents)
                drain_fwd(polled[i - 1]);
    }
    free(items);
    free(polled);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"domain", required_argument, NULL, 'd'},
        {"bind", required_argument, NULL, 'b'},
        {"connect", required_argument, NULL, 'c'},
        {"service", required_argument, NULL, 's'},
        {"export", required_argument, NULL, 'e'},
        {"import", required_argument, NULL, 'i'},
        {"config", required_argument, NULL, 'f'},
        {"curve-secret", required_argument, NULL, 1000},
        {"curve-peer-public", required_argument, NULL, 1001},
        {"keygen", required_argument, NULL, 1002},
        {"hwm", required_argument, NULL, 1003},
        {"scan-ms", required_argument, NULL, 1004},
        {"stats", required_argument, NULL, 1005},
        {"spin-us", required_argument, NULL, 1006},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keygen_prefix = NULL;
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "d:b:c:s:e:i:f:vh", longopts, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *o = longopts; o->name; o++)
            if (o->val == c)
                name = o->name;
        if (c == 'h') {
            fputs(usage_text, stdout);
            free_config();
            return 0;
        } else if (c == 1002) {
            keygen_prefix = optarg;
        } else if (c == '?' || !name) {
            bad = 1;
        } else if (apply_option(name, optarg ? optarg : "", 0) != 0) {
            bad = 1;
        }
    }
    if (!bad && optind < argc) {
        logmsg("unexpected argument \"%s\"", argv[optind]);
        bad = 1;
    }
    if (!bad && keygen_prefix) {
        free_config();
        return keygen(keygen_prefix);
    }
    if (!bad && !cfg.bind && cfg.nconnect == 0) {
        logmsg("nothing to do: give --bind and/or --connect");
        bad = 1;
    }
    if (!bad && cfg.npats == 0) {
        logmsg("no services selected: give --service, --export or --import");
        bad = 1;
    }
    if (!bad && cfg.ncurve_peer && !cfg.curve_secret) {
        logmsg("--curve-peer-public needs --curve-secret");
        bad = 1;
    }
    if (!bad && cfg.curve_secret && cfg.nconnect && cfg.ncurve_peer != 1 && cfg.ncurve_peer != cfg.nconnect) {
        logmsg("with CURVE, give --curve-peer-public once, or once per --connect (%zu)", cfg.nconnect);
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "Try 'ferry-bridge --help'.\n");
        free_config();
        return EXIT_USAGE;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* libzmq allocates every message frame over 33 bytes, and frees it in
     * another thread (ours or its I/O thread). With glibc's defaults a large
     * payload (1 MiB) then comes, message after message, from pages that were
     * just unmapped or trimmed and must be faulted in and zeroed again: that
     * cost as much as the copies themselves. Frames up to 32 MiB now come
     * from the heap, and up to 64 MiB of freed memory stays there for reuse. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
    B.origin = random_id();
    int rc = run();
    print_stats();
    teardown();
    free_config();
    return rc;
}
