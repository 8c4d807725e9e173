/*
 * The sequence check of the ferry methods whose payload stays untouched:
 * the sequence number ferry carries with every sample (ferry_sample_info)
 * must advance in step with the harness's, so a lost, repeated or reordered
 * message fails the run without the receiver reading the payload.
 */
#ifndef FERRY_BENCH_SEQ_H
#define FERRY_BENCH_SEQ_H

#include <stdint.h>

#include "ferry/ferry.h"

struct ferry_seq {
    int have_offset;
    uint64_t offset; /* harness sequence - ferry sequence */
};

/* 0 when the sample taken as payload carries the expected sequence. */
int ferry_seq_check(struct ferry_seq *st, ferry_sub *sub, const void *payload, uint64_t seq);

#endif
