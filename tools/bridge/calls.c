/*
 * ferry-bridge, request-response (docs/bridge.md, "Request-response").
 *
 * Serving side (an exported service with servers here): the bridge says so
 * every second (an announcement carrying the service options), and forwards
 * the requests peers send it to the local servers through a client of its
 * own; each response goes back to the calling bridge, numbered within its
 * call, and a call whose server went away here comes back as failed.
 *
 * Calling side (an imported service): for every peer that announces it, the
 * bridge opens a stand-in server in the local domain, once the peer has
 * answered a probe (so it is known to hear this bridge), and local clients
 * see one server per remote host. A request taken by a stand-in goes to its
 * peer with a token; the responses come back with that token and are given
 * to the local client in order. A call fails at the local client with
 * FERRY_EDISCONNECTED, as when any server goes away, when the peer reports
 * it failed, when a response is missing or malformed, when the peer's
 * announcements stop (the stand-in closes), or when a probe finds the call
 * unknown at the peer (its request or last response was lost).
 *
 * No loops: a bridge announces only servers that are not its own
 * stand-ins, and it opens no stand-in for a service that has servers here:
 * local servers are preferred to remote ones.
 *
 * Stand-ins are closed and freed only in calls_timer, which runs before the
 * main loop builds its poll set: a ready callback never meets a freed one
 * (open_standin also closes a server that failed to open, never polled).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "wire.h"

#define ANNOUNCE_EVERY_NS 1000000000u /* how often a served service is announced */
#define STANDIN_EXPIRY_NS 3500000000u /* silence after which a peer's stand-in closes */
#define RETRY_NS 1000000u             /* held-back responses and aborts are retried this often */
#define FORWARD_MAX_PENDING 64        /* calls the forwarding client keeps open at once */
#define HELD_MAX 65536                /* responses a call may have waiting for its local client */
#define HELD_BYTES_MAX (64u << 20)    /* ... and their bytes */
#define PROBE_AFTER_NS 1000000000u    /* a call quiet for this long is probed */
#define PROBE_EVERY_NS 1000000000u    /* how often a stand-in probes its quiet calls */
#define PROBE_MAX 512                 /* tokens per probe message */
#define PROBE_DEAD_NS 2500000000u     /* a probe unanswered this long: the peer does not hear us */
#define DRAIN_MAX_NS 10000000000u     /* a stand-in whose service has servers here closes within this */
#define RETRY_MAX_NS 64000000u        /* retries back off to this while a client takes nothing */

/* ---- serving side ------------------------------------------------------------ */

struct fwd_call { /* a peer's call, open at a local server */
    uint64_t call_id, caller, token;
    uint32_t next_seq; /* number of the next response */
};

struct call_out { /* a request-response service listed here */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    char req_type[FERRY_TYPE_NAME_MAX + 1], resp_type[FERRY_TYPE_NAME_MAX + 1];
    ferry_reqres_opts opts; /* as listed (announced as they are) */
    int exported;           /* matches an export pattern */
    uint32_t servers;       /* servers here besides this bridge's stand-ins, at the last scan */
    int listed;             /* seen in the last scan */
    ferry_client *client;   /* exported: opened when servers first appear */
    int fd;
    int open_failed; /* said so once */
    uint64_t next_announce;
    struct fwd_call *calls;
    size_t ncalls, cap;
    /* A response the link did not take (full): sent again before any other,
     * and the client is not read meanwhile, so its servers feel the back
     * pressure instead of responses being lost. */
    int stalled;
    uint64_t st_call;
    const void *st_resp;
    size_t st_size;
    unsigned st_flags;
};

/* ---- calling side ------------------------------------------------------------ */

struct held_resp { /* a response the local client had no room for yet */
    struct held_resp *next;
    unsigned flags; /* FYB_REPLY_* */
    size_t size;
    unsigned char data[];
};

struct open_call { /* a local client's call, forwarded to the peer */
    uint64_t token;
    ferry_call call;
    uint64_t heard_ns;  /* sent, or last heard of */
    uint32_t next_seq;  /* number of the next response expected */
    int failing;        /* to be aborted (ferry_server_abort met a full queue) */
    struct held_resp *held, *held_tail; /* in order, behind what the client has not taken */
    size_t nheld, held_bytes;
};

struct call_in { /* the stand-in for one peer's servers of one service */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    char topic[17 + FERRY_SERVICE_NAME_MAX + 1]; /* of its requests and probes: "<peer hex>/<name>" */
    fyb_announce announced; /* the options to open the server with */
    uint64_t peer, last_heard;
    ferry_server *server; /* NULL until the peer answered a probe, and once closing */
    int fd;
    int full;     /* max_borrowed calls open: not read until one ends */
    int closing;  /* closes at the next timer; freed when it expires */
    int draining; /* servers of it run here now: closes once no call is open, or after DRAIN_MAX_NS */
    uint64_t drain_since;
    uint64_t retry_every, next_retry; /* held responses and aborts: when to try again */
    int warned;   /* said that the peer does not answer */
    struct open_call *calls;
    size_t ncalls, cap;
    uint64_t next_probe;
    uint64_t probe_first; /* token of the oldest unanswered probe */
    uint64_t probe_sent_ns; /* when it was sent; 0: none unanswered */
};

static struct {
    struct call_out **outs;
    size_t nout;
    struct call_in **ins;
    size_t nin;
    uint64_t next_token;
    /* serving side */
    uint64_t requests_in, responses_out, failed_out, unsent;
    /* calling side */
    uint64_t requests_out, responses_in, failed_in, probed, bad_replies, unknown_replies;
    uint64_t not_ours, refused;
} C;

/* Whether now is more than span after since. The loop's now is read at the
 * top of its turn, and since may have been stamped later in that turn. */
static int later_than(uint64_t now, uint64_t since, uint64_t span) { return now > since && now - since > span; }

static struct call_out *find_out(const char *name)
{
    for (size_t i = 0; i < C.nout; i++)
        if (!strcmp(C.outs[i]->name, name))
            return C.outs[i];
    return NULL;
}

static uint32_t own_standins(const char *name)
{
    uint32_t n = 0;
    for (size_t i = 0; i < C.nin; i++)
        if (C.ins[i]->server && !strcmp(C.ins[i]->name, name))
            n++;
    return n;
}

/* Sends a response (or an end, a failure, a probe answer) for token to the
 * calling bridge, on its own topic. control: through the outbox (failures
 * and probe answers); responses are not, their sender stalls instead. */
static int send_reply(uint64_t caller, uint64_t token, unsigned flags, uint32_t seq, const void *data, size_t size,
                      int control)
{
    char topic[17];
    snprintf(topic, sizeof topic, "%016llx", (unsigned long long)caller);
    unsigned char head[FYB_CALL_HEADER_SIZE];
    fyb_call_header h = {
        .origin = B.origin, .target = caller, .token = token, .flags = flags, .sequence = seq, .payload_size = size};
    fyb_call_encode(head, &h);
    return (control ? send_control : send_frame)(FYB_REPLY_PREFIX, topic, head, sizeof head, data, size);
}

static void fail_remote(uint64_t caller, uint64_t token)
{
    if (send_reply(caller, token, FYB_REPLY_LAST | FYB_REPLY_FAILED, 0, NULL, 0, 1) == 0)
        C.failed_out++;
}

/* A request-response service in the listing (exported or imported: an
 * imported one is listed too, so that local servers are preferred). */
void calls_found(const ferry_service_info *info)
{
    if (info->pattern != FERRY_PATTERN_REQRES)
        return;
    int exported = wanted(info->name, DIR_EXPORT);
    if (!exported && !wanted(info->name, DIR_IMPORT))
        return;
    uint32_t own = own_standins(info->name);
    uint32_t servers = info->subscribers > own ? info->subscribers - own : 0;
    struct call_out *o = find_out(info->name);
    if (!o) {
        o = calloc(1, sizeof *o);
        if (!o)
            die_oom();
        snprintf(o->name, sizeof o->name, "%s", info->name);
        snprintf(o->req_type, sizeof o->req_type, "%s", info->type_name);
        snprintf(o->resp_type, sizeof o->resp_type, "%s", info->response_type);
        o->opts = info->reqres_opts;
        o->opts.request_type = o->req_type;
        o->opts.response_type = o->resp_type;
        o->fd = -1;
        C.outs = xrealloc(C.outs, (C.nout + 1) * sizeof *C.outs);
        C.outs[C.nout++] = o;
    }
    o->exported = exported;
    o->servers = servers;
    o->listed = 1;
    if (!exported || servers == 0 || o->client)
        return;
    ferry_reqres_opts co = o->opts;
    co.max_pending = FORWARD_MAX_PENDING;
    if (ferry_client_open(&o->client, B.node, o->name, &co) != FERRY_OK ||
        (o->fd = ferry_client_fd(o->client)) < 0) {
        if (!o->open_failed) /* retried at every scan, said once */
            logmsg("cannot call %s: %s", o->name, ferry_last_error_message());
        o->open_failed = 1;
        ferry_client_close(o->client);
        o->client = NULL;
        return;
    }
    o->open_failed = 0;
    if (cfg.verbose)
        logmsg("exporting calls of %s (%s -> %s)", o->name, o->req_type, o->resp_type);
}

static void announce(struct call_out *o)
{
    unsigned char body[FYB_ANNOUNCE_SIZE];
    fyb_announce a;
    memset(&a, 0, sizeof a);
    a.origin = B.origin;
    a.max_request = o->opts.max_request;
    a.max_response = o->opts.max_response;
    a.alignment = (uint32_t)o->opts.alignment;
    a.max_clients = o->opts.max_clients;
    a.max_servers = o->opts.max_servers;
    a.max_pending = o->opts.max_pending;
    a.request_queue = o->opts.request_queue;
    a.response_queue = o->opts.response_queue;
    a.max_loans = o->opts.max_loans;
    a.max_borrowed = o->opts.max_borrowed;
    snprintf(a.request_type, sizeof a.request_type, "%s", o->req_type);
    snprintf(a.response_type, sizeof a.response_type, "%s", o->resp_type);
    fyb_announce_encode(body, &a);
    send_control(FYB_ANNOUNCE_PREFIX, o->name, NULL, 0, body, sizeof body);
}

static int serving(const struct call_out *o) { return o->exported && o->client && o->servers > 0; }

/* After a scan: a service gone from the listing has no servers; this bridge
 * stops standing in for services that have servers here now (their open
 * calls may end first). */
void calls_scanned(void)
{
    for (size_t i = 0; i < C.nout; i++) {
        struct call_out *o = C.outs[i];
        if (!o->listed)
            o->servers = 0;
        o->listed = 0;
        if (o->servers == 0)
            continue;
        for (size_t k = 0; k < C.nin; k++) {
            struct call_in *in = C.ins[k];
            if (!in->closing && !in->draining && !strcmp(in->name, o->name)) {
                in->draining = 1;
                in->drain_since = now_ns(CLOCK_MONOTONIC);
                if (cfg.verbose)
                    logmsg("stand-in for %s of peer %016llx: servers of it run here now, it closes once idle",
                           in->name, (unsigned long long)in->peer);
            }
        }
    }
}

static struct fwd_call *find_fwd_call(struct call_out *o, uint64_t call_id, size_t *at)
{
    for (size_t i = 0; i < o->ncalls; i++)
        if (o->calls[i].call_id == call_id) {
            *at = i;
            return &o->calls[i];
        }
    return NULL;
}

/* Sends one response taken from the client; 0 sent (or nowhere to send),
 * -1 the link is full (the caller keeps the response stalled). */
static int pass_response(struct call_out *o, uint64_t call_id, const void *resp, size_t size, unsigned flags)
{
    size_t at;
    struct fwd_call *fc = find_fwd_call(o, call_id, &at);
    if (!fc)
        return 0; /* not a call of ours any more */
    if (send_reply(fc->caller, fc->token, flags, fc->next_seq, resp, size, 0) != 0) {
        if (errno == EAGAIN)
            return -1;
        C.unsent++; /* the caller notices the gap (sequence) or, for a last one, its probe */
    } else if (flags & FYB_REPLY_FAILED) {
        C.failed_out++;
    } else if (size) {
        C.responses_out++;
    }
    fc->next_seq++;
    if (flags & (FYB_REPLY_LAST | FYB_REPLY_FAILED))
        o->calls[at] = o->calls[--o->ncalls];
    return 0;
}

static void unstall(struct call_out *o)
{
    if (pass_response(o, o->st_call, o->st_resp, o->st_size, o->st_flags) != 0)
        return;
    ferry_client_release(o->client, o->st_resp);
    o->stalled = 0;
}

/* Responses of local servers: back to the calling bridges. */
static void out_ready(void *ctx)
{
    struct call_out *o = ctx;
    for (int n = 0; n < 256 && !o->stalled; n++) {
        uint64_t call_id = 0;
        const void *resp = NULL;
        size_t size = 0;
        int last = 0;
        int rc = ferry_client_take(o->client, &call_id, &resp, &size, &last);
        if (rc == FERRY_EAGAIN)
            return;
        unsigned flags = last ? FYB_REPLY_LAST : 0;
        if (rc == FERRY_EDISCONNECTED) {
            flags = FYB_REPLY_LAST | FYB_REPLY_FAILED; /* its server went away here */
            resp = NULL;
            size = 0;
        } else if (rc != FERRY_OK) {
            logmsg("take on %s: %s", o->name, ferry_last_error_message());
            return;
        }
        if (pass_response(o, call_id, resp, size, flags) != 0) {
            o->stalled = 1;
            o->st_call = call_id;
            o->st_resp = resp;
            o->st_size = size;
            o->st_flags = flags;
            return;
        }
        ferry_client_release(o->client, resp);
    }
}

/* A peer's request, for this bridge's local servers. */
static void receive_request(struct call_out *o, const fyb_call_header *h, const unsigned char *payload)
{
    if (!o || !serving(o) || h->payload_size == 0 || h->payload_size > o->opts.max_request) {
        fail_remote(h->origin, h->token);
        return;
    }
    uint64_t call_id = 0;
    if (ferry_client_send_copy(o->client, payload, (size_t)h->payload_size, &call_id) != FERRY_OK) {
        /* no server, their queues full, or FORWARD_MAX_PENDING calls open:
         * never wait, the caller learns at once */
        fail_remote(h->origin, h->token);
        return;
    }
    if (o->ncalls == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->calls = xrealloc(o->calls, o->cap * sizeof *o->calls);
    }
    o->calls[o->ncalls++] = (struct fwd_call){.call_id = call_id, .caller = h->origin, .token = h->token};
    C.requests_in++;
}

/* A caller's probe: the calls among its tokens that are not open here
 * (their request or last response was lost on the way, or this bridge
 * restarted) are failed, so that the caller stops waiting for them; then
 * the answer, which tells the caller that this bridge hears it. */
static void receive_probe(struct call_out *o, const fyb_call_header *h, const unsigned char *payload)
{
    if (!o || !o->exported || h->payload_size % 8 != 0 || h->payload_size > PROBE_MAX * 8) {
        B.rx_bad++;
        return;
    }
    for (uint64_t i = 0; i < h->payload_size; i += 8) {
        uint64_t token = fyb_get64(payload + i);
        int open = 0;
        for (size_t k = 0; k < o->ncalls && !open; k++)
            open = o->calls[k].caller == h->origin && o->calls[k].token == token;
        if (!open)
            fail_remote(h->origin, token);
    }
    send_reply(h->origin, h->token, FYB_REPLY_PROBED, 0, NULL, 0, 1);
}

/* ---- calling side: stand-ins ------------------------------------------------- */

static struct call_in *find_in(const char *name, uint64_t peer)
{
    for (size_t i = 0; i < C.nin; i++)
        if (C.ins[i]->peer == peer && !strcmp(C.ins[i]->name, name))
            return C.ins[i];
    return NULL;
}

static void send_probe(struct call_in *in, const unsigned char *tokens, size_t n, uint64_t now)
{
    unsigned char head[FYB_CALL_HEADER_SIZE];
    uint64_t token = ++C.next_token;
    fyb_call_header h = {
        .origin = B.origin, .target = in->peer, .token = token, .flags = FYB_REQUEST_PROBE, .payload_size = 8 * n};
    fyb_call_encode(head, &h);
    if (send_control(FYB_CALL_PREFIX, in->topic, head, sizeof head, tokens, 8 * n) != 0)
        return;
    C.probed += n;
    if (!in->probe_sent_ns) { /* the answer to this probe or any later one answers it */
        in->probe_sent_ns = now;
        in->probe_first = token;
    }
}

/* Opens the stand-in's server, once the peer has answered a probe: before,
 * a request could be lost because the peer does not hear this bridge yet
 * (ZeroMQ delivers to a subscriber only once its subscription arrived). */
static void open_standin(struct call_in *in)
{
    const fyb_announce *a = &in->announced;
    ferry_reqres_opts ro;
    ferry_reqres_opts_init(&ro);
    ro.request_type = a->request_type;
    ro.response_type = a->response_type;
    ro.max_request = (size_t)a->max_request;
    ro.max_response = (size_t)a->max_response;
    ro.alignment = a->alignment;
    ro.max_clients = a->max_clients;
    ro.max_servers = a->max_servers;
    ro.request_queue = a->request_queue;
    ro.response_queue = a->response_queue;
    ro.max_loans = a->max_loans;
    ro.max_borrowed = a->max_borrowed;
    if (ferry_server_open(&in->server, B.node, in->name, &ro) != FERRY_OK ||
        (in->fd = ferry_server_fd(in->server)) < 0) {
        /* kept, closed: announcements find it and do not retry before it
         * expires (a mismatch would only fail again) */
        logmsg("cannot stand in for %s of peer %016llx: %s", in->name, (unsigned long long)in->peer,
               ferry_last_error_message());
        ferry_server_close(in->server);
        in->server = NULL;
        in->closing = 1;
    } else if (cfg.verbose) {
        logmsg("importing calls of %s from peer %016llx", in->name, (unsigned long long)in->peer);
    }
}

static void receive_announcement(const char *name, const fyb_announce *a)
{
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    struct call_in *in = find_in(name, a->origin);
    if (in) {
        /* A closing one is not kept alive: it expires, and the next
         * announcement after that opens a new one if it is still wanted. */
        if (in->closing)
            return;
        in->last_heard = now;
        if (in->server)
            return;
        if (in->probe_sent_ns && now - in->probe_sent_ns > PROBE_DEAD_NS && !in->warned) {
            in->warned = 1;
            logmsg("peer %016llx serves %s but does not answer this bridge: does it --connect to this "
                   "bridge's --bind? (no stand-in until it does)",
                   (unsigned long long)in->peer, in->name);
        }
        if (!in->probe_sent_ns || now - in->probe_sent_ns >= PROBE_EVERY_NS)
            send_probe(in, NULL, 0, now); /* not heard back yet: ask again */
        return;
    }
    if (!wanted(name, DIR_IMPORT)) {
        B.rx_unwanted++;
        return;
    }
    struct call_out *o = find_out(name);
    if (o && o->servers > 0) {
        C.refused++; /* served here: local servers are preferred */
        return;
    }
    in = calloc(1, sizeof *in);
    if (!in)
        die_oom();
    snprintf(in->name, sizeof in->name, "%s", name);
    snprintf(in->topic, sizeof in->topic, "%016llx/%s", (unsigned long long)a->origin, name);
    in->announced = *a;
    in->peer = a->origin;
    in->last_heard = now;
    in->fd = -1;
    C.ins = xrealloc(C.ins, (C.nin + 1) * sizeof *C.ins);
    C.ins[C.nin++] = in;
    send_probe(in, NULL, 0, now); /* the server opens when the peer answers */
}

static struct open_call *find_open_call(struct call_in *in, uint64_t token)
{
    for (size_t i = 0; i < in->ncalls; i++)
        if (in->calls[i].token == token)
            return &in->calls[i];
    return NULL;
}

static void drop_held(struct open_call *oc)
{
    while (oc->held) {
        struct held_resp *p = oc->held;
        oc->held = p->next;
        free(p);
    }
    oc->held_tail = NULL;
    oc->nheld = 0;
    oc->held_bytes = 0;
}

static void end_open_call(struct call_in *in, struct open_call *oc)
{
    drop_held(oc);
    *oc = in->calls[--in->ncalls];
    in->full = 0;
}

enum { ANSWERED, ENDED, LATER };

/* Aborts the call at the local client: ENDED, or LATER (its queue is full:
 * the call is marked failing and the timer tries again). */
static int try_abort(struct call_in *in, struct open_call *oc)
{
    int rc = ferry_server_abort(in->server, oc->call);
    if (rc == FERRY_OK || rc == FERRY_EDISCONNECTED) {
        C.failed_in++;
        return ENDED;
    }
    if (rc == FERRY_EINVAL) /* the call had ended already */
        return ENDED;
    /* the client's queue is full, no loan for the marker, or another error
     * that left the call open: its slot must not be lost, try again later */
    oc->failing = 1;
    drop_held(oc);
    return LATER;
}

/* Gives one response (or an end, or a failure) to the local client. */
static int answer(struct call_in *in, struct open_call *oc, unsigned flags, const void *data, size_t size)
{
    if (flags & FYB_REPLY_FAILED)
        return try_abort(in, oc);
    if (size) {
        unsigned rf = (flags & FYB_REPLY_LAST) ? FERRY_RESPONSE_LAST : 0;
        int rc = ferry_server_respond_copy(in->server, oc->call, data, size, rf);
        if (rc == FERRY_EAGAIN || rc == FERRY_ELIMIT)
            return LATER;
        if (rc == FERRY_EDISCONNECTED) { /* the local client is gone: end the call here */
            ferry_server_finish(in->server, oc->call);
            return ENDED;
        }
        if (rc != FERRY_OK)
            return try_abort(in, oc);
        C.responses_in++;
    }
    if (!(flags & FYB_REPLY_LAST))
        return ANSWERED;
    /* after a last response this sends nothing more */
    int rc = ferry_server_finish(in->server, oc->call);
    return rc == FERRY_EAGAIN || rc == FERRY_ELIMIT ? LATER : ENDED;
}

/* Keeps a response for later, behind the call's others. */
static void hold(struct open_call *oc, unsigned flags, const void *data, size_t size)
{
    struct held_resp *p = malloc(sizeof *p + size);
    if (!p)
        die_oom();
    p->next = NULL;
    p->flags = flags;
    p->size = size;
    if (size)
        memcpy(p->data, data, size);
    if (oc->held_tail)
        oc->held_tail->next = p;
    else
        oc->held = p;
    oc->held_tail = p;
    oc->nheld++;
    oc->held_bytes += size;
}

/* Gives the call's held responses to its client, in order; 1 when the call
 * ended. */
static int flush_held(struct call_in *in, struct open_call *oc)
{
    while (oc->held) {
        struct held_resp *p = oc->held;
        int r = answer(in, oc, p->flags, p->data, p->size);
        if (r == LATER)
            return 0;
        oc->held = p->next;
        if (!oc->held)
            oc->held_tail = NULL;
        oc->nheld--;
        oc->held_bytes -= p->size;
        free(p);
        if (r == ENDED)
            return 1;
    }
    return 0;
}

static void receive_reply(const fyb_call_header *h, const unsigned char *payload)
{
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (h->flags & FYB_REPLY_PROBED) {
        for (size_t i = 0; i < C.nin; i++) {
            struct call_in *p = C.ins[i];
            if (p->peer != h->origin || !p->probe_sent_ns || h->token < p->probe_first)
                continue;
            p->probe_sent_ns = 0;
            p->warned = 0;
            if (!p->server && !p->closing && !p->draining)
                open_standin(p);
        }
        return;
    }
    struct call_in *in = NULL;
    struct open_call *oc = NULL;
    for (size_t i = 0; i < C.nin && !oc; i++)
        if (C.ins[i]->peer == h->origin && C.ins[i]->server && (oc = find_open_call(C.ins[i], h->token)) != NULL)
            in = C.ins[i];
    if (!oc) {
        C.unknown_replies++;
        return;
    }
    oc->heard_ns = now;
    if (oc->failing)
        return; /* being aborted: what comes now is not given to the client */
    unsigned flags = h->flags;
    if (!(flags & FYB_REPLY_FAILED) &&
        (h->sequence != oc->next_seq || h->payload_size > in->announced.max_response)) {
        /* a response went missing on the way (a link cut, a full link
         * without ZMQ_XPUB_NODROP), or the peer broke the service's limit */
        C.bad_replies++;
        flags = FYB_REPLY_FAILED;
    }
    oc->next_seq++;
    size_t size = (flags & FYB_REPLY_FAILED) ? 0 : (size_t)h->payload_size;
    int r = LATER;
    if (!oc->held)
        r = answer(in, oc, flags, payload, size);
    if (r == ENDED) {
        end_open_call(in, oc);
    } else if (r == LATER && !oc->failing) {
        if (oc->nheld == HELD_MAX || (oc->nheld && oc->held_bytes + size > HELD_BYTES_MAX)) {
            /* the local client does not keep up at all (nothing slows the
             * remote server down: the link has no flow control per call) */
            if (try_abort(in, oc) == ENDED)
                end_open_call(in, oc);
            return;
        }
        hold(oc, flags, payload, size);
    }
}

/* Requests of local clients: to the peer this stand-in stands for. */
static void in_ready(void *ctx)
{
    struct call_in *in = ctx;
    for (int n = 0; n < 256; n++) {
        ferry_call call;
        const void *req = NULL;
        size_t size = 0;
        int rc = ferry_server_take(in->server, &call, &req, &size);
        if (rc == FERRY_EAGAIN)
            return;
        if (rc == FERRY_ELIMIT) {
            in->full = 1; /* max_borrowed calls open: read again when one ends */
            return;
        }
        if (rc != FERRY_OK) {
            logmsg("take on stand-in %s: %s", in->name, ferry_last_error_message());
            return;
        }
        uint64_t token = ++C.next_token;
        unsigned char head[FYB_CALL_HEADER_SIZE];
        fyb_call_header h = {.origin = B.origin, .target = in->peer, .token = token, .payload_size = size};
        fyb_call_encode(head, &h);
        int sent = send_control(FYB_CALL_PREFIX, in->topic, head, sizeof head, req, size) == 0;
        if (in->ncalls == in->cap) {
            in->cap = in->cap ? 2 * in->cap : 16;
            in->calls = xrealloc(in->calls, in->cap * sizeof *in->calls);
        }
        struct open_call *oc = &in->calls[in->ncalls++];
        *oc = (struct open_call){.token = token, .call = call, .heard_ns = now_ns(CLOCK_MONOTONIC)};
        if (sent) {
            C.requests_out++;
        } else if (try_abort(in, oc) == ENDED) { /* the outbox is full, or no PUB socket: fail now */
            end_open_call(in, oc);
        }
    }
}

/* Asks the peer about the calls that have been quiet for a while: it fails
 * those it does not know (see receive_probe). Lost requests and lost last
 * responses so end in a failure instead of a call that waits for ever. */
static void probe(struct call_in *in, uint64_t now)
{
    unsigned char tokens[PROBE_MAX * 8];
    size_t n = 0;
    for (size_t i = 0; i < in->ncalls; i++) {
        if (in->calls[i].failing || !later_than(now, in->calls[i].heard_ns, PROBE_AFTER_NS))
            continue;
        fyb_put64(tokens + 8 * n++, in->calls[i].token);
        if (n == PROBE_MAX) {
            send_probe(in, tokens, n, now);
            n = 0;
        }
    }
    if (n)
        send_probe(in, tokens, n, now);
}

/* Marks a stand-in for closing; calls_timer closes it. */
static void close_in(struct call_in *in, const char *why)
{
    if (in->closing)
        return;
    in->closing = 1;
    C.failed_in += in->ncalls;
    if (cfg.verbose || in->ncalls)
        logmsg("stand-in for %s of peer %016llx closes (%s); %zu open call(s) fail", in->name,
               (unsigned long long)in->peer, why, in->ncalls);
}

static void free_in(struct call_in *in)
{
    /* Closing the server fails the local clients' open calls on it with
     * FERRY_EDISCONNECTED; finishing them first would end them as if done. */
    ferry_server_close(in->server);
    for (size_t i = 0; i < in->ncalls; i++)
        drop_held(&in->calls[i]);
    free(in->calls);
    free(in);
}

/* A stand-in's open calls: aborts to retry, held responses to give. */
static void tend_calls(struct call_in *in)
{
    for (size_t i = 0; i < in->ncalls;) {
        struct open_call *oc = &in->calls[i];
        int ended = oc->failing ? try_abort(in, oc) == ENDED : flush_held(in, oc);
        if (ended)
            end_open_call(in, oc); /* the last one moved to i */
        else
            i++;
    }
}

/* Held responses and calls waiting for their abort: progress is when this
 * goes down. */
static uint64_t held_count(const struct call_in *in)
{
    uint64_t n = 0;
    for (size_t i = 0; i < in->ncalls; i++)
        n += in->calls[i].nheld + (uint64_t)in->calls[i].failing;
    return n;
}

/* ---- the main loop's hooks ----------------------------------------------------- */

int calls_receive(const unsigned char *frame, size_t len)
{
    const char *tname;
    size_t nlen, rest_len;
    const unsigned char *rest;
    char name[FERRY_SERVICE_NAME_MAX + 1];
    if (fyb_split_topic(frame, len, FYB_ANNOUNCE_PREFIX, FYB_ANNOUNCE_PREFIX_LEN, FERRY_SERVICE_NAME_MAX, &tname,
                        &nlen, &rest, &rest_len) == 0) {
        fyb_announce a;
        if (fyb_announce_decode(&a, rest, rest_len) != 0)
            B.rx_bad++;
        else if (a.origin == B.origin)
            B.rx_loop++;
        else {
            copy_name(name, tname, nlen);
            receive_announcement(name, &a);
        }
        return 1;
    }
    if (fyb_split_topic(frame, len, FYB_CALL_PREFIX, FYB_CALL_PREFIX_LEN, 17 + FERRY_SERVICE_NAME_MAX, &tname, &nlen,
                        &rest, &rest_len) == 0) {
        fyb_call_header h;
        if (nlen < 18 || tname[16] != '/' || fyb_call_decode(&h, rest, rest_len) != 0) {
            B.rx_bad++;
        } else if (h.origin == B.origin) {
            B.rx_loop++;
        } else if (memcmp(tname, B.origin_hex, 16) != 0 || h.target != B.origin) {
            C.not_ours++; /* another bridge's (it should not reach us: ZeroMQ filters by topic) */
        } else {
            copy_name(name, tname + 17, nlen - 17);
            struct call_out *o = find_out(name);
            if (h.flags & FYB_REQUEST_PROBE)
                receive_probe(o, &h, rest + FYB_CALL_HEADER_SIZE);
            else
                receive_request(o, &h, rest + FYB_CALL_HEADER_SIZE);
        }
        return 1;
    }
    if (fyb_split_topic(frame, len, FYB_REPLY_PREFIX, FYB_REPLY_PREFIX_LEN, 16, &tname, &nlen, &rest, &rest_len) ==
        0) {
        fyb_call_header h;
        if (fyb_call_decode(&h, rest, rest_len) != 0)
            B.rx_bad++;
        else if (h.target != B.origin)
            C.not_ours++;
        else
            receive_reply(&h, rest + FYB_CALL_HEADER_SIZE);
        return 1;
    }
    return 0;
}

void calls_polls(struct poll_set *ps, uint64_t now)
{
    (void)now;
    for (size_t i = 0; i < C.nout; i++)
        if (C.outs[i]->client && !C.outs[i]->stalled)
            poll_add(ps, C.outs[i]->fd, out_ready, C.outs[i]);
    for (size_t i = 0; i < C.nin; i++) {
        struct call_in *in = C.ins[i];
        if (in->server && !in->closing && !in->full)
            poll_add(ps, in->fd, in_ready, in);
    }
}

uint64_t calls_timer(uint64_t now)
{
    uint64_t next = 0;
#define WAKE_AT(t)                                                                                                     \
    do {                                                                                                               \
        if (!next || (t) < next)                                                                                       \
            next = (t);                                                                                                \
    } while (0)
    for (size_t i = 0; i < C.nout; i++) {
        struct call_out *o = C.outs[i];
        if (o->stalled)
            unstall(o);
        if (o->stalled)
            WAKE_AT(now + RETRY_NS);
        else if (o->client && o->ncalls)
            out_ready(o); /* a take runs the client's liveness check: a server that died mid-call */
        if (serving(o)) {
            if (now >= o->next_announce) {
                announce(o);
                o->next_announce = now + ANNOUNCE_EVERY_NS;
            }
            WAKE_AT(o->next_announce);
        }
    }
    for (size_t i = 0; i < C.nin;) {
        struct call_in *in = C.ins[i];
        if (!in->closing && later_than(now, in->last_heard, STANDIN_EXPIRY_NS))
            close_in(in, "its announcements stopped");
        if (!in->closing && in->server && in->probe_sent_ns && later_than(now, in->probe_sent_ns, PROBE_DEAD_NS))
            close_in(in, "its bridge does not answer: does it --connect to this bridge's --bind?");
        if (!in->closing && in->draining && (in->ncalls == 0 || later_than(now, in->drain_since, DRAIN_MAX_NS)))
            close_in(in, "servers of it run here now");
        if (in->closing && later_than(now, in->last_heard, STANDIN_EXPIRY_NS)) {
            /* a stand-in that failed to open is kept until then, so that
             * announcements do not retry it every second */
            free_in(in);
            C.ins[i] = C.ins[--C.nin];
            continue;
        }
        if (in->closing && in->server) {
            ferry_server_close(in->server);
            in->server = NULL;
            for (size_t k = 0; k < in->ncalls; k++)
                drop_held(&in->calls[k]);
        }
        if (in->server && held_count(in) && now >= in->next_retry) {
            /* back off while the clients take nothing (a stuck client
             * must not wake the bridge a thousand times a second) */
            uint64_t before = held_count(in);
            tend_calls(in);
            uint64_t after = held_count(in);
            in->retry_every = after < before ? RETRY_NS : in->retry_every ? in->retry_every * 2 : RETRY_NS;
            if (in->retry_every > RETRY_MAX_NS)
                in->retry_every = RETRY_MAX_NS;
            in->next_retry = now + in->retry_every;
        }
        if (in->server) {
            if (held_count(in))
                WAKE_AT(in->next_retry);
            if (in->ncalls && now >= in->next_probe) {
                probe(in, now);
                in->next_probe = now + PROBE_EVERY_NS;
            }
            if (in->ncalls)
                WAKE_AT(in->next_probe);
            if (in->probe_sent_ns)
                WAKE_AT(in->probe_sent_ns + PROBE_DEAD_NS + 1);
        }
        WAKE_AT(in->last_heard + STANDIN_EXPIRY_NS + 1);
        i++;
    }
#undef WAKE_AT
    return next;
}

void calls_stats(FILE *out)
{
    size_t served = 0, standins = 0;
    for (size_t i = 0; i < C.nout; i++)
        served += serving(C.outs[i]);
    for (size_t i = 0; i < C.nin; i++)
        standins += C.ins[i]->server != NULL;
    fprintf(out,
            " calls: served=%zu requests_in=%llu responses_out=%llu failed_out=%llu unsent=%llu standins=%zu "
            "requests_out=%llu responses_in=%llu failed_in=%llu probed=%llu bad_replies=%llu unknown_replies=%llu "
            "not_ours=%llu refused=%llu",
            served, (unsigned long long)C.requests_in, (unsigned long long)C.responses_out,
            (unsigned long long)C.failed_out, (unsigned long long)C.unsent, standins,
            (unsigned long long)C.requests_out, (unsigned long long)C.responses_in, (unsigned long long)C.failed_in,
            (unsigned long long)C.probed, (unsigned long long)C.bad_replies, (unsigned long long)C.unknown_replies,
            (unsigned long long)C.not_ours, (unsigned long long)C.refused);
}

void calls_teardown(void)
{
    for (size_t i = 0; i < C.nin; i++)
        free_in(C.ins[i]);
    for (size_t i = 0; i < C.nout; i++) {
        if (C.outs[i]->stalled)
            ferry_client_release(C.outs[i]->client, C.outs[i]->st_resp);
        ferry_client_close(C.outs[i]->client);
        free(C.outs[i]->calls);
        free(C.outs[i]);
    }
    free(C.ins);
    free(C.outs);
}
