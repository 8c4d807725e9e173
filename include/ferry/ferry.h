/*
 * ferry: zero-copy inter-process communication over shared memory.
 *
 * Public C API. Every function that can fail returns FERRY_OK (0) or a negative
 * FERRY_E* code, and leaves a message that says what to fix in a per-thread
 * buffer (ferry_last_error_message()). Handles are opaque; nothing that lives
 * in shared memory has its layout in this header.
 *
 * Threads: a node may be shared between threads. Each port (publisher,
 * subscriber) must be used by one thread at a time; different ports may be
 * used from different threads at once.
 *
 * Reference: docs/reference.md. Concepts: docs/concepts/.
 */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FERRY_VERSION_MAJOR 0
#define FERRY_VERSION_MINOR 1
#define FERRY_VERSION_PATCH 0

/* Longest names, in bytes, not counting the terminating NUL. */
#define FERRY_DOMAIN_MAX 32
#define FERRY_NODE_NAME_MAX 63
#define FERRY_SERVICE_NAME_MAX 255
#define FERRY_TYPE_NAME_MAX 127

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* One list makes the enum and the message table (ferry_strerror). */
#define FERRY_ERROR_MAP(X)                                                           \
    X(OK, 0, "success")                                                              \
    X(EINVAL, -1, "invalid argument")                                                \
    X(ENOMEM, -2, "out of memory")                                                   \
    X(EAGAIN, -3, "nothing available now; try again")                                \
    X(ETIMEDOUT, -4, "timed out")                                                    \
    X(EINCOMPATIBLE, -5, "service exists with incompatible options")                 \
    X(EPERM, -6, "permission denied")                                                \
    X(ECORRUPT, -7, "shared memory holds invalid data")                              \
    X(ELIMIT, -8, "a configured limit was reached")                                  \
    X(ENOTFOUND, -9, "not found")                                      \
    X(ENOSPC, -10, "no space left for shared memory")                                \
    X(ESYSTEM, -11, "an operating system call failed")                               \
    X(EDISCONNECTED, -12, "the peer went away")

enum ferry_error {
#define FERRY_X_ENUM(name, value, text) FERRY_##name = value,
    FERRY_ERROR_MAP(FERRY_X_ENUM)
#undef FERRY_X_ENUM
};

/* Static text for a code; "unknown error" for codes not in the list. Never NULL. */
FERRY_API const char *ferry_strerror(int err);

/* The code and the detailed message of the last failure on this thread.
 * The message names what went wrong and what to change. It stays valid until
 * the next ferry call on the same thread. "" and FERRY_OK when nothing failed. */
FERRY_API int ferry_last_error(void);
FERRY_API const char *ferry_last_error_message(void);
/* Resets the per-thread error to FERRY_OK and "". */
FERRY_API void ferry_clear_error(void);

/* The library version as "MAJOR.MINOR.PATCH". */
FERRY_API const char *ferry_version(void);

/* ------------------------------------------------------------------------ */
/* Nodes                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct ferry_node ferry_node;

typedef struct ferry_node_opts {
    /* Isolation namespace: 1-32 of [A-Za-z0-9_-]. NULL: env FERRY_DOMAIN, else "default". */
    const char *domain;
    /* Permission bits of every shared-memory object this node creates; they
     * must include 0600. 0600 (default): owner only. 0660: open to the group
     * (see group). */
    unsigned mode;
    /* Group id given to created objects; -1 (default) keeps the process's group. */
    long group;
} ferry_node_opts;

FERRY_API void ferry_node_opts_init(ferry_node_opts *opts);

/* Opens a node named name (1-63 printable characters) in a domain. Also
 * removes what dead nodes of the domain left behind. On success *node owns a
 * handle that the caller closes with ferry_node_close(); on failure *node is NULL. */
FERRY_API int ferry_node_open(ferry_node **node, const char *name, const ferry_node_opts *opts);

/* Closes every port the node still has open, then the node. NULL is a no-op. */
FERRY_API void ferry_node_close(ferry_node *node);

/* The node's domain, name and unique id. NULL / 0 for a NULL node. */
FERRY_API const char *ferry_node_domain(const ferry_node *node);
FERRY_API const char *ferry_node_name(const ferry_node *node);
FERRY_API uint64_t ferry_node_id(const ferry_node *node);

/* ------------------------------------------------------------------------ */
/* Publish-subscribe                                                        */
/* ------------------------------------------------------------------------ */

typedef struct ferry_pub ferry_pub;
typedef struct ferry_sub ferry_sub;

typedef enum ferry_overflow {
    FERRY_OVERFLOW_DROP_OLDEST = 0, /* publisher never waits; the subscriber loses the oldest */
    FERRY_OVERFLOW_BLOCK = 1        /* publisher waits for room; nothing is lost */
} ferry_overflow;

typedef struct ferry_pubsub_opts {
    /* Name of the payload type, checked on open (exact match). NULL: "bytes". */
    const char *type_name;
    size_t max_payload;       /* largest sample in bytes (default 4096); exact match */
    size_t alignment;         /* payload alignment, power of two <= 4096 (default 8); exact match */
    uint32_t history;         /* newest samples a late subscriber receives, at most
                                 queue_capacity of them (default 0) */
    uint32_t queue_capacity;  /* samples queued per subscriber (default 4) */
    uint32_t max_publishers;  /* default 4 */
    uint32_t max_subscribers; /* default 8 */
    uint32_t max_loans;       /* samples one publisher may hold loaned at once (default 2) */
    uint32_t max_borrowed;    /* samples one subscriber may hold taken at once (default 2) */
    ferry_overflow overflow;  /* default FERRY_OVERFLOW_DROP_OLDEST; exact match */
    /* Publishers only, not part of the service: 1 stamps every sample with
     * CLOCK_MONOTONIC at send; 0 (default) leaves
     * ferry_sample_info.timestamp_ns at 0. The clock read costs 20-30 ns per
     * send on a VM and, being ordered, keeps a stream of sends from
     * overlapping their cache misses: about half the peak 64 B rate. */
    int timestamps;
} ferry_pubsub_opts;

FERRY_API void ferry_pubsub_opts_init(ferry_pubsub_opts *opts);

/* Metadata that travels with every sample. */
typedef struct ferry_sample_info {
    uint64_t sequence;     /* per publisher, 1 for its first sample */
    uint64_t timestamp_ns; /* CLOCK_MONOTONIC at send, comparable across processes */
    uint64_t publisher_id; /* unique id of the sending publisher */
    size_t size;           /* payload bytes */
} ferry_sample_info;

/* Opens a publisher on service (see docs/concepts/service.md for the name
 * rules). Creates the service with opts if it does not exist; otherwise opts
 * must be compatible (FERRY_EINCOMPATIBLE names the field). opts NULL: defaults.
 * The publisher belongs to node and is closed with it at the latest. */
FERRY_API int ferry_pub_open(ferry_pub **pub, ferry_node *node, const char *service,
                             const ferry_pubsub_opts *opts);

/* Loans a sample of size bytes (1..max_payload) in shared memory and writes
 * its address to *payload, aligned as configured. Every loan ends in exactly
 * one ferry_pub_send (or a ferry_pub_try_send that hands it over) or
 * ferry_pub_discard.
 * FERRY_ELIMIT when max_loans samples are already loaned. */
FERRY_API int ferry_pub_loan(ferry_pub *pub, size_t size, void **payload);

/* Publishes a loaned sample to every connected subscriber. Whatever it returns,
 * the publisher takes the loan back: payload must not be used afterwards.
 * With FERRY_OVERFLOW_BLOCK it waits until every subscriber has room (a dead
 * subscriber is detected and dropped while waiting). */
FERRY_API int ferry_pub_send(ferry_pub *pub, void *payload);

/* Like ferry_pub_send, but never waits: with FERRY_OVERFLOW_BLOCK and a full
 * subscriber queue it returns FERRY_EAGAIN, delivers to nobody, and the caller
 * still owns the loan. On any other result the loan is handed over. */
FERRY_API int ferry_pub_try_send(ferry_pub *pub, void *payload);

/* Loans, copies size bytes of data in, and sends (may wait, as ferry_pub_send). */
FERRY_API int ferry_pub_send_copy(ferry_pub *pub, const void *data, size_t size);

/* Gives a loan back unsent. A pointer that is not a loan of this publisher is
 * ignored and sets ferry_last_error() to FERRY_EINVAL. */
FERRY_API void ferry_pub_discard(ferry_pub *pub, void *payload);

/* Connects subscribers that arrived since the last send, delivers history to
 * them and reclaims released samples. ferry_pub_send does this by itself; call
 * it when a publisher is idle and late subscribers should get history now. */
FERRY_API int ferry_pub_update(ferry_pub *pub);

typedef struct ferry_pub_stats {
    uint64_t sent;        /* samples sent */
    uint32_t subscribers; /* connected subscribers */
    uint32_t loans;       /* samples loaned now */
} ferry_pub_stats;

FERRY_API int ferry_pub_stats_get(const ferry_pub *pub, ferry_pub_stats *stats);
/* Unique id of this publisher (ferry_sample_info.publisher_id). 0 for NULL. */
FERRY_API uint64_t ferry_pub_id(const ferry_pub *pub);

/* Closes the publisher; outstanding loans are discarded. Samples already sent
 * stay readable by subscribers until they release them. NULL is a no-op. */
FERRY_API void ferry_pub_close(ferry_pub *pub);

/* Opens a subscriber on service, creating the service with opts if needed.
 * A subscriber receives every sample sent after it was opened (and up to
 * history older ones), unless its queue overflows (DROP_OLDEST). */
FERRY_API int ferry_sub_open(ferry_sub **sub, ferry_node *node, const char *service,
                             const ferry_pubsub_opts *opts);

/* Takes the next sample: *payload points to it (read-only shared memory) and
 * *size is its size (size may be NULL). The sample stays valid until
 * ferry_sub_release. FERRY_EAGAIN when nothing is queued; FERRY_ELIMIT when
 * max_borrowed samples are already taken. Order is kept per publisher. */
FERRY_API int ferry_sub_take(ferry_sub *sub, const void **payload, size_t *size);

/* ferry_sub_take that also fills *info with the sample's metadata (info
 * may be NULL): one call instead of a take and a ferry_sub_sample_info. */
FERRY_API int ferry_sub_take_info(ferry_sub *sub, const void **payload, ferry_sample_info *info);

/* Metadata of a taken, not yet released sample. */
FERRY_API int ferry_sub_sample_info(const ferry_sub *sub, const void *payload,
                                    ferry_sample_info *info);

/* Gives a taken sample back. A pointer that is not a taken sample of this
 * subscriber (including a second release) is ignored and sets
 * ferry_last_error() to FERRY_EINVAL; on success it is FERRY_OK. */
FERRY_API void ferry_sub_release(ferry_sub *sub, const void *payload);

typedef struct ferry_sub_stats {
    uint64_t received;   /* samples taken */
    uint64_t lost;       /* samples dropped from this subscriber's queue (DROP_OLDEST) */
    uint32_t publishers; /* connected publishers */
    uint32_t borrowed;   /* samples taken and not released now */
} ferry_sub_stats;

FERRY_API int ferry_sub_stats_get(ferry_sub *sub, ferry_sub_stats *stats);

/* Closes the subscriber; samples it still holds are given back. NULL is a no-op. */
FERRY_API void ferry_sub_close(ferry_sub *sub);

/* ------------------------------------------------------------------------ */
/* Waiting: blocking receive, events, wait sets                             */
/* ------------------------------------------------------------------------ */

/* Timeouts are in nanoseconds: FERRY_FOREVER waits without limit, 0 only
 * checks. A wait that a signal interrupts goes back to waiting (the time
 * already spent counts against the timeout); it never returns early with
 * nothing to say. */
#define FERRY_FOREVER (-1)

typedef struct ferry_wait_opts {
    /* Busy-poll this long before going to sleep (default 0: sleep at once).
     * A few microseconds keep an active stream at shared-memory latency while
     * an idle one still costs no CPU. */
    int64_t spin_ns;
    /* How often a sleeping waiter checks that its peers are still alive
     * (default 100 ms). A dead peer is reported within about this time. */
    int64_t liveness_ns;
} ferry_wait_opts;

FERRY_API void ferry_wait_opts_init(ferry_wait_opts *opts);

/* Applies wait options to a subscriber (NULL: defaults). */
FERRY_API int ferry_sub_set_wait_opts(ferry_sub *sub, const ferry_wait_opts *opts);

/* Waits until a sample can be taken, for at most timeout_ns.
 * FERRY_OK: ferry_sub_take will find a sample. FERRY_ETIMEDOUT: nothing came.
 * FERRY_EDISCONNECTED: a publisher of this subscriber went away (closed, or
 * its process died) since the last report and nothing is queued; several
 * departures between two calls are reported once. Publishers wake only
 * subscribers that are actually asleep. */
FERRY_API int ferry_sub_wait(ferry_sub *sub, int64_t timeout_ns);

/* A file descriptor that is readable while the subscriber has samples to
 * take, and when a publisher went away until the next empty take (for
 * epoll, poll, select, libuv, GUI loops). Owned by the subscriber:
 * do not close or read it. The first call makes publishers signal it, which
 * costs them one system call per burst of samples. Returns the fd, or a
 * negative FERRY_E* code. */
FERRY_API int ferry_sub_fd(ferry_sub *sub);

typedef struct ferry_notifier ferry_notifier;
typedef struct ferry_listener ferry_listener;

/* Reported by a listener when a notifier of its service went away (closed,
 * or its process died). */
#define FERRY_EVENT_PEER_GONE UINT32_MAX

typedef struct ferry_event_opts {
    uint32_t max_event_id;  /* ids 0..max_event_id (default 63, at most 4095) */
    uint32_t max_notifiers; /* default 16 */
    uint32_t max_listeners; /* default 16 */
} ferry_event_opts;

FERRY_API void ferry_event_opts_init(ferry_event_opts *opts);

/* Opens a notifier / listener on an event service, creating it from opts
 * when needed (max_event_id must match; the maxima must not exceed the
 * service's). */
FERRY_API int ferry_notifier_open(ferry_notifier **notifier, ferry_node *node, const char *service,
                                  const ferry_event_opts *opts);
FERRY_API int ferry_listener_open(ferry_listener **listener, ferry_node *node, const char *service,
                                  const ferry_event_opts *opts);

/* Raises event_id at every listener of the service. Repeated notifications
 * of one id before a listener collects them count once. No system call
 * unless a listener is asleep (or watched through its fd and not already
 * signalled). FERRY_EINVAL for an id above max_event_id. */
FERRY_API int ferry_notifier_notify(ferry_notifier *notifier, uint32_t event_id);
FERRY_API void ferry_notifier_close(ferry_notifier *notifier);

/* Collects the ids raised since the last collection, in increasing order:
 * up to max of them into ids, their number into *count (ids that do not fit
 * stay pending). FERRY_EAGAIN when none; wait also FERRY_ETIMEDOUT. */
FERRY_API int ferry_listener_try_wait(ferry_listener *listener, uint32_t *ids, size_t max, size_t *count);
FERRY_API int ferry_listener_wait(ferry_listener *listener, uint32_t *ids, size_t max, size_t *count,
                                  int64_t timeout_ns);
/* Readable while ids are pending; owned by the listener. */
FERRY_API int ferry_listener_fd(ferry_listener *listener);
FERRY_API int ferry_listener_set_wait_opts(ferry_listener *listener, const ferry_wait_opts *opts);
FERRY_API void ferry_listener_close(ferry_listener *listener);

/* A wait set: one thread waits on many sources at once (epoll on Linux).
 * No background thread: callbacks run in the thread that waits. */
typedef struct ferry_waitset ferry_waitset;
typedef struct ferry_attachment ferry_attachment;

typedef enum ferry_source_kind {
    FERRY_SOURCE_SUBSCRIBER = 1, /* has samples, or a publisher went away */
    FERRY_SOURCE_LISTENER = 2,   /* has events */
    FERRY_SOURCE_FD = 3,         /* a user fd is readable (or in error) */
    FERRY_SOURCE_DEADLINE = 4,   /* a one-shot deadline passed (fires once) */
    FERRY_SOURCE_INTERVAL = 5    /* a periodic interval elapsed */
} ferry_source_kind;

typedef struct ferry_event_info {
    ferry_attachment *attachment;
    ferry_source_kind kind;
    void *user;        /* what was given at attach */
    int disconnected;  /* subscriber: a publisher went away */
    uint64_t missed;   /* interval: periods that elapsed beyond the first */
} ferry_event_info;

/* Called once per ready source; return 0 to go on, non-zero to stop
 * ferry_waitset_run. */
typedef int (*ferry_waitset_cb)(const ferry_event_info *event, void *user);

FERRY_API int ferry_waitset_open(ferry_waitset **ws);
/* Closes the wait set and every attachment (the sources stay open). */
FERRY_API void ferry_waitset_close(ferry_waitset *ws);

FERRY_API int ferry_waitset_attach_sub(ferry_waitset *ws, ferry_sub *sub, void *user, ferry_attachment **out);
FERRY_API int ferry_waitset_attach_listener(ferry_waitset *ws, ferry_listener *listener, void *user,
                                            ferry_attachment **out);
FERRY_API int ferry_waitset_attach_fd(ferry_waitset *ws, int fd, void *user, ferry_attachment **out);
/* Fires once, ns nanoseconds from now. */
FERRY_API int ferry_waitset_attach_deadline(ferry_waitset *ws, int64_t ns, void *user, ferry_attachment **out);
/* Fires every ns nanoseconds. */
FERRY_API int ferry_waitset_attach_interval(ferry_waitset *ws, int64_t ns, void *user, ferry_attachment **out);
/* Detaches; safe from inside a callback of the same wait set (the source is
 * not reported again). A deadline stays attached after it fired (it does not
 * fire again) until it is detached or the set is closed. Closing a source attached to a wait set without
 * detaching it first is an error of the caller. */
FERRY_API void ferry_waitset_detach(ferry_waitset *ws, ferry_attachment *attachment);

/* Waits until at least one source is ready or timeout_ns passes, then calls
 * cb for each ready source. *fired (may be NULL) receives how many.
 * FERRY_ETIMEDOUT when nothing was ready. */
FERRY_API int ferry_waitset_wait(ferry_waitset *ws, int64_t timeout_ns, ferry_waitset_cb cb, void *user,
                                 unsigned *fired);
/* Waits and dispatches until a callback returns non-zero or
 * ferry_waitset_stop is called (from a callback or another thread). */
FERRY_API int ferry_waitset_run(ferry_waitset *ws, ferry_waitset_cb cb, void *user);
FERRY_API void ferry_waitset_stop(ferry_waitset *ws);

/* ------------------------------------------------------------------------ */
/* Request-response                                                         */
/* ------------------------------------------------------------------------ */

typedef struct ferry_client ferry_client;
typedef struct ferry_server ferry_server;
/* A call as the server sees it: a token, valid from ferry_server_take until
 * ferry_server_finish. A finished or foreign token is reported, not misused. */
typedef uint64_t ferry_call;

typedef struct ferry_reqres_opts {
    const char *request_type;  /* NULL: "bytes"; exact match */
    size_t max_request;        /* default 4096; exact match */
    const char *response_type; /* NULL: "bytes"; exact match */
    size_t max_response;       /* default 4096; exact match */
    size_t alignment;          /* of both payloads (default 8); exact match */
    uint32_t max_clients;      /* default 8 */
    uint32_t max_servers;      /* default 4 */
    uint32_t max_pending;      /* calls a client may have open at once (default 8) */
    uint32_t request_queue;    /* requests queued per server and client (default 8) */
    uint32_t response_queue;   /* responses queued per client and server (default 8) */
    uint32_t max_loans;        /* loans a client or server may hold at once (default 2) */
    uint32_t max_borrowed;     /* requests a server, responses a client may hold taken (default 4) */
} ferry_reqres_opts;

FERRY_API void ferry_reqres_opts_init(ferry_reqres_opts *opts);

/* Flags of a response. */
#define FERRY_RESPONSE_LAST 1u /* the call's last response: the call ends */

FERRY_API int ferry_client_open(ferry_client **client, ferry_node *node, const char *service,
                                const ferry_reqres_opts *opts);
/* Loans a request of size bytes (1..max_request) in shared memory. */
FERRY_API int ferry_client_loan(ferry_client *client, size_t size, void **request);
/* Sends a loaned request to one server (round robin over those with room)
 * and opens a call; its id goes to *call_id. On FERRY_OK the request belongs
 * to the server. FERRY_ENOTFOUND: no server is running; FERRY_EAGAIN: every
 * server's queue is full; FERRY_ELIMIT: max_pending calls are open. On those
 * three the caller keeps the loan; on any other error it is taken back. */
FERRY_API int ferry_client_send(ferry_client *client, void *request, uint64_t *call_id);
FERRY_API int ferry_client_send_copy(ferry_client *client, const void *data, size_t size, uint64_t *call_id);
FERRY_API void ferry_client_discard(ferry_client *client, void *request);
/* Takes the next response of any open call: *call_id says which, *response
 * and *size the payload (read-only shared memory, NULL/0 for an end-of-stream
 * without payload), *last is 1 when the call ended with it. Release every
 * response with ferry_client_release (NULL is accepted). FERRY_EAGAIN: none
 * yet. FERRY_EDISCONNECTED: the server of call *call_id went away (closed,
 * or its process died) before the call ended; that call is over. */
FERRY_API int ferry_client_take(ferry_client *client, uint64_t *call_id, const void **response, size_t *size,
                                int *last);
FERRY_API void ferry_client_release(ferry_client *client, const void *response);
/* Waits until ferry_client_take has something to say, or timeout_ns passes
 * (FERRY_ETIMEDOUT). FERRY_EAGAIN at once when no call is open. */
FERRY_API int ferry_client_wait(ferry_client *client, int64_t timeout_ns);
/* Waits until at least one server is running (FERRY_ETIMEDOUT otherwise). */
FERRY_API int ferry_client_wait_server(ferry_client *client, int64_t timeout_ns);
/* Calls currently open. */
FERRY_API uint32_t ferry_client_pending(const ferry_client *client);
/* Readable while responses wait (owned by the client). */
FERRY_API int ferry_client_fd(ferry_client *client);
/* Closes the client; open calls are dropped, their late responses freed. */
FERRY_API void ferry_client_close(ferry_client *client);

FERRY_API int ferry_server_open(ferry_server **server, ferry_node *node, const char *service,
                                const ferry_reqres_opts *opts);
/* Takes the next request: *call identifies it, *request and *size the
 * payload (read-only, valid until ferry_server_finish). FERRY_EAGAIN: none;
 * FERRY_ELIMIT: max_borrowed calls are unfinished. */
FERRY_API int ferry_server_take(ferry_server *server, ferry_call *call, const void **request, size_t *size);
/* Loans a response of size bytes (1..max_response) for call. */
FERRY_API int ferry_server_loan(ferry_server *server, ferry_call call, size_t size, void **response);
/* Sends a loaned response; flags FERRY_RESPONSE_LAST ends the call's stream.
 * FERRY_EAGAIN: the client's response queue is full (the server keeps the
 * loan: retry or discard). FERRY_EDISCONNECTED: the client is gone (the loan
 * is taken back; finish the call). A client that died without closing is
 * noticed when its response queue is full (then its liveness is checked) or
 * once cleanup has run: until then responses to it are accepted and later
 * reclaimed. FERRY_EINVAL: the call already ended or
 * is not one of this server's. */
FERRY_API int ferry_server_respond(ferry_server *server, ferry_call call, void *response, unsigned flags);
FERRY_API int ferry_server_respond_copy(ferry_server *server, ferry_call call, const void *data, size_t size,
                                        unsigned flags);
FERRY_API void ferry_server_discard(ferry_server *server, void *response);
/* Ends the call: sends an end-of-stream marker unless a last response was
 * sent (best effort: a gone client is fine), releases the request, and
 * invalidates the token. */
FERRY_API int ferry_server_finish(ferry_server *server, ferry_call call);
/* Ends the call as failed: instead of an end-of-stream, the client's
 * ferry_client_take reports FERRY_EDISCONNECTED for it, as when its server
 * goes away (responses sent before still arrive first). For a server that
 * stands in for another one that went away or cannot be reached (as
 * ferry-bridge's stand-ins do). Releases the request and invalidates the
 * token; return values as ferry_server_finish. */
FERRY_API int ferry_server_abort(ferry_server *server, ferry_call call);
FERRY_API int ferry_server_wait(ferry_server *server, int64_t timeout_ns);
FERRY_API int ferry_server_fd(ferry_server *server);
FERRY_API void ferry_server_close(ferry_server *server);

/* ------------------------------------------------------------------------ */
/* Shared state: one writer, many wait-free readers                         */
/* ------------------------------------------------------------------------ */

typedef struct ferry_state_writer ferry_state_writer;
typedef struct ferry_state_reader ferry_state_reader;

typedef struct ferry_state_opts {
    const char *type_name; /* NULL: "bytes"; exact match */
    size_t max_size;       /* largest value in bytes (default 4096); exact match */
    uint32_t max_readers;  /* default 16; the opener's value must not exceed the service's */
    /* NULL (default): the value lives while some process has the service
     * open. A directory: every published version is also written there, and
     * the last one comes back after a restart of every process or of the
     * machine. Must match the service's when given. */
    const char *persist_dir;
} ferry_state_opts;

FERRY_API void ferry_state_opts_init(ferry_state_opts *opts);

/* Opens the single writer of a state service (FERRY_ELIMIT if it has one). */
FERRY_API int ferry_state_writer_open(ferry_state_writer **writer, ferry_node *node, const char *service,
                                      const ferry_state_opts *opts);
/* Loans a buffer of size bytes (1..max_size) to prepare the next version in
 * place. One loan at a time (FERRY_ELIMIT). Never waits for readers. */
FERRY_API int ferry_state_loan(ferry_state_writer *writer, size_t size, void **buffer);
/* Makes the loaned buffer the current version in one atomic switch; its
 * version number (1, 2, ...) goes to *version (may be NULL). The loan is
 * handed over whatever it returns. With persistence, FERRY_ESYSTEM,
 * FERRY_ENOSPC or FERRY_EPERM mean the version was published but not saved. */
FERRY_API int ferry_state_publish(ferry_state_writer *writer, void *buffer, uint64_t *version);
FERRY_API void ferry_state_discard(ferry_state_writer *writer, void *buffer);
/* Loan, copy, publish. */
FERRY_API int ferry_state_write(ferry_state_writer *writer, const void *data, size_t size, uint64_t *version);
FERRY_API void ferry_state_writer_close(ferry_state_writer *writer);

FERRY_API int ferry_state_reader_open(ferry_state_reader **reader, ferry_node *node, const char *service,
                                      const ferry_state_opts *opts);
/* Starts reading the latest complete version: *data stays valid and
 * unchanged until ferry_state_read_end, however often the writer publishes.
 * Never waits for the writer (lock-free: it retries only if the writer
 * switched versions during the few instructions of the begin). FERRY_EAGAIN when nothing was published yet; FERRY_ELIMIT if
 * a read is already open on this reader (one at a time). */
FERRY_API int ferry_state_read_begin(ferry_state_reader *reader, const void **data, size_t *size, uint64_t *version);
FERRY_API void ferry_state_read_end(ferry_state_reader *reader);
/* Waits until a version newer than newer_than is published. FERRY_OK,
 * FERRY_ETIMEDOUT, or FERRY_EDISCONNECTED when the writer went away. */
FERRY_API int ferry_state_wait(ferry_state_reader *reader, uint64_t newer_than, int64_t timeout_ns);
FERRY_API void ferry_state_reader_close(ferry_state_reader *reader);

/* ------------------------------------------------------------------------ */
/* Listing and cleanup                                                      */
/* ------------------------------------------------------------------------ */

typedef enum ferry_pattern {
    FERRY_PATTERN_PUBSUB = 1,
    FERRY_PATTERN_EVENT = 2,
    FERRY_PATTERN_STATE = 3,
    FERRY_PATTERN_REQRES = 4
} ferry_pattern;

typedef struct ferry_service_info {
    char name[FERRY_SERVICE_NAME_MAX + 1];
    ferry_pattern pattern;
    char type_name[FERRY_TYPE_NAME_MAX + 1];
    ferry_pubsub_opts opts; /* pub/sub: static options; opts.type_name points to type_name above */
    ferry_event_opts event_opts; /* events: static options */
    ferry_state_opts state_opts; /* state: static options (type_name as above; persist_dir NULL) */
    /* request-response: opts describes the request channel (publishers =
     * clients, subscribers = servers), response_type its response type */
    char response_type[FERRY_TYPE_NAME_MAX + 1];
    uint32_t publishers;    /* active publishers (events: notifiers; state: writer) */
    uint32_t subscribers;   /* subscriber (events: listener) slots in use */
    /* request-response: the static options of both channels (request_type
     * and response_type point to type_name and response_type above;
     * max_pending, a per-client limit, is the default) */
    ferry_reqres_opts reqres_opts;
} ferry_service_info;

typedef struct ferry_node_info {
    char name[FERRY_NODE_NAME_MAX + 1];
    uint64_t id;
    long pid;
    long uid;
    int alive; /* 1 while the process holds the node open */
} ferry_node_info;

/* Callbacks return 0 to go on, non-zero to stop the listing. */
typedef int (*ferry_service_cb)(const ferry_service_info *info, void *user);
typedef int (*ferry_node_cb)(const ferry_node_info *info, void *user);

/* Lists services / nodes of a domain (NULL: env FERRY_DOMAIN, else "default"). */
FERRY_API int ferry_service_list(const char *domain, ferry_service_cb cb, void *user);
FERRY_API int ferry_node_list(const char *domain, ferry_node_cb cb, void *user);

/* Removes everything that dead nodes of the domain left behind. *removed (may
 * be NULL) receives the number of shared-memory objects removed. */
FERRY_API int ferry_cleanup(const char *domain, unsigned *removed);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_FERRY_H */
