/* ferry-bench: JSON, chart and markdown outputs; see output.h. */
#include "output.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/ferry.h"

#define LATR(r, mi, si) (&(r)->lat[(mi) * (r)->ns + (si)])

static void first_match(const char *path, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) != 0)
            continue;
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, n, "%s", v);
        break;
    }
    fclose(f);
}

struct machine {
    char cpu[256];
    char kernel[256];
    long ncpu;
};

static void machine_get(struct machine *m)
{
    first_match("/proc/cpuinfo", "model name", m->cpu, sizeof m->cpu);
    if (!m->cpu[0])
        snprintf(m->cpu, sizeof m->cpu, "unknown CPU");
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof m->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    else
        snprintf(m->kernel, sizeof m->kernel, "unknown");
    m->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
}

static int is_ferry(const struct bench_method *m) { return strncmp(m->name, "ferry", 5) == 0; }

static int find_raw(const struct bench_results *r)
{
    for (size_t i = 0; i < r->nm; i++) {
        if (!strcmp(r->methods[i]->name, "raw"))
            return (int)i;
    }
    return -1;
}

static double ratio_to_raw(const struct bench_results *r, size_t mi, size_t si)
{
    int raw = find_raw(r);
    const struct bench_result_lat *s = LATR(r, mi, si);
    if (raw < 0 || s->state != 1 || LATR(r, (size_t)raw, si)->state != 1 || !(LATR(r, (size_t)raw, si)->p50 > 0))
        return NAN;
    return s->p50 / LATR(r, (size_t)raw, si)->p50;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.1f", v);
}

int bench_write_json(const char *path, const struct bench_results *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ferry-bench: --json: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct machine m;
    machine_get(&m);
    fprintf(f, "{\n  \"tool\": \"ferry-bench\",\n  \"ferry_version\": ");
    json_str(f, ferry_version());
    fprintf(f, ",\n  \"machine\": {\"cpu\": ");
    json_str(f, m.cpu);
    fprintf(f, ", \"kernel\": ");
    json_str(f, m.kernel);
    fprintf(f, ", \"cpus_online\": %ld, \"cpu_a\": %d, \"cpu_b\": %d},\n", m.ncpu, r->cpu_a, r->cpu_b);
    fprintf(f, "  \"runs\": %u,\n  \"quick\": %s,\n", r->runs, r->quick ? "true" : "false");
    fprintf(f, "  \"noise\": {\"disturbed_measurements\": %u, \"measurements\": %u, "
               "\"involuntary_context_switches\": %llu, \"steal_seconds\": ",
            r->disturbed, r->measured, (unsigned long long)r->preempted);
    json_num(f, r->steal_s);
    fprintf(f, ", \"wall_seconds\": ");
    json_num(f, r->wall_s);
    fprintf(f, "},\n  \"methods\": [");
    for (size_t mi = 0; mi < r->nm; mi++) {
        fprintf(f, "%s\n    {\"name\": ", mi ? "," : "");
        json_str(f, r->methods[mi]->name);
        fprintf(f, ", \"summary\": ");
        json_str(f, r->methods[mi]->summary);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"latency\": [");
    int first = 1;
    for (size_t si = 0; r->latency && si < r->ns; si++) {
        for (size_t mi = 0; mi < r->nm; mi++) {
            const struct bench_result_lat *s = LATR(r, mi, si);
            fprintf(f, "%s\n    {\"method\": ", first ? "" : ",");
            first = 0;
            json_str(f, r->methods[mi]->name);
            fprintf(f, ", \"size_bytes\": %zu, \"status\": \"%s\"", r->sizes[si],
                    s->state == 1 ? "ok" : s->state < 0 ? "skipped" : "failed");
            if (s->state == 1) {
                fprintf(f, ", \"samples\": %llu, \"runs_ok\": %u, \"min_ns\": ", (unsigned long long)s->n,
                        s->runs_ok);
                json_num(f, s->min);
                fprintf(f, ", \"median_ns\": ");
                json_num(f, s->p50);
                fprintf(f, ", \"mean_ns\": ");
                json_num(f, s->mean);
                fprintf(f, ", \"p99_ns\": ");
                json_num(f, s->p99);
                fprintf(f, ", \"p999_ns\": ");
                json_num(f, s->p999);
                double rr = ratio_to_raw(r, mi, si);
                fprintf(f, ", \"ratio_to_raw\": ");
                if (isnan(rr))
                    fputs("null", f);
                else
                    fprintf(f, "%.3f", rr);
            } else if (s->why[0]) {
                fprintf(f, ", \"reason\": ");
                json_str(f, s->why);
            }
            fprintf(f, "}");
        }
    }
    fprintf(f, "\n  ],\n  \"throughput_64B\": [");
    first = 1;
    for (size_t mi = 0; r->throughput && mi < r->nm; mi++) {
        const struct bench_result_tp *t = &r->tp[mi];
        if (t->state < 0)
            continue;
        fprintf(f, "%s\n    {\"method\": ", first ? "" : ",");
        first = 0;
        json_str(f, r->methods[mi]->name);
        if (t->state == 1)
            fprintf(f, ", \"status\": \"ok\", \"median_msgs_per_s\": %.0f, \"min_msgs_per_s\": %.0f, "
                       "\"max_msgs_per_s\": %.0f}",
                    t->median, t->min, t->max);
        else
            fprintf(f, ", \"status\": \"failed\"}");
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "ferry-bench: --json: writing %s failed\n", path);
        return -1;
    }
    return 0;
}

/* ---- chart ------------------------------------------------------------------ */

static int have_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char *copy = strdup(path);
    if (!copy)
        return 0;
    int found = 0;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/gnuplot", *d ? d : ".");
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

static const char *const palette[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                      "#bcbd22", "#17becf", "#ff7f0e", "#aec7e8", "#98df8a", "#c5b0d5",
                                      "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5"};
static const char *const ferry_palette[] = {"#d62728", "#ff2a2a", "#b30000", "#ff6f00", "#e6550d", "#a50f15"};

static void chart_script(FILE *g, const struct bench_results *r, const char *prefix, int png)
{
    struct machine m;
    machine_get(&m);
    if (png)
        fprintf(g, "set terminal pngcairo size 1400,900 font 'sans,10'\nset output '%s.png'\n", prefix);
    else
        fprintf(g, "set terminal svg size 1400,900 dynamic font 'sans,11'\nset output '%s.svg'\n", prefix);
    fprintf(g, "set title \"ferry-bench: median one-way latency (ping-pong / 2), median of %u runs\\n%s, %s\" "
               "noenhanced\n",
            r->runs, m.cpu, m.kernel);
    fprintf(g, "set logscale xy\nset xlabel 'message size (bytes)'\nset ylabel 'one-way latency (ns)'\n"
               "set grid xtics ytics mytics\nset key outside right top noenhanced\n"
               "set format y '%%.0s%%c'\nset xtics (");
    for (size_t si = 0; si < r->ns; si++) {
        size_t v = r->sizes[si];
        char lab[32];
        if (v >= 1048576 && v % 1048576 == 0)
            snprintf(lab, sizeof lab, "%zu MiB", v / 1048576);
        else if (v >= 1024 && v % 1024 == 0)
            snprintf(lab, sizeof lab, "%zu KiB", v / 1024);
        else
            snprintf(lab, sizeof lab, "%zu B", v);
        fprintf(g, "%s'%s' %zu", si ? ", " : "", lab, v);
    }
    fprintf(g, ")\n");
    /* One data block per method. */
    size_t plotted = 0;
    for (size_t mi = 0; mi < r->nm; mi++) {
        fprintf(g, "$m%zu << EOD\n", mi);
        for (size_t si = 0; si < r->ns; si++) {
            const struct bench_result_lat *s = LATR(r, mi, si);
            if (s->state == 1 && s->p50 > 0)
                fprintf(g, "%zu %.1f\n", r->sizes[si], s->p50);
        }
        fprintf(g, "EOD\n");
    }
    fprintf(g, "plot ");
    size_t nf = 0, no = 0;
    for (size_t mi = 0; mi < r->nm; mi++) {
        int any = 0;
        for (size_t si = 0; si < r->ns; si++)
            any |= LATR(r, mi, si)->state == 1;
        if (!any)
            continue;
        const struct bench_method *me = r->methods[mi];
        if (plotted++)
            fprintf(g, ", \\\n     ");
        if (is_ferry(me))
            fprintf(g, "$m%zu using 1:2 with linespoints lw 3.5 pt 7 ps 1.2 lc rgb '%s' title '%s'", mi,
                    ferry_palette[nf++ % (sizeof ferry_palette / sizeof *ferry_palette)], me->name);
        else if (!strcmp(me->name, "raw") || !strcmp(me->name, "raw-touch"))
            fprintf(g, "$m%zu using 1:2 with linespoints lw 2 dt 2 pt 6 lc rgb 'black' title '%s'", mi, me->name);
        else
            fprintf(g, "$m%zu using 1:2 with linespoints lw 1 dt 3 pt %zu lc rgb '%s' title '%s'", mi,
                    1 + no % 12, palette[no % (sizeof palette / sizeof *palette)], me->name), no++;
    }
    fprintf(g, "\nunset output\n");
}

int bench_write_chart(const char *prefix, const struct bench_results *r)
{
    if (!r->latency) {
        fprintf(stderr, "ferry-bench: --chart: no latency was measured (--throughput-only); no chart\n");
        return 0;
    }
    if (!have_gnuplot()) {
        fprintf(stderr, "ferry-bench: --chart: gnuplot is not installed, so no chart was drawn (Debian/Ubuntu: "
                        "sudo apt-get install gnuplot-nox; the JSON/CSV hold the numbers)\n");
        return 0;
    }
    int rc = 0;
    for (int png = 0; png < 2; png++) {
        fflush(stdout);
        fflush(stderr);
        FILE *g = popen("gnuplot", "w");
        if (!g) {
            fprintf(stderr, "ferry-bench: --chart: cannot run gnuplot: %s\n", strerror(errno));
            return -1;
        }
        chart_script(g, r, prefix, png);
        int st = pclose(g);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "ferry-bench: --chart: gnuplot failed writing %s.%s\n", prefix, png ? "png" : "svg");
            rc = -1;
        }
    }
    if (rc == 0)
        printf("chart: %s.svg, %s.png\n", prefix, prefix);
    return rc;
}

/* ---- markdown report ---------------------------------------------------------- */

const char *bench_fmt_size(size_t v, char *buf, size_t n)
{
    if (v >= 1048576 && v % 1048576 == 0)
        snprintf(buf, n, "%zu MiB", v / 1048576);
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(buf, n, "%zu KiB", v / 1024);
    else
        snprintf(buf, n, "%zu B", v);
    return buf;
}

static const char *fmt_ns(double ns, char *buf, size_t n)
{
    if (ns < 1e3)
        snprintf(buf, n, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, n, "%.2f us", ns / 1e3);
    else
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    return buf;
}

int bench_write_report(const char *path, const struct bench_results *r, const char *chart_prefix)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ferry-bench: --report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct machine m;
    machine_get(&m);
    fprintf(f, "# ferry-bench report\n\n");
    fprintf(f, "- ferry %s, ferry-bench%s, %u runs interleaved across methods, medians across runs\n",
            ferry_version(), r->quick ? " --quick" : "", r->runs);
    fprintf(f, "- CPU: %s, %ld CPUs online\n", m.cpu, m.ncpu);
    fprintf(f, "- kernel: %s\n", m.kernel);
    if (r->cpu_a < 0)
        fprintf(f, "- cores used: unpinned\n");
    else
        fprintf(f, "- cores used: A (initiator/sender) on CPU %d, B (echo/receiver) on CPU %d\n", r->cpu_a, r->cpu_b);
    fprintf(f, "- noise: %u of %u measurements had involuntary context switches while timing (%llu in all)",
            r->disturbed, r->measured, (unsigned long long)r->preempted);
    if (r->steal_s >= 0)
        fprintf(f, "; hypervisor steal time %.2f CPU-s in %.1f s (%.1f%% of the machine)", r->steal_s, r->wall_s,
                r->wall_s > 0 && m.ncpu > 0 ? 100.0 * r->steal_s / (r->wall_s * (double)m.ncpu) : 0.0);
    else
        fprintf(f, "; steal time unknown (not in /proc/stat)");
    fprintf(f, "\n\n");
    if (chart_prefix) {
        const char *base = strrchr(chart_prefix, '/');
        fprintf(f, "![median one-way latency](%s.svg)\n\n", base ? base + 1 : chart_prefix);
    }
    if (r->latency) {
        fprintf(f, "## One-way latency (median across runs; in brackets: x `raw`)\n\n| method |");
        char b[40], c[40];
        for (size_t si = 0; si < r->ns; si++)
            fprintf(f, " %s |", bench_fmt_size(r->sizes[si], b, sizeof b));
        fprintf(f, "\n|---|");
        for (size_t si = 0; si < r->ns; si++)
            fprintf(f, "---:|");
        fprintf(f, "\n");
        for (size_t mi = 0; mi < r->nm; mi++) {
            int fe = is_ferry(r->methods[mi]);
            fprintf(f, "| %s%s%s |", fe ? "**" : "", r->methods[mi]->name, fe ? "**" : "");
            for (size_t si = 0; si < r->ns; si++) {
                const struct bench_result_lat *s = LATR(r, mi, si);
                if (s->state == 1) {
                    double rr = ratio_to_raw(r, mi, si);
                    if (isnan(rr))
                        fprintf(f, " %s |", fmt_ns(s->p50, b, sizeof b));
                    else
                        fprintf(f, " %s (%.1fx) |", fmt_ns(s->p50, b, sizeof b), rr);
                } else {
                    fprintf(f, " %s |", s->state < 0 ? "skipped" : "FAILED");
                }
            }
            fprintf(f, "\n");
        }
        int any = 0;
        for (size_t mi = 0; mi < r->nm; mi++) {
            for (size_t si = 0; si < r->ns; si++) {
                const struct bench_result_lat *s = LATR(r, mi, si);
                if (s->state < 0 && s->why[0]) {
                    if (!any++)
                        fprintf(f, "\nSkipped:\n\n");
                    fprintf(f, "- %s at %s: %s\n", r->methods[mi]->name, bench_fmt_size(r->sizes[si], c, sizeof c),
                            s->why);
                }
            }
        }
        fprintf(f, "\n");
    }
    if (r->throughput) {
        fprintf(f, "## 64 B one-way streaming throughput (median across runs)\n\n| method | msgs/s | min | max |\n"
                   "|---|---:|---:|---:|\n");
        for (size_t mi = 0; mi < r->nm; mi++) {
            const struct bench_result_tp *t = &r->tp[mi];
            if (t->state < 0)
                continue;
            if (t->state == 0)
                fprintf(f, "| %s | FAILED | | |\n", r->methods[mi]->name);
            else
                fprintf(f, "| %s | %.3g M | %.3g M | %.3g M |\n", r->methods[mi]->name, t->median / 1e6,
                        t->min / 1e6, t->max / 1e6);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "## Methods\n\n");
    for (size_t mi = 0; mi < r->nm; mi++)
        fprintf(f, "- `%s`: %s\n", r->methods[mi]->name, r->methods[mi]->summary);
    for (size_t i = 0; bench_methods_missing[i]; i++)
        fprintf(f, "- not measured: %s\n", bench_methods_missing[i]);
    if (fclose(f) != 0) {
        fprintf(stderr, "ferry-bench: --report: writing %s failed\n", path);
        return -1;
    }
    return 0;
}
