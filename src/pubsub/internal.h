/*
 * Publishers and subscribers as building blocks of other patterns
 * (request-response). Ports opened here are owned by their builder, not
 * listed in the node: the builder closes them with ferry_pub_close /
 * ferry_sub_close.
 */
#ifndef FY_PUBSUB_INTERNAL_H
#define FY_PUBSUB_INTERNAL_H

#include "ferry/ferry.h"
#include "shm/layout.h"

struct fy_waiter;
struct fy_wait_ops;

struct fy_call_meta {
    uint64_t call_id;
    uint32_t reply_slot;
    uint32_t reply_gen;
    uint32_t flags;
    /* Filled by fy_sub_take_meta: the node that owns the publisher slot the
     * sample came from (not from the chunk header: a peer cannot forge it). */
    uint64_t origin_owner;
};

/* Publishers opened here do not timestamp: the patterns built on them expose
 * no timestamps, so no clock is read per sample. */
int fy_pub_open_cfg(ferry_pub **pub, ferry_node *node, const char *name, const struct fy_svc_config *cfg);
int fy_sub_open_cfg(ferry_sub **sub, ferry_node *node, const char *name, const struct fy_svc_config *cfg);

/* Sends a loan to one subscriber only, which must be owned by node
 * expected_owner (0: any). FERRY_EAGAIN: its queue is full (the caller keeps
 * the loan). FERRY_EDISCONNECTED: it is gone or not that node's (the loan is
 * taken back). */
int fy_pub_send_to(ferry_pub *pub, void *payload, uint32_t sub_slot, uint32_t sub_gen, uint64_t expected_owner,
                   const struct fy_call_meta *meta);
/* Sends a loan to one connected subscriber with room, round robin; its slot
 * and generation go to *sub_slot, *sub_gen. FERRY_ENOTFOUND: no subscriber
 * (the caller keeps the loan). FERRY_EAGAIN: all full (the caller keeps it). */
int fy_pub_send_any(ferry_pub *pub, void *payload, const struct fy_call_meta *meta, uint32_t *sub_slot,
                    uint32_t *sub_gen);
/* Whether subscriber slot s of generation gen is connected (after a refresh). */
int fy_pub_connected_to(ferry_pub *pub, uint32_t sub_slot, uint32_t sub_gen);
/* Number of connected subscribers (after a refresh). */
uint32_t fy_pub_subscribers(ferry_pub *pub);
/* Frees samples that subscribers of dead nodes hold (runs cleanup). */
void fy_pub_reap(ferry_pub *pub);

/* Takes the next sample and its call metadata. */
int fy_sub_take_meta(ferry_sub *sub, const void **payload, size_t *size, struct fy_call_meta *meta);
void fy_sub_identity(const ferry_sub *sub, uint32_t *slot, uint32_t *gen);
/* The service's max_borrowed (which may exceed what the opener asked). */
uint32_t fy_sub_max_borrowed(const ferry_sub *sub);
/* The waiter of a subscriber, for builders that wait on it. */
struct fy_waiter *fy_sub_waiter(ferry_sub *sub);
const struct fy_wait_ops *fy_sub_wait_ops(ferry_sub *sub);

#endif
