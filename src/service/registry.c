#include "service/registry.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "os/os.h"
#include "service/naming.h"
#include "service/service.h"
#include "shm/layout.h"

/* A temporary object older than this whose creator holds no lock on it was
 * left by a process that died while creating it. */
#define FY_TEMP_STALE_S 5

struct own_node {
    uint64_t id;
    long pid; /* a forked child has the list but not the locks */
    char name[FERRY_NODE_NAME_MAX + 1];
};

static struct own_node *own_nodes;
static unsigned own_count, own_cap;
static pthread_mutex_t own_mu = PTHREAD_MUTEX_INITIALIZER;

int fy_own_node_add(uint64_t id, const char *name)
{
    int rc = FERRY_OK;
    pthread_mutex_lock(&own_mu);
    if (own_count == own_cap) {
        unsigned cap = own_cap ? own_cap * 2 : 16;
        struct own_node *grown = realloc(own_nodes, cap * sizeof *grown);
        if (grown) {
            own_nodes = grown;
            own_cap = cap;
        }
    }
    if (own_count < own_cap) {
        own_nodes[own_count].id = id;
        own_nodes[own_count].pid = fy_os_pid();
        snprintf(own_nodes[own_count].name, sizeof own_nodes[own_count].name, "%s", name);
        own_count++;
    } else {
        rc = fy_fail(FERRY_ENOMEM, "ferry_node_open: out of memory");
    }
    pthread_mutex_unlock(&own_mu);
    return rc;
}

void fy_own_node_remove(uint64_t id)
{
    pthread_mutex_lock(&own_mu);
    for (unsigned i = 0; i < own_count; i++) {
        if (own_nodes[i].id == id) {
            own_nodes[i] = own_nodes[--own_count];
            break;
        }
    }
    pthread_mutex_unlock(&own_mu);
}

/* 1 and *out filled when id is a node of this process. */
static int own_node_find(uint64_t id, struct own_node *out)
{
    int found = 0;
    long pid = fy_os_pid();
    pthread_mutex_lock(&own_mu);
    for (unsigned i = 0; i < own_count && !found; i++) {
        if (own_nodes[i].id == id && own_nodes[i].pid == pid) {
            if (out)
                *out = own_nodes[i];
            found = 1;
        }
    }
    pthread_mutex_unlock(&own_mu);
    return found;
}

int fy_node_alive(const char *domain, uint64_t id)
{
    if (id == 0)
        return 0;
    if (own_node_find(id, NULL))
        return 1;
    char path[FY_PATH_MAX];
    fy_path_node(path, domain, id);
    int fd = fy_os_open(path, 0);
    if (fd < 0)
        return fd != FERRY_ENOTFOUND; /* cannot look (permissions): presume alive */
    int held = fy_os_lock_probe(fd);
    fy_os_close(fd);
    return held != 0; /* an error counts as alive: never reap on a guess */
}

int fy_node_file_create(const char *domain, uint64_t id, const char *name, unsigned mode, long group)
{
    char tmp[FY_PATH_MAX], path[FY_PATH_MAX];
    fy_path_temp(tmp, domain, id);
    fy_path_node(path, domain, id);
    int fd = fy_os_create(tmp, mode, group);
    if (fd < 0)
        return fd;
    /* Locked before it gets its real name: a prober never sees it unlocked. */
    struct fy_node_record rec;
    memset(&rec, 0, sizeof rec);
    rec.magic = FY_MAGIC_NODE;
    rec.id = id;
    rec.pid = fy_os_pid();
    rec.uid = fy_os_uid();
    rec.created_ns = fy_os_now_ns();
    snprintf(rec.name, sizeof rec.name, "%s", name);
    int rc = FERRY_OK;
    if (fy_os_lock_try(fd) != 0)
        rc = fy_fail(FERRY_ESYSTEM, "cannot lock node file %s", tmp);
    else if (pwrite(fd, &rec, sizeof rec, 0) != (ssize_t)sizeof rec)
        rc = fy_fail(FERRY_ENOSPC, "cannot write node file %s: is %s full?", tmp, fy_os_shm_dir());
    else if ((rc = fy_os_publish(tmp, path)) == 1)
        rc = fy_fail(FERRY_ESYSTEM, "node id collision on %s", path);
    if (rc != FERRY_OK) {
        fy_os_unlink(tmp);
        fy_os_close(fd);
        return rc;
    }
    return fd;
}

void fy_node_file_remove(const char *domain, uint64_t id, int fd)
{
    char path[FY_PATH_MAX];
    fy_path_node(path, domain, id);
    fy_os_unlink(path);
    fy_os_close(fd);
}

/* ---- cleanup ------------------------------------------------------------ */

struct sweep {
    const char *domain;
    char prefix[FY_PATH_MAX];
    unsigned removed;
};

static void full_path(char *out, const char *name) { snprintf(out, FY_PATH_MAX, "%s/%s", fy_os_shm_dir(), name); }

/* "ferry.D.s.<16 hex>" exactly: a service segment. */
static int parse_service(const struct sweep *sw, const char *name, uint64_t *hash)
{
    size_t pl = strlen(sw->prefix);
    if (strncmp(name + pl, "s.", 2) != 0)
        return 0;
    const char *hex = name + pl + 2;
    if (strlen(hex) != 16 || strspn(hex, "0123456789abcdef") != 16)
        return 0;
    *hash = strtoull(hex, NULL, 16);
    return 1;
}

/* "ferry.D.s.<16 hex>.p<slot>.<gen>": a publisher data segment. */
static int parse_pub_data(const struct sweep *sw, const char *name, uint64_t *hash, uint32_t *slot, uint32_t *gen)
{
    size_t pl = strlen(sw->prefix);
    if (strncmp(name + pl, "s.", 2) != 0)
        return 0;
    const char *hex = name + pl + 2;
    if (strspn(hex, "0123456789abcdef") != 16)
        return 0;
    unsigned s, g;
    char tail;
    if (sscanf(hex + 16, ".p%u.%u%c", &s, &g, &tail) != 2)
        return 0;
    *hash = strtoull(hex, NULL, 16);
    *slot = s;
    *gen = g;
    return 1;
}

static int sweep_service(const char *name, void *user)
{
    struct sweep *sw = user;
    uint64_t hash;
    if (!parse_service(sw, name, &hash))
        return 0;
    char path[FY_PATH_MAX];
    full_path(path, name);
    struct fy_service svc;
    if (fy_service_attach(&svc, sw->domain, path) != FERRY_OK)
        return 0; /* gone meanwhile, foreign or damaged: left for a person to look at */
    sw->removed += fy_service_reap_locked(&svc);
    fy_service_unmap(&svc);
    return 0;
}

static int sweep_pub_data(const char *name, void *user)
{
    struct sweep *sw = user;
    uint64_t hash;
    uint32_t slot, gen;
    if (!parse_pub_data(sw, name, &hash, &slot, &gen))
        return 0;
    char path[FY_PATH_MAX], svc_path[FY_PATH_MAX];
    full_path(path, name);
    fy_path_service(svc_path, sw->domain, hash);
    struct fy_service svc;
    int keep = 0;
    int rc = fy_service_attach(&svc, sw->domain, svc_path);
    if (rc == FERRY_OK) {
        if (slot < svc.cfg.max_publishers) {
            struct fy_slot *ps = fy_pub_slot(svc.hdr, &svc.geo, slot);
            keep = atomic_load_explicit(&ps->state, memory_order_acquire) != FY_SLOT_FREE &&
                   atomic_load_explicit(&ps->gen, memory_order_relaxed) == gen;
        }
        fy_service_unmap(&svc);
    } else if (rc != FERRY_ENOTFOUND) {
        keep = 1; /* cannot tell: do not guess */
    }
    if (!keep && fy_os_unlink(path) == 0)
        sw->removed++;
    return 0;
}

/* The node id in "ferry.D.n.<id>" or "ferry.D.t.<id>.<random>". */
static uint64_t parse_node_id(const struct sweep *sw, const char *name)
{
    const char *hex = name + strlen(sw->prefix) + 2;
    if (strspn(hex, "0123456789abcdef") != 16)
        return 0;
    return strtoull(hex, NULL, 16);
}

static int sweep_node(const char *name, void *user)
{
    struct sweep *sw = user;
    size_t pl = strlen(sw->prefix);
    if (strncmp(name + pl, "n.", 2) != 0 || own_node_find(parse_node_id(sw, name), NULL))
        return 0;
    char path[FY_PATH_MAX];
    full_path(path, name);
    /* Read-write: a record write lock needs it. Files of other users we may
     * not open are not ours to remove either. */
    int fd = fy_os_open(path, 1);
    if (fd < 0)
        return 0;
    if (fy_os_lock_try(fd) == 0 && fy_os_unlink(path) == 0)
        sw->removed++;
    fy_os_close(fd);
    return 0;
}

static int sweep_temp(const char *name, void *user)
{
    struct sweep *sw = user;
    size_t pl = strlen(sw->prefix);
    if (strncmp(name + pl, "t.", 2) != 0 || own_node_find(parse_node_id(sw, name), NULL))
        return 0;
    char path[FY_PATH_MAX];
    full_path(path, name);
    /* Age first: a fresh temporary is being created, and even a brief lock
     * taken by a cleaner would make its creator's own lock fail. */
    int64_t age = fy_os_age_s(path);
    if (age < FY_TEMP_STALE_S)
        return 0;
    int fd = fy_os_open(path, 1);
    if (fd < 0)
        return 0;
    if (fy_os_lock_try(fd) == 0 && fy_os_unlink(path) == 0)
        sw->removed++;
    fy_os_close(fd);
    return 0;
}

int fy_domain_cleanup(const char *domain, unsigned *removed)
{
    struct sweep sw;
    memset(&sw, 0, sizeof sw);
    sw.domain = domain;
    fy_name_prefix(sw.prefix, domain);
    /* Order: free the slots of dead nodes first (which may remove services
     * and data segments), then data segments nothing refers to, then the
     * node files themselves, then abandoned temporaries. */
    int rc = fy_os_list(sw.prefix, sweep_service, &sw);
    if (rc == FERRY_OK)
        rc = fy_os_list(sw.prefix, sweep_pub_data, &sw);
    if (rc == FERRY_OK)
        rc = fy_os_list(sw.prefix, sweep_node, &sw);
    if (rc == FERRY_OK)
        rc = fy_os_list(sw.prefix, sweep_temp, &sw);
    if (removed)
        *removed = sw.removed;
    if (rc == FERRY_OK)
        fy_ok();
    return rc;
}

int ferry_cleanup(const char *domain, unsigned *removed)
{
    char dom[FERRY_DOMAIN_MAX + 1];
    if (removed)
        *removed = 0;
    int rc = fy_domain_resolve(domain, dom);
    if (rc)
        return rc;
    return fy_domain_cleanup(dom, removed);
}

/* ---- listing ------------------------------------------------------------ */

struct list_ctx {
    struct sweep sw;
    ferry_service_cb service_cb;
    ferry_node_cb node_cb;
    void *user;
};

static int list_service(const char *name, void *user)
{
    struct list_ctx *lc = user;
    uint64_t hash;
    if (!parse_service(&lc->sw, name, &hash))
        return 0;
    char path[FY_PATH_MAX];
    full_path(path, name);
    struct fy_service svc;
    if (fy_service_attach(&svc, lc->sw.domain, path) != FERRY_OK)
        return 0;
    ferry_service_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.name, sizeof info.name, "%s", svc.name);
    if (svc.cfg.pattern == FY_PATTERN_REQRES) {
        /* One entry per request-response service: its request channel. */
        size_t n = strlen(info.name);
        if (n < 4 || strcmp(info.name + n - 4, "#req") != 0) {
            fy_service_unmap(&svc);
            return 0;
        }
        info.name[n - 4] = '\0';
        char resp_name[FERRY_SERVICE_NAME_MAX + 8], resp_path[FY_PATH_MAX];
        snprintf(resp_name, sizeof resp_name, "%s#resp", info.name);
        fy_path_service(resp_path, lc->sw.domain, fy_hash64(resp_name));
        struct fy_service rs;
        ferry_reqres_opts *ro = &info.reqres_opts;
        ferry_reqres_opts_init(ro);
        ro->request_type = info.type_name;
        ro->response_type = info.response_type;
        ro->max_request = svc.cfg.max_payload;
        ro->alignment = svc.cfg.alignment;
        ro->max_clients = svc.cfg.max_publishers;
        ro->max_servers = svc.cfg.max_subscribers;
        ro->request_queue = svc.cfg.queue_capacity;
        ro->max_loans = svc.cfg.max_loans;
        ro->max_borrowed = svc.cfg.max_borrowed;
        if (fy_service_attach(&rs, lc->sw.domain, resp_path) == FERRY_OK) {
            snprintf(info.response_type, sizeof info.response_type, "%s", rs.cfg.type_name);
            ro->max_response = rs.cfg.max_payload;
            ro->response_queue = rs.cfg.queue_capacity;
            fy_service_unmap(&rs);
        }
    }
    info.pattern = (ferry_pattern)svc.cfg.pattern;
    snprintf(info.type_name, sizeof info.type_name, "%s", svc.cfg.type_name);
    if (svc.cfg.pattern == FERRY_PATTERN_EVENT) {
        info.event_opts.max_event_id = svc.cfg.max_event_id;
        info.event_opts.max_notifiers = svc.cfg.max_publishers;
        info.event_opts.max_listeners = svc.cfg.max_subscribers;
    } else if (svc.cfg.pattern == FERRY_PATTERN_STATE) {
        info.state_opts.type_name = info.type_name;
        info.state_opts.max_size = svc.cfg.max_payload;
        info.state_opts.max_readers = svc.cfg.max_subscribers;
    }
    ferry_pubsub_opts *o = &info.opts;
    o->type_name = info.type_name;
    o->max_payload = svc.cfg.max_payload;
    o->alignment = svc.cfg.alignment;
    o->history = svc.cfg.history;
    o->queue_capacity = svc.cfg.queue_capacity;
    o->max_publishers = svc.cfg.max_publishers;
    o->max_subscribers = svc.cfg.max_subscribers;
    o->max_loans = svc.cfg.max_loans;
    o->max_borrowed = svc.cfg.max_borrowed;
    o->overflow = (ferry_overflow)svc.cfg.overflow;
    for (uint32_t p = 0; p < svc.cfg.max_publishers; p++)
        if (atomic_load_explicit(&fy_pub_slot(svc.hdr, &svc.geo, p)->state, memory_order_acquire) == FY_SLOT_ACTIVE)
            info.publishers++;
    for (uint32_t s = 0; s < svc.cfg.max_subscribers; s++)
        if (atomic_load_explicit(&fy_sub_slot(svc.hdr, &svc.geo, s)->state, memory_order_acquire) == FY_SLOT_ACTIVE)
            info.subscribers++;
    int removed = svc.hdr->removed;
    fy_service_unmap(&svc);
    if (removed)
        return 0;
    return lc->service_cb(&info, lc->user) ? 1 : 0;
}

static int list_node(const char *name, void *user)
{
    struct list_ctx *lc = user;
    size_t pl = strlen(lc->sw.prefix);
    if (strncmp(name + pl, "n.", 2) != 0)
        return 0;
    struct own_node own;
    if (own_node_find(parse_node_id(&lc->sw, name), &own)) {
        ferry_node_info info;
        memset(&info, 0, sizeof info);
        snprintf(info.name, sizeof info.name, "%s", own.name);
        info.id = own.id;
        info.pid = own.pid;
        info.uid = fy_os_uid();
        info.alive = 1;
        return lc->node_cb(&info, lc->user) ? 1 : 0;
    }
    char path[FY_PATH_MAX];
    full_path(path, name);
    int fd = fy_os_open(path, 0);
    if (fd < 0)
        return 0;
    struct fy_node_record rec;
    ssize_t n = pread(fd, &rec, sizeof rec, 0);
    int lock = fy_os_lock_probe(fd);
    fy_os_close(fd);
    if (n != (ssize_t)sizeof rec || rec.magic != FY_MAGIC_NODE)
        return 0;
    ferry_node_info info;
    memset(&info, 0, sizeof info);
    rec.name[sizeof rec.name - 1] = '\0';
    snprintf(info.name, sizeof info.name, "%s", rec.name);
    info.id = rec.id;
    info.pid = (long)rec.pid;
    info.uid = (long)rec.uid;
    info.alive = lock != 0;
    return lc->node_cb(&info, lc->user) ? 1 : 0;
}

/* Walks the domain's objects with fn, the callbacks set in lc. */
static int list_domain(const char *domain, struct list_ctx *lc, int (*fn)(const char *, void *))
{
    char dom[FERRY_DOMAIN_MAX + 1];
    int rc = fy_domain_resolve(domain, dom);
    if (rc)
        return rc;
    lc->sw.domain = dom;
    fy_name_prefix(lc->sw.prefix, dom);
    rc = fy_os_list(lc->sw.prefix, fn, lc);
    if (rc == FERRY_OK)
        fy_ok();
    return rc;
}

int ferry_service_list(const char *domain, ferry_service_cb cb, void *user)
{
    if (!cb)
        return fy_fail(FERRY_EINVAL, "ferry_service_list: callback is NULL");
    struct list_ctx lc;
    memset(&lc, 0, sizeof lc);
    lc.service_cb = cb;
    lc.user = user;
    return list_domain(domain, &lc, list_service);
}

int ferry_node_list(const char *domain, ferry_node_cb cb, void *user)
{
    if (!cb)
        return fy_fail(FERRY_EINVAL, "ferry_node_list: callback is NULL");
    struct list_ctx lc;
    memset(&lc, 0, sizeof lc);
    lc.node_cb = cb;
    lc.user = user;
    return list_domain(domain, &lc, list_node);
}
