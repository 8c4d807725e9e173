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

/* Offsets of the fields of the header. */
enum {
    FYB_OFF_MAGIC = 0,            /* 4 bytes "FYBR" */
    FYB_OFF_VERSION = 4,          /* u16: 2 */
    FYB_OFF_HEADER_SIZE = 6,      /* u16: 224 */
    FYB_OFF_ORIGIN = 8,           /* u64: random id of the bridge that first forwarded it */
    FYB_OFF_PUBLISHER = 16,       /* u64: ferry publisher id at the origin */
    FYB_OFF_SEQUENCE = 24,        /* u64: sequence at the origin publisher (1, 2, ...) */
    FYB_OFF_TIMESTAMP = 32,       /* u64: CLOCK_MONOTONIC ns at the origin publisher (0: none) */
    FYB_OFF_PAYLOAD_SIZE = 40,    /* u64: bytes after the header */
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

/* Splits a frame that starts with prefix (prefix_len bytes) into the name
 * that follows it up to the NUL (*name, *name_len: 1..name_max bytes) and
 * the rest (*rest, *rest_len). 0 on success, -1 when the frame does not
 * start with prefix or has no such name. */
static inline int fyb_split_topic(const unsigned char *frame, size_t len, const char *prefix, size_t prefix_len,
                                  size_t name_max, const char **name, size_t *name_len,
                                  const unsigned char **rest, size_t *rest_len)
{
    if (len < prefix_len || memcmp(frame, prefix, prefix_len) != 0)
        return -1;
    size_t scan = len - prefix_len;
    if (scan > name_max + 1)
        scan = name_max + 1;
    const unsigned char *nul = memchr(frame + prefix_len, '\0', scan);
    if (!nul || nul == frame + prefix_len)
        return -1;
    size_t head = (size_t)(nul - frame) + 1;
    *name = (const char *)frame + prefix_len;
    *name_len = (size_t)(nul - frame) - prefix_len;
    *rest = frame + head;
    *rest_len = len - head;
    return 0;
}

/* Splits a sample frame into the service name (*name, *name_len: without the
 * "ferry/" prefix), the header and the payload (*payload, *payload_len).
 * 0 on success, -1 when the frame is not a sample of this version. */
static inline int fyb_split(const unsigned char *frame, size_t len, size_t name_max, const char **name,
                            size_t *name_len, const unsigned char **header, const unsigned char **payload,
                            size_t *payload_len)
{
    const unsigned char *rest;
    size_t rest_len;
    if (fyb_split_topic(frame, len, FYB_TOPIC_PREFIX, FYB_TOPIC_PREFIX_LEN, name_max, name, name_len, &rest,
                        &rest_len) != 0 ||
        rest_len < FYB_HEADER_SIZE)
        return -1;
    *header = rest;
    *payload = rest + FYB_HEADER_SIZE;
    *payload_len = rest_len - FYB_HEADER_SIZE;
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

/* ---- events (docs/bridge.md, "Events") --------------------------------------
 * One message of one frame per batch of event ids that fired:
 *   topic:  "ferry-event/" + service name, then one NUL byte
 *   header: FYB_EVENT_HEADER_SIZE bytes, layout below
 *   ids:    count u32 event ids, increasing
 */
#define FYB_EVENT_PREFIX "ferry-event/"
#define FYB_EVENT_PREFIX_LEN 12
#define FYB_EVENT_MAGIC "FYBE"
#define FYB_EVENT_VERSION 1
#define FYB_EVENT_HEADER_SIZE 32
#define FYB_EVENT_MAX_IDS 4096 /* ferry's limit on max_event_id + 1 */

enum {
    FYB_EV_OFF_MAGIC = 0,          /* 4 bytes "FYBE" */
    FYB_EV_OFF_VERSION = 4,        /* u16: 1 */
    FYB_EV_OFF_HEADER_SIZE = 6,    /* u16: 32 */
    FYB_EV_OFF_ORIGIN = 8,         /* u64: the bridge whose local notifiers raised them */
    FYB_EV_OFF_MAX_EVENT_ID = 16,  /* u32: service option */
    FYB_EV_OFF_MAX_NOTIFIERS = 20, /* u32: service option */
    FYB_EV_OFF_MAX_LISTENERS = 24, /* u32: service option */
    FYB_EV_OFF_COUNT = 28          /* u32: ids that follow (1..FYB_EVENT_MAX_IDS) */
};

typedef struct fyb_event_header {
    uint64_t origin;
    uint32_t max_event_id, max_notifiers, max_listeners, count;
} fyb_event_header;

static inline void fyb_event_encode(unsigned char out[FYB_EVENT_HEADER_SIZE], const fyb_event_header *h)
{
    memcpy(out + FYB_EV_OFF_MAGIC, FYB_EVENT_MAGIC, 4);
    fyb_put16(out + FYB_EV_OFF_VERSION, FYB_EVENT_VERSION);
    fyb_put16(out + FYB_EV_OFF_HEADER_SIZE, FYB_EVENT_HEADER_SIZE);
    fyb_put64(out + FYB_EV_OFF_ORIGIN, h->origin);
    fyb_put32(out + FYB_EV_OFF_MAX_EVENT_ID, h->max_event_id);
    fyb_put32(out + FYB_EV_OFF_MAX_NOTIFIERS, h->max_notifiers);
    fyb_put32(out + FYB_EV_OFF_MAX_LISTENERS, h->max_listeners);
    fyb_put32(out + FYB_EV_OFF_COUNT, h->count);
}

/* Decodes the header and checks that exactly count ids follow, strictly
 * increasing, each at most max_event_id. 0 on success, -1 otherwise. */
static inline int fyb_event_decode(fyb_event_header *h, const unsigned char *in, size_t len)
{
    if (len < FYB_EVENT_HEADER_SIZE || memcmp(in + FYB_EV_OFF_MAGIC, FYB_EVENT_MAGIC, 4) != 0 ||
        fyb_get16(in + FYB_EV_OFF_VERSION) != FYB_EVENT_VERSION ||
        fyb_get16(in + FYB_EV_OFF_HEADER_SIZE) != FYB_EVENT_HEADER_SIZE)
        return -1;
    h->origin = fyb_get64(in + FYB_EV_OFF_ORIGIN);
    h->max_event_id = fyb_get32(in + FYB_EV_OFF_MAX_EVENT_ID);
    h->max_notifiers = fyb_get32(in + FYB_EV_OFF_MAX_NOTIFIERS);
    h->max_listeners = fyb_get32(in + FYB_EV_OFF_MAX_LISTENERS);
    h->count = fyb_get32(in + FYB_EV_OFF_COUNT);
    if (h->count == 0 || h->count > FYB_EVENT_MAX_IDS || h->max_event_id >= FYB_EVENT_MAX_IDS ||
        len - FYB_EVENT_HEADER_SIZE != (size_t)h->count * 4)
        return -1;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < h->count; i++) {
        uint32_t id = fyb_get32(in + FYB_EVENT_HEADER_SIZE + 4 * i);
        if (id > h->max_event_id || (i > 0 && id <= prev))
            return -1;
        prev = id;
    }
    return 0;
}

/* ---- request-response (docs/bridge.md, "Request-response") ------------------
 * Three messages, one frame each:
 *   announcement: "ferry-server/" + service, NUL, FYB_ANNOUNCE_SIZE bytes.
 *       A bridge with servers of an exported service says so every second;
 *       importing bridges open a stand-in server for it while it does.
 *   request:      "ferry-call/" + 16 lowercase hex digits of the serving
 *       bridge's origin (target) + "/" + service, NUL,
 *       FYB_CALL_HEADER_SIZE bytes, payload. ZeroMQ filters by topic at the
 *       sender, so only the target receives it. A probe is a request with
 *       FYB_REQUEST_PROBE whose payload lists call tokens.
 *   response:     "ferry-reply/" + 16 lowercase hex digits of the calling
 *       bridge's origin, NUL, FYB_CALL_HEADER_SIZE bytes, payload (may be
 *       empty for an end of stream or a failure).
 */
#define FYB_ANNOUNCE_PREFIX "ferry-server/"
#define FYB_ANNOUNCE_PREFIX_LEN 13
#define FYB_CALL_PREFIX "ferry-call/"
#define FYB_CALL_PREFIX_LEN 11
#define FYB_REPLY_PREFIX "ferry-reply/"
#define FYB_REPLY_PREFIX_LEN 12
#define FYB_ANNOUNCE_MAGIC "FYBA"
#define FYB_CALL_MAGIC "FYBC"
#define FYB_CALL_VERSION 1
#define FYB_ANNOUNCE_SIZE 320
#define FYB_CALL_HEADER_SIZE 48

enum {
    FYB_AN_OFF_MAGIC = 0,           /* 4 bytes "FYBA" */
    FYB_AN_OFF_VERSION = 4,         /* u16: 1 */
    FYB_AN_OFF_HEADER_SIZE = 6,     /* u16: 320 */
    FYB_AN_OFF_ORIGIN = 8,          /* u64: the announcing bridge */
    FYB_AN_OFF_MAX_REQUEST = 16,    /* u64: service options from here on */
    FYB_AN_OFF_MAX_RESPONSE = 24,   /* u64 */
    FYB_AN_OFF_ALIGNMENT = 32,      /* u32 */
    FYB_AN_OFF_MAX_CLIENTS = 36,    /* u32 */
    FYB_AN_OFF_MAX_SERVERS = 40,    /* u32 */
    FYB_AN_OFF_MAX_PENDING = 44,    /* u32 */
    FYB_AN_OFF_REQUEST_QUEUE = 48,  /* u32 */
    FYB_AN_OFF_RESPONSE_QUEUE = 52, /* u32 */
    FYB_AN_OFF_MAX_LOANS = 56,      /* u32 */
    FYB_AN_OFF_MAX_BORROWED = 60,   /* u32 */
    FYB_AN_OFF_REQUEST_TYPE = 64,   /* 128 bytes, NUL padded */
    FYB_AN_OFF_RESPONSE_TYPE = 192  /* 128 bytes, NUL padded; ends at 320 */
};

typedef struct fyb_announce {
    uint64_t origin;
    uint64_t max_request, max_response;
    uint32_t alignment, max_clients, max_servers, max_pending, request_queue, response_queue, max_loans,
        max_borrowed;
    char request_type[FYB_TYPE_MAX], response_type[FYB_TYPE_MAX];
} fyb_announce;

static inline void fyb_announce_encode(unsigned char out[FYB_ANNOUNCE_SIZE], const fyb_announce *a)
{
    memset(out, 0, FYB_ANNOUNCE_SIZE);
    memcpy(out + FYB_AN_OFF_MAGIC, FYB_ANNOUNCE_MAGIC, 4);
    fyb_put16(out + FYB_AN_OFF_VERSION, FYB_CALL_VERSION);
    fyb_put16(out + FYB_AN_OFF_HEADER_SIZE, FYB_ANNOUNCE_SIZE);
    fyb_put64(out + FYB_AN_OFF_ORIGIN, a->origin);
    fyb_put64(out + FYB_AN_OFF_MAX_REQUEST, a->max_request);
    fyb_put64(out + FYB_AN_OFF_MAX_RESPONSE, a->max_response);
    fyb_put32(out + FYB_AN_OFF_ALIGNMENT, a->alignment);
    fyb_put32(out + FYB_AN_OFF_MAX_CLIENTS, a->max_clients);
    fyb_put32(out + FYB_AN_OFF_MAX_SERVERS, a->max_servers);
    fyb_put32(out + FYB_AN_OFF_MAX_PENDING, a->max_pending);
    fyb_put32(out + FYB_AN_OFF_REQUEST_QUEUE, a->request_queue);
    fyb_put32(out + FYB_AN_OFF_RESPONSE_QUEUE, a->response_queue);
    fyb_put32(out + FYB_AN_OFF_MAX_LOANS, a->max_loans);
    fyb_put32(out + FYB_AN_OFF_MAX_BORROWED, a->max_borrowed);
    memcpy(out + FYB_AN_OFF_REQUEST_TYPE, a->request_type, strnlen(a->request_type, FYB_TYPE_MAX - 1));
    memcpy(out + FYB_AN_OFF_RESPONSE_TYPE, a->response_type, strnlen(a->response_type, FYB_TYPE_MAX - 1));
}

static inline int fyb_announce_decode(fyb_announce *a, const unsigned char *in, size_t len)
{
    if (len != FYB_ANNOUNCE_SIZE || memcmp(in + FYB_AN_OFF_MAGIC, FYB_ANNOUNCE_MAGIC, 4) != 0 ||
        fyb_get16(in + FYB_AN_OFF_VERSION) != FYB_CALL_VERSION ||
        fyb_get16(in + FYB_AN_OFF_HEADER_SIZE) != FYB_ANNOUNCE_SIZE)
        return -1;
    a->origin = fyb_get64(in + FYB_AN_OFF_ORIGIN);
    a->max_request = fyb_get64(in + FYB_AN_OFF_MAX_REQUEST);
    a->max_response = fyb_get64(in + FYB_AN_OFF_MAX_RESPONSE);
    a->alignment = fyb_get32(in + FYB_AN_OFF_ALIGNMENT);
    a->max_clients = fyb_get32(in + FYB_AN_OFF_MAX_CLIENTS);
    a->max_servers = fyb_get32(in + FYB_AN_OFF_MAX_SERVERS);
    a->max_pending = fyb_get32(in + FYB_AN_OFF_MAX_PENDING);
    a->request_queue = fyb_get32(in + FYB_AN_OFF_REQUEST_QUEUE);
    a->response_queue = fyb_get32(in + FYB_AN_OFF_RESPONSE_QUEUE);
    a->max_loans = fyb_get32(in + FYB_AN_OFF_MAX_LOANS);
    a->max_borrowed = fyb_get32(in + FYB_AN_OFF_MAX_BORROWED);
    memcpy(a->request_type, in + FYB_AN_OFF_REQUEST_TYPE, FYB_TYPE_MAX);
    memcpy(a->response_type, in + FYB_AN_OFF_RESPONSE_TYPE, FYB_TYPE_MAX);
    a->request_type[FYB_TYPE_MAX - 1] = a->response_type[FYB_TYPE_MAX - 1] = '\0';
    return a->request_type[0] && a->response_type[0] ? 0 : -1;
}

/* Flags of a response message. */
#define FYB_REPLY_LAST 1u   /* the call's last response: the call ends */
#define FYB_REPLY_FAILED 2u /* the call failed at the server's side (no server, or it went away) */
#define FYB_REPLY_PROBED 4u /* not a response: a probe arrived (token: the probe's), after the
                               failures it caused */
/* Flags of a request message. */
#define FYB_REQUEST_PROBE 1u /* not a request: the payload lists tokens (u64) of calls that have been
                                quiet for a while; the serving bridge fails those it does not know */

enum {
    FYB_CALL_OFF_MAGIC = 0,        /* 4 bytes "FYBC" */
    FYB_CALL_OFF_VERSION = 4,      /* u16: 1 */
    FYB_CALL_OFF_HEADER_SIZE = 6,  /* u16: 48 */
    FYB_CALL_OFF_ORIGIN = 8,       /* u64: the sending bridge */
    FYB_CALL_OFF_TARGET = 16,      /* u64: request: the bridge that is to serve it; response: the caller */
    FYB_CALL_OFF_TOKEN = 24,       /* u64: the calling bridge's id of the call */
    FYB_CALL_OFF_FLAGS = 32,       /* u32: responses: FYB_REPLY_*; requests: FYB_REQUEST_* */
    FYB_CALL_OFF_SEQUENCE = 36,    /* u32: responses: their number in the call (0, 1, ...); else 0 */
    FYB_CALL_OFF_PAYLOAD_SIZE = 40 /* u64: bytes after the header */
};

typedef struct fyb_call_header {
    uint64_t origin, target, token;
    uint32_t flags, sequence;
    uint64_t payload_size;
} fyb_call_header;

static inline void fyb_call_encode(unsigned char out[FYB_CALL_HEADER_SIZE], const fyb_call_header *h)
{
    memset(out, 0, FYB_CALL_HEADER_SIZE);
    memcpy(out + FYB_CALL_OFF_MAGIC, FYB_CALL_MAGIC, 4);
    fyb_put16(out + FYB_CALL_OFF_VERSION, FYB_CALL_VERSION);
    fyb_put16(out + FYB_CALL_OFF_HEADER_SIZE, FYB_CALL_HEADER_SIZE);
    fyb_put64(out + FYB_CALL_OFF_ORIGIN, h->origin);
    fyb_put64(out + FYB_CALL_OFF_TARGET, h->target);
    fyb_put64(out + FYB_CALL_OFF_TOKEN, h->token);
    fyb_put32(out + FYB_CALL_OFF_FLAGS, h->flags);
    fyb_put32(out + FYB_CALL_OFF_SEQUENCE, h->sequence);
    fyb_put64(out + FYB_CALL_OFF_PAYLOAD_SIZE, h->payload_size);
}

/* 0 when the header is well formed and payload_size bytes follow it. */
static inline int fyb_call_decode(fyb_call_header *h, const unsigned char *in, size_t len)
{
    if (len < FYB_CALL_HEADER_SIZE || memcmp(in + FYB_CALL_OFF_MAGIC, FYB_CALL_MAGIC, 4) != 0 ||
        fyb_get16(in + FYB_CALL_OFF_VERSION) != FYB_CALL_VERSION ||
        fyb_get16(in + FYB_CALL_OFF_HEADER_SIZE) != FYB_CALL_HEADER_SIZE)
        return -1;
    h->origin = fyb_get64(in + FYB_CALL_OFF_ORIGIN);
    h->target = fyb_get64(in + FYB_CALL_OFF_TARGET);
    h->token = fyb_get64(in + FYB_CALL_OFF_TOKEN);
    h->flags = fyb_get32(in + FYB_CALL_OFF_FLAGS);
    h->sequence = fyb_get32(in + FYB_CALL_OFF_SEQUENCE);
    h->payload_size = fyb_get64(in + FYB_CALL_OFF_PAYLOAD_SIZE);
    return h->payload_size == len - FYB_CALL_HEADER_SIZE ? 0 : -1;
}

#endif
