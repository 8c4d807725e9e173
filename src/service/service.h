/*
 * Services: the shared segment that every port of one service maps, its
 * static configuration, its slots, and its removal when the last port goes.
 * Structural changes happen under the service lock (see fy_svc_header.lock);
 * the data path never takes it.
 */
#ifndef FY_SERVICE_SERVICE_H
#define FY_SERVICE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/ferry.h"
#include "service/naming.h"
#include "shm/layout.h"

struct fy_service {
    char domain[FERRY_DOMAIN_MAX + 1];
    char name[FERRY_SERVICE_NAME_MAX + 1];
    uint64_t hash;
    char path[FY_PATH_MAX];
    int fd;
    struct fy_svc_header *hdr; /* the mapping */
    size_t size;
    /* Private, validated copies: every index into the segment is checked
     * against these, never against what the segment says now. */
    struct fy_svc_config cfg;
    struct fy_svc_geometry geo;
};

enum fy_port_kind { FY_PORT_PUB = 0, FY_PORT_SUB = 1 };

/* Who asks to create or open a service. */
struct fy_opener {
    const char *domain;
    uint64_t node_id;
    unsigned mode;
    long group;
};

/* Fills cfg from user options (NULL: defaults) and checks every value.
 * FERRY_EINVAL with a message naming the field. */
int fy_config_from_opts(struct fy_svc_config *cfg, const ferry_pubsub_opts *opts);

/* The same for event services. */
int fy_config_from_event_opts(struct fy_svc_config *cfg, const ferry_event_opts *opts);

/* The same for state services. */
int fy_config_from_state_opts(struct fy_svc_config *cfg, const ferry_state_opts *opts);

/* Events: raises id bit `bit` at every active listener and wakes it. */
void fy_event_raise(struct fy_service *svc, uint32_t bit);

/* Derives the geometry; FERRY_EINVAL when the config gives absurd sizes. */
int fy_geometry_compute(struct fy_svc_geometry *geo, const struct fy_svc_config *cfg);

/* Opens the service, creating it from cfg when it does not exist, and claims
 * a slot of the given kind for port_id. On success *slot and *gen identify
 * the slot, and svc must be closed with fy_service_leave(). */
int fy_service_join(struct fy_service *svc, const struct fy_opener *who, const char *name,
                    const struct fy_svc_config *cfg, enum fy_port_kind kind, uint64_t port_id, uint32_t *slot,
                    uint32_t *gen);

/* Frees the slot and unmaps; removes the service when it was the last. */
void fy_service_leave(struct fy_service *svc, enum fy_port_kind kind, uint32_t slot, uint32_t gen);

/* Maps an existing service segment by path without joining it (cleanup and
 * listing). FERRY_OK or an error; fy_service_unmap() afterwards. */
int fy_service_attach(struct fy_service *svc, const char *domain, const char *path);
void fy_service_unmap(struct fy_service *svc);

int fy_service_lock(struct fy_service *svc);
void fy_service_unlock(struct fy_service *svc);

/* Under the lock. Frees slots whose owner node is dead, retires orphans that
 * nobody needs any more, and removes the service when nothing is left.
 * Returns the number of shared-memory objects removed. */
unsigned fy_service_reap(struct fy_service *svc);
/* The same, but keeps the service even when no slot is left (may_remove 0). */
unsigned fy_service_reap_ex(struct fy_service *svc, int may_remove);

/* Takes the lock, reaps (as fy_service_reap), releases it. Returns the
 * number of objects removed; 0 when the lock could not be had. */
unsigned fy_service_reap_locked(struct fy_service *svc);

/* Under the lock: retires an orphaned publisher slot if no subscriber still
 * has its samples queued. Returns the number of objects removed. */
unsigned fy_service_orphan_try_free(struct fy_service *svc, uint32_t p);

/* Bumps the epoch of every active subscriber (release). */
void fy_service_touch_subscribers(struct fy_service *svc);

static inline uint64_t fy_link_make(uint32_t pub_gen, uint32_t sub_gen)
{
    return ((uint64_t)pub_gen << 32) | sub_gen;
}

#endif
