/*
 * ferry-bridge: carries ferry services between machines over ZeroMQ. One
 * process per host and domain; see docs/bridge.md.
 *
 * Single thread: one zmq_poll over the SUB socket (connected to the peers)
 * and the fds of the local ports that the parts (bridge.h) wait on. What
 * local ports produce is copied into one-frame ZeroMQ messages (wire.h) and
 * sent on the bound PUB socket without ever waiting; what arrives on the
 * SUB socket goes to the part that owns its topic.
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

#include "bridge.h"
#include "wire.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: ferry-bridge [--domain D] [--bind ENDPOINT] [--connect ENDPOINT]...\n"
    "                    [--service NAME|GLOB]... [--export NAME|GLOB]... [--import NAME|GLOB]...\n"
    "                    [--curve-secret FILE [--curve-peer-public FILE]...] [options]\n"
    "       ferry-bridge --config FILE [options]\n"
    "       ferry-bridge --keygen PREFIX     writes PREFIX.secret (0600) and PREFIX.public\n"
    "\n"
    "Carries ferry services between hosts over ZeroMQ. Publish-subscribe: samples of the\n"
    "exported services go out on the bound PUB socket; samples received from the peers\n"
    "(SUB socket connected to each --connect) are republished into the local domain.\n"
    "Events: ids raised here are raised at the peers' listeners. Request-response: the\n"
    "servers of exported services answer the peers' clients, and the servers of the\n"
    "peers are reachable here through a stand-in server per peer (needs both bridges\n"
    "bound and connected to each other).\n"
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

struct config cfg = {.hwm = 1000, .scan_ms = 250};
struct bridge B;
static volatile sig_atomic_t g_stop;

void die_oom(void)
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

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        die_oom();
    return q;
}

void logmsg(const char *fmt, ...)
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

int wanted(const char *service, int dir)
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

uint64_t now_ns(clockid_t clk)
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

/* ---- shared helpers ---------------------------------------------------------- */

int dedup(struct seen *tab, uint64_t *tick, uint64_t origin, uint64_t publisher, uint64_t seq)
{
    struct seen *victim = &tab[0];
    for (int i = 0; i < DEDUP_SLOTS; i++) {
        struct seen *e = &tab[i];
        if (e->used && e->origin == origin && e->publisher == publisher) {
            e->used = ++*tick;
            if (seq != 0 && seq <= e->last_seq)
                return 1;
            e->last_seq = seq;
            return 0;
        }
        if (e->used < victim->used)
            victim = e;
    }
    victim->origin = origin;
    victim->publisher = publisher;
    victim->last_seq = seq;
    victim->used = ++*tick;
    return 0;
}

void copy_name(char out[FERRY_SERVICE_NAME_MAX + 1], const char *name, size_t len)
{
    if (len > FERRY_SERVICE_NAME_MAX)
        len = FERRY_SERVICE_NAME_MAX;
    memcpy(out, name, len);
    out[len] = '\0';
}

/* The outbox: a ring of messages the link did not take yet (see bridge.h). */
#define OUTBOX_MAX 4096
static struct {
    zmq_msg_t msg[OUTBOX_MAX];
    size_t head, n;
    uint64_t dropped;
} O;

/* Builds the frame; 0 and *m initialized, or -1. */
static int build_frame(zmq_msg_t *m, const char *prefix, const char *name, const void *head, size_t head_len,
                       const void *body, size_t body_len)
{
    size_t plen = strlen(prefix), nlen = strlen(name);
    if (zmq_msg_init_size(m, plen + nlen + 1 + head_len + body_len) != 0)
        return -1;
    unsigned char *d = zmq_msg_data(m);
    memcpy(d, prefix, plen);
    memcpy(d + plen, name, nlen);
    d[plen + nlen] = '\0';
    if (head_len)
        memcpy(d + plen + nlen + 1, head, head_len);
    if (body_len)
        memcpy(d + plen + nlen + 1 + head_len, body, body_len);
    return 0;
}

void outbox_flush(void)
{
    while (O.n) {
        zmq_msg_t *m = &O.msg[O.head];
        if (zmq_msg_send(m, B.pub, ZMQ_DONTWAIT) < 0) {
            if (errno == EAGAIN)
                return;
            zmq_msg_close(m); /* cannot be sent at all */
            O.dropped++;
        }
        O.head = (O.head + 1) % OUTBOX_MAX;
        O.n--;
    }
}

int outbox_pending(void) { return O.n != 0; }

uint64_t outbox_dropped(void) { return O.dropped; }

int send_control(const char *prefix, const char *name, const void *head, size_t head_len, const void *body,
                 size_t body_len)
{
    if (!B.pub) {
        errno = ENOTSUP;
        return -1;
    }
    outbox_flush(); /* what waits goes first */
    zmq_msg_t m;
    if (build_frame(&m, prefix, name, head, head_len, body, body_len) != 0)
        return -1;
    if (O.n == 0 && zmq_msg_send(&m, B.pub, ZMQ_DONTWAIT) >= 0)
        return 0;
    if ((O.n == 0 && errno != EAGAIN) || O.n == OUTBOX_MAX) {
        int e = O.n == OUTBOX_MAX ? EAGAIN : errno;
        zmq_msg_close(&m);
        O.dropped++;
        errno = e;
        return -1;
    }
    zmq_msg_t *slot = &O.msg[(O.head + O.n) % OUTBOX_MAX];
    zmq_msg_init(slot);
    zmq_msg_move(slot, &m);
    zmq_msg_close(&m);
    O.n++;
    return 0;
}

static void outbox_clear(void)
{
    while (O.n) {
        zmq_msg_close(&O.msg[O.head]);
        O.head = (O.head + 1) % OUTBOX_MAX;
        O.n--;
    }
}

int send_frame(const char *prefix, const char *name, const void *head, size_t head_len, const void *body,
               size_t body_len)
{
    if (!B.pub) {
        errno = ENOTSUP;
        return -1;
    }
    zmq_msg_t m;
    if (build_frame(&m, prefix, name, head, head_len, body, body_len) != 0)
        return -1;
    if (zmq_msg_send(&m, B.pub, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&m); /* not sent: still ours */
        errno = e;
        return -1;
    }
    return 0;
}

void poll_add(struct poll_set *ps, int fd, void (*ready)(void *ctx), void *ctx)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->items = xrealloc(ps->items, ps->cap * sizeof *ps->items);
        ps->ready = xrealloc(ps->ready, ps->cap * sizeof *ps->ready);
        ps->ctx = xrealloc(ps->ctx, ps->cap * sizeof *ps->ctx);
    }
    ps->items[ps->n] = (zmq_pollitem_t){.socket = NULL, .fd = fd, .events = ZMQ_POLLIN};
    ps->ready[ps->n] = ready;
    ps->ctx[ps->n] = ctx;
    ps->n++;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- the service listing ------------------------------------------------------- */

struct scan_list {
    ferry_service_info *v;
    size_t n;
};

static int scan_cb(const ferry_service_info *info, void *user)
{
    struct scan_list *l = user;
    if (!wanted(info->name, DIR_EXPORT) && !wanted(info->name, DIR_IMPORT))
        return 0;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = *info;
    return 0;
}

/* Lists the domain's services, then hands each one that matches a pattern
 * to the parts (outside the listing: they may open ports). */
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
        ferry_service_info *info = &l.v[i];
        /* the copy's own strings, not the listing's */
        info->opts.type_name = info->type_name;
        info->state_opts.type_name = info->type_name;
        info->reqres_opts.request_type = info->type_name;
        info->reqres_opts.response_type = info->response_type;
        samples_found(info);
        events_found(info);
        calls_found(info);
    }
    calls_scanned();
    free(l.v);
}

/* ---- receiving ----------------------------------------------------------------- */

static void handle_message(const unsigned char *frame, size_t len)
{
    B.rx++;
    if (!samples_receive(frame, len) && !events_receive(frame, len) && !calls_receive(frame, len))
        B.rx_bad++;
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

static int subscribe(const char *prefix, const char *text, size_t len)
{
    char topic[32 + FERRY_SERVICE_NAME_MAX + 1];
    int n = snprintf(topic, sizeof topic, "%s%.*s", prefix, (int)len, text);
    if (zmq_setsockopt(B.sub, ZMQ_SUBSCRIBE, topic, (size_t)n) != 0) {
        logmsg("ZMQ_SUBSCRIBE: %s", zmq_strerror(errno));
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
     * import pattern under the topics of imports (samples, events, server
     * announcements); the exact match is checked on arrival. Requests for
     * this bridge's servers and responses to its calls come on topics of
     * its own. */
    static const char *const import_topics[] = {FYB_TOPIC_PREFIX, FYB_EVENT_PREFIX, FYB_ANNOUNCE_PREFIX};
    int exports = 0;
    for (size_t i = 0; i < cfg.npats; i++) {
        exports |= (cfg.pats[i].dir & DIR_EXPORT) != 0;
        if (!(cfg.pats[i].dir & DIR_IMPORT))
            continue;
        size_t lit = strcspn(cfg.pats[i].text, "*?[\\");
        if (lit > FERRY_SERVICE_NAME_MAX)
            lit = FERRY_SERVICE_NAME_MAX;
        for (size_t k = 0; k < sizeof import_topics / sizeof import_topics[0]; k++)
            if (subscribe(import_topics[k], cfg.pats[i].text, lit) != 0)
                return -1;
    }
    char requests[18]; /* requests for this bridge: "ferry-call/<origin>/" */
    snprintf(requests, sizeof requests, "%s/", B.origin_hex);
    if (exports && subscribe(FYB_CALL_PREFIX, requests, 17) != 0)
        return -1;
    if (subscribe(FYB_REPLY_PREFIX, B.origin_hex, 16) != 0)
        return -1;
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
    fprintf(stderr, "ferry-bridge: origin %016llx", (unsigned long long)B.origin);
    samples_stats(stderr);
    fprintf(stderr, " received=%llu loops=%llu bad=%llu unwanted=%llu control_dropped=%llu |",
            (unsigned long long)B.rx, (unsigned long long)B.rx_loop, (unsigned long long)B.rx_bad,
            (unsigned long long)B.rx_unwanted, (unsigned long long)outbox_dropped());
    events_stats(stderr);
    fputs(" |", stderr);
    calls_stats(stderr);
    fputc('\n', stderr);
}

static void teardown(void)
{
    calls_teardown();
    events_teardown();
    samples_teardown();
    outbox_clear();
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

    struct poll_set ps = {0};
    uint64_t last_traffic = 0;
    uint64_t next_scan = 0, next_stats = cfg.stats_s ? now_ns(CLOCK_MONOTONIC) + (uint64_t)cfg.stats_s * 1000000000u : 0;
    int rc = 0;
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
        outbox_flush();
        uint64_t wake = next_scan;
        if (outbox_pending() && now + 1000000u < wake)
            wake = now + 1000000u;
        uint64_t t = calls_timer(now);
        if (t && t < wake)
            wake = t;
        t = samples_timer(now);
        if (t && t < wake)
            wake = t;
        ps.n = 0;
        poll_add(&ps, -1, NULL, NULL); /* item 0: the SUB socket, set below */
        ps.items[0] = (zmq_pollitem_t){.socket = B.sub, .events = ZMQ_POLLIN};
        samples_polls(&ps, now);
        events_polls(&ps, now);
        calls_polls(&ps, now);
        long timeout = (long)((wake > now ? wake - now : 0) / 1000000u) + 1;
        /* --spin-us: shortly after traffic, only look (timeout 0) instead of
         * sleeping, so that the next sample does not pay for a wake-up. */
        if (cfg.spin_us && now - last_traffic < (uint64_t)cfg.spin_us * 1000u)
            timeout = 0;
        int n = zmq_poll(ps.items, (int)ps.n, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            logmsg("zmq_poll: %s", zmq_strerror(errno));
            rc = 1;
            break;
        }
        if (n > 0)
            last_traffic = now;
        if (ps.items[0].revents & ZMQ_POLLIN)
            drain_sub();
        for (size_t i = 1; i < ps.n; i++)
            if (ps.items[i].revents)
                ps.ready[i](ps.ctx[i]);
    }
    free(ps.items);
    free(ps.ready);
    free(ps.ctx);
    return rc;
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
    snprintf(B.origin_hex, sizeof B.origin_hex, "%016llx", (unsigned long long)B.origin);
    int rc = run();
    print_stats();
    teardown();
    free_config();
    return rc;
}
