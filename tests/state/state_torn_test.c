/*
 * state_torn_test: readers never see a torn or stale value while a writer
 * in another process publishes as fast as it can.
 *
 * One writer process publishes self-checking values (st_value.h: every
 * 64-bit word carries the version, a checksum covers the body, the size is
 * a function of the version and varies from 32 bytes to 16 KiB) for about
 * 1.2 s; three reader processes read, check every value twice and release
 * it, for about 1 s. Asserted, per reader: no torn value, versions never go
 * backwards, every size is the one published with that version, and the
 * reader saw the writer make progress. Then the last version is read
 * intact in this process, and nothing is left in /dev/shm.
 *
 * readers=12 gives the service 18 buffers, which the writer uses in turn: a
 * reader learns the size of buffers 0..13 from the line of `current` and of
 * the others from their own header, so both ways are checked.
 */
#include "st_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "state/torn"
#define MAX_SIZE 16384u
#define READERS 3

int main(void)
{
    ft_init("state_torn_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "sttorn");
    char line[1024];

    ft_peer writer;
    st_peer_start(&writer, domain, "writer");
    const char *r = ft_peer_ok(&writer, line, sizeof line, "writer %s size=%u readers=12", SERVICE, MAX_SIZE);
    CHECK_MSG(strcmp(r, " 0") == 0, "a new service has version%s", r);
    r = ft_peer_ok(&writer, line, sizeof line, "publish 1 %u %u", ST_VALUE_MIN, MAX_SIZE);
    CHECK_MSG(strcmp(r, " 1") == 0, "first publish gave version%s", r);

    ft_peer readers[READERS];
    for (int i = 0; i < READERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "reader%d", i);
        st_peer_start(&readers[i], domain, name);
        ft_peer_ok(&readers[i], line, sizeof line, "reader %s size=%u readers=4", SERVICE, MAX_SIZE);
        r = ft_peer_ok(&readers[i], line, sizeof line, "read %u %u", ST_VALUE_MIN, MAX_SIZE);
        CHECK_MSG(strncmp(r, " 1 ", 3) == 0, "reader %d read%s before the run", i, r);
    }

    /* Go: the writer runs a little longer than the readers on both ends. */
    ft_peer_send(&writer, "pubfor 1300 %u %u", ST_VALUE_MIN, MAX_SIZE);
    for (int i = 0; i < READERS; i++)
        ft_peer_send(&readers[i], "readfor 1000 %u %u", ST_VALUE_MIN, MAX_SIZE);

    unsigned long long last_seen[READERS];
    for (int i = 0; i < READERS; i++) {
        r = st_peer_later_ok(&readers[i], line, sizeof line, 10000);
        unsigned long long reads, torn, back, badsize, distinct, first, last;
        int n = sscanf(r, "%llu %llu %llu %llu %llu %llu %llu", &reads, &torn, &back, &badsize, &distinct, &first,
                       &last);
        CHECK_MSG(n == 7, "reader %d replied '%s'", i, line);
        printf("reader %d: %llu reads, %llu versions (%llu..%llu), torn %llu, backwards %llu, bad size %llu\n", i,
               reads, distinct, first, last, torn, back, badsize);
        CHECK_MSG(torn == 0, "reader %d saw %llu torn values of %llu:%s", i, torn, reads, r);
        CHECK_MSG(back == 0, "reader %d saw the version go backwards %llu times:%s", i, back, r);
        CHECK_MSG(badsize == 0, "reader %d saw %llu values of a size that was not published:%s", i, badsize, r);
        CHECK_MSG(reads >= 100, "reader %d read only %llu times in 1 s", i, reads);
        CHECK_MSG(distinct >= 10, "reader %d saw only %llu versions: the writer did not run alongside", i,
                  distinct);
        last_seen[i] = last;
    }
    r = st_peer_later_ok(&writer, line, sizeof line, 10000);
    unsigned long long count = 0, last_version = 0;
    CHECK_MSG(sscanf(r, "%llu %llu", &count, &last_version) == 2, "writer replied '%s'", line);
    printf("writer: %llu versions published, last %llu\n", count, last_version);
    CHECK_EQ(last_version, count + 1);
    for (int i = 0; i < READERS; i++)
        CHECK_MSG(last_seen[i] <= last_version, "reader %d saw version %llu, the writer's last is %llu", i,
                  last_seen[i], last_version);

    /* Every reader now sees the final version, intact. */
    for (int i = 0; i < READERS; i++) {
        r = ft_peer_ok(&readers[i], line, sizeof line, "read %u %u", ST_VALUE_MIN, MAX_SIZE);
        unsigned long long v = 0;
        CHECK_MSG(sscanf(r, "%llu", &v) == 1 && v == last_version, "reader %d read%s at the end, expected %llu", i,
                  r, last_version);
        ft_peer_finish(&readers[i]);
    }
    ferry_node *node = ft_node_open(domain, "main");
    ferry_state_reader *reader = NULL;
    ferry_state_opts opts = st_opts(MAX_SIZE, 4, NULL);
    CHECK_OK(ferry_state_reader_open(&reader, node, SERVICE, &opts));
    CHECK_EQ(st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL), last_version);
    ft_peer_finish(&writer);
    /* The writer is gone; its last version stays while a reader is open. */
    CHECK_EQ(st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL), last_version);
    ferry_state_reader_close(reader);
    ferry_node_close(node);
    st_check_no_shm(domain);
    return ft_pass();
}
