/* Nodes own their ports: closing a node closes what it still has open. */
#ifndef FY_CORE_NODE_H
#define FY_CORE_NODE_H

#include <pthread.h>

#include "ferry/ferry.h"
#include "service/service.h"

/* What a node's port list holds, so that ferry_node_close can close it. */
enum fy_link_kind {
    FY_LINK_PUB,
    FY_LINK_SUB,
    FY_LINK_NOTIFIER,
    FY_LINK_LISTENER,
    FY_LINK_STATE_WRITER,
    FY_LINK_STATE_READER,
    FY_LINK_CLIENT,
    FY_LINK_SERVER
};

struct fy_port_link {
    struct fy_port_link *next;
    struct fy_port_link *prev;
    enum fy_link_kind kind;
};

struct ferry_node {
    char domain[FERRY_DOMAIN_MAX + 1];
    char name[FERRY_NODE_NAME_MAX + 1];
    uint64_t id;
    int lock_fd; /* holds the liveness lock on the node file */
    unsigned mode;
    long group;
    pthread_mutex_t mu; /* guards ports */
    struct fy_port_link ports;
};

void fy_node_add_port(ferry_node *node, struct fy_port_link *link, enum fy_link_kind kind);
void fy_node_remove_port(ferry_node *node, struct fy_port_link *link);
struct fy_opener fy_node_opener(const ferry_node *node);

#endif
