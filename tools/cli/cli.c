/* What every subcommand of the ferry command line shares (see cli.h). */
#include "cli.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os/os.h"
#include "service/naming.h"
#include "service/registry.h"
#include "service/service.h"
#include "shm/layout.h"

const char *cli_cmd = "";
volatile sig_atomic_t cli_stop = 0;

static void on_stop_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A closed pipe (ferry echo --format raw | head) is a write error that
     * ends the loop cleanly, so the node is closed, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
}

/* ---- messages ------------------------------------------------------------ */

static void vmsg(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void vmsg(const char *fmt, va_list ap)
{
    fprintf(stderr, "ferry%s%s: ", *cli_cmd ? " " : "", cli_cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'ferry %s --help'.\n", *cli_cmd ? cli_cmd : "");
    return CLI_USAGE;
}

int cli_ferry_error(int rc, const char *what)
{
    const char *detail = ferry_last_error_message();
    if (detail && *detail)
        cli_msg("%s: %s", what, detail);
    else
        cli_msg("%s: %s", what, ferry_strerror(rc));
    if (rc == FERRY_ENOTFOUND)
        return CLI_NOTFOUND;
    if (rc == FERRY_EINVAL)
        return CLI_USAGE;
    return CLI_ERROR;
}

/* ---- common options ------------------------------------------------------ */

int cli_common_opt(struct cli_common *co, int c, char **argv, const char *usage, int *exit_now)
{
    *exit_now = -1;
    switch (c) {
    case CLI_OPT_HELP:
        fputs(usage, stdout);
        *exit_now = CLI_OK;
        return 1;
    case CLI_OPT_DOMAIN:
        co->domain_arg = optarg;
        return 1;
    case CLI_OPT_JSON:
        co->json = 1;
        return 1;
    case ':':
        *exit_now = cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        return 1;
    case '?':
        if (optopt && optopt < 256 && isprint(optopt))
            *exit_now = cli_usage_error("unknown option '-%c'", optopt);
        else
            *exit_now = cli_usage_error("unknown option '%s'", argv[optind - 1]);
        return 1;
    default:
        return 0;
    }
}

int cli_common_finish(struct cli_common *co)
{
    if (fy_domain_resolve(co->domain_arg, co->domain) != FERRY_OK)
        return cli_usage_error("%s", ferry_last_error_message());
    return CLI_OK;
}

/* ---- parsing ------------------------------------------------------------- */

int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, int sizes, uint64_t *out)
{
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p))
        return cli_usage_error("%s: '%s' is not a whole number", opt, s);
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno == ERANGE)
        return cli_usage_error("%s: '%s' is too large", opt, s);
    uint64_t mult = 1;
    if (sizes && *end) {
        switch (*end) {
        case 'k':
        case 'K':
            mult = 1024u;
            break;
        case 'm':
        case 'M':
            mult = 1024u * 1024u;
            break;
        case 'g':
        case 'G':
            mult = 1024u * 1024u * 1024u;
            break;
        default:
            mult = 0;
            break;
        }
        if (mult) {
            end++;
            if (*end == 'i' && end[1] == 'B')
                end += 2;
            else if (*end == 'B')
                end++;
        }
    }
    if (*end || mult == 0)
        return cli_usage_error("%s: '%s' is not a whole number%s", opt, s, sizes ? " (with an optional K, M or G)" : "");
    if (v > UINT64_MAX / mult)
        return cli_usage_error("%s: '%s' is too large", opt, s);
    v *= mult;
    if (v < min || v > max)
        return cli_usage_error("%s: %s is out of range: use %" PRIu64 " to %" PRIu64, opt, s, min, max);
    *out = v;
    return CLI_OK;
}

int cli_parse_double(const char *opt, const char *s, double min, double max, double *out)
{
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return cli_usage_error("%s: '%s' is not a number", opt, s);
    if (v < min || v > max) {
        if (isinf(max))
            return cli_usage_error("%s: %s is out of range: use at least %g", opt, s, min);
        return cli_usage_error("%s: %s is out of range: use %g to %g", opt, s, min, max);
    }
    *out = v;
    return CLI_OK;
}

int cli_parse_overflow(const char *opt, const char *s, ferry_overflow *out)
{
    if (!strcmp(s, "drop_oldest") || !strcmp(s, "drop-oldest") || !strcmp(s, "drop")) {
        *out = FERRY_OVERFLOW_DROP_OLDEST;
        return CLI_OK;
    }
    if (!strcmp(s, "block")) {
        *out = FERRY_OVERFLOW_BLOCK;
        return CLI_OK;
    }
    return cli_usage_error("%s: '%s' is not an overflow policy: use drop_oldest or block", opt, s);
}

const char *cli_overflow_name(int overflow)
{
    return overflow == FERRY_OVERFLOW_BLOCK ? "block" : "drop_oldest";
}

int cli_check_service_name(const char *name)
{
    /* The channels of a request-response service are listed as "<name>#req"
     * and "<name>#resp": accept those too, so that they can be inspected. */
    char base[FERRY_SERVICE_NAME_MAX + 1];
    snprintf(base, sizeof base, "%s", name);
    char *hash = strrchr(base, '#');
    if (hash && (!strcmp(hash, "#req") || !strcmp(hash, "#resp")))
        *hash = '\0';
    if (fy_service_name_check(base) != FERRY_OK)
        return cli_usage_error("%s", ferry_last_error_message());
    return CLI_OK;
}

const char *cli_pattern_name(int pattern)
{
    switch (pattern) {
    case FERRY_PATTERN_PUBSUB:
        return "pubsub";
    case FERRY_PATTERN_EVENT:
        return "event";
    case FERRY_PATTERN_STATE:
        return "state";
    case 4: /* FY_PATTERN_REQRES: a channel of a request-response service */
        return "reqres";
    default:
        return "unknown";
    }
}

int cli_require_pubsub(const ferry_service_info *info)
{
    if (info->pattern == FERRY_PATTERN_PUBSUB)
        return CLI_OK;
    cli_msg("service \"%s\" is a%s %s service: ferry %s works on publish-subscribe services", info->name,
            info->pattern == FERRY_PATTERN_EVENT ? "n" : "", cli_pattern_name(info->pattern), cli_cmd);
    return CLI_ERROR;
}

/* ---- clocks -------------------------------------------------------------- */

uint64_t cli_now_ns(void) { return fy_os_now_ns(); }

void cli_sleep_ns(uint64_t ns) { fy_os_sleep_ns(ns); }

uint64_t cli_wait_slice(uint64_t now, uint64_t deadline)
{
    const uint64_t max = 100 * 1000 * 1000;
    if (deadline <= now)
        return 0;
    return deadline - now < max ? deadline - now : max;
}

uint64_t cli_s_to_ns(double s)
{
    if (!(s > 0))
        return 0;
    if (s > 1e9)
        return UINT64_MAX / 2;
    uint64_t ns = (uint64_t)(s * 1e9);
    return ns ? ns : 1;
}

/* ---- output -------------------------------------------------------------- */

void cli_json_bytes(FILE *f, const void *data, size_t n)
{
    const unsigned char *p = data;
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c >= 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

void cli_json_str(FILE *f, const char *s) { cli_json_bytes(f, s, strlen(s)); }

/* The options of a service as JSON, by pattern. */
void cli_json_service_options(const ferry_service_info *s)
{
    const ferry_pubsub_opts *o = &s->opts;
    if (s->pattern == FERRY_PATTERN_EVENT)
        printf("{\"max_event_id\": %u, \"max_notifiers\": %u, \"max_listeners\": %u}", s->event_opts.max_event_id,
               s->event_opts.max_notifiers, s->event_opts.max_listeners);
    else if (s->pattern == FERRY_PATTERN_STATE)
        printf("{\"max_size\": %zu, \"max_readers\": %u}", s->state_opts.max_size, s->state_opts.max_readers);
    else
        printf("{\"max_payload\": %zu, \"alignment\": %zu, \"history\": %u, \"queue_capacity\": %u, "
               "\"max_publishers\": %u, \"max_subscribers\": %u, \"max_loans\": %u, \"max_borrowed\": %u, "
               "\"overflow\": \"%s\"}",
               o->max_payload, o->alignment, o->history, o->queue_capacity, o->max_publishers, o->max_subscribers,
               o->max_loans, o->max_borrowed, cli_overflow_name(o->overflow));
}

void cli_hex(FILE *f, const void *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        fputc(digits[p[i] >> 4], f);
        fputc(digits[p[i] & 15], f);
    }
}

const char *cli_fmt_bytes(char *buf, size_t n, uint64_t bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, n, "%" PRIu64 " B", bytes);
        return buf;
    }
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, n, "%.1f %s", v, units[u]);
    return buf;
}

const char *cli_fmt_ns(char *buf, size_t n, double ns)
{
    if (ns < 0)
        snprintf(buf, n, "-");
    else if (ns < 1e3)
        snprintf(buf, n, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, n, "%.1f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, n, "%.2f s", ns / 1e9);
    return buf;
}

const char *cli_user_name(char *buf, size_t n, long uid)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (uid >= 0 && getpwuid_r((uid_t)uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, n, "%s", res->pw_name);
    else
        snprintf(buf, n, "%ld", uid);
    return buf;
}

/* ---- services and nodes -------------------------------------------------- */

struct find_ctx {
    const char *name;
    ferry_service_info *out;
    int found;
};

static int find_cb(const ferry_service_info *info, void *user)
{
    struct find_ctx *fc = user;
    if (strcmp(info->name, fc->name) != 0)
        return 0;
    *fc->out = *info;
    fc->out->opts.type_name = fc->out->type_name;
    fc->found = 1;
    return 1;
}

static int find_once(const char *domain, const char *name, ferry_service_info *out, int *found)
{
    struct find_ctx fc = {name, out, 0};
    int rc = ferry_service_list(domain, find_cb, &fc);
    *found = fc.found;
    return rc;
}

int cli_find_service(const char *domain, const char *name, ferry_service_info *out, int quiet)
{
    int found = 0;
    int rc = find_once(domain, name, out, &found);
    if (rc != FERRY_OK) {
        cli_ferry_error(rc, "listing services");
        return CLI_ERROR;
    }
    if (!found) {
        /* Listing skips what it cannot open: say so rather than "no such service". */
        char path[FY_PATH_MAX];
        fy_path_service(path, domain, fy_hash64(name));
        struct fy_service svc;
        int arc = fy_service_attach(&svc, domain, path);
        if (arc == FERRY_OK)
            fy_service_unmap(&svc);
        else if (arc != FERRY_ENOTFOUND) {
            if (!quiet || arc == FERRY_EPERM)
                cli_ferry_error(arc, "opening the service");
            return CLI_ERROR;
        }
        if (!quiet)
            cli_msg("no service \"%s\" in domain \"%s\" ('ferry list --domain %s' shows the services)", name,
                    domain, domain);
        return CLI_NOTFOUND;
    }
    return CLI_OK;
}

int cli_wait_service(const char *domain, const char *name, ferry_service_info *out, uint64_t timeout_ns)
{
    uint64_t deadline = timeout_ns ? cli_now_ns() + timeout_ns : UINT64_MAX;
    for (;;) {
        int found = 0;
        int rc = find_once(domain, name, out, &found);
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "listing services");
            return CLI_ERROR;
        }
        if (found)
            return CLI_OK;
        if (cli_stop || cli_now_ns() >= deadline) {
            cli_msg("service \"%s\" did not appear in domain \"%s\"", name, domain);
            return CLI_NOTFOUND;
        }
        cli_sleep_ns(20 * 1000 * 1000);
    }
}

int cli_node_open(ferry_node **node, const char *domain)
{
    ferry_node_opts opts;
    ferry_node_opts_init(&opts);
    opts.domain = domain;
    char name[FERRY_NODE_NAME_MAX + 1];
    snprintf(name, sizeof name, "ferry-%s", cli_cmd);
    int rc = ferry_node_open(node, name, &opts);
    if (rc != FERRY_OK)
        return cli_ferry_error(rc, "opening a node") == CLI_USAGE ? CLI_USAGE : CLI_ERROR;
    return CLI_OK;
}

int cli_sub_open(ferry_node *node, const ferry_service_info *info, ferry_sub **sub)
{
    ferry_pubsub_opts opts = info->opts;
    opts.type_name = info->type_name;
    int rc = ferry_sub_open(sub, node, info->name, &opts);
    if (rc != FERRY_OK) {
        char what[FERRY_SERVICE_NAME_MAX + 64];
        snprintf(what, sizeof what, "subscribing to \"%s\"", info->name);
        cli_ferry_error(rc, what);
        return CLI_ERROR;
    }
    return CLI_OK;
}

/* Waits until pub has k subscribers; CLI_OK, CLI_ERROR (timeout) or -1 when interrupted. */
int cli_pub_wait_subscribers(ferry_pub *pub, uint64_t k, uint64_t timeout_ns)
{
    uint64_t deadline = timeout_ns ? cli_now_ns() + timeout_ns : UINT64_MAX;
    for (;;) {
        ferry_pub_stats st;
        int rc = ferry_pub_update(pub);
        if (rc == FERRY_OK)
            rc = ferry_pub_stats_get(pub, &st);
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "waiting for subscribers");
            return CLI_ERROR;
        }
        if (st.subscribers >= k)
            return CLI_OK;
        if (cli_stop)
            return -1;
        if (cli_now_ns() >= deadline) {
            cli_msg("timed out waiting for %llu subscriber%s (%u connected)", (unsigned long long)k,
                    k == 1 ? "" : "s", st.subscribers);
            return CLI_ERROR;
        }
        cli_sleep_ns(1000 * 1000);
    }
}

/* Sends one sample; never blocks past Ctrl-C. CLI_OK, CLI_ERROR, or -1 when interrupted. */
int cli_pub_send(ferry_pub *pub, const char *domain, const void *data, size_t size)
{
    void *loan = NULL;
    int rc = ferry_pub_loan(pub, size, &loan);
    if (rc != FERRY_OK) {
        cli_ferry_error(rc, "loaning a sample");
        return CLI_ERROR;
    }
    memcpy(loan, data, size);
    uint64_t waiting_since = 0, next_cleanup = 0;
    for (;;) {
        /* try_send rather than send: ferry_pub_send waits for room without
         * an end, and Ctrl-C must work even with a stopped subscriber. */
        rc = ferry_pub_try_send(pub, loan);
        if (rc != FERRY_EAGAIN)
            break;
        if (cli_stop) { /* a full subscriber queue with overflow block */
            ferry_pub_discard(pub, loan);
            return -1;
        }
        uint64_t now = cli_now_ns();
        if (!waiting_since) {
            waiting_since = now;
            next_cleanup = now + 10 * 1000 * 1000;
        } else if (now >= next_cleanup) {
            /* The subscriber we wait for may have died: what ferry_pub_send
             * does on its own while it waits. */
            ferry_cleanup(domain, NULL);
            next_cleanup = now + 100 * 1000 * 1000;
        }
        cli_sleep_ns(50 * 1000);
    }
    if (rc != FERRY_OK) {
        cli_ferry_error(rc, "sending a sample");
        return CLI_ERROR;
    }
    return CLI_OK;
}

static int node_cb(const ferry_node_info *info, void *user)
{
    struct cli_nodes *nodes = user;
    if (nodes->n == nodes->cap) {
        size_t cap = nodes->cap ? nodes->cap * 2 : 16;
        ferry_node_info *v = realloc(nodes->v, cap * sizeof *v);
        if (!v)
            return 1;
        nodes->v = v;
        nodes->cap = cap;
    }
    nodes->v[nodes->n++] = *info;
    return 0;
}

static int node_cmp(const void *a, const void *b)
{
    const ferry_node_info *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->id < y->id ? -1 : x->id > y->id;
}

int cli_nodes_load(const char *domain, struct cli_nodes *nodes)
{
    memset(nodes, 0, sizeof *nodes);
    int rc = ferry_node_list(domain, node_cb, nodes);
    if (rc == FERRY_OK && nodes->n)
        qsort(nodes->v, nodes->n, sizeof *nodes->v, node_cmp);
    return rc;
}

const ferry_node_info *cli_nodes_find(const struct cli_nodes *nodes, uint64_t id)
{
    for (size_t i = 0; i < nodes->n; i++)
        if (nodes->v[i].id == id)
            return &nodes->v[i];
    return NULL;
}

void cli_nodes_free(struct cli_nodes *nodes)
{
    free(nodes->v);
    memset(nodes, 0, sizeof *nodes);
}

/* ---- objects of a domain ------------------------------------------------- */

/* Same threshold as the library's cleanup (src/service/registry.c). */
#define CLI_TEMP_STALE_S 5

const char *cli_obj_kind_name(enum cli_obj_kind kind)
{
    switch (kind) {
    case CLI_OBJ_NODE:
        return "node";
    case CLI_OBJ_SERVICE:
        return "service";
    case CLI_OBJ_DATA:
        return "publisher-data";
    case CLI_OBJ_TEMP:
        return "temporary";
    default:
        return "unknown";
    }
}

static struct cli_obj *obj_add(struct cli_objs *objs, const char *name)
{
    if (objs->n == objs->cap) {
        size_t cap = objs->cap ? objs->cap * 2 : 32;
        struct cli_obj *v = realloc(objs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        objs->v = v;
        objs->cap = cap;
    }
    struct cli_obj *o = &objs->v[objs->n++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->kind = CLI_OBJ_OTHER;
    return o;
}

static int is_hex16(const char *s) { return strlen(s) >= 16 && strspn(s, "0123456789abcdef") >= 16; }

static void describe_node(struct cli_obj *o, const char *path)
{
    int fd = fy_os_open(path, 0);
    if (fd < 0) {
        o->no_access = fd == FERRY_EPERM;
        snprintf(o->what, sizeof o->what, "node file (%s)", o->no_access ? "no access" : "unreadable");
        return;
    }
    struct fy_node_record rec;
    memset(&rec, 0, sizeof rec);
    ssize_t n = pread(fd, &rec, sizeof rec, 0);
    int lock = fy_os_lock_probe(fd); /* 0: nobody holds it, the node is dead; < 0: cannot tell */
    fy_os_close(fd);
    rec.name[sizeof rec.name - 1] = '\0';
    o->stale = lock == 0;
    if (n == (ssize_t)sizeof rec && rec.magic == FY_MAGIC_NODE)
        snprintf(o->what, sizeof o->what, "node \"%s\" (pid %lld, %s)", rec.name, (long long)rec.pid,
                 lock == 0 ? "dead" : "alive");
    else
        snprintf(o->what, sizeof o->what, "node file (%s, unreadable record)", lock == 0 ? "dead" : "alive");
}

static void describe_service(struct cli_obj *o, const char *domain, const char *path)
{
    struct fy_service svc;
    int rc = fy_service_attach(&svc, domain, path);
    if (rc != FERRY_OK) {
        o->no_access = rc == FERRY_EPERM;
        snprintf(o->what, sizeof o->what, "service segment (%s)",
                 rc == FERRY_EPERM ? "no access" : rc == FERRY_ECORRUPT ? "invalid" : "unreadable");
        return;
    }
    unsigned used = 0, dead = 0;
    for (uint32_t i = 0; i < svc.cfg.max_publishers + svc.cfg.max_subscribers; i++) {
        struct fy_slot *sl = i < svc.cfg.max_publishers
                                 ? fy_pub_slot(svc.hdr, &svc.geo, i)
                                 : fy_sub_slot(svc.hdr, &svc.geo, i - svc.cfg.max_publishers);
        uint32_t st = atomic_load_explicit(&sl->state, memory_order_acquire);
        if (st == FY_SLOT_FREE)
            continue;
        used++;
        if (st == FY_SLOT_ACTIVE && !fy_node_alive(domain, atomic_load_explicit(&sl->owner, memory_order_relaxed)))
            dead++;
    }
    o->stale = dead > 0 || used == 0;
    if (dead)
        snprintf(o->what, sizeof o->what, "service \"%.200s\" (%u port%s of dead nodes)", svc.name, dead,
                 dead == 1 ? "" : "s");
    else if (used == 0)
        snprintf(o->what, sizeof o->what, "service \"%.200s\" (no ports left)", svc.name);
    else
        snprintf(o->what, sizeof o->what, "service \"%.200s\"", svc.name);
    fy_service_unmap(&svc);
}

static void describe_data(struct cli_obj *o, const char *domain, const char *name, size_t prefix_len)
{
    const char *hex = name + prefix_len + 2;
    unsigned slot = 0, gen = 0;
    char tail;
    if (sscanf(hex + 16, ".p%u.%u%c", &slot, &gen, &tail) != 2) {
        snprintf(o->what, sizeof o->what, "unknown object");
        return;
    }
    char svc_path[FY_PATH_MAX];
    fy_path_service(svc_path, domain, strtoull(hex, NULL, 16));
    struct fy_service svc;
    int rc = fy_service_attach(&svc, domain, svc_path);
    if (rc == FERRY_ENOTFOUND) {
        o->stale = 1;
        snprintf(o->what, sizeof o->what, "publisher data (slot %u) of a service that is gone", slot);
        return;
    }
    if (rc != FERRY_OK) {
        o->no_access = rc == FERRY_EPERM;
        snprintf(o->what, sizeof o->what, "publisher data (slot %u), service %s", slot,
                 rc == FERRY_EPERM ? "not accessible" : "unreadable");
        return;
    }
    const char *state = "unused";
    if (slot < svc.cfg.max_publishers) {
        struct fy_slot *ps = fy_pub_slot(svc.hdr, &svc.geo, slot);
        uint32_t st = atomic_load_explicit(&ps->state, memory_order_acquire);
        uint32_t g = atomic_load_explicit(&ps->gen, memory_order_relaxed);
        if (st == FY_SLOT_FREE || g != gen) {
            o->stale = 1;
        } else if (st == FY_SLOT_ORPHAN) {
            state = "publisher gone, samples still queued";
        } else if (!fy_node_alive(domain, atomic_load_explicit(&ps->owner, memory_order_relaxed))) {
            o->stale = 1;
            state = "publisher dead";
        } else {
            state = "publisher alive";
        }
    } else {
        o->stale = 1;
    }
    snprintf(o->what, sizeof o->what, "publisher data of \"%.200s\" (slot %u, %s)", svc.name, slot, state);
    fy_service_unmap(&svc);
}

static void describe_temp(struct cli_obj *o, const char *path)
{
    int fd = fy_os_open(path, 0);
    if (fd < 0) {
        o->no_access = fd == FERRY_EPERM;
        snprintf(o->what, sizeof o->what, "object being created (%s)", o->no_access ? "no access" : "unreadable");
        return;
    }
    int lock = fy_os_lock_probe(fd);
    fy_os_close(fd);
    o->stale = lock == 0 && fy_os_age_s(path) >= CLI_TEMP_STALE_S;
    snprintf(o->what, sizeof o->what, "object being created (%s)", o->stale ? "abandoned" : "in progress");
}

struct scan_ctx {
    const char *domain;
    char prefix[FY_PATH_MAX];
    struct cli_objs *objs;
    int oom;
};

static int scan_one(const char *name, void *user)
{
    struct scan_ctx *sc = user;
    size_t pl = strlen(sc->prefix);
    struct cli_obj *o = obj_add(sc->objs, name);
    if (!o) {
        sc->oom = 1;
        return 1;
    }
    char path[FY_PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", fy_os_shm_dir(), name);
    struct stat st;
    if (stat(path, &st) == 0)
        o->bytes = (uint64_t)st.st_size;
    const char *rest = name + pl;
    if (!strncmp(rest, "n.", 2)) {
        o->kind = CLI_OBJ_NODE;
        describe_node(o, path);
    } else if (!strncmp(rest, "t.", 2)) {
        o->kind = CLI_OBJ_TEMP;
        describe_temp(o, path);
    } else if (!strncmp(rest, "s.", 2) && is_hex16(rest + 2) && rest[18] == '\0') {
        o->kind = CLI_OBJ_SERVICE;
        describe_service(o, sc->domain, path);
    } else if (!strncmp(rest, "s.", 2) && is_hex16(rest + 2) && rest[18] == '.') {
        o->kind = CLI_OBJ_DATA;
        describe_data(o, sc->domain, name, pl);
    } else {
        snprintf(o->what, sizeof o->what, "unknown object");
    }
    return 0;
}

static int obj_cmp(const void *a, const void *b)
{
    const struct cli_obj *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int cli_objs_scan(const char *domain, struct cli_objs *objs)
{
    memset(objs, 0, sizeof *objs);
    struct scan_ctx sc;
    memset(&sc, 0, sizeof sc);
    sc.domain = domain;
    sc.objs = objs;
    fy_name_prefix(sc.prefix, domain);
    int rc = fy_os_list(sc.prefix, scan_one, &sc);
    if (sc.oom) {
        cli_msg("out of memory");
        return CLI_ERROR;
    }
    if (rc != FERRY_OK) {
        cli_ferry_error(rc, "reading the shm directory");
        return CLI_ERROR;
    }
    if (objs->n)
        qsort(objs->v, objs->n, sizeof *objs->v, obj_cmp);
    return CLI_OK;
}

void cli_objs_free(struct cli_objs *objs)
{
    free(objs->v);
    memset(objs, 0, sizeof *objs);
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_domains_scan(char ***domains, size_t *count)
{
    *domains = NULL;
    *count = 0;
    DIR *d = opendir(fy_os_shm_dir());
    if (!d) {
        cli_msg("cannot read %s: %s", fy_os_shm_dir(), strerror(errno));
        return CLI_ERROR;
    }
    size_t cap = 0;
    struct dirent *e;
    int rc = CLI_OK;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ferry.", 6) != 0)
            continue;
        const char *dom = e->d_name + 6;
        const char *dot = strchr(dom, '.');
        if (!dot || dot == dom || (size_t)(dot - dom) > FERRY_DOMAIN_MAX)
            continue;
        size_t len = (size_t)(dot - dom);
        if (strspn(dom, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)
            continue; /* not a name ferry would give a domain */
        int seen = 0;
        for (size_t i = 0; i < *count && !seen; i++)
            seen = strlen((*domains)[i]) == len && !strncmp((*domains)[i], dom, len);
        if (seen)
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 8;
            char **v = realloc(*domains, cap * sizeof *v);
            if (!v) {
                rc = CLI_ERROR;
                break;
            }
            *domains = v;
        }
        char *s = malloc(len + 1);
        if (!s) {
            rc = CLI_ERROR;
            break;
        }
        memcpy(s, dom, len);
        s[len] = '\0';
        (*domains)[(*count)++] = s;
    }
    closedir(d);
    if (rc != CLI_OK) {
        cli_msg("out of memory");
        cli_domains_free(*domains, *count);
        *domains = NULL;
        *count = 0;
        return rc;
    }
    if (*count)
        qsort(*domains, *count, sizeof **domains, str_cmp);
    return CLI_OK;
}

void cli_domains_free(char **domains, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(domains[i]);
    free(domains);
}

/* ---- record files -------------------------------------------------------- */

static void put_le(unsigned char *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int cli_rec_write_header(FILE *f, uint64_t start_realtime_ns, const struct cli_rec_service *services, uint32_t count)
{
    unsigned char h[24];
    memcpy(h, CLI_REC_MAGIC, 8);
    put_le(h + 8, CLI_REC_VERSION, 4);
    put_le(h + 12, count, 4);
    put_le(h + 16, start_realtime_ns, 8);
    if (fwrite(h, sizeof h, 1, f) != 1)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const struct cli_rec_service *s = &services[i];
        const ferry_pubsub_opts *o = &s->opts;
        size_t nl = strlen(s->name), tl = strlen(s->type_name);
        unsigned char len[2];
        put_le(len, nl, 2);
        if (fwrite(len, 2, 1, f) != 1 || fwrite(s->name, 1, nl, f) != nl)
            return -1;
        put_le(len, tl, 2);
        if (fwrite(len, 2, 1, f) != 1 || fwrite(s->type_name, 1, tl, f) != tl)
            return -1;
        unsigned char b[44];
        put_le(b + 0, o->max_payload, 8);
        put_le(b + 8, o->alignment, 8);
        put_le(b + 16, o->history, 4);
        put_le(b + 20, o->queue_capacity, 4);
        put_le(b + 24, o->max_publishers, 4);
        put_le(b + 28, o->max_subscribers, 4);
        put_le(b + 32, o->max_loans, 4);
        put_le(b + 36, o->max_borrowed, 4);
        put_le(b + 40, (uint32_t)o->overflow, 4);
        if (fwrite(b, sizeof b, 1, f) != 1)
            return -1;
    }
    return 0;
}

int cli_rec_write_record(FILE *f, const struct cli_rec_record *rec, const void *payload)
{
    unsigned char h[CLI_REC_RECORD_HEADER];
    put_le(h + 0, rec->service, 4);
    put_le(h + 4, rec->size, 4);
    put_le(h + 8, rec->time_ns, 8);
    put_le(h + 16, rec->sequence, 8);
    put_le(h + 24, rec->publisher_id, 8);
    if (fwrite(h, sizeof h, 1, f) != 1)
        return -1;
    if (rec->size && fwrite(payload, rec->size, 1, f) != 1)
        return -1;
    return 0;
}

static int rec_fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int read_name(FILE *f, char *out, size_t max, const char *what, char *err, size_t errlen)
{
    unsigned char len[2];
    if (fread(len, 2, 1, f) != 1)
        return rec_fail(err, errlen, "the service table is truncated");
    size_t n = (size_t)get_le(len, 2);
    if (n == 0 || n > max) {
        snprintf(err, errlen, "the service table holds a %s of %zu bytes (1 to %zu allowed)", what, n, max);
        return -1;
    }
    if (fread(out, 1, n, f) != n)
        return rec_fail(err, errlen, "the service table is truncated");
    out[n] = '\0';
    return 0;
}

int cli_rec_read_header(FILE *f, uint64_t *start_realtime_ns, struct cli_rec_service **services, uint32_t *count,
                        char *err, size_t errlen)
{
    *services = NULL;
    *count = 0;
    unsigned char h[24];
    if (fread(h, sizeof h, 1, f) != 1 || memcmp(h, CLI_REC_MAGIC, 8) != 0)
        return rec_fail(err, errlen, "not a ferry recording (no FERRYREC magic at the start)");
    uint32_t version = (uint32_t)get_le(h + 8, 4);
    if (version != CLI_REC_VERSION) {
        snprintf(err, errlen, "recording format version %u; this ferry reads version %u", version, CLI_REC_VERSION);
        return -1;
    }
    uint32_t n = (uint32_t)get_le(h + 12, 4);
    if (n == 0 || n > CLI_REC_MAX_SERVICES) {
        snprintf(err, errlen, "the recording claims %u services (1 to %u allowed)", n, CLI_REC_MAX_SERVICES);
        return -1;
    }
    *start_realtime_ns = get_le(h + 16, 8);
    struct cli_rec_service *v = calloc(n, sizeof *v);
    if (!v)
        return rec_fail(err, errlen, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        struct cli_rec_service *s = &v[i];
        unsigned char b[44];
        if (read_name(f, s->name, FERRY_SERVICE_NAME_MAX, "service name", err, errlen) ||
            read_name(f, s->type_name, FERRY_TYPE_NAME_MAX, "type name", err, errlen) ||
            (fread(b, sizeof b, 1, f) != 1 && rec_fail(err, errlen, "the service table is truncated"))) {
            free(v);
            return -1;
        }
        ferry_pubsub_opts_init(&s->opts);
        s->opts.type_name = s->type_name;
        s->opts.max_payload = (size_t)get_le(b + 0, 8);
        s->opts.alignment = (size_t)get_le(b + 8, 8);
        s->opts.history = (uint32_t)get_le(b + 16, 4);
        s->opts.queue_capacity = (uint32_t)get_le(b + 20, 4);
        s->opts.max_publishers = (uint32_t)get_le(b + 24, 4);
        s->opts.max_subscribers = (uint32_t)get_le(b + 28, 4);
        s->opts.max_loans = (uint32_t)get_le(b + 32, 4);
        s->opts.max_borrowed = (uint32_t)get_le(b + 36, 4);
        uint32_t ov = (uint32_t)get_le(b + 40, 4);
        if (ov > 1 || s->opts.max_payload == 0 || s->opts.max_payload > FY_MAX_PAYLOAD) {
            snprintf(err, errlen, "service %u (\"%s\") has invalid options in the service table", i, s->name);
            free(v);
            return -1;
        }
        s->opts.overflow = (ferry_overflow)ov;
    }
    *services = v;
    *count = n;
    return 0;
}

int cli_rec_read_record(FILE *f, uint32_t service_count, struct cli_rec_record *rec, void **buf, size_t *cap,
                        char *err, size_t errlen)
{
    unsigned char h[CLI_REC_RECORD_HEADER];
    size_t got = fread(h, 1, sizeof h, f);
    if (got == 0 && feof(f))
        return 0;
    if (got != sizeof h)
        return rec_fail(err, errlen, "the last record is truncated (was the recorder killed?)");
    rec->service = (uint32_t)get_le(h + 0, 4);
    rec->size = (uint32_t)get_le(h + 4, 4);
    rec->time_ns = get_le(h + 8, 8);
    rec->sequence = get_le(h + 16, 8);
    rec->publisher_id = get_le(h + 24, 8);
    if (rec->service >= service_count) {
        snprintf(err, errlen, "a record names service %u but the table has %u", rec->service, service_count);
        return -1;
    }
    if (rec->size > *cap) {
        void *nb = realloc(*buf, rec->size);
        if (!nb)
            return rec_fail(err, errlen, "out of memory");
        *buf = nb;
        *cap = rec->size;
    }
    if (rec->size && fread(*buf, rec->size, 1, f) != 1)
        return rec_fail(err, errlen, "the last record is truncated (was the recorder killed?)");
    return 1;
}
