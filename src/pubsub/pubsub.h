/* Pieces shared by the publisher and the subscriber. */
#ifndef FY_PUBSUB_PUBSUB_H
#define FY_PUBSUB_PUBSUB_H

#include <stdint.h>

#include "shm/layout.h"

static inline char *fy_chunk_base(void *data, const struct fy_svc_geometry *g, uint32_t chunk)
{
    return (char *)data + FY_DATA_START + (uint64_t)chunk * g->chunk_stride;
}

#endif
