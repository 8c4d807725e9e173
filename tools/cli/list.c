/* ferry list: the services of a domain. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry list [--domain D] [--json]\n"
    "\n"
    "Lists the services of a domain: name, pattern, payload type, publishers and\n"
    "subscribers connected (of the maximum), and the main options. For event\n"
    "services PUBS and SUBS count notifiers and listeners, for state services the\n"
    "writer and the readers.\n"
    "\n"
    "options:\n"
    "  -d, --domain D   domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json       a JSON array, one object per service\n"
    "  -h, --help       this help\n"
    "\n"
    "exit codes: 0 ok (also when there is no service), 1 error, 2 usage error\n";

struct svc_list {
    ferry_service_info *v;
    size_t n, cap;
};

static int collect(const ferry_service_info *info, void *user)
{
    struct svc_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ferry_service_info *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return 1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *info;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const ferry_service_info *)a)->name, ((const ferry_service_info *)b)->name);
}

static void print_json(const struct svc_list *l)
{
    printf("[");
    for (size_t i = 0; i < l->n; i++) {
        const ferry_service_info *s = &l->v[i];
        printf("%s\n  {\"name\": ", i ? "," : "");
        cli_json_str(stdout, s->name);
        printf(", \"pattern\": \"%s\", \"type\": ", cli_pattern_name(s->pattern));
        cli_json_str(stdout, s->type_name);
        printf(", \"publishers\": %u, \"subscribers\": %u,\n   \"options\": ", s->publishers, s->subscribers);
        cli_json_service_options(s);
        printf("}");
    }
    printf("%s]\n", l->n ? "\n" : "");
}

/* The main options in a few words, by pattern. */
static void details(char *buf, size_t n, const ferry_service_info *s, uint32_t *max_pubs, uint32_t *max_subs)
{
    char b[32];
    if (s->pattern == FERRY_PATTERN_EVENT) {
        snprintf(buf, n, "event ids 0..%u", s->event_opts.max_event_id);
        *max_pubs = s->event_opts.max_notifiers;
        *max_subs = s->event_opts.max_listeners;
    } else if (s->pattern == FERRY_PATTERN_STATE) {
        snprintf(buf, n, "max_size %s", cli_fmt_bytes(b, sizeof b, s->state_opts.max_size));
        *max_pubs = 1;
        *max_subs = s->state_opts.max_readers;
    } else {
        snprintf(buf, n, "payload %s, queue %u, history %u, %s", cli_fmt_bytes(b, sizeof b, s->opts.max_payload),
                 s->opts.queue_capacity, s->opts.history, cli_overflow_name(s->opts.overflow));
        *max_pubs = s->opts.max_publishers;
        *max_subs = s->opts.max_subscribers;
    }
}

static void print_table(const struct svc_list *l, const char *domain)
{
    if (l->n == 0) {
        printf("no services in domain \"%s\"\n", domain);
        return;
    }
    int nw = 7, tw = 4;
    for (size_t i = 0; i < l->n; i++) {
        int n = (int)strlen(l->v[i].name), t = (int)strlen(l->v[i].type_name);
        nw = n > nw ? n : nw;
        tw = t > tw ? t : tw;
    }
    printf("%-*s  %-7s  %-*s  %7s  %7s  %s\n", nw, "SERVICE", "PATTERN", tw, "TYPE", "PUBS", "SUBS", "OPTIONS");
    for (size_t i = 0; i < l->n; i++) {
        const ferry_service_info *s = &l->v[i];
        char pubs[24], subs[24], opts[160];
        uint32_t max_pubs = 0, max_subs = 0;
        details(opts, sizeof opts, s, &max_pubs, &max_subs);
        snprintf(pubs, sizeof pubs, "%u/%u", s->publishers, max_pubs);
        snprintf(subs, sizeof subs, "%u/%u", s->subscribers, max_subs);
        printf("%-*s  %-7s  %-*s  %7s  %7s  %s\n", nw, s->name, cli_pattern_name(s->pattern), tw, s->type_name, pubs,
               subs, opts);
    }
}

int cmd_list(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    int c, ex;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        return cli_usage_error("unexpected option");
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s' (list takes no arguments)", argv[optind]);
    if ((ex = cli_common_finish(&co)) != CLI_OK)
        return ex;

    struct svc_list l = {0};
    int rc = ferry_service_list(co.domain, collect, &l);
    if (rc != FERRY_OK) {
        free(l.v);
        return cli_ferry_error(rc, "listing services") == CLI_USAGE ? CLI_USAGE : CLI_ERROR;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, by_name);
    if (co.json)
        print_json(&l);
    else
        print_table(&l, co.domain);
    free(l.v);
    return CLI_OK;
}
