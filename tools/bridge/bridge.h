/*
 * ferry-bridge's parts (docs/bridge.md):
 *   bridge.c   configuration, ZeroMQ sockets, the main loop
 *   samples.c  publish-subscribe: samples out and in
 *   events.c   events: ids that fired, out and in
 *   calls.c    request-response: stand-in servers, forwarded calls
 * One thread runs them all. Each part lists what it exports when the
 * service listing is scanned, adds the fds it waits on to the poll set,
 * and handles the messages of its topics.
 */
#ifndef FERRY_BRIDGE_H
#define FERRY_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <zmq.h>

#include <ferry/ferry.h>

enum { DIR_EXPORT = 1, DIR_IMPORT = 2 };

struct pattern {
    char *text;
    int dir;
};

struct config {
    char *domain;
    char *bind;
    char **connect;
    size_t nconnect;
    struct pattern *pats;
    size_t npats;
    char *curve_secret;
    char **curve_peer;
    size_t ncurve_peer;
    int hwm;
    int scan_ms;
    int stats_s;
    int spin_us;
    int verbose;
};

extern struct config cfg;

/* What the parts share. */
struct bridge {
    uint64_t origin; /* random id of this bridge, carried by everything it sends */
    char origin_hex[17]; /* the same in 16 lowercase hex digits, as topics name it */
    ferry_node *node;
    void *zctx, *pub, *sub;
    int nodrop; /* ZMQ_XPUB_NODROP is on: a full link makes zmq_send fail, counted */
    uint64_t rx, rx_bad, rx_loop, rx_unwanted;
};

extern struct bridge B;

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die_oom(void) __attribute__((noreturn));
void *xrealloc(void *p, size_t n);
uint64_t now_ns(clockid_t clk);
/* Whether service matches a pattern of direction dir (DIR_EXPORT/IMPORT). */
int wanted(const char *service, int dir);
/* NUL-terminated copy of a name of len bytes (len <= FERRY_SERVICE_NAME_MAX). */
void copy_name(char out[FERRY_SERVICE_NAME_MAX + 1], const char *name, size_t len);
/* Sends one frame on the PUB socket without waiting: prefix, name, NUL,
 * then head (head_len bytes) and body (body_len bytes). 0 sent; -1 not sent
 * (errno EAGAIN: the link is full), nothing to free. */
int send_frame(const char *prefix, const char *name, const void *head, size_t head_len, const void *body,
               size_t body_len);

/* Sends a control frame (events, announcements, requests, probes and their
 * answers) as send_frame does, except that one the link does not take now
 * waits in the outbox, in order, and goes out on a later turn of the loop:
 * on a ZMQ_XPUB_NODROP socket a full pipe to any one subscribed peer
 * refuses the frame for all of them, and a slow peer must delay control
 * frames, not lose them. 0 sent or queued; -1 not (the outbox is full,
 * counted as control_dropped, or no PUB socket). */
int send_control(const char *prefix, const char *name, const void *head, size_t head_len, const void *body,
                 size_t body_len);
void outbox_flush(void);
int outbox_pending(void);
uint64_t outbox_dropped(void);

/* The fds the main loop waits on besides the SUB socket: each with what to
 * call when it is readable. Rebuilt on every turn of the loop. */
struct poll_set {
    zmq_pollitem_t *items;
    void (**ready)(void *ctx);
    void **ctx;
    size_t n, cap;
};
void poll_add(struct poll_set *ps, int fd, void (*ready)(void *ctx), void *ctx);

/* Remembers the newest sequence per (origin, publisher): 1 when seq was
 * already seen (a duplicate), 0 when it is new (and records it). */
#define DEDUP_SLOTS 32
struct seen {
    uint64_t origin, publisher, last_seq, used;
};
int dedup(struct seen *tab, uint64_t *tick, uint64_t origin, uint64_t publisher, uint64_t seq);

/* Each part: a service found in the listing (one that matches an export or
 * an import pattern; called after the listing, so the part may open ports), the fds to wait on, a received frame of its
 * topics (1 when it was one, 0 when not), timers (the next time it wants
 * to run, 0 for none), counters for the stats line, and teardown. */
void samples_found(const ferry_service_info *info);
void samples_polls(struct poll_set *ps, uint64_t now);
int samples_receive(const unsigned char *frame, size_t len);
uint64_t samples_timer(uint64_t now);
void samples_stats(FILE *out);
void samples_teardown(void);

void events_found(const ferry_service_info *info);
void events_polls(struct poll_set *ps, uint64_t now);
int events_receive(const unsigned char *frame, size_t len);
void events_stats(FILE *out);
void events_teardown(void);

void calls_found(const ferry_service_info *info);
void calls_scanned(void);
void calls_polls(struct poll_set *ps, uint64_t now);
int calls_receive(const unsigned char *frame, size_t len);
uint64_t calls_timer(uint64_t now);
void calls_stats(FILE *out);
void calls_teardown(void);

#endif
