/* ferry echo SERVICE: subscribes and prints every sample. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry echo SERVICE [--format auto|hex|text|raw] [--count N] [--timeout S]\n"
    "                  [--wait] [--quiet] [--domain D] [--json]\n"
    "\n"
    "Subscribes to a service (with the service's own options, so any payload type\n"
    "works) and prints each sample: its sequence number, size and latency (now minus\n"
    "the publish timestamp), then the payload. On an event service it listens and\n"
    "prints each event id; on a state service it prints the current value and then\n"
    "every new version.\n"
    "\n"
    "options:\n"
    "  -f, --format F    auto (default: text when the payload is printable, else hex),\n"
    "                    hex (a dump), text (non-printable bytes as \\xNN), or raw\n"
    "                    (payload bytes only, nothing else, to stdout: for piping)\n"
    "  -n, --count N     stop after N samples\n"
    "  -t, --timeout S   stop after S seconds; with --count, having fewer than N\n"
    "                    samples by then is an error (exit 1)\n"
    "  -w, --wait        wait for the service to appear instead of failing (exit 3)\n"
    "  -q, --quiet       no summary on stderr at the end\n"
    "  -d, --domain D    domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json        one JSON object per line per sample (with \"text\" or \"hex\")\n"
    "  -h, --help        this help\n"
    "\n"
    "Ctrl-C stops. The summary on stderr gives the samples received and lost (the\n"
    "queue overflowed: the service's overflow is drop_oldest and echo fell behind).\n"
    "\n"
    "exit codes: 0 ok, 1 error or timed out before --count, 2 usage error,\n"
    "            3 no such service\n";

enum fmt { FMT_AUTO, FMT_HEX, FMT_TEXT, FMT_RAW };

/* Printable text: every byte printable ASCII, tab or newline, except NULs at
 * the end (C strings sent with their terminator). */
static size_t text_length(const unsigned char *p, size_t n, int *printable)
{
    while (n > 0 && p[n - 1] == 0)
        n--;
    *printable = 1;
    for (size_t i = 0; i < n && *printable; i++)
        *printable = (p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n' || p[i] == '\t' || p[i] == '\r';
    return n;
}

static void print_text(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    if (n == 0 || p[n - 1] != '\n')
        putchar('\n');
}

static void print_hex(const unsigned char *p, size_t n)
{
    for (size_t off = 0; off < n; off += 16) {
        size_t len = n - off < 16 ? n - off : 16;
        printf("  %06zx ", off);
        for (size_t i = 0; i < 16; i++) {
            if (i == 8)
                putchar(' ');
            if (i < len)
                printf(" %02x", p[off + i]);
            else
                printf("   ");
        }
        printf("  |");
        for (size_t i = 0; i < len; i++)
            putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
        printf("|\n");
    }
}

/* What is being echoed, and how. */
struct echo {
    enum fmt fmt;
    int json;
    uint64_t count;    /* 0: no limit */
    uint64_t deadline; /* CLOCK_MONOTONIC ns; UINT64_MAX: none */
    uint64_t received;
    uint64_t lost;
    int timed_out;
};

/* The payload part of a sample (the JSON fields "text"/"hex" go into an
 * object the caller opened and closes). */
static void print_payload(const struct echo *e, const void *payload, size_t size)
{
    const unsigned char *p = payload;
    int printable;
    size_t tlen = text_length(p, size, &printable);
    int as_text = e->fmt == FMT_TEXT || (e->fmt == FMT_AUTO && printable);
    if (e->json) {
        if (as_text) {
            printf("\"text\": ");
            cli_json_bytes(stdout, p, e->fmt == FMT_TEXT ? size : tlen);
        } else {
            printf("\"hex\": \"");
            cli_hex(stdout, p, size);
            printf("\"");
        }
        printf("}\n");
    } else if (as_text) {
        print_text(p, e->fmt == FMT_TEXT ? size : tlen);
    } else {
        print_hex(p, size);
    }
}

static void print_sample(const struct echo *e, const ferry_sample_info *si, const void *payload, size_t size,
                         uint64_t now)
{
    double latency = si->timestamp_ns && now >= si->timestamp_ns ? (double)(now - si->timestamp_ns) : -1.0;
    if (e->fmt == FMT_RAW) {
        fwrite(payload, 1, size, stdout);
        return;
    }
    if (e->json) {
        printf("{\"sequence\": %llu, \"size\": %zu, \"timestamp_ns\": %llu, ", (unsigned long long)si->sequence, size,
               (unsigned long long)si->timestamp_ns);
        if (latency >= 0)
            printf("\"latency_ns\": %.0f, ", latency);
        else
            printf("\"latency_ns\": null, ");
        printf("\"publisher\": \"%016llx\", ", (unsigned long long)si->publisher_id);
    } else {
        char lat[32];
        printf("--- seq %llu, %zu byte%s, latency %s, publisher %016llx\n", (unsigned long long)si->sequence, size,
               size == 1 ? "" : "s", latency >= 0 ? cli_fmt_ns(lat, sizeof lat, latency) : "n/a (no timestamp)",
               (unsigned long long)si->publisher_id);
    }
    print_payload(e, payload, size);
}

/* After printing: CLI_OK to go on, 1 to stop quietly (the reader of our
 * output went away), CLI_ERROR on another write error. */
static int flushed(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return CLI_OK;
    if (errno == EPIPE)
        return 1;
    cli_msg("writing the output: %s", strerror(errno));
    return CLI_ERROR;
}

/* Publish-subscribe: every sample. */
static int echo_pubsub(struct echo *e, ferry_node *node, const ferry_service_info *info)
{
    ferry_sub *sub = NULL;
    int ex = cli_sub_open(node, info, &sub);
    if (ex != CLI_OK)
        return ex;
    while (!cli_stop && (e->count == 0 || e->received < e->count)) {
        const void *payload = NULL;
        size_t size = 0;
        int rc = ferry_sub_take(sub, &payload, &size);
        if (rc == FERRY_EAGAIN) {
            uint64_t now = cli_now_ns();
            if (now >= e->deadline) {
                e->timed_out = 1;
                break;
            }
            /* Sleeps until a sample comes; wakes up now and then to see
             * Ctrl-C (a signal does not end ferry_sub_wait). */
            rc = ferry_sub_wait(sub, (int64_t)cli_wait_slice(now, e->deadline));
            if (rc == FERRY_OK || rc == FERRY_ETIMEDOUT || rc == FERRY_EDISCONNECTED)
                continue;
        }
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "receiving a sample");
            ex = CLI_ERROR;
            break;
        }
        uint64_t now = cli_now_ns();
        ferry_sample_info si;
        memset(&si, 0, sizeof si);
        si.size = size;
        ferry_sub_sample_info(sub, payload, &si);
        print_sample(e, &si, payload, size, now);
        ferry_sub_release(sub, payload);
        e->received++;
        int f = flushed();
        if (f != CLI_OK) {
            ex = f == 1 ? CLI_OK : f;
            break;
        }
    }
    ferry_sub_stats st;
    memset(&st, 0, sizeof st);
    ferry_sub_stats_get(sub, &st);
    e->lost = st.lost;
    ferry_sub_close(sub);
    return ex;
}

/* Events: every id raised (repeats before echo collects them count once). */
static int echo_events(struct echo *e, ferry_node *node, const ferry_service_info *info)
{
    ferry_event_opts opts = info->event_opts;
    ferry_listener *l = NULL;
    int rc = ferry_listener_open(&l, node, info->name, &opts);
    if (rc != FERRY_OK) {
        cli_ferry_error(rc, "listening");
        return CLI_ERROR;
    }
    int ex = CLI_OK;
    while (ex == CLI_OK && !cli_stop && (e->count == 0 || e->received < e->count)) {
        uint64_t now = cli_now_ns();
        if (now >= e->deadline) {
            e->timed_out = 1;
            break;
        }
        uint32_t ids[64];
        size_t n = 0;
        rc = ferry_listener_wait(l, ids, 64, &n, (int64_t)cli_wait_slice(now, e->deadline));
        if (rc == FERRY_ETIMEDOUT || rc == FERRY_EAGAIN)
            continue;
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "waiting for events");
            ex = CLI_ERROR;
            break;
        }
        for (size_t i = 0; i < n && (e->count == 0 || e->received < e->count); i++) {
            int gone = ids[i] == FERRY_EVENT_PEER_GONE;
            if (e->json && gone)
                printf("{\"event\": \"peer_gone\"}\n");
            else if (e->json)
                printf("{\"event\": %u}\n", ids[i]);
            else if (gone)
                printf("event peer_gone (a notifier went away)\n");
            else
                printf("event %u\n", ids[i]);
            e->received++;
        }
        int f = flushed();
        if (f != CLI_OK)
            ex = f == 1 ? CLI_OK : f;
        if (f == 1)
            break;
    }
    ferry_listener_close(l);
    return ex;
}

/* State: the current value, then every new version. */
static int echo_state(struct echo *e, ferry_node *node, const ferry_service_info *info)
{
    ferry_state_opts opts = info->state_opts;
    opts.type_name = info->type_name;
    opts.persist_dir = NULL;
    ferry_state_reader *r = NULL;
    int rc = ferry_state_reader_open(&r, node, info->name, &opts);
    if (rc != FERRY_OK) {
        cli_ferry_error(rc, "reading the state");
        return CLI_ERROR;
    }
    int ex = CLI_OK;
    uint64_t seen = 0;
    while (ex == CLI_OK && !cli_stop && (e->count == 0 || e->received < e->count)) {
        const void *data = NULL;
        size_t size = 0;
        uint64_t version = 0;
        rc = ferry_state_read_begin(r, &data, &size, &version);
        if (rc == FERRY_OK) {
            if (version != seen) {
                if (e->fmt == FMT_RAW) {
                    fwrite(data, 1, size, stdout);
                } else {
                    if (e->json)
                        printf("{\"version\": %llu, \"size\": %zu, ", (unsigned long long)version, size);
                    else
                        printf("--- version %llu, %zu byte%s\n", (unsigned long long)version, size,
                               size == 1 ? "" : "s");
                    print_payload(e, data, size);
                }
                seen = version;
                e->received++;
            }
            ferry_state_read_end(r);
            int f = flushed();
            if (f != CLI_OK) {
                ex = f == 1 ? CLI_OK : f;
                break;
            }
            if (e->count && e->received >= e->count)
                break;
        } else if (rc != FERRY_EAGAIN) {
            cli_ferry_error(rc, "reading the state");
            ex = CLI_ERROR;
            break;
        }
        uint64_t now = cli_now_ns();
        if (now >= e->deadline) {
            e->timed_out = 1;
            break;
        }
        rc = ferry_state_wait(r, seen, (int64_t)cli_wait_slice(now, e->deadline));
        if (rc != FERRY_OK && rc != FERRY_ETIMEDOUT && rc != FERRY_EDISCONNECTED) {
            cli_ferry_error(rc, "waiting for the state");
            ex = CLI_ERROR;
        }
    }
    ferry_state_reader_close(r);
    return ex;
}

int cmd_echo(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                             {"format", required_argument, NULL, 'f'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"wait", no_argument, NULL, 'w'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    enum fmt fmt = FMT_AUTO;
    uint64_t count = 0;
    double timeout_s = 0;
    int wait = 0, quiet = 0, c, ex;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "f:n:t:wq", longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        switch (c) {
        case 'f':
            if (!strcmp(optarg, "auto"))
                fmt = FMT_AUTO;
            else if (!strcmp(optarg, "hex"))
                fmt = FMT_HEX;
            else if (!strcmp(optarg, "text"))
                fmt = FMT_TEXT;
            else if (!strcmp(optarg, "raw"))
                fmt = FMT_RAW;
            else
                return cli_usage_error("--format: '%s' is not a format: use auto, hex, text or raw", optarg);
            break;
        case 'n':
            if ((ex = cli_parse_u64("--count", optarg, 1, UINT64_MAX, 0, &count)) != CLI_OK)
                return ex;
            break;
        case 't':
            if ((ex = cli_parse_double("--timeout", optarg, 0.001, HUGE_VAL, &timeout_s)) != CLI_OK)
                return ex;
            break;
        case 'w':
            wait = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        }
    }
    if (optind >= argc)
        return cli_usage_error("which service? (ferry list shows them)");
    if (optind + 1 < argc)
        return cli_usage_error("unexpected argument '%s' (echo takes one service)", argv[optind + 1]);
    const char *name = argv[optind];
    if (co.json && fmt == FMT_RAW)
        return cli_usage_error("--json and --format raw exclude each other");
    if ((ex = cli_common_finish(&co)) != CLI_OK || (ex = cli_check_service_name(name)) != CLI_OK)
        return ex;

    cli_signals_install();
    const uint64_t start = cli_now_ns();
    const uint64_t timeout_ns = cli_s_to_ns(timeout_s);
    const uint64_t deadline = timeout_ns ? start + timeout_ns : UINT64_MAX;
    ferry_service_info info;
    ex = wait ? cli_wait_service(co.domain, name, &info, timeout_ns) : cli_find_service(co.domain, name, &info, 0);
    if (ex != CLI_OK)
        return ex == CLI_NOTFOUND && wait && cli_stop ? CLI_OK : ex;
    if (info.pattern != FERRY_PATTERN_PUBSUB && info.pattern != FERRY_PATTERN_EVENT &&
        info.pattern != FERRY_PATTERN_STATE)
        return cli_require_pubsub(&info);

    ferry_node *node = NULL;
    if ((ex = cli_node_open(&node, co.domain)) != CLI_OK)
        return ex;
    struct echo e = {fmt, co.json, count, deadline, 0, 0, 0};
    if (info.pattern == FERRY_PATTERN_EVENT)
        ex = echo_events(&e, node, &info);
    else if (info.pattern == FERRY_PATTERN_STATE)
        ex = echo_state(&e, node, &info);
    else
        ex = echo_pubsub(&e, node, &info);
    if (ex == CLI_OK && e.timed_out && count) {
        cli_msg("timed out after %.3g s with %llu of %llu", timeout_s, (unsigned long long)e.received,
                (unsigned long long)count);
        ex = CLI_ERROR;
    }
    if (!quiet) {
        const char *what = info.pattern == FERRY_PATTERN_EVENT   ? "event"
                           : info.pattern == FERRY_PATTERN_STATE ? "version"
                                                                 : "sample";
        if (info.pattern == FERRY_PATTERN_PUBSUB)
            cli_msg("received %llu %s%s, lost %llu", (unsigned long long)e.received, what, e.received == 1 ? "" : "s",
                    (unsigned long long)e.lost);
        else
            cli_msg("received %llu %s%s", (unsigned long long)e.received, what, e.received == 1 ? "" : "s");
    }
    ferry_node_close(node);
    return ex;
}
