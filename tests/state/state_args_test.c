/*
 * state_args_test: bad input to the ferry_state_* functions is refused
 * with the documented code and leaves everything usable.
 *  - NULL handles and out-pointers: FERRY_EINVAL (void functions set
 *    ferry_last_error; *_close(NULL) is a no-op);
 *  - options: max_size 0 or above the limit, max_readers 0, a bad type
 *    name: FERRY_EINVAL;
 *  - read before any publish: FERRY_EAGAIN;
 *  - loan of size 0 and of max_size + 1: FERRY_EINVAL; of max_size: OK;
 *  - a second loan while one is out: FERRY_ELIMIT;
 *  - publish or discard of a pointer that is not the loan (a foreign
 *    pointer, the loan + 1, a stale loan): FERRY_EINVAL, and the real loan
 *    stays usable; ferry_state_write with NULL data or size 0: FERRY_EINVAL;
 *  - read_begin twice: FERRY_ELIMIT (the first read stays valid);
 *    read_end without a read: ferry_last_error FERRY_EINVAL;
 *  - a second writer: FERRY_ELIMIT; more readers than max_readers:
 *    FERRY_ELIMIT;
 *  - incompatible type_name, max_size, larger max_readers, another
 *    pattern: FERRY_EINCOMPATIBLE (smaller max_readers is fine);
 *  - persist_dir that is a file, does not exist, or is too long:
 *    FERRY_EINVAL; another persist_dir than the service's, or persist_dir
 *    on a live service that has a value and no persistence:
 *    FERRY_EINCOMPATIBLE;
 *  - ferry_state_wait: NULL reader, negative timeout: FERRY_EINVAL.
 */
#include "st_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERVICE "state/args"
#define MAX_SIZE 128u

int main(void)
{
    ft_init("state_args_test", 10);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stargs");
    ferry_node *node = ft_node_open(domain, "main");
    ferry_state_opts o = st_opts(MAX_SIZE, 2, NULL);
    ferry_state_writer *w = NULL, *w2 = NULL;
    ferry_state_reader *r = NULL, *r2 = NULL, *r3 = NULL;
    const void *data = NULL;
    size_t size = 0;
    uint64_t v = 0;
    void *buf = NULL, *buf2 = NULL;
    char dir[512];
    st_tmpdir(dir);

    /* ---- NULLs ---- */
    CHECK_RC(ferry_state_writer_open(NULL, node, SERVICE, &o), FERRY_EINVAL);
    CHECK_RC(ferry_state_writer_open(&w, NULL, SERVICE, &o), FERRY_EINVAL);
    CHECK(w == NULL);
    CHECK_RC(ferry_state_writer_open(&w, node, NULL, &o), FERRY_EINVAL);
    CHECK(w == NULL);
    CHECK_RC(ferry_state_reader_open(NULL, node, SERVICE, &o), FERRY_EINVAL);
    CHECK_RC(ferry_state_reader_open(&r, NULL, SERVICE, &o), FERRY_EINVAL);
    CHECK(r == NULL);
    CHECK_RC(ferry_state_reader_open(&r, node, NULL, &o), FERRY_EINVAL);
    CHECK(r == NULL);
    CHECK_RC(ferry_state_loan(NULL, 8, &buf), FERRY_EINVAL);
    CHECK_RC(ferry_state_publish(NULL, &v, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_state_write(NULL, "x", 1, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_state_read_begin(NULL, &data, &size, &v), FERRY_EINVAL);
    CHECK_RC(ferry_state_wait(NULL, 0, 0), FERRY_EINVAL);
    ferry_clear_error();
    ferry_state_read_end(NULL);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_clear_error();
    ferry_state_discard(NULL, &v);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_state_writer_close(NULL);
    ferry_state_reader_close(NULL);
    ferry_state_opts_init(NULL);

    /* ---- options ---- */
    ferry_state_opts bad = o;
    bad.max_size = 0;
    CHECK_RC(ferry_state_writer_open(&w, node, SERVICE, &bad), FERRY_EINVAL);
    bad = o;
    bad.max_size = (size_t)1 << 40;
    CHECK_RC(ferry_state_reader_open(&r, node, SERVICE, &bad), FERRY_EINVAL);
    bad = o;
    bad.max_readers = 0;
    CHECK_RC(ferry_state_reader_open(&r, node, SERVICE, &bad), FERRY_EINVAL);
    bad = o;
    bad.type_name = "";
    CHECK_RC(ferry_state_writer_open(&w, node, SERVICE, &bad), FERRY_EINVAL);
    CHECK(w == NULL && r == NULL);
    CHECK_MSG(!st_service_counts(domain, SERVICE).found, "a refused open left the service behind");

    /* Defaults. */
    ferry_state_opts d;
    memset(&d, 0xab, sizeof d);
    ferry_state_opts_init(&d);
    CHECK(d.type_name == NULL && d.max_size == 4096 && d.max_readers == 16 && d.persist_dir == NULL);

    /* ---- read before any publish ---- */
    CHECK_OK(ferry_state_reader_open(&r, node, SERVICE, &o));
    data = &v;
    CHECK_RC(ferry_state_read_begin(r, &data, &size, &v), FERRY_EAGAIN);
    CHECK(data == NULL);
    CHECK_RC(ferry_state_read_begin(r, NULL, &size, &v), FERRY_EINVAL);
    ferry_clear_error();
    ferry_state_read_end(r); /* the EAGAIN left no read open */
    CHECK_LAST_ERROR(FERRY_EINVAL);

    /* ---- loans ---- */
    CHECK_OK(ferry_state_writer_open(&w, node, SERVICE, &o));
    CHECK_RC(ferry_state_loan(w, 8, NULL), FERRY_EINVAL);
    buf = &v;
    CHECK_RC(ferry_state_loan(w, 0, &buf), FERRY_EINVAL);
    CHECK(buf == NULL);
    CHECK_RC(ferry_state_loan(w, MAX_SIZE + 1, &buf), FERRY_EINVAL);
    CHECK(buf == NULL);
    CHECK_OK(ferry_state_loan(w, MAX_SIZE, &buf));
    CHECK(buf != NULL);
    CHECK_EQ((uintptr_t)buf % 64, 0); /* documented: aligned to 64 bytes */
    memset(buf, 0x11, MAX_SIZE);
    CHECK_RC(ferry_state_loan(w, 8, &buf2), FERRY_ELIMIT);
    CHECK(buf2 == NULL);

    /* Foreign pointers: refused, the real loan stays. */
    char foreign[MAX_SIZE];
    CHECK_RC(ferry_state_publish(w, foreign, &v), FERRY_EINVAL);
    CHECK_RC(ferry_state_publish(w, (char *)buf + 1, &v), FERRY_EINVAL);
    CHECK_RC(ferry_state_publish(w, NULL, &v), FERRY_EINVAL);
    ferry_clear_error();
    ferry_state_discard(w, foreign);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    CHECK_RC(ferry_state_read_begin(r, &data, &size, &v), FERRY_EAGAIN); /* nothing went out */
    v = 0;
    CHECK_OK(ferry_state_publish(w, buf, &v));
    CHECK_EQ(v, 1);
    /* The loan was handed over: publishing or discarding it again is refused. */
    CHECK_RC(ferry_state_publish(w, buf, &v), FERRY_EINVAL);
    ferry_clear_error();
    ferry_state_discard(w, buf);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    /* Discard gives the loan back: a new one can be taken, nothing is published. */
    CHECK_OK(ferry_state_loan(w, 16, &buf));
    memset(buf, 0x22, 16);
    ferry_state_discard(w, buf);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_state_read_begin(r, &data, &size, &v));
    CHECK_EQ(v, 1);
    CHECK_EQ(size, MAX_SIZE);
    CHECK(((const unsigned char *)data)[0] == 0x11 && ((const unsigned char *)data)[MAX_SIZE - 1] == 0x11);

    /* ---- reads ---- */
    const void *data2 = NULL;
    CHECK_RC(ferry_state_read_begin(r, &data2, &size, &v), FERRY_ELIMIT);
    CHECK(data2 == NULL);
    CHECK_OK(ferry_state_write(w, "abc", 3, &v));
    CHECK_EQ(v, 2);
    CHECK(((const unsigned char *)data)[0] == 0x11); /* the open read still sees version 1 */
    ferry_state_read_end(r);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_state_read_end(r);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    CHECK_OK(ferry_state_read_begin(r, &data, NULL, NULL)); /* size and version may be NULL */
    CHECK(memcmp(data, "abc", 3) == 0);
    ferry_state_read_end(r);
    CHECK_RC(ferry_state_write(w, NULL, 3, &v), FERRY_EINVAL);
    CHECK_RC(ferry_state_write(w, "abc", 0, &v), FERRY_EINVAL);
    CHECK_RC(ferry_state_write(w, foreign, MAX_SIZE + 1, &v), FERRY_EINVAL);
    CHECK_OK(ferry_state_write(w, "defg", 4, NULL));
    CHECK_OK(ferry_state_read_begin(r, &data, &size, &v));
    CHECK(v == 3 && size == 4 && memcmp(data, "defg", 4) == 0);
    ferry_state_read_end(r);

    /* ---- limits ---- */
    CHECK_RC(ferry_state_writer_open(&w2, node, SERVICE, &o), FERRY_ELIMIT);
    CHECK(w2 == NULL);
    CHECK_OK(ferry_state_reader_open(&r2, node, SERVICE, &o));
    CHECK_RC(ferry_state_reader_open(&r3, node, SERVICE, &o), FERRY_ELIMIT);
    CHECK(r3 == NULL);
    ferry_state_reader_close(r2);
    r2 = NULL;

    /* ---- compatibility ---- */
    bad = o;
    bad.type_name = "other";
    CHECK_RC(ferry_state_reader_open(&r2, node, SERVICE, &bad), FERRY_EINCOMPATIBLE);
    bad = o;
    bad.max_size = MAX_SIZE * 2;
    CHECK_RC(ferry_state_reader_open(&r2, node, SERVICE, &bad), FERRY_EINCOMPATIBLE);
    bad = o;
    bad.max_readers = 3;
    CHECK_RC(ferry_state_reader_open(&r2, node, SERVICE, &bad), FERRY_EINCOMPATIBLE);
    bad = o;
    bad.max_readers = 1;
    CHECK_OK(ferry_state_reader_open(&r2, node, SERVICE, &bad));
    ferry_state_reader_close(r2);
    r2 = NULL;
    ferry_pub *pub = NULL;
    CHECK_RC(ferry_pub_open(&pub, node, SERVICE, NULL), FERRY_EINCOMPATIBLE);
    ferry_listener *lis = NULL;
    CHECK_RC(ferry_listener_open(&lis, node, SERVICE, NULL), FERRY_EINCOMPATIBLE);

    /* ---- persist_dir ---- */
    char file[600], missing[600], longdir[1200];
    snprintf(file, sizeof file, "%s/plain-file", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    close(fd);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    memset(longdir, 'a', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    const char *not_dirs[] = {file, missing, longdir};
    for (int i = 0; i < 3; i++) {
        bad = o;
        bad.persist_dir = not_dirs[i];
        CHECK_RC(ferry_state_reader_open(&r2, node, "state/args-persist", &bad), FERRY_EINVAL);
        CHECK(r2 == NULL);
        CHECK_MSG(!st_service_counts(domain, "state/args-persist").found, "persist_dir %d left the service", i);
    }
    /* On the live service, which has a value and no persistence. */
    bad = o;
    bad.persist_dir = dir;
    CHECK_RC(ferry_state_reader_open(&r2, node, SERVICE, &bad), FERRY_EINCOMPATIBLE);
    /* A persisted service: another directory is refused. */
    ferry_state_writer *pw = NULL;
    ferry_state_opts po = st_opts(MAX_SIZE, 2, dir);
    CHECK_OK(ferry_state_writer_open(&pw, node, "state/args-persist", &po));
    char other[512];
    st_tmpdir(other);
    po.persist_dir = other;
    CHECK_RC(ferry_state_reader_open(&r2, node, "state/args-persist", &po), FERRY_EINCOMPATIBLE);
    CHECK_MSG(strstr(ferry_last_error_message(), dir) != NULL, "message \"%s\"", ferry_last_error_message());
    po.persist_dir = NULL; /* not given: fine */
    CHECK_OK(ferry_state_reader_open(&r2, node, "state/args-persist", &po));
    ferry_state_reader_close(r2);
    ferry_state_writer_close(pw);
    st_rmdir(other);

    /* ---- wait ---- */
    CHECK_RC(ferry_state_wait(r, 0, -5), FERRY_EINVAL);
    CHECK_RC(ferry_state_wait(r, 0, 0), FERRY_OK);
    CHECK_RC(ferry_state_wait(r, 3, 0), FERRY_ETIMEDOUT);

    ferry_state_writer_close(w);
    ferry_state_reader_close(r);
    st_finish_domain(domain, node);
    st_rmdir(dir);
    return ft_pass();
}
