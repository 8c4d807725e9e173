/*
 * state_persist_order_test: versions never go backwards and every
 * published version is saved, whatever order the ports of a persisted
 * service open in.
 *
 * A value was saved earlier (version 5). Then, on a fresh segment:
 *  a. reader with persist_dir first, then a writer without persist_dir:
 *     the writer continues at 6 and its publish is saved (the next start
 *     reads 6);
 *  b. writer without persist_dir first (nothing published, so nothing
 *     loaded), then a reader with persist_dir, which loads version 6 into
 *     the live service: the writer's next version must follow on (7; or
 *     the reader's open must be refused), and what it publishes must be
 *     saved: the next start reads it.
 */
#include "st_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "state/persist-order"
#define MAX_SIZE 256u

static char dir[512];

static ferry_state_reader *open_reader(ferry_node *node, const char *persist)
{
    ferry_state_opts o = st_opts(MAX_SIZE, 4, persist);
    ferry_state_reader *r = NULL;
    CHECK_OK(ferry_state_reader_open(&r, node, SERVICE, &o));
    return r;
}

/* After every port closed: a fresh start with persist_dir reads this version. */
static void expect_saved(const char *domain, uint64_t version, const char *when)
{
    st_check_no_shm(domain);
    ferry_node *node = ft_node_open(domain, "check");
    ferry_state_reader *r = open_reader(node, dir);
    uint64_t v = 0;
    char why[256] = "";
    int rc = st_read(r, ST_VALUE_MIN, MAX_SIZE, &v, NULL, why, sizeof why);
    CHECK_MSG(rc == FERRY_OK && v == version, "%s: a fresh start read version %llu (rc %d %s), expected %llu", when,
              (unsigned long long)v, rc, why, (unsigned long long)version);
    ferry_state_reader_close(r);
    ferry_node_close(node);
    st_check_no_shm(domain);
}

int main(void)
{
    ft_init("state_persist_order_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "storder");
    st_tmpdir(dir);
    ferry_state_opts persisted = st_opts(MAX_SIZE, 4, dir);
    ferry_state_opts plain = st_opts(MAX_SIZE, 4, NULL);
    st_writer sw;
    uint64_t v = 0;

    /* Saved: versions 1..5. */
    ferry_node *node = ft_node_open(domain, "main");
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &persisted));
    for (int i = 0; i < 5; i++)
        CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &v));
    CHECK_EQ(v, 5);
    ferry_state_writer_close(sw.w);
    ferry_node_close(node);
    expect_saved(domain, 5, "setup");

    /* ---- a. reader with persist_dir, then a writer without ---- */
    node = ft_node_open(domain, "main");
    ferry_state_reader *r = open_reader(node, dir);
    CHECK_EQ(st_read_ok(r, ST_VALUE_MIN, MAX_SIZE, NULL), 5);
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &plain));
    CHECK_EQ(sw.version, 5);
    CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &v));
    CHECK_EQ(v, 6);
    CHECK_EQ(st_read_ok(r, ST_VALUE_MIN, MAX_SIZE, NULL), 6);
    ferry_state_writer_close(sw.w);
    ferry_state_reader_close(r);
    ferry_node_close(node);
    expect_saved(domain, 6, "a. reader with persist_dir first");

    /* ---- b. writer without persist_dir, then a reader with it ---- */
    node = ft_node_open(domain, "main");
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &plain));
    CHECK_EQ(sw.version, 0); /* nothing published, nothing loaded: the file was not asked for */
    ferry_state_reader *late = NULL;
    int rc = ferry_state_reader_open(&late, node, SERVICE, &persisted);
    if (rc == FERRY_OK) {
        /* Either the saved version 6 was loaded, or (the documented choice:
         * nothing is loaded under a live writer) nothing is readable yet and
         * the writer numbers on from the saved version. */
        const void *peek = NULL;
        size_t peek_size = 0;
        uint64_t peek_version = 0;
        int r0 = ferry_state_read_begin(late, &peek, &peek_size, &peek_version);
        uint64_t seen;
        if (r0 == FERRY_OK) {
            ferry_state_read_end(late);
            seen = st_read_ok(late, ST_VALUE_MIN, MAX_SIZE, NULL);
        } else {
            CHECK_RC(r0, FERRY_EAGAIN);
            seen = 6;
        }
        /* The writer publishes the value of the version that should follow. */
        size_t vsize = st_value_size(seen + 1, ST_VALUE_MIN, MAX_SIZE);
        void *buf = NULL;
        CHECK_OK(ferry_state_loan(sw.w, vsize, &buf));
        st_value_fill(buf, vsize, seen + 1);
        uint64_t got = 0;
        rc = ferry_state_publish(sw.w, buf, &got);
        const void *data = NULL;
        size_t size = 0;
        uint64_t now = 0;
        CHECK_OK(ferry_state_read_begin(late, &data, &size, &now));
        ferry_state_read_end(late);
        printf("b: the reader loaded version %llu under the live writer; the writer's publish returned %d, "
               "version %llu; the reader now sees %llu\n",
               (unsigned long long)seen, rc, (unsigned long long)got, (unsigned long long)now);
        CHECK_MSG(got == seen + 1 && now == got,
                  "versions did not continue: a reader opened with persist_dir loaded version %llu into the live "
                  "service, then the writer (opened before, without persist_dir) published version %llu (the reader "
                  "sees %llu); expected %llu",
                  (unsigned long long)seen, (unsigned long long)got, (unsigned long long)now,
                  (unsigned long long)seen + 1);
        CHECK_OK(rc);
        ferry_state_reader_close(late);
        ferry_state_writer_close(sw.w);
        ferry_node_close(node);
        expect_saved(domain, got, "b. writer without persist_dir first");
    } else {
        /* Refusing the reader is the other consistent answer. */
        printf("b: the reader with persist_dir was refused: %d (%s)\n", rc, ferry_last_error_message());
        CHECK_RC(rc, FERRY_EINCOMPATIBLE);
        ferry_state_writer_close(sw.w);
        ferry_node_close(node);
        expect_saved(domain, 6, "b. reader refused");
    }
    st_rmdir(dir);
    return ft_pass();
}
