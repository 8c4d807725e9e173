/*
 * Helpers of the shared-state tests (tests/state/), on top of the suite's
 * support library.
 *
 * The other process of these tests is ferry_state_peer (state_peer.c),
 * started by fork+exec (posix_spawn) and driven through the ft_peer
 * functions of tests/support/peer.h (ft_peer_send, ft_peer_reply,
 * ft_peer_ok, ft_peer_err, ft_peer_kill, ft_peer_finish), which only need
 * the pipes and pid st_peer_start fills in.
 */
#ifndef FERRY_ST_SUPPORT_H
#define FERRY_ST_SUPPORT_H

#include "ferry_test.h"
#include "peer.h"
#include "st_value.h"

#include <stddef.h>
#include <stdint.h>

/* Starts ferry_state_peer in domain and opens its node named name. */
void st_peer_start(ft_peer *peer, const char *domain, const char *name);

/* Reads a later reply line ("after", "pubfor", "readfor"...) within
 * timeout_ms; fails the test unless it starts with "ok". Returns line + 2. */
const char *st_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms);

/* Milliseconds since t0 (ft_now_ns). */
double st_ms_since(uint64_t t0);

/* A fresh directory from mkdtemp (under $TMPDIR or /tmp); out holds 512 bytes. */
const char *st_tmpdir(char *out);
/* Removes the files in dir, then dir. */
void st_rmdir(const char *dir);

/* The path of the one saved state file in dir (name ending ".ferry-state");
 * returns the number of such files (the path of the first is written). */
int st_state_file(const char *dir, char *path, size_t size);
/* Number of entries in dir (other than . and ..). */
int st_dir_entries(const char *dir);

/* The listing of service in domain (ferry_service_list): found 0 when it is
 * not listed; writers and readers count the slots in use. */
typedef struct st_counts {
    int found;
    uint32_t writers, readers;
    ferry_state_opts opts;
} st_counts;
st_counts st_service_counts(const char *domain, const char *service);

/* One checked read that must succeed; returns the version (size to *size). */
uint64_t st_read_ok(ferry_state_reader *r, size_t min, size_t max, size_t *size);

/* ft_check_no_shm, first printing the domain's nodes (ferry_node_list)
 * when something is left, to tell whose it is. */
void st_check_no_shm_(const char *domain, const char *file, int line);
#define st_check_no_shm(domain) st_check_no_shm_((domain), __FILE__, __LINE__)

/* Closes node (NULL: none), removes what killed processes left behind
 * (ferry_cleanup) and checks that nothing of domain is left in /dev/shm. */
void st_finish_domain(const char *domain, ferry_node *node);

#endif
