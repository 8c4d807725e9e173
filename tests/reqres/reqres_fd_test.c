/*
 * reqres_fd_test: ferry_client_fd and ferry_server_fd under poll().
 * In this process:
 *  - the fds are valid, stable across calls, and not readable while there is
 *    nothing to take;
 *  - the server fd becomes readable when a request arrives, and stops being
 *    readable once every request was taken (a take found nothing);
 *  - the client fd becomes readable when a response arrives, and when an
 *    end-of-stream arrives, and stops being readable once taken;
 * Across processes (ferry_rr_peer):
 *  - the client fd here wakes poll() (no timeout fallback) when the peer's
 *    server answers, for 20 calls in a row (a wake-up that finds nothing, as
 *    when the server's response channel first connects, is tolerated at
 *    most twice: poll, take until FERRY_EAGAIN, poll again);
 *  - the server fd here wakes poll() when the peer's client sends.
 */
#include "rr_support.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

static int readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    int rc;
    do {
        rc = poll(&pfd, 1, timeout_ms);
    } while (rc < 0);
    return rc > 0 && (pfd.revents & POLLIN);
}

static void local(ferry_node *node)
{
    ferry_reqres_opts o;
    rr_opts_default(&o);
    ferry_server *s = rr_server_open(node, "rr/fd-local", &o);
    ferry_client *c = rr_client_open(node, "rr/fd-local", &o);
    int sfd = ferry_server_fd(s), cfd = ferry_client_fd(c);
    CHECK_MSG(sfd >= 0, "ferry_server_fd: %d", sfd);
    CHECK_MSG(cfd >= 0, "ferry_client_fd: %d", cfd);
    CHECK_EQ(ferry_server_fd(s), sfd);
    CHECK_EQ(ferry_client_fd(c), cfd);
    CHECK(!readable(sfd, 0));
    CHECK(!readable(cfd, 0));

    uint64_t id, got;
    CHECK_OK(rr_send(c, 1, 1, 1, RR_END_FINISH, &id));
    CHECK_MSG(readable(sfd, 2000), "server fd not readable after a request arrived");
    CHECK(!readable(cfd, 0));
    ferry_call call;
    const void *req, *resp;
    size_t size;
    int last;
    CHECK_OK(ferry_server_take(s, &call, &req, &size));
    ferry_call none;
    const void *none_req;
    CHECK_RC(ferry_server_take(s, &none, &none_req, &size), FERRY_EAGAIN);
    CHECK_MSG(!readable(sfd, 0), "server fd still readable after every request was taken");

    CHECK_OK(ferry_server_respond_copy(s, call, "part", 4, 0));
    CHECK_MSG(readable(cfd, 2000), "client fd not readable after a response arrived");
    CHECK_OK(ferry_client_take(c, &got, &resp, &size, &last));
    CHECK(got == id && last == 0);
    ferry_client_release(c, resp);
    CHECK_RC(ferry_client_take(c, &got, &resp, &size, &last), FERRY_EAGAIN);
    CHECK_MSG(!readable(cfd, 0), "client fd still readable after every response was taken");

    CHECK_OK(ferry_server_finish(s, call));
    CHECK_MSG(readable(cfd, 2000), "client fd not readable after an end-of-stream arrived");
    CHECK_OK(ferry_client_take(c, &got, &resp, &size, &last));
    CHECK(got == id && resp == NULL && last == 1);
    CHECK_RC(ferry_client_take(c, &got, &resp, &size, &last), FERRY_EAGAIN);
    CHECK_MSG(!readable(cfd, 0), "client fd still readable after the end-of-stream was taken");
    ferry_client_close(c);
    ferry_server_close(s);
}

int main(void)
{
    ft_init("reqres_fd_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrfd");
    char line[1024], words[512], why[512];
    ferry_node *node = ft_node_open(domain, "poller");
    local(node);

    ferry_reqres_opts o;
    rr_opts_default(&o);
    rr_opts_format(&o, words, sizeof words);

    /* Client here, server there. */
    ft_peer peer;
    rr_peer_start(&peer, domain, "fd-peer");
    ft_peer_ok(&peer, line, sizeof line, "server rr/fd-a %s", words);
    ft_peer_ok(&peer, line, sizeof line, "serve 9");
    ferry_client *c = rr_client_open(node, "rr/fd-a", &o);
    int cfd = ferry_client_fd(c);
    CHECK(cfd >= 0);
    CHECK_OK(ferry_client_wait_server(c, 5000000000ll));
    unsigned spurious = 0;
    for (uint64_t seq = 1; seq <= 20; seq++) {
        uint64_t id, got;
        CHECK_OK(rr_send(c, 2, seq, 0, RR_END_LAST, &id));
        const void *resp;
        size_t size;
        int last, trc;
        uint64_t deadline = ft_now_ns() + 3000000000ull;
        for (;;) {
            CHECK_MSG(ft_now_ns() < deadline && readable(cfd, 3000),
                      "call %llu: client fd not readable within 3 s of the server's answer", (unsigned long long)seq);
            trc = ferry_client_take(c, &got, &resp, &size, &last);
            if (trc != FERRY_EAGAIN)
                break;
            spurious++; /* a wake-up without a response: poll again */
        }
        CHECK_OK(trc);
        CHECK_EQ(got, id);
        CHECK_MSG(rr_resp_check(resp, size, 2, seq, seq, 0, NULL, why, sizeof why) == 0, "%s", why);
        ferry_client_release(c, resp);
        CHECK_RC(ferry_client_take(c, &got, &resp, &size, &last), FERRY_EAGAIN);
    }
    /* The server's response channel connects to this client at its first
     * response, and the connection itself wakes the fd: one early wake-up
     * is allowed, not one per call. */
    printf("cross-process: %u wake-up(s) without a response in 20 calls\n", spurious);
    CHECK_MSG(spurious <= 2, "%u of 20 wake-ups found no response", spurious);
    const char *r = ft_peer_ok(&peer, line, sizeof line, "stop");
    CHECK_EQ(rr_reply_field(r, "served"), 20);
    ferry_client_close(c);

    /* Server here, client there. */
    ferry_server *s = rr_server_open(node, "rr/fd-b", &o);
    int sfd = ferry_server_fd(s);
    CHECK(sfd >= 0);
    CHECK(!readable(sfd, 0));
    ft_peer_ok(&peer, line, sizeof line, "client rr/fd-b %s", words);
    ft_peer_ok(&peer, line, sizeof line, "send 1 4 %d", RR_END_LAST);
    CHECK_MSG(readable(sfd, 3000), "server fd not readable within 3 s of a request from another process");
    ferry_call call;
    const void *req;
    size_t size;
    CHECK_OK(ferry_server_take(s, &call, &req, &size));
    CHECK_MSG(rr_req_check(req, size, why, sizeof why) == 0, "%s", why);
    CHECK_OK(ferry_server_finish(s, call));
    ft_peer_finish(&peer);
    ferry_server_close(s);
    rr_finish_domain(domain, node);
    return rr_pass();
}
