#include "core/node.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "os/os.h"
#include "service/registry.h"

void ferry_node_opts_init(ferry_node_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->domain = NULL;
    o->mode = 0600;
    o->group = -1;
}

int ferry_node_open(ferry_node **out, const char *name, const ferry_node_opts *opts)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_node_open: node is NULL");
    *out = NULL;
    ferry_node_opts def;
    if (!opts) {
        ferry_node_opts_init(&def);
        opts = &def;
    }
    int rc = fy_node_name_check(name);
    if (rc)
        return rc;
    if ((opts->mode & ~0666u) != 0 || (opts->mode & 0600u) != 0600u)
        return fy_fail(FERRY_EINVAL, "node option mode is %04o: use 0600 (owner only), 0660 (group) or 0666", opts->mode);
    ferry_node *n = calloc(1, sizeof *n);
    if (!n)
        return fy_fail(FERRY_ENOMEM, "ferry_node_open: out of memory");
    if ((rc = fy_domain_resolve(opts->domain, n->domain)) != FERRY_OK) {
        free(n);
        return rc;
    }
    memcpy(n->name, name, strlen(name) + 1);
    n->id = fy_os_random64();
    n->mode = opts->mode;
    n->group = opts->group;
    n->ports.next = n->ports.prev = &n->ports;
    pthread_mutex_init(&n->mu, NULL);
    /* Clean before registering: what dead nodes left is gone before we look. */
    fy_domain_cleanup(n->domain, NULL);
    /* Known as ours before its file exists: see registry.h. */
    if ((rc = fy_own_node_add(n->id, n->name)) != FERRY_OK) {
        pthread_mutex_destroy(&n->mu);
        free(n);
        return rc;
    }
    n->lock_fd = fy_node_file_create(n->domain, n->id, n->name, n->mode, n->group);
    if (n->lock_fd < 0) {
        rc = n->lock_fd;
        fy_own_node_remove(n->id);
        pthread_mutex_destroy(&n->mu);
        free(n);
        return rc;
    }
    *out = n;
    fy_ok();
    return FERRY_OK;
}

void ferry_node_close(ferry_node *n)
{
    if (!n)
        return;
    for (;;) {
        pthread_mutex_lock(&n->mu);
        struct fy_port_link *l = n->ports.next;
        pthread_mutex_unlock(&n->mu);
        if (l == &n->ports)
            break;
        /* Each close unlinks its port from the node. */
        switch (l->kind) {
        case FY_LINK_PUB:
            ferry_pub_close((ferry_pub *)l);
            break;
        case FY_LINK_SUB:
            ferry_sub_close((ferry_sub *)l);
            break;
        case FY_LINK_NOTIFIER:
            ferry_notifier_close((ferry_notifier *)l);
            break;
        case FY_LINK_LISTENER:
            ferry_listener_close((ferry_listener *)l);
            break;
        case FY_LINK_STATE_WRITER:
            ferry_state_writer_close((ferry_state_writer *)l);
            break;
        case FY_LINK_STATE_READER:
            ferry_state_reader_close((ferry_state_reader *)l);
            break;
        case FY_LINK_CLIENT:
            ferry_client_close((ferry_client *)l);
            break;
        case FY_LINK_SERVER:
            ferry_server_close((ferry_server *)l);
            break;
        }
    }
    fy_node_file_remove(n->domain, n->id, n->lock_fd);
    fy_own_node_remove(n->id);
    /* Leave the domain tidy: remove what dead nodes left (cheap when none). */
    fy_domain_cleanup(n->domain, NULL);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

const char *ferry_node_domain(const ferry_node *n) { return n ? n->domain : NULL; }
const char *ferry_node_name(const ferry_node *n) { return n ? n->name : NULL; }
uint64_t ferry_node_id(const ferry_node *n) { return n ? n->id : 0; }

void fy_node_add_port(ferry_node *n, struct fy_port_link *l, enum fy_link_kind kind)
{
    l->kind = kind;
    pthread_mutex_lock(&n->mu);
    l->next = n->ports.next;
    l->prev = &n->ports;
    n->ports.next->prev = l;
    n->ports.next = l;
    pthread_mutex_unlock(&n->mu);
}

void fy_node_remove_port(ferry_node *n, struct fy_port_link *l)
{
    pthread_mutex_lock(&n->mu);
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->next = l->prev = l;
    pthread_mutex_unlock(&n->mu);
}

struct fy_opener fy_node_opener(const ferry_node *n)
{
    struct fy_opener o = {n->domain, n->id, n->mode, n->group};
    return o;
}
