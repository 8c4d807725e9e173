/*
 * reqres_compat_test: options that must match, and names.
 *  - a client or server opened on an existing service with a different
 *    request_type, response_type, max_request, max_response or alignment
 *    gets FERRY_EINCOMPATIBLE (checked strictly), and the message names the
 *    field as the caller knows it, in ferry_reqres_opts (checked softly:
 *    reported, then the test fails at the end);
 *  - a refused open takes no slot (the service still counts its ports);
 *  - FERRY_ELIMIT from a client / server open names max_clients /
 *    max_servers (softly, as above);
 *  - ferry_service_list shows the service once, as request-response, with
 *    its request and response types;
 *  - a publish-subscribe service of the same name is a separate service:
 *    it opens whichever exists first, both work side by side, and closing
 *    one leaves the other working; the internal channel names
 *    ("<name>#req", "<name>#resp") cannot be opened as pub/sub.
 */
#include "rr_support.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "rr/compat"

struct mismatch {
    const char *field;
    void (*apply)(ferry_reqres_opts *o);
};

static void m_request_type(ferry_reqres_opts *o) { o->request_type = "other.Request"; }
static void m_response_type(ferry_reqres_opts *o) { o->response_type = "other.Response"; }
static void m_max_request(ferry_reqres_opts *o) { o->max_request += 8; }
static void m_max_response(ferry_reqres_opts *o) { o->max_response -= 8; }
static void m_alignment(ferry_reqres_opts *o) { o->alignment = 64; }

static const struct mismatch mismatches[] = {
    {"request_type", m_request_type}, {"response_type", m_response_type}, {"max_request", m_max_request},
    {"max_response", m_max_response}, {"alignment", m_alignment},
};

struct listing {
    int reqres, pubsub;
    char type_name[FERRY_TYPE_NAME_MAX + 1], response_type[FERRY_TYPE_NAME_MAX + 1];
    int internal; /* entries named "<name>#..." */
};

static int list_cb(const ferry_service_info *info, void *user)
{
    struct listing *l = user;
    if (strncmp(info->name, SERVICE "#", strlen(SERVICE) + 1) == 0)
        l->internal++;
    if (strcmp(info->name, SERVICE) != 0)
        return 0;
    if (info->pattern == FERRY_PATTERN_REQRES) {
        l->reqres++;
        snprintf(l->type_name, sizeof l->type_name, "%s", info->type_name);
        snprintf(l->response_type, sizeof l->response_type, "%s", info->response_type);
    } else if (info->pattern == FERRY_PATTERN_PUBSUB) {
        l->pubsub++;
    }
    return 0;
}

static void one_call(ferry_client *c, ferry_server *s, uint64_t seq)
{
    uint64_t id, got;
    CHECK_OK(rr_send(c, 1, seq, 0, RR_END_FINISH, &id));
    ferry_call call;
    const void *req, *resp;
    size_t size;
    int last;
    CHECK_OK(rr_server_take_wait(s, &call, &req, &size, FT_WAIT_MS));
    CHECK_EQ(((const struct rr_req *)req)->seq, seq);
    CHECK_OK(ferry_server_finish(s, call));
    CHECK_OK(rr_client_take_wait(c, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK(got == id && resp == NULL && last == 1);
}

static void pubsub_roundtrip(ferry_pub *pub, ferry_sub *sub, const char *text)
{
    CHECK_OK(ferry_pub_send_copy(pub, text, strlen(text)));
    const void *p;
    size_t size;
    CHECK_OK(ft_take_wait(sub, &p, &size, FT_WAIT_MS));
    CHECK(size == strlen(text) && memcmp(p, text, size) == 0);
    ferry_sub_release(sub, p);
}

int main(void)
{
    ft_init("reqres_compat_test", 15);
    char domain[FERRY_DOMAIN_MAX + 1];
    ft_domain(domain, "rrcompat");
    ferry_node *node = ft_node_open(domain, "compat");
    ferry_reqres_opts o;
    rr_opts_default(&o);
    o.max_request = 512;
    o.max_response = 1024;
    ferry_server *s = rr_server_open(node, SERVICE, &o);
    ferry_client *c = rr_client_open(node, SERVICE, &o);

    for (size_t i = 0; i < sizeof mismatches / sizeof mismatches[0]; i++) {
        ferry_reqres_opts bad = o;
        mismatches[i].apply(&bad);
        ferry_client *c2 = NULL;
        CHECK_RC(ferry_client_open(&c2, node, SERVICE, &bad), FERRY_EINCOMPATIBLE);
        CHECK(c2 == NULL);
        SOFT_CHECK(strstr(ferry_last_error_message(), mismatches[i].field) != NULL,
                   "client open with a different %s: the message does not name it: \"%s\"", mismatches[i].field,
                   ferry_last_error_message());
        ferry_server *s2 = NULL;
        CHECK_RC(ferry_server_open(&s2, node, SERVICE, &bad), FERRY_EINCOMPATIBLE);
        CHECK(s2 == NULL);
        SOFT_CHECK(strstr(ferry_last_error_message(), mismatches[i].field) != NULL,
                   "server open with a different %s: the message does not name it: \"%s\"", mismatches[i].field,
                   ferry_last_error_message());
    }
    rr_counts k = rr_service_counts(domain, SERVICE);
    CHECK_EQ(k.clients, 1);
    CHECK_EQ(k.servers, 1);
    one_call(c, s, 1);

    /* Port limits, as the caller configured them. */
    {
        ferry_reqres_opts lo;
        rr_opts_default(&lo);
        lo.max_clients = 1;
        lo.max_servers = 1;
        ferry_client *lc = rr_client_open(node, "rr/compat-limits", &lo), *lc2 = NULL;
        ferry_server *ls = rr_server_open(node, "rr/compat-limits", &lo), *ls2 = NULL;
        CHECK_RC(ferry_client_open(&lc2, node, "rr/compat-limits", &lo), FERRY_ELIMIT);
        SOFT_CHECK(strstr(ferry_last_error_message(), "max_clients") != NULL,
                   "FERRY_ELIMIT of a client open does not name max_clients: \"%s\"", ferry_last_error_message());
        CHECK_RC(ferry_server_open(&ls2, node, "rr/compat-limits", &lo), FERRY_ELIMIT);
        SOFT_CHECK(strstr(ferry_last_error_message(), "max_servers") != NULL,
                   "FERRY_ELIMIT of a server open does not name max_servers: \"%s\"", ferry_last_error_message());
        ferry_client_close(lc);
        ferry_server_close(ls);
    }

    /* Listing. */
    struct listing l;
    memset(&l, 0, sizeof l);
    CHECK_OK(ferry_service_list(domain, list_cb, &l));
    CHECK_EQ(l.reqres, 1);
    CHECK_EQ(l.pubsub, 0);
    CHECK_EQ(l.internal, 0);
    CHECK_MSG(strcmp(l.type_name, RR_REQ_TYPE) == 0, "listed request type \"%s\"", l.type_name);
    CHECK_MSG(strcmp(l.response_type, RR_RESP_TYPE) == 0, "listed response type \"%s\"", l.response_type);

    /* A pub/sub service of the same name: separate. */
    ferry_pubsub_opts po;
    ferry_pubsub_opts_init(&po);
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    CHECK_OK(ferry_pub_open(&pub, node, SERVICE, &po));
    CHECK_OK(ferry_sub_open(&sub, node, SERVICE, &po));
    pubsub_roundtrip(pub, sub, "sample one");
    one_call(c, s, 2);
    memset(&l, 0, sizeof l);
    CHECK_OK(ferry_service_list(domain, list_cb, &l));
    CHECK_EQ(l.reqres, 1);
    CHECK_EQ(l.pubsub, 1);
    ferry_pub *bad_pub = NULL;
    ferry_sub *bad_sub = NULL;
    CHECK_RC(ferry_pub_open(&bad_pub, node, SERVICE "#req", &po), FERRY_EINVAL);
    CHECK_RC(ferry_sub_open(&bad_sub, node, SERVICE "#resp", &po), FERRY_EINVAL);
    /* Closing the request-response ports leaves pub/sub alone, and back. */
    ferry_client_close(c);
    ferry_server_close(s);
    pubsub_roundtrip(pub, sub, "sample two");
    s = rr_server_open(node, SERVICE, &o);
    c = rr_client_open(node, SERVICE, &o);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
    one_call(c, s, 3);

    /* Pub/sub first, request-response second. */
    CHECK_OK(ferry_sub_open(&sub, node, "rr/compat-2", &po));
    CHECK_OK(ferry_pub_open(&pub, node, "rr/compat-2", &po));
    ferry_server *s2 = rr_server_open(node, "rr/compat-2", NULL);
    ferry_client *c2 = rr_client_open(node, "rr/compat-2", NULL);
    uint64_t id = 0, got = 0;
    CHECK_OK(ferry_client_send_copy(c2, "x", 1, &id));
    ferry_call call;
    const void *req, *resp;
    size_t size;
    int last;
    CHECK_OK(rr_server_take_wait(s2, &call, &req, &size, FT_WAIT_MS));
    CHECK(size == 1 && memcmp(req, "x", 1) == 0);
    CHECK_OK(ferry_server_respond_copy(s2, call, "y", 1, FERRY_RESPONSE_LAST));
    CHECK_OK(ferry_server_finish(s2, call));
    CHECK_OK(rr_client_take_wait(c2, &got, &resp, &size, &last, FT_WAIT_MS));
    CHECK(got == id && size == 1 && memcmp(resp, "y", 1) == 0 && last == 1);
    ferry_client_release(c2, resp);
    pubsub_roundtrip(pub, sub, "sample three");

    ferry_client_close(c2);
    ferry_server_close(s2);
    ferry_pub_close(pub);
    ferry_sub_close(sub);
    ferry_client_close(c);
    ferry_server_close(s);
    rr_finish_domain(domain, node);
    return rr_pass();
}
