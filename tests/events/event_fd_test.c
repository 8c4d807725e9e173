/*
 * event_fd_test: ferry_sub_fd and ferry_listener_fd under epoll, next to a
 * user pipe; the publisher and the notifier are in another process.
 *  - with nothing pending no fd is readable;
 *  - samples make the subscriber's fd readable and nothing else; it stays
 *    readable (level-triggered: repeated epoll_wait calls report it) while
 *    samples remain queued, and is not readable once a take has found the
 *    queue empty (FERRY_EAGAIN);
 *  - events make the listener's fd readable and nothing else; it stays
 *    readable while ids remain pending (collected one at a time), and is not
 *    readable once a collection found nothing;
 *  - the pipe is independent of both;
 *  - all three at once are reported together;
 *  - an epoll_wait asleep on the fds is woken by a sample / an event that
 *    the other process sends 50 ms later;
 *  - asking for the fd when something is already pending gives a readable
 *    fd at once; asking twice gives the same fd;
 *  - a publisher that closes makes the subscriber's fd readable until the
 *    next empty take; ferry_sub_wait then reports FERRY_EDISCONNECTED once.
 */
#include "ev_support.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

enum { T_SUB = 1, T_LIS = 2, T_PIPE = 4 };

static const char *names(unsigned m)
{
    static char bufs[4][64]; /* several in one message */
    static unsigned next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, sizeof bufs[0], "%s%s%s%s", m ? "" : "none", (m & T_SUB) ? "sub " : "", (m & T_LIS) ? "listener " : "",
             (m & T_PIPE) ? "pipe" : "");
    return buf;
}

/* What one epoll_wait reports within timeout_ms. */
static unsigned ready_once(int epfd, int timeout_ms)
{
    struct epoll_event ev[8];
    int n;
    do
        n = epoll_wait(epfd, ev, 8, timeout_ms);
    while (n < 0 && errno == EINTR);
    CHECK_MSG(n >= 0, "epoll_wait: %s", strerror(errno));
    unsigned m = 0;
    for (int i = 0; i < n; i++) {
        CHECK(ev[i].events & EPOLLIN);
        m |= ev[i].data.u32;
    }
    return m;
}

/* Waits (at most 3 s) until every source of want is readable; returns what
 * is then readable. */
static unsigned ready_until(int epfd, unsigned want)
{
    uint64_t t0 = ft_now_ns();
    unsigned m = 0;
    while ((m & want) != want && ev_ms_since(t0) < 3000.0)
        m |= ready_once(epfd, 50);
    CHECK_MSG((m & want) == want, "after 3 s only %s readable", names(m));
    return ready_once(epfd, 0);
}

#define EXPECT_READY(epfd, ms, want)                                                                   \
    do {                                                                                               \
        unsigned got_ = ready_once(epfd, ms);                                                          \
        CHECK_MSG(got_ == (unsigned)(want), "readable: %s; expected %s", names(got_), names(want));    \
    } while (0)

static void add(int epfd, int fd, unsigned tag)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0);
}

static void take_one(ferry_sub *sub)
{
    const void *p = NULL;
    CHECK_OK(ferry_sub_take(sub, &p, NULL));
    ferry_sub_release(sub, p);
    CHECK_LAST_ERROR(FERRY_OK);
}

static void collect_one(ferry_listener *l, uint32_t want)
{
    uint32_t id = 0;
    size_t n = 0;
    CHECK_OK(ferry_listener_try_wait(l, &id, 1, &n));
    CHECK_EQ(n, 1);
    CHECK_EQ(id, want);
}

static void collect_none(ferry_listener *l)
{
    uint32_t ids[4];
    size_t n = 9;
    CHECK_RC(ferry_listener_try_wait(l, ids, 4, &n), FERRY_EAGAIN);
    CHECK_EQ(n, 0);
}

int main(void)
{
    ft_init("event_fd_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "evfd");
    char line[1024];
    ferry_node *node = ft_node_open(domain, "local");

    ft_peer peer;
    ev_peer_start(&peer, domain, "source");
    ft_peer_ok(&peer, line, sizeof line, "pub fd/s q=8");
    ft_peer_ok(&peer, line, sizeof line, "notifier fd/e 63");

    ferry_pubsub_opts po;
    ferry_pubsub_opts_init(&po);
    po.queue_capacity = 8;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_sub_open(&sub, node, "fd/s", &po));
    ferry_event_opts eo = ev_event_opts(63);
    ferry_listener *lis = NULL;
    CHECK_OK(ferry_listener_open(&lis, node, "fd/e", &eo));
    int sfd = ferry_sub_fd(sub);
    CHECK_MSG(sfd >= 0, "ferry_sub_fd returned %d", sfd);
    CHECK_EQ(ferry_sub_fd(sub), sfd);
    int lfd = ferry_listener_fd(lis);
    CHECK_MSG(lfd >= 0, "ferry_listener_fd returned %d", lfd);
    CHECK_EQ(ferry_listener_fd(lis), lfd);
    CHECK(sfd != lfd);
    int pfd[2];
    CHECK(pipe(pfd) == 0);

    int epfd = epoll_create1(EPOLL_CLOEXEC);
    CHECK(epfd >= 0);
    add(epfd, sfd, T_SUB);
    add(epfd, lfd, T_LIS);
    add(epfd, pfd[0], T_PIPE);

    /* ---- nothing pending ----------------------------------------------------- */
    EXPECT_READY(epfd, 50, 0);
    CHECK(!ev_readable(sfd, 0));
    CHECK(!ev_readable(lfd, 0));

    /* ---- samples: level-triggered ------------------------------------------- */
    ft_peer_ok(&peer, line, sizeof line, "send 3");
    CHECK_EQ(ready_until(epfd, T_SUB), T_SUB);
    EXPECT_READY(epfd, 0, T_SUB); /* still: epoll_wait does not consume */
    CHECK(ev_readable(sfd, 0));
    take_one(sub);
    EXPECT_READY(epfd, 0, T_SUB);
    take_one(sub);
    EXPECT_READY(epfd, 0, T_SUB);
    CHECK(ev_readable(sfd, 0));
    take_one(sub);
    const void *p = NULL;
    CHECK_RC(ferry_sub_take(sub, &p, NULL), FERRY_EAGAIN);
    EXPECT_READY(epfd, 50, 0);
    CHECK(!ev_readable(sfd, 0));

    /* ---- events: level-triggered -------------------------------------------- */
    ft_peer_ok(&peer, line, sizeof line, "notify 3");
    ft_peer_ok(&peer, line, sizeof line, "notify 7");
    CHECK_EQ(ready_until(epfd, T_LIS), T_LIS);
    EXPECT_READY(epfd, 0, T_LIS);
    collect_one(lis, 3);
    EXPECT_READY(epfd, 0, T_LIS);
    CHECK(ev_readable(lfd, 0));
    collect_one(lis, 7);
    collect_none(lis);
    EXPECT_READY(epfd, 50, 0);
    CHECK(!ev_readable(lfd, 0));

    /* ---- the pipe alone ---------------------------------------------------------- */
    CHECK(write(pfd[1], "x", 1) == 1);
    EXPECT_READY(epfd, 1000, T_PIPE);
    char c;
    CHECK(read(pfd[0], &c, 1) == 1);
    EXPECT_READY(epfd, 50, 0);

    /* ---- all three ------------------------------------------------------------- */
    ft_peer_ok(&peer, line, sizeof line, "send 2");
    ft_peer_ok(&peer, line, sizeof line, "notify 1");
    CHECK(write(pfd[1], "y", 1) == 1);
    CHECK_EQ(ready_until(epfd, T_SUB | T_LIS | T_PIPE), T_SUB | T_LIS | T_PIPE);
    CHECK_EQ(ev_drain(sub), 2);
    EXPECT_READY(epfd, 0, T_LIS | T_PIPE);
    collect_one(lis, 1);
    collect_none(lis);
    EXPECT_READY(epfd, 0, T_PIPE);
    CHECK(read(pfd[0], &c, 1) == 1);
    EXPECT_READY(epfd, 50, 0);

    /* ---- an epoll_wait asleep is woken ----------------------------------------- */
    for (int round = 0; round < 3; round++) {
        ft_peer_ok(&peer, line, sizeof line, "after 50 send 1");
        uint64_t t0 = ft_now_ns();
        unsigned m = ready_once(epfd, 3000);
        double ms = ev_ms_since(t0);
        CHECK_MSG(m == T_SUB, "after %.1f ms: readable %s, expected sub", ms, names(m));
        CHECK_MSG(ms < 1000.0, "epoll woke %.1f ms after the wait began", ms);
        ev_peer_later_ok(&peer, line, sizeof line, 5000);
        CHECK_EQ(ev_drain(sub), 1);
        EXPECT_READY(epfd, 0, 0);

        ft_peer_ok(&peer, line, sizeof line, "after 50 notify %d", 20 + round);
        t0 = ft_now_ns();
        m = ready_once(epfd, 3000);
        ms = ev_ms_since(t0);
        CHECK_MSG(m == T_LIS, "after %.1f ms: readable %s, expected listener", ms, names(m));
        CHECK_MSG(ms < 1000.0, "epoll woke %.1f ms after the wait began", ms);
        ev_peer_later_ok(&peer, line, sizeof line, 5000);
        collect_one(lis, (uint32_t)(20 + round));
        collect_none(lis);
        EXPECT_READY(epfd, 0, 0);
    }

    /* ---- the fd asked for while something is pending ----------------------------- */
    ferry_sub *sub2 = NULL;
    CHECK_OK(ferry_sub_open(&sub2, node, "fd/s", &po));
    ferry_listener *lis2 = NULL;
    CHECK_OK(ferry_listener_open(&lis2, node, "fd/e", &eo));
    ft_peer_ok(&peer, line, sizeof line, "send 1");
    ft_peer_ok(&peer, line, sizeof line, "notify 11");
    CHECK_EQ(ready_until(epfd, T_SUB | T_LIS), T_SUB | T_LIS);
    CHECK_OK(ferry_sub_wait(sub2, 1000000000)); /* the sample reached sub2 too */
    int sfd2 = ferry_sub_fd(sub2);
    CHECK(sfd2 >= 0);
    CHECK_MSG(ev_readable(sfd2, 0), "the fd of a subscriber with a queued sample is not readable");
    int lfd2 = ferry_listener_fd(lis2);
    CHECK(lfd2 >= 0);
    CHECK_MSG(ev_readable(lfd2, 0), "the fd of a listener with a pending id is not readable");
    CHECK_EQ(ev_drain(sub2), 1);
    CHECK(!ev_readable(sfd2, 50));
    collect_one(lis2, 11);
    collect_none(lis2);
    CHECK(!ev_readable(lfd2, 50));
    CHECK_EQ(ev_drain(sub), 1);
    collect_one(lis, 11);
    collect_none(lis);
    EXPECT_READY(epfd, 50, 0);

    /* ---- a publisher that leaves: readable until the next empty take ---------- */
    ft_peer_ok(&peer, line, sizeof line, "close_pub");
    CHECK_EQ(ready_until(epfd, T_SUB), T_SUB);
    CHECK_RC(ferry_sub_take(sub, &p, NULL), FERRY_EAGAIN);
    EXPECT_READY(epfd, 50, 0);
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_EDISCONNECTED);
    CHECK_RC(ferry_sub_wait(sub, 0), FERRY_ETIMEDOUT);
    EXPECT_READY(epfd, 50, 0);

    close(epfd);
    close(pfd[0]);
    close(pfd[1]);
    ft_peer_finish(&peer);
    ferry_sub_close(sub2);
    ferry_listener_close(lis2);
    ferry_sub_close(sub);
    ferry_listener_close(lis);
    ev_finish_domain(domain, node);
    return ft_pass();
}
