/* ferry clean: removes what dead processes left in shared memory (ferry_cleanup). */
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry clean [--dry-run] [--all-domains] [--domain D] [--json] [--quiet]\n"
    "\n"
    "Removes what dead nodes of a domain left in shared memory: their node files, the\n"
    "ports they held in services (and services nobody uses any more), publisher data\n"
    "nobody refers to, and objects abandoned while being created. Live processes are\n"
    "not disturbed. Prints what was removed.\n"
    "\n"
    "ferry does this by itself whenever a node opens; 'ferry clean' is for when no\n"
    "ferry process will start again soon, or to see what a crash left.\n"
    "\n"
    "options:\n"
    "  -n, --dry-run      only show what would be removed\n"
    "  -a, --all-domains  every domain found in the shm directory\n"
    "  -q, --quiet        print nothing (the exit code still tells)\n"
    "  -d, --domain D     domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json         a JSON object per domain (an array with --all-domains)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage error\n";

static int find_obj(const struct cli_objs *objs, const char *name)
{
    for (size_t i = 0; i < objs->n; i++)
        if (!strcmp(objs->v[i].name, name))
            return (int)i;
    return -1;
}

static void json_obj(const struct cli_obj *o, int first)
{
    printf("%s{\"name\": ", first ? "" : ", ");
    cli_json_str(stdout, o->name);
    printf(", \"kind\": \"%s\", \"what\": ", cli_obj_kind_name(o->kind));
    cli_json_str(stdout, o->what);
    printf(", \"bytes\": %llu}", (unsigned long long)o->bytes);
}

static int clean_domain(const char *domain, int dry_run, int json, int quiet, int first)
{
    struct cli_objs before, after;
    memset(&after, 0, sizeof after);
    if (cli_objs_scan(domain, &before) != CLI_OK)
        return CLI_ERROR;
    unsigned removed = 0;
    int ex = CLI_OK;
    if (!dry_run) {
        int rc = ferry_cleanup(domain, &removed);
        if (rc != FERRY_OK) {
            cli_ferry_error(rc, "cleaning up");
            ex = CLI_ERROR;
        }
        if (cli_objs_scan(domain, &after) != CLI_OK)
            ex = CLI_ERROR;
    }
    /* Removed: there before, gone after. Repaired: a service that held ports
     * of dead nodes and is still there, without them. Dry run: the stale. */
    size_t ngone = 0, nfixed = 0;
    for (size_t i = 0; i < before.n; i++) {
        const struct cli_obj *o = &before.v[i];
        if (dry_run) {
            ngone += o->stale;
            continue;
        }
        int j = find_obj(&after, o->name);
        if (j < 0)
            ngone++;
        else if (o->stale && o->kind == CLI_OBJ_SERVICE && !after.v[j].stale)
            nfixed++;
    }
    if (json) {
        printf("%s{\"domain\": ", first ? "" : ",\n ");
        cli_json_str(stdout, domain);
        printf(", \"dry_run\": %s, \"removed\": %zu, \"objects\": [", dry_run ? "true" : "false", ngone);
        int f = 1;
        for (size_t i = 0; i < before.n; i++) {
            const struct cli_obj *o = &before.v[i];
            if (dry_run ? o->stale : find_obj(&after, o->name) < 0) {
                json_obj(o, f);
                f = 0;
            }
        }
        printf("], \"repaired\": [");
        f = 1;
        for (size_t i = 0; i < before.n && !dry_run; i++) {
            const struct cli_obj *o = &before.v[i];
            int j = find_obj(&after, o->name);
            if (j >= 0 && o->stale && o->kind == CLI_OBJ_SERVICE && !after.v[j].stale) {
                json_obj(o, f);
                f = 0;
            }
        }
        printf("]}");
    } else if (!quiet) {
        if (ngone == 0 && nfixed == 0)
            printf("domain \"%s\": nothing %s\n", domain, dry_run ? "to clean" : "was left behind");
        else if (dry_run)
            printf("domain \"%s\": would remove or repair %zu object%s:\n", domain, ngone, ngone == 1 ? "" : "s");
        else
            printf("domain \"%s\": removed %zu object%s%s:\n", domain, ngone, ngone == 1 ? "" : "s",
                   nfixed ? ", freed ports of dead nodes in services" : "");
        for (size_t i = 0; i < before.n; i++) {
            const struct cli_obj *o = &before.v[i];
            if (dry_run ? o->stale : find_obj(&after, o->name) < 0)
                printf("  %-48s %s\n", o->name, o->what);
        }
        for (size_t i = 0; i < before.n && !dry_run; i++) {
            const struct cli_obj *o = &before.v[i];
            int j = find_obj(&after, o->name);
            if (j >= 0 && o->stale && o->kind == CLI_OBJ_SERVICE && !after.v[j].stale)
                printf("  %-48s %s: repaired\n", o->name, o->what);
        }
    }
    cli_objs_free(&before);
    cli_objs_free(&after);
    return ex;
}

int cmd_clean(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {"all-domains", no_argument, NULL, 'a'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    int dry_run = 0, all = 0, quiet = 0, c, ex;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "naq", longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        if (c == 'n')
            dry_run = 1;
        else if (c == 'a')
            all = 1;
        else if (c == 'q')
            quiet = 1;
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s' (clean takes no arguments)", argv[optind]);
    if (all && co.domain_arg)
        return cli_usage_error("--all-domains and --domain exclude each other");
    if ((ex = cli_common_finish(&co)) != CLI_OK)
        return ex;
    if (!all) {
        ex = clean_domain(co.domain, dry_run, co.json, quiet, 1);
        if (co.json)
            printf("\n");
        return ex;
    }
    char **domains = NULL;
    size_t n = 0;
    if ((ex = cli_domains_scan(&domains, &n)) != CLI_OK)
        return ex;
    if (co.json)
        printf("[");
    else if (n == 0 && !quiet)
        printf("no ferry objects in the shm directory\n");
    for (size_t i = 0; i < n; i++) {
        char dom[FERRY_DOMAIN_MAX + 1];
        snprintf(dom, sizeof dom, "%s", domains[i]);
        int r = clean_domain(dom, dry_run, co.json, quiet, i == 0);
        if (r != CLI_OK)
            ex = r;
    }
    if (co.json)
        printf("]\n");
    cli_domains_free(domains, n);
    return ex;
}
