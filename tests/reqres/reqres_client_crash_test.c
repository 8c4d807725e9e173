/*
 * reqres_client_crash_test: a client process is killed (SIGKILL) while its
 * calls are open. Server in this process, clients in ferry_rr_peer.
 *  - the server took two of the dead client's three requests before the
 *    kill and takes the third after it (still readable);
 *  - ferry_server_respond to a call of the dead client is
 *    FERRY_EDISCONNECTED at the latest once its response queue is full
 *    (liveness is checked then, not on every response); afterwards the call counts as ended
 *    (respond: FERRY_EINVAL) and ferry_server_finish is FERRY_OK; finishing
 *    the other calls without responding is FERRY_OK too;
 *  - ferry_server_wait neither fails nor hangs because a client left;
 *  - the server keeps serving a live client (200 checked calls);
 *  - after ferry_cleanup nothing of the dead client remains: its node is not
 *    listed, the service counts one client, and /dev/shm holds exactly what
 *    it held before the dead client started;
 *  - nothing of the domain is left at the end.
 */
#include "rr_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE "rr/crash-client"

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

static int snapshot(const char *domain, char (*names)[FT_SHM_NAME])
{
    int n = ft_shm_list(domain, names, FT_SHM_MAX);
    CHECK(n <= FT_SHM_MAX);
    qsort(names, (size_t)n, FT_SHM_NAME, cmp_names);
    return n;
}

/* Responds to call until FERRY_EDISCONNECTED (at most limit times); returns
 * how many responds returned FERRY_OK before that, or -1 if none failed. */
static int respond_until_disconnected(ferry_server *s, ferry_call call, const struct rr_req *req, int limit)
{
    for (int ok = 0; ok < limit; ok++) {
        void *p = NULL;
        CHECK_OK(ferry_server_loan(s, call, rr_resp_size(req), &p));
        rr_resp_fill(p, req, 31, (uint32_t)ok);
        int rc = ferry_server_respond(s, call, p, 0);
        if (rc == FERRY_EDISCONNECTED)
            return ok;
        if (rc == FERRY_EAGAIN) {
            /* A dead client's full queue must not stay "full" forever. */
            ferry_server_discard(s, p);
            rr_soft_fail_(__FILE__, __LINE__, "ferry_server_respond",
                          "FERRY_EAGAIN for a dead client after %d responses", ok);
            return -1;
        }
        CHECK_OK(rc);
    }
    return -1;
}

int main(void)
{
    ft_init("reqres_client_crash_test", 25);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrcrashc");
    char line[1024], words[512];
    ferry_reqres_opts o;
    rr_opts_default(&o);
    rr_opts_format(&o, words, sizeof words);
    ferry_node *node = ft_node_open(domain, "server");
    ferry_server *s = rr_server_open(node, SERVICE, &o);

    ft_peer alive, victim;
    rr_peer_start(&alive, domain, "client-alive");
    ft_peer_ok(&alive, line, sizeof line, "client %s %s", SERVICE, words);
    static char before[FT_SHM_MAX][FT_SHM_NAME], after[FT_SHM_MAX][FT_SHM_NAME];
    int nbefore = snapshot(domain, before);

    rr_peer_start(&victim, domain, "client-victim");
    ft_peer_ok(&victim, line, sizeof line, "client %s %s", SERVICE, words);
    ft_peer_ok(&victim, line, sizeof line, "send 3 7 %d", RR_END_LAST);
    CHECK_EQ(rr_service_counts(domain, SERVICE).clients, 2);
    ferry_call calls[3];
    /* Copies of the requests with their tails (responses echo the tail). */
    static struct {
        struct rr_req req;
        unsigned char tail[RR_TAIL_MAX];
    } copies[3];
    const struct rr_req *reqs[3] = {&copies[0].req, &copies[1].req, &copies[2].req};
    for (int i = 0; i < 2; i++) {
        const void *req;
        size_t size;
        char why[256];
        CHECK_OK(rr_server_take_wait(s, &calls[i], &req, &size, FT_WAIT_MS));
        CHECK_MSG(rr_req_check(req, size, why, sizeof why) == 0, "%s", why);
        CHECK(size <= sizeof copies[i]);
        memcpy(&copies[i], req, size);
        CHECK_EQ(reqs[i]->client, 7);
    }
    long victim_pid = (long)victim.pid;
    ft_peer_kill(&victim);
    {
        const void *req;
        size_t size;
        char why[256];
        CHECK_OK(rr_server_take_wait(s, &calls[2], &req, &size, FT_WAIT_MS));
        CHECK_MSG(rr_req_check(req, size, why, sizeof why) == 0, "%s", why);
        CHECK(size <= sizeof copies[2]);
        memcpy(&copies[2], req, size);
        CHECK_EQ(reqs[2]->client, 7);
    }

    /* Responding to the dead client. The documented contract: a response is
     * checked against the client's liveness when its queue is full (a check
     * on every response would cost system calls on the hot path), so at most
     * response_queue responses are accepted before FERRY_EDISCONNECTED. */
    int ok = respond_until_disconnected(s, calls[0], reqs[0], (int)o.response_queue + 4);
    SOFT_CHECK(ok >= 0 && ok <= (int)o.response_queue,
               "ferry_server_respond to a call of a killed (and reaped) client returned FERRY_OK %d time(s) "
               "before FERRY_EDISCONNECTED (-1: never, within response_queue + 4 = %u responds)",
               ok, o.response_queue + 4);
    void *p = NULL;
    if (ok >= 0) {
        /* The call ended with the client. */
        CHECK_RC(ferry_server_loan(s, calls[0], 8, &p), FERRY_EINVAL);
        CHECK_RC(ferry_server_respond_copy(s, calls[0], "late", 4, 0), FERRY_EINVAL);
    }
    CHECK_OK(ferry_server_finish(s, calls[0]));
    ok = respond_until_disconnected(s, calls[2], reqs[2], (int)o.response_queue + 4);
    SOFT_CHECK(ok == 0, "responding to the dead client's request taken after the kill (its queue is full by now): "
                        "FERRY_OK %d time(s)", ok);
    CHECK_OK(ferry_server_finish(s, calls[2]));
    CHECK_OK(ferry_server_finish(s, calls[1])); /* no response at all: the end marker is best effort */
    int rc = ferry_server_wait(s, 200000000);
    CHECK_MSG(rc == FERRY_OK || rc == FERRY_ETIMEDOUT, "ferry_server_wait after a client died: %d", rc);

    /* The live client is served as before. */
    ft_peer_ok(&alive, line, sizeof line, "wait_server 5000");
    ft_peer_send(&alive, "calls 200 5 0 %d 8 15000", RR_END_LAST);
    struct rr_server_stats ss;
    memset(&ss, 0, sizeof ss);
    rc = rr_serve_until_reply(s, 31, &ss, &alive, 20000);
    CHECK_MSG(rc == FERRY_OK, "serving the live client: %d %s", rc, ss.problem);
    const char *r = rr_peer_later_ok(&alive, line, sizeof line, FT_WAIT_MS);
    CHECK_EQ(rr_reply_field(r, "calls"), 200);
    CHECK_EQ(ss.served, 200);
    CHECK_EQ(ss.disconnected, 0);

    /* Nothing of the dead client after cleanup. */
    unsigned removed = 0;
    CHECK_OK(ferry_cleanup(domain, &removed));
    printf("ferry_cleanup removed %u objects\n", removed);
    CHECK_EQ(rr_node_listed(domain, victim_pid, NULL), 0);
    rr_counts k = rr_service_counts(domain, SERVICE);
    CHECK_EQ(k.clients, 1);
    CHECK_EQ(k.servers, 1);
    int nafter = snapshot(domain, after);
    int same = nafter == nbefore;
    for (int i = 0; same && i < nafter; i++)
        same = strcmp(before[i], after[i]) == 0;
    if (!same) {
        fprintf(stderr, "before the dead client:\n");
        for (int i = 0; i < nbefore; i++)
            fprintf(stderr, "  %s\n", before[i]);
        fprintf(stderr, "after its death and ferry_cleanup:\n");
        for (int i = 0; i < nafter; i++)
            fprintf(stderr, "  %s\n", after[i]);
    }
    CHECK_MSG(same, "/dev/shm differs from before the dead client started (listed above)");

    ft_peer_finish(&alive);
    ferry_server_close(s);
    rr_finish_domain(domain, node);
    return rr_pass();
}
