/*
 * ferry info SERVICE: a service's static options, its ports, and the state of
 * every connection between them.
 *
 * This reads the service segment through the library's internal layout
 * (src/shm/layout.h): it maps the segment with fy_service_attach, which
 * validates it, and only reads it, without the service lock, so a busy
 * service is never slowed down. The numbers are a snapshot: they may change
 * while they are read.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "queue/ring.h"
#include "service/naming.h"
#include "service/registry.h"
#include "service/service.h"
#include "shm/layout.h"

static const char usage[] =
    "usage: ferry info SERVICE [--domain D] [--json]\n"
    "\n"
    "Shows a service: its static options, the publishers and subscribers connected\n"
    "(slot, node, process, owner), how full each subscriber's queue is, and how many\n"
    "samples each subscriber lost because its queue overflowed (overflow drop_oldest).\n"
    "Event services show notifiers, listeners and the events pending at each; state\n"
    "services the writer, the readers and the current version.\n"
    "\n"
    "options:\n"
    "  -d, --domain D   domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json       one JSON object\n"
    "  -h, --help       this help\n"
    "\n"
    "exit codes: 0 ok, 1 error, 2 usage error, 3 no such service\n";

struct port {
    uint32_t slot;
    uint32_t state;
    uint32_t gen;
    uint64_t owner;
    uint64_t port_id;
    uint64_t queued, dropped; /* subscribers: sums over their connections */
    uint32_t connections;
};

struct conn {
    uint32_t pub, sub;
    uint64_t queued, dropped;
};

struct snapshot {
    struct port *pubs, *subs;
    uint32_t npubs, nsubs;
    struct conn *conns;
    uint32_t nconns;
    int has_conns;          /* publish-subscribe (and request-response channels) */
    uint64_t state_version; /* state services: the current version, 0 for none */
};

static int is_pubsub(uint32_t pattern) { return pattern == FERRY_PATTERN_PUBSUB || pattern == 4 /* reqres */; }

/* Event services: ids raised and not yet collected by listener slot s. */
static uint64_t events_pending(struct fy_service *svc, uint32_t s)
{
    _Atomic uint64_t *bits = fy_event_bits(svc->hdr, &svc->geo, s);
    uint64_t words = ((uint64_t)svc->cfg.max_event_id + 2 + 63) / 64, n = 0;
    for (uint64_t w = 0; w < words; w++) {
        uint64_t v = atomic_load_explicit(&bits[w], memory_order_acquire);
        while (v) {
            v &= v - 1;
            n++;
        }
    }
    return n;
}

/* Entries waiting in a submit ring: those at positions >= head whose turn
 * matches (the tail is private to the publisher). */
static uint64_t queue_fill(struct fy_conn *c, const struct fy_svc_geometry *g)
{
    unsigned log2 = fy_log2(g->sub_ring_size);
    uint64_t mask = g->sub_ring_size - 1;
    uint64_t head = atomic_load_explicit(&c->head, memory_order_acquire);
    struct fy_submit_slot *ring = fy_conn_submit(c);
    uint64_t n = 0;
    while (n < g->sub_ring_size && fy_submit_ready(ring, mask, log2, head + n, memory_order_acquire))
        n++;
    return n;
}

static void read_slot(struct port *p, struct fy_slot *sl, uint32_t i)
{
    memset(p, 0, sizeof *p);
    p->slot = i;
    p->state = atomic_load_explicit(&sl->state, memory_order_acquire);
    p->gen = atomic_load_explicit(&sl->gen, memory_order_relaxed);
    p->owner = atomic_load_explicit(&sl->owner, memory_order_relaxed);
    p->port_id = atomic_load_explicit(&sl->port_id, memory_order_relaxed);
}

static int take_snapshot(struct fy_service *svc, struct snapshot *s)
{
    const struct fy_svc_config *cfg = &svc->cfg;
    memset(s, 0, sizeof *s);
    s->pubs = calloc(cfg->max_publishers, sizeof *s->pubs);
    s->subs = calloc(cfg->max_subscribers, sizeof *s->subs);
    s->conns = calloc((size_t)cfg->max_publishers * cfg->max_subscribers, sizeof *s->conns);
    if (!s->pubs || !s->subs || !s->conns)
        return -1;
    s->has_conns = is_pubsub(cfg->pattern);
    if (cfg->pattern == FERRY_PATTERN_STATE) {
        const struct fy_state_header *sh = (const struct fy_state_header *)((char *)svc->hdr + svc->geo.off_conns);
        s->state_version = atomic_load_explicit(&sh->current, memory_order_acquire) >> 16;
    }
    for (uint32_t p = 0; p < cfg->max_publishers; p++) {
        struct port tmp;
        read_slot(&tmp, fy_pub_slot(svc->hdr, &svc->geo, p), p);
        if (tmp.state != FY_SLOT_FREE)
            s->pubs[s->npubs++] = tmp;
    }
    for (uint32_t i = 0; i < cfg->max_subscribers; i++) {
        struct port tmp;
        read_slot(&tmp, fy_sub_slot(svc->hdr, &svc->geo, i), i);
        if (tmp.state != FY_SLOT_ACTIVE)
            continue;
        struct port *sub = &s->subs[s->nsubs++];
        *sub = tmp;
        if (svc->cfg.pattern == FERRY_PATTERN_EVENT)
            sub->queued = events_pending(svc, i);
        for (uint32_t j = 0; j < s->npubs && s->has_conns; j++) {
            const struct port *pub = &s->pubs[j];
            struct fy_conn *c = fy_conn_at(svc->hdr, &svc->geo, cfg->max_subscribers, pub->slot, sub->slot);
            if (atomic_load_explicit(&c->link, memory_order_acquire) != fy_link_make(pub->gen, sub->gen))
                continue; /* not connected (yet): the publisher links at its next send */
            struct conn *cn = &s->conns[s->nconns++];
            cn->pub = pub->slot;
            cn->sub = sub->slot;
            cn->queued = queue_fill(c, &svc->geo);
            cn->dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
            sub->queued += cn->queued;
            sub->dropped += cn->dropped;
            sub->connections++;
        }
    }
    return 0;
}

static void snapshot_free(struct snapshot *s)
{
    free(s->pubs);
    free(s->subs);
    free(s->conns);
}

static const char *state_name(uint32_t st)
{
    return st == FY_SLOT_ACTIVE ? "active" : st == FY_SLOT_ORPHAN ? "orphan" : "free";
}

static void json_node(const struct cli_nodes *nodes, uint64_t id)
{
    const ferry_node_info *n = cli_nodes_find(nodes, id);
    if (!n) {
        printf("null");
        return;
    }
    char user[64];
    printf("{\"id\": \"%016llx\", \"name\": ", (unsigned long long)n->id);
    cli_json_str(stdout, n->name);
    printf(", \"pid\": %ld, \"uid\": %ld, \"owner\": ", n->pid, n->uid);
    cli_json_str(stdout, cli_user_name(user, sizeof user, n->uid));
    printf(", \"alive\": %s}", n->alive ? "true" : "false");
}

static void print_json(const struct fy_service *svc, const struct snapshot *s, const struct cli_nodes *nodes)
{
    const struct fy_svc_config *c = &svc->cfg;
    const struct fy_svc_geometry *g = &svc->geo;
    printf("{\"name\": ");
    cli_json_str(stdout, svc->name);
    printf(", \"domain\": ");
    cli_json_str(stdout, svc->domain);
    printf(", \"pattern\": \"%s\", \"type\": ", cli_pattern_name((int)c->pattern));
    cli_json_str(stdout, c->type_name);
    printf(",\n \"options\": ");
    if (c->pattern == FERRY_PATTERN_EVENT)
        printf("{\"max_event_id\": %u, \"max_notifiers\": %u, \"max_listeners\": %u},\n", c->max_event_id,
               c->max_publishers, c->max_subscribers);
    else if (c->pattern == FERRY_PATTERN_STATE)
        printf("{\"max_size\": %llu, \"max_readers\": %u},\n \"version\": %llu,\n",
               (unsigned long long)c->max_payload, c->max_subscribers, (unsigned long long)s->state_version);
    else
        printf("{\"max_payload\": %llu, \"alignment\": %llu, \"history\": %u, \"queue_capacity\": %u, "
               "\"max_publishers\": %u, \"max_subscribers\": %u, \"max_loans\": %u, \"max_borrowed\": %u, "
               "\"overflow\": \"%s\"},\n",
               (unsigned long long)c->max_payload, (unsigned long long)c->alignment, c->history, c->queue_capacity,
               c->max_publishers, c->max_subscribers, c->max_loans, c->max_borrowed,
               cli_overflow_name((int)c->overflow));
    printf(" \"memory\": {\"segment\": ");
    cli_json_str(stdout, svc->path);
    if (s->has_conns)
        printf(", \"segment_bytes\": %llu, \"publisher_data_bytes\": %llu, \"samples_per_publisher\": %u},\n",
               (unsigned long long)g->total_size, (unsigned long long)g->data_size, g->chunk_count);
    else
        printf(", \"segment_bytes\": %llu},\n", (unsigned long long)g->total_size);
    printf(" \"publishers\": [");
    for (uint32_t i = 0; i < s->npubs; i++) {
        const struct port *p = &s->pubs[i];
        printf("%s\n  {\"slot\": %u, \"state\": \"%s\", \"port_id\": \"%016llx\", \"node\": ", i ? "," : "",
               p->slot, state_name(p->state), (unsigned long long)p->port_id);
        json_node(nodes, p->owner);
        printf("}");
    }
    printf("%s],\n \"subscribers\": [", s->npubs ? "\n " : "");
    for (uint32_t i = 0; i < s->nsubs; i++) {
        const struct port *p = &s->subs[i];
        printf("%s\n  {\"slot\": %u, \"state\": \"%s\", \"port_id\": \"%016llx\", ", i ? "," : "", p->slot,
               state_name(p->state), (unsigned long long)p->port_id);
        if (s->has_conns)
            printf("\"connections\": %u, \"queued\": %llu, \"lost\": %llu, ", p->connections,
                   (unsigned long long)p->queued, (unsigned long long)p->dropped);
        else if (svc->cfg.pattern == FERRY_PATTERN_EVENT)
            printf("\"pending\": %llu, ", (unsigned long long)p->queued);
        printf("\"node\": ");
        json_node(nodes, p->owner);
        printf("}");
    }
    printf("%s],\n \"connections\": [", s->nsubs ? "\n " : "");
    for (uint32_t i = 0; i < s->nconns; i++) {
        const struct conn *cn = &s->conns[i];
        printf("%s\n  {\"publisher_slot\": %u, \"subscriber_slot\": %u, \"queued\": %llu, \"capacity\": %u, "
               "\"dropped\": %llu}",
               i ? "," : "", cn->pub, cn->sub, (unsigned long long)cn->queued, c->queue_capacity,
               (unsigned long long)cn->dropped);
    }
    printf("%s]}\n", s->nconns ? "\n " : "");
}

static void node_cols(const struct cli_nodes *nodes, uint64_t id, char *name, size_t nn, char *pid, size_t pn,
                      char *owner, size_t on)
{
    const ferry_node_info *n = cli_nodes_find(nodes, id);
    if (!n) {
        snprintf(name, nn, "%s", id ? "(gone)" : "-");
        snprintf(pid, pn, "-");
        snprintf(owner, on, "-");
        return;
    }
    snprintf(name, nn, "%s%s", n->name, n->alive ? "" : " (dead)");
    snprintf(pid, pn, "%ld", n->pid);
    cli_user_name(owner, on, n->uid);
}

static void print_text(const struct fy_service *svc, const struct snapshot *s, const struct cli_nodes *nodes)
{
    const struct fy_svc_config *c = &svc->cfg;
    const struct fy_svc_geometry *g = &svc->geo;
    char b1[32], b2[32], b3[32];
    const char *pubs = "publishers", *subs = "subscribers", *queued_col = "QUEUED";
    printf("service      %s\n", svc->name);
    printf("domain       %s\n", svc->domain);
    printf("pattern      %s\n", cli_pattern_name((int)c->pattern));
    printf("type         %s\n", c->type_name);
    if (c->pattern == FERRY_PATTERN_EVENT) {
        pubs = "notifiers";
        subs = "listeners";
        queued_col = "PENDING";
        printf("options      max_event_id %u, max_notifiers %u, max_listeners %u\n", c->max_event_id,
               c->max_publishers, c->max_subscribers);
        printf("memory       service segment %s\n", cli_fmt_bytes(b2, sizeof b2, g->total_size));
    } else if (c->pattern == FERRY_PATTERN_STATE) {
        pubs = "writer";
        subs = "readers";
        printf("options      max_size %s, max_readers %u\n", cli_fmt_bytes(b1, sizeof b1, c->max_payload),
               c->max_subscribers);
        printf("version      %llu%s\n", (unsigned long long)s->state_version,
               s->state_version ? "" : " (nothing published yet)");
        printf("memory       service segment %s\n", cli_fmt_bytes(b2, sizeof b2, g->total_size));
    } else {
        printf("options      max_payload %s, alignment %llu, history %u, queue_capacity %u, overflow %s,\n"
               "             max_publishers %u, max_subscribers %u, max_loans %u, max_borrowed %u\n",
               cli_fmt_bytes(b1, sizeof b1, c->max_payload), (unsigned long long)c->alignment, c->history,
               c->queue_capacity, cli_overflow_name((int)c->overflow), c->max_publishers, c->max_subscribers,
               c->max_loans, c->max_borrowed);
        printf("memory       service segment %s, %s per publisher (%u samples)\n",
               cli_fmt_bytes(b2, sizeof b2, g->total_size), cli_fmt_bytes(b3, sizeof b3, g->data_size),
               g->chunk_count);
    }
    printf("segment      %s\n", svc->path);

    char name[FERRY_NODE_NAME_MAX + 16], pid[24], owner[64];
    printf("\n%-12s %u of %u\n", pubs, s->npubs, c->max_publishers);
    if (s->npubs)
        printf("  %-4s  %-6s  %-24s  %8s  %-10s  %s\n", "SLOT", "STATE", "NODE", "PID", "OWNER", "PORT ID");
    for (uint32_t i = 0; i < s->npubs; i++) {
        const struct port *p = &s->pubs[i];
        node_cols(nodes, p->owner, name, sizeof name, pid, sizeof pid, owner, sizeof owner);
        printf("  %-4u  %-6s  %-24s  %8s  %-10s  %016llx\n", p->slot, state_name(p->state), name, pid, owner,
               (unsigned long long)p->port_id);
    }
    printf("\n%-12s %u of %u\n", subs, s->nsubs, c->max_subscribers);
    int counts = s->has_conns || c->pattern == FERRY_PATTERN_EVENT;
    if (s->nsubs && counts)
        printf("  %-4s  %-6s  %-24s  %8s  %-10s  %9s  %8s\n", "SLOT", "STATE", "NODE", "PID", "OWNER", queued_col,
               s->has_conns ? "LOST" : "");
    else if (s->nsubs)
        printf("  %-4s  %-6s  %-24s  %8s  %-10s\n", "SLOT", "STATE", "NODE", "PID", "OWNER");
    for (uint32_t i = 0; i < s->nsubs; i++) {
        const struct port *p = &s->subs[i];
        char queued[48], lost[24] = "";
        node_cols(nodes, p->owner, name, sizeof name, pid, sizeof pid, owner, sizeof owner);
        if (!counts) {
            printf("  %-4u  %-6s  %-24s  %8s  %-10s\n", p->slot, state_name(p->state), name, pid, owner);
            continue;
        }
        if (s->has_conns) {
            snprintf(queued, sizeof queued, "%llu/%llu", (unsigned long long)p->queued,
                     (unsigned long long)p->connections * c->queue_capacity);
            snprintf(lost, sizeof lost, "%llu", (unsigned long long)p->dropped);
        } else {
            snprintf(queued, sizeof queued, "%llu", (unsigned long long)p->queued);
        }
        printf("  %-4u  %-6s  %-24s  %8s  %-10s  %9s  %8s\n", p->slot, state_name(p->state), name, pid, owner,
               queued, lost);
    }
    if (s->nconns) {
        printf("\nconnections  %u\n", s->nconns);
        printf("  %-8s  %-8s  %9s  %8s\n", "PUB SLOT", "SUB SLOT", "QUEUED", "DROPPED");
        for (uint32_t i = 0; i < s->nconns; i++) {
            const struct conn *cn = &s->conns[i];
            char queued[48];
            snprintf(queued, sizeof queued, "%llu/%u", (unsigned long long)cn->queued, c->queue_capacity);
            printf("  %-8u  %-8u  %9s  %8llu\n", cn->pub, cn->sub, queued, (unsigned long long)cn->dropped);
        }
    }
}

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    int c, ex;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex) && ex >= 0)
            return ex;
    }
    if (optind >= argc)
        return cli_usage_error("which service? (ferry list shows them)");
    if (optind + 1 < argc)
        return cli_usage_error("unexpected argument '%s' (info takes one service)", argv[optind + 1]);
    const char *name = argv[optind];
    if ((ex = cli_common_finish(&co)) != CLI_OK || (ex = cli_check_service_name(name)) != CLI_OK)
        return ex;

    char path[FY_PATH_MAX];
    fy_path_service(path, co.domain, fy_hash64(name));
    struct fy_service svc;
    int rc = fy_service_attach(&svc, co.domain, path);
    if (rc == FERRY_OK && strcmp(svc.name, name) != 0) {
        fy_service_unmap(&svc);
        rc = FERRY_ENOTFOUND; /* another name with the same hash */
    }
    if (rc == FERRY_OK && svc.hdr->removed) {
        fy_service_unmap(&svc);
        rc = FERRY_ENOTFOUND; /* its last port is removing it */
    }
    if (rc == FERRY_ENOTFOUND) {
        cli_msg("no service \"%s\" in domain \"%s\" ('ferry list --domain %s' shows the services)", name, co.domain,
                co.domain);
        return CLI_NOTFOUND;
    }
    if (rc != FERRY_OK)
        return cli_ferry_error(rc, "reading the service") == CLI_NOTFOUND ? CLI_NOTFOUND : CLI_ERROR;

    struct snapshot snap;
    struct cli_nodes nodes;
    int nrc = cli_nodes_load(co.domain, &nodes);
    if (take_snapshot(&svc, &snap) != 0) {
        cli_msg("out of memory");
        ex = CLI_ERROR;
    } else {
        if (nrc != FERRY_OK)
            cli_msg("warning: cannot list nodes (%s): node names are missing", ferry_last_error_message());
        if (co.json)
            print_json(&svc, &snap, &nodes);
        else
            print_text(&svc, &snap, &nodes);
        ex = CLI_OK;
    }
    snapshot_free(&snap);
    cli_nodes_free(&nodes);
    fy_service_unmap(&svc);
    return ex;
}
