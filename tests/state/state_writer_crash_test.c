/*
 * state_writer_crash_test: the writer is killed (SIGKILL) while it
 * publishes in a loop, five times over.
 *
 * Two reader processes read and check continuously through all the crashes
 * (no torn value, versions never go backwards, sizes as published). After
 * each kill this process reads the last good version: intact, newer than
 * what the writer found at its open, and the same a while later (nobody
 * publishes any more). A new writer process can open at once (the dead
 * one's slot is taken back) and continues from that version. At the end a
 * writer in this process continues the numbering too; after ferry_cleanup
 * nothing of the domain is left in /dev/shm.
 */
#include "st_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE "state/writer-crash"
#define MAX_SIZE 65536u
#define ROUNDS 5

int main(void)
{
    ft_init("state_writer_crash_test", 20);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "stwcrash");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "main");
    ferry_state_opts opts = st_opts(MAX_SIZE, 4, NULL);
    ferry_state_reader *reader = NULL;
    CHECK_OK(ferry_state_reader_open(&reader, node, SERVICE, &opts));

    ft_peer readers[2];
    for (int i = 0; i < 2; i++) {
        st_peer_start(&readers[i], domain, i ? "reader1" : "reader0");
        ft_peer_ok(&readers[i], line, sizeof line, "reader %s size=%u readers=4", SERVICE, MAX_SIZE);
        ft_peer_send(&readers[i], "readfor 1500 %u %u", ST_VALUE_MIN, MAX_SIZE);
    }

    srand((unsigned)ft_now_ns());
    uint64_t last = 0;
    for (int round = 0; round < ROUNDS; round++) {
        ft_peer w;
        st_peer_start(&w, domain, "writer");
        const char *r = ft_peer_ok(&w, line, sizeof line, "writer %s size=%u readers=4", SERVICE, MAX_SIZE);
        unsigned long long base = 0;
        CHECK_MSG(sscanf(r, "%llu", &base) == 1 && base == last,
                  "round %d: the new writer found version%s, the last good one is %llu", round, r,
                  (unsigned long long)last);
        ft_peer_ok(&w, line, sizeof line, "publoop %u %u", ST_VALUE_MIN, MAX_SIZE);
        /* Let it get going (bounded), then kill it at a random point of its loop. */
        uint64_t until = ft_now_ns() + (uint64_t)FT_WAIT_MS * 1000000u;
        for (;;) {
            uint64_t now_v = 0;
            char why[256] = "";
            int rc = st_read(reader, ST_VALUE_MIN, MAX_SIZE, &now_v, NULL, why, sizeof why);
            CHECK_MSG(rc == FERRY_OK || rc == FERRY_EAGAIN, "round %d: read %d %s", round, rc, why);
            if (rc == FERRY_OK && now_v > last)
                break;
            CHECK_MSG(ft_now_ns() < until, "round %d: the writer published nothing", round);
            ft_sleep_ms(1);
        }
        ft_sleep_ms(10 + (unsigned)(rand() % 50));
        ft_peer_kill(&w);

        uint64_t v = st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL);
        CHECK_MSG(v > last, "round %d: version %llu after the crash, %llu before the writer opened", round,
                  (unsigned long long)v, (unsigned long long)last);
        ft_sleep_ms(20);
        uint64_t again = st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL);
        CHECK_MSG(again == v, "round %d: version %llu, then %llu, with the writer dead", round,
                  (unsigned long long)v, (unsigned long long)again);
        printf("round %d: writer killed at version %llu (opened at %llu)\n", round, (unsigned long long)v, base);
        last = v;
    }

    for (int i = 0; i < 2; i++) {
        const char *r = st_peer_later_ok(&readers[i], line, sizeof line, 10000);
        unsigned long long reads, torn, back, badsize, distinct, first, lastv;
        CHECK_MSG(sscanf(r, "%llu %llu %llu %llu %llu %llu %llu", &reads, &torn, &back, &badsize, &distinct, &first,
                         &lastv) == 7,
                  "reader %d replied '%s'", i, line);
        printf("reader %d: %llu reads, %llu versions (%llu..%llu), torn %llu, backwards %llu, bad size %llu\n", i,
               reads, distinct, first, lastv, torn, back, badsize);
        CHECK_MSG(torn == 0 && back == 0 && badsize == 0, "reader %d:%s", i, r);
        CHECK_MSG(lastv <= last, "reader %d saw version %llu, more than was published (%llu)", i, lastv,
                  (unsigned long long)last);
        CHECK_MSG(distinct >= 2, "reader %d saw %llu versions", i, distinct);
    }

    /* A writer in this process goes on from there. */
    st_writer sw;
    CHECK_OK(st_writer_open(&sw, node, SERVICE, &opts));
    CHECK_EQ(sw.version, last);
    uint64_t v = 0;
    CHECK_OK(st_publish(&sw, ST_VALUE_MIN, MAX_SIZE, &v));
    CHECK_EQ(v, last + 1);
    CHECK_EQ(st_read_ok(reader, ST_VALUE_MIN, MAX_SIZE, NULL), last + 1);
    for (int i = 0; i < 2; i++) {
        const char *r = ft_peer_ok(&readers[i], line, sizeof line, "read %u %u", ST_VALUE_MIN, MAX_SIZE);
        unsigned long long got = 0;
        CHECK_MSG(sscanf(r, "%llu", &got) == 1 && got == last + 1, "reader %d read%s", i, r);
        ft_peer_finish(&readers[i]);
    }
    ferry_state_writer_close(sw.w);
    ferry_state_reader_close(reader);
    st_finish_domain(domain, node);
    return ft_pass();
}
