#include "service/naming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "os/os.h"

static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int fy_domain_resolve(const char *domain, char out[FERRY_DOMAIN_MAX + 1])
{
    const char *from = "option";
    if (!domain) {
        domain = getenv("FERRY_DOMAIN");
        from = "FERRY_DOMAIN";
        if (!domain || !*domain) {
            domain = "default";
            from = "default";
        }
    }
    size_t n = strlen(domain);
    if (n == 0 || n > FERRY_DOMAIN_MAX)
        return fy_fail(FERRY_EINVAL, "domain \"%.40s\" (from %s) must be 1-%d characters long", domain, from,
                       FERRY_DOMAIN_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!is_word_char(domain[i]))
            return fy_fail(FERRY_EINVAL,
                           "domain \"%s\" (from %s) may only hold letters, digits, '_' and '-' "
                           "(found '%c')",
                           domain, from, domain[i]);
    }
    memcpy(out, domain, n + 1);
    return FERRY_OK;
}

int fy_node_name_check(const char *name)
{
    if (!name)
        return fy_fail(FERRY_EINVAL, "node name is NULL: pass a name such as \"imu_driver\"");
    size_t n = strlen(name);
    if (n == 0 || n > FERRY_NODE_NAME_MAX)
        return fy_fail(FERRY_EINVAL, "node name must be 1-%d characters long (got %zu)", FERRY_NODE_NAME_MAX,
                       n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c > 0x7e)
            return fy_fail(FERRY_EINVAL, "node name holds a non-printable character at position %zu", i);
    }
    return FERRY_OK;
}

int fy_service_name_check(const char *name)
{
    if (!name)
        return fy_fail(FERRY_EINVAL, "service name is NULL: pass a name such as \"sensors/imu/front\"");
    size_t n = strlen(name);
    if (n == 0 || n > FERRY_SERVICE_NAME_MAX)
        return fy_fail(FERRY_EINVAL, "service name must be 1-%d characters long (got %zu)",
                       FERRY_SERVICE_NAME_MAX, n);
    size_t seg_start = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        if (c == '/' || c == '\0') {
            size_t len = i - seg_start;
            if (len == 0)
                return fy_fail(FERRY_EINVAL,
                               "service name \"%s\" has an empty part at position %zu: no leading, trailing "
                               "or double '/'",
                               name, i);
            if ((len == 1 && name[seg_start] == '.') ||
                (len == 2 && name[seg_start] == '.' && name[seg_start + 1] == '.'))
                return fy_fail(FERRY_EINVAL, "service name \"%s\": \".\" and \"..\" are not allowed as parts",
                               name);
            seg_start = i + 1;
        } else if (!is_word_char(c) && c != '.') {
            return fy_fail(FERRY_EINVAL,
                           "service name \"%s\": character '%c' at position %zu is not allowed (use letters, "
                           "digits, '_', '-', '.', and '/' between parts)",
                           name, (c >= 0x20 && c < 0x7f) ? c : '?', i);
        }
    }
    return FERRY_OK;
}

int fy_type_name_check(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > FERRY_TYPE_NAME_MAX)
        return fy_fail(FERRY_EINVAL, "type_name must be 1-%d characters long (got %zu)", FERRY_TYPE_NAME_MAX, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c > 0x7e)
            return fy_fail(FERRY_EINVAL, "type_name holds a non-printable character at position %zu", i);
    }
    return FERRY_OK;
}

uint64_t fy_hash64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

void fy_name_prefix(char *out, const char *domain) { snprintf(out, FY_PATH_MAX, "ferry.%s.", domain); }

void fy_path_node(char *out, const char *domain, uint64_t node_id)
{
    snprintf(out, FY_PATH_MAX, "%s/ferry.%s.n.%016llx", fy_os_shm_dir(), domain, (unsigned long long)node_id);
}

void fy_path_service(char *out, const char *domain, uint64_t service_hash)
{
    snprintf(out, FY_PATH_MAX, "%s/ferry.%s.s.%016llx", fy_os_shm_dir(), domain,
             (unsigned long long)service_hash);
}

void fy_path_pub_data(char *out, const char *domain, uint64_t service_hash, uint32_t slot, uint32_t gen)
{
    snprintf(out, FY_PATH_MAX, "%s/ferry.%s.s.%016llx.p%u.%u", fy_os_shm_dir(), domain,
             (unsigned long long)service_hash, slot, gen);
}

void fy_path_temp(char *out, const char *domain, uint64_t node_id)
{
    snprintf(out, FY_PATH_MAX, "%s/ferry.%s.t.%016llx.%016llx", fy_os_shm_dir(), domain,
             (unsigned long long)node_id, (unsigned long long)fy_os_random64());
}
