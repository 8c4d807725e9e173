/*
 * ferry-bridge, events: a local listener per exported event service sends
 * the ids that fired, one frame per collection (wire.h); a local notifier
 * per imported service raises the ids the peers send.
 *
 * Echoes: when a service is both exported and imported, the bridge's own
 * listener also hears the ids its notifier raises for the peers. Right
 * before raising them it forwards what its listener holds (those came from
 * local notifiers), and right after it collects again and drops the ids it
 * has just raised: they are its own echo. A local notification of the same
 * id in that window coalesces with the remote one, as two notifications of
 * one id do between two collections anywhere in ferry. Ids received from a
 * peer are never sent on, so events do not loop between bridges. (A frame
 * whose ids are not strictly increasing is refused: the echo filter relies
 * on the order.)
 *
 * FERRY_EVENT_PEER_GONE is local: a listener reports it when a notifier of
 * its own domain goes away. It is not forwarded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "wire.h"

struct ev_out { /* an exported event service */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    ferry_event_opts opts;
    ferry_listener *listener; /* NULL while it cannot be opened */
    int fd;
    int open_failed; /* said so once */
    uint64_t forwarded, dropped;
};

struct ev_in { /* an imported event service */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    ferry_notifier *notifier;
    uint64_t retry_ns; /* open failed: do not retry before */
    uint64_t raised, failed;
};

static struct {
    struct ev_out **outs;
    size_t nout;
    struct ev_in **ins;
    size_t nin;
    uint64_t echoes;
} E;

static struct ev_out *find_out(const char *name)
{
    for (size_t i = 0; i < E.nout; i++)
        if (!strcmp(E.outs[i]->name, name))
            return E.outs[i];
    return NULL;
}

/* Opens a listener on an exported event service; one that cannot be opened
 * is kept without a listener and tried again at the next scans, said once. */
void events_found(const ferry_service_info *info)
{
    if (info->pattern != FERRY_PATTERN_EVENT || !wanted(info->name, DIR_EXPORT))
        return;
    struct ev_out *o = find_out(info->name);
    if (o && o->listener)
        return;
    if (!o) {
        o = calloc(1, sizeof *o);
        if (!o)
            die_oom();
        snprintf(o->name, sizeof o->name, "%s", info->name);
        o->fd = -1;
        E.outs = xrealloc(E.outs, (E.nout + 1) * sizeof *E.outs);
        E.outs[E.nout++] = o;
    }
    o->opts = info->event_opts;
    if (ferry_listener_open(&o->listener, B.node, o->name, &o->opts) != FERRY_OK ||
        (o->fd = ferry_listener_fd(o->listener)) < 0) {
        if (!o->open_failed)
            logmsg("cannot listen to %s: %s", o->name, ferry_last_error_message());
        o->open_failed = 1;
        ferry_listener_close(o->listener);
        o->listener = NULL;
        return;
    }
    o->open_failed = 0;
    if (cfg.verbose)
        logmsg("exporting events of %s (max_event_id %u)", o->name, o->opts.max_event_id);
}

/* Sends ids (count of them, PEER_GONE already removed) as one frame. */
static void send_ids(struct ev_out *o, const uint32_t *ids, size_t count)
{
    if (count == 0)
        return;
    unsigned char head[FYB_EVENT_HEADER_SIZE];
    unsigned char body[FYB_EVENT_MAX_IDS * 4];
    fyb_event_header h = {.origin = B.origin,
                          .max_event_id = o->opts.max_event_id,
                          .max_notifiers = o->opts.max_notifiers,
                          .max_listeners = o->opts.max_listeners,
                          .count = (uint32_t)count};
    fyb_event_encode(head, &h);
    for (size_t i = 0; i < count; i++)
        fyb_put32(body + 4 * i, ids[i]);
    if (send_control(FYB_EVENT_PREFIX, o->name, head, sizeof head, body, 4 * count) == 0)
        o->forwarded += count;
    else
        o->dropped += count;
}

/* Collects what the listener holds. skip (n_skip ids, increasing): ids this
 * bridge has just raised itself, dropped as echoes. */
static void collect(struct ev_out *o, const uint32_t *skip, size_t n_skip)
{
    uint32_t ids[FYB_EVENT_MAX_IDS + 1];
    size_t count = 0;
    if (ferry_listener_try_wait(o->listener, ids, sizeof ids / sizeof ids[0], &count) != FERRY_OK)
        return;
    size_t kept = 0, k = 0;
    for (size_t i = 0; i < count; i++) {
        if (ids[i] == FERRY_EVENT_PEER_GONE)
            continue;
        while (k < n_skip && skip[k] < ids[i])
            k++;
        if (k < n_skip && skip[k] == ids[i]) {
            E.echoes++;
            continue;
        }
        ids[kept++] = ids[i];
    }
    send_ids(o, ids, kept);
}

static void out_ready(void *ctx) { collect(ctx, NULL, 0); }

void events_polls(struct poll_set *ps, uint64_t now)
{
    (void)now;
    for (size_t i = 0; i < E.nout; i++)
        if (E.outs[i]->listener)
            poll_add(ps, E.outs[i]->fd, out_ready, E.outs[i]);
}

static struct ev_in *get_in(const char *name, const fyb_event_header *h)
{
    struct ev_in *in = NULL;
    for (size_t i = 0; i < E.nin && !in; i++)
        if (!strcmp(E.ins[i]->name, name))
            in = E.ins[i];
    if (!in) {
        if (!wanted(name, DIR_IMPORT)) {
            B.rx_unwanted++;
            return NULL;
        }
        in = calloc(1, sizeof *in);
        if (!in)
            die_oom();
        snprintf(in->name, sizeof in->name, "%s", name);
        E.ins = xrealloc(E.ins, (E.nin + 1) * sizeof *E.ins);
        E.ins[E.nin++] = in;
    }
    if (in->notifier)
        return in;
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (now < in->retry_ns)
        return NULL;
    ferry_event_opts o;
    ferry_event_opts_init(&o);
    o.max_event_id = h->max_event_id;
    o.max_notifiers = h->max_notifiers;
    o.max_listeners = h->max_listeners;
    if (ferry_notifier_open(&in->notifier, B.node, name, &o) != FERRY_OK) {
        logmsg("cannot raise events of %s: %s (retrying in 5 s)", name, ferry_last_error_message());
        in->notifier = NULL;
        in->retry_ns = now + 5000000000u;
        return NULL;
    }
    if (cfg.verbose)
        logmsg("importing events of %s (max_event_id %u)", name, h->max_event_id);
    return in;
}

int events_receive(const unsigned char *frame, size_t len)
{
    const char *tname;
    size_t nlen, rest_len;
    const unsigned char *rest;
    if (len < FYB_EVENT_PREFIX_LEN || memcmp(frame, FYB_EVENT_PREFIX, FYB_EVENT_PREFIX_LEN) != 0)
        return 0;
    fyb_event_header h;
    if (fyb_split_topic(frame, len, FYB_EVENT_PREFIX, FYB_EVENT_PREFIX_LEN, FERRY_SERVICE_NAME_MAX, &tname, &nlen,
                        &rest, &rest_len) != 0 ||
        fyb_event_decode(&h, rest, rest_len) != 0) {
        B.rx_bad++;
        return 1;
    }
    if (h.origin == B.origin) {
        B.rx_loop++;
        return 1;
    }
    char name[FERRY_SERVICE_NAME_MAX + 1];
    copy_name(name, tname, nlen);
    struct ev_in *in = get_in(name, &h);
    if (!in)
        return 1;
    uint32_t ids[FYB_EVENT_MAX_IDS];
    for (uint32_t i = 0; i < h.count; i++)
        ids[i] = fyb_get32(rest + FYB_EVENT_HEADER_SIZE + 4 * i);
    struct ev_out *echo = find_out(name);
    if (echo && !echo->listener)
        echo = NULL;
    if (echo)
        collect(echo, NULL, 0); /* what local notifiers raised so far goes out first */
    size_t raised = 0;
    for (uint32_t i = 0; i < h.count; i++) {
        if (ferry_notifier_notify(in->notifier, ids[i]) == FERRY_OK) {
            ids[raised++] = ids[i];
            in->raised++;
        } else {
            in->failed++;
        }
    }
    if (echo)
        collect(echo, ids, raised);
    return 1;
}

void events_stats(FILE *out)
{
    uint64_t fw = 0, drop = 0, raised = 0, failed = 0;
    size_t exported = 0;
    for (size_t i = 0; i < E.nout; i++) {
        exported += E.outs[i]->listener != NULL;
        fw += E.outs[i]->forwarded;
        drop += E.outs[i]->dropped;
    }
    for (size_t i = 0; i < E.nin; i++) {
        raised += E.ins[i]->raised;
        failed += E.ins[i]->failed;
    }
    fprintf(out,
            " events: exported=%zu ids_out=%llu ids_dropped=%llu echoes=%llu imported=%zu ids_in=%llu "
            "ids_failed=%llu",
            exported, (unsigned long long)fw, (unsigned long long)drop, (unsigned long long)E.echoes, E.nin,
            (unsigned long long)raised, (unsigned long long)failed);
}

void events_teardown(void)
{
    for (size_t i = 0; i < E.nout; i++) {
        ferry_listener_close(E.outs[i]->listener);
        free(E.outs[i]);
    }
    for (size_t i = 0; i < E.nin; i++) {
        ferry_notifier_close(E.ins[i]->notifier);
        free(E.ins[i]);
    }
    free(E.outs);
    free(E.ins);
}
