#include "ferry_test.h"
#include "payload.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DOMAINS 8
#define MAX_PIDS 16

static const char *test_name = "test";
static char domains[MAX_DOMAINS][FERRY_DOMAIN_MAX + 1];
static int n_domains;
static volatile pid_t pids[MAX_PIDS];

/* ---- cleanup of a failing test ---------------------------------------------------- */

void ft_register_pid_(pid_t pid)
{
    for (int i = 0; i < MAX_PIDS; i++) {
        if (pids[i] == 0) {
            pids[i] = pid;
            return;
        }
    }
}

void ft_unregister_pid_(pid_t pid)
{
    for (int i = 0; i < MAX_PIDS; i++)
        if (pids[i] == pid)
            pids[i] = 0;
}

static void kill_peers(void)
{
    for (int i = 0; i < MAX_PIDS; i++) {
        pid_t pid = pids[i];
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pids[i] = 0;
        }
    }
}

static void remove_domain_objects(void)
{
    char names[FT_SHM_MAX][FT_SHM_NAME];
    for (int d = 0; d < n_domains; d++) {
        int n = ft_shm_list(domains[d], names, FT_SHM_MAX);
        for (int i = 0; i < n && i < FT_SHM_MAX; i++) {
            char path[FT_SHM_NAME + 16];
            snprintf(path, sizeof path, "/dev/shm/%.255s", names[i]);
            unlink(path);
        }
    }
}

static void emergency_exit(int status) __attribute__((noreturn));
static void emergency_exit(int status)
{
    fflush(stdout);
    fflush(stderr);
    kill_peers();
    remove_domain_objects();
    _exit(status);
}

/* ---- assertions ----------------------------------------------------------------------- */

static void report_ferry_error(const char *message, int code)
{
    fprintf(stderr, "  ferry_last_error() = %d, message: \"%s\"\n", code, message);
}

void ft_fail_(const char *file, int line, const char *expr, const char *fmt, ...)
{
    /* Read the error first: any further ferry call may overwrite it. */
    char message[1024];
    snprintf(message, sizeof message, "%s", ferry_last_error_message());
    int code = ferry_last_error();

    fprintf(stderr, "FAIL %s: %s:%d: %s\n", test_name, file, line, expr);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs("  ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    report_ferry_error(message, code);
    emergency_exit(1);
}

void ft_fail_rc_(const char *file, int line, const char *expr, int got, int expected)
{
    char message[1024];
    snprintf(message, sizeof message, "%s", ferry_last_error_message());
    int code = ferry_last_error();

    fprintf(stderr, "FAIL %s: %s:%d: %s\n  returned %d (%s), expected %d (%s)\n", test_name, file,
            line, expr, got, ferry_strerror(got), expected, ferry_strerror(expected));
    report_ferry_error(message, code);
    emergency_exit(1);
}

void ft_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP %s: ", test_name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    emergency_exit(FT_SKIP);
}

/* ---- life cycle ------------------------------------------------------------------------- */

static unsigned watchdog_s;

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL: watchdog: the test did not finish in time (a wait hung)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    for (int i = 0; i < MAX_PIDS; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    _exit(1);
}

void ft_init(const char *name, unsigned timeout_s)
{
    test_name = name;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    watchdog_s = timeout_s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(timeout_s);
}

const char *ft_domain(char *out, const char *tag)
{
    int n = snprintf(out, FERRY_DOMAIN_MAX + 1, "t%s_%ld", tag, (long)getpid());
    CHECK_MSG(n > 0 && n <= FERRY_DOMAIN_MAX, "domain for tag '%s' is too long", tag);
    if (n_domains < MAX_DOMAINS)
        snprintf(domains[n_domains++], sizeof domains[0], "%s", out);
    /* A crashed earlier run with the same pid may have left objects: start clean. */
    if (ft_shm_count(out) != 0) {
        fprintf(stderr, "note: removing stale objects of domain %s from /dev/shm\n", out);
        remove_domain_objects();
    }
    return out;
}

ferry_node *ft_node_open(const char *domain, const char *name)
{
    ferry_node_opts opts;
    ferry_node_opts_init(&opts);
    opts.domain = domain;
    ferry_node *node = NULL;
    CHECK_OK(ferry_node_open(&node, name, &opts));
    CHECK(node != NULL);
    return node;
}

void ft_check_no_shm(const char *domain)
{
    char names[FT_SHM_MAX][FT_SHM_NAME];
    int n = ft_shm_list(domain, names, FT_SHM_MAX);
    if (n == 0)
        return;
    fprintf(stderr, "FAIL %s: %d shared-memory object(s) of domain %s left in /dev/shm:\n",
            test_name, n, domain);
    for (int i = 0; i < n && i < FT_SHM_MAX; i++)
        fprintf(stderr, "  /dev/shm/%s\n", names[i]);
    emergency_exit(1);
}

int ft_pass(void)
{
    alarm(0);
    printf("PASS %s\n", test_name);
    return 0;
}

/* ---- /dev/shm ------------------------------------------------------------------------------ */

int ft_shm_list(const char *domain, char (*names)[FT_SHM_NAME], int max)
{
    char prefix[FERRY_DOMAIN_MAX + 16];
    snprintf(prefix, sizeof prefix, "ferry.%s.", domain);
    size_t plen = strlen(prefix);

    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        if (names && n < max)
            snprintf(names[n], FT_SHM_NAME, "%s", e->d_name);
        n++;
    }
    closedir(dir);
    return n;
}

int ft_shm_count(const char *domain) { return ft_shm_list(domain, NULL, 0); }

/* ---- time ------------------------------------------------------------------------------------ */

uint64_t ft_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ft_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void short_pause(unsigned spins)
{
    if (spins < 64) {
        sched_yield();
    } else {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

/* ---- subscribers ------------------------------------------------------------------------------ */

int ft_take_wait(ferry_sub *sub, const void **payload, size_t *size, unsigned timeout_ms)
{
    uint64_t deadline = ft_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (unsigned spins = 0;; spins++) {
        int rc = ferry_sub_take(sub, payload, size);
        if (rc != FERRY_EAGAIN || ft_now_ns() > deadline)
            return rc;
        short_pause(spins);
    }
}

uint64_t ft_recv_checked(ferry_sub *sub, unsigned timeout_ms)
{
    const void *p = NULL;
    size_t size = 0;
    CHECK_OK(ft_take_wait(sub, &p, &size, timeout_ms));
    ferry_sample_info info;
    CHECK_OK(ferry_sub_sample_info(sub, p, &info));
    uint64_t tag = 0, seq = 0;
    CHECK_MSG(ft_payload_check(p, size, &tag, &seq), "corrupt payload of size %zu", size);
    CHECK_EQ(info.size, size);
    CHECK_EQ(info.sequence, seq);
    CHECK_EQ(info.publisher_id, tag);
    ferry_sub_release(sub, p);
    CHECK_LAST_ERROR(FERRY_OK);
    return seq;
}

/* ---- options ------------------------------------------------------------------------------------ */

int ft_opts_parse_word(ferry_pubsub_opts *o, const char *word, char *err, size_t err_size)
{
    /* Type names are kept in a small ring so that opts.type_name stays valid. */
    static char type_names[4][FERRY_TYPE_NAME_MAX + 2];
    static int next_type;
    const char *eq = strchr(word, '=');
    if (!eq) {
        snprintf(err, err_size, "option '%s' is not key=value", word);
        return -1;
    }
    size_t klen = (size_t)(eq - word);
    const char *v = eq + 1;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 0);
    int numeric = end && end != v && *end == '\0';

#define KEY(k) (klen == strlen(k) && strncmp(word, k, klen) == 0)
    if (KEY("type")) {
        char *t = type_names[next_type++ % 4];
        snprintf(t, FERRY_TYPE_NAME_MAX + 2, "%s", v);
        o->type_name = t;
        return 0;
    }
    if (KEY("overflow")) {
        if (strcmp(v, "drop") == 0) {
            o->overflow = FERRY_OVERFLOW_DROP_OLDEST;
            return 0;
        }
        if (strcmp(v, "block") == 0) {
            o->overflow = FERRY_OVERFLOW_BLOCK;
            return 0;
        }
    } else if (numeric) {
        if (KEY("payload")) {
            o->max_payload = (size_t)n;
            return 0;
        }
        if (KEY("align")) {
            o->alignment = (size_t)n;
            return 0;
        }
        if (KEY("hist")) {
            o->history = (uint32_t)n;
            return 0;
        }
        if (KEY("q")) {
            o->queue_capacity = (uint32_t)n;
            return 0;
        }
        if (KEY("pubs")) {
            o->max_publishers = (uint32_t)n;
            return 0;
        }
        if (KEY("subs")) {
            o->max_subscribers = (uint32_t)n;
            return 0;
        }
        if (KEY("loans")) {
            o->max_loans = (uint32_t)n;
            return 0;
        }
        if (KEY("borrowed")) {
            o->max_borrowed = (uint32_t)n;
            return 0;
        }
        if (KEY("ts")) {
            o->timestamps = (int)n;
            return 0;
        }
    }
#undef KEY
    snprintf(err, err_size, "bad option '%s'", word);
    return -1;
}

void ft_opts_format(const ferry_pubsub_opts *o, char *out, size_t size)
{
    snprintf(out, size,
             "type=%s payload=%zu align=%zu hist=%u q=%u pubs=%u subs=%u loans=%u borrowed=%u overflow=%s ts=%d",
             o->type_name ? o->type_name : "bytes", o->max_payload, o->alignment, (unsigned)o->history,
             (unsigned)o->queue_capacity, (unsigned)o->max_publishers, (unsigned)o->max_subscribers,
             (unsigned)o->max_loans, (unsigned)o->max_borrowed,
             o->overflow == FERRY_OVERFLOW_BLOCK ? "block" : "drop", o->timestamps);
}
