/*
 * The registry of a domain: node files, liveness, listing and cleanup of
 * what dead nodes left behind. There is no daemon: every process that opens
 * a node, and every explicit ferry_cleanup(), does the cleaning.
 */
#ifndef FY_SERVICE_REGISTRY_H
#define FY_SERVICE_REGISTRY_H

#include <stdint.h>

#include "ferry/ferry.h"

/* Nodes of this process. A process must never open its own node file (that
 * would drop its liveness lock when closed), so probes, sweeps and listings
 * ask this list first. */
int fy_own_node_add(uint64_t id, const char *name);
void fy_own_node_remove(uint64_t id);

/* 1 when node id of domain is alive (its process holds the node file's
 * lock), 0 when it is dead or its file is gone. */
int fy_node_alive(const char *domain, uint64_t id);

/* Creates the node file, locked, for a node; returns the fd that holds the
 * lock (keep it open for the node's life) or a FERRY_E* code. */
int fy_node_file_create(const char *domain, uint64_t id, const char *name, unsigned mode, long group);

/* Removes the node file of a live node that is closing. */
void fy_node_file_remove(const char *domain, uint64_t id, int fd);

/* Cleans the whole domain; see ferry_cleanup(). */
int fy_domain_cleanup(const char *domain, unsigned *removed);

#endif
