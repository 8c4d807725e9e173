/*
 * ferry: the command line of the ferry library.
 *
 *   ferry COMMAND [OPTIONS] [ARGS]     (ferry help COMMAND, ferry COMMAND --help)
 *
 * Each command is one file of this directory; cli.h has what they share.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"list", cmd_list, "list the services of a domain"},
    {"nodes", cmd_nodes, "list the nodes of a domain, alive and dead"},
    {"info", cmd_info, "show a service: options, ports, queue fill, losses"},
    {"echo", cmd_echo, "print the samples of a service"},
    {"hz", cmd_hz, "measure the rate, sizes and latency of a service"},
    {"pub", cmd_pub, "publish samples from arguments, stdin or a file"},
    {"record", cmd_record, "record services to a file"},
    {"replay", cmd_replay, "publish a recording again, with its timing or as fast as possible"},
    {"clean", cmd_clean, "remove what dead processes left in shared memory"},
    {"doctor", cmd_doctor, "check the system and a domain for problems"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: ferry COMMAND [OPTIONS] [ARGS]\n"
               "\n"
               "Inspect and use ferry services (shared-memory publish-subscribe) from a shell.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "Every command takes --help, --domain D (default: $FERRY_DOMAIN, else \"default\")\n"
               "and --json (output for scripts).\n"
               "\n"
               "exit codes: 0 ok, 1 runtime error, 2 usage error, 3 service not found\n"
               "\n"
               "  ferry help COMMAND    help on one command\n"
               "  ferry --version       versions of the tool and the library\n");
}

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *arg = argv[1];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(arg, "--version") || !strcmp(arg, "-V")) {
        printf("ferry %d.%d.%d (library %s)\n", FERRY_VERSION_MAJOR, FERRY_VERSION_MINOR, FERRY_VERSION_PATCH,
               ferry_version());
        return CLI_OK;
    }
    if (!strcmp(arg, "help")) {
        if (argc < 3) {
            usage(stdout);
            return CLI_OK;
        }
        const struct command *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "ferry: unknown command '%s'\nTry 'ferry --help'.\n", argv[2]);
            return CLI_USAGE;
        }
        char help[] = "--help";
        char *sub_argv[] = {argv[2], help, NULL};
        cli_cmd = c->name;
        return c->run(2, sub_argv);
    }
    const struct command *c = find(arg);
    if (!c) {
        fprintf(stderr, "ferry: unknown command '%s'\nTry 'ferry --help'.\n", arg);
        return CLI_USAGE;
    }
    cli_cmd = c->name;
    return c->run(argc - 1, argv + 1);
}
