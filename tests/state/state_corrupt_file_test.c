/*
 * state_corrupt_file_test: a damaged saved file is reported, never served.
 *
 * A writer saves version 3 (200 bytes) and every port closes. Then, each
 * time on a fresh segment:
 *  - every byte of the saved value flipped, one at a time: opening a reader
 *    with persist_dir fails with FERRY_ECORRUPT, the message names the
 *    file, and the failed open leaves no service behind;
 *  - a writer's open fails the same way;
 *  - every other byte of the file flipped, one at a time: either
 *    FERRY_ECORRUPT, or the open succeeds and serves exactly the saved
 *    version and value (flips that are not detected are counted and
 *    printed);
 *  - the file truncated (0, 1, 8 bytes, half, all but the last byte):
 *    FERRY_ECORRUPT naming the file;
 *  - the original file put back: it opens and serves version 3;
 *  - the file removed: a fresh start (FERRY_EAGAIN, then version 1), and
 *    the new file is whole.
 */
#include "st_support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERVICE "state/corrupt-file"
#define MAX_SIZE 512u
#define VALUE_SIZE 200u

static char dir[512];
static char path[1024];
static const char *domain;
static ferry_node *node;

static size_t read_file(unsigned char *buf, size_t max)
{
    int fd = open(path, O_RDONLY);
    CHECK_MSG(fd >= 0, "open %s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, max);
    close(fd);
    CHECK(n > 0 && (size_t)n < max);
    return (size_t)n;
}

static void write_file(const unsigned char *buf, size_t size)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK_MSG(fd >= 0, "open %s: %s", path, strerror(errno));
    CHECK(write(fd, buf, size) == (ssize_t)size);
    close(fd);
}

static void expect_no_service(const char *what)
{
    st_counts c = st_service_counts(domain, SERVICE);
    CHECK_MSG(!c.found, "%s: the failed open left the service behind", what);
}

/* A reader (or writer) open with persist_dir must fail with FERRY_ECORRUPT naming the file. */
static void expect_corrupt(int as_writer, const char *what)
{
    ferry_state_opts o = st_opts(MAX_SIZE, 4, dir);
    int rc;
    if (as_writer) {
        ferry_state_writer *w = NULL;
        rc = ferry_state_writer_open(&w, node, SERVICE, &o);
        CHECK_MSG(rc != FERRY_OK || w != NULL, "%s", what);
        if (rc == FERRY_OK)
            ferry_state_writer_close(w);
        CHECK_MSG(rc != FERRY_OK || w == NULL, "%s", what);
    } else {
        ferry_state_reader *r = NULL;
        rc = ferry_state_reader_open(&r, node, SERVICE, &o);
        if (rc == FERRY_OK) {
            const void *d = NULL;
            size_t sz = 0;
            uint64_t v = 0;
            int brc = ferry_state_read_begin(r, &d, &sz, &v);
            if (brc == FERRY_OK)
                ferry_state_read_end(r);
            ferry_state_reader_close(r);
            CHECK_MSG(0, "%s: the open succeeded (read_begin %d: version %llu, %zu bytes)", what, brc,
                      (unsigned long long)v, sz);
        }
    }
    CHECK_MSG(rc == FERRY_ECORRUPT, "%s: %s open returned %d (%s): %s", what, as_writer ? "writer" : "reader", rc,
              ferry_strerror(rc), ferry_last_error_message());
    CHECK_MSG(strstr(ferry_last_error_message(), path) != NULL, "%s: the message does not name %s: \"%s\"", what, path,
              ferry_last_error_message());
    expect_no_service(what);
}

int main(void)
{
    ft_init("state_corrupt_file_test", 20);
    char dom[FERRY_DOMAIN_MAX + 1];
    domain = ft_domain(dom, "stcorrupt");
    st_tmpdir(dir);
    node = ft_node_open(domain, "main");
    ferry_state_opts o = st_opts(MAX_SIZE, 4, dir);

    /* Save version 3 (size VALUE_SIZE). */
    st_writer sw;
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &o));
    uint64_t v = 0;
    for (int i = 0; i < 3; i++)
        CHECK_OK(st_publish(&sw, VALUE_SIZE, VALUE_SIZE, &v));
    CHECK_EQ(v, 3);
    ferry_state_writer_close(sw.w);
    expect_no_service("after close");
    CHECK_EQ(st_state_file(dir, path, sizeof path), 1);

    unsigned char good[8192], bad[8192], value[VALUE_SIZE];
    size_t len = read_file(good, sizeof good);
    st_value_fill(value, VALUE_SIZE, 3);
    /* Where the value lies in the file: found by content, not by layout. */
    unsigned char *at = memmem(good, len, value, VALUE_SIZE);
    CHECK_MSG(at != NULL, "the saved file (%zu bytes) does not contain the value", len);
    size_t body = (size_t)(at - good);
    printf("saved file: %zu bytes, value at %zu..%zu\n", len, body, body + VALUE_SIZE - 1);

    /* ---- every byte of the value ---- */
    char what[256];
    for (size_t i = body; i < body + VALUE_SIZE; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x01;
        write_file(bad, len);
        snprintf(what, sizeof what, "value byte %zu flipped", i - body);
        expect_corrupt(0, what);
    }
    memcpy(bad, good, len);
    bad[body + VALUE_SIZE / 2] ^= 0x80;
    write_file(bad, len);
    expect_corrupt(1, "value byte flipped, writer open");

    /* ---- every other byte ---- */
    unsigned undetected = 0;
    size_t first_undetected = 0, last_undetected = 0;
    for (size_t i = 0; i < len; i++) {
        if (i >= body && i < body + VALUE_SIZE)
            continue;
        memcpy(bad, good, len);
        bad[i] ^= 0x01;
        write_file(bad, len);
        ferry_state_reader *r = NULL;
        int rc = ferry_state_reader_open(&r, node, SERVICE, &o);
        if (rc == FERRY_OK) {
            size_t size = 0;
            uint64_t got = 0;
            char why[256] = "";
            int rrc = st_read(r, VALUE_SIZE, VALUE_SIZE, &got, &size, why, sizeof why);
            ferry_state_reader_close(r);
            CHECK_MSG(rrc == FERRY_OK && got == 3 && size == VALUE_SIZE,
                      "file byte %zu flipped: not reported, and served version %llu, %zu bytes (rc %d %s)", i,
                      (unsigned long long)got, size, rrc, why);
            if (!undetected++)
                first_undetected = i;
            last_undetected = i;
        } else {
            CHECK_MSG(rc == FERRY_ECORRUPT, "file byte %zu flipped: open returned %d (%s)", i, rc,
                      ferry_last_error_message());
            CHECK_MSG(strstr(ferry_last_error_message(), path) != NULL, "file byte %zu: message \"%s\"", i,
                      ferry_last_error_message());
        }
        expect_no_service("header byte flipped");
    }
    printf("header bytes flipped: %zu, not detected (value served intact): %u", len - VALUE_SIZE, undetected);
    if (undetected)
        printf(" (offsets %zu..%zu)", first_undetected, last_undetected);
    printf("\n");

    /* ---- truncated ---- */
    size_t cuts[] = {0, 1, 8, len / 2, body, len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        write_file(good, cuts[k]);
        snprintf(what, sizeof what, "file truncated to %zu of %zu bytes", cuts[k], len);
        expect_corrupt(0, what);
        if (k == 3)
            expect_corrupt(1, what);
    }

    /* ---- the original back: served ---- */
    write_file(good, len);
    ferry_state_reader *r = NULL;
    CHECK_OK(ferry_state_reader_open(&r, node, SERVICE, &o));
    CHECK_EQ(st_read_ok(r, VALUE_SIZE, VALUE_SIZE, NULL), 3);
    ferry_state_reader_close(r);

    /* ---- removed: a fresh start ---- */
    write_file(good, 3);
    expect_corrupt(0, "truncated to 3 bytes");
    CHECK(unlink(path) == 0);
    CHECK_OK(ferry_state_reader_open(&r, node, SERVICE, &o));
    const void *data = NULL;
    CHECK_RC(ferry_state_read_begin(r, &data, NULL, NULL), FERRY_EAGAIN);
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &o));
    CHECK_EQ(sw.version, 0);
    CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &v));
    CHECK_EQ(v, 1);
    CHECK_EQ(st_read_ok(r, ST_VALUE_MIN, MAX_SIZE, NULL), 1);
    ferry_state_writer_close(sw.w);
    ferry_state_reader_close(r);
    CHECK_OK(ferry_state_reader_open(&r, node, SERVICE, &o));
    CHECK_EQ(st_read_ok(r, ST_VALUE_MIN, MAX_SIZE, NULL), 1);
    ferry_state_reader_close(r);
    CHECK_EQ(st_state_file(dir, NULL, 0), 1);
    CHECK_EQ(st_dir_entries(dir), 1);

    st_finish_domain(domain, node);
    st_rmdir(dir);
    return ft_pass();
}
