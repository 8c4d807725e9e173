/*
 * Shared helpers of the event and wait tests (tests/events/).
 *
 * The other process of these tests is ferry_ev_peer (ev_peer.c), started by
 * fork+exec (posix_spawn) and driven through the ft_peer functions of
 * tests/support/peer.h (ft_peer_send, ft_peer_reply, ft_peer_ok, ft_peer_kill,
 * ft_peer_finish...), which only need the pipes and pid it fills in.
 */
#ifndef FERRY_EV_SUPPORT_H
#define FERRY_EV_SUPPORT_H

#include "ferry_test.h"
#include "peer.h"

#include <stddef.h>
#include <stdint.h>

/* Starts ferry_ev_peer in domain and opens its node named name. */
void ev_peer_start(ft_peer *peer, const char *domain, const char *name);

/* Reads a second-line reply ("ok ...", from an "after" or "notifyfor"
 * command) within timeout_ms; fails the test on "err". Returns line + 2. */
const char *ev_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms);

/* Reaps a peer that exits by itself (after "after <ms> exit"): it must exit
 * with status 0 within timeout_ms. */
void ev_peer_reap(ft_peer *peer, unsigned timeout_ms);

/* Milliseconds since t0 (ft_now_ns). */
double ev_ms_since(uint64_t t0);

/* 1 when fd is readable within timeout_ms (poll), 0 otherwise. */
int ev_readable(int fd, int timeout_ms);

/* Wait options in one call; fails the test on error. */
void ev_sub_wait_opts(ferry_sub *sub, int64_t spin_ns, int64_t liveness_ns);
void ev_listener_wait_opts(ferry_listener *l, int64_t spin_ns, int64_t liveness_ns);

/* Event options with max_event_id (the rest default). */
ferry_event_opts ev_event_opts(uint32_t max_event_id);

/* Collects with ferry_listener_wait until nothing more comes within
 * quiet_ms; ORs every id into seen (ids < 64, bit 63 for PEER_GONE) and
 * returns how many ids were collected in all. */
size_t ev_collect_all(ferry_listener *l, uint64_t *seen, unsigned quiet_ms);

/* Takes every queued sample (until FERRY_EAGAIN), releasing each; returns how many. */
unsigned ev_drain(ferry_sub *sub);

/* Closes node and checks that nothing of domain is left in /dev/shm. No
 * ferry_cleanup here: a test that killed a peer calls it right after the
 * kill, so that leftovers of normal closes are not swept away unseen. */
void ev_finish_domain(const char *domain, ferry_node *node);

#endif
