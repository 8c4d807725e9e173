/*
 * ferry-bench: latency and throughput of ferry against the hardware limit
 * and a copying baseline. See docs/performance.md and `ferry-bench --help`.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "ferry/ferry.h"
#include "harness.h"
#include "output.h"

#define MAX_METHODS 40
#define MAX_SIZES 32
#define MAX_RUNS 101

struct config {
    const struct bench_method *methods[MAX_METHODS];
    size_t nmethods;
    size_t sizes[MAX_SIZES];
    size_t nsizes;
    uint64_t iterations;     /* timed samples for sizes <= 4 KiB */
    uint64_t min_iterations; /* floor for large sizes */
    unsigned runs;
    int cpu_a, cpu_b;
    uint32_t batch;
    uint32_t queue;
    double duration_s;
    int latency, throughput;
    const char *csv;
    const char *json, *chart, *report; /* output.c */
    int quick;
    int check;
    double timeout_s;
};

struct lat_stats {
    int ok;
    uint64_t n;
    double min, p50, mean, p99, p999; /* one-way ns */
    uint64_t preempted;               /* involuntary context switches while timing */
};

static const char *g_prog = "ferry-bench";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [options]\n"
            "\n"
            "Latency (ping-pong between two processes pinned to two cores; one-way = round trip / 2)\n"
            "and 64 B one-way streaming throughput, for each method; see --list.\n"
            "\n"
            "  --methods LIST     comma-separated methods (default: all, see --list)\n"
            "  --sizes LIST       payload sizes, suffixes K/KiB/M/MiB (default 64,4K,64K,1M,8M)\n"
            "  --iterations N     timed round trips per run for sizes <= 4 KiB; larger sizes get\n"
            "                     N*4096/size, at least --min-iterations (default 20000)\n"
            "  --min-iterations N floor of the timed round trips at large sizes (default 200)\n"
            "  --runs N           runs, interleaved across methods; medians across runs (default 5)\n"
            "  --cores A,B        CPUs for the two processes (default: the first two allowed)\n"
            "  --batch N          round trips per timed sample (default 1: every round trip timed)\n"
            "  --duration SEC     streaming time per throughput run (default 1.5)\n"
            "  --queue N          queue capacity while streaming: ferry queue_capacity and raw ring\n"
            "                     slots (default 256)\n"
            "  --latency-only, --throughput-only\n"
            "  --quick            3 runs, 2000 iterations (min 50), 0.4 s streaming, sizes 64,4K,64K,1M\n"
            "  --csv PATH         also write every run and the medians as CSV\n"
            "  --json PATH        also write the medians (and skipped methods, with why) as JSON\n"
            "  --chart PREFIX     draw PREFIX.svg and PREFIX.png with gnuplot: median one-way latency\n"
            "                     per method and size, log scale, ferry highlighted\n"
            "  --report PATH      a markdown report: machine, noise, the table side by side\n"
            "  --timeout SEC      kill a measurement that takes longer (default 300)\n"
            "  --check            test mode: a few hundred messages per method and size, stream\n"
            "                     through a small queue, verify every message and the cleanup;\n"
            "                     no timing claims; exit status 0 when all passed\n"
            "  --list             list the methods\n"
            "  --help\n",
            g_prog);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ---- parsing ---------------------------------------------------------------- */

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        die("%s: \"%s\" is not a non-negative integer", what, s);
    return v;
}

static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        die("--sizes: \"%s\" is not a size", s);
    unsigned long long mul = 1;
    if (!strcmp(end, "") || !strcmp(end, "B") || !strcmp(end, "b"))
        mul = 1;
    else if (!strcmp(end, "K") || !strcmp(end, "k") || !strcmp(end, "KiB") || !strcmp(end, "KB"))
        mul = 1024;
    else if (!strcmp(end, "M") || !strcmp(end, "m") || !strcmp(end, "MiB") || !strcmp(end, "MB"))
        mul = 1024 * 1024;
    else if (!strcmp(end, "G") || !strcmp(end, "GiB") || !strcmp(end, "GB"))
        mul = 1024ull * 1024 * 1024;
    else
        die("--sizes: unknown suffix in \"%s\" (use K, KiB, M or MiB)", s);
    v *= mul;
    if (v < 8)
        die("--sizes: %s is below 8 bytes (every message carries an 8-byte sequence number)", s);
    if (v > 0xffff0000ull)
        die("--sizes: %s is too large", s);
    return (size_t)v;
}

static void parse_list(const char *arg, void (*each)(struct config *, const char *), struct config *cfg)
{
    char *copy = strdup(arg);
    if (!copy)
        die("out of memory");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        each(cfg, tok);
    free(copy);
}

static void add_method(struct config *cfg, const char *name)
{
    const struct bench_method *m = bench_method_find(name);
    if (!m)
        die("--methods: unknown method \"%s\" (see --list)", name);
    for (size_t i = 0; i < cfg->nmethods; i++) {
        if (cfg->methods[i] == m)
            return;
    }
    if (cfg->nmethods == MAX_METHODS)
        die("--methods: too many");
    cfg->methods[cfg->nmethods++] = m;
}

static void add_size(struct config *cfg, const char *s)
{
    if (cfg->nsizes == MAX_SIZES)
        die("--sizes: at most %d sizes", MAX_SIZES);
    cfg->sizes[cfg->nsizes++] = parse_size(s);
}

static void parse_cores(struct config *cfg, const char *s)
{
    int a, b;
    char extra;
    if (sscanf(s, "%d,%d%c", &a, &b, &extra) != 2 || a < 0 || b < 0)
        die("--cores: expected two CPU numbers such as 0,1 (got \"%s\")", s);
    cfg->cpu_a = a;
    cfg->cpu_b = b;
}

static void default_cores(struct config *cfg)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        cfg->cpu_a = cfg->cpu_b = -1;
        return;
    }
    int found[2] = {-1, -1}, n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++) {
        if (CPU_ISSET(cpu, &set))
            found[n++] = cpu;
    }
    cfg->cpu_a = found[0];
    cfg->cpu_b = n == 2 ? found[1] : found[0];
}

/* ---- formatting ------------------------------------------------------------- */

static const char *fmt_ns(double ns, char *buf, size_t n)
{
    if (ns < 1e3)
        snprintf(buf, n, "%.1f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, n, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, n, "%.2f s", ns / 1e9);
    return buf;
}

static const char *fmt_rate(double r, char *buf, size_t n)
{
    if (r >= 1e6)
        snprintf(buf, n, "%.2f M/s", r / 1e6);
    else if (r >= 1e3)
        snprintf(buf, n, "%.1f k/s", r / 1e3);
    else
        snprintf(buf, n, "%.0f /s", r);
    return buf;
}

/* ---- statistics ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint64_t percentile(const uint64_t *v, uint64_t n, double q)
{
    uint64_t rank = (uint64_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static struct lat_stats lat_from_samples(uint64_t *rt, uint64_t n, uint32_t batch)
{
    struct lat_stats s = {0};
    if (n == 0)
        return s;
    qsort(rt, n, sizeof *rt, cmp_u64);
    double div = 2.0 * batch;
    s.ok = 1;
    s.n = n;
    s.min = (double)rt[0] / div;
    s.p50 = (double)percentile(rt, n, 0.5) / div;
    /* Exact even where the clock is coarse: the samples telescope to the
     * elapsed time of the whole timed loop. */
    double sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += (double)rt[i];
    s.mean = sum / (double)n / div;
    s.p99 = (double)percentile(rt, n, 0.99) / div;
    s.p999 = (double)percentile(rt, n, 0.999) / div;
    return s;
}

static double median_of(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Medians across runs of every statistic (failed runs left out). */
static struct lat_stats lat_median(const struct lat_stats *runs, unsigned nruns)
{
    double a[MAX_RUNS], b[MAX_RUNS], c[MAX_RUNS], d[MAX_RUNS], e[MAX_RUNS];
    size_t k = 0;
    struct lat_stats m = {0};
    for (unsigned r = 0; r < nruns; r++) {
        if (!runs[r].ok)
            continue;
        a[k] = runs[r].min;
        b[k] = runs[r].p50;
        c[k] = runs[r].p99;
        d[k] = runs[r].p999;
        e[k] = runs[r].mean;
        m.n = runs[r].n;
        k++;
    }
    if (!k)
        return m;
    m.ok = 1;
    m.min = median_of(a, k);
    m.p50 = median_of(b, k);
    m.p99 = median_of(c, k);
    m.p999 = median_of(d, k);
    m.mean = median_of(e, k);
    return m;
}

/* ---- machine description ---------------------------------------------------- */

static void read_first_line(const char *path, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (key && strncmp(line, key, strlen(key)) != 0)
            continue;
        char *v = key ? strchr(line, ':') : line;
        if (!v)
            continue;
        if (key)
            v++;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t len = strcspn(v, "\n");
        if (len >= n)
            len = n - 1;
        memcpy(out, v, len);
        out[len] = '\0';
        break;
    }
    fclose(f);
}

static double clock_read_ns(void)
{
    enum { N = 20000 };
    uint64_t best = UINT64_MAX;
    for (int rep = 0; rep < 5; rep++) {
        uint64_t t0 = bench_now_ns();
        uint64_t x = 0;
        for (int i = 0; i < N; i++)
            x ^= bench_now_ns();
        uint64_t t1 = bench_now_ns();
        if (x == 1) /* keep the loop */
            fputc(' ', stderr);
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    return (double)best / N;
}

static void print_header(FILE *f, const struct config *cfg, const char *prefix)
{
    char cpu[256], src[64];
    read_first_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    if (!cpu[0])
        snprintf(cpu, sizeof cpu, "unknown CPU");
    read_first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", NULL, src, sizeof src);
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    fprintf(f, "%sferry-bench, ferry %s\n", prefix, ferry_version());
    fprintf(f, "%smachine: %s, %ld CPUs online, %s %s %s\n", prefix, cpu, sysconf(_SC_NPROCESSORS_ONLN),
            u.sysname, u.release, u.machine);
    if (cfg->cpu_a < 0)
        fprintf(f, "%scores:   unpinned\n", prefix);
    else
        fprintf(f, "%scores:   A (initiator, sender) on CPU %d, B (echo, receiver) on CPU %d%s\n", prefix,
                cfg->cpu_a, cfg->cpu_b, cfg->cpu_a == cfg->cpu_b ? " (same CPU: spinning yields)" : "");
    fprintf(f, "%sclock:   CLOCK_MONOTONIC (%s), %.1f ns per read, one read per timed sample\n", prefix,
            src[0] ? src : "?", clock_read_ns());
    char load[128];
    read_first_line("/proc/loadavg", NULL, load, sizeof load);
    fprintf(f, "%scompiler: %s; load average at start: %s\n", prefix, __VERSION__, load[0] ? load : "?");
}

/* Hypervisor steal time of all CPUs so far, in seconds (-1 if unknown). */
static double steal_seconds(void)
{
    char line[512] = "";
    /* The first line is "cpu  user nice system ..." (no ':', so not read_first_line). */
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    unsigned long long v[8] = {0};
    if (sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7]) != 8)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)v[7] / (double)hz : -1;
}

/* ---- the runs --------------------------------------------------------------- */

static uint64_t iterations_for(const struct config *cfg, size_t size)
{
    uint64_t n = cfg->iterations;
    if (size > 4096)
        n = (uint64_t)((double)cfg->iterations * 4096.0 / (double)size);
    if (n < cfg->min_iterations)
        n = cfg->min_iterations;
    if (n > cfg->iterations)
        n = cfg->iterations;
    return n ? n : 1;
}

static void fill_job(const struct config *cfg, struct bench_job *j, const struct bench_method *m,
                     enum bench_mode mode, size_t size)
{
    memset(j, 0, sizeof *j);
    j->method = m;
    j->params.mode = mode;
    j->params.size = size;
    j->params.touch = m->touch;
    j->params.queue = cfg->queue;
    j->cpu_a = cfg->cpu_a;
    j->cpu_b = cfg->cpu_b;
    j->timeout_s = cfg->timeout_s;
    j->batch = cfg->batch;
}

static int is_named(const struct bench_method *m, const char *name) { return m && !strcmp(m->name, name); }

static int find_method(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nmethods; i++) {
        if (is_named(cfg->methods[i], name))
            return (int)i;
    }
    return -1;
}

static void csv_lat(FILE *f, const char *method, size_t size, const char *run, const struct lat_stats *s,
                    double ratio)
{
    if (!f)
        return;
    if (!s->ok) {
        fprintf(f, "latency,%s,%zu,%s,0,,,,,,,,\n", method, size, run);
        return;
    }
    fprintf(f, "latency,%s,%zu,%s,%llu,%.1f,%.1f,%.1f,%.1f,%.1f,,%llu,", method, size, run,
            (unsigned long long)s->n, s->min, s->p50, s->mean, s->p99, s->p999, (unsigned long long)s->preempted);
    if (isnan(ratio))
        fprintf(f, "\n");
    else
        fprintf(f, "%.3f\n", ratio);
}

static int run_benchmark(const struct config *cfg)
{
    size_t nm = cfg->nmethods, ns = cfg->nsizes;
    unsigned nr = cfg->runs;
    struct lat_stats *lat = calloc(nm * ns * nr + 1, sizeof *lat);
    double *tp = calloc(nm * nr + 1, sizeof *tp);
    int *tp_ok = calloc(nm * nr + 1, sizeof *tp_ok);
    uint64_t *tp_pre = calloc(nm * nr + 1, sizeof *tp_pre);
    if (!lat || !tp || !tp_ok || !tp_pre)
        die("out of memory");
#define LAT(mi, si, r) lat[((mi) * ns + (si)) * nr + (r)]
#define TP(mi, r) tp[(mi) * nr + (r)]
#define TPOK(mi, r) tp_ok[(mi) * nr + (r)]
    int failures = 0;
    unsigned disturbed = 0, measured = 0;
    double worst_off = 0; /* largest share of a timed part spent off the CPU */
    uint64_t preempted_all = 0;
    /* Measurements a method cannot make here (bench_method_supports). */
    struct bench_result_lat *res_lat = calloc(nm * ns + 1, sizeof *res_lat);
    struct bench_result_tp *res_tp = calloc(nm + 1, sizeof *res_tp);
    if (!res_lat || !res_tp)
        die("out of memory");
    for (size_t mi = 0; mi < nm; mi++) {
        for (size_t si = 0; si < ns; si++) {
            struct bench_job j;
            fill_job(cfg, &j, cfg->methods[mi], BENCH_PINGPONG, cfg->sizes[si]);
            struct bench_result_lat *x = &res_lat[mi * ns + si];
            if (!bench_method_supports(cfg->methods[mi], &j.params, x->why, sizeof x->why))
                x->state = -1;
        }
        struct bench_job j;
        fill_job(cfg, &j, cfg->methods[mi], BENCH_STREAM, 64);
        char why[200];
        if ((cfg->methods[mi]->touch & 1) || !bench_method_supports(cfg->methods[mi], &j.params, why, sizeof why))
            res_tp[mi].state = -1;
    }
#define SKIPPED(mi, si) (res_lat[(mi) * ns + (si)].state < 0)

    FILE *csv = NULL;
    if (cfg->csv) {
        csv = fopen(cfg->csv, "w");
        if (!csv)
            die("--csv: cannot write %s: %s", cfg->csv, strerror(errno));
    }

    print_header(stdout, cfg, "");
    printf("runs:    %u, interleaved across methods (run 1 of every method, then run 2, ...); medians "
           "across runs\n",
           cfg->runs);
    if (cfg->latency) {
        printf("latency: ping-pong, %llu timed round trips per run for sizes <= 4 KiB (%llu at 1 MiB, floor "
               "%llu), %u per sample, after >= 10%% more and >= 20 ms untimed\n",
               (unsigned long long)cfg->iterations, (unsigned long long)iterations_for(cfg, 1024 * 1024),
               (unsigned long long)cfg->min_iterations, cfg->batch);
    }
    if (cfg->throughput)
        printf("stream:  64 B one-way, %.1f s per run after 20000 untimed messages, queue %u\n", cfg->duration_s,
               cfg->queue);
    for (size_t i = 0; bench_methods_missing[i]; i++)
        printf("not measured: %s\n", bench_methods_missing[i]);
    for (size_t mi = 0; mi < nm; mi++) {
        for (size_t si = 0; si < ns; si++) {
            char sz[32];
            if (SKIPPED(mi, si))
                printf("skipped: %s at %s: %s\n", cfg->methods[mi]->name, bench_fmt_size(cfg->sizes[si], sz, sizeof sz),
                       res_lat[mi * ns + si].why);
        }
    }
    printf("\n");
    fflush(stdout);

    /* Bring both cores out of idle and up to speed before anything counts. */
    {
        struct bench_job j;
        fill_job(cfg, &j, bench_method_find("raw"), BENCH_PINGPONG, 64);
        j.samples = 1;
        j.warmup_ns = 300000000;
        struct bench_outcome o;
        bench_run(&j, &o);
        bench_outcome_free(&o);
    }

    double steal0 = steal_seconds();
    uint64_t t_all = bench_now_ns();
    for (unsigned r = 0; r < nr; r++) {
        uint64_t t_run = bench_now_ns();
        if (cfg->latency) {
            for (size_t si = 0; si < ns; si++) {
                for (size_t mi = 0; mi < nm; mi++) {
                    if (SKIPPED(mi, si))
                        continue;
                    struct bench_job j;
                    fill_job(cfg, &j, cfg->methods[mi], BENCH_PINGPONG, cfg->sizes[si]);
                    j.samples = iterations_for(cfg, cfg->sizes[si]);
                    j.warmup = j.samples / 10 > 20 ? j.samples / 10 : 20;
                    j.warmup_ns = 20000000;
                    struct bench_outcome o;
                    char sz[32];
                    if (bench_run(&j, &o) != 0) {
                        fprintf(stderr, "%s: run %u, %s, %s: FAILED: %s\n", g_prog, r + 1, cfg->methods[mi]->name,
                                bench_fmt_size(cfg->sizes[si], sz, sizeof sz), o.error);
                        failures++;
                    } else {
                        LAT(mi, si, r) = lat_from_samples(o.rt_ns, o.n, j.batch);
                        LAT(mi, si, r).preempted = o.preempted;
                        preempted_all += o.preempted;
                        /* Both signs of another task: preempted, and waiting for a CPU for
                         * more than 1% of the time (wake-up delays of a sleeping
                         * receiver and kernel housekeeping each show only one). */
                        if (o.preempted > 0 && o.off_cpu > 0.01) {
                            disturbed++;
                            worst_off = o.off_cpu > worst_off ? o.off_cpu : worst_off;
                        }
                        measured++;
                    }
                    bench_outcome_free(&o);
                }
            }
        }
        if (cfg->throughput) {
            for (size_t mi = 0; mi < nm; mi++) {
                const struct bench_method *m = cfg->methods[mi];
                if (!m->stream || (m->touch & 1) || res_tp[mi].state < 0)
                    continue;
                struct bench_job j;
                fill_job(cfg, &j, m, BENCH_STREAM, 64);
                j.stream_ns = (uint64_t)(cfg->duration_s * 1e9);
                j.stream_warmup = 20000;
                struct bench_outcome o;
                if (bench_run(&j, &o) != 0) {
                    fprintf(stderr, "%s: run %u, %s, stream: FAILED: %s\n", g_prog, r + 1, m->name, o.error);
                    failures++;
                } else {
                    TP(mi, r) = o.msgs_per_s;
                    TPOK(mi, r) = 1;
                    tp_pre[mi * nr + r] = o.preempted;
                    preempted_all += o.preempted;
                    /* Both signs of another task: preempted, and waiting for a CPU for
                     * more than 1% of the time (wake-up delays of a sleeping
                     * receiver and kernel housekeeping each show only one). */
                    if (o.preempted > 0 && o.off_cpu > 0.01) {
                        disturbed++;
                        worst_off = o.off_cpu > worst_off ? o.off_cpu : worst_off;
                    }
                    measured++;
                }
                bench_outcome_free(&o);
            }
        }
        fprintf(stderr, "%s: run %u/%u done (%.1f s)\n", g_prog, r + 1, nr,
                (double)(bench_now_ns() - t_run) / 1e9);
    }

    double wall = (double)(bench_now_ns() - t_all) / 1e9;
    double steal = steal0 >= 0 ? steal_seconds() - steal0 : -1;

    if (csv)
        fprintf(csv, "kind,method,size_bytes,run,samples,min_ns,median_ns,mean_ns,p99_ns,p999_ns,msgs_per_s,"
                     "preempted,ratio_to_raw\n");

    int i_raw = find_method(cfg, "raw"), i_rawt = find_method(cfg, "raw-touch");
    int i_ferry = find_method(cfg, "ferry");
    /* The latency targets of ferry's issues, each a ratio of medians of two
     * methods measured in the same run, at every size both were measured. */
    struct lat_target {
        const char *method, *baseline;
        double bound;
        const char *text;
        int im, ib, compared, failed;
        double worst;
        size_t worst_size;
    } targets[] = {
        {.method = "ferry", .baseline = "raw", .bound = 1.5,
         .text = "ferry median one-way latency <= 1.5x raw at every size:       "},
        {.method = "ferry-touch", .baseline = "raw-touch", .bound = 1.5,
         .text = "ferry-touch <= 1.5x raw-touch at every size (same bound):    "},
        {.method = "ferry-spin", .baseline = "raw", .bound = 1.5,
         .text = "ferry-spin (spin, then sleep) <= 1.5x raw at every size:     "},
        {.method = "ferry-wait", .baseline = "futex", .bound = 1.2,
         .text = "ferry-wait (sleeps every time) <= 1.2x futex at every size:  "},
        {.method = "ferry-reqres", .baseline = "raw", .bound = 1.5,
         .text = "ferry-reqres round trip <= 1.5x two raw one-way hand-offs:   "},
    };
    const size_t ntargets = sizeof targets / sizeof targets[0];
    for (size_t t = 0; t < ntargets; t++) {
        targets[t].im = find_method(cfg, targets[t].method);
        targets[t].ib = find_method(cfg, targets[t].baseline);
    }

    if (cfg->latency) {
        printf("One-way latency (round trip / 2); each figure is the median across %u runs\n\n", nr);
        printf("%-8s %-18s %7s %10s %10s %10s %10s %10s %7s %11s\n", "size", "method", "n", "min", "median",
               "mean", "p99", "p99.9", "x raw", "x raw-touch");
        for (size_t si = 0; si < ns; si++) {
            struct lat_stats med[MAX_METHODS];
            for (size_t mi = 0; mi < nm; mi++) {
                med[mi] = lat_median(&LAT(mi, si, 0), nr);
                struct bench_result_lat *x = &res_lat[mi * ns + si];
                if (x->state >= 0 && med[mi].ok) {
                    x->state = 1;
                    x->n = med[mi].n;
                    x->min = med[mi].min;
                    x->p50 = med[mi].p50;
                    x->mean = med[mi].mean;
                    x->p99 = med[mi].p99;
                    x->p999 = med[mi].p999;
                    for (unsigned r = 0; r < nr; r++)
                        x->runs_ok += LAT(mi, si, r).ok != 0;
                }
            }
            for (size_t mi = 0; mi < nm; mi++) {
                char sz[32], t1[24], t2[24], t3[24], t4[24], t5[24], rr[16] = "", rt[16] = "";
                const struct lat_stats *s = &med[mi];
                double ratio = NAN, ratio_t = NAN;
                if (s->ok && i_raw >= 0 && med[i_raw].ok)
                    ratio = s->p50 / med[i_raw].p50;
                if (s->ok && i_rawt >= 0 && med[i_rawt].ok)
                    ratio_t = s->p50 / med[i_rawt].p50;
                if (!isnan(ratio))
                    snprintf(rr, sizeof rr, "%.2f", ratio);
                if (!isnan(ratio_t))
                    snprintf(rt, sizeof rt, "%.2f", ratio_t);
                bench_fmt_size(cfg->sizes[si], sz, sizeof sz);
                if (SKIPPED(mi, si)) {
                    printf("%-8s %-18s %7s %10s\n", mi ? "" : sz, cfg->methods[mi]->name, "-", "skipped");
                } else if (!s->ok) {
                    printf("%-8s %-18s %7s %10s\n", mi ? "" : sz, cfg->methods[mi]->name, "-", "FAILED");
                } else {
                    printf("%-8s %-18s %7llu %10s %10s %10s %10s %10s %7s %11s\n", mi ? "" : sz,
                           cfg->methods[mi]->name, (unsigned long long)s->n, fmt_ns(s->min, t1, sizeof t1),
                           fmt_ns(s->p50, t2, sizeof t2), fmt_ns(s->mean, t5, sizeof t5), fmt_ns(s->p99, t3, sizeof t3),
                           fmt_ns(s->p999, t4, sizeof t4), rr, rt);
                }
                for (unsigned r = 0; r < nr; r++) {
                    char run[16];
                    snprintf(run, sizeof run, "%u", r + 1);
                    const struct lat_stats *x = &LAT(mi, si, r);
                    double rx = NAN;
                    if (x->ok && i_raw >= 0 && LAT(i_raw, si, r).ok)
                        rx = x->p50 / LAT(i_raw, si, r).p50;
                    csv_lat(csv, cfg->methods[mi]->name, cfg->sizes[si], run, x, rx);
                }
                csv_lat(csv, cfg->methods[mi]->name, cfg->sizes[si], "median", s, ratio);
                for (size_t t = 0; t < ntargets; t++) {
                    struct lat_target *tg = &targets[t];
                    if ((int)mi != tg->im || tg->ib < 0 || SKIPPED(mi, si) || SKIPPED(tg->ib, si))
                        continue;
                    if (!s->ok || !med[tg->ib].ok) {
                        tg->failed++;
                        continue;
                    }
                    double r = s->p50 / med[tg->ib].p50;
                    tg->compared++;
                    if (r > tg->worst) {
                        tg->worst = r;
                        tg->worst_size = cfg->sizes[si];
                    }
                }
            }
        }
        printf("\n");
    }

    double tp_med[MAX_METHODS];
    int have_tp[MAX_METHODS] = {0};
    if (cfg->throughput) {
        printf("64 B one-way streaming throughput (messages per second); median across %u runs\n\n", nr);
        printf("%-18s %12s %12s %12s %7s\n", "method", "median", "min", "max", "x raw");
        for (size_t mi = 0; mi < nm; mi++) {
            const struct bench_method *m = cfg->methods[mi];
            if (!m->stream || (m->touch & 1) || res_tp[mi].state < 0)
                continue;
            double v[MAX_RUNS];
            size_t k = 0;
            for (unsigned r = 0; r < nr; r++) {
                char run[16];
                snprintf(run, sizeof run, "%u", r + 1);
                if (TPOK(mi, r)) {
                    v[k++] = TP(mi, r);
                    if (csv)
                        fprintf(csv, "throughput,%s,64,%s,,,,,,,%.0f,%llu,\n", m->name, run, TP(mi, r),
                                (unsigned long long)tp_pre[mi * nr + r]);
                }
            }
            if (!k) {
                printf("%-18s %12s\n", m->name, "FAILED");
                continue;
            }
            tp_med[mi] = median_of(v, k);
            have_tp[mi] = 1;
        }
        for (size_t mi = 0; mi < nm; mi++) {
            if (!have_tp[mi])
                continue;
            double v[MAX_RUNS];
            size_t k = 0;
            for (unsigned r = 0; r < nr; r++) {
                if (TPOK(mi, r))
                    v[k++] = TP(mi, r);
            }
            qsort(v, k, sizeof *v, cmp_double);
            res_tp[mi].state = 1;
            res_tp[mi].median = tp_med[mi];
            res_tp[mi].min = v[0];
            res_tp[mi].max = v[k - 1];
            char a[24], b[24], c[24], rr[16] = "";
            double ratio = NAN;
            if (i_raw >= 0 && have_tp[i_raw])
                ratio = tp_med[mi] / tp_med[i_raw];
            if (!isnan(ratio))
                snprintf(rr, sizeof rr, "%.2f", ratio);
            printf("%-18s %12s %12s %12s %7s\n", cfg->methods[mi]->name, fmt_rate(tp_med[mi], a, sizeof a),
                   fmt_rate(v[0], b, sizeof b), fmt_rate(v[k - 1], c, sizeof c), rr);
            if (csv) {
                fprintf(csv, "throughput,%s,64,median,,,,,,,%.0f,,", cfg->methods[mi]->name, tp_med[mi]);
                if (isnan(ratio))
                    fprintf(csv, "\n");
                else
                    fprintf(csv, "%.3f\n", ratio);
            }
        }
        printf("\n");
    }

    printf("Targets\n");
    char sz[32];
    for (size_t t = 0; cfg->latency && t < ntargets; t++) {
        const struct lat_target *tg = &targets[t];
        if (!tg->compared && !tg->failed)
            continue;
        /* Sizes a method does not support (skipped) do not count against it;
         * a failed measurement does. */
        printf("  %s %s (worst %.2fx at %s, %d size%s%s)\n", tg->text,
               tg->worst <= tg->bound && !tg->failed ? "HOLDS" : "MISSED", tg->worst,
               bench_fmt_size(tg->worst_size, sz, sizeof sz), tg->compared, tg->compared == 1 ? "" : "s",
               tg->failed ? ", some failed" : "");
    }
    if (cfg->throughput && i_ferry >= 0 && have_tp[i_ferry]) {
        double f = tp_med[i_ferry];
        double rr = i_raw >= 0 && have_tp[i_raw] ? f / tp_med[i_raw] : NAN;
        char a[24];
        int holds = f >= 10e6 || (!isnan(rr) && rr >= 0.5);
        printf("  ferry 64 B streaming >= 10 M msg/s or >= 0.5x the raw ring:     %s (%s", holds ? "HOLDS" : "MISSED",
               fmt_rate(f, a, sizeof a));
        if (!isnan(rr))
            printf(", %.2fx raw", rr);
        printf(")\n");
    }
    printf("\nDisturbance\n");
    printf("  %u of %u measurements were preempted and waited for a CPU more than 1%% of their timed\n"
           "  part (another task ran on a benchmark CPU; the worst waited %.1f%%)%s\n",
           disturbed, measured, 100.0 * worst_off, disturbed ? ": treat their figures with care" : "");
    if (steal >= 0)
        printf("  hypervisor steal time during the runs: %.2f CPU-s in %.1f s (%.1f%% of the machine)\n", steal,
               wall, wall > 0 ? 100.0 * steal / (wall * (double)sysconf(_SC_NPROCESSORS_ONLN)) : 0.0);
    if (failures)
        printf("  %d measurement(s) FAILED (see stderr); their runs are left out of the medians\n", failures);

    {
        struct bench_results res = {
            .methods = cfg->methods, .nm = nm, .sizes = cfg->sizes, .ns = ns, .runs = nr, .quick = cfg->quick,
            .latency = cfg->latency, .throughput = cfg->throughput, .cpu_a = cfg->cpu_a, .cpu_b = cfg->cpu_b,
            .iterations = cfg->iterations, .lat = res_lat, .tp = res_tp, .disturbed = disturbed,
            .measured = measured, .preempted = preempted_all, .steal_s = steal, .wall_s = wall,
        };
        if (cfg->json && bench_write_json(cfg->json, &res) != 0)
            failures++;
        if (cfg->chart && bench_write_chart(cfg->chart, &res) != 0)
            failures++;
        if (cfg->report && bench_write_report(cfg->report, &res, cfg->chart) != 0)
            failures++;
    }
    free(res_lat);
    free(res_tp);
#undef SKIPPED
    if (csv && fclose(csv) != 0) {
        fprintf(stderr, "%s: writing %s failed\n", g_prog, cfg->csv);
        failures++;
    }
    free(lat);
    free(tp);
    free(tp_ok);
    free(tp_pre);
#undef LAT
#undef TP
#undef TPOK
    return failures ? 1 : 0;
}

/* ---- --check ---------------------------------------------------------------- */

static int run_check(const struct config *cfg)
{
    static const struct {
        size_t size;
        uint64_t count;
    } plan[] = {{64, 300}, {100, 200}, {4096, 300}, {65536, 100}, {1024 * 1024, 20}};
    int failures = 0, total = 0;
    print_header(stdout, cfg, "# ");
    for (size_t mi = 0; mi < cfg->nmethods; mi++) {
        const struct bench_method *m = cfg->methods[mi];
        for (size_t pi = 0; pi < sizeof plan / sizeof plan[0]; pi++) {
            struct bench_job j;
            fill_job(cfg, &j, m, BENCH_PINGPONG, plan[pi].size);
            char why[200], szs[32];
            if (!bench_method_supports(m, &j.params, why, sizeof why)) {
                printf("skip %s ping-pong %s: %s\n", m->name, bench_fmt_size(plan[pi].size, szs, sizeof szs), why);
                continue;
            }
            j.warmup = 0;
            j.samples = plan[pi].count;
            j.batch = 1;
            struct bench_outcome o;
            char sz[32];
            int rc = bench_run(&j, &o);
            total++;
            printf("%s %s ping-pong %s x%llu%s%s\n", rc == 0 ? "ok  " : "FAIL", m->name,
                   bench_fmt_size(plan[pi].size, sz, sizeof sz), (unsigned long long)plan[pi].count, rc ? ": " : "",
                   rc ? o.error : "");
            failures += rc != 0;
            bench_outcome_free(&o);
        }
        if (!m->stream)
            continue;
        {
            struct bench_job j;
            fill_job(cfg, &j, m, BENCH_STREAM, 64);
            char why[200];
            if (!bench_method_supports(m, &j.params, why, sizeof why)) {
                printf("skip %s stream 64 B: %s\n", m->name, why);
                continue;
            }
        }
        /* A small queue so that the sender keeps running into a full one. */
        static const uint32_t queues[] = {1, 4};
        for (size_t qi = 0; qi < sizeof queues / sizeof queues[0]; qi++) {
            struct bench_job j;
            fill_job(cfg, &j, m, BENCH_STREAM, 64);
            j.params.queue = queues[qi];
            j.stream_count = 5000;
            struct bench_outcome o;
            int rc = bench_run(&j, &o);
            if (rc == 0 && o.messages != j.stream_count) {
                rc = -1;
                snprintf(o.error, sizeof o.error, "received %llu messages, sent %llu",
                         (unsigned long long)o.messages, (unsigned long long)j.stream_count);
            }
            total++;
            printf("%s %s stream 64 B x%llu queue %u%s%s\n", rc == 0 ? "ok  " : "FAIL", m->name,
                   (unsigned long long)j.stream_count, queues[qi], rc ? ": " : "", rc ? o.error : "");
            failures += rc != 0;
            bench_outcome_free(&o);
        }
    }
    printf("# %d of %d checks passed\n", total - failures, total);
    return failures ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argv[0] && strrchr(argv[0], '/'))
        g_prog = strrchr(argv[0], '/') + 1;
    else if (argv[0])
        g_prog = argv[0];

    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.iterations = 20000;
    cfg.min_iterations = 200;
    cfg.runs = 5;
    cfg.batch = 1;
    cfg.queue = 256;
    cfg.duration_s = 1.5;
    cfg.latency = cfg.throughput = 1;
    cfg.timeout_s = 300;
    cfg.cpu_a = -2;
    const char *methods = NULL, *sizes = NULL;
    int quick = 0;
    int set_iter = 0, set_min = 0, set_runs = 0, set_dur = 0;

    enum {
        O_METHODS = 256, O_SIZES, O_ITER, O_MINITER, O_RUNS, O_CORES, O_BATCH, O_DURATION, O_QUEUE,
        O_LATONLY, O_TPONLY, O_QUICK, O_CSV, O_TIMEOUT, O_CHECK, O_LIST, O_HELP, O_JSON, O_CHART, O_REPORT
    };
    static const struct option longopts[] = {
        {"methods", required_argument, NULL, O_METHODS},
        {"sizes", required_argument, NULL, O_SIZES},
        {"iterations", required_argument, NULL, O_ITER},
        {"min-iterations", required_argument, NULL, O_MINITER},
        {"runs", required_argument, NULL, O_RUNS},
        {"cores", required_argument, NULL, O_CORES},
        {"batch", required_argument, NULL, O_BATCH},
        {"duration", required_argument, NULL, O_DURATION},
        {"queue", required_argument, NULL, O_QUEUE},
        {"latency-only", no_argument, NULL, O_LATONLY},
        {"throughput-only", no_argument, NULL, O_TPONLY},
        {"quick", no_argument, NULL, O_QUICK},
        {"csv", required_argument, NULL, O_CSV},
        {"json", required_argument, NULL, O_JSON},
        {"chart", required_argument, NULL, O_CHART},
        {"report", required_argument, NULL, O_REPORT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"check", no_argument, NULL, O_CHECK},
        {"list", no_argument, NULL, O_LIST},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_METHODS:
            methods = optarg;
            break;
        case O_SIZES:
            sizes = optarg;
            break;
        case O_ITER:
            cfg.iterations = parse_u64(optarg, "--iterations");
            set_iter = 1;
            break;
        case O_MINITER:
            cfg.min_iterations = parse_u64(optarg, "--min-iterations");
            set_min = 1;
            break;
        case O_RUNS:
            cfg.runs = (unsigned)parse_u64(optarg, "--runs");
            set_runs = 1;
            break;
        case O_CORES:
            parse_cores(&cfg, optarg);
            break;
        case O_BATCH:
            cfg.batch = (uint32_t)parse_u64(optarg, "--batch");
            break;
        case O_DURATION: {
            char *end;
            cfg.duration_s = strtod(optarg, &end);
            if (end == optarg || *end || !(cfg.duration_s > 0) || cfg.duration_s > 3600)
                die("--duration: \"%s\" is not a number of seconds", optarg);
            set_dur = 1;
            break;
        }
        case O_QUEUE:
            cfg.queue = (uint32_t)parse_u64(optarg, "--queue");
            break;
        case O_LATONLY:
            cfg.throughput = 0;
            break;
        case O_TPONLY:
            cfg.latency = 0;
            break;
        case O_QUICK:
            quick = 1;
            break;
        case O_CSV:
            cfg.csv = optarg;
            break;
        case O_JSON:
            cfg.json = optarg;
            break;
        case O_CHART:
            cfg.chart = optarg;
            break;
        case O_REPORT:
            cfg.report = optarg;
            break;
        case O_TIMEOUT: {
            char *end;
            cfg.timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || !(cfg.timeout_s > 0))
                die("--timeout: \"%s\" is not a number of seconds", optarg);
            break;
        }
        case O_CHECK:
            cfg.check = 1;
            break;
        case O_LIST:
            for (size_t i = 0; bench_methods[i]; i++)
                printf("%-18s %s\n", bench_methods[i]->name, bench_methods[i]->summary);
            for (size_t i = 0; bench_methods_missing[i]; i++)
                printf("not built: %s\n", bench_methods_missing[i]);
            return 0;
        case 'h':
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        die("unexpected argument \"%s\" (see --help)", argv[optind]);
    if (!cfg.latency && !cfg.throughput)
        die("--latency-only and --throughput-only exclude each other");
    cfg.quick = quick;
    if (quick) {
        if (!sizes)
            sizes = "64,4K,64K,1M";
        if (!set_runs)
            cfg.runs = 3;
        if (!set_iter)
            cfg.iterations = 2000;
        if (!set_min)
            cfg.min_iterations = 50;
        if (!set_dur)
            cfg.duration_s = 0.4;
    }
    if (cfg.runs < 1 || cfg.runs > MAX_RUNS)
        die("--runs must be 1-%d", MAX_RUNS);
    if (cfg.iterations < 1)
        die("--iterations must be at least 1");
    if (cfg.batch < 1)
        die("--batch must be at least 1");
    if (cfg.queue < 1 || cfg.queue > 4096)
        die("--queue must be 1-4096");

    if (methods)
        parse_list(methods, add_method, &cfg);
    else
        for (size_t i = 0; bench_methods[i] && cfg.nmethods < MAX_METHODS; i++)
            cfg.methods[cfg.nmethods++] = bench_methods[i];
    if (!cfg.nmethods)
        die("--methods: empty list");
    parse_list(sizes ? sizes : "64,4K,64K,1M,8M", add_size, &cfg);
    if (!cfg.nsizes)
        die("--sizes: empty list");

    if (cfg.cpu_a == -2)
        default_cores(&cfg);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (cfg.cpu_a >= 0 && ncpu > 0 && (cfg.cpu_a >= CPU_SETSIZE || cfg.cpu_b >= CPU_SETSIZE))
        die("--cores: CPU number too large");
    if (cfg.cpu_a < 0 || cfg.cpu_a == cfg.cpu_b) {
        /* Both sides share a CPU: spinning without yielding would waste a
         * whole time slice per message. */
        bench_yield_every = 64;
        if (!cfg.check)
            fprintf(stderr, "%s: warning: both processes run on the same CPU; latencies are not "
                            "meaningful (use --cores A,B)\n",
                    g_prog);
    }
    if (cfg.check && cfg.timeout_s > 60)
        cfg.timeout_s = 60;

    bench_harness_init();
    return cfg.check ? run_check(&cfg) : run_benchmark(&cfg);
}
