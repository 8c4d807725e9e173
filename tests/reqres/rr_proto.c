#include "rr_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t rr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rr_sleep_us(unsigned us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

uint64_t rr_f(uint64_t x, uint32_t part)
{
    uint64_t v = x * 0x9E3779B97F4A7C15ull + (uint64_t)part * 0xC2B2AE3D27D4EB4Full + 1;
    return v ^ (v >> 29);
}

static uint8_t tail_byte(uint64_t seq, uint32_t i) { return (uint8_t)(seq * 31u + i * 7u + 3u); }

size_t rr_req_size(uint64_t seq) { return sizeof(struct rr_req) + (size_t)(seq % (RR_TAIL_MAX + 1)); }

void rr_req_fill(void *buf, uint64_t client, uint64_t seq, uint64_t x, uint32_t parts, uint32_t mode)
{
    struct rr_req *r = buf;
    r->magic = RR_REQ_MAGIC;
    r->client = client;
    r->seq = seq;
    r->x = x;
    r->parts = parts;
    r->mode = mode;
    r->tail = (uint32_t)(seq % (RR_TAIL_MAX + 1));
    r->pad = 0;
    uint8_t *t = (uint8_t *)(r + 1);
    for (uint32_t i = 0; i < r->tail; i++)
        t[i] = tail_byte(seq, i);
}

int rr_req_check(const void *buf, size_t size, char *why, size_t why_size)
{
    const struct rr_req *r = buf;
    if (!buf || size < sizeof *r) {
        snprintf(why, why_size, "request of %zu bytes (at least %zu expected)", size, sizeof *r);
        return -1;
    }
    if (r->magic != RR_REQ_MAGIC || r->tail > RR_TAIL_MAX || size != sizeof *r + r->tail ||
        r->tail != r->seq % (RR_TAIL_MAX + 1) || r->mode > RR_HOLD) {
        snprintf(why, why_size, "bad request header (size %zu, tail %u, seq %llu, mode %u)", size, r->tail,
                 (unsigned long long)r->seq, r->mode);
        return -1;
    }
    const uint8_t *t = (const uint8_t *)(r + 1);
    for (uint32_t i = 0; i < r->tail; i++) {
        if (t[i] != tail_byte(r->seq, i)) {
            snprintf(why, why_size, "request seq %llu: tail byte %u is %u, expected %u", (unsigned long long)r->seq,
                     i, t[i], tail_byte(r->seq, i));
            return -1;
        }
    }
    return 0;
}

size_t rr_resp_size(const struct rr_req *req) { return sizeof(struct rr_resp) + req->tail; }

void rr_resp_fill(void *buf, const struct rr_req *req, uint64_t server, uint32_t part)
{
    struct rr_resp *r = buf;
    r->magic = RR_RESP_MAGIC;
    r->client = req->client;
    r->seq = req->seq;
    r->fx = rr_f(req->x, part);
    r->server = server;
    r->part = part;
    r->tail = req->tail;
    const uint8_t *in = (const uint8_t *)(req + 1);
    uint8_t *out = (uint8_t *)(r + 1);
    for (uint32_t i = 0; i < req->tail; i++)
        out[i] = (uint8_t)~in[i];
}

int rr_resp_check(const void *buf, size_t size, uint64_t client, uint64_t seq, uint64_t x, uint32_t part,
                  uint64_t *server, char *why, size_t why_size)
{
    const struct rr_resp *r = buf;
    uint32_t tail = (uint32_t)(seq % (RR_TAIL_MAX + 1));
    if (!buf || size != sizeof *r + tail) {
        snprintf(why, why_size, "call seq %llu part %u: response %p of %zu bytes, expected %zu",
                 (unsigned long long)seq, part, buf, size, sizeof *r + tail);
        return -1;
    }
    if (r->magic != RR_RESP_MAGIC || r->client != client || r->seq != seq || r->part != part || r->tail != tail ||
        r->fx != rr_f(x, part)) {
        snprintf(why, why_size,
                 "call seq %llu part %u of client %llu: response says client %llu seq %llu part %u fx %s",
                 (unsigned long long)seq, part, (unsigned long long)client, (unsigned long long)r->client,
                 (unsigned long long)r->seq, r->part, r->fx == rr_f(x, part) ? "right" : "WRONG");
        return -1;
    }
    const uint8_t *t = (const uint8_t *)(r + 1);
    for (uint32_t i = 0; i < tail; i++) {
        uint8_t want = (uint8_t)~tail_byte(seq, i);
        if (t[i] != want) {
            snprintf(why, why_size, "call seq %llu part %u: response tail byte %u wrong", (unsigned long long)seq,
                     part, i);
            return -1;
        }
    }
    if (server)
        *server = r->server;
    return 0;
}

/* ---- options ---------------------------------------------------------------- */

void rr_opts_default(ferry_reqres_opts *o)
{
    ferry_reqres_opts_init(o);
    o->request_type = RR_REQ_TYPE;
    o->response_type = RR_RESP_TYPE;
}

int rr_opts_parse_word(ferry_reqres_opts *o, const char *word)
{
    static char names[8][FERRY_TYPE_NAME_MAX + 2];
    static int next_name;
    const char *eq = strchr(word, '=');
    if (!eq)
        return -1;
    size_t klen = (size_t)(eq - word);
    const char *v = eq + 1;
#define KEY(k) (klen == strlen(k) && strncmp(word, k, klen) == 0)
    if (KEY("reqtype") || KEY("resptype")) {
        char *t = names[next_name++ % 8];
        snprintf(t, FERRY_TYPE_NAME_MAX + 2, "%s", v);
        if (KEY("reqtype"))
            o->request_type = t;
        else
            o->response_type = t;
        return 0;
    }
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 0);
    if (!end || end == v || *end)
        return -1;
    if (KEY("maxreq"))
        o->max_request = (size_t)n;
    else if (KEY("maxresp"))
        o->max_response = (size_t)n;
    else if (KEY("align"))
        o->alignment = (size_t)n;
    else if (KEY("clients"))
        o->max_clients = (uint32_t)n;
    else if (KEY("servers"))
        o->max_servers = (uint32_t)n;
    else if (KEY("pending"))
        o->max_pending = (uint32_t)n;
    else if (KEY("reqq"))
        o->request_queue = (uint32_t)n;
    else if (KEY("respq"))
        o->response_queue = (uint32_t)n;
    else if (KEY("loans"))
        o->max_loans = (uint32_t)n;
    else if (KEY("borrowed"))
        o->max_borrowed = (uint32_t)n;
    else
        return -1;
#undef KEY
    return 0;
}

void rr_opts_format(const ferry_reqres_opts *o, char *out, size_t size)
{
    snprintf(out, size,
             "reqtype=%s resptype=%s maxreq=%zu maxresp=%zu align=%zu clients=%u servers=%u pending=%u reqq=%u "
             "respq=%u loans=%u borrowed=%u",
             o->request_type ? o->request_type : "bytes", o->response_type ? o->response_type : "bytes",
             o->max_request, o->max_response, o->alignment, (unsigned)o->max_clients, (unsigned)o->max_servers,
             (unsigned)o->max_pending, (unsigned)o->request_queue, (unsigned)o->response_queue,
             (unsigned)o->max_loans, (unsigned)o->max_borrowed);
}

/* ---- serving ---------------------------------------------------------------------- */

static void note(char *problem, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *problem, size_t size, const char *fmt, ...)
{
    if (problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, size, fmt, ap);
    va_end(ap);
}

static void count_tag(uint64_t *tags, uint64_t *counts, uint64_t tag)
{
    for (unsigned i = 0; i < RR_MAX_TAGS; i++) {
        if (counts[i] && tags[i] == tag) {
            counts[i]++;
            return;
        }
        if (!counts[i]) {
            tags[i] = tag;
            counts[i] = 1;
            return;
        }
    }
}

/* Sends a loaned response, retrying while the client's queue is full (the
 * loan stays ours on FERRY_EAGAIN). */
static int respond_retry(ferry_server *s, ferry_call call, void *resp, unsigned flags, struct rr_server_stats *st,
                         uint64_t deadline_ns)
{
    for (;;) {
        int rc = ferry_server_respond(s, call, resp, flags);
        if (rc != FERRY_EAGAIN)
            return rc;
        st->eagain++;
        if (rr_now_ns() > deadline_ns) {
            ferry_server_discard(s, resp);
            return FERRY_ETIMEDOUT;
        }
        rr_sleep_us(100);
    }
}

static int serve_one(ferry_server *s, ferry_call call, const struct rr_req *req, uint64_t tag,
                     struct rr_server_stats *st, uint64_t deadline_ns)
{
    uint32_t n = req->mode == RR_END_LAST ? req->parts + 1 : req->parts;
    int gone = 0;
    for (uint32_t part = 0; part < n && !gone; part++) {
        void *p = NULL;
        int rc = ferry_server_loan(s, call, rr_resp_size(req), &p);
        if (rc) {
            note(st->problem, sizeof st->problem, "ferry_server_loan: %s", ferry_last_error_message());
            return rc;
        }
        rr_resp_fill(p, req, tag, part);
        unsigned flags = (req->mode == RR_END_LAST && part + 1 == n) ? FERRY_RESPONSE_LAST : 0;
        rc = respond_retry(s, call, p, flags, st, deadline_ns);
        if (rc == FERRY_EDISCONNECTED) {
            st->disconnected++;
            gone = 1;
        } else if (rc) {
            note(st->problem, sizeof st->problem, "ferry_server_respond (seq %llu part %u): %s",
                 (unsigned long long)req->seq, part, ferry_last_error_message());
            return rc;
        } else {
            st->responses++;
        }
    }
    for (;;) {
        int rc = ferry_server_finish(s, call);
        if (rc == FERRY_OK)
            break;
        if (rc != FERRY_EAGAIN || rr_now_ns() > deadline_ns) {
            note(st->problem, sizeof st->problem, "ferry_server_finish: %s", ferry_last_error_message());
            return rc;
        }
        st->eagain++;
        rr_sleep_us(100);
    }
    st->served++;
    count_tag(st->tags, st->counts, req->client);
    return FERRY_OK;
}

int rr_serve_available(ferry_server *s, uint64_t tag, struct rr_server_stats *st, uint64_t deadline_ns)
{
    for (;;) {
        ferry_call call = 0;
        const void *p = NULL;
        size_t size = 0;
        int rc = ferry_server_take(s, &call, &p, &size);
        if (rc == FERRY_EAGAIN)
            return FERRY_OK;
        if (rc) {
            note(st->problem, sizeof st->problem, "ferry_server_take: %s", ferry_last_error_message());
            return rc;
        }
        char why[200];
        if (rr_req_check(p, size, why, sizeof why) != 0) {
            st->bad++;
            note(st->problem, sizeof st->problem, "%s", why);
            ferry_server_finish(s, call);
            continue;
        }
        const struct rr_req *req = p;
        if (req->mode == RR_HOLD) {
            if (st->nheld == RR_MAX_HELD) {
                note(st->problem, sizeof st->problem, "too many held calls");
                return RR_EUSAGE;
            }
            st->held[st->nheld++] = call;
            continue;
        }
        if ((rc = serve_one(s, call, req, tag, st, deadline_ns)) != FERRY_OK)
            return rc;
    }
}

/* ---- calling ---------------------------------------------------------------------------- */

struct open_call {
    uint64_t id, seq, x;
    uint32_t next_part;
};

static void count_server(struct rr_call_stats *st, uint64_t server)
{
    count_tag(st->servers, st->counts, server);
}

int rr_run_calls(ferry_client *c, unsigned n, uint64_t tag, uint32_t parts, uint32_t mode, unsigned window,
                 unsigned timeout_ms, struct rr_call_stats *st, char *why, size_t why_size)
{
    struct open_call open[64];
    unsigned nopen = 0;
    if (window == 0 || window > 64)
        window = 64;
    uint64_t deadline = rr_now_ns() + (uint64_t)timeout_ms * 1000000u;
    uint64_t next_seq = 1, last_id = 0;
    unsigned done = 0, sent = 0;
    why[0] = '\0';
    if (ferry_client_pending(c) != 0) {
        snprintf(why, why_size, "%u calls open before the first send", ferry_client_pending(c));
        return RR_EPROTO;
    }
    while (done < n) {
        if (rr_now_ns() > deadline) {
            snprintf(why, why_size, "only %u of %u calls done (%u sent, %u open) within %u ms", done, n, sent, nopen,
                     timeout_ms);
            return FERRY_ETIMEDOUT;
        }
        while (sent < n && nopen < window) {
            uint64_t seq = next_seq;
            void *p = NULL;
            int rc = ferry_client_loan(c, rr_req_size(seq), &p);
            if (rc) {
                snprintf(why, why_size, "ferry_client_loan: %s", ferry_last_error_message());
                return rc;
            }
            uint64_t x = tag * 1000003u + seq * 7919u;
            rr_req_fill(p, tag, seq, x, parts, mode);
            uint64_t id = 0;
            rc = ferry_client_send(c, p, &id);
            if (rc == FERRY_EAGAIN) {
                st->eagain++;
                ferry_client_discard(c, p); /* the loan stayed ours */
                if (ferry_last_error() != FERRY_OK) {
                    snprintf(why, why_size, "discarding after FERRY_EAGAIN: %s", ferry_last_error_message());
                    return RR_EPROTO;
                }
                break;
            }
            if (rc) {
                snprintf(why, why_size, "ferry_client_send (seq %llu): %s", (unsigned long long)seq,
                         ferry_last_error_message());
                return rc;
            }
            if (id <= last_id) {
                snprintf(why, why_size, "call id %llu after %llu: ids must grow", (unsigned long long)id,
                         (unsigned long long)last_id);
                return RR_EPROTO;
            }
            last_id = id;
            open[nopen].id = id;
            open[nopen].seq = seq;
            open[nopen].x = x;
            open[nopen].next_part = 0;
            nopen++;
            next_seq++;
            sent++;
            if (ferry_client_pending(c) != nopen) {
                snprintf(why, why_size, "ferry_client_pending is %u with %u calls open", ferry_client_pending(c),
                         nopen);
                return RR_EPROTO;
            }
        }
        uint64_t id = 0;
        const void *resp = NULL;
        size_t size = 12345;
        int last = -1;
        int rc = ferry_client_take(c, &id, &resp, &size, &last);
        if (rc == FERRY_EAGAIN) {
            if (nopen == 0)
                continue;
            rc = ferry_client_wait(c, 50000000);
            if (rc != FERRY_OK && rc != FERRY_ETIMEDOUT) {
                snprintf(why, why_size, "ferry_client_wait with %u calls open: %s", nopen,
                         ferry_last_error_message());
                return rc;
            }
            continue;
        }
        if (rc) {
            snprintf(why, why_size, "ferry_client_take (call %llu): %s", (unsigned long long)id,
                     ferry_last_error_message());
            return rc;
        }
        st->responses++;
        unsigned k = 0;
        while (k < nopen && open[k].id != id)
            k++;
        if (k == nopen) {
            snprintf(why, why_size, "a response for call id %llu, which is not open", (unsigned long long)id);
            if (resp)
                ferry_client_release(c, resp);
            return RR_EPROTO;
        }
        struct open_call *oc = &open[k];
        uint32_t total = mode == RR_END_LAST ? parts + 1 : parts;
        if (mode == RR_END_FINISH && oc->next_part == total) {
            /* The end-of-stream marker. */
            if (resp != NULL || size != 0 || last != 1) {
                snprintf(why, why_size, "end of stream of call %llu: response %p, size %zu, last %d (NULL, 0, 1 "
                                        "expected)",
                         (unsigned long long)id, resp, size, last);
                if (resp)
                    ferry_client_release(c, resp);
                return RR_EPROTO;
            }
        } else {
            uint64_t server = 0;
            if (rr_resp_check(resp, size, tag, oc->seq, oc->x, oc->next_part, &server, why, why_size) != 0) {
                if (resp)
                    ferry_client_release(c, resp);
                return RR_EBADDATA;
            }
            int want_last = mode == RR_END_LAST && oc->next_part + 1 == total;
            if (last != want_last) {
                snprintf(why, why_size, "call %llu part %u of %u: last is %d", (unsigned long long)id, oc->next_part,
                         total, last);
                ferry_client_release(c, resp);
                return RR_EPROTO;
            }
            ferry_client_release(c, resp);
            if (ferry_last_error() != FERRY_OK) {
                snprintf(why, why_size, "ferry_client_release: %s", ferry_last_error_message());
                return RR_EPROTO;
            }
            /* One count per call: at its last response, or its first one
             * when a finish ends the stream. */
            if (last || (mode == RR_END_FINISH && oc->next_part == 0))
                count_server(st, server);
            oc->next_part++;
        }
        if (last) {
            *oc = open[--nopen];
            done++;
            st->calls++;
            if (ferry_client_pending(c) != nopen) {
                snprintf(why, why_size, "ferry_client_pending is %u after call %llu ended, with %u open",
                         ferry_client_pending(c), (unsigned long long)id, nopen);
                return RR_EPROTO;
            }
        }
    }
    if (ferry_client_pending(c) != 0) {
        snprintf(why, why_size, "ferry_client_pending is %u after every call ended", ferry_client_pending(c));
        return RR_EPROTO;
    }
    return FERRY_OK;
}
