/*
 * Request-response, built from two publish-subscribe channels:
 *   "<name>#req"   clients publish requests, servers subscribe
 *   "<name>#resp"  servers publish responses, clients subscribe
 * ('#' cannot appear in a user's service name). Both channels keep every
 * property of pub/sub: zero copy, private reference counts, reclaiming what
 * a dead peer held, waking only sleepers. What this layer adds is routing:
 * a request goes to ONE server (round robin over those with room), and its
 * chunk header names the call and the client's response subscriber slot, so
 * that every response goes to that client only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/node.h"
#include "event/waiter.h"
#include "os/os.h"
#include "pubsub/internal.h"
#include "service/naming.h"
#include "service/registry.h"
#include "service/service.h"

struct pending_call {
    uint64_t call_id;
    uint32_t server_slot, server_gen; /* the server's request-subscriber slot */
};

struct ferry_client {
    struct fy_port_link link;
    ferry_node *node;
    char name[FERRY_SERVICE_NAME_MAX + 1];
    ferry_pub *req;
    ferry_sub *resp;
    uint32_t resp_slot, resp_gen;
    struct pending_call *pending;
    uint32_t npending, max_pending;
    uint64_t next_call;
    uint64_t next_probe; /* busy takers check their servers' liveness too */
    struct fy_wait_ops ops;
};

struct server_call {
    uint32_t gen; /* 0: free */
    int ended;    /* a last response went out (or the client is gone) */
    const void *request;
    struct fy_call_meta meta;
};

struct ferry_server {
    struct fy_port_link link;
    ferry_node *node;
    char name[FERRY_SERVICE_NAME_MAX + 1];
    ferry_sub *req;
    ferry_pub *resp;
    struct server_call *calls;
    uint32_t ncalls;
    uint32_t next_gen;
    uint64_t salt; /* in every token: another server's tokens are refused */
};

void ferry_reqres_opts_init(ferry_reqres_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->max_request = 4096;
    o->max_response = 4096;
    o->alignment = 8;
    o->max_clients = 8;
    o->max_servers = 4;
    o->max_pending = 8;
    o->request_queue = 8;
    o->response_queue = 8;
    o->max_loans = 2;
    o->max_borrowed = 4;
}

/* The two channel configurations of a request-response service. */
static int channel_configs(const ferry_reqres_opts *opts, struct fy_svc_config *req, struct fy_svc_config *resp)
{
    ferry_reqres_opts def;
    if (!opts) {
        ferry_reqres_opts_init(&def);
        opts = &def;
    }
    /* Checked here under their own names; the channel configs would name
     * the pub/sub fields. */
    struct {
        const char *name;
        uint64_t value, lo, hi;
    } ranges[] = {{"max_pending", opts->max_pending, 1, FY_MAX_QUEUE},
                  {"max_request", opts->max_request, 1, FY_MAX_PAYLOAD},
                  {"max_response", opts->max_response, 1, FY_MAX_PAYLOAD},
                  {"max_clients", opts->max_clients, 1, FY_MAX_PUBLISHERS},
                  {"max_servers", opts->max_servers, 1, FY_MAX_PUBLISHERS},
                  {"request_queue", opts->request_queue, 1, FY_MAX_QUEUE},
                  {"response_queue", opts->response_queue, 1, FY_MAX_QUEUE}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (ranges[i].value < ranges[i].lo || ranges[i].value > ranges[i].hi)
            return fy_fail(FERRY_EINVAL, "option %s is %llu: it must be between %llu and %llu", ranges[i].name,
                           (unsigned long long)ranges[i].value, (unsigned long long)ranges[i].lo,
                           (unsigned long long)ranges[i].hi);
    ferry_pubsub_opts po;
    ferry_pubsub_opts_init(&po);
    po.type_name = opts->request_type;
    po.max_payload = opts->max_request;
    po.alignment = opts->alignment;
    po.queue_capacity = opts->request_queue;
    po.max_publishers = opts->max_clients;
    po.max_subscribers = opts->max_servers;
    po.max_loans = opts->max_loans;
    po.max_borrowed = opts->max_borrowed;
    po.overflow = FERRY_OVERFLOW_BLOCK;
    int rc = fy_config_from_opts(req, &po);
    if (rc)
        return rc;
    po.type_name = opts->response_type;
    po.max_payload = opts->max_response;
    po.queue_capacity = opts->response_queue;
    po.max_publishers = opts->max_servers;
    po.max_subscribers = opts->max_clients;
    if ((rc = fy_config_from_opts(resp, &po)) != FERRY_OK)
        return rc;
    req->pattern = resp->pattern = FY_PATTERN_REQRES;
    return FERRY_OK;
}

static int channel_names(const char *service, char *req, char *resp, const char *what)
{
    int rc = fy_service_name_check(service);
    if (rc)
        return rc;
    if (strlen(service) + 5 > FERRY_SERVICE_NAME_MAX)
        return fy_fail(FERRY_EINVAL, "%s: service name too long for request-response (at most %d characters)", what,
                       FERRY_SERVICE_NAME_MAX - 5);
    snprintf(req, FERRY_SERVICE_NAME_MAX + 1, "%s#req", service);
    snprintf(resp, FERRY_SERVICE_NAME_MAX + 1, "%s#resp", service);
    return FERRY_OK;
}

/* ---- client -------------------------------------------------------------- */

static struct pending_call *find_call(ferry_client *c, uint64_t id)
{
    for (uint32_t i = 0; i < c->npending; i++)
        if (c->pending[i].call_id == id)
            return &c->pending[i];
    return NULL;
}

static void close_call(ferry_client *c, struct pending_call *p) { *p = c->pending[--c->npending]; }

/* An open call whose server is gone, or NULL. */
static struct pending_call *orphaned_call(ferry_client *c)
{
    for (uint32_t i = 0; i < c->npending; i++)
        if (!fy_pub_connected_to(c->req, c->pending[i].server_slot, c->pending[i].server_gen))
            return &c->pending[i];
    return NULL;
}

static int client_ready(void *ctx)
{
    ferry_client *c = ctx;
    const struct fy_wait_ops *sub_ops = fy_sub_wait_ops(c->resp);
    return sub_ops->ready(sub_ops->ctx) || orphaned_call(c) != NULL;
}

static int client_peers(void *ctx)
{
    ferry_client *c = ctx;
    const struct fy_wait_ops *sub_ops = fy_sub_wait_ops(c->resp);
    int dead = sub_ops->peers(sub_ops->ctx);
    if (c->npending)
        fy_pub_reap(c->req); /* frees the request slots of dead servers */
    return dead || orphaned_call(c) != NULL;
}

int ferry_client_open(ferry_client **out, ferry_node *node, const char *service, const ferry_reqres_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_client_open: client is NULL");
    *out = NULL;
    if (!node)
        return fy_fail(FERRY_EINVAL, "ferry_client_open: node is NULL: open one with ferry_node_open");
    char req_name[FERRY_SERVICE_NAME_MAX + 1], resp_name[FERRY_SERVICE_NAME_MAX + 1];
    struct fy_svc_config req_cfg, resp_cfg;
    int rc = channel_names(service, req_name, resp_name, "ferry_client_open");
    if (rc || (rc = channel_configs(opts, &req_cfg, &resp_cfg)) != FERRY_OK)
        return rc;
    ferry_client *c = calloc(1, sizeof *c);
    uint32_t max_pending = opts ? opts->max_pending : 8;
    if (c)
        c->pending = calloc(max_pending, sizeof *c->pending);
    if (!c || !c->pending) {
        free(c);
        return fy_fail(FERRY_ENOMEM, "ferry_client_open: out of memory");
    }
    c->node = node;
    c->max_pending = max_pending;
    c->next_call = 1;
    snprintf(c->name, sizeof c->name, "%s", service);
    /* Response subscriber first, so that servers can route to it at once. */
    if ((rc = fy_sub_open_cfg(&c->resp, node, resp_name, &resp_cfg)) != FERRY_OK ||
        (rc = fy_pub_open_cfg(&c->req, node, req_name, &req_cfg)) != FERRY_OK) {
        ferry_sub_close(c->resp);
        free(c->pending);
        free(c);
        return rc;
    }
    fy_sub_identity(c->resp, &c->resp_slot, &c->resp_gen);
    c->ops.ready = client_ready;
    c->ops.peers = client_peers;
    c->ops.ctx = c;
    fy_node_add_port(node, &c->link, FY_LINK_CLIENT);
    *out = c;
    fy_ok();
    return FERRY_OK;
}

int ferry_client_loan(ferry_client *c, size_t size, void **request)
{
    if (!c)
        return fy_fail(FERRY_EINVAL, "ferry_client_loan: client is NULL");
    return ferry_pub_loan(c->req, size, request);
}

int ferry_client_send(ferry_client *c, void *request, uint64_t *call_id)
{
    if (!c || !request)
        return fy_fail(FERRY_EINVAL, "ferry_client_send: %s is NULL", c ? "request" : "client");
    if (c->npending == c->max_pending)
        return fy_fail(FERRY_ELIMIT,
                       "client of \"%s\" has %u calls open (max_pending): take their responses first", c->name,
                       c->npending);
    struct fy_call_meta meta = {c->next_call, c->resp_slot, c->resp_gen, 0, 0};
    uint32_t slot, gen;
    int rc = fy_pub_send_any(c->req, request, &meta, &slot, &gen);
    if (rc)
        return rc;
    struct pending_call *p = &c->pending[c->npending++];
    p->call_id = c->next_call++;
    p->server_slot = slot;
    p->server_gen = gen;
    if (call_id)
        *call_id = p->call_id;
    return FERRY_OK;
}

int ferry_client_send_copy(ferry_client *c, const void *data, size_t size, uint64_t *call_id)
{
    if (!data)
        return fy_fail(FERRY_EINVAL, "ferry_client_send_copy: data is NULL");
    void *p;
    int rc = ferry_client_loan(c, size, &p);
    if (rc)
        return rc;
    memcpy(p, data, size);
    rc = ferry_client_send(c, p, call_id);
    if (rc == FERRY_ENOTFOUND || rc == FERRY_EAGAIN || rc == FERRY_ELIMIT) {
        int keep = rc;
        ferry_pub_discard(c->req, p);
        fy_fail(keep, "%s", ferry_last_error_message()); /* the discard must not hide why */
        return keep;
    }
    return rc;
}

void ferry_client_discard(ferry_client *c, void *request)
{
    if (!c) {
        fy_fail(FERRY_EINVAL, "ferry_client_discard: client is NULL");
        return;
    }
    ferry_pub_discard(c->req, request);
}

int ferry_client_take(ferry_client *c, uint64_t *call_id, const void **response, size_t *size, int *last)
{
    if (!c || !call_id || !response)
        return fy_fail(FERRY_EINVAL, "ferry_client_take: %s is NULL", !c ? "client" : !call_id ? "call_id" : "response");
    *response = NULL;
    if (size)
        *size = 0;
    if (last)
        *last = 0;
    int retaken = 0;
again:
    for (;;) {
        const void *p;
        size_t sz;
        struct fy_call_meta meta;
        int rc = fy_sub_take_meta(c->resp, &p, &sz, &meta);
        if (rc == FERRY_EAGAIN)
            break;
        if (rc)
            return rc;
        struct pending_call *pc = find_call(c, meta.call_id);
        if (!pc || meta.reply_slot != c->resp_slot || meta.reply_gen != c->resp_gen) {
            ferry_sub_release(c->resp, p); /* a late answer to a call that is over */
            continue;
        }
        *call_id = meta.call_id;
        int ended = (meta.flags & FY_CALL_LAST) != 0;
        if (ended)
            close_call(c, pc);
        if (meta.flags & FY_CALL_FAILED) { /* ferry_server_abort */
            ferry_sub_release(c->resp, p);
            return fy_fail(FERRY_EDISCONNECTED, "call %llu on \"%s\": its server gave up on it (it stands in for "
                           "another that went away or cannot be reached)",
                           (unsigned long long)*call_id, c->name);
        }
        if (last)
            *last = ended;
        if (meta.flags & FY_CALL_EMPTY) {
            ferry_sub_release(c->resp, p);
            return FERRY_OK;
        }
        *response = p;
        if (size)
            *size = sz;
        return FERRY_OK;
    }
    if (c->npending) {
        /* A client that polls with take, never waiting, must still learn
         * that a server died: check every 100 ms. The coarse clock: a
         * precise read costs more than the take itself, and a busy poll
         * loop that spends its time there notices a response later. */
        uint64_t now = fy_os_coarse_now_ns();
        if (now >= c->next_probe) {
            c->next_probe = now + 100000000u;
            client_peers(c);
        }
    }
    struct pending_call *gone = orphaned_call(c);
    if (gone && !retaken) {
        /* The server may have answered and left just after our take came up
         * empty: its last response is visible now. Look once more. */
        retaken = 1;
        goto again;
    }
    if (gone) {
        *call_id = gone->call_id;
        close_call(c, gone);
        return fy_fail(FERRY_EDISCONNECTED, "call %llu on \"%s\": its server went away before it ended",
                       (unsigned long long)*call_id, c->name);
    }
    return fy_fail_static(FERRY_EAGAIN, "ferry_client_take: no response yet");
}

void ferry_client_release(ferry_client *c, const void *response)
{
    if (!c) {
        fy_fail(FERRY_EINVAL, "ferry_client_release: client is NULL");
        return;
    }
    if (!response) {
        fy_ok();
        return;
    }
    ferry_sub_release(c->resp, response);
}

int ferry_client_wait(ferry_client *c, int64_t timeout_ns)
{
    if (!c)
        return fy_fail(FERRY_EINVAL, "ferry_client_wait: client is NULL");
    if (timeout_ns < 0 && timeout_ns != FERRY_FOREVER)
        return fy_fail(FERRY_EINVAL, "ferry_client_wait: timeout %lld: use >= 0 or FERRY_FOREVER", (long long)timeout_ns);
    if (c->npending == 0 && !client_ready(c))
        return fy_fail(FERRY_EAGAIN, "ferry_client_wait on \"%s\": no call is open", c->name);
    int rc = fy_waiter_wait(fy_sub_waiter(c->resp), &c->ops, timeout_ns);
    if (rc == FERRY_ETIMEDOUT)
        return fy_fail(rc, "ferry_client_wait on \"%s\": no response within %lld ns", c->name, (long long)timeout_ns);
    return rc;
}

int ferry_client_wait_server(ferry_client *c, int64_t timeout_ns)
{
    if (!c)
        return fy_fail(FERRY_EINVAL, "ferry_client_wait_server: client is NULL");
    if (timeout_ns < 0 && timeout_ns != FERRY_FOREVER)
        return fy_fail(FERRY_EINVAL, "ferry_client_wait_server: timeout %lld: use >= 0 or FERRY_FOREVER",
                       (long long)timeout_ns);
    uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : fy_os_now_ns() + (uint64_t)timeout_ns;
    for (uint64_t pause = 10000;; pause = pause < 5000000 ? pause * 2 : pause) {
        if (fy_pub_subscribers(c->req) > 0)
            return FERRY_OK;
        uint64_t now = fy_os_now_ns();
        if (now >= deadline)
            return fy_fail(FERRY_ETIMEDOUT, "ferry_client_wait_server on \"%s\": no server within %lld ns", c->name,
                           (long long)timeout_ns);
        /* Servers announce themselves only through the slots: poll gently. */
        fy_os_sleep_ns(pause < deadline - now ? pause : deadline - now);
    }
}

uint32_t ferry_client_pending(const ferry_client *c) { return c ? c->npending : 0; }

int ferry_client_fd(ferry_client *c)
{
    if (!c)
        return fy_fail(FERRY_EINVAL, "ferry_client_fd: client is NULL");
    return ferry_sub_fd(c->resp);
}

void ferry_client_close(ferry_client *c)
{
    if (!c)
        return;
    fy_node_remove_port(c->node, &c->link);
    ferry_pub_close(c->req);
    ferry_sub_close(c->resp);
    free(c->pending);
    free(c);
}

/* ---- server -------------------------------------------------------------- */

int ferry_server_open(ferry_server **out, ferry_node *node, const char *service, const ferry_reqres_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_server_open: server is NULL");
    *out = NULL;
    if (!node)
        return fy_fail(FERRY_EINVAL, "ferry_server_open: node is NULL: open one with ferry_node_open");
    char req_name[FERRY_SERVICE_NAME_MAX + 1], resp_name[FERRY_SERVICE_NAME_MAX + 1];
    struct fy_svc_config req_cfg, resp_cfg;
    int rc = channel_names(service, req_name, resp_name, "ferry_server_open");
    if (rc || (rc = channel_configs(opts, &req_cfg, &resp_cfg)) != FERRY_OK)
        return rc;
    ferry_server *s = calloc(1, sizeof *s);
    if (!s)
        return fy_fail(FERRY_ENOMEM, "ferry_server_open: out of memory");
    s->node = node;
    s->next_gen = 1;
    s->salt = fy_os_random64() & 0xffffull;
    snprintf(s->name, sizeof s->name, "%s", service);
    if ((rc = fy_pub_open_cfg(&s->resp, node, resp_name, &resp_cfg)) != FERRY_OK ||
        (rc = fy_sub_open_cfg(&s->req, node, req_name, &req_cfg)) != FERRY_OK) {
        ferry_pub_close(s->resp);
        free(s);
        return rc;
    }
    /* The service's own limit, which may exceed what this opener asked. */
    s->ncalls = fy_sub_max_borrowed(s->req);
    s->calls = calloc(s->ncalls, sizeof *s->calls);
    if (!s->calls) {
        ferry_sub_close(s->req);
        ferry_pub_close(s->resp);
        free(s);
        return fy_fail(FERRY_ENOMEM, "ferry_server_open: out of memory");
    }
    fy_node_add_port(node, &s->link, FY_LINK_SERVER);
    *out = s;
    fy_ok();
    return FERRY_OK;
}

/* A token: salt (16 bits) | generation (32) | call index (16). */
static uint64_t token_of(const ferry_server *s, uint32_t index, uint32_t gen)
{
    return (s->salt << 48) | ((uint64_t)gen << 16) | index;
}

static struct server_call *call_of(ferry_server *s, ferry_call call, const char *what)
{
    uint32_t index = (uint32_t)(call & 0xffff), gen = (uint32_t)(call >> 16);
    if (!s) {
        fy_fail(FERRY_EINVAL, "%s: server is NULL", what);
        return NULL;
    }
    if ((call >> 48) != s->salt || index >= s->ncalls || gen == 0 || s->calls[index].gen != gen) {
        fy_fail(FERRY_EINVAL, "%s on \"%s\": call %llu is not an unfinished call of this server (finished already?)",
                what, s->name, (unsigned long long)call);
        return NULL;
    }
    return &s->calls[index];
}

int ferry_server_take(ferry_server *s, ferry_call *call, const void **request, size_t *size)
{
    if (!s || !call || !request)
        return fy_fail(FERRY_EINVAL, "ferry_server_take: %s is NULL", !s ? "server" : !call ? "call" : "request");
    *request = NULL;
    *call = 0;
    uint32_t index = 0;
    while (index < s->ncalls && s->calls[index].gen != 0)
        index++;
    if (index == s->ncalls)
        return fy_fail(FERRY_ELIMIT, "server of \"%s\" has %u unfinished calls (max_borrowed): finish one first",
                       s->name, s->ncalls);
    struct server_call *sc = &s->calls[index];
    size_t sz;
    int rc = fy_sub_take_meta(s->req, &sc->request, &sz, &sc->meta);
    if (rc)
        return rc;
    sc->gen = s->next_gen++;
    if (s->next_gen > 0xffffffffu - 1)
        s->next_gen = 1;
    sc->ended = 0;
    *call = token_of(s, index, sc->gen);
    *request = sc->request;
    if (size)
        *size = sz;
    return FERRY_OK;
}

int ferry_server_loan(ferry_server *s, ferry_call call, size_t size, void **response)
{
    struct server_call *sc = call_of(s, call, "ferry_server_loan");
    if (!sc)
        return FERRY_EINVAL;
    if (sc->ended)
        return fy_fail(FERRY_EINVAL, "ferry_server_loan on \"%s\": call %llu already ended", s->name,
                       (unsigned long long)call);
    return ferry_pub_loan(s->resp, size, response);
}

static int respond(ferry_server *s, struct server_call *sc, void *response, uint32_t flags)
{
    if (sc->meta.origin_owner == 0) {
        /* The request's publisher had left (closed or died) when it was
         * taken: nobody can be verified as the one to answer. */
        ferry_pub_discard(s->resp, response);
        sc->ended = 1;
        return fy_fail(FERRY_EDISCONNECTED, "\"%s\": the client that sent this request is gone", s->name);
    }
    struct fy_call_meta meta = sc->meta;
    meta.flags = flags;
    /* The response goes to the reply slot the request named, but only if
     * that slot belongs to the node that sent the request: a client cannot
     * have answers delivered into another client's calls. */
    int rc = fy_pub_send_to(s->resp, response, sc->meta.reply_slot, sc->meta.reply_gen, sc->meta.origin_owner,
                            &meta);
    if (rc == FERRY_OK && (flags & FY_CALL_LAST))
        sc->ended = 1;
    if (rc == FERRY_EDISCONNECTED)
        sc->ended = 1;
    return rc;
}

int ferry_server_respond(ferry_server *s, ferry_call call, void *response, unsigned flags)
{
    struct server_call *sc = call_of(s, call, "ferry_server_respond");
    if (!sc)
        return FERRY_EINVAL;
    if (!response)
        return fy_fail(FERRY_EINVAL, "ferry_server_respond: response is NULL");
    if (flags & ~FERRY_RESPONSE_LAST)
        return fy_fail(FERRY_EINVAL, "ferry_server_respond: unknown flags 0x%x", flags);
    if (sc->ended)
        return fy_fail(FERRY_EINVAL, "ferry_server_respond on \"%s\": call %llu already ended (its last response "
                                     "was sent, or its client is gone)",
                       s->name, (unsigned long long)call);
    return respond(s, sc, response, (flags & FERRY_RESPONSE_LAST) ? FY_CALL_LAST : 0);
}

int ferry_server_respond_copy(ferry_server *s, ferry_call call, const void *data, size_t size, unsigned flags)
{
    if (!data)
        return fy_fail(FERRY_EINVAL, "ferry_server_respond_copy: data is NULL");
    void *p;
    int rc = ferry_server_loan(s, call, size, &p);
    if (rc)
        return rc;
    memcpy(p, data, size);
    rc = ferry_server_respond(s, call, p, flags);
    if (rc == FERRY_EAGAIN || rc == FERRY_EINVAL) {
        /* The loan is still ours (respond keeps it on these): give it back,
         * keeping the reason. */
        char why[256];
        snprintf(why, sizeof why, "%s", ferry_last_error_message());
        ferry_pub_discard(s->resp, p);
        fy_fail(rc, "%s", why);
    }
    return rc;
}

void ferry_server_discard(ferry_server *s, void *response)
{
    if (!s) {
        fy_fail(FERRY_EINVAL, "ferry_server_discard: server is NULL");
        return;
    }
    ferry_pub_discard(s->resp, response);
}

/* Ends the call with an end-of-stream marker carrying flags (unless a last
 * response was sent), releases the request and invalidates the token. */
static int end_call(ferry_server *s, ferry_call call, uint32_t flags, const char *what)
{
    struct server_call *sc = call_of(s, call, what);
    if (!sc)
        return FERRY_EINVAL;
    if (!sc->ended) {
        void *p;
        int rc = ferry_pub_loan(s->resp, 1, &p);
        if (rc)
            return rc;
        rc = respond(s, sc, p, FY_CALL_LAST | FY_CALL_EMPTY | flags);
        if (rc == FERRY_EAGAIN) {
            ferry_pub_discard(s->resp, p);
            return fy_fail(rc, "%s on \"%s\": the client's response queue is full: call again later", what,
                           s->name);
        }
        if (rc != FERRY_OK && rc != FERRY_EDISCONNECTED)
            return rc; /* the call stays open: the client must not wait for an end that never comes */
        /* FERRY_EDISCONNECTED: nobody to tell. */
    }
    ferry_sub_release(s->req, sc->request);
    sc->gen = 0;
    sc->request = NULL;
    fy_ok();
    return FERRY_OK;
}

int ferry_server_finish(ferry_server *s, ferry_call call) { return end_call(s, call, 0, "ferry_server_finish"); }

int ferry_server_abort(ferry_server *s, ferry_call call)
{
    return end_call(s, call, FY_CALL_FAILED, "ferry_server_abort");
}

int ferry_server_wait(ferry_server *s, int64_t timeout_ns)
{
    if (!s)
        return fy_fail(FERRY_EINVAL, "ferry_server_wait: server is NULL");
    /* A client leaving is not the server's concern: wait on for requests. */
    uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : fy_os_now_ns() + (uint64_t)timeout_ns;
    for (;;) {
        uint64_t now = fy_os_now_ns();
        int64_t left = timeout_ns < 0 ? timeout_ns : (now >= deadline ? 0 : (int64_t)(deadline - now));
        int rc = ferry_sub_wait(s->req, left);
        if (rc != FERRY_EDISCONNECTED)
            return rc;
    }
}

int ferry_server_fd(ferry_server *s)
{
    if (!s)
        return fy_fail(FERRY_EINVAL, "ferry_server_fd: server is NULL");
    return ferry_sub_fd(s->req);
}

void ferry_server_close(ferry_server *s)
{
    if (!s)
        return;
    fy_node_remove_port(s->node, &s->link);
    ferry_sub_close(s->req);
    ferry_pub_close(s->resp);
    free(s->calls);
    free(s);
}
