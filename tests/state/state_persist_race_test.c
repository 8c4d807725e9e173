/*
 * state_persist_race_test: loading a saved value never replaces a version
 * the live writer published meanwhile, and never writes into its loan.
 *
 * The saved value is loaded by an opener that passes persist_dir while
 * nothing is published. Reading the file takes time (a slow disk, a network
 * file system); this test makes it take as long as it likes by putting a
 * FIFO where the saved file is, and feeding it the bytes of a real saved
 * file (version 6) only later:
 *  1. the writer opens without persist_dir (nothing is loaded);
 *  2. another thread opens a reader with persist_dir: it starts loading and
 *     stays in the read of the file;
 *  3. meanwhile the writer publishes versions 1, 2, 3 and loans a buffer
 *     for version 4, and fills it;
 *  4. the file's bytes arrive; the reader's open completes.
 * Then the reader must read the writer's version 3, intact (not the older
 * saved version 6 in its place), and, after the writer publishes its loan,
 * version 4 with the bytes the writer wrote.
 */
#include "st_support.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVICE "state/persist-race"
#define MAX_SIZE 256u

static ferry_node *node;
static char dir[512];
static ferry_state_reader *late;
static int late_rc = 1;

static void *open_late_reader(void *arg)
{
    (void)arg;
    ferry_state_opts o = st_opts(MAX_SIZE, 2, dir);
    late_rc = ferry_state_reader_open(&late, node, SERVICE, &o);
    return NULL;
}

int main(void)
{
    ft_init("state_persist_race_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "strace");
    st_tmpdir(dir);
    node = ft_node_open(domain, "main");
    ferry_state_opts persisted = st_opts(MAX_SIZE, 2, dir);
    ferry_state_opts plain = st_opts(MAX_SIZE, 2, NULL);

    /* A real saved file of version 6; its bytes are kept, the file becomes a FIFO. */
    st_writer sw;
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &persisted));
    for (int i = 0; i < 6; i++)
        CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, NULL));
    ferry_state_writer_close(sw.w);
    CHECK(!st_service_counts(domain, SERVICE).found);
    char path[1024];
    CHECK_EQ(st_state_file(dir, path, sizeof path), 1);
    unsigned char saved[4096];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t len = read(fd, saved, sizeof saved);
    close(fd);
    CHECK(len > 0 && (size_t)len < sizeof saved);
    CHECK(unlink(path) == 0);
    CHECK_MSG(mkfifo(path, 0600) == 0, "mkfifo %s: %s", path, strerror(errno));

    /* 1. the writer, without persist_dir: nothing loaded */
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &plain));
    CHECK_EQ(sw.version, 0);

    /* 2. the reader with persist_dir starts loading */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, open_late_reader, NULL) == 0);
    /* The loader has the file open once a non-blocking open for writing works. */
    int fifo = -1;
    uint64_t until = ft_now_ns() + 2000000000ull;
    while (fifo < 0 && ft_now_ns() < until) {
        fifo = open(path, O_WRONLY | O_NONBLOCK);
        CHECK_MSG(fifo >= 0 || errno == ENXIO, "open %s: %s", path, strerror(errno));
        if (fifo < 0)
            ft_sleep_ms(1);
    }
    if (fifo < 0)
        printf("the reader's open did not read the saved file within 2 s (it may skip it with a live writer)\n");
    ft_sleep_ms(20);

    /* 3. the writer goes on meanwhile */
    uint64_t v = 0;
    for (int i = 0; i < 3; i++)
        CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &v));
    CHECK_EQ(v, 3);
    size_t size4 = st_value_size(4, ST_VALUE_MIN, MAX_SIZE);
    void *loan = NULL;
    CHECK_OK(ferry_state_loan(sw.w, size4, &loan));
    st_value_fill(loan, size4, 4);

    /* 4. the file's bytes arrive */
    if (fifo >= 0) {
        CHECK(write(fifo, saved, (size_t)len) == len); /* less than PIPE_BUF: all at once */
        close(fifo);
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_OK(late_rc);

    const void *data = NULL;
    size_t size = 0;
    uint64_t got = 0;
    CHECK_OK(ferry_state_read_begin(late, &data, &size, &got));
    char why[256] = "";
    int intact = st_value_check(data, size, got, why, sizeof why);
    ferry_state_read_end(late);
    printf("after the load: version %llu, %zu bytes, %s\n", (unsigned long long)got, size, intact ? "intact" : why);
    CHECK_MSG(got == 3 && intact,
              "the load of the saved file (version 6), begun while nothing was published, replaced the live "
              "writer's version 3: the reader reads version %llu (%s)",
              (unsigned long long)got, intact ? "the old saved value" : why);

    CHECK_OK(ferry_state_publish(sw.w, loan, &v));
    CHECK_OK(ferry_state_read_begin(late, &data, &size, &got));
    intact = st_value_check(data, size, 4, why, sizeof why);
    ferry_state_read_end(late);
    printf("after the writer's publish: version %llu (publish said %llu), %s\n", (unsigned long long)got,
           (unsigned long long)v, intact ? "intact" : why);
    CHECK_MSG(got == 4 && v == 4 && intact, "the writer's loan: version %llu, publish said %llu, bytes %s",
              (unsigned long long)got, (unsigned long long)v, intact ? "intact" : why);

    ferry_state_writer_close(sw.w);
    ferry_state_reader_close(late);
    st_finish_domain(domain, node);
    st_rmdir(dir);
    return ft_pass();
}
