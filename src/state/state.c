/*
 * Shared state: one writer, many readers, wait-free on both sides.
 *
 * The segment holds max_readers + 2 (+ 4 spares) buffers and one word, current =
 * version << 16 | buffer index. A reader protects the buffer it reads with a
 * hazard in its own slot line:
 *
 *   reader                                  writer (loan)
 *   c = current (acquire)                   for each buffer b != current:
 *   hazard = c (seq_cst)                      if no reader's hazard names b:
 *   if current != c: retry                      write into b
 *   read buffer c & 0xffff                  publish: header, then
 *   hazard = 0 (release)                      current = version << 16 | b (seq_cst)
 *
 * Both sides are seq_cst, so a reader whose re-check still sees c had its
 * hazard visible before the writer could have switched away from c and
 * scanned: the writer never picks a buffer a reader holds, and never waits,
 * because current + one buffer per reader + one spare always leaves a free
 * one. A buffer found free by a scan stays free until the writer itself
 * publishes it (a reader can only come to hold the current buffer, and
 * validates that it still is), so one scan serves several publishes; the
 * FY_STATE_SPARES extra buffers make that several. A reader that dies holding a hazard pins one buffer until cleanup
 * frees its slot (and clears the hazard); the writer still has its spare.
 *
 * Persistence: after the switch, the value is written to a temporary file,
 * fsynced, and renamed over <dir>/<domain>.<hash>.ferry-state, so a crash at
 * any point leaves either the old or the new file whole. The file carries a
 * checksum; a damaged one is reported (FERRY_ECORRUPT), never served.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/node.h"
#include "event/waiter.h"
#include "os/os.h"
#include "service/registry.h"
#include "service/service.h"

#define FY_STATE_FILE_MAGIC 0x6574617473797266ull /* "fyrstate" */
#define FY_STATE_FILE_VERSION 1u

struct ferry_state_writer {
    struct fy_port_link link;
    ferry_node *node;
    struct fy_service svc;
    uint32_t slot, gen;
    uint64_t id;
    struct fy_state_header *sh;
    uint64_t version;
    int loaned; /* index of the loaned buffer, or -1 */
    uint64_t loan_size;
    uint32_t last;
    uint32_t *free_bufs; /* free as of the last hazard scan (see ferry_state_loan) */
    uint32_t nfree;
    uint8_t *hazarded;   /* scratch for the scan */
    char persist_path[FY_PATH_MAX + FY_STATE_PATH_MAX];
};

struct ferry_state_reader {
    struct fy_port_link link;
    ferry_node *node;
    struct fy_service svc;
    uint32_t slot, gen;
    uint64_t id;
    struct fy_state_header *sh;
    struct fy_slot *me;
    int reading;
    uint64_t newer_than;
    int writer_gone;
    uint32_t writer_gen;  /* gen of the writer slot when we last looked */
    int writer_active;    /* whether it held a writer then */
    struct fy_waiter waiter;
    struct fy_wait_ops ops;
};

static inline struct fy_state_header *state_header(struct fy_service *svc)
{
    return fy_state_header_at(svc->hdr, &svc->geo);
}

static inline struct fy_state_buffer *state_buffer(struct fy_service *svc, uint32_t i)
{
    return (struct fy_state_buffer *)((char *)svc->hdr + svc->geo.off_conns + svc->geo.data_size +
                                      (uint64_t)i * svc->geo.chunk_stride);
}

static uint64_t checksum(const void *data, uint64_t size, uint64_t version)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ version ^ (size << 1);
    for (uint64_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- persistence -------------------------------------------------------- */

struct state_file_header {
    uint64_t magic;
    uint32_t format;
    uint32_t reserved;
    uint64_t version;
    uint64_t size;
    uint64_t checksum;
    char service[FERRY_SERVICE_NAME_MAX + 1];
};

static void persist_path(char *out, size_t n, const char *dir, const struct fy_service *svc)
{
    snprintf(out, n, "%s/%s.%016llx.ferry-state", dir, svc->domain, (unsigned long long)svc->hash);
}

/* The version recorded in a saved file, 0 if none or unreadable. */
static uint64_t persist_saved_version(const char *path)
{
    struct state_file_header fh;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        return 0;
    }
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, &fh, sizeof fh);
    close(fd);
    if (n != (ssize_t)sizeof fh || fh.magic != FY_STATE_FILE_MAGIC || fh.version >= (1ull << 47))
        return 0;
    return fh.version;
}

static int persist_save(const char *path, const char *service, uint64_t version, const void *data, uint64_t size,
                        unsigned mode)
{
    char tmp[FY_PATH_MAX + FY_STATE_PATH_MAX + 32];
    /* A fresh name, created exclusively and never through a symlink: the
     * directory may be shared with other users. */
    snprintf(tmp, sizeof tmp, "%s.%016llx.tmp", path, (unsigned long long)fy_os_random64());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0)
        fchmod(fd, (mode_t)mode); /* as the shared-memory objects: not narrowed by the umask */
    if (fd < 0)
        return fy_fail(errno == EACCES ? FERRY_EPERM : FERRY_ESYSTEM, "state \"%s\": cannot write %s: %s", service,
                       tmp, strerror(errno));
    struct state_file_header fh;
    memset(&fh, 0, sizeof fh);
    fh.magic = FY_STATE_FILE_MAGIC;
    fh.format = FY_STATE_FILE_VERSION;
    fh.version = version;
    fh.size = size;
    fh.checksum = checksum(data, size, version);
    snprintf(fh.service, sizeof fh.service, "%s", service);
    int ok = write(fd, &fh, sizeof fh) == (ssize_t)sizeof fh && write(fd, data, size) == (ssize_t)size &&
             fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            e = errno;
        unlink(tmp);
        return fy_fail(e == ENOSPC ? FERRY_ENOSPC : FERRY_ESYSTEM,
                       "state \"%s\": version %llu was published but not saved to %s: %s", service,
                       (unsigned long long)version, path, strerror(e));
    }
    /* The rename itself must reach the disk: sync the directory. */
    char dir[FY_PATH_MAX + FY_STATE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return FERRY_OK;
}

/* Under the service lock, when nothing is published yet: brings the saved
 * value back. FERRY_OK also when there is no file. */
static int persist_load(struct fy_service *svc, struct fy_state_header *sh, const char *path)
{
    /* Non-blocking and regular files only: a FIFO or device put in the
     * directory must not hang or feed the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        return fy_fail(FERRY_ECORRUPT, "state \"%s\": %s is not a regular file: remove it", svc->name, path);
    }
    if (fd < 0) {
        if (errno == ENOENT)
            return FERRY_OK;
        return fy_fail(errno == EACCES ? FERRY_EPERM : FERRY_ESYSTEM, "state \"%s\": cannot read %s: %s", svc->name,
                       path, strerror(errno));
    }
    struct state_file_header fh;
    struct fy_state_buffer *b = state_buffer(svc, 0);
    char *data = (char *)b + svc->geo.payload_offset;
    int rc = FERRY_OK;
    if (read(fd, &fh, sizeof fh) != (ssize_t)sizeof fh || fh.magic != FY_STATE_FILE_MAGIC ||
        fh.format != FY_STATE_FILE_VERSION || fh.size == 0 || fh.size > svc->cfg.max_payload || fh.version == 0 ||
        fh.version >= (1ull << 47) || read(fd, data, fh.size) != (ssize_t)fh.size ||
        checksum(data, fh.size, fh.version) != fh.checksum)
        rc = fy_fail(FERRY_ECORRUPT,
                     "state \"%s\": the saved value in %s is damaged (bad header, size or checksum): restore it "
                     "from a backup or remove it",
                     svc->name, path);
    close(fd);
    if (rc)
        return rc;
    b->version = fh.version;
    b->size = fh.size;
    b->checksum = fh.checksum;
    atomic_store_explicit(&sh->sizes[0], (uint32_t)fh.size, memory_order_relaxed);
    atomic_store_explicit(&sh->current, (fh.version << 16) | 0u, memory_order_seq_cst);
    return FERRY_OK;
}

/* Checks persist_dir against the service, records it if first, loads the
 * saved value if nothing is published. Under the service lock, which keeps
 * writers from joining but not from publishing: so a reader loads only when
 * no writer is active (a live writer picks up the saved version number at
 * its next publish instead, see ferry_state_publish). */
static int persist_setup(struct fy_service *svc, const char *dir, const char *what, enum fy_port_kind kind)
{
    struct fy_state_header *sh = state_header(svc);
    char have[FY_STATE_PATH_MAX + 1];
    memcpy(have, sh->persist_dir, sizeof have);
    have[FY_STATE_PATH_MAX] = '\0';
    char abs[PATH_MAX];
    if (dir && *dir) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return fy_fail(FERRY_EINVAL, "%s: persist_dir \"%s\" is not a directory: create it first", what, dir);
        /* Absolute, so that processes in other working directories agree. */
        if (!realpath(dir, abs))
            return fy_fail(FERRY_EINVAL, "%s: persist_dir \"%s\": %s", what, dir, strerror(errno));
        dir = abs;
        if (strlen(dir) > FY_STATE_PATH_MAX)
            return fy_fail(FERRY_EINVAL, "%s: persist_dir \"%s\" is longer than %d characters", what, dir,
                           FY_STATE_PATH_MAX);
        if (have[0] && strcmp(have, dir) != 0)
            return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\": persist_dir is \"%s\" but you asked for \"%s\"",
                           svc->name, have, dir);
        if (!have[0]) {
            if (atomic_load_explicit(&sh->current, memory_order_acquire) != 0)
                return fy_fail(FERRY_EINCOMPATIBLE, "service \"%s\" exists without persistence: open it with "
                                                    "persist_dir NULL, or close every port first",
                               svc->name);
            memcpy(sh->persist_dir, dir, strlen(dir) + 1); /* length checked above */
        }
    }
    int writer_live = kind != FY_PORT_PUB &&
                      atomic_load_explicit(&fy_pub_slot(svc->hdr, &svc->geo, 0)->state, memory_order_acquire) ==
                          FY_SLOT_ACTIVE;
    if (sh->persist_dir[0] && !writer_live && atomic_load_explicit(&sh->current, memory_order_acquire) == 0) {
        char path[FY_PATH_MAX + FY_STATE_PATH_MAX];
        persist_path(path, sizeof path, sh->persist_dir, svc);
        return persist_load(svc, sh, path);
    }
    return FERRY_OK;
}

static int join_state(struct fy_service *svc, ferry_node *node, const char *service, const ferry_state_opts *opts,
                      enum fy_port_kind kind, uint64_t id, uint32_t *slot, uint32_t *gen, const char *what)
{
    if (!node)
        return fy_fail(FERRY_EINVAL, "%s: node is NULL: open one with ferry_node_open", what);
    int rc = fy_service_name_check(service);
    struct fy_svc_config cfg;
    if (rc || (rc = fy_config_from_state_opts(&cfg, opts)) != FERRY_OK)
        return rc;
    struct fy_opener who = fy_node_opener(node);
    if ((rc = fy_service_join(svc, &who, service, &cfg, kind, id, slot, gen)) != FERRY_OK)
        return rc;
    if ((rc = fy_service_lock(svc)) == FERRY_OK) {
        rc = persist_setup(svc, opts ? opts->persist_dir : NULL, what, kind);
        fy_service_unlock(svc);
    }
    if (rc) {
        int keep = rc;
        fy_service_leave(svc, kind, *slot, *gen);
        return keep;
    }
    return FERRY_OK;
}

/* ---- writer -------------------------------------------------------------- */

int ferry_state_writer_open(ferry_state_writer **out, ferry_node *node, const char *service,
                            const ferry_state_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_state_writer_open: writer is NULL");
    *out = NULL;
    ferry_state_writer *w = calloc(1, sizeof *w);
    if (!w)
        return fy_fail(FERRY_ENOMEM, "ferry_state_writer_open: out of memory");
    w->node = node;
    w->id = fy_os_random64();
    w->loaned = -1;
    int rc = join_state(&w->svc, node, service, opts, FY_PORT_PUB, w->id, &w->slot, &w->gen, "ferry_state_writer_open");
    if (rc) {
        free(w);
        return rc;
    }
    w->sh = state_header(&w->svc);
    w->free_bufs = calloc(w->svc.geo.chunk_count, sizeof *w->free_bufs);
    w->hazarded = calloc(w->svc.geo.chunk_count, 1);
    if (!w->free_bufs || !w->hazarded) {
        fy_service_leave(&w->svc, FY_PORT_PUB, w->slot, w->gen);
        free(w->free_bufs);
        free(w->hazarded);
        free(w);
        return fy_fail(FERRY_ENOMEM, "ferry_state_writer_open: out of memory");
    }
    uint64_t cur = atomic_load_explicit(&w->sh->current, memory_order_acquire);
    w->version = cur >> 16; /* go on from the last version, saved or live */
    w->last = (uint32_t)(cur & 0xffff);
    if (w->sh->persist_dir[0]) {
        char dir[FY_STATE_PATH_MAX + 1];
        memcpy(dir, w->sh->persist_dir, sizeof dir);
        dir[FY_STATE_PATH_MAX] = '\0';
        persist_path(w->persist_path, sizeof w->persist_path, dir, &w->svc);
    }
    fy_node_add_port(node, &w->link, FY_LINK_STATE_WRITER);
    *out = w;
    fy_ok();
    return FERRY_OK;
}

int ferry_state_loan(ferry_state_writer *w, size_t size, void **buffer)
{
    if (!w || !buffer)
        return fy_fail(FERRY_EINVAL, "ferry_state_loan: %s is NULL", w ? "buffer" : "writer");
    *buffer = NULL;
    if (size == 0 || size > w->svc.cfg.max_payload)
        return fy_fail(FERRY_EINVAL, "ferry_state_loan on \"%s\": size %zu must be 1..max_size (%llu)", w->svc.name,
                       size, (unsigned long long)w->svc.cfg.max_payload);
    if (w->loaned >= 0)
        return fy_fail(FERRY_ELIMIT, "ferry_state_loan on \"%s\": a buffer is already loaned: publish or discard it",
                       w->svc.name);
    if (w->nfree == 0) {
        /* Scan: every buffer that is neither current nor named by a hazard. */
        uint32_t n = w->svc.geo.chunk_count;
        uint64_t c = atomic_load_explicit(&w->sh->current, memory_order_seq_cst);
        memset(w->hazarded, 0, n);
        for (uint32_t r = 0; r < w->svc.cfg.max_subscribers; r++) {
            uint64_t hz = atomic_load_explicit(&fy_sub_slot(w->svc.hdr, &w->svc.geo, r)->hazard, memory_order_seq_cst);
            if (hz != 0 && (hz & 0xffff) < n)
                w->hazarded[hz & 0xffff] = 1;
        }
        for (uint32_t k = n; k >= 1; k--) {
            uint32_t b = (w->last + k) % n; /* popped last-in first: oldest first */
            if ((c == 0 || b != (uint32_t)(c & 0xffff)) && !w->hazarded[b])
                w->free_bufs[w->nfree++] = b;
        }
        if (w->nfree == 0) /* unreachable with honest readers: more buffers than hazards */
            return fy_fail(FERRY_ECORRUPT, "ferry_state_loan on \"%s\": every buffer is marked in use", w->svc.name);
    }
    uint32_t b = w->free_bufs[--w->nfree];
    w->loaned = (int)b;
    w->loan_size = size;
    *buffer = (char *)state_buffer(&w->svc, b) + w->svc.geo.payload_offset;
    return FERRY_OK;
}

static void *loan_address(ferry_state_writer *w)
{
    return (char *)state_buffer(&w->svc, (uint32_t)w->loaned) + w->svc.geo.payload_offset;
}

int ferry_state_publish(ferry_state_writer *w, void *buffer, uint64_t *version)
{
    if (!w || !buffer)
        return fy_fail(FERRY_EINVAL, "ferry_state_publish: %s is NULL", w ? "buffer" : "writer");
    if (w->loaned < 0 || buffer != loan_address(w))
        return fy_fail(FERRY_EINVAL, "ferry_state_publish on \"%s\": %p is not this writer's loan", w->svc.name,
                       buffer);
    uint32_t b = (uint32_t)w->loaned;
    struct fy_state_buffer *hdr = state_buffer(&w->svc, b);
    /* Go on from whatever is current: a reader that opened with persist_dir
     * may have loaded a saved version after this writer opened. */
    uint64_t cur_v = atomic_load_explicit(&w->sh->current, memory_order_acquire) >> 16;
    if (cur_v > w->version)
        w->version = cur_v;
    if (!w->persist_path[0] && w->sh->persist_dir[0]) {
        /* Persistence was switched on by a later opener, which did not load
         * the saved value under this live writer: number on from it. */
        char dir[FY_STATE_PATH_MAX + 1];
        memcpy(dir, w->sh->persist_dir, sizeof dir);
        dir[FY_STATE_PATH_MAX] = '\0';
        persist_path(w->persist_path, sizeof w->persist_path, dir, &w->svc);
        uint64_t saved = persist_saved_version(w->persist_path);
        if (saved > w->version)
            w->version = saved;
    }
    uint64_t v = ++w->version;
    hdr->version = v;
    hdr->size = w->loan_size;
    if (b < FY_STATE_LINE_SIZES)
        atomic_store_explicit(&w->sh->sizes[b], (uint32_t)w->loan_size, memory_order_relaxed);
    hdr->checksum = 0;
    w->loaned = -1;
    w->last = b;
    /* seq_cst: the buffer is complete before anyone can see it as current,
     * and the switch is ordered before the waiter flags are read below. */
    atomic_store_explicit(&w->sh->current, (v << 16) | b, memory_order_seq_cst);
    /* seq_cst pairs with the fetch_or in ferry_state_wait: either we see
     * the reader's bit here, or it sees this version before it sleeps. */
    for (uint32_t k = 0; k * 64 < w->svc.cfg.max_subscribers; k++) {
        uint64_t bits = atomic_load_explicit(&w->sh->waiting[k], memory_order_seq_cst);
        while (bits) {
            uint32_t r = k * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (r >= w->svc.cfg.max_subscribers)
                break; /* a bit no reader can own: a peer's garbage */
            struct fy_slot *rs = fy_sub_slot(w->svc.hdr, &w->svc.geo, r);
            if (atomic_load_explicit(&rs->state, memory_order_relaxed) == FY_SLOT_ACTIVE)
                fy_wake(&rs->waiter, w->svc.domain, atomic_load_explicit(&rs->port_id, memory_order_relaxed));
        }
    }
    if (version)
        *version = v;
    if (w->persist_path[0])
        return persist_save(w->persist_path, w->svc.name, v, buffer, hdr->size, w->node->mode);
    return FERRY_OK;
}

void ferry_state_discard(ferry_state_writer *w, void *buffer)
{
    if (!w || !buffer || w->loaned < 0 || buffer != loan_address(w)) {
        fy_fail(FERRY_EINVAL, "ferry_state_discard: %p is not this writer's loan", buffer);
        return;
    }
    w->free_bufs[w->nfree++] = (uint32_t)w->loaned; /* still free: never published */
    w->loaned = -1;
    fy_ok();
}

int ferry_state_write(ferry_state_writer *w, const void *data, size_t size, uint64_t *version)
{
    if (!data)
        return fy_fail(FERRY_EINVAL, "ferry_state_write: data is NULL");
    void *buf = NULL;
    int rc = ferry_state_loan(w, size, &buf);
    if (rc)
        return rc;
    memcpy(buf, data, size);
    return ferry_state_publish(w, buf, version);
}

void ferry_state_writer_close(ferry_state_writer *w)
{
    if (!w)
        return;
    fy_node_remove_port(w->node, &w->link);
    fy_service_leave(&w->svc, FY_PORT_PUB, w->slot, w->gen);
    free(w->free_bufs);
    free(w->hazarded);
    free(w);
}

/* ---- reader -------------------------------------------------------------- */

static uint64_t current_version(ferry_state_reader *r)
{
    return atomic_load_explicit(&r->sh->current, memory_order_seq_cst) >> 16;
}

/* Whether a writer left since we last looked: the one we saw is gone or
 * replaced, or one came and went in between (the slot's generation moved
 * while we were not looking). */
static int writer_departed(ferry_state_reader *r)
{
    struct fy_slot *ws = fy_pub_slot(r->svc.hdr, &r->svc.geo, 0);
    uint32_t st = atomic_load_explicit(&ws->state, memory_order_acquire);
    uint32_t gen = atomic_load_explicit(&ws->gen, memory_order_relaxed);
    int active = st == FY_SLOT_ACTIVE;
    int gone = active ? (r->writer_active && gen != r->writer_gen) : (r->writer_active || gen != r->writer_gen);
    r->writer_gen = gen;
    r->writer_active = active;
    return gone;
}

static int reader_ready(void *ctx)
{
    ferry_state_reader *r = ctx;
    if (current_version(r) > r->newer_than)
        return 1;
    if (writer_departed(r))
        r->writer_gone = 1;
    return r->writer_gone;
}

static int reader_peers(void *ctx)
{
    ferry_state_reader *r = ctx;
    struct fy_slot *ws = fy_pub_slot(r->svc.hdr, &r->svc.geo, 0);
    if (atomic_load_explicit(&ws->state, memory_order_acquire) != FY_SLOT_ACTIVE ||
        fy_node_alive(r->svc.domain, atomic_load_explicit(&ws->owner, memory_order_relaxed)))
        return 0;
    fy_service_reap_locked(&r->svc);
    return 1;
}

int ferry_state_reader_open(ferry_state_reader **out, ferry_node *node, const char *service,
                            const ferry_state_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_state_reader_open: reader is NULL");
    *out = NULL;
    ferry_state_reader *r = calloc(1, sizeof *r);
    if (!r)
        return fy_fail(FERRY_ENOMEM, "ferry_state_reader_open: out of memory");
    r->node = node;
    r->id = fy_os_random64();
    int rc = join_state(&r->svc, node, service, opts, FY_PORT_SUB, r->id, &r->slot, &r->gen, "ferry_state_reader_open");
    if (rc) {
        free(r);
        return rc;
    }
    r->sh = state_header(&r->svc);
    r->me = fy_sub_slot(r->svc.hdr, &r->svc.geo, r->slot);
    fy_waiter_init(&r->waiter, &r->me->waiter, r->svc.domain, r->id);
    r->ops.ready = reader_ready;
    r->ops.peers = reader_peers;
    r->ops.ctx = r;
    writer_departed(r); /* note the current writer, if any */
    fy_node_add_port(node, &r->link, FY_LINK_STATE_READER);
    *out = r;
    fy_ok();
    return FERRY_OK;
}

int ferry_state_read_begin(ferry_state_reader *r, const void **data, size_t *size, uint64_t *version)
{
    if (!r || !data)
        return fy_fail(FERRY_EINVAL, "ferry_state_read_begin: %s is NULL", r ? "data" : "reader");
    *data = NULL;
    if (r->reading)
        return fy_fail(FERRY_ELIMIT, "ferry_state_read_begin on \"%s\": a read is already open: end it first",
                       r->svc.name);
    uint64_t c;
    for (;;) {
        c = atomic_load_explicit(&r->sh->current, memory_order_acquire);
        if (c == 0)
            return fy_fail(FERRY_EAGAIN, "state \"%s\": nothing has been published yet", r->svc.name);
        atomic_store_explicit(&r->me->hazard, c, memory_order_seq_cst);
        if (atomic_load_explicit(&r->sh->current, memory_order_seq_cst) == c)
            break;
    }
    uint32_t b = (uint32_t)(c & 0xffff);
    if (b >= r->svc.geo.chunk_count) {
        atomic_store_explicit(&r->me->hazard, 0, memory_order_release);
        return fy_fail(FERRY_ECORRUPT, "state \"%s\": current buffer %u is out of range", r->svc.name, b);
    }
    const struct fy_state_buffer *hdr = state_buffer(&r->svc, b);
    /* From current's line when it has it (one miss instead of two). */
    uint64_t sz = b < FY_STATE_LINE_SIZES ? atomic_load_explicit(&r->sh->sizes[b], memory_order_relaxed) : hdr->size;
    if (sz == 0 || sz > r->svc.cfg.max_payload) {
        atomic_store_explicit(&r->me->hazard, 0, memory_order_release);
        return fy_fail(FERRY_ECORRUPT, "state \"%s\": current value has an invalid size %llu", r->svc.name,
                       (unsigned long long)sz);
    }
    r->reading = 1;
    *data = (const char *)hdr + r->svc.geo.payload_offset;
    if (size)
        *size = (size_t)sz;
    if (version)
        *version = c >> 16;
    return FERRY_OK;
}

void ferry_state_read_end(ferry_state_reader *r)
{
    if (!r || !r->reading) {
        fy_fail(FERRY_EINVAL, "ferry_state_read_end: no read is open on this reader");
        return;
    }
    /* Release: our reads of the buffer happen before the writer may reuse it. */
    atomic_store_explicit(&r->me->hazard, 0, memory_order_release);
    r->reading = 0;
    fy_ok();
}

int ferry_state_wait(ferry_state_reader *r, uint64_t newer_than, int64_t timeout_ns)
{
    if (!r)
        return fy_fail(FERRY_EINVAL, "ferry_state_wait: reader is NULL");
    if (timeout_ns < 0 && timeout_ns != FERRY_FOREVER)
        return fy_fail(FERRY_EINVAL, "ferry_state_wait: timeout %lld: use >= 0 or FERRY_FOREVER", (long long)timeout_ns);
    r->newer_than = newer_than;
    r->writer_gone = 0;
    /* Announced for the whole wait, spinning included. A reader killed
     * inside leaves its bit set until cleanup frees its slot, which costs
     * the writer one look at that slot's waiter per publish. */
    _Atomic uint64_t *word = &r->sh->waiting[r->slot / 64];
    uint64_t bit = 1ull << (r->slot % 64);
    atomic_fetch_or_explicit(word, bit, memory_order_seq_cst);
    int rc = fy_waiter_wait(&r->waiter, &r->ops, timeout_ns);
    atomic_fetch_and_explicit(word, ~bit, memory_order_relaxed);
    if (rc == FERRY_ETIMEDOUT)
        return fy_fail(rc, "ferry_state_wait on \"%s\": no version newer than %llu within %lld ns", r->svc.name,
                       (unsigned long long)newer_than, (long long)timeout_ns);
    if (current_version(r) > newer_than)
        return FERRY_OK;
    return fy_fail(FERRY_EDISCONNECTED, "ferry_state_wait on \"%s\": the writer went away", r->svc.name);
}

void ferry_state_reader_close(ferry_state_reader *r)
{
    if (!r)
        return;
    fy_node_remove_port(r->node, &r->link);
    if (r->reading)
        atomic_store_explicit(&r->me->hazard, 0, memory_order_release);
    fy_waiter_fini(&r->waiter);
    fy_service_leave(&r->svc, FY_PORT_SUB, r->slot, r->gen);
    free(r);
}
