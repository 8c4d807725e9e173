/*
 * The copy-in/copy-out channel shared by shm-copy (anonymous shared memory)
 * and mmap-file (a file in $TMPDIR mapped MAP_SHARED): per direction a
 * sequence word on its own 128-byte block and a data area of the message
 * size. The sender copies its private message into the data area and then
 * stores the sequence number (release); the receiver spins until it sees it
 * (acquire), copies the data area into its private buffer and checks it.
 */
#ifndef FERRY_BENCH_SHMCOPY_H
#define FERRY_BENCH_SHMCOPY_H

#include <stddef.h>

#include "bench.h"

struct shmcopy_shared {
    unsigned char *map; /* both directions; shmcopy_bytes(size) long */
    size_t map_bytes;
    int fd;              /* mmap-file: the file, else -1 */
    char path[256];      /* mmap-file: its name, else "" */
};

size_t shmcopy_bytes(size_t size);
int shmcopy_open(const struct bench_params *p, void *shared, enum bench_role role, void **ep);
int shmcopy_send(void *ep, uint64_t seq);
int shmcopy_recv(void *ep, uint64_t seq);
void shmcopy_close(void *ep);

#endif
