/*
 * ferry-bridge wire format (see docs/bridge.md). Shared by the bridge, its
 * benchmark and its tests. Everything is little-endian, fixed size.
 *
 * A sample is one ZeroMQ message of one frame (version 2):
 *   topic:   "ferry/" + service name, then one NUL byte
 *   header:  FYB_HEADER_SIZE bytes, layout below
 *   payload: the sample's bytes (payload_size of them), to the frame's end
 * One frame, not three: ZeroMQ's cost per sample is mostly per frame
 * (allocation, queueing, decoding), and a subscriber still filters by the
 * frame's prefix ("ferry/<service>", or "ferry/<service>\0" for an exact
 * match).
 */
#ifndef FERRY_BRIDGE_WIRE_H
#define FERRY_BRIDGE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FYB_TOPIC_PREFIX "ferry/"
#define FYB_TOPIC_PREFIX_LEN 6
#define FYB_MAGIC "FYBR"
#define FYB_VERSION 2
#define FYB_HEADER_SIZE 224
#define FYB_TYPE_MAX 128 /* type name field, NUL padded (at most 127 bytes used) */

/* Offsets of the fields in frame 2. */
enum {
    FYB_OFF_MAGIC = 0,            /* 4 bytes "FYBR" */
    FYB_OFF_VERSION = 4,          /* u16: 1 */
    FYB_OFF_HEADER_SIZE = 6,      /* u16: 224 */
    FYB_OFF_ORIGIN = 8,           /* u64: random id of the bridge that first forwarded it */
    FYB_OFF_PUBLISHER = 16,       /* u64: ferry publisher id at the origin */
    FYB_OFF_SEQUENCE = 24,        /* u64: sequence at the origin publisher (1, 2, ...) */
    FYB_OFF_TIMESTAMP = 32,       /* u64: CLOCK_MONOTONIC ns at the origin publisher (0: none) */
    FYB_OFF_PAYLOAD_SIZE = 40,    /* u64: bytes in frame 3 */
    FYB_OFF_MAX_PAYLOAD = 48,     /* u64: service option max_payload */
    FYB_OFF_ALIGNMENT = 56,       /* u32: service option alignment */
    FYB_OFF_HISTORY = 60,         /* u32 */
    FYB_OFF_QUEUE_CAPACITY = 64,  /* u32 */
    FYB_OFF_MAX_PUBLISHERS = 68,  /* u32 */
    FYB_OFF_MAX_SUBSCRIBERS = 72, /* u32 */
    FYB_OFF_MAX_LOANS = 76,       /* u32 */
    FYB_OFF_MAX_BORROWED = 80,    /* u32 */
    FYB_OFF_OVERFLOW = 84,        /* u32: 0 drop_oldest, 1 block */
    FYB_OFF_FORWARD_TIME = 88,    /* u64: CLOCK_REALTIME ns when the origin bridge sent it */
    FYB_OFF_TYPE_NAME = 96        /* 128 bytes: type name, NUL padded; header ends at 224 */
};

typedef struct fyb_header {
    uint64_t origin;
    uint64_t publisher;
    uint64_t sequence;
    uint64_t timestamp_ns;
    uint64_t payload_size;
    uint64_t max_payload;
    uint32_t alignment;
    uint32_t history;
    uint32_t queue_capacity;
    uint32_t max_publishers;
    uint32_t max_subscribers;
    uint32_t max_loans;
    uint32_t max_borrowed;
    uint32_t overflow;
    uint64_t forward_time_ns;
    char type_name[FYB_TYPE_MAX]; /* NUL terminated */
} fyb_header;

static inline void fyb_put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void fyb_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void fyb_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t fyb_get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t fyb_get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t fyb_get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline void fyb_encode(unsigned char out[FYB_HEADER_SIZE], const fyb_header *h)
{
    memset(out, 0, FYB_HEADER_SIZE);
    memcpy(out + FYB_OFF_MAGIC, FYB_MAGIC, 4);
    fyb_put16(out + FYB_OFF_VERSION, FYB_VERSION);
    fyb_put16(out + FYB_OFF_HEADER_SIZE, FYB_HEADER_SIZE);
    fyb_put64(out + FYB_OFF_ORIGIN, h->origin);
    fyb_put64(out + FYB_OFF_PUBLISHER, h->publisher);
    fyb_put64(out + FYB_OFF_SEQUENCE, h->sequence);
    fyb_put64(out + FYB_OFF_TIMESTAMP, h->timestamp_ns);
    fyb_put64(out + FYB_OFF_PAYLOAD_SIZE, h->payload_size);
    fyb_put64(out + FYB_OFF_MAX_PAYLOAD, h->max_payload);
    fyb_put32(out + FYB_OFF_ALIGNMENT, h->alignment);
    fyb_put32(out + FYB_OFF_HISTORY, h->history);
    fyb_put32(out + FYB_OFF_QUEUE_CAPACITY, h->queue_capacity);
    fyb_put32(out + FYB_OFF_MAX_PUBLISHERS, h->max_publishers);
    fyb_put32(out + FYB_OFF_MAX_SUBSCRIBERS, h->max_subscribers);
    fyb_put32(out + FYB_OFF_MAX_LOANS, h->max_loans);
    fyb_put32(out + FYB_OFF_MAX_BORROWED, h->max_borrowed);
    fyb_put32(out + FYB_OFF_OVERFLOW, h->overflow);
    fyb_put64(out + FYB_OFF_FORWARD_TIME, h->forward_time_ns);
    size_t n = strnlen(h->type_name, FYB_TYPE_MAX - 1);
    memcpy(out + FYB_OFF_TYPE_NAME, h->type_name, n);
}

/* Splits a frame into the service name (*name, *name_len: without the
 * "ferry/" prefix), the header and the payload (*payload, *payload_len).
 * 0 on success, -1 when the frame is not a sample of this version. */
static inline int fyb_split(const unsigned char *frame, size_t len, size_t name_max, const char **name,
                            size_t *name_len, const unsigned char **header, const unsigned char **payload,
                            size_t *payload_len)
{
    if (len < FYB_TOPIC_PREFIX_LEN || memcmp(frame, FYB_TOPIC_PREFIX, FYB_TOPIC_PREFIX_LEN) != 0)
        return -1;
    size_t scan = len - FYB_TOPIC_PREFIX_LEN;
    if (scan > name_max + 1)
        scan = name_max + 1;
    const unsigned char *nul = memchr(frame + FYB_TOPIC_PREFIX_LEN, '\0', scan);
    if (!nul || nul == frame + FYB_TOPIC_PREFIX_LEN)
        return -1;
    size_t head = (size_t)(nul - frame) + 1;
    if (len - head < FYB_HEADER_SIZE)
        return -1;
    *name = (const char *)frame + FYB_TOPIC_PREFIX_LEN;
    *name_len = (size_t)(nul - frame) - FYB_TOPIC_PREFIX_LEN;
    *header = frame + head;
    *payload = frame + head + FYB_HEADER_SIZE;
    *payload_len = len - head - FYB_HEADER_SIZE;
    return 0;
}

/* 0 on success, -1 when the header is not one this version understands. */
static inline int fyb_decode(fyb_header *h, const unsigned char *in, size_t len)
{
    if (len < FYB_HEADER_SIZE || memcmp(in + FYB_OFF_MAGIC, FYB_MAGIC, 4) != 0 ||
        fyb_get16(in + FYB_OFF_VERSION) != FYB_VERSION ||
        fyb_get16(in + FYB_OFF_HEADER_SIZE) != FYB_HEADER_SIZE)
        return -1;
    h->origin = fyb_get64(in + FYB_OFF_ORIGIN);
    h->publisher = fyb_get64(in + FYB_OFF_PUBLISHER);
    h->sequence = fyb_get64(in + FYB_OFF_SEQUENCE);
    h->timestamp_ns = fyb_get64(in + FYB_OFF_TIMESTAMP);
    h->payload_size = fyb_get64(in + FYB_OFF_PAYLOAD_SIZE);
    h->max_payload = fyb_get64(in + FYB_OFF_MAX_PAYLOAD);
    h->alignment = fyb_get32(in + FYB_OFF_ALIGNMENT);
    h->history = fyb_get32(in + FYB_OFF_HISTORY);
    h->queue_capacity = fyb_get32(in + FYB_OFF_QUEUE_CAPACITY);
    h->max_publishers = fyb_get32(in + FYB_OFF_MAX_PUBLISHERS);
    h->max_subscribers = fyb_get32(in + FYB_OFF_MAX_SUBSCRIBERS);
    h->max_loans = fyb_get32(in + FYB_OFF_MAX_LOANS);
    h->max_borrowed = fyb_get32(in + FYB_OFF_MAX_BORROWED);
    h->overflow = fyb_get32(in + FYB_OFF_OVERFLOW);
    h->forward_time_ns = fyb_get64(in + FYB_OFF_FORWARD_TIME);
    memcpy(h->type_name, in + FYB_OFF_TYPE_NAME, FYB_TYPE_MAX);
    h->type_name[FYB_TYPE_MAX - 1] = '\0';
    if (h->type_name[0] == '\0')
        return -1;
    return 0;
}

#endif
