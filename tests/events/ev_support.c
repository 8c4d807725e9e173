#include "ev_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FERRY_EV_PEER_PATH
#error "FERRY_EV_PEER_PATH must name the ferry_ev_peer executable"
#endif

void ev_peer_start(ft_peer *peer, const char *domain, const char *name)
{
    ft_peer_start_program(peer, FERRY_EV_PEER_PATH, domain);
    char line[256];
    ft_peer_ok(peer, line, sizeof line, "node %s", name);
}

const char *ev_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms)
{
    return ft_peer_later_ok(peer, line, size, timeout_ms);
}

void ev_peer_reap(ft_peer *peer, unsigned timeout_ms)
{
    uint64_t t0 = ft_now_ns();
    int status = 0;
    for (;;) {
        pid_t r = waitpid(peer->pid, &status, WNOHANG);
        if (r == peer->pid)
            break;
        CHECK_MSG(r == 0 || errno == EINTR, "waitpid(%ld): %s", (long)peer->pid, strerror(errno));
        CHECK_MSG(ev_ms_since(t0) < (double)timeout_ms, "peer %ld did not exit within %u ms", (long)peer->pid,
                  timeout_ms);
        ft_sleep_ms(2);
    }
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peer %ld ended with status 0x%x", (long)peer->pid,
              status);
    ft_unregister_pid_(peer->pid);
    close(peer->to_fd);
    close(peer->from_fd);
    peer->to_fd = peer->from_fd = -1;
}

double ev_ms_since(uint64_t t0) { return (double)(ft_now_ns() - t0) / 1e6; }

int ev_readable(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    uint64_t deadline = ft_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        int left = (int)(((int64_t)deadline - (int64_t)ft_now_ns()) / 1000000);
        int rc = poll(&p, 1, left < 0 ? 0 : left);
        if (rc < 0 && errno == EINTR)
            continue;
        CHECK_MSG(rc >= 0, "poll: %s", strerror(errno));
        return rc > 0 && (p.revents & POLLIN);
    }
}

void ev_sub_wait_opts(ferry_sub *sub, int64_t spin_ns, int64_t liveness_ns)
{
    ferry_wait_opts wo;
    ferry_wait_opts_init(&wo);
    wo.spin_ns = spin_ns;
    wo.liveness_ns = liveness_ns;
    CHECK_OK(ferry_sub_set_wait_opts(sub, &wo));
}

void ev_listener_wait_opts(ferry_listener *l, int64_t spin_ns, int64_t liveness_ns)
{
    ferry_wait_opts wo;
    ferry_wait_opts_init(&wo);
    wo.spin_ns = spin_ns;
    wo.liveness_ns = liveness_ns;
    CHECK_OK(ferry_listener_set_wait_opts(l, &wo));
}

ferry_event_opts ev_event_opts(uint32_t max_event_id)
{
    ferry_event_opts o;
    ferry_event_opts_init(&o);
    o.max_event_id = max_event_id;
    return o;
}

size_t ev_collect_all(ferry_listener *l, uint64_t *seen, unsigned quiet_ms)
{
    size_t total = 0;
    for (;;) {
        uint32_t ids[128];
        size_t n = 0;
        int rc = ferry_listener_wait(l, ids, 128, &n, (int64_t)quiet_ms * 1000000);
        if (rc == FERRY_ETIMEDOUT) {
            CHECK_EQ(n, 0);
            return total;
        }
        CHECK_OK(rc);
        CHECK(n > 0 && n <= 128);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                CHECK_MSG(ids[i] > ids[i - 1], "ids not in increasing order: %u after %u", (unsigned)ids[i],
                          (unsigned)ids[i - 1]);
            if (ids[i] == FERRY_EVENT_PEER_GONE)
                *seen |= 1ull << 63;
            else if (ids[i] < 63)
                *seen |= 1ull << ids[i];
        }
        total += n;
    }
}

unsigned ev_drain(ferry_sub *sub)
{
    unsigned n = 0;
    for (;;) {
        const void *p = NULL;
        int rc = ferry_sub_take(sub, &p, NULL);
        if (rc == FERRY_EAGAIN)
            return n;
        CHECK_OK(rc);
        ferry_sub_release(sub, p);
        CHECK_LAST_ERROR(FERRY_OK);
        n++;
    }
}

void ev_finish_domain(const char *domain, ferry_node *node)
{
    ferry_node_close(node);
    ft_check_no_shm(domain);
}
