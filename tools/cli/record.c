/* ferry record SERVICE... -o FILE: records services to a file (RECORD_FORMAT.md). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry record SERVICE... -o FILE [--count N] [--duration S] [--wait]\n"
    "                    [--quiet] [--domain D] [--json]\n"
    "\n"
    "Subscribes to one or more services and writes every sample, with its timing, to\n"
    "FILE ('-': stdout). 'ferry replay FILE' publishes it again. The format is in\n"
    "tools/cli/RECORD_FORMAT.md.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the recording (overwritten if it exists); required\n"
    "  -n, --count N      stop after N samples (all services together)\n"
    "  -D, --duration S   stop after S seconds\n"
    "  -w, --wait         wait for services to appear instead of failing (exit 3)\n"
    "  -q, --quiet        no summary on stderr\n"
    "  -d, --domain D     domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json         a JSON summary on stdout (not with -o -)\n"
    "  -h, --help         this help\n"
    "\n"
    "Ctrl-C stops and leaves a complete file. Samples lost because the recorder fell\n"
    "behind (overflow drop_oldest) are counted in the summary.\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage error, 3 no such service\n";

struct rec_svc {
    ferry_service_info info;
    ferry_sub *sub;
    uint64_t samples, bytes;
};

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The wait set only wakes the loop up; the loop takes from every subscriber. */
static int ready(const ferry_event_info *event, void *user)
{
    (void)event;
    (void)user;
    return 0;
}

static void summary(const char *file, struct rec_svc *svcs, uint32_t n, uint64_t total, uint64_t bytes,
                    double secs, int json, int quiet)
{
    if (json) {
        printf("{\"file\": ");
        cli_json_str(stdout, file);
        printf(", \"samples\": %llu, \"bytes\": %llu, \"duration_s\": %.3f, \"services\": [", (unsigned long long)total,
               (unsigned long long)bytes, secs);
        for (uint32_t i = 0; i < n; i++) {
            ferry_sub_stats st;
            memset(&st, 0, sizeof st);
            ferry_sub_stats_get(svcs[i].sub, &st);
            printf("%s{\"name\": ", i ? ", " : "");
            cli_json_str(stdout, svcs[i].info.name);
            printf(", \"samples\": %llu, \"bytes\": %llu, \"lost\": %llu}", (unsigned long long)svcs[i].samples,
                   (unsigned long long)svcs[i].bytes, (unsigned long long)st.lost);
        }
        printf("]}\n");
        return;
    }
    if (quiet)
        return;
    char b[32];
    cli_msg("recorded %llu sample%s (%s) in %.1f s to %s", (unsigned long long)total, total == 1 ? "" : "s",
            cli_fmt_bytes(b, sizeof b, bytes), secs, file);
    for (uint32_t i = 0; i < n; i++) {
        ferry_sub_stats st;
        memset(&st, 0, sizeof st);
        ferry_sub_stats_get(svcs[i].sub, &st);
        fprintf(stderr, "  %-40s %8llu samples  %10s  lost %llu\n", svcs[i].info.name,
                (unsigned long long)svcs[i].samples, cli_fmt_bytes(b, sizeof b, svcs[i].bytes),
                (unsigned long long)st.lost);
    }
}

int cmd_record(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                             {"output", required_argument, NULL, 'o'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"duration", required_argument, NULL, 'D'},
                                             {"wait", no_argument, NULL, 'w'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    const char *out = NULL;
    uint64_t count = 0;
    double duration_s = 0;
    int wait = 0, quiet = 0, c, ex;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "o:n:D:wq", longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        switch (c) {
        case 'o':
            out = optarg;
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
        case 'q':
            quiet = 1;
            break;
        }
    }
    int nsvc = argc - optind;
    if (nsvc <= 0)
        return cli_usage_error("which services? (ferry list shows them)");
    if (!out)
        return cli_usage_error("where to? give the output file with -o FILE");
    if ((uint32_t)nsvc > CLI_REC_MAX_SERVICES)
        return cli_usage_error("at most %u services per recording", CLI_REC_MAX_SERVICES);
    int to_stdout = !strcmp(out, "-");
    if (to_stdout && co.json)
        return cli_usage_error("--json writes to stdout: not with -o -");
    if ((ex = cli_common_finish(&co)) != CLI_OK)
        return ex;
    for (int i = 0; i < nsvc; i++) {
        if ((ex = cli_check_service_name(argv[optind + i])) != CLI_OK)
            return ex;
        for (int j = 0; j < i; j++)
            if (!strcmp(argv[optind + i], argv[optind + j]))
                return cli_usage_error("service \"%s\" is named twice", argv[optind + i]);
    }

    cli_signals_install();
    const uint64_t duration_ns = cli_s_to_ns(duration_s);
    const uint64_t deadline = duration_ns ? cli_now_ns() + duration_ns : UINT64_MAX;
    struct rec_svc *svcs = calloc((size_t)nsvc, sizeof *svcs);
    struct cli_rec_service *table = calloc((size_t)nsvc, sizeof *table);
    if (!svcs || !table) {
        free(svcs);
        free(table);
        cli_msg("out of memory");
        return CLI_ERROR;
    }
    ex = CLI_OK;
    for (int i = 0; i < nsvc && ex == CLI_OK; i++) {
        const char *name = argv[optind + i];
        ex = wait ? cli_wait_service(co.domain, name, &svcs[i].info, duration_ns)
                  : cli_find_service(co.domain, name, &svcs[i].info, 0);
        if (ex == CLI_NOTFOUND && wait && cli_stop)
            ex = -1; /* interrupted while waiting: nothing to record */
        else if (ex == CLI_OK)
            ex = cli_require_pubsub(&svcs[i].info);
    }
    ferry_node *node = NULL;
    if (ex == CLI_OK)
        ex = cli_node_open(&node, co.domain);
    for (int i = 0; i < nsvc && ex == CLI_OK; i++) {
        ex = cli_sub_open(node, &svcs[i].info, &svcs[i].sub);
        snprintf(table[i].name, sizeof table[i].name, "%s", svcs[i].info.name);
        snprintf(table[i].type_name, sizeof table[i].type_name, "%s", svcs[i].info.type_name);
        table[i].opts = svcs[i].info.opts;
        table[i].opts.type_name = table[i].type_name;
    }
    /* One wait set sleeps on every subscriber at once. */
    ferry_waitset *ws = NULL;
    if (ex == CLI_OK) {
        int rc = ferry_waitset_open(&ws);
        for (int i = 0; i < nsvc && rc == FERRY_OK; i++)
            rc = ferry_waitset_attach_sub(ws, svcs[i].sub, NULL, NULL);
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "preparing to wait for samples");
            ex = CLI_ERROR;
        }
    }
    FILE *f = NULL;
    if (ex == CLI_OK) {
        f = to_stdout ? stdout : fopen(out, "wb");
        if (!f) {
            cli_msg("cannot create %s: %s", out, strerror(errno));
            ex = CLI_ERROR;
        }
    }
    const uint64_t start = cli_now_ns();
    if (ex == CLI_OK && cli_rec_write_header(f, realtime_ns(), table, (uint32_t)nsvc) != 0) {
        cli_msg("writing %s: %s", out, strerror(errno));
        ex = CLI_ERROR;
    }

    uint64_t total = 0, bytes = 0, last_time = 0, next_flush = start + 100 * 1000 * 1000;
    while (ex == CLI_OK && !cli_stop && (count == 0 || total < count)) {
        int got = 0;
        for (int i = 0; i < nsvc && ex == CLI_OK && (count == 0 || total < count); i++) {
            const void *payload = NULL;
            size_t size = 0;
            int rc = ferry_sub_take(svcs[i].sub, &payload, &size);
            if (rc == FERRY_EAGAIN)
                continue;
            if (rc != FERRY_OK) {
                cli_ferry_error(rc, "taking a sample");
                ex = CLI_ERROR;
                break;
            }
            uint64_t now = cli_now_ns();
            ferry_sample_info si;
            memset(&si, 0, sizeof si);
            ferry_sub_sample_info(svcs[i].sub, payload, &si);
            /* Timing comes from the publish timestamp when there is one, so
             * that the recorder's own delays do not end up in the file. Times
             * never go back: replay sends in file order. */
            uint64_t t = si.timestamp_ns ? si.timestamp_ns : now;
            t = t > start ? t - start : 0;
            t = t > last_time ? t : last_time;
            last_time = t;
            struct cli_rec_record r = {(uint32_t)i, (uint32_t)size, t, si.sequence, si.publisher_id};
            int wrc = cli_rec_write_record(f, &r, payload);
            ferry_sub_release(svcs[i].sub, payload);
            if (wrc != 0) {
                cli_msg("writing %s: %s", out, strerror(errno));
                ex = CLI_ERROR;
                break;
            }
            svcs[i].samples++;
            svcs[i].bytes += size;
            total++;
            bytes += size;
            got = 1;
        }
        uint64_t now = cli_now_ns();
        if (now >= next_flush) { /* so that a killed recorder leaves most of its file */
            fflush(f);
            next_flush = now + 100 * 1000 * 1000;
        }
        if (now >= deadline)
            break;
        if (!got) {
            uint64_t until = next_flush < deadline ? next_flush : deadline;
            int rc = ferry_waitset_wait(ws, (int64_t)cli_wait_slice(now, until), ready, NULL, NULL);
            if (rc != FERRY_OK && rc != FERRY_ETIMEDOUT) {
                cli_ferry_error(rc, "waiting for samples");
                ex = CLI_ERROR;
            }
        }
    }
    if (f && fflush(f) != 0 && ex == CLI_OK) {
        cli_msg("writing %s: %s", out, strerror(errno));
        ex = CLI_ERROR;
    }
    if (f && !to_stdout && fclose(f) != 0 && ex == CLI_OK) {
        cli_msg("writing %s: %s", out, strerror(errno));
        ex = CLI_ERROR;
    }
    if (f && (ex == CLI_OK || total))
        summary(out, svcs, (uint32_t)nsvc, total, bytes, (double)(cli_now_ns() - start) / 1e9, co.json, quiet);
    ferry_waitset_close(ws); /* before the subscribers it watches */
    for (int i = 0; i < nsvc; i++)
        ferry_sub_close(svcs[i].sub);
    ferry_node_close(node);
    free(svcs);
    free(table);
    return ex < 0 ? CLI_OK : ex;
}
