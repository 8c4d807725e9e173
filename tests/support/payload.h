/*
 * Self-checking sample payloads: a header (tag, sequence, size, checksum)
 * followed by bytes derived from the sequence. A torn, stale or misrouted
 * sample fails ft_payload_check.
 */
#ifndef FERRY_TEST_PAYLOAD_H
#define FERRY_TEST_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* Smallest payload that holds the header. */
#define FT_PAYLOAD_MIN 32u

/* Writes a payload of size bytes (>= FT_PAYLOAD_MIN) for (tag, seq). */
void ft_payload_fill(void *buf, size_t size, uint64_t tag, uint64_t seq);

/* 1 when buf holds an intact payload of exactly size bytes; then *tag and *seq
 * (either may be NULL) receive what it carries. 0 otherwise. */
int ft_payload_check(const void *buf, size_t size, uint64_t *tag, uint64_t *seq);

/* A size in [min, max] that varies with seq (deterministic). */
size_t ft_payload_size(uint64_t seq, size_t min, size_t max);

#endif
