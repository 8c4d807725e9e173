/*
 * ferry-bench-state: the cost of shared state, with the readers and the
 * writer in separate processes, pinned to two CPUs.
 *
 *   read    ferry_state_read_begin + ferry_state_read_end in a reader
 *           process, (a) with no writer activity, (b) while a writer
 *           process publishes continuously
 *   publish ferry_state_write of a 64-byte value (loan, copy, switch) in the
 *           writer process while a reader process reads continuously
 *
 * Each figure is the median over --runs runs of the mean over a batch of
 * --iterations operations (clock reads around a batch, not around each
 * operation, whose cost is of the same order as what is measured).
 * --check runs a few thousand of each and verifies versions only.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

#define SERVICE "bench/state"
#define VALUE 64

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what)
{
    fprintf(stderr, "ferry-bench-state: %s: %s\n", what, ferry_last_error_message());
    exit(1);
}

struct shared {
    _Atomic int stop;  /* the busy peer runs until this is set */
    _Atomic int ready; /* the peer has opened its port */
};

static ferry_node *open_node(const char *domain, const char *name)
{
    ferry_node_opts no;
    ferry_node_opts_init(&no);
    no.domain = domain;
    ferry_node *n;
    if (ferry_node_open(&n, name, &no) != FERRY_OK)
        die("ferry_node_open");
    return n;
}

static ferry_state_opts state_opts(void)
{
    ferry_state_opts o;
    ferry_state_opts_init(&o);
    o.max_size = VALUE;
    o.max_readers = 4;
    return o;
}

/* Busy peer: publishes (writer) or reads (reader) until told to stop. */
static void busy_peer(const char *domain, int writer, int cpu, struct shared *sh)
{
    pin(cpu);
    ferry_node *n = open_node(domain, writer ? "busy-writer" : "busy-reader");
    ferry_state_opts o = state_opts();
    ferry_state_writer *w = NULL;
    ferry_state_reader *r = NULL;
    if (writer ? ferry_state_writer_open(&w, n, SERVICE, &o) : ferry_state_reader_open(&r, n, SERVICE, &o))
        die("busy peer open");
    atomic_store(&sh->ready, 1);
    unsigned char v[VALUE] = {0};
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        if (w) {
            v[0]++;
            ferry_state_write(w, v, sizeof v, NULL);
        } else {
            const void *d;
            size_t s;
            uint64_t ver;
            if (ferry_state_read_begin(r, &d, &s, &ver) == FERRY_OK)
                ferry_state_read_end(r);
        }
    }
    ferry_node_close(n);
    _exit(0);
}

/* Mean ns per read over iterations reads; versions must never go back. */
static double time_reads(ferry_state_reader *r, long iterations)
{
    uint64_t last = 0;
    uint64_t t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
        const void *d;
        size_t s;
        uint64_t ver;
        if (ferry_state_read_begin(r, &d, &s, &ver) != FERRY_OK)
            die("ferry_state_read_begin");
        ferry_state_read_end(r);
        if (ver < last) {
            fprintf(stderr, "ferry-bench-state: version went back from %llu to %llu\n", (unsigned long long)last,
                    (unsigned long long)ver);
            exit(1);
        }
        last = ver;
    }
    return (double)(now_ns() - t0) / (double)iterations;
}

static double time_publishes(ferry_state_writer *w, long iterations)
{
    unsigned char v[VALUE] = {0};
    uint64_t t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
        v[0] = (unsigned char)i;
        if (ferry_state_write(w, v, sizeof v, NULL) != FERRY_OK)
            die("ferry_state_write");
    }
    return (double)(now_ns() - t0) / (double)iterations;
}

/* One run of one case; returns ns per operation. */
static double run_case(const char *domain, int which, long iterations, int cpu_a, int cpu_b)
{
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap");
    memset(sh, 0, sizeof *sh);
    pin(cpu_a);
    ferry_node *n = open_node(domain, "measure");
    ferry_state_opts o = state_opts();
    /* The measured side's port, and a first value so that reads succeed. */
    ferry_state_writer *w = NULL;
    ferry_state_reader *r = NULL;
    unsigned char v[VALUE] = {0};
    if (which == 2) {
        if (ferry_state_writer_open(&w, n, SERVICE, &o) || ferry_state_write(w, v, sizeof v, NULL))
            die("writer");
    } else {
        if (ferry_state_reader_open(&r, n, SERVICE, &o))
            die("reader");
    }
    pid_t peer = -1;
    if (which == 0) {
        /* Reads with no writer activity: a writer publishes once and idles. */
        ferry_state_writer *once = NULL;
        if (ferry_state_writer_open(&once, n, SERVICE, &o) || ferry_state_write(once, v, sizeof v, NULL))
            die("writer");
        time_reads(r, iterations / 10); /* warm up */
        double ns = time_reads(r, iterations);
        ferry_state_writer_close(once);
        ferry_node_close(n);
        munmap(sh, sizeof *sh);
        return ns;
    }
    peer = fork();
    if (peer == 0)
        busy_peer(domain, which == 1, cpu_b, sh);
    while (!atomic_load(&sh->ready))
        sched_yield();
    if (which == 1) {
        const void *d;
        size_t s;
        uint64_t ver;
        while (ferry_state_read_begin(r, &d, &s, &ver) != FERRY_OK)
            sched_yield();
        ferry_state_read_end(r);
    }
    double ns = which == 1 ? (time_reads(r, iterations / 10), time_reads(r, iterations))
                           : (time_publishes(w, iterations / 10), time_publishes(w, iterations));
    atomic_store(&sh->stop, 1);
    waitpid(peer, NULL, 0);
    ferry_node_close(n);
    munmap(sh, sizeof *sh);
    return ns;
}

int main(int argc, char **argv)
{
    long iterations = 2000000;
    int runs = 5, check = 0, cpu_a = 0, cpu_b = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check")) {
            check = 1;
            iterations = 20000;
            runs = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            iterations = 500000;
            runs = 3;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
            iterations = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--cores") && i + 1 < argc) {
            if (sscanf(argv[++i], "%d,%d", &cpu_a, &cpu_b) != 2) {
                fprintf(stderr, "ferry-bench-state: --cores A,B\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: ferry-bench-state [--quick|--check] [--runs N] [--iterations N] [--cores A,B]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 99 || iterations < 100) {
        fprintf(stderr, "ferry-bench-state: --runs 1..99, --iterations >= 100\n");
        return 2;
    }
    char domain[32];
    snprintf(domain, sizeof domain, "bstate_%ld", (long)getpid());
    static const char *names[] = {"read (begin+end), writer idle", "read (begin+end), writer publishing",
                                  "publish 64 B (ferry_state_write), reader reading"};
    double results[3][99];
    /* Interleaved: run k of every case before run k + 1. */
    for (int k = 0; k < runs; k++)
        for (int c = 0; c < 3; c++)
            results[c][k] = run_case(domain, c, iterations, cpu_a, cpu_b);
    printf("ferry shared state, %d run(s) of %ld operations, CPUs %d,%d, median of run means\n", runs, iterations,
           cpu_a, cpu_b);
    for (int c = 0; c < 3; c++) {
        qsort(results[c], (size_t)runs, sizeof(double), cmp_double);
        printf("  %-50s %8.1f ns   (runs: min %.1f, max %.1f)\n", names[c], results[c][runs / 2], results[c][0],
               results[c][runs - 1]);
    }
    ferry_cleanup(domain, NULL);
    if (check)
        printf("state check: passed (versions never went back)\n");
    return 0;
}
