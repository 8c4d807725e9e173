#include "service/service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "event/waiter.h"
#include "os/os.h"
#include "queue/ring.h"
#include "service/registry.h"

/* How long a structural operation waits for another process's lock. */
#define FY_LOCK_TIMEOUT_S 2

void ferry_pubsub_opts_init(ferry_pubsub_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->type_name = NULL;
    o->max_payload = 4096;
    o->alignment = 8;
    o->history = 0;
    o->queue_capacity = 4;
    o->max_publishers = 4;
    o->max_subscribers = 8;
    o->max_loans = 2;
    o->max_borrowed = 2;
    o->overflow = FERRY_OVERFLOW_DROP_OLDEST;
    o->timestamps = 0;
}

static int check_range(const char *field, uint64_t v, uint64_t lo, uint64_t hi)
{
    if (v < lo || v > hi)
        return fy_fail(FERRY_EINVAL, "option %s is %llu: it must be between %llu and %llu", field,
                       (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
    return FERRY_OK;
}

int fy_config_from_opts(struct fy_svc_config *cfg, const ferry_pubsub_opts *opts)
{
    ferry_pubsub_opts def;
    if (!opts) {
        ferry_pubsub_opts_init(&def);
        opts = &def;
    }
    memset(cfg, 0, sizeof *cfg);
    const char *type = opts->type_name ? opts->type_name : "bytes";
    int rc = fy_type_name_check(type);
    if (rc)
        return rc;
    if (opts->alignment == 0 || (opts->alignment & (opts->alignment - 1)) != 0 || opts->alignment > 4096)
        return fy_fail(FERRY_EINVAL, "option alignment is %zu: it must be a power of two from 1 to 4096",
                       opts->alignment);
    if (opts->overflow != FERRY_OVERFLOW_DROP_OLDEST && opts->overflow != FERRY_OVERFLOW_BLOCK)
        return fy_fail(FERRY_EINVAL, "option overflow is %d: use FERRY_OVERFLOW_DROP_OLDEST or FERRY_OVERFLOW_BLOCK",
                       (int)opts->overflow);
    if ((rc = check_range("max_payload", opts->max_payload, 1, FY_MAX_PAYLOAD)) ||
        (rc = check_range("history", opts->history, 0, FY_MAX_HISTORY)) ||
        (rc = check_range("queue_capacity", opts->queue_capacity, 1, FY_MAX_QUEUE)) ||
        (rc = check_range("max_publishers", opts->max_publishers, 1, FY_MAX_PUBLISHERS)) ||
        (rc = check_range("max_subscribers", opts->max_subscribers, 1, FY_MAX_SUBSCRIBERS)) ||
        (rc = check_range("max_loans", opts->max_loans, 1, FY_MAX_LOANS)) ||
        (rc = check_range("max_borrowed", opts->max_borrowed, 1, FY_MAX_QUEUE)))
        return rc;
    cfg->pattern = FERRY_PATTERN_PUBSUB;
    cfg->overflow = (uint32_t)opts->overflow;
    cfg->max_payload = opts->max_payload;
    cfg->alignment = opts->alignment;
    cfg->history = opts->history;
    cfg->queue_capacity = opts->queue_capacity;
    cfg->max_publishers = opts->max_publishers;
    cfg->max_subscribers = opts->max_subscribers;
    cfg->max_loans = opts->max_loans;
    cfg->max_borrowed = opts->max_borrowed;
    snprintf(cfg->type_name, sizeof cfg->type_name, "%s", type);
    return FERRY_OK;
}

void ferry_event_opts_init(ferry_event_opts *o)
{
    if (!o)
        return;
    o->max_event_id = 63;
    o->max_notifiers = 16;
    o->max_listeners = 16;
}

int fy_config_from_event_opts(struct fy_svc_config *cfg, const ferry_event_opts *opts)
{
    ferry_event_opts def;
    if (!opts) {
        ferry_event_opts_init(&def);
        opts = &def;
    }
    int rc;
    if ((rc = check_range("max_event_id", opts->max_event_id, 0, FY_MAX_EVENT_ID)) ||
        (rc = check_range("max_notifiers", opts->max_notifiers, 1, FY_MAX_PUBLISHERS)) ||
        (rc = check_range("max_listeners", opts->max_listeners, 1, FY_MAX_SUBSCRIBERS)))
        return rc;
    memset(cfg, 0, sizeof *cfg);
    cfg->pattern = FERRY_PATTERN_EVENT;
    cfg->max_event_id = opts->max_event_id;
    cfg->max_publishers = opts->max_notifiers;
    cfg->max_subscribers = opts->max_listeners;
    snprintf(cfg->type_name, sizeof cfg->type_name, "event");
    return FERRY_OK;
}

void ferry_state_opts_init(ferry_state_opts *o)
{
    if (!o)
        return;
    o->type_name = NULL;
    o->max_size = 4096;
    o->max_readers = 16;
    o->persist_dir = NULL;
}

int fy_config_from_state_opts(struct fy_svc_config *cfg, const ferry_state_opts *opts)
{
    ferry_state_opts def;
    if (!opts) {
        ferry_state_opts_init(&def);
        opts = &def;
    }
    const char *type = opts->type_name ? opts->type_name : "bytes";
    int rc = fy_type_name_check(type);
    if (rc || (rc = check_range("max_size", opts->max_size, 1, FY_MAX_PAYLOAD)) ||
        (rc = check_range("max_readers", opts->max_readers, 1, FY_MAX_SUBSCRIBERS)))
        return rc;
    memset(cfg, 0, sizeof *cfg);
    cfg->pattern = FERRY_PATTERN_STATE;
    cfg->max_payload = opts->max_size;
    cfg->max_publishers = 1;
    cfg->max_subscribers = opts->max_readers;
    snprintf(cfg->type_name, sizeof cfg->type_name, "%s", type);
    return FERRY_OK;
}

static uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

static void geometry_slots(struct fy_svc_geometry *g, const struct fy_svc_config *c)
{
    g->off_pub_slots = round_up(sizeof(struct fy_svc_header), FY_LINE);
    g->off_sub_slots = g->off_pub_slots + (uint64_t)c->max_publishers * sizeof(struct fy_slot);
    g->off_conns = g->off_sub_slots + (uint64_t)c->max_subscribers * sizeof(struct fy_slot);
}

int fy_geometry_compute(struct fy_svc_geometry *g, const struct fy_svc_config *c)
{
    memset(g, 0, sizeof *g);
    if (c->pattern == FERRY_PATTERN_STATE) {
        geometry_slots(g, c);
        /* Readers may each hold an older buffer, one is current, one is
         * being written: the writer always finds a free one. */
        g->chunk_count = c->max_subscribers + 2 + FY_STATE_SPARES;
        g->payload_offset = sizeof(struct fy_state_buffer);
        g->chunk_stride = round_up(sizeof(struct fy_state_buffer) + c->max_payload, FY_LINE);
        g->data_size = round_up(sizeof(struct fy_state_header), FY_LINE); /* buffers start here */
        g->total_size = g->off_conns + g->data_size + (uint64_t)g->chunk_count * g->chunk_stride;
        if (g->total_size > (1ull << 40))
            return fy_fail(FERRY_EINVAL, "a state service of max_size %llu and %u readers needs too much memory",
                           (unsigned long long)c->max_payload, c->max_subscribers);
        return FERRY_OK;
    }
    if (c->pattern == FERRY_PATTERN_EVENT) {
        geometry_slots(g, c);
        /* One extra bit after max_event_id: FERRY_EVENT_PEER_GONE. */
        uint64_t words = ((uint64_t)c->max_event_id + 2 + 63) / 64;
        g->conn_stride = round_up(words * sizeof(uint64_t), FY_LINE);
        g->total_size = g->off_conns + (uint64_t)c->max_subscribers * g->conn_stride;
        return FERRY_OK;
    }
    uint64_t align = c->alignment > FY_LINE ? c->alignment : FY_LINE;
    uint64_t chunks = (uint64_t)c->max_subscribers * ((uint64_t)c->queue_capacity + c->max_borrowed) + c->history +
                      c->max_loans;
    if (chunks > FY_MAX_CHUNKS)
        return fy_fail(FERRY_EINVAL,
                       "max_subscribers * (queue_capacity + max_borrowed) + history + max_loans is %llu samples "
                       "per publisher; the limit is %u: lower one of them",
                       (unsigned long long)chunks, FY_MAX_CHUNKS);
    g->chunk_count = (uint32_t)chunks;
    g->payload_offset = 0; /* metadata travels in the submit slot */
    g->chunk_stride = round_up(c->max_payload, align);
    if (c->max_payload >= 65536)
        g->chunk_stride = round_up(g->chunk_stride, 4096); /* large frames start on a page */
    g->data_size = FY_DATA_START + chunks * g->chunk_stride;
    if (g->data_size > (1ull << 46))
        return fy_fail(FERRY_EINVAL, "a publisher of this service would need %llu bytes of shared memory: lower "
                                     "max_payload or the queue sizes",
                       (unsigned long long)g->data_size);
    g->sub_ring_size = (uint32_t)fy_pow2_at_least(c->queue_capacity);
    g->ret_ring_size = (uint32_t)fy_pow2_at_least((uint64_t)c->queue_capacity + c->max_borrowed);
    geometry_slots(g, c);
    g->conn_stride =
        round_up(sizeof(struct fy_conn) + (uint64_t)g->sub_ring_size * sizeof(struct fy_submit_slot) +
                     (uint64_t)g->ret_ring_size * sizeof(uint64_t),
                 FY_LINE);
    g->total_size = g->off_conns + (uint64_t)c->max_publishers * c->max_subscribers * g->conn_stride;
    if (g->total_size > (1ull << 31))
        return fy_fail(FERRY_EINVAL, "the service segment would need %llu bytes: lower max_publishers, "
                                     "max_subscribers or queue_capacity",
                       (unsigned long long)g->total_size);
    return FERRY_OK;
}

/* Checks a config read from shared memory: the values must be in range
 * before any size is derived from them. */
static int config_validate(struct fy_svc_config *c)
{
    c->type_name[sizeof c->type_name - 1] = '\0';
    if (c->pattern == FERRY_PATTERN_STATE)
        return c->max_payload >= 1 && c->max_payload <= FY_MAX_PAYLOAD && c->max_publishers == 1 &&
                       c->max_subscribers >= 1 && c->max_subscribers <= FY_MAX_SUBSCRIBERS
                   ? FERRY_OK
                   : FERRY_ECORRUPT;
    if (c->pattern == FERRY_PATTERN_EVENT)
        return c->max_event_id <= FY_MAX_EVENT_ID && c->max_publishers >= 1 &&
                       c->max_publishers <= FY_MAX_PUBLISHERS && c->max_subscribers >= 1 &&
                       c->max_subscribers <= FY_MAX_SUBSCRIBERS
                   ? FERRY_OK
                   : FERRY_ECORRUPT;
    if ((c->pattern != FERRY_PATTERN_PUBSUB && c->pattern != FY_PATTERN_REQRES) || c->overflow > 1 || c->alignment == 0 ||
        (c->alignment & (c->alignment - 1)) || c->alignment > 4096 || c->max_payload == 0 ||
        c->max_payload > FY_MAX_PAYLOAD || c->history > FY_MAX_HISTORY || c->queue_capacity == 0 ||
        c->queue_capacity > FY_MAX_QUEUE || c->max_publishers == 0 || c->max_publishers > FY_MAX_PUBLISHERS ||
        c->max_subscribers == 0 || c->max_subscribers > FY_MAX_SUBSCRIBERS || c->max_loans == 0 ||
        c->max_loans > FY_MAX_LOANS || c->max_borrowed == 0 || c->max_borrowed > FY_MAX_QUEUE)
        return FERRY_ECORRUPT;
    return FERRY_OK;
}

static int compat_u(const char *svc, const char *field, uint64_t have, uint64_t want, int exact)
{
    if (exact ? have != want : want > have)
        return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\": %s is %llu but you asked for %llu%s", svc, field,
                       (unsigned long long)have, (unsigned long long)want,
                       exact ? " (must match)" : " (it must not exceed what the service was created with)");
    return FERRY_OK;
}

/* Request-response channels speak of their own option names. */
static const char *reqres_field(const char *svc, const char *field)
{
    size_t n = strlen(svc);
    int req = n > 4 && strcmp(svc + n - 4, "#req") == 0;
    static const char *map[][3] = {{"type_name", "request_type", "response_type"},
                                   {"max_payload", "max_request", "max_response"},
                                   {"max_publishers", "max_clients", "max_servers"},
                                   {"max_subscribers", "max_servers", "max_clients"},
                                   {"queue_capacity", "request_queue", "response_queue"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(field, map[i][0]) == 0)
            return map[i][req ? 1 : 2];
    return field;
}

static int config_compatible(const char *svc, const struct fy_svc_config *have, const struct fy_svc_config *want)
{
    if (have->pattern == FY_PATTERN_REQRES && want->pattern == FY_PATTERN_REQRES) {
        /* Name the user's service and option, not the internal channel. */
        char user_name[FERRY_SERVICE_NAME_MAX + 1];
        snprintf(user_name, sizeof user_name, "%s", svc);
        char *hash = strrchr(user_name, '#');
        if (hash)
            *hash = '\0';
        int rc;
        if (strcmp(have->type_name, want->type_name) != 0)
            return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\": %s is \"%s\" but you asked for \"%s\"", user_name,
                           reqres_field(svc, "type_name"), have->type_name, want->type_name);
        if ((rc = compat_u(user_name, reqres_field(svc, "max_payload"), have->max_payload, want->max_payload, 1)) ||
            (rc = compat_u(user_name, "alignment", have->alignment, want->alignment, 1)) ||
            (rc = compat_u(user_name, reqres_field(svc, "queue_capacity"), have->queue_capacity,
                           want->queue_capacity, 0)) ||
            (rc = compat_u(user_name, reqres_field(svc, "max_publishers"), have->max_publishers,
                           want->max_publishers, 0)) ||
            (rc = compat_u(user_name, reqres_field(svc, "max_subscribers"), have->max_subscribers,
                           want->max_subscribers, 0)) ||
            (rc = compat_u(user_name, "max_loans", have->max_loans, want->max_loans, 0)) ||
            (rc = compat_u(user_name, "max_borrowed", have->max_borrowed, want->max_borrowed, 0)))
            return rc;
        return FERRY_OK;
    }
    static const char *overflow_names[] = {"DROP_OLDEST", "BLOCK"};
    static const char *pattern_names[] = {"unknown", "publish-subscribe", "event", "state", "request-response"};
    int rc;
    if (have->pattern != want->pattern)
        return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\" is a %s service, not of the %s pattern", svc,
                       pattern_names[have->pattern <= 4 ? have->pattern : 0],
                       pattern_names[want->pattern <= 4 ? want->pattern : 0]);
    if (have->pattern == FERRY_PATTERN_STATE) {
        if (strcmp(have->type_name, want->type_name) != 0)
            return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\": type_name is \"%s\" but you asked for \"%s\"",
                           svc, have->type_name, want->type_name);
        if ((rc = compat_u(svc, "max_size", have->max_payload, want->max_payload, 1)) ||
            (rc = compat_u(svc, "max_readers", have->max_subscribers, want->max_subscribers, 0)))
            return rc;
        return FERRY_OK;
    }
    if (have->pattern == FERRY_PATTERN_EVENT) {
        if ((rc = compat_u(svc, "max_event_id", have->max_event_id, want->max_event_id, 1)) ||
            (rc = compat_u(svc, "max_notifiers", have->max_publishers, want->max_publishers, 0)) ||
            (rc = compat_u(svc, "max_listeners", have->max_subscribers, want->max_subscribers, 0)))
            return rc;
        return FERRY_OK;
    }
    if (strcmp(have->type_name, want->type_name) != 0)
        return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\": type_name is \"%s\" but you asked for \"%s\"", svc,
                       have->type_name, want->type_name);
    if (have->overflow != want->overflow)
        return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\": overflow is %s but you asked for %s (must match)", svc,
                       overflow_names[have->overflow & 1], overflow_names[want->overflow & 1]);
    if ((rc = compat_u(svc, "max_payload", have->max_payload, want->max_payload, 1)) ||
        (rc = compat_u(svc, "alignment", have->alignment, want->alignment, 1)) ||
        (rc = compat_u(svc, "history", have->history, want->history, 0)) ||
        (rc = compat_u(svc, "queue_capacity", have->queue_capacity, want->queue_capacity, 0)) ||
        (rc = compat_u(svc, "max_publishers", have->max_publishers, want->max_publishers, 0)) ||
        (rc = compat_u(svc, "max_subscribers", have->max_subscribers, want->max_subscribers, 0)) ||
        (rc = compat_u(svc, "max_loans", have->max_loans, want->max_loans, 0)) ||
        (rc = compat_u(svc, "max_borrowed", have->max_borrowed, want->max_borrowed, 0)))
        return rc;
    return FERRY_OK;
}

void fy_service_unmap(struct fy_service *svc)
{
    if (svc->hdr)
        fy_os_unmap(svc->hdr, svc->size);
    fy_os_close(svc->fd);
    svc->hdr = NULL;
    svc->fd = -1;
}

/* Maps path and validates identity, config and geometry. */
static int map_existing(struct fy_service *svc, const char *path)
{
    svc->fd = -1;
    svc->hdr = NULL;
    snprintf(svc->path, sizeof svc->path, "%s", path);
    int fd = fy_os_open(path, 1);
    if (fd < 0)
        return fd;
    svc->fd = fd;
    int64_t size = fy_os_size(fd);
    if (size < (int64_t)sizeof(struct fy_svc_header)) {
        fy_service_unmap(svc);
        return fy_fail(FERRY_ECORRUPT, "%s is too small to be a ferry service (%lld bytes): remove it", path,
                       (long long)size);
    }
    svc->hdr = fy_os_map(fd, (size_t)size, 1);
    svc->size = (size_t)size;
    if (!svc->hdr) {
        fy_service_unmap(svc);
        return fy_fail(FERRY_ESYSTEM, "cannot map %s", path);
    }
    struct fy_svc_header *h = svc->hdr;
    if (h->magic != FY_MAGIC_SERVICE || h->layout_version != FY_LAYOUT_VERSION) {
        fy_service_unmap(svc);
        return fy_fail(FERRY_ECORRUPT, "%s is not a ferry service of layout version %u", path, FY_LAYOUT_VERSION);
    }
    memcpy(&svc->cfg, &h->config, sizeof svc->cfg);
    memcpy(svc->name, h->name, sizeof svc->name);
    svc->name[sizeof svc->name - 1] = '\0';
    if (config_validate(&svc->cfg) != FERRY_OK || fy_geometry_compute(&svc->geo, &svc->cfg) != FERRY_OK ||
        svc->geo.total_size != (uint64_t)size) {
        fy_service_unmap(svc);
        return fy_fail(FERRY_ECORRUPT, "%s holds an invalid service configuration: remove it", path);
    }
    return FERRY_OK;
}

int fy_service_attach(struct fy_service *svc, const char *domain, const char *path)
{
    memset(svc, 0, sizeof *svc);
    snprintf(svc->domain, sizeof svc->domain, "%s", domain);
    int rc = map_existing(svc, path);
    if (rc == FERRY_OK)
        svc->hash = fy_hash64(svc->name);
    return rc;
}

static int create_segment(struct fy_service *svc, const struct fy_opener *who, const struct fy_svc_config *cfg)
{
    struct fy_svc_geometry geo;
    int rc = fy_geometry_compute(&geo, cfg);
    if (rc)
        return rc;
    char tmp[FY_PATH_MAX];
    fy_path_temp(tmp, who->domain, who->node_id);
    int fd = fy_os_create(tmp, who->mode, who->group);
    if (fd < 0)
        return fd;
    fy_os_lock_try(fd); /* marks the temporary as in use for cleaners */
    rc = fy_os_reserve(fd, geo.total_size, svc->path);
    struct fy_svc_header *h = rc ? NULL : fy_os_map(fd, geo.total_size, 1);
    if (!h) {
        fy_os_close(fd);
        fy_os_unlink(tmp);
        return rc ? rc : fy_fail(FERRY_ESYSTEM, "cannot map new service segment %s", tmp);
    }
    /* The segment is private until published: plain writes are enough. */
    h->magic = FY_MAGIC_SERVICE;
    h->layout_version = FY_LAYOUT_VERSION;
    h->header_size = (uint32_t)sizeof *h;
    snprintf(h->name, sizeof h->name, "%s", svc->name);
    h->config = *cfg;
    h->geo = geo;
    h->creator_node = who->node_id;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    int prc = pthread_mutex_init(&h->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    fy_os_unmap(h, geo.total_size);
    fy_os_close(fd);
    if (prc != 0) {
        fy_os_unlink(tmp);
        return fy_fail(FERRY_ESYSTEM, "cannot initialise the lock of service \"%s\"", svc->name);
    }
    rc = fy_os_publish(tmp, svc->path);
    if (rc != FERRY_OK)
        fy_os_unlink(tmp);
    return rc; /* 1: somebody else created it first */
}

int fy_service_lock(struct fy_service *svc)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += FY_LOCK_TIMEOUT_S;
    int rc = pthread_mutex_timedlock(&svc->hdr->lock, &ts);
    if (rc == EOWNERDEAD) {
        /* The previous holder died mid-change. Every guarded change is
         * re-derivable from the slots, which reap() re-checks. */
        pthread_mutex_consistent(&svc->hdr->lock);
        rc = 0;
    }
    if (rc == 0)
        return FERRY_OK;
    if (rc == ETIMEDOUT)
        return fy_fail(FERRY_ETIMEDOUT,
                       "service \"%s\": another process has held its lock for over %d s (is it stopped in a "
                       "debugger?)",
                       svc->name, FY_LOCK_TIMEOUT_S);
    return fy_fail(FERRY_ECORRUPT, "service \"%s\": its lock is unusable (%s): remove %s", svc->name, strerror(rc),
                   svc->path);
}

void fy_service_unlock(struct fy_service *svc) { pthread_mutex_unlock(&svc->hdr->lock); }

void fy_service_touch_subscribers(struct fy_service *svc)
{
    for (uint32_t s = 0; s < svc->cfg.max_subscribers; s++) {
        struct fy_slot *ss = fy_sub_slot(svc->hdr, &svc->geo, s);
        if (atomic_load_explicit(&ss->state, memory_order_relaxed) != FY_SLOT_ACTIVE)
            continue;
        /* seq_cst RMW, then fy_wake's load of the waiter flags: a sleeping
         * port either sees the new epoch or gets woken. */
        atomic_fetch_add_explicit(&ss->epoch, 1, memory_order_seq_cst);
        fy_wake(&ss->waiter, svc->domain, atomic_load_explicit(&ss->port_id, memory_order_relaxed));
    }
}

/* Events: raises bit `bit` at every active listener and wakes it. */
void fy_event_raise(struct fy_service *svc, uint32_t bit)
{
    for (uint32_t s = 0; s < svc->cfg.max_subscribers; s++) {
        struct fy_slot *ls = fy_sub_slot(svc->hdr, &svc->geo, s);
        if (atomic_load_explicit(&ls->state, memory_order_acquire) != FY_SLOT_ACTIVE)
            continue;
        _Atomic uint64_t *bits = fy_event_bits(svc->hdr, &svc->geo, s);
        uint64_t mask = 1ull << (bit & 63);
        /* seq_cst RMW publishes the bit before fy_wake reads the flags. */
        uint64_t old = atomic_fetch_or_explicit(&bits[bit >> 6], mask, memory_order_seq_cst);
        (void)old;
        fy_wake(&ls->waiter, svc->domain, atomic_load_explicit(&ls->port_id, memory_order_relaxed));
    }
}

/* Whether some live subscriber still has unread samples of publisher slot p
 * (generation gen) queued. Under the lock. */
static int pub_samples_pending(struct fy_service *svc, uint32_t p, uint32_t gen)
{
    if (svc->cfg.pattern != FERRY_PATTERN_PUBSUB && svc->cfg.pattern != FY_PATTERN_REQRES)
        return 0;
    unsigned log2 = fy_log2(svc->geo.sub_ring_size);
    uint64_t mask = svc->geo.sub_ring_size - 1;
    for (uint32_t s = 0; s < svc->cfg.max_subscribers; s++) {
        struct fy_slot *ss = fy_sub_slot(svc->hdr, &svc->geo, s);
        if (atomic_load_explicit(&ss->state, memory_order_acquire) != FY_SLOT_ACTIVE)
            continue;
        struct fy_conn *c = fy_conn_at(svc->hdr, &svc->geo, svc->cfg.max_subscribers, p, s);
        uint32_t sgen = atomic_load_explicit(&ss->gen, memory_order_relaxed);
        if (atomic_load_explicit(&c->link, memory_order_acquire) != fy_link_make(gen, sgen))
            continue;
        uint64_t h = atomic_load_explicit(&c->head, memory_order_acquire);
        if (fy_submit_ready(fy_conn_submit(c), mask, log2, h, memory_order_acquire))
            return 1;
    }
    return 0;
}

static unsigned pub_slot_free(struct fy_service *svc, uint32_t p)
{
    struct fy_slot *ps = fy_pub_slot(svc->hdr, &svc->geo, p);
    uint32_t gen = atomic_load_explicit(&ps->gen, memory_order_relaxed);
    atomic_store_explicit(&ps->owner, 0, memory_order_relaxed);
    atomic_store_explicit(&ps->state, FY_SLOT_FREE, memory_order_release);
    char path[FY_PATH_MAX];
    fy_path_pub_data(path, svc->domain, svc->hash, p, gen);
    return fy_os_unlink(path) == 0 ? 1u : 0u;
}

/* A publisher leaves: its segment goes now, or once its queued samples are read. */
static unsigned pub_retire(struct fy_service *svc, uint32_t p)
{
    struct fy_slot *ps = fy_pub_slot(svc->hdr, &svc->geo, p);
    uint32_t gen = atomic_load_explicit(&ps->gen, memory_order_relaxed);
    unsigned removed = 0;
    if (svc->cfg.pattern == FERRY_PATTERN_EVENT) {
        /* A notifier left: tell the listeners. */
        atomic_store_explicit(&ps->owner, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->state, FY_SLOT_FREE, memory_order_release);
        fy_event_raise(svc, svc->cfg.max_event_id + 1);
        return 0;
    }
    if (pub_samples_pending(svc, p, gen)) {
        atomic_store_explicit(&ps->owner, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->state, FY_SLOT_ORPHAN, memory_order_release);
    } else {
        removed = pub_slot_free(svc, p);
    }
    fy_service_touch_subscribers(svc);
    return removed;
}

unsigned fy_service_orphan_try_free(struct fy_service *svc, uint32_t p)
{
    struct fy_slot *ps = fy_pub_slot(svc->hdr, &svc->geo, p);
    if (atomic_load_explicit(&ps->state, memory_order_acquire) != FY_SLOT_ORPHAN)
        return 0;
    if (pub_samples_pending(svc, p, atomic_load_explicit(&ps->gen, memory_order_relaxed)))
        return 0;
    unsigned removed = pub_slot_free(svc, p);
    fy_service_touch_subscribers(svc);
    return removed;
}

static void sub_slot_free(struct fy_service *svc, uint32_t s)
{
    struct fy_slot *ss = fy_sub_slot(svc->hdr, &svc->geo, s);
    atomic_store_explicit(&ss->owner, 0, memory_order_relaxed);
    /* A dead state reader's guard no longer pins a buffer, nor does the
     * writer keep looking at its waiter. */
    atomic_store_explicit(&ss->hazard, 0, memory_order_release);
    if (svc->cfg.pattern == FERRY_PATTERN_STATE)
        atomic_fetch_and_explicit(&fy_state_header_at(svc->hdr, &svc->geo)->waiting[s / 64], ~(1ull << (s % 64)),
                                  memory_order_relaxed);
    atomic_store_explicit(&ss->state, FY_SLOT_FREE, memory_order_release);
    /* Publishers see this on their next send and take back what the
     * subscriber held (release pairs with their acquire of sub_gen). */
    atomic_fetch_add_explicit(&svc->hdr->sub_gen, 1, memory_order_release);
}

/* Under the lock: removes the service if no slot is in use. */
static unsigned maybe_remove(struct fy_service *svc)
{
    for (uint32_t p = 0; p < svc->cfg.max_publishers; p++)
        if (atomic_load_explicit(&fy_pub_slot(svc->hdr, &svc->geo, p)->state, memory_order_acquire) != FY_SLOT_FREE)
            return 0;
    for (uint32_t s = 0; s < svc->cfg.max_subscribers; s++)
        if (atomic_load_explicit(&fy_sub_slot(svc->hdr, &svc->geo, s)->state, memory_order_acquire) != FY_SLOT_FREE)
            return 0;
    /* Marked first, so that nobody joins a segment whose name is about to
     * go; unmarked if we may not remove the name (another user created it
     * in a sticky /dev/shm): then it stays usable and its owner's cleanup
     * removes it. Only our own file's name is removed: a new service may
     * already have taken the name. */
    svc->hdr->removed = 1;
    int rc = fy_os_unlink_if_same(svc->fd, svc->path);
    if (rc < 0) {
        svc->hdr->removed = 0;
        return 0;
    }
    return rc == 0 ? 1u : 0u;
}

unsigned fy_service_reap(struct fy_service *svc) { return fy_service_reap_ex(svc, 1); }

unsigned fy_service_reap_ex(struct fy_service *svc, int may_remove)
{
    unsigned removed = 0;
    if (svc->hdr->removed) /* a remover died between its two steps: finish */
        return fy_os_unlink_if_same(svc->fd, svc->path) == 0 ? 1u : 0u;
    for (uint32_t s = 0; s < svc->cfg.max_subscribers; s++) {
        struct fy_slot *ss = fy_sub_slot(svc->hdr, &svc->geo, s);
        if (atomic_load_explicit(&ss->state, memory_order_acquire) == FY_SLOT_FREE)
            continue;
        uint64_t owner = atomic_load_explicit(&ss->owner, memory_order_relaxed);
        if (!fy_node_alive(svc->domain, owner))
            sub_slot_free(svc, s);
    }
    for (uint32_t p = 0; p < svc->cfg.max_publishers; p++) {
        struct fy_slot *ps = fy_pub_slot(svc->hdr, &svc->geo, p);
        uint32_t st = atomic_load_explicit(&ps->state, memory_order_acquire);
        if (st == FY_SLOT_ACTIVE && !fy_node_alive(svc->domain, atomic_load_explicit(&ps->owner, memory_order_relaxed)))
            removed += pub_retire(svc, p);
        else if (st == FY_SLOT_ORPHAN)
            removed += fy_service_orphan_try_free(svc, p);
    }
    if (may_remove)
        removed += maybe_remove(svc);
    return removed;
}

unsigned fy_service_reap_locked(struct fy_service *svc)
{
    if (fy_service_lock(svc) != FERRY_OK)
        return 0;
    unsigned removed = fy_service_reap(svc);
    fy_service_unlock(svc);
    return removed;
}

static int claim_slot(struct fy_service *svc, enum fy_port_kind kind, uint64_t node_id, uint64_t port_id,
                      uint32_t *slot, uint32_t *gen)
{
    uint32_t n = kind == FY_PORT_PUB ? svc->cfg.max_publishers : svc->cfg.max_subscribers;
    for (uint32_t i = 0; i < n; i++) {
        struct fy_slot *sl = kind == FY_PORT_PUB ? fy_pub_slot(svc->hdr, &svc->geo, i)
                                                 : fy_sub_slot(svc->hdr, &svc->geo, i);
        if (atomic_load_explicit(&sl->state, memory_order_acquire) != FY_SLOT_FREE)
            continue;
        uint32_t g = atomic_load_explicit(&sl->gen, memory_order_relaxed) + 1;
        if (g == 0)
            g = 1;
        atomic_store_explicit(&sl->gen, g, memory_order_relaxed);
        atomic_store_explicit(&sl->owner, node_id, memory_order_relaxed);
        atomic_store_explicit(&sl->port_id, port_id, memory_order_relaxed);
        /* A listener's pending ids start empty, before anyone can raise one. */
        if (svc->cfg.pattern == FERRY_PATTERN_EVENT && kind == FY_PORT_SUB) {
            _Atomic uint64_t *bits = fy_event_bits(svc->hdr, &svc->geo, i);
            for (uint64_t w = 0; w < svc->geo.conn_stride / sizeof(uint64_t); w++)
                atomic_store_explicit(&bits[w], 0, memory_order_relaxed);
        }
        /* A dead previous owner may have left its waiter flags set. */
        atomic_store_explicit(&sl->waiter.flags, 0, memory_order_relaxed);
        atomic_store_explicit(&sl->waiter.signaled, 0, memory_order_relaxed);
        atomic_store_explicit(&sl->hazard, 0, memory_order_relaxed);
        atomic_store_explicit(&sl->state, FY_SLOT_ACTIVE, memory_order_release);
        *slot = i;
        *gen = g;
        return FERRY_OK;
    }
    return FERRY_ELIMIT;
}

int fy_service_join(struct fy_service *svc, const struct fy_opener *who, const char *name,
                    const struct fy_svc_config *cfg, enum fy_port_kind kind, uint64_t port_id, uint32_t *slot,
                    uint32_t *gen)
{
    memset(svc, 0, sizeof *svc);
    svc->fd = -1;
    snprintf(svc->domain, sizeof svc->domain, "%s", who->domain);
    snprintf(svc->name, sizeof svc->name, "%s", name);
    svc->hash = fy_hash64(name);
    char path[FY_PATH_MAX];
    fy_path_service(path, who->domain, svc->hash);
    snprintf(svc->path, sizeof svc->path, "%s", path);

    for (int attempt = 0; attempt < 1000; attempt++) {
        int rc = map_existing(svc, path);
        if (rc == FERRY_ENOTFOUND) {
            rc = create_segment(svc, who, cfg);
            if (rc < 0)
                return rc;
            continue; /* created (0) or lost the race (1): open what is there now */
        }
        if (rc < 0)
            return rc;
        snprintf(svc->domain, sizeof svc->domain, "%s", who->domain);
        if (strcmp(svc->name, name) != 0) {
            fy_service_unmap(svc);
            return fy_fail(FERRY_EINCOMPATIBLE, "services \"%s\" and \"%s\" have the same hash: rename one", name,
                           svc->name);
        }
        svc->hash = fy_hash64(name);
        if ((rc = config_compatible(name, &svc->cfg, cfg)) != FERRY_OK || (rc = fy_service_lock(svc)) != FERRY_OK) {
            fy_service_unmap(svc);
            return rc;
        }
        if (svc->hdr->removed || !fy_os_same_file(svc->fd, path)) {
            /* Being removed by its last port (wait for the name to go; after
             * a while the remover is presumed dead between its two steps),
             * or already replaced by a new segment (open that one). */
            if (svc->hdr->removed && attempt > 200)
                fy_os_unlink_if_same(svc->fd, path);
            fy_service_unlock(svc);
            fy_service_unmap(svc);
            fy_os_sleep_ns(100000);
            continue;
        }
        rc = claim_slot(svc, kind, who->node_id, port_id, slot, gen);
        if (rc == FERRY_ELIMIT) {
            fy_service_reap_ex(svc, 0); /* a dead node may hold a slot; we are about to join */
            rc = claim_slot(svc, kind, who->node_id, port_id, slot, gen);
        }
        if (rc == FERRY_OK && kind == FY_PORT_SUB)
            atomic_fetch_add_explicit(&svc->hdr->sub_gen, 1, memory_order_release);
        if (rc == FERRY_OK && kind == FY_PORT_PUB &&
            (svc->cfg.pattern == FERRY_PATTERN_PUBSUB || svc->cfg.pattern == FY_PATTERN_REQRES))
            fy_service_touch_subscribers(svc); /* subscribers learn of the new publisher */
        fy_service_unlock(svc);
        if (rc == FERRY_ELIMIT) {
            static const char *port_names[4][2] = {{"ports", "ports"},
                                                   {"publishers", "subscribers"},
                                                   {"notifiers", "listeners"},
                                                   {"writer", "readers"}};
            static const char *limit_names[4][2] = {{"max", "max"},
                                                    {"max_publishers", "max_subscribers"},
                                                    {"max_notifiers", "max_listeners"},
                                                    {"writers", "max_readers"}};
            uint32_t max = kind == FY_PORT_PUB ? svc->cfg.max_publishers : svc->cfg.max_subscribers;
            uint32_t pat = svc->cfg.pattern <= 3 ? svc->cfg.pattern : 1;
            if (svc->cfg.pattern == FY_PATTERN_REQRES) {
                const char *field = reqres_field(name, kind == FY_PORT_PUB ? "max_publishers" : "max_subscribers");
                char user_name[FERRY_SERVICE_NAME_MAX + 1];
                snprintf(user_name, sizeof user_name, "%s", name);
                char *hash = strrchr(user_name, '#');
                if (hash)
                    *hash = '\0';
                fy_service_unmap(svc);
                return fy_fail(FERRY_ELIMIT,
                               "service \"%s\" already has %u %s (%s=%u): close one, or create the service with a "
                               "higher limit",
                               user_name, max, strcmp(field, "max_clients") == 0 ? "clients" : "servers", field, max);
            }
            fy_service_unmap(svc);
            if (pat == FERRY_PATTERN_STATE && kind == FY_PORT_PUB)
                return fy_fail(FERRY_ELIMIT, "state service \"%s\" already has a writer: a state has one writer",
                               name);
            return fy_fail(FERRY_ELIMIT,
                           "service \"%s\" already has %u %s (%s=%u): close one, or create the service with a "
                           "higher limit",
                           name, max, port_names[pat][kind], limit_names[pat][kind], max);
        }
        return rc;
    }
    return fy_fail(FERRY_ETIMEDOUT, "service \"%s\" kept disappearing while being opened: retry", name);
}

void fy_service_leave(struct fy_service *svc, enum fy_port_kind kind, uint32_t slot, uint32_t gen)
{
    if (!svc->hdr)
        return;
    /* A close that gave up would leave the slot to a live owner for good (a
     * BLOCK publisher would wait on it forever): keep trying for ten
     * seconds, which outlasts any sane pause of the holder; a dead holder
     * hands the lock on at once. */
    int rc = FERRY_ETIMEDOUT;
    for (int tries = 0; tries < 5 && rc == FERRY_ETIMEDOUT; tries++)
        rc = fy_service_lock(svc);
    if (rc == FERRY_OK) {
        struct fy_slot *sl = kind == FY_PORT_PUB ? fy_pub_slot(svc->hdr, &svc->geo, slot)
                                                 : fy_sub_slot(svc->hdr, &svc->geo, slot);
        /* Only free what is still ours: a cleaner may have freed it already
         * if this process was presumed dead. */
        if (atomic_load_explicit(&sl->gen, memory_order_relaxed) == gen &&
            atomic_load_explicit(&sl->state, memory_order_acquire) == FY_SLOT_ACTIVE) {
            if (kind == FY_PORT_PUB) {
                pub_retire(svc, slot);
            } else {
                sub_slot_free(svc, slot);
                for (uint32_t p = 0; p < svc->cfg.max_publishers; p++)
                    fy_service_orphan_try_free(svc, p);
            }
        }
        if (!svc->hdr->removed)
            maybe_remove(svc);
        fy_service_unlock(svc);
    }
    fy_service_unmap(svc);
}
