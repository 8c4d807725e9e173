/*
 * The ferry command line: what every subcommand shares.
 *
 * Each subcommand lives in its own file (list.c, nodes.c, ...) and has one
 * entry point, cmd_<name>(argc, argv), where argv[0] is the subcommand's
 * name. Everything they have in common is here: exit codes, the options every
 * subcommand takes (--help, --domain, --json), messages, number parsing,
 * JSON output, clocks and signals, service lookup and the record file format.
 */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/ferry.h"

/* Exit codes, the same for every subcommand (documented in docs/cli.md). */
enum cli_exit {
    CLI_OK = 0,       /* done */
    CLI_ERROR = 1,    /* runtime error (or, for doctor: a problem was found) */
    CLI_USAGE = 2,    /* bad command line */
    CLI_NOTFOUND = 3  /* no such service (or nothing to work on) */
};

/* The subcommand being run, for messages ("ferry echo: ..."). */
extern const char *cli_cmd;

/* Set by SIGINT / SIGTERM (cli_signals_install): loops stop and clean up. */
extern volatile sig_atomic_t cli_stop;
void cli_signals_install(void);

/* ---- options every subcommand has ----------------------------------------- */

struct cli_common {
    const char *domain_arg;                 /* --domain, or NULL */
    char domain[FERRY_DOMAIN_MAX + 1];      /* resolved by cli_common_finish */
    int json;                               /* --json */
};

/* Long options shared by every subcommand; short: -h, -d. */
#define CLI_OPT_HELP 'h'
#define CLI_OPT_DOMAIN 'd'
#define CLI_OPT_JSON 1000
#define CLI_COMMON_LONGOPTS                                                                        \
    {"help", no_argument, NULL, CLI_OPT_HELP}, {"domain", required_argument, NULL, CLI_OPT_DOMAIN}, \
        {"json", no_argument, NULL, CLI_OPT_JSON}
#define CLI_COMMON_SHORTOPTS ":hd:"

/* Handles a common option. Returns 1 when c was one (for --help the usage
 * was printed and *exit_now is set to CLI_OK), 0 when it is not common, and
 * for getopt's '?' / ':' prints a usage error and sets *exit_now to
 * CLI_USAGE. *exit_now stays -1 otherwise. */
int cli_common_opt(struct cli_common *co, int c, char **argv, const char *usage, int *exit_now);

/* Resolves the domain (--domain, else env FERRY_DOMAIN, else "default") and
 * checks it. CLI_OK or CLI_USAGE (printed). */
int cli_common_finish(struct cli_common *co);

/* ---- messages ------------------------------------------------------------ */

/* "ferry CMD: message" on stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error and a hint at --help; returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "what: <ferry error text>: <detail>" and maps the code to an exit
 * code: FERRY_ENOTFOUND -> 3, FERRY_EINVAL -> 2, anything else -> 1. */
int cli_ferry_error(int rc, const char *what);

/* ---- parsing ------------------------------------------------------------- */

/* Whole numbers in [min, max]; accepts K/M/G suffixes (1024s) when sizes != 0.
 * CLI_OK, or CLI_USAGE after printing what is wrong with option opt. */
int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, int sizes, uint64_t *out);
/* Finite numbers in [min, max] (max may be HUGE_VAL). */
int cli_parse_double(const char *opt, const char *s, double min, double max, double *out);
/* "drop_oldest" (also drop-oldest, drop) or "block". */
int cli_parse_overflow(const char *opt, const char *s, ferry_overflow *out);
const char *cli_overflow_name(int overflow);
/* "pubsub", "event", "state", "reqres" (a request-response channel), "unknown". */
const char *cli_pattern_name(int pattern);
/* CLI_OK for a publish-subscribe service, else CLI_ERROR with a message. */
int cli_require_pubsub(const ferry_service_info *info);
/* Service names: CLI_OK or CLI_USAGE with the library's reason. */
int cli_check_service_name(const char *name);

/* ---- clocks -------------------------------------------------------------- */

uint64_t cli_now_ns(void); /* CLOCK_MONOTONIC, as sample timestamps */
void cli_sleep_ns(uint64_t ns);
/* How long to block in one ferry_*_wait call: until the deadline, but at
 * most 100 ms so that Ctrl-C is seen (signals do not end a ferry wait). */
uint64_t cli_wait_slice(uint64_t now, uint64_t deadline);
/* Nanoseconds from seconds; 0 stays 0 ("no limit"). */
uint64_t cli_s_to_ns(double s);

/* ---- JSON and text output ----------------------------------------------- */

/* A JSON string literal (quotes included) of n bytes; bytes that are not
 * printable ASCII become \u00XX escapes, so any payload gives valid JSON. */
void cli_json_bytes(FILE *f, const void *data, size_t n);
void cli_json_str(FILE *f, const char *s);
/* A service's static options as a JSON object, by pattern (list.c). */
void cli_json_service_options(const ferry_service_info *info);
/* Bytes as lowercase hex, no separators. */
void cli_hex(FILE *f, const void *data, size_t n);
/* "1.5 KiB", "12 B", ...: into buf. */
const char *cli_fmt_bytes(char *buf, size_t n, uint64_t bytes);
/* A duration in ns as "850 ns", "12.3 us", "4.50 ms", "2.00 s": into buf. */
const char *cli_fmt_ns(char *buf, size_t n, double ns);
/* A user name for uid, or the number. */
const char *cli_user_name(char *buf, size_t n, long uid);

/* ---- services and nodes -------------------------------------------------- */

/* Finds service name in domain through ferry_service_list. CLI_OK with *out
 * filled (out->opts.type_name points into *out), CLI_NOTFOUND (printed,
 * unless quiet) or CLI_ERROR (printed). */
int cli_find_service(const char *domain, const char *name, ferry_service_info *out, int quiet);
/* The same, waiting up to timeout_ns (0: forever) until it appears, or until
 * interrupted. */
int cli_wait_service(const char *domain, const char *name, ferry_service_info *out, uint64_t timeout_ns);
/* Opens a subscriber on service info->name with the service's own options
 * (info from cli_find_service), so that type, sizes and overflow match.
 * CLI_OK or CLI_ERROR (printed). */
int cli_sub_open(ferry_node *node, const ferry_service_info *info, ferry_sub **sub);
/* Waits until pub has k subscribers connected: CLI_OK, CLI_ERROR (timed out
 * after timeout_ns, 0: never; printed) or -1 when interrupted (Ctrl-C). */
int cli_pub_wait_subscribers(ferry_pub *pub, uint64_t k, uint64_t timeout_ns);
/* Loans, copies and sends one sample. With overflow block it waits for room
 * but not past Ctrl-C. CLI_OK, CLI_ERROR (printed) or -1 when interrupted. */
int cli_pub_send(ferry_pub *pub, const char *domain, const void *data, size_t size);
/* Opens the node "ferry-<cmd>" in domain: CLI_OK or CLI_ERROR (printed). */
int cli_node_open(ferry_node **node, const char *domain);

/* Every node of a domain, as listed by ferry_node_list (sorted by name). */
struct cli_nodes {
    ferry_node_info *v;
    size_t n, cap;
};
int cli_nodes_load(const char *domain, struct cli_nodes *nodes); /* FERRY_OK or a ferry error */
const ferry_node_info *cli_nodes_find(const struct cli_nodes *nodes, uint64_t id);
void cli_nodes_free(struct cli_nodes *nodes);

/* ---- the objects of a domain in the shm directory ------------------------ */

enum cli_obj_kind { CLI_OBJ_NODE, CLI_OBJ_SERVICE, CLI_OBJ_DATA, CLI_OBJ_TEMP, CLI_OBJ_OTHER };

struct cli_obj {
    char name[256];        /* file name in the shm directory */
    enum cli_obj_kind kind;
    char what[320];        /* what it is, for people */
    uint64_t bytes;        /* its size */
    int stale;             /* left by a dead node: ferry clean would remove (or free) it */
    int no_access;         /* this user cannot open it */
};

struct cli_objs {
    struct cli_obj *v;
    size_t n, cap;
};

/* Looks at every object of domain without changing anything (liveness is
 * probed the way the library does: a node is dead when nobody holds the lock
 * on its file). CLI_OK or CLI_ERROR (printed). */
int cli_objs_scan(const char *domain, struct cli_objs *objs);
void cli_objs_free(struct cli_objs *objs);
const char *cli_obj_kind_name(enum cli_obj_kind kind);
/* The domains that have objects in the shm directory (sorted, malloc'ed). */
int cli_domains_scan(char ***domains, size_t *count);
void cli_domains_free(char **domains, size_t count);

/* ---- the record file format (tools/cli/RECORD_FORMAT.md) ---------------- */

#define CLI_REC_MAGIC "FERRYREC"
#define CLI_REC_VERSION 1u
#define CLI_REC_RECORD_HEADER 32u /* bytes before each record's payload */
#define CLI_REC_MAX_SERVICES 256u

struct cli_rec_service {
    char name[FERRY_SERVICE_NAME_MAX + 1];
    char type_name[FERRY_TYPE_NAME_MAX + 1];
    ferry_pubsub_opts opts; /* opts.type_name points to type_name after cli_rec_read_header */
};

struct cli_rec_record {
    uint32_t service;      /* index into the service table */
    uint32_t size;         /* payload bytes */
    uint64_t time_ns;      /* since the recording started */
    uint64_t sequence;     /* the publisher's sequence number */
    uint64_t publisher_id; /* the publisher's id */
};

/* Writes the file header and service table. 0 or -1 (errno set). */
int cli_rec_write_header(FILE *f, uint64_t start_realtime_ns, const struct cli_rec_service *services, uint32_t count);
int cli_rec_write_record(FILE *f, const struct cli_rec_record *rec, const void *payload);

/* Reads the header: 0, or -1 with a message in err. *services is malloc'ed. */
int cli_rec_read_header(FILE *f, uint64_t *start_realtime_ns, struct cli_rec_service **services, uint32_t *count,
                        char *err, size_t errlen);
/* Reads the next record into *rec and its payload into *buf (grown with
 * realloc as needed). 1 read, 0 clean end of file, -1 truncated or invalid
 * (message in err). */
int cli_rec_read_record(FILE *f, uint32_t service_count, struct cli_rec_record *rec, void **buf, size_t *cap,
                        char *err, size_t errlen);

/* ---- subcommands --------------------------------------------------------- */

int cmd_list(int argc, char **argv);
int cmd_nodes(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_hz(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
