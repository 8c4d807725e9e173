/*
 * ferry-bench: the result files besides the console table and the CSV:
 * JSON (--json), a gnuplot chart (--chart PREFIX: PREFIX.svg, PREFIX.png)
 * and a markdown report (--report). main.c fills a struct bench_results with
 * the medians across runs and hands it over.
 */
#ifndef FERRY_BENCH_OUTPUT_H
#define FERRY_BENCH_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

struct bench_result_lat {
    int state; /* 1 measured, 0 failed in every run, -1 skipped (why says why) */
    uint64_t n;
    double min, p50, mean, p99, p999; /* one-way ns, medians across runs */
    unsigned runs_ok;
    char why[200];
};

struct bench_result_tp {
    int state; /* 1 measured, 0 failed, -1 the method does not stream */
    double median, min, max; /* messages per second */
};

struct bench_results {
    const struct bench_method *const *methods;
    size_t nm;
    const size_t *sizes;
    size_t ns;
    unsigned runs;
    int quick;
    int latency, throughput;
    int cpu_a, cpu_b;
    uint64_t iterations;
    struct bench_result_lat *lat; /* [mi * ns + si] */
    struct bench_result_tp *tp;   /* [mi] */
    unsigned disturbed, measured; /* measurements with involuntary context switches, of all */
    uint64_t preempted;           /* involuntary context switches in all timed parts */
    double steal_s, wall_s;       /* hypervisor steal time during the runs, and their wall time */
};

/* Each returns 0, or -1 after printing why to stderr. */
/* "64 B", "4 KiB", "1 MiB": a message size as the tables print it. */
const char *bench_fmt_size(size_t v, char *buf, size_t n);

int bench_write_json(const char *path, const struct bench_results *r);
/* Writes PREFIX.svg and PREFIX.png with gnuplot; when gnuplot is missing it
 * says how to install it and returns 0 (the run goes on). */
int bench_write_chart(const char *prefix, const struct bench_results *r);
int bench_write_report(const char *path, const struct bench_results *r, const char *chart_prefix);

#endif
