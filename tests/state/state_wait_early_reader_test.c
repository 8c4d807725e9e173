/*
 * state_wait_early_reader_test: a reader that opened before the writer
 * existed learns of that writer's death too.
 *
 * Readers usually start first. Such a reader reads the writer's version
 * (without calling ferry_state_wait while the writer lives); the writer is
 * killed; the dead writer's slot is then taken back by someone else, as
 * ferry_node_open, ferry_node_close, ferry_cleanup or another reader's wait
 * do. The reader then waits for a newer version: the writer went away, so
 * FERRY_EDISCONNECTED is expected within ~1 s (not FERRY_ETIMEDOUT, and
 * with FERRY_FOREVER not a wait without end):
 *  A. another reader's wait noticed the death first;
 *  B. ferry_cleanup took the slot back first;
 *  C. the writer closed cleanly (no death to notice).
 * A control reader that opened while the writer lived is checked the same
 * way in each case.
 */
#include "st_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "state/wait-early"
#define MAX_SIZE 256u
#define MS 1000000ll

static ferry_state_opts opts;
static char line[1024];
static ferry_node *node;

static int timed_wait(ferry_state_reader *r, uint64_t newer_than, int64_t timeout_ms, double *ms)
{
    uint64_t t0 = ft_now_ns();
    int rc = ferry_state_wait(r, newer_than, timeout_ms * MS);
    *ms = st_ms_since(t0);
    return rc;
}

static ferry_state_reader *open_reader(void)
{
    ferry_state_reader *r = NULL;
    CHECK_OK(ferry_state_reader_open(&r, node, SERVICE, &opts));
    return r;
}

static char failures[2048];

/* Every case runs; the failures are reported together at the end. */
static void expect_disconnected(ferry_state_reader *r, uint64_t newer_than, const char *who, const char *when)
{
    double ms = 0;
    int rc = timed_wait(r, newer_than, 2000, &ms);
    printf("%s: %s: %d (%s) after %.1f ms\n", when, who, rc, ferry_strerror(rc), ms);
    if (rc != FERRY_EDISCONNECTED || ms >= 1000) {
        size_t n = strlen(failures);
        snprintf(failures + n, sizeof failures - n,
                 "\n    %s: the %s waited for a version newer than %llu: %d (%s) after %.1f ms", when, who,
                 (unsigned long long)newer_than, rc, ferry_strerror(rc), ms);
    }
}

/* Starts a writer process that publishes one version; returns it. */
static uint64_t start_writer(ft_peer *w, const char *domain)
{
    st_peer_start(w, domain, "writer");
    ft_peer_ok(w, line, sizeof line, "writer %s size=%u readers=8", SERVICE, MAX_SIZE);
    const char *r = ft_peer_ok(w, line, sizeof line, "publish 1 %u %u", ST_VALUE_MIN, MAX_SIZE);
    unsigned long long v = 0;
    CHECK_MSG(sscanf(r, "%llu", &v) == 1, "publish gave%s", r);
    return v;
}

int main(void)
{
    ft_init("state_wait_early_reader_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stwearly");
    opts = st_opts(MAX_SIZE, 8, NULL);
    node = ft_node_open(domain, "main");
    ferry_state_reader *keeper = open_reader(); /* keeps the service alive between the cases */
    const char *cases[] = {"A. another reader noticed first", "B. ferry_cleanup first", "C. clean close"};
    for (int c = 0; c < 3; c++) {
        ferry_state_reader *early = open_reader(); /* before the writer */
        ferry_state_reader *watcher = open_reader();
        ft_peer w;
        uint64_t v = start_writer(&w, domain);
        ferry_state_reader *control = open_reader(); /* while the writer lives */
        CHECK_EQ(st_read_ok(early, ST_VALUE_MIN, MAX_SIZE, NULL), v);
        CHECK_EQ(st_read_ok(control, ST_VALUE_MIN, MAX_SIZE, NULL), v);
        if (c == 0) {
            ft_peer_ok(&w, line, sizeof line, "die 20");
            expect_disconnected(watcher, v, "reader that waited", cases[c]);
            ft_peer_wait_killed(&w, FT_WAIT_MS);
        } else if (c == 1) {
            ft_peer_kill(&w);
            CHECK_OK(ferry_cleanup(domain, NULL));
        } else {
            ft_peer_ok(&w, line, sizeof line, "close_writer");
            ft_peer_finish(&w);
        }
        expect_disconnected(control, v, "reader opened while the writer lived", cases[c]);
        expect_disconnected(early, v, "reader opened before the writer", cases[c]);
        ferry_state_reader_close(control);
        ferry_state_reader_close(watcher);
        ferry_state_reader_close(early);
    }
    ferry_state_reader_close(keeper);
    st_finish_domain(domain, node);
    CHECK_MSG(failures[0] == '\0', "the writer was gone; expected FERRY_EDISCONNECTED within 1 s:%s", failures);
    return ft_pass();
}
