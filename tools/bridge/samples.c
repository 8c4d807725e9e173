/*
 * ferry-bridge, publish-subscribe: a local subscriber per exported service
 * copies each sample into one ZeroMQ frame (wire.h); a local publisher per
 * imported service republishes what the peers send, opened with the
 * options the frames carry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "wire.h"

struct fwd { /* an exported local service */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    char type[FERRY_TYPE_NAME_MAX + 1];
    ferry_pubsub_opts opts;
    ferry_sub *sub;
    int fd;
    uint64_t open_ns;
    /* Topic, NUL and header prepared once at open (head_len bytes): per
     * sample they are copied into the frame and the publisher, sequence,
     * timestamp, size and forward time patched in. */
    unsigned char head[FYB_TOPIC_PREFIX_LEN + FERRY_SERVICE_NAME_MAX + 1 + FYB_HEADER_SIZE];
    size_t head_len;
    struct seen seen[DEDUP_SLOTS];
    uint64_t tick;
    uint64_t forwarded, own, dup, old, dropped;
};

struct rep { /* an imported service, republished locally */
    char name[FERRY_SERVICE_NAME_MAX + 1];
    size_t name_len;
    ferry_pub *pub;
    uint64_t id;
    uint64_t retry_ns; /* open failed: do not retry before */
    struct seen seen[DEDUP_SLOTS];
    uint64_t tick;
    uint64_t republished, dup, dropped;
};

static struct {
    struct fwd **fwds;
    size_t nfwd;
    struct rep **reps;
    size_t nrep;
    /* The link was full (zmq_send EAGAIN): until this time DROP_OLDEST
     * services are left alone (see drain_fwd). */
    uint64_t link_full_until;
} S;

static int is_own_publisher(uint64_t id)
{
    for (size_t i = 0; i < S.nrep; i++)
        if (S.reps[i]->pub && S.reps[i]->id == id)
            return 1;
    return 0;
}

static int find_fwd(const char *name)
{
    for (size_t i = 0; i < S.nfwd; i++)
        if (!strcmp(S.fwds[i]->name, name))
            return (int)i;
    return -1;
}

/* Services whose subscriber could not be opened: tried again after 5 s,
 * and said once (a scan runs every --scan-ms). */
static struct failed_open {
    char name[FERRY_SERVICE_NAME_MAX + 1];
    uint64_t retry_ns;
} *failed;
static size_t nfailed;

static struct failed_open *find_failed(const char *name)
{
    for (size_t i = 0; i < nfailed; i++)
        if (!strcmp(failed[i].name, name))
            return &failed[i];
    return NULL;
}

static void open_failed(const char *name, const char *what)
{
    struct failed_open *fo = find_failed(name);
    if (!fo) {
        logmsg("%s %s: %s (tried again every 5 s, said once)", what, name, ferry_last_error_message());
        failed = xrealloc(failed, (nfailed + 1) * sizeof *failed);
        fo = &failed[nfailed++];
        snprintf(fo->name, sizeof fo->name, "%s", name);
    }
    fo->retry_ns = now_ns(CLOCK_MONOTONIC) + 5000000000u;
}

static void open_succeeded(const char *name)
{
    struct failed_open *fo = find_failed(name);
    if (fo)
        *fo = failed[--nfailed];
}

/* Opens a subscriber on an exported service seen for the first time. */
void samples_found(const ferry_service_info *info)
{
    if (info->pattern != FERRY_PATTERN_PUBSUB || !wanted(info->name, DIR_EXPORT) || find_fwd(info->name) >= 0)
        return;
    struct failed_open *fo = find_failed(info->name);
    if (fo && now_ns(CLOCK_MONOTONIC) < fo->retry_ns)
        return;
    struct fwd *f = calloc(1, sizeof *f);
    if (!f)
        die_oom();
    snprintf(f->name, sizeof f->name, "%s", info->name);
    snprintf(f->type, sizeof f->type, "%s", info->type_name);
    f->opts = info->opts;
    f->opts.type_name = f->type;
    f->open_ns = now_ns(CLOCK_MONOTONIC);
    if (ferry_sub_open(&f->sub, B.node, f->name, &f->opts) != FERRY_OK) {
        open_failed(f->name, "cannot subscribe to");
        free(f);
        return;
    }
    size_t topic_len = (size_t)snprintf((char *)f->head, sizeof f->head, FYB_TOPIC_PREFIX "%s", f->name);
    f->head[topic_len] = '\0';
    f->head_len = topic_len + 1 + FYB_HEADER_SIZE;
    fyb_header h = {0};
    h.origin = B.origin;
    h.max_payload = f->opts.max_payload;
    h.alignment = (uint32_t)f->opts.alignment;
    h.history = f->opts.history;
    h.queue_capacity = f->opts.queue_capacity;
    h.max_publishers = f->opts.max_publishers;
    h.max_subscribers = f->opts.max_subscribers;
    h.max_loans = f->opts.max_loans;
    h.max_borrowed = f->opts.max_borrowed;
    h.overflow = (uint32_t)f->opts.overflow;
    snprintf(h.type_name, sizeof h.type_name, "%s", f->type);
    fyb_encode(f->head + topic_len + 1, &h);
    f->fd = ferry_sub_fd(f->sub);
    if (f->fd < 0) {
        open_failed(f->name, "no fd for the subscriber of");
        ferry_sub_close(f->sub);
        free(f);
        return;
    }
    open_succeeded(f->name);
    S.fwds = xrealloc(S.fwds, (S.nfwd + 1) * sizeof *S.fwds);
    S.fwds[S.nfwd++] = f;
    if (cfg.verbose)
        logmsg("exporting %s (type %s, max_payload %zu)", f->name, f->type, f->opts.max_payload);
}

/* How long DROP_OLDEST services are not drained after the link was found
 * full. While they wait, their publishers go on, and the bridge's subscriber
 * queue keeps the newest samples (the older ones are lost there, counted as
 * overrun_out) instead of the bridge spinning on take + a failing zmq_send
 * for every sample, which starved the ZeroMQ I/O threads of CPU. A full
 * ZeroMQ pipe only takes writes again once its reader has drained half of
 * it (hwm/2 messages), and with ZMQ_DONTWAIT libzmq itself notices that
 * with a delay of up to ~1 ms (its command throttling), so 1 ms costs no
 * link time. */
#define LINK_FULL_BACKOFF_NS 1000000u

/* Sends one sample as one frame (wire.h); 0 sent, -1 not sent (errno
 * EAGAIN: the link is full). The payload is copied into the frame. */
static int send_sample(struct fwd *f, const ferry_sample_info *info, const void *payload, size_t size)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, f->head_len + size) != 0)
        return -1;
    unsigned char *d = zmq_msg_data(&m);
    memcpy(d, f->head, f->head_len);
    unsigned char *h = d + f->head_len - FYB_HEADER_SIZE;
    fyb_put64(h + FYB_OFF_PUBLISHER, info->publisher_id);
    fyb_put64(h + FYB_OFF_SEQUENCE, info->sequence);
    fyb_put64(h + FYB_OFF_TIMESTAMP, info->timestamp_ns);
    fyb_put64(h + FYB_OFF_PAYLOAD_SIZE, size);
    fyb_put64(h + FYB_OFF_FORWARD_TIME, now_ns(CLOCK_REALTIME));
    memcpy(d + f->head_len, payload, size);
    if (zmq_msg_send(&m, B.pub, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&m); /* not sent: still ours */
        errno = e;
        return -1; /* a full link (EAGAIN) or an error */
    }
    return 0;
}

/* A DROP_OLDEST service is not drained while the link is full (see
 * LINK_FULL_BACKOFF_NS); a BLOCK service always is, so that its publishers
 * never wait on the network (what cannot be sent is dropped and counted). */
static int fwd_paused(const struct fwd *f, uint64_t now)
{
    return f->opts.overflow != FERRY_OVERFLOW_BLOCK && now < S.link_full_until;
}

/* Takes and sends every queued sample (up to a bound, so that the other
 * direction is served too); stops early when the link turns out full. */
static void drain_fwd(struct fwd *f)
{
    for (int n = 0; n < 256; n++) {
        const void *p = NULL;
        size_t size = 0;
        int rc = ferry_sub_take(f->sub, &p, &size);
        if (rc == FERRY_EAGAIN)
            return;
        if (rc != FERRY_OK) {
            logmsg("take on %s: %s", f->name, ferry_last_error_message());
            return;
        }
        ferry_sample_info info;
        if (ferry_sub_sample_info(f->sub, p, &info) != FERRY_OK) {
            ferry_sub_release(f->sub, p);
            continue;
        }
        int full = 0;
        if (is_own_publisher(info.publisher_id)) {
            f->own++; /* came from another bridge: never sent on */
        } else if (info.timestamp_ns != 0 && info.timestamp_ns < f->open_ns) {
            /* history older than this subscriber: it may come from a dead
             * bridge's republisher, whose id is unknown; remote sides keep
             * their own history */
            f->old++;
        } else if (dedup(f->seen, &f->tick, 0, info.publisher_id, info.sequence)) {
            f->dup++;
        } else if (B.pub) {
            if (send_sample(f, &info, p, size) == 0) {
                f->forwarded++;
            } else {
                f->dropped++;
                full = errno == EAGAIN;
            }
        }
        ferry_sub_release(f->sub, p);
        if (full) {
            S.link_full_until = now_ns(CLOCK_MONOTONIC) + LINK_FULL_BACKOFF_NS;
            if (f->opts.overflow != FERRY_OVERFLOW_BLOCK)
                return; /* the rest waits in the queue, see fwd_paused */
        }
    }
}

/* ---- importing --------------------------------------------------------------- */

static struct rep *get_rep(const char *name, const fyb_header *h)
{
    struct rep *r = NULL;
    for (size_t i = 0; i < S.nrep; i++)
        if (!strcmp(S.reps[i]->name, name)) {
            r = S.reps[i];
            break;
        }
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            die_oom();
        snprintf(r->name, sizeof r->name, "%s", name);
        r->name_len = strlen(r->name);
        S.reps = xrealloc(S.reps, (S.nrep + 1) * sizeof *S.reps);
        S.reps[S.nrep++] = r;
    }
    if (r->pub)
        return r;
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (now < r->retry_ns)
        return NULL;
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = h->type_name;
    o.max_payload = (size_t)h->max_payload;
    o.alignment = h->alignment;
    o.history = h->history;
    o.queue_capacity = h->queue_capacity;
    o.max_publishers = h->max_publishers;
    o.max_subscribers = h->max_subscribers;
    o.max_loans = h->max_loans;
    o.max_borrowed = h->max_borrowed;
    o.overflow = h->overflow == 1 ? FERRY_OVERFLOW_BLOCK : FERRY_OVERFLOW_DROP_OLDEST;
    if (ferry_pub_open(&r->pub, B.node, name, &o) != FERRY_OK) {
        logmsg("cannot republish %s: %s (retrying in 5 s)", name, ferry_last_error_message());
        r->pub = NULL;
        r->retry_ns = now + 5000000000u;
        return NULL;
    }
    r->id = ferry_pub_id(r->pub);
    if (cfg.verbose)
        logmsg("importing %s (type %s, max_payload %zu)", name, h->type_name, o.max_payload);
    return r;
}

/* A sample frame from a peer: republished, or counted as bad, a loop or
 * unwanted. 0 when the frame is not a sample at all. */
int samples_receive(const unsigned char *frame, size_t len)
{
    if (len < FYB_TOPIC_PREFIX_LEN || memcmp(frame, FYB_TOPIC_PREFIX, FYB_TOPIC_PREFIX_LEN) != 0)
        return 0;
    const char *tname;
    size_t nlen, payload_size;
    const unsigned char *hdr, *payload;
    fyb_header h;
    if (fyb_split(frame, len, FERRY_SERVICE_NAME_MAX, &tname, &nlen, &hdr, &payload, &payload_size) != 0 ||
        fyb_decode(&h, hdr, FYB_HEADER_SIZE) != 0 || h.payload_size != payload_size || h.payload_size == 0 ||
        h.payload_size > h.max_payload) {
        B.rx_bad++;
        return 1;
    }
    if (h.origin == B.origin) {
        B.rx_loop++;
        return 1;
    }
    /* A service already republished was matched against the import
     * patterns when it was first seen: skip the glob matching. */
    struct rep *r = NULL;
    for (size_t i = 0; i < S.nrep && !r; i++)
        if (S.reps[i]->pub && S.reps[i]->name_len == nlen && memcmp(S.reps[i]->name, tname, nlen) == 0)
            r = S.reps[i];
    if (!r) {
        char name[FERRY_SERVICE_NAME_MAX + 1];
        memcpy(name, tname, nlen);
        name[nlen] = '\0';
        if (!wanted(name, DIR_IMPORT)) {
            B.rx_unwanted++;
            return 1;
        }
        r = get_rep(name, &h);
        if (!r) {
            B.rx_bad++;
            return 1;
        }
    }
    if (dedup(r->seen, &r->tick, h.origin, h.publisher, h.sequence)) {
        r->dup++;
        return 1;
    }
    void *buf = NULL;
    if (ferry_pub_loan(r->pub, (size_t)h.payload_size, &buf) != FERRY_OK) {
        r->dropped++;
        return 1;
    }
    memcpy(buf, payload, (size_t)h.payload_size);
    int rc = ferry_pub_try_send(r->pub, buf);
    if (rc == FERRY_EAGAIN) { /* overflow block and a full local subscriber: never wait */
        ferry_pub_discard(r->pub, buf);
        r->dropped++;
    } else if (rc != FERRY_OK) {
        r->dropped++;
    } else {
        r->republished++;
    }
    return 1;
}


static void fwd_ready(void *ctx) { drain_fwd(ctx); }

void samples_polls(struct poll_set *ps, uint64_t now)
{
    for (size_t i = 0; i < S.nfwd; i++)
        if (!fwd_paused(S.fwds[i], now))
            poll_add(ps, S.fwds[i]->fd, fwd_ready, S.fwds[i]);
}

uint64_t samples_timer(uint64_t now) { return now < S.link_full_until ? S.link_full_until : 0; }

void samples_stats(FILE *out)
{
    uint64_t fw = 0, own = 0, dup = 0, old = 0, drop = 0, overrun = 0, rep = 0, rdup = 0, rdrop = 0;
    for (size_t i = 0; i < S.nfwd; i++) {
        ferry_sub_stats st;
        if (ferry_sub_stats_get(S.fwds[i]->sub, &st) == FERRY_OK)
            overrun += st.lost;
        fw += S.fwds[i]->forwarded;
        own += S.fwds[i]->own;
        dup += S.fwds[i]->dup;
        old += S.fwds[i]->old;
        drop += S.fwds[i]->dropped;
    }
    for (size_t i = 0; i < S.nrep; i++) {
        rep += S.reps[i]->republished;
        rdup += S.reps[i]->dup;
        rdrop += S.reps[i]->dropped;
    }
    fprintf(out,
            " exported=%zu forwarded=%llu skipped_own=%llu skipped_old=%llu duplicates_out=%llu dropped_out=%llu "
            "overrun_out=%llu | imported=%zu republished=%llu duplicates_in=%llu dropped_in=%llu",
            S.nfwd, (unsigned long long)fw, (unsigned long long)own, (unsigned long long)old,
            (unsigned long long)dup, (unsigned long long)drop, (unsigned long long)overrun, S.nrep,
            (unsigned long long)rep, (unsigned long long)rdup, (unsigned long long)rdrop);
}

void samples_teardown(void)
{
    for (size_t i = 0; i < S.nfwd; i++) {
        ferry_sub_close(S.fwds[i]->sub);
        free(S.fwds[i]);
    }
    for (size_t i = 0; i < S.nrep; i++) {
        ferry_pub_close(S.reps[i]->pub);
        free(S.reps[i]);
    }
    free(S.fwds);
    free(S.reps);
    free(failed);
}
