/*
 * Helpers shared by the file-descriptor methods (pipe, fifo, tcp, the
 * datagram sockets, eventfd+shm, file): one endpoint with a descriptor to
 * read from, one to write to, and private send/receive buffers.
 */
#ifndef FERRY_BENCH_FDIO_H
#define FERRY_BENCH_FDIO_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

struct fd_ep {
    int rfd, wfd; /* -1 when this role does not use the direction */
    size_t size;
    unsigned char *tx;
    unsigned char *rx; /* size + 1 bytes: a datagram longer than size shows */
};

/* Allocates the endpoint and its buffers; the descriptors start at -1. */
struct fd_ep *fd_ep_new(size_t size);
/* Closes the descriptors and frees the endpoint (NULL is fine). */
void fd_ep_free(void *ep);

int fd_write_all(int fd, const void *buf, size_t n, const char *what);
/* -1 with a message on error or end of file. */
int fd_read_all(int fd, void *buf, size_t n, const char *what);

/* Byte streams: the whole payload with write()/read() loops. */
int fd_stream_send(void *ep, uint64_t seq);
int fd_stream_recv(void *ep, uint64_t seq);
/* Datagrams: one send()/recv() per message, the length checked. */
int fd_dgram_send(void *ep, uint64_t seq);
int fd_dgram_recv(void *ep, uint64_t seq);

/* Sets SO_SNDBUF/SO_RCVBUF to at least want bytes where the kernel allows. */
void fd_grow_buffers(int fd, size_t want);
/* Probes whether a datagram of size bytes passes through a fresh pair of
 * sockets made by make_pair (after fd_grow_buffers): 1 yes, 0 no with the
 * reason in why. */
int fd_dgram_probe(int (*make_pair)(int fd[2]), size_t size, const char *what, char *why, size_t n);

/* Two connected descriptors made before fork: A keeps fd[0], B fd[1]
 * (sockets made with socketpair, or a connected pair of UDP/TCP sockets). */
struct fd_pair_shared {
    int fd[2];
};
int fd_pair_open(const struct bench_params *p, void *shared, enum bench_role role, void **ep);
int fd_pair_cleanup(const struct bench_params *p, void *shared);
/* Allocates a struct fd_pair_shared with both descriptors -1. */
struct fd_pair_shared *fd_pair_new(void);

/* A temporary directory or file name under $TMPDIR (default /tmp). */
int bench_temp_dir(char *out, size_t n, const char *tag);

#endif
