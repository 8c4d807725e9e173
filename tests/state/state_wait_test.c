/*
 * state_wait_test: ferry_state_wait.
 *  - a version newer than asked for is already there: FERRY_OK at once;
 *    timeout 0 with nothing newer: FERRY_ETIMEDOUT at once;
 *  - the writer process publishes 50 ms after the wait began: FERRY_OK,
 *    after ~50 ms, and the new version can be read;
 *  - nothing published: FERRY_ETIMEDOUT after the timeout (100 ms), not
 *    much later;
 *  - the writer process is killed (SIGKILL) during the wait:
 *    FERRY_EDISCONNECTED within ~1 s; a second reader, opened while that
 *    writer lived, gets FERRY_EDISCONNECTED too;
 *  - the writer closes cleanly during the wait: FERRY_EDISCONNECTED, fast;
 *  - a new writer: waits succeed again.
 * Readers opened before the writer: state_wait_early_reader_test.
 */
#include "st_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "state/wait"
#define MAX_SIZE 256u
#define MS 1000000ll

static ferry_state_opts opts;
static char line[1024];

static int timed_wait(ferry_state_reader *r, uint64_t newer_than, int64_t timeout_ms, double *ms)
{
    uint64_t t0 = ft_now_ns();
    int rc = ferry_state_wait(r, newer_than, timeout_ms < 0 ? FERRY_FOREVER : timeout_ms * MS);
    *ms = st_ms_since(t0);
    return rc;
}

static uint64_t start_writer(ft_peer *w, const char *domain, uint64_t expect_base)
{
    st_peer_start(w, domain, "writer");
    const char *r = ft_peer_ok(w, line, sizeof line, "writer %s size=%u readers=4", SERVICE, MAX_SIZE);
    unsigned long long base = 0;
    CHECK_MSG(sscanf(r, "%llu", &base) == 1 && base == expect_base, "writer opened at%s, expected %llu", r,
              (unsigned long long)expect_base);
    r = ft_peer_ok(w, line, sizeof line, "publish 1 %u %u", ST_VALUE_MIN, MAX_SIZE);
    unsigned long long v = 0;
    CHECK_MSG(sscanf(r, "%llu", &v) == 1 && v == base + 1, "publish gave%s", r);
    return v;
}

int main(void)
{
    ft_init("state_wait_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stwait");
    opts = st_opts(MAX_SIZE, 4, NULL);
    ferry_node *node = ft_node_open(domain, "main");
    double ms = 0;

    ferry_state_reader *r1 = NULL;
    CHECK_OK(ferry_state_reader_open(&r1, node, SERVICE, &opts));
    CHECK_RC(timed_wait(r1, 0, 0, &ms), FERRY_ETIMEDOUT); /* nothing published, no writer */

    ft_peer w;
    uint64_t v = start_writer(&w, domain, 0);
    CHECK_EQ(v, 1);

    /* ---- already there / only checking ---- */
    CHECK_RC(timed_wait(r1, 0, 5000, &ms), FERRY_OK);
    CHECK_MSG(ms < 100, "a wait for what is there took %.1f ms", ms);
    CHECK_RC(timed_wait(r1, 1, 0, &ms), FERRY_ETIMEDOUT);
    CHECK_MSG(ms < 100, "a wait with timeout 0 took %.1f ms", ms);
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, NULL), 1);

    /* ---- published during the wait ---- */
    ft_peer_ok(&w, line, sizeof line, "after 50 publish 1 %u %u", ST_VALUE_MIN, MAX_SIZE);
    int rc = timed_wait(r1, 1, 5000, &ms);
    CHECK_OK(rc);
    printf("published after 50 ms: woke after %.1f ms\n", ms);
    CHECK_MSG(ms >= 30 && ms < 2000, "woke after %.1f ms", ms);
    const char *r = st_peer_later_ok(&w, line, sizeof line, 5000);
    CHECK_MSG(strcmp(r, " 2") == 0, "the delayed publish gave%s", r);
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, NULL), 2);

    /* ---- timeout ---- */
    rc = timed_wait(r1, 2, 100, &ms);
    CHECK_RC(rc, FERRY_ETIMEDOUT);
    printf("timeout 100 ms: returned after %.1f ms\n", ms);
    CHECK_MSG(ms >= 99 && ms < 1000, "a 100 ms timeout returned after %.1f ms", ms);

    /* ---- the writer is killed ---- */
    ferry_state_reader *r2 = NULL;
    CHECK_OK(ferry_state_reader_open(&r2, node, SERVICE, &opts));
    ft_peer_ok(&w, line, sizeof line, "die 50");
    rc = timed_wait(r1, 2, 5000, &ms);
    printf("writer killed 50 ms into the wait: %d (%s) after %.1f ms\n", rc, ferry_strerror(rc), ms);
    CHECK_RC(rc, FERRY_EDISCONNECTED);
    CHECK_MSG(ms < 1050, "the dead writer was reported after %.1f ms", ms);
    ft_peer_wait_killed(&w, FT_WAIT_MS);
    rc = timed_wait(r2, 2, 3000, &ms);
    CHECK_RC(rc, FERRY_EDISCONNECTED);
    CHECK_MSG(ms < 1000, "the second reader learnt of the dead writer after %.1f ms", ms);
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, NULL), 2); /* the last version stays */
    ferry_state_reader_close(r2);

    /* ---- a new writer; then it closes cleanly ---- */
    v = start_writer(&w, domain, 2);
    CHECK_EQ(v, 3);
    ft_peer_ok(&w, line, sizeof line, "after 50 publish 1 %u %u", ST_VALUE_MIN, MAX_SIZE);
    CHECK_RC(timed_wait(r1, 3, 5000, &ms), FERRY_OK);
    st_peer_later_ok(&w, line, sizeof line, 5000);
    CHECK_EQ(st_read_ok(r1, ST_VALUE_MIN, MAX_SIZE, NULL), 4);
    ft_peer_ok(&w, line, sizeof line, "after 50 close_writer");
    rc = timed_wait(r1, 4, 5000, &ms);
    printf("writer closed 50 ms into the wait: %d (%s) after %.1f ms\n", rc, ferry_strerror(rc), ms);
    CHECK_RC(rc, FERRY_EDISCONNECTED);
    CHECK_MSG(ms < 1000, "the closed writer was reported after %.1f ms", ms);
    st_peer_later_ok(&w, line, sizeof line, 5000);
    ft_peer_finish(&w);

    ferry_state_reader_close(r1);
    st_finish_domain(domain, node);
    return ft_pass();
}
