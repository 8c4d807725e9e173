/* ferry replay FILE: publishes a recording again (RECORD_FORMAT.md). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry replay FILE [--speed X | --fast] [--count N] [--wait-subscribers K]\n"
    "                    [--timeout S] [--quiet] [--domain D] [--json]\n"
    "       ferry replay FILE --info [--json]\n"
    "\n"
    "Publishes the samples of a recording ('ferry record') on the services they were\n"
    "recorded from, with the recorded options, in the recorded order and timing.\n"
    "\n"
    "options:\n"
    "  -s, --speed X              play X times as fast (default 1: the original timing)\n"
    "  -F, --fast                 no waiting at all: as fast as possible\n"
    "  -n, --count N              stop after N samples\n"
    "  -S, --wait-subscribers K   before sending, wait until every service has K\n"
    "                             subscribers (samples sent before anybody listens are\n"
    "                             lost, as with any publisher)\n"
    "  -t, --timeout S            give up waiting for subscribers after S seconds\n"
    "  -i, --info                 describe the file (services, samples, bytes, duration,\n"
    "                             a checksum of the payloads) and publish nothing\n"
    "  -q, --quiet                no summary on stderr\n"
    "  -d, --domain D             domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json                 a JSON summary (or description) on stdout\n"
    "  -h, --help                 this help\n"
    "\n"
    "A service that exists already must have options compatible with the recorded\n"
    "ones. A truncated last record (a killed recorder) ends the replay with a warning.\n"
    "\n"
    "exit codes: 0 ok, 1 error (unreadable file, incompatible service, timeout),\n"
    "            2 usage error, 3 no such file\n";

struct per_svc {
    uint64_t samples, bytes;
    uint64_t checksum; /* FNV-1a 64 over the service's payloads, in order */
};

static void fnv(uint64_t *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ull;
    }
}

/* ferry replay --info */
static int describe(FILE *f, const char *file, uint64_t start_rt, const struct cli_rec_service *svcs, uint32_t n,
                    int json)
{
    struct per_svc *ps = calloc(n, sizeof *ps);
    if (!ps) {
        cli_msg("out of memory");
        return CLI_ERROR;
    }
    for (uint32_t i = 0; i < n; i++)
        ps[i].checksum = 0xcbf29ce484222325ull;
    uint64_t total = 0, bytes = 0, last = 0, first = 0, checksum = 0xcbf29ce484222325ull;
    void *buf = NULL;
    size_t cap = 0;
    char err[256] = "";
    struct cli_rec_record r;
    int rc;
    while ((rc = cli_rec_read_record(f, n, &r, &buf, &cap, err, sizeof err)) == 1) {
        if (total == 0)
            first = r.time_ns;
        last = r.time_ns;
        total++;
        bytes += r.size;
        ps[r.service].samples++;
        ps[r.service].bytes += r.size;
        fnv(&ps[r.service].checksum, buf, r.size);
    }
    free(buf);
    /* The file's checksum combines the services' (in table order), so that it
     * does not depend on how the services' samples interleave. */
    for (uint32_t i = 0; i < n; i++) {
        unsigned char le[8];
        for (unsigned b = 0; b < 8; b++)
            le[b] = (unsigned char)(ps[i].checksum >> (8 * b));
        fnv(&checksum, le, sizeof le);
    }
    if (rc < 0)
        cli_msg("warning: %s: %s", file, err);
    double secs = total ? (double)(last - first) / 1e9 : 0.0;
    if (json) {
        printf("{\"file\": ");
        cli_json_str(stdout, file);
        printf(", \"version\": %u, \"start_realtime_ns\": %llu, \"samples\": %llu, \"bytes\": %llu, "
               "\"duration_s\": %.6f, \"checksum\": \"%016llx\", \"complete\": %s, \"services\": [",
               CLI_REC_VERSION, (unsigned long long)start_rt, (unsigned long long)total, (unsigned long long)bytes,
               secs, (unsigned long long)checksum, rc < 0 ? "false" : "true");
        for (uint32_t i = 0; i < n; i++) {
            const ferry_pubsub_opts *o = &svcs[i].opts;
            printf("%s\n  {\"name\": ", i ? "," : "");
            cli_json_str(stdout, svcs[i].name);
            printf(", \"type\": ");
            cli_json_str(stdout, svcs[i].type_name);
            printf(", \"samples\": %llu, \"bytes\": %llu, \"checksum\": \"%016llx\", \"options\": {\"max_payload\": "
                   "%zu, \"alignment\": %zu, \"history\": %u, \"queue_capacity\": %u, \"max_publishers\": %u, "
                   "\"max_subscribers\": %u, \"max_loans\": %u, \"max_borrowed\": %u, \"overflow\": \"%s\"}}",
                   (unsigned long long)ps[i].samples, (unsigned long long)ps[i].bytes,
                   (unsigned long long)ps[i].checksum, o->max_payload, o->alignment, o->history, o->queue_capacity,
                   o->max_publishers, o->max_subscribers, o->max_loans, o->max_borrowed,
                   cli_overflow_name(o->overflow));
        }
        printf("\n]}\n");
    } else {
        char b[32];
        time_t t = (time_t)(start_rt / 1000000000u);
        struct tm tm;
        char when[64] = "?";
        if (localtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf("file       %s (format version %u)%s\n", file, CLI_REC_VERSION, rc < 0 ? " -- truncated" : "");
        printf("recorded   %s\n", when);
        printf("samples    %llu (%s) over %.3f s\n", (unsigned long long)total, cli_fmt_bytes(b, sizeof b, bytes),
               secs);
        printf("checksum   %016llx\n", (unsigned long long)checksum);
        printf("services   %u\n", n);
        for (uint32_t i = 0; i < n; i++) {
            const ferry_pubsub_opts *o = &svcs[i].opts;
            printf("  %s  type %s, %llu samples (%s), max_payload %zu, queue_capacity %u, history %u, overflow %s\n",
                   svcs[i].name, svcs[i].type_name, (unsigned long long)ps[i].samples,
                   cli_fmt_bytes(b, sizeof b, ps[i].bytes), o->max_payload, o->queue_capacity, o->history,
                   cli_overflow_name(o->overflow));
        }
    }
    free(ps);
    return CLI_OK;
}

int cmd_replay(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                             {"speed", required_argument, NULL, 's'},
                                             {"fast", no_argument, NULL, 'F'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"wait-subscribers", required_argument, NULL, 'S'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"info", no_argument, NULL, 'i'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    double speed = 1.0, timeout_s = 0;
    int fast = 0, speed_given = 0, info = 0, quiet = 0, c, ex;
    uint64_t count = 0, wait_subs = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "s:Fn:S:t:iq", longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        ex = CLI_OK;
        switch (c) {
        case 's':
            ex = cli_parse_double("--speed", optarg, 1e-3, 1e6, &speed);
            speed_given = 1;
            break;
        case 'F':
            fast = 1;
            break;
        case 'n':
            ex = cli_parse_u64("--count", optarg, 1, UINT64_MAX, 0, &count);
            break;
        case 'S':
            ex = cli_parse_u64("--wait-subscribers", optarg, 1, 256, 0, &wait_subs);
            break;
        case 't':
            ex = cli_parse_double("--timeout", optarg, 0.001, HUGE_VAL, &timeout_s);
            break;
        case 'i':
            info = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        }
        if (ex != CLI_OK)
            return ex;
    }
    if (optind >= argc)
        return cli_usage_error("which recording?");
    if (optind + 1 < argc)
        return cli_usage_error("unexpected argument '%s' (replay takes one file)", argv[optind + 1]);
    if (fast && speed_given)
        return cli_usage_error("--speed and --fast exclude each other");
    const char *file = argv[optind];
    if ((ex = cli_common_finish(&co)) != CLI_OK)
        return ex;

    FILE *f = !strcmp(file, "-") ? stdin : fopen(file, "rb");
    if (!f) {
        cli_msg("cannot open %s: %s", file, strerror(errno));
        return errno == ENOENT ? CLI_NOTFOUND : CLI_ERROR;
    }
    uint64_t start_rt = 0;
    struct cli_rec_service *svcs = NULL;
    uint32_t n = 0;
    char err[256] = "";
    if (cli_rec_read_header(f, &start_rt, &svcs, &n, err, sizeof err) != 0) {
        cli_msg("%s: %s", file, err);
        if (f != stdin)
            fclose(f);
        return CLI_ERROR;
    }
    if (info) {
        ex = describe(f, file, start_rt, svcs, n, co.json);
        if (f != stdin)
            fclose(f);
        free(svcs);
        return ex;
    }

    cli_signals_install();
    ferry_node *node = NULL;
    ferry_pub **pubs = calloc(n, sizeof *pubs);
    struct per_svc *ps = calloc(n, sizeof *ps);
    ex = pubs && ps ? CLI_OK : CLI_ERROR;
    if (ex != CLI_OK)
        cli_msg("out of memory");
    if (ex == CLI_OK)
        ex = cli_node_open(&node, co.domain);
    for (uint32_t i = 0; i < n && ex == CLI_OK; i++) {
        svcs[i].opts.timestamps = 1;
        int rc = ferry_pub_open(&pubs[i], node, svcs[i].name, &svcs[i].opts);
        if (rc != FERRY_OK) {
            char what[FERRY_SERVICE_NAME_MAX + 64];
            snprintf(what, sizeof what, "publishing on \"%s\"", svcs[i].name);
            cli_ferry_error(rc, what);
            ex = CLI_ERROR;
        }
    }
    uint64_t timeout_ns = cli_s_to_ns(timeout_s);
    uint64_t wait_start = cli_now_ns();
    for (uint32_t i = 0; i < n && ex == CLI_OK && wait_subs; i++) {
        uint64_t spent = cli_now_ns() - wait_start;
        if (timeout_ns && spent >= timeout_ns)
            spent = timeout_ns - 1;
        int w = cli_pub_wait_subscribers(pubs[i], wait_subs, timeout_ns ? timeout_ns - spent : 0);
        if (w < 0)
            ex = -1; /* interrupted */
        else
            ex = w;
    }

    uint64_t total = 0, bytes = 0;
    const uint64_t start = cli_now_ns();
    void *buf = NULL;
    size_t cap = 0;
    struct cli_rec_record r;
    int rc = 0;
    while (ex == CLI_OK && !cli_stop && (count == 0 || total < count) &&
           (rc = cli_rec_read_record(f, n, &r, &buf, &cap, err, sizeof err)) == 1) {
        if (r.size == 0 || r.size > svcs[r.service].opts.max_payload) {
            cli_msg("%s: record %llu has %u bytes; service \"%s\" takes 1 to %zu", file,
                    (unsigned long long)total + 1, r.size, svcs[r.service].name, svcs[r.service].opts.max_payload);
            ex = CLI_ERROR;
            break;
        }
        if (!fast) {
            uint64_t due = start + (uint64_t)((double)r.time_ns / speed);
            uint64_t now = cli_now_ns();
            while (now < due && !cli_stop) {
                uint64_t d = due - now;
                cli_sleep_ns(d < 50000000u ? d : 50000000u);
                now = cli_now_ns();
            }
            if (cli_stop)
                break;
        }
        int s = cli_pub_send(pubs[r.service], co.domain, buf, r.size);
        if (s < 0)
            break;
        if (s != CLI_OK) {
            ex = s;
            break;
        }
        ps[r.service].samples++;
        ps[r.service].bytes += r.size;
        total++;
        bytes += r.size;
    }
    free(buf);
    if (ex == CLI_OK && rc < 0)
        cli_msg("warning: %s: %s", file, err);
    double secs = (double)(cli_now_ns() - start) / 1e9;
    if (ex == CLI_OK || ex == -1 || total) {
        if (co.json) {
            printf("{\"file\": ");
            cli_json_str(stdout, file);
            printf(", \"samples\": %llu, \"bytes\": %llu, \"duration_s\": %.3f, \"complete\": %s, \"services\": [",
                   (unsigned long long)total, (unsigned long long)bytes, secs, rc < 0 ? "false" : "true");
            for (uint32_t i = 0; i < n; i++) {
                printf("%s{\"name\": ", i ? ", " : "");
                cli_json_str(stdout, svcs[i].name);
                printf(", \"samples\": %llu, \"bytes\": %llu}", (unsigned long long)ps[i].samples,
                       (unsigned long long)ps[i].bytes);
            }
            printf("]}\n");
        } else if (!quiet) {
            char b[32];
            cli_msg("replayed %llu sample%s (%s) in %.2f s on %u service%s", (unsigned long long)total,
                    total == 1 ? "" : "s", cli_fmt_bytes(b, sizeof b, bytes), secs, n, n == 1 ? "" : "s");
        }
    }
    for (uint32_t i = 0; pubs && i < n; i++)
        ferry_pub_close(pubs[i]);
    ferry_node_close(node);
    free(pubs);
    free(ps);
    free(svcs);
    if (f != stdin)
        fclose(f);
    return ex < 0 ? CLI_OK : ex;
}
