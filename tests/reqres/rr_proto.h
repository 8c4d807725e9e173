/*
 * What the request-response tests send (tests/reqres/): self-checking
 * requests and responses, the serving and calling loops that both the test
 * processes and ferry_rr_peer run, and options as "key=value" words.
 *
 * A request carries the caller's tag, a sequence number, an operand x, how
 * many responses it wants and how its stream ends, and a tail of bytes
 * derived from the sequence number (so that sizes vary). Each response
 * echoes the tag and sequence, carries f(x, part), the tag of the server
 * that answered, the part number, and the request's tail complemented.
 */
#ifndef FERRY_RR_PROTO_H
#define FERRY_RR_PROTO_H

#include <ferry/ferry.h>

#include <stddef.h>
#include <stdint.h>

#define RR_REQ_TYPE "ferry.test.RrRequest"
#define RR_RESP_TYPE "ferry.test.RrResponse"
#define RR_REQ_MAGIC 0x5252524551554553ull  /* "RRREQUES" */
#define RR_RESP_MAGIC 0x5252524553504f4eull /* "RRRESPON" */
#define RR_TAIL_MAX 200u

/* How a call's stream ends. */
enum rr_mode {
    RR_END_LAST = 0,   /* parts responses without flag, then one more with FERRY_RESPONSE_LAST */
    RR_END_FINISH = 1, /* parts responses without flag, then ferry_server_finish (end-of-stream, no payload) */
    RR_HOLD = 2        /* the server takes the request and never answers */
};

struct rr_req {
    uint64_t magic;
    uint64_t client; /* tag of the caller */
    uint64_t seq;
    uint64_t x;
    uint32_t parts;
    uint32_t mode;
    uint32_t tail; /* bytes after the struct */
    uint32_t pad;
};

struct rr_resp {
    uint64_t magic;
    uint64_t client;
    uint64_t seq;
    uint64_t fx;     /* rr_f(x, part) */
    uint64_t server; /* tag of the server that answered */
    uint32_t part;
    uint32_t tail;
};

/* The function servers compute. */
uint64_t rr_f(uint64_t x, uint32_t part);

/* Request size for sequence number seq (tail of seq % (RR_TAIL_MAX + 1) bytes). */
size_t rr_req_size(uint64_t seq);
/* Writes a request into buf, of rr_req_size(seq) bytes. */
void rr_req_fill(void *buf, uint64_t client, uint64_t seq, uint64_t x, uint32_t parts, uint32_t mode);
/* Checks a request as a server receives it; 0, or -1 with why. */
int rr_req_check(const void *buf, size_t size, char *why, size_t why_size);
/* Response size for a request. */
size_t rr_resp_size(const struct rr_req *req);
void rr_resp_fill(void *buf, const struct rr_req *req, uint64_t server, uint32_t part);
/* Checks a response against the request it answers (client, seq, x, part);
 * 0, or -1 with why. *server receives the answering server's tag. */
int rr_resp_check(const void *buf, size_t size, uint64_t client, uint64_t seq, uint64_t x, uint32_t part,
                  uint64_t *server, char *why, size_t why_size);

/* ---- options --------------------------------------------------------------- */

/* Words: reqtype resptype maxreq maxresp align clients servers pending reqq
 * respq loans borrowed. Returns 0, or -1. */
int rr_opts_parse_word(ferry_reqres_opts *opts, const char *word);
/* Formats every option as such words (what ferry_rr_peer understands). */
void rr_opts_format(const ferry_reqres_opts *opts, char *out, size_t size);
/* The options of these tests' services: the test types, defaults otherwise. */
void rr_opts_default(ferry_reqres_opts *opts);

/* ---- serving ------------------------------------------------------------------ */

#define RR_MAX_TAGS 16
#define RR_MAX_HELD 64

struct rr_server_stats {
    uint64_t served;       /* calls finished */
    uint64_t responses;    /* responses sent */
    uint64_t eagain;       /* respond / finish retried because the client's queue was full */
    uint64_t disconnected; /* responds that found the client gone */
    uint64_t bad;          /* invalid requests */
    uint64_t tags[RR_MAX_TAGS];   /* clients seen */
    uint64_t counts[RR_MAX_TAGS]; /* calls served per client */
    ferry_call held[RR_MAX_HELD]; /* RR_HOLD calls taken and not finished */
    unsigned nheld;
    char problem[256]; /* first problem */
};

/* Takes and answers every request queued now (RR_HOLD ones are kept in
 * held). A full client queue is retried until deadline_ns (ft_now_ns clock).
 * Returns FERRY_OK or the ferry error that stopped it (problem says why). */
int rr_serve_available(ferry_server *server, uint64_t server_tag, struct rr_server_stats *st, uint64_t deadline_ns);

/* ---- calling ------------------------------------------------------------------- */

struct rr_call_stats {
    uint64_t servers[RR_MAX_TAGS]; /* server tags that answered */
    uint64_t counts[RR_MAX_TAGS];  /* calls per server */
    uint64_t calls;                /* calls completed */
    uint64_t responses;            /* responses taken (end markers included) */
    uint64_t eagain;               /* sends that found every queue full */
};

/* Makes n calls with client tag `client`, at most window open at once, each
 * with parts and mode (RR_END_LAST / RR_END_FINISH), checking every
 * response: content, call id, order of parts, end of stream, and that
 * ferry_client_pending follows. Fails (returns an error code, why says why)
 * if it takes longer than timeout_ms. */
int rr_run_calls(ferry_client *client, unsigned n, uint64_t tag, uint32_t parts, uint32_t mode, unsigned window,
                 unsigned timeout_ms, struct rr_call_stats *st, char *why, size_t why_size);

/* Test-side codes (below the ferry range). */
#define RR_EBADDATA (-101) /* a response or request with wrong content */
#define RR_EPROTO (-102)   /* wrong call id, order, end of stream, pending count */
#define RR_EUSAGE (-103)

uint64_t rr_now_ns(void);
void rr_sleep_us(unsigned us);

#endif
