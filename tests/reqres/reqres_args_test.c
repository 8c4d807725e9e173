/*
 * reqres_args_test: bad input is reported (FERRY_EINVAL), never misused.
 *  - NULL handles and out-pointers of every client and server function;
 *    invalid names (empty, '#', longer than 250) and options (max_pending
 *    0, alignment 3, max_request 0); *client / *server NULL after a refusal;
 *  - loan sizes 0 and max + 1;
 *  - the same loan sent twice (the second is FERRY_EINVAL, no call opened);
 *    discarding a loan already sent;
 *  - foreign pointers: a stack buffer sent, discarded or released; another
 *    client's loan sent (and that client can still send it afterwards); a
 *    response released twice; a server responding with a stack buffer or a
 *    client's loan (the call goes on); a foreign pointer discarded;
 *  - finished calls: respond, respond_copy, loan and finish again are
 *    FERRY_EINVAL;
 *  - after FERRY_RESPONSE_LAST: respond and loan are FERRY_EINVAL, finish
 *    is FERRY_OK, and the client sees exactly one response;
 *  - unknown flags: FERRY_EINVAL, nothing reaches the client, no loan is
 *    leaked;
 *  - made-up call tokens (0, 1, 0x10000, ~0, a live token with another
 *    index) are FERRY_EINVAL for loan, respond and finish;
 *  - a token of one server used on another server (both with a call open)
 *    is FERRY_EINVAL and does not touch the other server's call (checked
 *    softly: reported, then the test fails at the end).
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "rr/args"

static void open_call(ferry_client *c, ferry_server *s, uint64_t seq, uint64_t *id, ferry_call *call)
{
    CHECK_OK(rr_send(c, 1, seq, 0, RR_END_LAST, id));
    const void *req;
    size_t size;
    CHECK_OK(rr_server_take_wait(s, call, &req, &size, FT_WAIT_MS));
    CHECK_EQ(((const struct rr_req *)req)->seq, seq);
}

/* The client gets exactly: n responses of call id (the last with last = 1)
 * and then nothing. */
static void expect_responses(ferry_client *c, uint64_t id, int n, int end_marker)
{
    for (int i = 0; i < n; i++) {
        uint64_t got = 0;
        const void *resp;
        size_t size;
        int last = -1;
        CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
        CHECK_EQ(got, id);
        CHECK_EQ(last, i == n - 1);
        if (end_marker && i == n - 1)
            CHECK(resp == NULL && size == 0);
        else
            CHECK(resp != NULL);
        ferry_client_release(c, resp);
        CHECK_LAST_ERROR(FERRY_OK);
    }
    ft_sleep_ms(10);
    uint64_t got;
    const void *resp;
    int last;
    CHECK_RC(ferry_client_take(c, &got, &resp, NULL, &last), FERRY_EAGAIN);
}

static void nulls_and_names(ferry_node *node, ferry_client *c, ferry_server *s, const ferry_reqres_opts *o)
{
    ferry_client *cx = (ferry_client *)node;
    ferry_server *sx = (ferry_server *)node;
    CHECK_RC(ferry_client_open(NULL, node, SERVICE, o), FERRY_EINVAL);
    CHECK_RC(ferry_client_open(&cx, NULL, SERVICE, o), FERRY_EINVAL);
    CHECK(cx == NULL);
    CHECK_RC(ferry_server_open(NULL, node, SERVICE, o), FERRY_EINVAL);
    CHECK_RC(ferry_server_open(&sx, NULL, SERVICE, o), FERRY_EINVAL);
    CHECK(sx == NULL);
    const char *bad_names[] = {NULL, "", "a#b", "/lead", "trail/", "a//b", "a/../b"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        CHECK_RC(ferry_client_open(&cx, node, bad_names[i], o), FERRY_EINVAL);
        CHECK_RC(ferry_server_open(&sx, node, bad_names[i], o), FERRY_EINVAL);
    }
    char name[FERRY_SERVICE_NAME_MAX + 2];
    memset(name, 'n', sizeof name);
    name[251] = '\0';
    CHECK_RC(ferry_client_open(&cx, node, name, o), FERRY_EINVAL);
    CHECK_RC(ferry_server_open(&sx, node, name, o), FERRY_EINVAL);
    name[250] = '\0'; /* "<name>#resp" is 255 characters: the longest */
    CHECK_OK(ferry_client_open(&cx, node, name, o));
    CHECK_OK(ferry_server_open(&sx, node, name, o));
    ferry_client_close(cx);
    ferry_server_close(sx);
    ferry_reqres_opts bad = *o;
    bad.max_pending = 0;
    CHECK_RC(ferry_client_open(&cx, node, "rr/args-opts", &bad), FERRY_EINVAL);
    bad = *o;
    bad.alignment = 3;
    CHECK_RC(ferry_client_open(&cx, node, "rr/args-opts", &bad), FERRY_EINVAL);
    CHECK_RC(ferry_server_open(&sx, node, "rr/args-opts", &bad), FERRY_EINVAL);
    bad = *o;
    bad.max_request = 0;
    CHECK_RC(ferry_server_open(&sx, node, "rr/args-opts", &bad), FERRY_EINVAL);

    void *p = NULL;
    uint64_t id = 0;
    const void *r = NULL;
    size_t size = 0;
    int last = 0;
    char data[8] = "data";
    CHECK_RC(ferry_client_loan(NULL, 8, &p), FERRY_EINVAL);
    CHECK_RC(ferry_client_loan(c, 8, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_client_loan(c, 0, &p), FERRY_EINVAL);
    CHECK_RC(ferry_client_loan(c, o->max_request + 1, &p), FERRY_EINVAL);
    CHECK_RC(ferry_client_send(NULL, data, &id), FERRY_EINVAL);
    CHECK_RC(ferry_client_send(c, NULL, &id), FERRY_EINVAL);
    CHECK_RC(ferry_client_send_copy(NULL, data, 4, &id), FERRY_EINVAL);
    CHECK_RC(ferry_client_send_copy(c, NULL, 4, &id), FERRY_EINVAL);
    CHECK_RC(ferry_client_send_copy(c, data, 0, &id), FERRY_EINVAL);
    CHECK_RC(ferry_client_take(NULL, &id, &r, &size, &last), FERRY_EINVAL);
    CHECK_RC(ferry_client_take(c, NULL, &r, &size, &last), FERRY_EINVAL);
    CHECK_RC(ferry_client_take(c, &id, NULL, &size, &last), FERRY_EINVAL);
    CHECK_RC(ferry_client_take(c, &id, &r, NULL, NULL), FERRY_EAGAIN);
    CHECK_RC(ferry_client_wait(NULL, 0), FERRY_EINVAL);
    CHECK_RC(ferry_client_wait_server(NULL, 0), FERRY_EINVAL);
    CHECK_RC(ferry_client_fd(NULL), FERRY_EINVAL);
    CHECK_EQ(ferry_client_pending(NULL), 0);
    ferry_client_discard(NULL, data);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_client_release(NULL, data);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_client_release(c, NULL);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_client_close(NULL);
    CHECK_EQ(ferry_client_pending(c), 0);

    ferry_call call = 0;
    CHECK_RC(ferry_server_take(NULL, &call, &r, &size), FERRY_EINVAL);
    CHECK_RC(ferry_server_take(s, NULL, &r, &size), FERRY_EINVAL);
    CHECK_RC(ferry_server_take(s, &call, NULL, &size), FERRY_EINVAL);
    CHECK_RC(ferry_server_take(s, &call, &r, NULL), FERRY_EAGAIN);
    CHECK_RC(ferry_server_wait(NULL, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_fd(NULL), FERRY_EINVAL);
    ferry_server_discard(NULL, data);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_server_close(NULL);

    /* With a live call. */
    open_call(c, s, 1, &id, &call);
    CHECK_RC(ferry_server_loan(NULL, call, 8, &p), FERRY_EINVAL);
    CHECK_RC(ferry_server_loan(s, call, 8, NULL), FERRY_EINVAL);
    CHECK_RC(ferry_server_loan(s, call, 0, &p), FERRY_EINVAL);
    CHECK_RC(ferry_server_loan(s, call, o->max_response + 1, &p), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond(NULL, call, data, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond(s, call, NULL, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond_copy(NULL, call, data, 4, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond_copy(s, call, NULL, 4, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond_copy(s, call, data, 0, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_finish(NULL, call), FERRY_EINVAL);
    CHECK_OK(ferry_server_respond_copy(s, call, data, 4, FERRY_RESPONSE_LAST));
    CHECK_OK(ferry_server_finish(s, call));
    expect_responses(c, id, 1, 0);
}

static void loans_and_pointers(ferry_node *node, ferry_client *c, ferry_server *s, const ferry_reqres_opts *o)
{
    char stack[64] = "not a loan";
    uint64_t id = 0, id2 = 0;

    /* The same loan sent twice. */
    void *p = NULL;
    CHECK_OK(ferry_client_loan(c, rr_req_size(2), &p));
    rr_req_fill(p, 1, 2, 2, 0, RR_END_LAST);
    CHECK_OK(ferry_client_send(c, p, &id));
    CHECK_RC(ferry_client_send(c, p, &id2), FERRY_EINVAL);
    CHECK_EQ(ferry_client_pending(c), 1);
    ferry_client_discard(c, p);
    CHECK_LAST_ERROR(FERRY_EINVAL);

    /* Stack buffers. */
    CHECK_RC(ferry_client_send(c, stack, &id2), FERRY_EINVAL);
    CHECK_EQ(ferry_client_pending(c), 1);
    ferry_client_discard(c, stack);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    ferry_client_release(c, stack);
    CHECK_LAST_ERROR(FERRY_EINVAL);

    /* Another client's loan. */
    ferry_client *other = rr_client_open(node, SERVICE, o);
    void *q = NULL;
    CHECK_OK(ferry_client_loan(other, rr_req_size(3), &q));
    rr_req_fill(q, 2, 3, 3, 0, RR_END_LAST);
    CHECK_RC(ferry_client_send(c, q, &id2), FERRY_EINVAL);
    CHECK_EQ(ferry_client_pending(c), 1);
    uint64_t id_other = 0;
    CHECK_OK(ferry_client_send(other, q, &id_other)); /* still other's loan */

    /* The server side of call id (seq 2) and of other's call (seq 3). */
    ferry_call call = 0, call_other = 0;
    const void *req;
    size_t size;
    for (int i = 0; i < 2; i++) {
        ferry_call t;
        CHECK_OK(rr_server_take_wait(s, &t, &req, &size, FT_WAIT_MS));
        uint64_t seq = ((const struct rr_req *)req)->seq;
        CHECK(seq == 2 || seq == 3);
        if (seq == 2)
            call = t;
        else
            call_other = t;
    }
    CHECK(call != 0 && call_other != 0);
    void *cl = NULL;
    CHECK_OK(ferry_client_loan(c, 8, &cl));
    CHECK_RC(ferry_server_respond(s, call, stack, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond(s, call, cl, 0), FERRY_EINVAL);
    ferry_client_discard(c, cl);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_server_discard(s, stack);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    /* The call goes on. */
    CHECK_OK(ferry_server_respond_copy(s, call, "one", 3, 0));
    CHECK_OK(ferry_server_respond_copy(s, call, "two", 3, FERRY_RESPONSE_LAST));
    CHECK_OK(ferry_server_finish(s, call));

    /* A response released twice. */
    uint64_t got;
    const void *resp;
    int last;
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK(got == id && size == 3 && memcmp(resp, "one", 3) == 0 && last == 0);
    ferry_client_release(c, resp);
    CHECK_LAST_ERROR(FERRY_OK);
    ferry_client_release(c, resp);
    CHECK_LAST_ERROR(FERRY_EINVAL);
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK(got == id && size == 3 && memcmp(resp, "two", 3) == 0 && last == 1);
    ferry_client_release(c, resp);
    CHECK_EQ(ferry_client_pending(c), 0);

    /* Finished calls. */
    void *r = NULL;
    CHECK_OK(ferry_server_loan(s, call_other, 4, &r));
    CHECK_OK(ferry_server_finish(s, call_other));
    CHECK_RC(ferry_server_respond(s, call_other, r, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond_copy(s, call_other, "x", 1, 0), FERRY_EINVAL);
    void *r2 = NULL;
    CHECK_RC(ferry_server_loan(s, call_other, 4, &r2), FERRY_EINVAL);
    CHECK_RC(ferry_server_finish(s, call_other), FERRY_EINVAL);
    ferry_server_discard(s, r); /* still a loan of the server */
    CHECK_LAST_ERROR(FERRY_OK);
    expect_responses(other, id_other, 1, 1);
    ferry_client_close(other);
}

static const unsigned bad_flags[] = {2u, 4u, 0x80000000u, FERRY_RESPONSE_LAST | 8u};

static void after_last_and_flags(ferry_client *c, ferry_server *s)
{
    uint64_t id;
    ferry_call call;
    void *p = NULL, *q = NULL;

    /* After FERRY_RESPONSE_LAST. */
    open_call(c, s, 4, &id, &call);
    CHECK_OK(ferry_server_respond_copy(s, call, "last", 4, FERRY_RESPONSE_LAST));
    CHECK_RC(ferry_server_loan(s, call, 4, &p), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond_copy(s, call, "more", 4, 0), FERRY_EINVAL);
    CHECK_RC(ferry_server_respond_copy(s, call, "more", 4, FERRY_RESPONSE_LAST), FERRY_EINVAL);
    CHECK_OK(ferry_server_finish(s, call));
    expect_responses(c, id, 1, 0);

    /* A loan taken before the last response cannot be sent after it. */
    open_call(c, s, 5, &id, &call);
    CHECK_OK(ferry_server_loan(s, call, 4, &p));
    memcpy(p, "late", 4);
    CHECK_OK(ferry_server_respond_copy(s, call, "last", 4, FERRY_RESPONSE_LAST));
    CHECK_RC(ferry_server_respond(s, call, p, 0), FERRY_EINVAL);
    ferry_server_discard(s, p);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_server_finish(s, call));
    expect_responses(c, id, 1, 0);

    /* Unknown flags. */
    open_call(c, s, 6, &id, &call);
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        CHECK_OK(ferry_server_loan(s, call, 4, &p));
        memcpy(p, "flag", 4);
        CHECK_RC(ferry_server_respond(s, call, p, bad_flags[i]), FERRY_EINVAL);
        ferry_server_discard(s, p); /* whether or not it was still a loan */
    }
    /* No loan leaked: max_loans (2) loans are available. */
    CHECK_OK(ferry_server_loan(s, call, 4, &p));
    CHECK_OK(ferry_server_loan(s, call, 4, &q));
    ferry_server_discard(s, p);
    ferry_server_discard(s, q);
    CHECK_LAST_ERROR(FERRY_OK);
    CHECK_OK(ferry_server_respond_copy(s, call, "good", 4, FERRY_RESPONSE_LAST));
    CHECK_OK(ferry_server_finish(s, call));
    expect_responses(c, id, 1, 0);
}

/* ferry_server_respond_copy with unknown flags: FERRY_EINVAL, and the loan
 * it made is not kept (softly checked: a leak is reported). On a server of
 * its own, so that a leak does not disturb the other checks. */
static void respond_copy_flags(ferry_node *node, const ferry_reqres_opts *o)
{
    ferry_server *s = rr_server_open(node, "rr/args-flags", o);
    ferry_client *c = rr_client_open(node, "rr/args-flags", o);
    uint64_t id;
    ferry_call call;
    open_call(c, s, 1, &id, &call);
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        int rc = ferry_server_respond_copy(s, call, "flag", 4, bad_flags[i]);
        SOFT_CHECK(rc == FERRY_EINVAL, "ferry_server_respond_copy with flags 0x%x returned %d (%s)", bad_flags[i], rc,
                   ferry_strerror(rc));
        void *p = NULL, *q = NULL;
        int rp = ferry_server_loan(s, call, 4, &p);
        int rq = ferry_server_loan(s, call, 4, &q);
        SOFT_CHECK(rp == FERRY_OK && rq == FERRY_OK,
                   "after ferry_server_respond_copy with unknown flags 0x%x (FERRY_EINVAL), the server cannot loan "
                   "max_loans (%u) responses (%d, %d): respond_copy kept its loan",
                   bad_flags[i], o->max_loans, rp, rq);
        if (rp == FERRY_OK)
            ferry_server_discard(s, p);
        if (rq == FERRY_OK)
            ferry_server_discard(s, q);
        if (rp != FERRY_OK || rq != FERRY_OK)
            break;
    }
    CHECK_OK(ferry_server_finish(s, call));
    expect_responses(c, id, 1, 1);
    ferry_client_close(c);
    ferry_server_close(s);
}

static void made_up_tokens(ferry_client *c, ferry_server *s)
{
    uint64_t id;
    ferry_call call;
    open_call(c, s, 7, &id, &call);
    ferry_call fakes[] = {0, 1, 0x10000, ~(ferry_call)0, call + 1, call ^ ((ferry_call)1 << 40)};
    for (size_t i = 0; i < sizeof fakes / sizeof fakes[0]; i++) {
        if (fakes[i] == call)
            continue;
        void *p = NULL;
        CHECK_RC(ferry_server_loan(s, fakes[i], 4, &p), FERRY_EINVAL);
        CHECK_RC(ferry_server_respond_copy(s, fakes[i], "fake", 4, 0), FERRY_EINVAL);
        CHECK_RC(ferry_server_finish(s, fakes[i]), FERRY_EINVAL);
    }
    CHECK_OK(ferry_server_finish(s, call));
    expect_responses(c, id, 1, 1);
}

static void foreign_tokens(ferry_node *node, const ferry_reqres_opts *o)
{
    ferry_server *a = rr_server_open(node, "rr/args-foreign", o);
    ferry_server *b = rr_server_open(node, "rr/args-foreign", o);
    ferry_client *c = rr_client_open(node, "rr/args-foreign", o);
    uint64_t id1, id2;
    CHECK_OK(rr_send(c, 1, 1, 0, RR_END_LAST, &id1));
    CHECK_OK(rr_send(c, 1, 2, 0, RR_END_LAST, &id2));
    ferry_call ta, tb;
    const void *req;
    size_t size;
    CHECK_OK(rr_server_take_wait(a, &ta, &req, &size, FT_WAIT_MS));
    CHECK_OK(rr_server_take_wait(b, &tb, &req, &size, FT_WAIT_MS));
    printf("tokens: server a 0x%llx, server b 0x%llx\n", (unsigned long long)ta, (unsigned long long)tb);
    if (ta == tb)
        printf("note: both servers gave their first call the token 0x%llx\n", (unsigned long long)ta);
    int rc = ferry_server_respond_copy(b, ta, "from a's token", 14, FERRY_RESPONSE_LAST);
    SOFT_CHECK(rc == FERRY_EINVAL, "server b accepted server a's token 0x%llx (rc %d): it answered its own call %s",
               (unsigned long long)ta, rc, rc == FERRY_OK ? "with a response meant for another call" : "");
    rc = ferry_server_finish(b, ta);
    SOFT_CHECK(rc == FERRY_EINVAL, "server b finished a call with server a's token (rc %d)", rc);
    /* Clean up whatever happened. */
    ferry_server_finish(a, ta);
    ferry_server_finish(b, tb);
    for (int i = 0; i < 2; i++) {
        uint64_t got;
        const void *resp;
        int last = 0;
        CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
        ferry_client_release(c, resp);
        if (!last)
            i--;
    }
    CHECK_EQ(ferry_client_pending(c), 0);
    ferry_client_close(c);
    ferry_server_close(a);
    ferry_server_close(b);
}

int main(void)
{
    ft_init("reqres_args_test", 10);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrargs");
    ferry_node *node = ft_node_open(domain, "args");
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.max_request = 256;
    o.max_response = 256;
    ferry_server *s = rr_server_open(node, SERVICE, &o);
    ferry_client *c = rr_client_open(node, SERVICE, &o);
    nulls_and_names(node, c, s, &o);
    loans_and_pointers(node, c, s, &o);
    after_last_and_flags(c, s);
    made_up_tokens(c, s);
    ferry_client_close(c);
    ferry_server_close(s);
    respond_copy_flags(node, &o);
    foreign_tokens(node, &o);
    rr_finish_domain(domain, node);
    return rr_pass();
}
