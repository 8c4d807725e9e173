/*
 * Names: validation of user-given names and the names of shared-memory objects.
 *
 * Every object of a domain D lives in the shm directory as
 *   ferry.D.n.<node id>               node file (liveness lock + node info)
 *   ferry.D.s.<service hash>          service segment
 *   ferry.D.s.<service hash>.p<slot>.<gen>   a publisher's data segment
 *   ferry.D.t.<node id>.<random>      a segment being created (temporary)
 * Domains cannot contain '.', so the prefix "ferry.D." is unambiguous. The
 * service hash is FNV-1a 64 of the service name; the full name is stored in
 * the segment and compared on open, so a hash collision is detected.
 */
#ifndef FY_SERVICE_NAMING_H
#define FY_SERVICE_NAMING_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/ferry.h"

#define FY_PATH_MAX 160

/* Resolves the domain (NULL: env FERRY_DOMAIN, else "default") into out and
 * validates it. FERRY_OK or FERRY_EINVAL with a message. */
int fy_domain_resolve(const char *domain, char out[FERRY_DOMAIN_MAX + 1]);

int fy_node_name_check(const char *name);
int fy_service_name_check(const char *name);
int fy_type_name_check(const char *name);

uint64_t fy_hash64(const char *s);

/* Full paths of objects, written into out (FY_PATH_MAX bytes). */
void fy_path_node(char *out, const char *domain, uint64_t node_id);
void fy_path_service(char *out, const char *domain, uint64_t service_hash);
void fy_path_pub_data(char *out, const char *domain, uint64_t service_hash, uint32_t slot, uint32_t gen);
void fy_path_temp(char *out, const char *domain, uint64_t node_id);

/* Prefix that every object name of the domain starts with ("ferry.D."). */
void fy_name_prefix(char *out, const char *domain);

#endif
