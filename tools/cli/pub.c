/* ferry pub SERVICE [DATA...]: publishes samples from arguments, stdin or a file. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry pub SERVICE DATA...            one sample per argument\n"
    "       ferry pub SERVICE - [--lines]        stdin: one sample, or one per line\n"
    "       ferry pub SERVICE --file F [--lines] a file: one sample, or one per line\n"
    "                 [--rate HZ] [--count N] [--wait-subscribers K] [--linger S]\n"
    "                 [--hex] [creation options] [--domain D] [--json] [--quiet]\n"
    "\n"
    "Publishes samples on a service. An existing service is used with its own pattern\n"
    "and options; a missing one is created with the creation options below.\n"
    "On an event service each sample is an event id in decimal (\"ferry pub alarms 3\");\n"
    "on a state service each sample becomes the next version of the value.\n"
    "\n"
    "options:\n"
    "  -f, --file F             publish the content of file F\n"
    "  -l, --lines              one sample per line of stdin or --file (empty lines are\n"
    "                           skipped); the input is read as it comes\n"
    "  -x, --hex                DATA and lines are hex (\"48 65 6c\", \"48656c\", \"48:65:6c\")\n"
    "  -r, --rate HZ            samples per second (default: as fast as possible)\n"
    "  -n, --count N            publish N samples, cycling through DATA (or repeating the\n"
    "                           file); 0: until Ctrl-C. Default: each sample once.\n"
    "                           Lines are read once: --count only stops early.\n"
    "  -s, --wait-subscribers K wait until K subscribers are connected before sending\n"
    "                           (samples sent before anybody listens are not kept,\n"
    "                           unless the service has a history)\n"
    "  -t, --timeout S          give up waiting for subscribers after S seconds (exit 1)\n"
    "      --linger S           keep the publisher open S seconds after the last sample\n"
    "                           (so late subscribers still get the history)\n"
    "  -q, --quiet              no summary on stderr\n"
    "  -d, --domain D           domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json               a JSON summary on stdout\n"
    "  -h, --help               this help\n"
    "\n"
    "creation options (for an existing service they must match it, or pub fails):\n"
    "      --pattern P          pubsub (default), event or state\n"
    "      --type NAME          payload type name (default \"bytes\"; not for events)\n"
    "      --max-payload N      largest sample (state: value), bytes, K/M/G allowed\n"
    "                           (default: 4096, or the largest sample given if more)\n"
    "      --history N          samples a late subscriber receives (default 0)\n"
    "      --queue-capacity N   samples queued per subscriber (default 4)\n"
    "      --overflow P         drop_oldest (default) or block\n"
    "      --max-publishers N   (default 4; events: notifiers, default 16)\n"
    "      --max-subscribers N  (default 8; events: listeners, state: readers, 16)\n"
    "      --max-event-id N     events: the largest id (default 63)\n"
    "\n"
    "Samples cannot be empty. With overflow block, pub waits for slow subscribers.\n"
    "\n"
    "exit codes: 0 ok, 1 error (also: incompatible service, timed out waiting for\n"
    "            subscribers), 2 usage error (also: a sample larger than max_payload,\n"
    "            an event id out of range)\n";

enum {
    OPT_TYPE = 2000,
    OPT_MAX_PAYLOAD,
    OPT_HISTORY,
    OPT_QUEUE,
    OPT_OVERFLOW,
    OPT_MAX_PUBS,
    OPT_MAX_SUBS,
    OPT_LINGER,
    OPT_PATTERN,
    OPT_MAX_EVENT_ID
};

struct sample {
    unsigned char *data;
    size_t size;
};

struct source {
    struct sample *v; /* known samples (arguments, a whole file) */
    size_t n;
    FILE *lines;      /* or a stream read line by line */
    int close_lines;
    int hex;
    char *line;
    size_t line_cap;
    unsigned char *decoded;
    size_t decoded_cap;
    uint64_t skipped;
};

/* Hex digits with optional spaces, tabs, ':' or '-' between bytes and an
 * optional 0x. Returns the length, or -1 (bad digit) / -2 (odd count). */
static long hex_decode(const char *s, size_t len, unsigned char *out)
{
    size_t n = 0;
    int half = -1;
    size_t i = 0;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        i = 2;
    for (; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == ':' || c == '-' || c == '\r' || c == '\n') {
            if (half >= 0)
                return -2;
            continue;
        }
        if (!isxdigit((unsigned char)c))
            return -1;
        int v = isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
        if (half < 0) {
            half = v;
        } else {
            out[n++] = (unsigned char)(half * 16 + v);
            half = -1;
        }
    }
    return half >= 0 ? -2 : (long)n;
}

static int read_all(FILE *f, const char *what, unsigned char **data, size_t *size)
{
    size_t cap = 0, n = 0;
    unsigned char *buf = NULL;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                cli_msg("%s: out of memory", what);
                return CLI_ERROR;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        cli_msg("reading %s: %s", what, strerror(errno));
        free(buf);
        return CLI_ERROR;
    }
    *data = buf;
    *size = n;
    return CLI_OK;
}

/* The next line-sample: 1 (data and size set), 0 at the end, or -exit code. */
static int next_line(struct source *src, const unsigned char **data, size_t *size)
{
    for (;;) {
        errno = 0;
        ssize_t got = getline(&src->line, &src->line_cap, src->lines);
        if (got < 0) {
            if (ferror(src->lines) && errno != EINTR) {
                cli_msg("reading the input: %s", strerror(errno));
                return -CLI_ERROR;
            }
            return 0;
        }
        size_t len = (size_t)got;
        if (len && src->line[len - 1] == '\n')
            len--;
        if (len && src->line[len - 1] == '\r')
            len--;
        if (len == 0) {
            src->skipped++;
            continue;
        }
        if (!src->hex) {
            *data = (const unsigned char *)src->line;
            *size = len;
            return 1;
        }
        if (len / 2 + 1 > src->decoded_cap) {
            unsigned char *nb = realloc(src->decoded, len / 2 + 1);
            if (!nb) {
                cli_msg("out of memory");
                return -CLI_ERROR;
            }
            src->decoded = nb;
            src->decoded_cap = len / 2 + 1;
        }
        long n = hex_decode(src->line, len, src->decoded);
        if (n < 0) {
            cli_msg("a line is not hex (%s): %.*s", n == -1 ? "bad digit" : "odd number of digits", (int)len,
                    src->line);
            return -CLI_ERROR;
        }
        if (n == 0) {
            src->skipped++;
            continue;
        }
        *data = src->decoded;
        *size = (size_t)n;
        return 1;
    }
}

static void source_free(struct source *src)
{
    for (size_t i = 0; i < src->n; i++)
        free(src->v[i].data);
    free(src->v);
    if (src->close_lines && src->lines)
        fclose(src->lines);
    free(src->line);
    free(src->decoded);
}

struct pub_args {
    struct cli_common co;
    const char *file;
    int lines, hex, quiet;
    double rate, timeout_s, linger_s;
    uint64_t count;
    int count_given;
    uint64_t wait_subs;
    /* creation options, and which were given */
    ferry_pubsub_opts opts;
    int set_type, set_payload, set_history, set_queue, set_overflow, set_pubs, set_subs;
    ferry_pattern pattern;
    int set_pattern;
    uint32_t max_event_id;
    int set_event_id;
};

static int parse(int argc, char **argv, struct pub_args *a)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                             {"file", required_argument, NULL, 'f'},
                                             {"lines", no_argument, NULL, 'l'},
                                             {"hex", no_argument, NULL, 'x'},
                                             {"rate", required_argument, NULL, 'r'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"wait-subscribers", required_argument, NULL, 's'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"linger", required_argument, NULL, OPT_LINGER},
                                             {"type", required_argument, NULL, OPT_TYPE},
                                             {"max-payload", required_argument, NULL, OPT_MAX_PAYLOAD},
                                             {"history", required_argument, NULL, OPT_HISTORY},
                                             {"queue-capacity", required_argument, NULL, OPT_QUEUE},
                                             {"overflow", required_argument, NULL, OPT_OVERFLOW},
                                             {"max-publishers", required_argument, NULL, OPT_MAX_PUBS},
                                             {"max-subscribers", required_argument, NULL, OPT_MAX_SUBS},
                                             {"pattern", required_argument, NULL, OPT_PATTERN},
                                             {"max-event-id", required_argument, NULL, OPT_MAX_EVENT_ID},
                                             {NULL, 0, NULL, 0}};
    int c, ex;
    uint64_t v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "f:lxr:n:s:t:q", longopts, NULL)) != -1) {
        if (cli_common_opt(&a->co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex == CLI_OK ? -1 : ex; /* -1: --help was printed */
            continue;
        }
        ex = CLI_OK;
        switch (c) {
        case 'f':
            a->file = optarg;
            break;
        case 'l':
            a->lines = 1;
            break;
        case 'x':
            a->hex = 1;
            break;
        case 'q':
            a->quiet = 1;
            break;
        case 'r':
            ex = cli_parse_double("--rate", optarg, 0.001, 1e9, &a->rate);
            break;
        case 'n':
            ex = cli_parse_u64("--count", optarg, 0, UINT64_MAX, 0, &a->count);
            a->count_given = 1;
            break;
        case 's':
            ex = cli_parse_u64("--wait-subscribers", optarg, 1, 256, 0, &a->wait_subs);
            break;
        case 't':
            ex = cli_parse_double("--timeout", optarg, 0.001, HUGE_VAL, &a->timeout_s);
            break;
        case OPT_LINGER:
            ex = cli_parse_double("--linger", optarg, 0, 86400, &a->linger_s);
            break;
        case OPT_TYPE:
            a->opts.type_name = optarg;
            a->set_type = 1;
            break;
        case OPT_MAX_PAYLOAD:
            if ((ex = cli_parse_u64("--max-payload", optarg, 1, 0xffff0000ull, 1, &v)) == CLI_OK)
                a->opts.max_payload = (size_t)v;
            a->set_payload = 1;
            break;
        case OPT_HISTORY:
            if ((ex = cli_parse_u64("--history", optarg, 0, 4096, 0, &v)) == CLI_OK)
                a->opts.history = (uint32_t)v;
            a->set_history = 1;
            break;
        case OPT_QUEUE:
            if ((ex = cli_parse_u64("--queue-capacity", optarg, 1, 4096, 0, &v)) == CLI_OK)
                a->opts.queue_capacity = (uint32_t)v;
            a->set_queue = 1;
            break;
        case OPT_OVERFLOW:
            ex = cli_parse_overflow("--overflow", optarg, &a->opts.overflow);
            a->set_overflow = 1;
            break;
        case OPT_MAX_PUBS:
            if ((ex = cli_parse_u64("--max-publishers", optarg, 1, 64, 0, &v)) == CLI_OK)
                a->opts.max_publishers = (uint32_t)v;
            a->set_pubs = 1;
            break;
        case OPT_PATTERN:
            a->set_pattern = 1;
            if (!strcmp(optarg, "pubsub"))
                a->pattern = FERRY_PATTERN_PUBSUB;
            else if (!strcmp(optarg, "event"))
                a->pattern = FERRY_PATTERN_EVENT;
            else if (!strcmp(optarg, "state"))
                a->pattern = FERRY_PATTERN_STATE;
            else
                ex = cli_usage_error("--pattern: '%s' is not a pattern: use pubsub, event or state", optarg);
            break;
        case OPT_MAX_EVENT_ID:
            if ((ex = cli_parse_u64("--max-event-id", optarg, 0, 4095, 0, &v)) == CLI_OK)
                a->max_event_id = (uint32_t)v;
            a->set_event_id = 1;
            break;
        case OPT_MAX_SUBS:
            if ((ex = cli_parse_u64("--max-subscribers", optarg, 1, 256, 0, &v)) == CLI_OK)
                a->opts.max_subscribers = (uint32_t)v;
            a->set_subs = 1;
            break;
        }
        if (ex != CLI_OK)
            return ex;
    }
    return CLI_OK;
}

/* Builds the source from the positional arguments and options. */
static int make_source(struct pub_args *a, int nargs, char **args, struct source *src)
{
    int use_stdin = nargs == 1 && !strcmp(args[0], "-");
    if (a->file && nargs)
        return cli_usage_error("give DATA arguments or --file, not both");
    if (!a->file && nargs == 0)
        return cli_usage_error("nothing to publish: give DATA arguments, - (stdin) or --file F");
    for (int i = 0; i < nargs && !use_stdin; i++)
        if (!strcmp(args[i], "-"))
            return cli_usage_error("'-' (stdin) must be the only DATA argument");
    if (a->lines && !use_stdin && !a->file)
        return cli_usage_error("--lines goes with - (stdin) or --file");
    src->hex = a->hex;

    FILE *in = NULL;
    const char *in_name = "stdin";
    if (use_stdin) {
        in = stdin;
    } else if (a->file) {
        in = fopen(a->file, "rb");
        in_name = a->file;
        if (!in) {
            cli_msg("cannot open %s: %s", a->file, strerror(errno));
            return errno == ENOENT ? CLI_USAGE : CLI_ERROR;
        }
    }
    if (in && a->lines) {
        src->lines = in;
        src->close_lines = in != stdin;
        return CLI_OK;
    }
    size_t slots = in || nargs <= 0 ? 1 : (size_t)nargs;
    src->v = calloc(slots, sizeof *src->v);
    if (!src->v) {
        if (in && in != stdin)
            fclose(in);
        cli_msg("out of memory");
        return CLI_ERROR;
    }
    if (in) {
        unsigned char *data = NULL;
        size_t size = 0;
        int ex = read_all(in, in_name, &data, &size);
        if (in != stdin)
            fclose(in);
        if (ex != CLI_OK)
            return ex;
        src->v[0].data = data;
        src->v[0].size = size;
        src->n = 1;
    } else {
        for (int i = 0; i < nargs; i++) {
            size_t len = strlen(args[i]);
            unsigned char *d = malloc(len + 1);
            if (!d) {
                cli_msg("out of memory");
                return CLI_ERROR;
            }
            src->v[src->n].data = d;
            src->v[src->n].size = len;
            src->n++;
            if (!a->hex) {
                memcpy(d, args[i], len);
                continue;
            }
            long n = hex_decode(args[i], len, d);
            if (n < 0)
                return cli_usage_error("DATA argument %d is not hex (%s): '%s'", i + 1,
                                       n == -1 ? "bad digit" : "odd number of digits", args[i]);
            src->v[src->n - 1].size = (size_t)n;
        }
    }
    if (in && a->hex) { /* a whole hex file */
        struct sample *s = &src->v[0];
        long n = hex_decode((const char *)s->data, s->size, s->data);
        if (n < 0)
            return cli_usage_error("%s is not hex (%s)", in_name, n == -1 ? "bad digit" : "odd number of digits");
        s->size = (size_t)n;
    }
    for (size_t i = 0; i < src->n; i++)
        if (src->v[i].size == 0)
            return cli_usage_error("%s is empty: ferry samples hold at least one byte",
                                   in ? in_name : "a DATA argument");
    return CLI_OK;
}

/* Where samples go: a publisher, a notifier (event ids) or a state writer. */
struct sink {
    ferry_pattern pattern;
    ferry_pub *pub;
    ferry_notifier *ntf;
    ferry_state_writer *writer;
    size_t max_size;       /* pubsub: max_payload; state: max_size */
    uint32_t max_event_id; /* events */
};

/* An event id in decimal: CLI_OK, or CLI_USAGE (printed). */
static int parse_event_id(const struct sink *k, const unsigned char *data, size_t size, uint32_t *id)
{
    char buf[16];
    if (size == 0 || size >= sizeof buf) {
        cli_msg("'%.*s' is not an event id: give a number from 0 to %u", (int)(size < 40 ? size : 40),
                (const char *)data, k->max_event_id);
        return CLI_USAGE;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    uint64_t v;
    char opt[32];
    snprintf(opt, sizeof opt, "event id");
    if (cli_parse_u64(opt, buf, 0, k->max_event_id, 0, &v) != CLI_OK)
        return CLI_USAGE;
    *id = (uint32_t)v;
    return CLI_OK;
}

static int sink_send(struct sink *k, const char *domain, const unsigned char *data, size_t size)
{
    if (k->pattern == FERRY_PATTERN_EVENT) {
        uint32_t id;
        if (parse_event_id(k, data, size, &id) != CLI_OK)
            return CLI_USAGE;
        int rc = ferry_notifier_notify(k->ntf, id);
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "notifying");
            return CLI_ERROR;
        }
        return CLI_OK;
    }
    if (k->pattern == FERRY_PATTERN_STATE) {
        int rc = ferry_state_write(k->writer, data, size, NULL);
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "writing the state");
            return CLI_ERROR;
        }
        return CLI_OK;
    }
    return cli_pub_send(k->pub, domain, data, size);
}

static void sink_close(struct sink *k)
{
    ferry_pub_close(k->pub);
    ferry_notifier_close(k->ntf);
    ferry_state_writer_close(k->writer);
}

/* Subscribers (listeners, readers) of the service now, as listed. */
static uint32_t receivers(const char *domain, const char *name)
{
    ferry_service_info info;
    return cli_find_service(domain, name, &info, 1) == CLI_OK ? info.subscribers : 0;
}

/* Waits for k receivers of a service that is not publish-subscribe. */
static int wait_receivers(const char *domain, const char *name, uint64_t k, uint64_t timeout_ns)
{
    uint64_t deadline = timeout_ns ? cli_now_ns() + timeout_ns : UINT64_MAX;
    for (;;) {
        uint32_t n = receivers(domain, name);
        if (n >= k)
            return CLI_OK;
        if (cli_stop)
            return -1;
        if (cli_now_ns() >= deadline) {
            cli_msg("timed out waiting for %llu subscriber%s (%u connected)", (unsigned long long)k, k == 1 ? "" : "s",
                    n);
            return CLI_ERROR;
        }
        cli_sleep_ns(5 * 1000 * 1000);
    }
}

/* Opens the sink for pattern, from an existing service's options (info) or
 * from the defaults, with the options given on the command line on top. */
static int sink_open(struct sink *k, ferry_node *node, const char *name, const struct pub_args *a,
                     const ferry_service_info *info, size_t largest)
{
    int rc;
    const char *what;
    if (k->pattern == FERRY_PATTERN_EVENT) {
        ferry_event_opts o;
        if (info)
            o = info->event_opts;
        else
            ferry_event_opts_init(&o);
        if (a->set_event_id)
            o.max_event_id = a->max_event_id;
        if (a->set_pubs)
            o.max_notifiers = a->opts.max_publishers;
        if (a->set_subs)
            o.max_listeners = a->opts.max_subscribers;
        k->max_event_id = o.max_event_id;
        rc = ferry_notifier_open(&k->ntf, node, name, &o);
        what = "opening a notifier";
    } else if (k->pattern == FERRY_PATTERN_STATE) {
        ferry_state_opts o;
        if (info) {
            o = info->state_opts;
            o.type_name = info->type_name;
            o.persist_dir = NULL;
        } else {
            ferry_state_opts_init(&o);
            if (largest > o.max_size)
                o.max_size = largest;
        }
        if (a->set_type)
            o.type_name = a->opts.type_name;
        if (a->set_payload)
            o.max_size = a->opts.max_payload;
        if (a->set_subs)
            o.max_readers = a->opts.max_subscribers;
        k->max_size = o.max_size;
        if (largest > o.max_size)
            return CLI_USAGE;
        rc = ferry_state_writer_open(&k->writer, node, name, &o);
        what = "opening the state writer";
    } else {
        ferry_pubsub_opts o;
        if (info) {
            o = info->opts;
            o.type_name = info->type_name;
        } else {
            ferry_pubsub_opts_init(&o);
            if (largest > o.max_payload)
                o.max_payload = largest;
        }
        /* A debugging tool: stamp, so that echo and hz can show latency. */
        o.timestamps = 1;
        if (a->set_type)
            o.type_name = a->opts.type_name;
        if (a->set_payload)
            o.max_payload = a->opts.max_payload;
        if (a->set_history)
            o.history = a->opts.history;
        if (a->set_queue)
            o.queue_capacity = a->opts.queue_capacity;
        if (a->set_overflow)
            o.overflow = a->opts.overflow;
        if (a->set_pubs)
            o.max_publishers = a->opts.max_publishers;
        if (a->set_subs)
            o.max_subscribers = a->opts.max_subscribers;
        k->max_size = o.max_payload;
        if (largest > o.max_payload)
            return CLI_USAGE;
        rc = ferry_pub_open(&k->pub, node, name, &o);
        what = "opening a publisher";
    }
    if (rc != FERRY_OK) {
        int ex = cli_ferry_error(rc, what);
        return ex == CLI_NOTFOUND ? CLI_ERROR : ex;
    }
    return CLI_OK;
}

int cmd_pub(int argc, char **argv)
{
    struct pub_args a;
    memset(&a, 0, sizeof a);
    ferry_pubsub_opts_init(&a.opts);
    a.pattern = FERRY_PATTERN_PUBSUB;
    int ex = parse(argc, argv, &a);
    if (ex != CLI_OK)
        return ex < 0 ? CLI_OK : ex;
    if (optind >= argc)
        return cli_usage_error("which service?");
    const char *name = argv[optind];
    if ((ex = cli_common_finish(&a.co)) != CLI_OK || (ex = cli_check_service_name(name)) != CLI_OK)
        return ex;

    struct source src;
    memset(&src, 0, sizeof src);
    if ((ex = make_source(&a, argc - optind - 1, argv + optind + 1, &src)) != CLI_OK) {
        source_free(&src);
        return ex;
    }
    cli_signals_install();

    /* An existing service: its pattern and options, with what was given on
     * top (the library then says what does not match). A new one: --pattern,
     * the defaults and what was given. */
    ferry_service_info info;
    int exists = cli_find_service(a.co.domain, name, &info, 1);
    if (exists == CLI_ERROR) {
        source_free(&src);
        return CLI_ERROR;
    }
    struct sink k;
    memset(&k, 0, sizeof k);
    k.pattern = exists == CLI_OK ? info.pattern : a.pattern;
    if (exists == CLI_OK && k.pattern != FERRY_PATTERN_PUBSUB && k.pattern != FERRY_PATTERN_EVENT &&
        k.pattern != FERRY_PATTERN_STATE) {
        source_free(&src);
        return cli_require_pubsub(&info);
    }
    if (exists == CLI_OK && a.set_pattern && a.pattern != k.pattern) {
        cli_msg("service \"%s\" exists as a%s %s service, not %s", name, k.pattern == FERRY_PATTERN_EVENT ? "n" : "",
                cli_pattern_name(k.pattern), cli_pattern_name(a.pattern));
        source_free(&src);
        return CLI_ERROR;
    }
    size_t largest = 0;
    for (size_t i = 0; i < src.n; i++)
        largest = src.v[i].size > largest ? src.v[i].size : largest;

    ferry_node *node = NULL;
    if ((ex = cli_node_open(&node, a.co.domain)) != CLI_OK) {
        source_free(&src);
        return ex;
    }
    ex = sink_open(&k, node, name, &a, exists == CLI_OK ? &info : NULL, largest);
    if (ex == CLI_USAGE && largest > k.max_size)
        cli_msg("a sample has %zu bytes but service \"%s\" takes at most %zu (%s)%s", largest, name, k.max_size,
                k.pattern == FERRY_PATTERN_STATE ? "max_size" : "max_payload",
                exists == CLI_OK ? "" : ": raise --max-payload");
    for (size_t i = 0; ex == CLI_OK && k.pattern == FERRY_PATTERN_EVENT && i < src.n; i++) {
        uint32_t id;
        if (parse_event_id(&k, src.v[i].data, src.v[i].size, &id) != CLI_OK)
            ex = cli_usage_error("DATA of an event service are event ids");
    }
    if (ex != CLI_OK) {
        sink_close(&k);
        ferry_node_close(node);
        source_free(&src);
        return ex;
    }

    uint64_t sent = 0, bytes = 0;
    uint64_t want = a.count_given ? a.count : (src.lines ? 0 : src.n);
    if (a.wait_subs) {
        int w = k.pattern == FERRY_PATTERN_PUBSUB
                    ? cli_pub_wait_subscribers(k.pub, a.wait_subs, cli_s_to_ns(a.timeout_s))
                    : wait_receivers(a.co.domain, name, a.wait_subs, cli_s_to_ns(a.timeout_s));
        if (w != CLI_OK)
            ex = w < 0 ? CLI_OK : w;
    }
    const uint64_t period = a.rate > 0 ? (uint64_t)(1e9 / a.rate) : 0;
    uint64_t next = cli_now_ns();
    while (ex == CLI_OK && !cli_stop && (want == 0 || sent < want)) {
        const unsigned char *data;
        size_t size;
        if (src.lines) {
            int r = next_line(&src, &data, &size);
            if (r < 0) {
                ex = -r;
                break;
            }
            if (r == 0)
                break;
            if (k.pattern != FERRY_PATTERN_EVENT && size > k.max_size) {
                cli_msg("a line has %zu bytes but service \"%s\" takes at most %zu (%s)", size, name, k.max_size,
                        k.pattern == FERRY_PATTERN_STATE ? "max_size" : "max_payload");
                ex = CLI_ERROR;
                break;
            }
        } else {
            data = src.v[sent % src.n].data;
            size = src.v[sent % src.n].size;
        }
        if (period) {
            uint64_t now = cli_now_ns();
            while (now < next && !cli_stop) {
                uint64_t d = next - now;
                cli_sleep_ns(d < 50000000u ? d : 50000000u);
                now = cli_now_ns();
            }
            if (cli_stop)
                break;
            next += period;
            if (next + period < now) /* far behind (a stall): do not burst to catch up */
                next = now;
        }
        int r = sink_send(&k, a.co.domain, data, size);
        if (r < 0)
            break;
        if (r != CLI_OK) {
            ex = r == CLI_USAGE ? CLI_ERROR : r; /* a bad line in a stream: a runtime error */
            break;
        }
        sent++;
        bytes += size;
    }
    if (ex == CLI_OK && a.linger_s > 0) {
        uint64_t until = cli_now_ns() + cli_s_to_ns(a.linger_s);
        while (!cli_stop && cli_now_ns() < until) {
            if (k.pub)
                ferry_pub_update(k.pub); /* connects late subscribers, hands them the history */
            cli_sleep_ns(1000 * 1000);
        }
    }
    uint32_t subs = 0;
    if (k.pub) {
        ferry_pub_stats st;
        memset(&st, 0, sizeof st);
        ferry_pub_stats_get(k.pub, &st);
        subs = st.subscribers;
    } else {
        subs = receivers(a.co.domain, name);
    }
    const char *unit = k.pattern == FERRY_PATTERN_EVENT ? "event" : k.pattern == FERRY_PATTERN_STATE ? "version"
                                                                                                      : "sample";
    if (a.co.json) {
        printf("{\"service\": ");
        cli_json_str(stdout, name);
        printf(", \"domain\": ");
        cli_json_str(stdout, a.co.domain);
        printf(", \"pattern\": \"%s\", \"created\": %s, \"published\": %llu, \"bytes\": %llu, \"subscribers\": %u, "
               "\"skipped_lines\": %llu}\n",
               cli_pattern_name(k.pattern), exists == CLI_OK ? "false" : "true", (unsigned long long)sent,
               (unsigned long long)bytes, subs, (unsigned long long)src.skipped);
    } else if (!a.quiet) {
        char b[32];
        cli_msg("published %llu %s%s (%s) on \"%s\" to %u subscriber%s%s", (unsigned long long)sent, unit,
                sent == 1 ? "" : "s", cli_fmt_bytes(b, sizeof b, bytes), name, subs, subs == 1 ? "" : "s",
                src.skipped ? " (empty lines skipped)" : "");
    }
    sink_close(&k);
    ferry_node_close(node);
    source_free(&src);
    return ex;
}
