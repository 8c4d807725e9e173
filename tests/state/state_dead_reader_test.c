/*
 * state_dead_reader_test: readers killed (SIGKILL) while holding a guard
 * (between ferry_state_read_begin and ferry_state_read_end).
 *
 * The writer (this process) never waits for readers and never overwrites a
 * buffer a live reader holds, so, with max_readers 4:
 *  - four reader processes each hold a different version; two of them are
 *    killed; the writer publishes 600 versions at once: every publish
 *    succeeds and the whole run takes well under a second; the two live
 *    readers still see exactly the bytes they held, intact;
 *  - ferry_cleanup frees the dead readers' slots: ferry_service_list then
 *    counts 1 writer and 2 readers, and new readers can open up to
 *    max_readers (and no further: FERRY_ELIMIT); with every slot held and
 *    every reader holding a guard the writer still publishes;
 *  - the same again with two more readers killed (second round).
 * Nothing of the domain is left in /dev/shm at the end.
 */
#include "st_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "state/dead-readers"
#define MAX_SIZE 4096u
#define MAX_READERS 4u
#define BURST 600

static st_writer writer;

static uint64_t publish(void)
{
    uint64_t v = 0;
    CHECK_OK(st_publish(&writer, ST_VALUE_MIN, MAX_SIZE, &v));
    return v;
}

/* Publishes BURST versions: each must succeed at once (the writer never waits). */
static void burst(const char *when)
{
    uint64_t t0 = ft_now_ns(), slowest = 0;
    for (int i = 0; i < BURST; i++) {
        uint64_t t = ft_now_ns();
        publish();
        uint64_t dt = ft_now_ns() - t;
        if (dt > slowest)
            slowest = dt;
    }
    double ms = st_ms_since(t0);
    printf("%s: %d versions in %.1f ms (slowest %.3f ms), now at %llu\n", when, BURST, ms, (double)slowest / 1e6,
           (unsigned long long)writer.version);
    CHECK_MSG(ms < 1000.0, "%s: %d publishes took %.1f ms: the writer waited", when, BURST, ms);
}

/* Starts a reader process that holds the current version; returns it. */
static uint64_t start_holder(ft_peer *p, const char *domain, const char *name)
{
    char line[512];
    st_peer_start(p, domain, name);
    ft_peer_ok(p, line, sizeof line, "reader %s size=%u readers=%u", SERVICE, MAX_SIZE, MAX_READERS);
    const char *r = ft_peer_ok(p, line, sizeof line, "hold %u %u", ST_VALUE_MIN, MAX_SIZE);
    unsigned long long v = 0;
    CHECK_MSG(sscanf(r, "%llu", &v) == 1 && v == writer.version, "%s holds%s, current is %llu", name, r,
              (unsigned long long)writer.version);
    return v;
}

static void expect_held(ft_peer *p, uint64_t version, const char *name)
{
    char line[512];
    const char *r = ft_peer_ok(p, line, sizeof line, "check");
    unsigned long long v = 0;
    CHECK_MSG(sscanf(r, "%llu", &v) == 1 && v == version, "%s: check%s, held %llu", name, r,
              (unsigned long long)version);
}

static void expect_counts(const char *domain, uint32_t readers, const char *when)
{
    st_counts c = st_service_counts(domain, SERVICE);
    CHECK_MSG(c.found, "%s: %s is not listed", when, SERVICE);
    CHECK_MSG(c.writers == 1 && c.readers == readers, "%s: listed with %u writer(s), %u reader(s); expected 1, %u",
              when, (unsigned)c.writers, (unsigned)c.readers, (unsigned)readers);
    CHECK_EQ(c.opts.max_readers, MAX_READERS);
    CHECK_EQ(c.opts.max_size, MAX_SIZE);
}

/* With the two live holders in place: opens readers here up to max_readers,
 * each holding a guard; one more is refused; the writer still publishes and
 * every guard keeps its bytes; then they are closed again. */
static void fill_up(ferry_node *node, ft_peer *live, const uint64_t *live_v, const char *when)
{
    ferry_state_opts opts = st_opts(MAX_SIZE, MAX_READERS, NULL);
    ferry_state_reader *mine[MAX_READERS];
    const void *data[MAX_READERS];
    size_t size[MAX_READERS];
    uint64_t ver[MAX_READERS];
    unsigned n = 0;
    for (; n < MAX_READERS - 2; n++) {
        CHECK_OK(ferry_state_reader_open(&mine[n], node, SERVICE, &opts));
        publish();
        CHECK_OK(ferry_state_read_begin(mine[n], &data[n], &size[n], &ver[n]));
        CHECK_EQ(ver[n], writer.version);
    }
    ferry_state_reader *extra = NULL;
    CHECK_RC(ferry_state_reader_open(&extra, node, SERVICE, &opts), FERRY_ELIMIT);
    CHECK(extra == NULL);
    expect_counts(ferry_node_domain(node), MAX_READERS, when);
    burst(when);
    char why[256];
    for (unsigned i = 0; i < n; i++) {
        CHECK_MSG(st_value_check(data[i], size[i], ver[i], why, sizeof why), "%s: reader %u's guard of version %llu: %s",
                  when, i, (unsigned long long)ver[i], why);
        ferry_state_read_end(mine[i]);
        CHECK_LAST_ERROR(FERRY_OK);
        ferry_state_reader_close(mine[i]);
    }
    expect_held(&live[0], live_v[0], "live reader 0");
    expect_held(&live[1], live_v[1], "live reader 1");
}

int main(void)
{
    ft_init("state_dead_reader_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stdead");
    ferry_node *node = ft_node_open(domain, "writer");
    ferry_state_opts opts = st_opts(MAX_SIZE, MAX_READERS, NULL);
    CHECK_OK(st_writer_open(&writer, node, SERVICE, &opts));
    CHECK_EQ(writer.version, 0);
    publish();

    /* ---- round 1: four holders, two killed ---- */
    ft_peer live[2], doomed[2];
    uint64_t live_v[2], doomed_v[2];
    doomed_v[0] = start_holder(&doomed[0], domain, "doomed0");
    publish();
    live_v[0] = start_holder(&live[0], domain, "live0");
    publish();
    doomed_v[1] = start_holder(&doomed[1], domain, "doomed1");
    publish();
    live_v[1] = start_holder(&live[1], domain, "live1");
    CHECK(doomed_v[0] < live_v[0] && live_v[0] < doomed_v[1] && doomed_v[1] < live_v[1]);
    expect_counts(domain, 4, "four holders");
    ft_peer_kill(&doomed[0]);
    ft_peer_kill(&doomed[1]);

    burst("round 1, two holders killed");
    expect_held(&live[0], live_v[0], "live reader 0");
    expect_held(&live[1], live_v[1], "live reader 1");

    unsigned removed = 0;
    CHECK_OK(ferry_cleanup(domain, &removed));
    CHECK_MSG(removed >= 2, "ferry_cleanup removed %u objects; the two dead nodes left theirs", removed);
    expect_counts(domain, 2, "round 1, after ferry_cleanup");
    fill_up(node, live, live_v, "round 1, slots refilled");

    /* The live readers move on to a newer version. */
    char line[512];
    for (int i = 0; i < 2; i++) {
        ft_peer_ok(&live[i], line, sizeof line, "end");
        publish();
        const char *r = ft_peer_ok(&live[i], line, sizeof line, "hold %u %u", ST_VALUE_MIN, MAX_SIZE);
        unsigned long long v = 0;
        CHECK_MSG(sscanf(r, "%llu", &v) == 1 && v == writer.version, "live reader %d holds%s", i, r);
        live_v[i] = v;
    }

    /* ---- round 2: two new holders killed ---- */
    publish();
    doomed_v[0] = start_holder(&doomed[0], domain, "doomed2");
    publish();
    doomed_v[1] = start_holder(&doomed[1], domain, "doomed3");
    expect_counts(domain, 4, "round 2, four holders");
    ft_peer_kill(&doomed[1]);
    ft_peer_kill(&doomed[0]);
    burst("round 2, two holders killed");
    expect_held(&live[0], live_v[0], "live reader 0");
    expect_held(&live[1], live_v[1], "live reader 1");
    CHECK_OK(ferry_cleanup(domain, &removed));
    CHECK_MSG(removed >= 2, "ferry_cleanup removed %u objects; the two dead nodes left theirs", removed);
    expect_counts(domain, 2, "round 2, after ferry_cleanup");
    fill_up(node, live, live_v, "round 2, slots refilled");

    /* The live readers end their guards and read the latest version. */
    for (int i = 0; i < 2; i++) {
        ft_peer_ok(&live[i], line, sizeof line, "end");
        const char *r = ft_peer_ok(&live[i], line, sizeof line, "read %u %u", ST_VALUE_MIN, MAX_SIZE);
        unsigned long long v = 0;
        CHECK_MSG(sscanf(r, "%llu", &v) == 1 && v == writer.version, "live reader %d read%s, latest %llu", i, r,
                  (unsigned long long)writer.version);
        ft_peer_finish(&live[i]);
    }
    ferry_state_writer_close(writer.w);
    st_finish_domain(domain, node);
    return ft_pass();
}
