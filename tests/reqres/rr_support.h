/*
 * Helpers of the request-response tests (tests/reqres/), on top of the
 * suite's support library (ferry_test.h, peer.h).
 *
 * The other process of these tests is ferry_rr_peer (rr_peer.c), started by
 * fork+exec (posix_spawn) and driven through the ft_peer functions of
 * tests/support/peer.h, which only need the pipes and pid rr_peer_start
 * fills in.
 */
#ifndef FERRY_RR_SUPPORT_H
#define FERRY_RR_SUPPORT_H

#include "ferry_test.h"
#include "peer.h"
#include "rr_proto.h"

#include <stddef.h>
#include <stdint.h>

/* Starts ferry_rr_peer in domain and opens its node named name (NULL: none). */
void rr_peer_start(ft_peer *peer, const char *domain, const char *name);

/* Reads a reply that comes later (after "serve": the reply to "stop"),
 * within timeout_ms; fails the test unless it starts with "ok". Returns line + 2. */
const char *rr_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms);

/* The number after "key=" in a reply; -1 when absent. */
long long rr_reply_field(const char *reply, const char *key);
/* In "key=t:c,t:c,...": the count c of tag t, 0 when absent. */
long long rr_reply_count(const char *reply, const char *key, uint64_t tag);
/* Sum of the counts in "key=t:c,...", and how many tags there are (*ntags). */
long long rr_reply_sum(const char *reply, const char *key, int *ntags);

/* ---- soft checks: report, go on, fail at the end -------------------------- */

/* Like CHECK, but the test goes on (to clean up and to find more): the
 * failure is printed at once and rr_pass() exits 1. */
void rr_soft_fail_(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define SOFT_CHECK(cond, ...)                                         \
    do {                                                              \
        if (!(cond))                                                  \
            rr_soft_fail_(__FILE__, __LINE__, #cond, __VA_ARGS__);    \
    } while (0)
int rr_soft_failures(void);
/* ft_pass() if no soft check failed; otherwise prints FAIL and exits 1. */
int rr_pass(void);

/* ---- waiting, bounded ------------------------------------------------------------ */

/* ferry_client_take retried (busy, with short pauses) while FERRY_EAGAIN,
 * for at most timeout_ms; returns the last result. */
int rr_client_take_wait(ferry_client *c, uint64_t *id, const void **resp, size_t *size, int *last,
                        unsigned timeout_ms);
/* ferry_server_take retried while FERRY_EAGAIN, for at most timeout_ms. */
int rr_server_take_wait(ferry_server *s, ferry_call *call, const void **req, size_t *size, unsigned timeout_ms);

/* Loans, fills (rr_req_fill) and sends one request; returns the send's
 * result, the call id to *id. On a failure that leaves the loan with the
 * caller, it is discarded. */
int rr_send(ferry_client *c, uint64_t tag, uint64_t seq, uint32_t parts, uint32_t mode, uint64_t *id);

/* Serves requests in this process (rr_serve_available, ferry_server_wait in
 * 10 ms steps) until peer has a reply line to read, for at most timeout_ms
 * (then the test fails). Returns the serving result. */
int rr_serve_until_reply(ferry_server *s, uint64_t tag, struct rr_server_stats *st, ft_peer *peer,
                         unsigned timeout_ms);

/* ---- services, domains ------------------------------------------------------------- */

typedef struct rr_counts {
    int found;
    ferry_pattern pattern;
    uint32_t clients, servers; /* publishers / subscribers of the request channel */
    char type_name[FERRY_TYPE_NAME_MAX + 1];
    char response_type[FERRY_TYPE_NAME_MAX + 1];
} rr_counts;
/* What ferry_service_list says about service in domain. */
rr_counts rr_service_counts(const char *domain, const char *service);

/* Whether ferry_node_list lists a node of process pid (alive: *alive). */
int rr_node_listed(const char *domain, long pid, int *alive);

/* Closes node (NULL: none), runs ferry_cleanup and checks that nothing of
 * domain is left in /dev/shm. */
void rr_finish_domain(const char *domain, ferry_node *node);

/* Milliseconds since t0 (ft_now_ns). */
double rr_ms_since(uint64_t t0);

/* Opens a client / server that must open. */
ferry_client *rr_client_open(ferry_node *node, const char *service, const ferry_reqres_opts *opts);
ferry_server *rr_server_open(ferry_node *node, const char *service, const ferry_reqres_opts *opts);

#endif
