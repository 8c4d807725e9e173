/*
 * crash_subscriber_test: a subscriber process is killed with SIGKILL while it
 * holds taken samples and has a full queue.
 *  DROP_OLDEST, reclaimed by ferry_cleanup:
 *  - ferry_node_list reports the dead node as not alive before cleanup;
 *  - the publisher keeps loaning and sending (thousands of samples), a live
 *    subscriber keeps receiving intact samples;
 *  - ferry_cleanup removes the dead node's objects (removed > 0, /dev/shm back
 *    to what it was before the peer came), its subscriber slot is free again
 *    (max_subscribers 2: a new subscriber opens) and the publisher counts only
 *    live subscribers.
 *  BLOCK, killed while the publisher waits for it:
 *  - ferry_pub_send, waiting for room in the dead subscriber's queue, returns
 *    in bounded time, and later sends do not wait;
 *  - opening a new node removes the dead node (listing, /dev/shm).
 *  Read-only samples:
 *  - a subscriber process that writes into a sample it took dies; the
 *    sample is intact for others and the publisher keeps working.
 */
#include "ferry_test.h"
#include "payload.h"
#include "peer.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct find_node {
    long pid;
    int found;
    int alive;
    int total;
};

static int on_node(const ferry_node_info *info, void *user)
{
    struct find_node *f = user;
    f->total++;
    if (info->pid == f->pid) {
        f->found++;
        f->alive = info->alive;
    }
    return 0;
}

static struct find_node find_pid(const char *domain, long pid)
{
    struct find_node f;
    memset(&f, 0, sizeof f);
    f.pid = pid;
    CHECK_OK(ferry_node_list(domain, on_node, &f));
    return f;
}

static void send_seq(ferry_pub *pub, uint64_t seq)
{
    void *p = NULL;
    CHECK_OK(ferry_pub_loan(pub, 128, &p));
    ft_payload_fill(p, 128, ferry_pub_id(pub), seq);
    CHECK_OK(ferry_pub_send(pub, p));
}

static void drop_oldest_then_cleanup(const char *domain)
{
    char line[1024], opts_text[512];
    ferry_node *node = ft_node_open(domain, "survivor");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 128;
    o.queue_capacity = 4;
    o.max_borrowed = 2;
    o.max_subscribers = 2;
    ft_opts_format(&o, opts_text, sizeof opts_text);
    ferry_pub *pub = NULL;
    ferry_sub *live = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "crash/drop", &o));
    CHECK_OK(ferry_sub_open(&live, node, "crash/drop", &o));
    int baseline = ft_shm_count(domain);

    ft_peer peer;
    ft_peer_start(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "node victim");
    ft_peer_ok(&peer, line, sizeof line, "sub crash/drop %s", opts_text);
    uint64_t seq = 0;
    for (int i = 0; i < 6; i++) {
        send_seq(pub, ++seq);
        CHECK_EQ(ft_recv_checked(live, FT_WAIT_MS), seq);
    }
    /* The victim holds two samples and has a full queue. */
    const char *r = ft_peer_ok(&peer, line, sizeof line, "take 2");
    CHECK_MSG(strcmp(r, " 2 3 4") == 0, "victim took:%s", r);
    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.subscribers, 2);

    long victim_pid = peer.pid;
    ft_peer_kill(&peer);

    struct find_node f = find_pid(domain, victim_pid);
    CHECK_MSG(f.found == 1, "the killed node is listed %d times before cleanup", f.found);
    CHECK_MSG(f.alive == 0, "the killed node is listed as alive");

    /* The publisher keeps working. */
    for (int i = 0; i < 3000; i++) {
        send_seq(pub, ++seq);
        CHECK_EQ(ft_recv_checked(live, FT_WAIT_MS), seq);
    }

    unsigned removed = 0;
    CHECK_OK(ferry_cleanup(domain, &removed));
    CHECK_MSG(removed > 0, "ferry_cleanup removed nothing of the killed node");
    f = find_pid(domain, victim_pid);
    CHECK_EQ(f.found, 0);
    CHECK_EQ(ft_shm_count(domain), baseline);
    unsigned again = 99;
    CHECK_OK(ferry_cleanup(domain, &again));
    CHECK_EQ(again, 0);

    /* The dead subscriber's slot is free, its samples are back. */
    ferry_sub *second = NULL;
    CHECK_OK(ferry_sub_open(&second, node, "crash/drop", &o));
    CHECK_OK(ferry_pub_update(pub));
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.subscribers, 2);
    for (int i = 0; i < 10000; i++) {
        send_seq(pub, ++seq);
        if (i % 1000 == 0) {
            ft_recv_checked(live, FT_WAIT_MS);
            ft_recv_checked(second, FT_WAIT_MS);
        }
    }
    /* Each subscriber ends with the newest samples. */
    ferry_sub *subs[] = {live, second};
    for (int k = 0; k < 2; k++) {
        for (uint64_t s = seq - 3; s <= seq; s++)
            CHECK_EQ(ft_recv_checked(subs[k], FT_WAIT_MS), s);
    }
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

struct reaper {
    ft_peer *peer;
};

static void *reap(void *arg)
{
    struct reaper *r = arg;
    ft_peer_wait_killed(r->peer, 3 * FT_WAIT_MS);
    return NULL;
}

static void block_killed_while_waiting(const char *domain)
{
    char line[1024], opts_text[512];
    ferry_node *node = ft_node_open(domain, "blocked");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 128;
    o.queue_capacity = 2;
    o.max_borrowed = 2;
    o.overflow = FERRY_OVERFLOW_BLOCK;
    ft_opts_format(&o, opts_text, sizeof opts_text);
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "crash/block", &o));
    int baseline = ft_shm_count(domain);

    ft_peer peer;
    ft_peer_start(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "node victim");
    ft_peer_ok(&peer, line, sizeof line, "sub crash/block %s", opts_text);
    uint64_t seq = 0;
    send_seq(pub, ++seq);
    send_seq(pub, ++seq);
    ft_peer_ok(&peer, line, sizeof line, "take 2");
    send_seq(pub, ++seq);
    send_seq(pub, ++seq);
    /* Its queue is full now. */
    void *p = NULL;
    CHECK_OK(ferry_pub_loan(pub, 128, &p));
    ft_payload_fill(p, 128, ferry_pub_id(pub), seq + 1);
    CHECK_RC(ferry_pub_try_send(pub, p), FERRY_EAGAIN);

    /* It dies 300 ms from now, while we wait in ferry_pub_send. A thread
     * reaps it, as the parent of a real subscriber process would. */
    long victim_pid = peer.pid;
    ft_peer_ok(&peer, line, sizeof line, "die 300");
    struct reaper rp = {&peer};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, reap, &rp) == 0);
    uint64_t t0 = ft_now_ns();
    int rc = ferry_pub_send(pub, p);
    uint64_t waited_ms = (ft_now_ns() - t0) / 1000000u;
    CHECK_MSG(rc == FERRY_OK || rc == FERRY_EDISCONNECTED, "send to a dead subscriber gave %d (%s)", rc,
              ferry_strerror(rc));
    CHECK_MSG(waited_ms < FT_WAIT_MS, "send waited %llu ms for a dead subscriber",
              (unsigned long long)waited_ms);
    CHECK(pthread_join(th, NULL) == 0);

    /* Later sends do not wait. */
    t0 = ft_now_ns();
    for (int i = 0; i < 100; i++)
        CHECK_OK(ferry_pub_send_copy(pub, "after", 5));
    CHECK_MSG(ft_now_ns() - t0 < 2000000000u, "sends after the subscriber died are slow");

    /* A new node cleans up after the dead one. */
    ferry_node *fresh = ft_node_open(domain, "fresh");
    struct find_node f = find_pid(domain, victim_pid);
    CHECK_MSG(f.found == 0, "the dead node is still listed after a new node opened");
    ferry_node_close(fresh);
    CHECK_EQ(ft_shm_count(domain), baseline);
    ferry_pub_stats ps;
    CHECK_OK(ferry_pub_update(pub));
    CHECK_OK(ferry_pub_stats_get(pub, &ps));
    CHECK_EQ(ps.subscribers, 0);
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

/* A subscriber process that had forked a helper (which does not use ferry,
 * e.g. a worker that will exec later, or never) is killed. Its node is dead
 * with it: listed as not alive, removed by ferry_cleanup, its subscriber
 * slot freed, although the helper still runs. */
static void killed_with_a_forked_helper(const char *domain)
{
    char line[1024], opts_text[512];
    ferry_node *node = ft_node_open(domain, "parent-watcher");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 128;
    o.max_subscribers = 1;
    ft_opts_format(&o, opts_text, sizeof opts_text);
    ferry_pub *pub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "crash/fork", &o));

    ft_peer peer;
    ft_peer_start(&peer, domain);
    ft_peer_ok(&peer, line, sizeof line, "node forker");
    ft_peer_ok(&peer, line, sizeof line, "sub crash/fork %s", opts_text);
    const char *r = ft_peer_ok(&peer, line, sizeof line, "fork_child 1500");
    long helper = 0;
    CHECK(sscanf(r, "%ld", &helper) == 1 && helper > 0);
    send_seq(pub, 1);
    long pid = peer.pid;
    ft_peer_kill(&peer);

    struct find_node f = find_pid(domain, pid);
    CHECK_EQ(f.found, 1);
    CHECK_MSG(f.alive == 0, "a killed node is listed as alive while a child it forked (pid %ld) runs", helper);
    unsigned removed = 0;
    CHECK_OK(ferry_cleanup(domain, &removed));
    CHECK_MSG(removed > 0, "ferry_cleanup removed nothing of a killed node whose forked child runs");
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "crash/fork", &o)); /* max_subscribers 1: the slot is free */
    send_seq(pub, 2);
    CHECK_EQ(ft_recv_checked(sub, FT_WAIT_MS), 2);
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

/* Samples are mapped read-only in subscribers: a subscriber process that
 * writes into one it took dies with SIGSEGV (sanitizer runtimes are told to
 * leave that signal alone), the publisher's data stays intact and the
 * publisher keeps working. */
static void subscriber_cannot_write(const char *domain)
{
    char line[1024], opts_text[512];
    ferry_node *node = ft_node_open(domain, "owner");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.max_payload = 128;
    ft_opts_format(&o, opts_text, sizeof opts_text);
    ferry_pub *pub = NULL;
    ferry_sub *live = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, "crash/ro", &o));
    CHECK_OK(ferry_sub_open(&live, node, "crash/ro", &o));

    ft_peer peer;
    setenv("ASAN_OPTIONS", "handle_segv=0:handle_sigbus=0", 1);
    setenv("TSAN_OPTIONS", "handle_segv=0:handle_sigbus=0", 1);
    ft_peer_start(&peer, domain);
    unsetenv("ASAN_OPTIONS");
    unsetenv("TSAN_OPTIONS");
    ft_peer_ok(&peer, line, sizeof line, "node vandal");
    ft_peer_ok(&peer, line, sizeof line, "sub crash/ro %s", opts_text);
    send_seq(pub, 1);
    ft_peer_send(&peer, "scribble");
    int status = ft_peer_wait_exit(&peer, 3 * FT_WAIT_MS);
    CHECK_MSG(!(WIFEXITED(status) && WEXITSTATUS(status) == 0),
              "a subscriber wrote into a sample it took and survived (the mapping is writable)");
    CHECK_MSG(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS),
              "the subscriber ended with status 0x%x", status);
    /* The sample is intact for the other subscriber. */
    CHECK_EQ(ft_recv_checked(live, FT_WAIT_MS), 1);
    send_seq(pub, 2);
    CHECK_EQ(ft_recv_checked(live, FT_WAIT_MS), 2);
    CHECK_OK(ferry_cleanup(domain, NULL));
    ferry_node_close(node);
    ft_check_no_shm(domain);
}

int main(void)
{
    ft_init("crash_subscriber_test", 30);
    char d1[FERRY_DOMAIN_MAX + 1], d2[FERRY_DOMAIN_MAX + 1], d3[FERRY_DOMAIN_MAX + 1];
    char d4[FERRY_DOMAIN_MAX + 1];
    ft_domain(d1, "crashsub");
    ft_domain(d2, "crashsubblk");
    ft_domain(d3, "crashsubro");
    ft_domain(d4, "crashsubfork");
    drop_oldest_then_cleanup(d1);
    block_killed_while_waiting(d2);
    subscriber_cannot_write(d3);
    killed_with_a_forked_helper(d4);
    return ft_pass();
}
