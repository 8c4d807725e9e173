/* ferry nodes: the nodes of a domain, alive and dead. */
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ferry nodes [--alive | --dead] [--domain D] [--json]\n"
    "\n"
    "Lists the nodes of a domain: name, id, process id, owner and whether the process\n"
    "is still alive. A dead node is one whose process ended without closing it (a\n"
    "crash, kill -9); 'ferry clean' removes what it left behind.\n"
    "\n"
    "options:\n"
    "      --alive      only nodes whose process is running\n"
    "      --dead       only nodes whose process is gone\n"
    "  -d, --domain D   domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json       a JSON array, one object per node\n"
    "  -h, --help       this help\n"
    "\n"
    "exit codes: 0 ok (also when there is no node), 1 error, 2 usage error\n";

enum { OPT_ALIVE = 2000, OPT_DEAD };

int cmd_nodes(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                             {"alive", no_argument, NULL, OPT_ALIVE},
                                             {"dead", no_argument, NULL, OPT_DEAD},
                                             {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    int c, ex, only = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        if (c == OPT_ALIVE || c == OPT_DEAD) {
            int want = c == OPT_ALIVE;
            if (only >= 0 && only != want)
                return cli_usage_error("--alive and --dead exclude each other");
            only = want;
        }
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s' (nodes takes no arguments)", argv[optind]);
    if ((ex = cli_common_finish(&co)) != CLI_OK)
        return ex;

    struct cli_nodes nodes;
    int rc = cli_nodes_load(co.domain, &nodes);
    if (rc != FERRY_OK) {
        cli_nodes_free(&nodes);
        return cli_ferry_error(rc, "listing nodes") == CLI_USAGE ? CLI_USAGE : CLI_ERROR;
    }
    size_t shown = 0;
    int nw = 4;
    for (size_t i = 0; i < nodes.n; i++) {
        int n = (int)strlen(nodes.v[i].name);
        nw = n > nw ? n : nw;
    }
    if (co.json)
        printf("[");
    for (size_t i = 0; i < nodes.n; i++) {
        const ferry_node_info *n = &nodes.v[i];
        if (only >= 0 && (n->alive != 0) != only)
            continue;
        char user[64];
        cli_user_name(user, sizeof user, n->uid);
        if (co.json) {
            printf("%s\n  {\"name\": ", shown ? "," : "");
            cli_json_str(stdout, n->name);
            printf(", \"id\": \"%016llx\", \"pid\": %ld, \"uid\": %ld, \"owner\": ", (unsigned long long)n->id,
                   n->pid, n->uid);
            cli_json_str(stdout, user);
            printf(", \"alive\": %s}", n->alive ? "true" : "false");
        } else {
            if (shown == 0)
                printf("%-*s  %-16s  %8s  %-12s  %s\n", nw, "NODE", "ID", "PID", "OWNER", "STATE");
            printf("%-*s  %016llx  %8ld  %-12s  %s\n", nw, n->name, (unsigned long long)n->id, n->pid, user,
                   n->alive ? "alive" : "dead (run 'ferry clean')");
        }
        shown++;
    }
    if (co.json)
        printf("%s]\n", shown ? "\n" : "");
    else if (shown == 0)
        printf("no %snodes in domain \"%s\"\n", only < 0 ? "" : only ? "alive " : "dead ", co.domain);
    cli_nodes_free(&nodes);
    return CLI_OK;
}
