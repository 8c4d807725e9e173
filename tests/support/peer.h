/*
 * A peer is the ferry_test_peer helper run as a separate process (fork+exec
 * through posix_spawn). The test writes one command per line to its stdin and
 * reads one reply line per command from its stdout: "ok ..." or
 * "err <code> <message>". See peer/ferry_test_peer.c for the commands.
 * The peer exits when its stdin closes, so it never outlives a failed test.
 */
#ifndef FERRY_TEST_PEER_H
#define FERRY_TEST_PEER_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ft_peer {
    pid_t pid;
    int to_fd;   /* its stdin */
    int from_fd; /* its stdout */
    char buf[4096];
    size_t len;
} ft_peer;

/* Starts the peer in domain. */
void ft_peer_start(ft_peer *peer, const char *domain);
/* The same with another peer program (argv: program domain). */
void ft_peer_start_program(ft_peer *peer, const char *program, const char *domain);
/* The reply to a command sent earlier must be "ok ...": returns what follows "ok". */
const char *ft_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms);

/* Sends one command line. */
void ft_peer_send(ft_peer *peer, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the next reply line into line (without newline); fails the test when
 * none arrives within timeout_ms or the peer exits. */
void ft_peer_reply(ft_peer *peer, char *line, size_t size, unsigned timeout_ms);

/* Sends a command and returns its reply in line; fails the test unless the
 * reply starts with "ok". Returns line + 2 (the rest of the reply). */
const char *ft_peer_ok(ft_peer *peer, char *line, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sends a command that must fail; returns the ferry error code of the reply. */
int ft_peer_err(ft_peer *peer, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Kills the peer with SIGKILL and reaps it. */
void ft_peer_kill(ft_peer *peer);

/* Reaps a peer that is expected to die by itself (SIGKILL); waits at most timeout_ms. */
void ft_peer_wait_killed(ft_peer *peer, unsigned timeout_ms);

/* Reaps a peer that is expected to end by itself, however it ends; waits at
 * most timeout_ms and returns its wait status. */
int ft_peer_wait_exit(ft_peer *peer, unsigned timeout_ms);

/* Sends "exit" and waits (bounded) for a clean exit with status 0. */
void ft_peer_finish(ft_peer *peer);

#endif
