/* ferry hz SERVICE: rate, sizes and latency of a service, printed periodically. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry hz SERVICE [--window S] [--interval S] [--count N] [--duration S]\n"
    "                [--wait] [--domain D] [--json]\n"
    "\n"
    "Subscribes to a service and prints, every --interval, the rate (samples per\n"
    "second), the sample sizes (min/avg/max) and the latency from the publish\n"
    "timestamp to now (min/avg/max) over the last --window seconds. When it stops it\n"
    "prints a summary over the whole run.\n"
    "\n"
    "options:\n"
    "  -W, --window S    seconds of samples the statistics cover (default 5)\n"
    "  -i, --interval S  seconds between reports (default 1)\n"
    "  -n, --count N     stop after N samples\n"
    "  -D, --duration S  stop after S seconds\n"
    "  -w, --wait        wait for the service to appear instead of failing (exit 3)\n"
    "  -d, --domain D    domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json        one JSON object per line per report; the last has \"final\": true\n"
    "  -h, --help        this help\n"
    "\n"
    "The rate is (samples - 1) / (time between the first and the last sample), as\n"
    "measured on arrival. Latency needs publishers that stamp their samples\n"
    "(ferry_pubsub_opts.timestamps = 1; off by default, on in `ferry pub`); it\n"
    "includes the time hz takes to wake up when a sample arrives.\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage error, 3 no such service\n";

struct obs {
    uint64_t at;      /* arrival, CLOCK_MONOTONIC ns */
    uint64_t latency; /* ns; UINT64_MAX: no timestamp */
    uint32_t size;
};

/* The window: a ring of observations, oldest at first. */
struct window {
    struct obs *v;
    size_t cap, first, n;
};

#define MAX_WINDOW_SAMPLES (4u << 20)

static int window_push(struct window *w, const struct obs *o)
{
    if (w->n == w->cap) {
        if (w->cap >= MAX_WINDOW_SAMPLES) { /* full: forget the oldest */
            w->first = (w->first + 1) % w->cap;
            w->n--;
        } else {
            size_t cap = w->cap ? w->cap * 2 : 1024;
            struct obs *v = malloc(cap * sizeof *v);
            if (!v)
                return -1;
            for (size_t i = 0; i < w->n; i++)
                v[i] = w->v[(w->first + i) % w->cap];
            free(w->v);
            w->v = v;
            w->cap = cap;
            w->first = 0;
        }
    }
    w->v[(w->first + w->n) % w->cap] = *o;
    w->n++;
    return 0;
}

static void window_trim(struct window *w, uint64_t oldest)
{
    while (w->n && w->v[w->first].at < oldest) {
        w->first = (w->first + 1) % w->cap;
        w->n--;
    }
}

struct stats {
    uint64_t n, first_at, last_at;
    uint64_t size_min, size_max;
    double size_sum;
    uint64_t lat_n, lat_min, lat_max;
    double lat_sum;
};

static void stats_init(struct stats *s)
{
    memset(s, 0, sizeof *s);
    s->size_min = UINT64_MAX;
    s->lat_min = UINT64_MAX;
}

static void stats_add(struct stats *s, const struct obs *o)
{
    if (s->n == 0)
        s->first_at = o->at;
    s->last_at = o->at;
    s->n++;
    s->size_min = o->size < s->size_min ? o->size : s->size_min;
    s->size_max = o->size > s->size_max ? o->size : s->size_max;
    s->size_sum += o->size;
    if (o->latency != UINT64_MAX) {
        s->lat_n++;
        s->lat_min = o->latency < s->lat_min ? o->latency : s->lat_min;
        s->lat_max = o->latency > s->lat_max ? o->latency : s->lat_max;
        s->lat_sum += (double)o->latency;
    }
}

static double stats_rate(const struct stats *s)
{
    if (s->n < 2 || s->last_at <= s->first_at)
        return 0.0;
    return (double)(s->n - 1) * 1e9 / (double)(s->last_at - s->first_at);
}

static void report(const struct stats *s, int json, int final, double elapsed_s, double window_s, uint64_t lost)
{
    double rate = stats_rate(s);
    if (json) {
        printf("{\"final\": %s, \"elapsed_s\": %.3f, \"window_s\": %.3f, \"samples\": %llu, \"rate_hz\": %.3f, "
               "\"lost\": %llu, ",
               final ? "true" : "false", elapsed_s, window_s, (unsigned long long)s->n, rate,
               (unsigned long long)lost);
        if (s->n)
            printf("\"size\": {\"min\": %llu, \"avg\": %.1f, \"max\": %llu}, ", (unsigned long long)s->size_min,
                   s->size_sum / (double)s->n, (unsigned long long)s->size_max);
        else
            printf("\"size\": null, ");
        if (s->lat_n)
            printf("\"latency_ns\": {\"min\": %llu, \"avg\": %.0f, \"max\": %llu}}\n", (unsigned long long)s->lat_min,
                   s->lat_sum / (double)s->lat_n, (unsigned long long)s->lat_max);
        else
            printf("\"latency_ns\": null}\n");
        fflush(stdout);
        return;
    }
    if (final)
        printf("summary: ");
    if (s->n == 0) {
        printf("no samples%s%.1f s (lost %llu)\n", final ? " in " : " in the last ", final ? elapsed_s : window_s,
               (unsigned long long)lost);
        fflush(stdout);
        return;
    }
    printf("%.2f msg/s  size %.0f B (%llu..%llu)", rate, s->size_sum / (double)s->n, (unsigned long long)s->size_min,
           (unsigned long long)s->size_max);
    if (s->lat_n) {
        char a[32], b[32], c[32];
        printf("  latency %s (%s..%s)", cli_fmt_ns(a, sizeof a, s->lat_sum / (double)s->lat_n),
               cli_fmt_ns(b, sizeof b, (double)s->lat_min), cli_fmt_ns(c, sizeof c, (double)s->lat_max));
    } else {
        printf("  latency n/a");
    }
    printf("  [%llu samples in %.1f s, lost %llu]\n", (unsigned long long)s->n, final ? elapsed_s : window_s,
           (unsigned long long)lost);
    fflush(stdout);
}

int cmd_hz(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                             {"window", required_argument, NULL, 'W'},
                                             {"interval", required_argument, NULL, 'i'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"duration", required_argument, NULL, 'D'},
                                             {"wait", no_argument, NULL, 'w'},
                                             {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    double window_s = 5.0, interval_s = 1.0, duration_s = 0;
    uint64_t count = 0;
    int wait = 0, c, ex;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "W:i:n:D:w", longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        switch (c) {
        case 'W':
            if ((ex = cli_parse_double("--window", optarg, 0.01, 86400, &window_s)) != CLI_OK)
                return ex;
            break;
        case 'i':
            if ((ex = cli_parse_double("--interval", optarg, 0.01, 86400, &interval_s)) != CLI_OK)
                return ex;
            break;
        case 'n':
            if ((ex = cli_parse_u64("--count", optarg, 1, UINT64_MAX, 0, &count)) != CLI_OK)
                return ex;
            break;
        case 'D':
            if ((ex = cli_parse_double("--duration", optarg, 0.001, HUGE_VAL, &duration_s)) != CLI_OK)
                return ex;
            break;
        case 'w':
            wait = 1;
            break;
        }
    }
    if (optind >= argc)
        return cli_usage_error("which service? (ferry list shows them)");
    if (optind + 1 < argc)
        return cli_usage_error("unexpected argument '%s' (hz takes one service)", argv[optind + 1]);
    const char *name = argv[optind];
    if ((ex = cli_common_finish(&co)) != CLI_OK || (ex = cli_check_service_name(name)) != CLI_OK)
        return ex;

    cli_signals_install();
    const uint64_t start = cli_now_ns();
    const uint64_t duration_ns = cli_s_to_ns(duration_s);
    const uint64_t deadline = duration_ns ? start + duration_ns : UINT64_MAX;
    ferry_service_info info;
    ex = wait ? cli_wait_service(co.domain, name, &info, duration_ns) : cli_find_service(co.domain, name, &info, 0);
    if (ex != CLI_OK)
        return ex == CLI_NOTFOUND && wait && cli_stop ? CLI_OK : ex;
    if ((ex = cli_require_pubsub(&info)) != CLI_OK)
        return ex;

    ferry_node *node = NULL;
    ferry_sub *sub = NULL;
    if ((ex = cli_node_open(&node, co.domain)) != CLI_OK)
        return ex;
    if ((ex = cli_sub_open(node, &info, &sub)) != CLI_OK) {
        ferry_node_close(node);
        return ex;
    }

    const uint64_t window_ns = cli_s_to_ns(window_s), interval_ns = cli_s_to_ns(interval_s);
    const uint64_t measure_start = cli_now_ns();
    uint64_t next_report = measure_start + interval_ns;
    struct window win = {0};
    struct stats total;
    stats_init(&total);
    ex = CLI_OK;
    while (!cli_stop && (count == 0 || total.n < count)) {
        const void *payload = NULL;
        size_t size = 0;
        int rc = ferry_sub_take(sub, &payload, &size);
        uint64_t now = cli_now_ns();
        if (rc == FERRY_OK) {
            ferry_sample_info si;
            memset(&si, 0, sizeof si);
            ferry_sub_sample_info(sub, payload, &si);
            ferry_sub_release(sub, payload);
            struct obs o = {now, si.timestamp_ns && now >= si.timestamp_ns ? now - si.timestamp_ns : UINT64_MAX,
                            (uint32_t)size};
            stats_add(&total, &o);
            if (window_push(&win, &o) != 0) {
                cli_msg("out of memory");
                ex = CLI_ERROR;
                break;
            }
        } else if (rc != FERRY_EAGAIN) {
            cli_ferry_error(rc, "taking a sample");
            ex = CLI_ERROR;
            break;
        }
        if (now >= next_report) {
            window_trim(&win, now > window_ns ? now - window_ns : 0);
            struct stats ws;
            stats_init(&ws);
            for (size_t i = 0; i < win.n; i++)
                stats_add(&ws, &win.v[(win.first + i) % win.cap]);
            ferry_sub_stats st;
            memset(&st, 0, sizeof st);
            ferry_sub_stats_get(sub, &st);
            double covered = (double)(now - measure_start) / 1e9;
            report(&ws, co.json, 0, covered, covered < window_s ? covered : window_s, st.lost);
            while (next_report <= now)
                next_report += interval_ns;
        }
        if (now >= deadline)
            break;
        if (rc == FERRY_EAGAIN) {
            /* Sleeps until a sample comes, the next report is due, or it is
             * time to look at Ctrl-C. */
            uint64_t until = next_report < deadline ? next_report : deadline;
            rc = ferry_sub_wait(sub, (int64_t)cli_wait_slice(now, until));
            if (rc != FERRY_OK && rc != FERRY_ETIMEDOUT && rc != FERRY_EDISCONNECTED) {
                cli_ferry_error(rc, "waiting for samples");
                ex = CLI_ERROR;
                break;
            }
        }
    }
    ferry_sub_stats st;
    memset(&st, 0, sizeof st);
    ferry_sub_stats_get(sub, &st);
    if (ex == CLI_OK)
        report(&total, co.json, 1, (double)(cli_now_ns() - measure_start) / 1e9, window_s, st.lost);
    free(win.v);
    ferry_sub_close(sub);
    ferry_node_close(node);
    return ex;
}
