/*
 * Wait sets: epoll over the ports' signal sockets, user fds and timerfds.
 * No background thread: ferry_waitset_wait runs the callbacks itself.
 *
 * Ports are level-triggered through their fds (see src/event/waiter.h):
 * a subscriber's fd stays readable while samples are queued, so a callback
 * that takes one sample is called again for the next. Every liveness_ns
 * (100 ms) of waiting, the set also checks that the peers of its ports are
 * alive, so a crashed publisher or notifier is reported without the user
 * polling for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/error.h"
#include "event/sources.h"
#include "os/os.h"

#define FY_WAITSET_LIVENESS_NS 100000000ll
#define FY_WAITSET_BATCH 64

struct ferry_attachment {
    struct ferry_attachment *next;
    ferry_source_kind kind;
    void *user;
    int fd;       /* what epoll watches */
    int owns_fd;  /* timerfd: closed on detach */
    ferry_sub *sub;
    ferry_listener *listener;
    int detached;
    int expired; /* a deadline that fired: out of epoll, still attached */
};

struct ferry_waitset {
    int epfd;
    int wake_fd; /* eventfd: ferry_waitset_stop from another thread */
    _Atomic int stop;
    int dispatching;
    struct ferry_attachment *list;
    struct ferry_attachment *graveyard; /* detached during dispatch */
    uint64_t next_probe;
};

int ferry_waitset_open(ferry_waitset **out)
{
    if (!out)
        return fy_fail(FERRY_EINVAL, "ferry_waitset_open: ws is NULL");
    *out = NULL;
    ferry_waitset *ws = calloc(1, sizeof *ws);
    if (!ws)
        return fy_fail(FERRY_ENOMEM, "ferry_waitset_open: out of memory");
    ws->epfd = epoll_create1(EPOLL_CLOEXEC);
    ws->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ws->epfd < 0 || ws->wake_fd < 0) {
        int e = errno;
        fy_os_close(ws->epfd);
        fy_os_close(ws->wake_fd);
        free(ws);
        return fy_fail(e == EMFILE ? FERRY_ELIMIT : FERRY_ESYSTEM, "ferry_waitset_open: %s", strerror(e));
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ws->epfd, EPOLL_CTL_ADD, ws->wake_fd, &ev);
    *out = ws;
    return FERRY_OK;
}

static void free_attachment(struct ferry_attachment *a)
{
    if (a->owns_fd)
        fy_os_close(a->fd);
    free(a);
}

void ferry_waitset_close(ferry_waitset *ws)
{
    if (!ws)
        return;
    for (struct ferry_attachment *a = ws->list, *n; a; a = n) {
        n = a->next;
        free_attachment(a);
    }
    for (struct ferry_attachment *a = ws->graveyard, *n; a; a = n) {
        n = a->next;
        free_attachment(a);
    }
    fy_os_close(ws->epfd);
    fy_os_close(ws->wake_fd);
    free(ws);
}

static int attach(ferry_waitset *ws, ferry_source_kind kind, int fd, int owns_fd, void *user, ferry_sub *sub,
                  ferry_listener *listener, ferry_attachment **out)
{
    struct ferry_attachment *a = calloc(1, sizeof *a);
    if (!a) {
        if (owns_fd)
            fy_os_close(fd);
        return fy_fail(FERRY_ENOMEM, "ferry_waitset_attach: out of memory");
    }
    a->kind = kind;
    a->fd = fd;
    a->owns_fd = owns_fd;
    a->user = user;
    a->sub = sub;
    a->listener = listener;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = a};
    if (epoll_ctl(ws->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int e = errno;
        free_attachment(a);
        if (e == EEXIST)
            return fy_fail(FERRY_EINVAL, "ferry_waitset_attach: fd %d is already attached to this wait set", fd);
        if (e == EPERM)
            return fy_fail(FERRY_EINVAL, "ferry_waitset_attach: fd %d cannot be watched (a regular file?)", fd);
        return fy_fail(e == EBADF ? FERRY_EINVAL : FERRY_ESYSTEM, "ferry_waitset_attach: fd %d: %s", fd, strerror(e));
    }
    a->next = ws->list;
    ws->list = a;
    if (out)
        *out = a;
    return FERRY_OK;
}

int ferry_waitset_attach_sub(ferry_waitset *ws, ferry_sub *sub, void *user, ferry_attachment **out)
{
    if (!ws || !sub)
        return fy_fail(FERRY_EINVAL, "ferry_waitset_attach_sub: %s is NULL", ws ? "sub" : "ws");
    int fd = ferry_sub_fd(sub);
    return fd < 0 ? fd : attach(ws, FERRY_SOURCE_SUBSCRIBER, fd, 0, user, sub, NULL, out);
}

int ferry_waitset_attach_listener(ferry_waitset *ws, ferry_listener *l, void *user, ferry_attachment **out)
{
    if (!ws || !l)
        return fy_fail(FERRY_EINVAL, "ferry_waitset_attach_listener: %s is NULL", ws ? "listener" : "ws");
    int fd = ferry_listener_fd(l);
    return fd < 0 ? fd : attach(ws, FERRY_SOURCE_LISTENER, fd, 0, user, NULL, l, out);
}

int ferry_waitset_attach_fd(ferry_waitset *ws, int fd, void *user, ferry_attachment **out)
{
    if (!ws || fd < 0)
        return fy_fail(FERRY_EINVAL, "ferry_waitset_attach_fd: %s", ws ? "fd is negative" : "ws is NULL");
    return attach(ws, FERRY_SOURCE_FD, fd, 0, user, NULL, NULL, out);
}

static int attach_timer(ferry_waitset *ws, int64_t ns, int periodic, void *user, ferry_attachment **out)
{
    const char *what = periodic ? "ferry_waitset_attach_interval" : "ferry_waitset_attach_deadline";
    if (!ws)
        return fy_fail(FERRY_EINVAL, "%s: ws is NULL", what);
    if (ns <= 0)
        return fy_fail(FERRY_EINVAL, "%s: %lld ns: the time must be positive", what, (long long)ns);
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return fy_fail(FERRY_ESYSTEM, "%s: timerfd_create: %s", what, strerror(errno));
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(ns / 1000000000);
    its.it_value.tv_nsec = (long)(ns % 1000000000);
    if (periodic)
        its.it_interval = its.it_value;
    timerfd_settime(fd, 0, &its, NULL);
    return attach(ws, periodic ? FERRY_SOURCE_INTERVAL : FERRY_SOURCE_DEADLINE, fd, 1, user, NULL, NULL, out);
}

int ferry_waitset_attach_deadline(ferry_waitset *ws, int64_t ns, void *user, ferry_attachment **out)
{
    return attach_timer(ws, ns, 0, user, out);
}

int ferry_waitset_attach_interval(ferry_waitset *ws, int64_t ns, void *user, ferry_attachment **out)
{
    return attach_timer(ws, ns, 1, user, out);
}

void ferry_waitset_detach(ferry_waitset *ws, ferry_attachment *a)
{
    if (!ws || !a) {
        fy_fail(FERRY_EINVAL, "ferry_waitset_detach: an argument is NULL");
        return;
    }
    /* Found in the list before it is touched: a second detach of the same
     * handle is reported, not a use of freed memory. */
    struct ferry_attachment **pp = &ws->list;
    while (*pp && *pp != a)
        pp = &(*pp)->next;
    if (!*pp) {
        fy_fail(FERRY_EINVAL, "ferry_waitset_detach: not attached to this wait set (detached already?)");
        return;
    }
    *pp = a->next;
    if (!a->expired)
        epoll_ctl(ws->epfd, EPOLL_CTL_DEL, a->fd, NULL);
    a->detached = 1;
    if (ws->dispatching) {
        /* The current batch may still name it: free after the batch. */
        a->next = ws->graveyard;
        ws->graveyard = a;
    } else {
        free_attachment(a);
    }
    fy_ok();
}

/* Every liveness period: let ports notice dead peers. A dead peer makes the
 * port's fd readable (it reports the departure). */
static void probe_peers(ferry_waitset *ws)
{
    for (struct ferry_attachment *a = ws->list; a; a = a->next) {
        if (a->sub)
            fy_sub_check_peers(a->sub);
        else if (a->listener)
            fy_listener_check_peers(a->listener);
    }
}

/* Reports one ready source; returns the callback's verdict, or 0 when the
 * readiness was spurious. *fired counts reports. */
static int dispatch_one(ferry_waitset *ws, struct ferry_attachment *a, uint32_t events, ferry_waitset_cb cb,
                        void *user, unsigned *fired)
{
    ferry_event_info info;
    memset(&info, 0, sizeof info);
    info.attachment = a;
    info.kind = a->kind;
    info.user = a->user;
    int report = 1;
    switch (a->kind) {
    case FERRY_SOURCE_SUBSCRIBER: {
        unsigned gone = 0;
        int pending = fy_sub_pending(a->sub, &gone);
        info.disconnected = gone != 0;
        report = pending || gone;
        break;
    }
    case FERRY_SOURCE_LISTENER:
        report = fy_listener_pending(a->listener);
        break;
    case FERRY_SOURCE_DEADLINE:
    case FERRY_SOURCE_INTERVAL: {
        uint64_t n = 0;
        if (read(a->fd, &n, sizeof n) != (ssize_t)sizeof n || n == 0) {
            report = 0;
            break;
        }
        info.missed = n - 1;
        break;
    }
    case FERRY_SOURCE_FD:
        (void)events;
        break;
    }
    int verdict = 0;
    if (report) {
        (*fired)++;
        verdict = cb(&info, user);
    }
    if (!a->detached) {
        if (a->kind == FERRY_SOURCE_SUBSCRIBER)
            fy_sub_settle(a->sub);
        else if (a->kind == FERRY_SOURCE_LISTENER)
            fy_listener_settle(a->listener);
        else if (a->kind == FERRY_SOURCE_DEADLINE && report) {
            /* Fired once: stop watching, but keep the handle valid until
             * the user detaches it or closes the set. */
            epoll_ctl(ws->epfd, EPOLL_CTL_DEL, a->fd, NULL);
            a->expired = 1;
        }
    }
    return verdict;
}

static int wait_once(ferry_waitset *ws, int64_t timeout_ns, ferry_waitset_cb cb, void *user, unsigned *fired,
                     int *stop)
{
    uint64_t start = fy_os_now_ns();
    uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : start + (uint64_t)timeout_ns;
    if (ws->next_probe == 0)
        ws->next_probe = start + FY_WAITSET_LIVENESS_NS;
    for (;;) {
        uint64_t now = fy_os_now_ns();
        if (now >= ws->next_probe) {
            probe_peers(ws);
            ws->next_probe = now + FY_WAITSET_LIVENESS_NS;
        }
        uint64_t until = deadline < ws->next_probe ? deadline : ws->next_probe;
        int ms = now >= until ? 0 : (int)((until - now + 999999) / 1000000);
        struct epoll_event evs[FY_WAITSET_BATCH];
        int n = epoll_wait(ws->epfd, evs, FY_WAITSET_BATCH, ms);
        if (n < 0) {
            if (errno == EINTR)
                continue; /* a signal: wait on, the time spent counts */
            return fy_fail(FERRY_ESYSTEM, "ferry_waitset_wait: epoll_wait: %s", strerror(errno));
        }
        ws->dispatching = 1;
        for (int i = 0; i < n && !*stop; i++) {
            struct ferry_attachment *a = evs[i].data.ptr;
            if (!a) {
                uint64_t v;
                (void)read(ws->wake_fd, &v, sizeof v);
                continue;
            }
            if (a->detached)
                continue;
            if (dispatch_one(ws, a, evs[i].events, cb, user, fired))
                *stop = 1;
        }
        ws->dispatching = 0;
        for (struct ferry_attachment *a = ws->graveyard, *nx; a; a = nx) {
            nx = a->next;
            free_attachment(a);
        }
        ws->graveyard = NULL;
        if (atomic_exchange(&ws->stop, 0))
            *stop = 1;
        if (*fired || *stop)
            return FERRY_OK;
        if (fy_os_now_ns() >= deadline)
            return FERRY_ETIMEDOUT;
    }
}

int ferry_waitset_wait(ferry_waitset *ws, int64_t timeout_ns, ferry_waitset_cb cb, void *user, unsigned *fired)
{
    unsigned count = 0;
    if (fired)
        *fired = 0;
    if (!ws || !cb)
        return fy_fail(FERRY_EINVAL, "ferry_waitset_wait: %s is NULL", ws ? "cb" : "ws");
    if (timeout_ns < 0 && timeout_ns != FERRY_FOREVER)
        return fy_fail(FERRY_EINVAL, "ferry_waitset_wait: timeout %lld: use >= 0 or FERRY_FOREVER",
                       (long long)timeout_ns);
    int stop = 0;
    int rc = wait_once(ws, timeout_ns, cb, user, &count, &stop);
    if (fired)
        *fired = count;
    if (rc == FERRY_ETIMEDOUT)
        return fy_fail(rc, "ferry_waitset_wait: nothing was ready within %lld ns", (long long)timeout_ns);
    return rc;
}

int ferry_waitset_run(ferry_waitset *ws, ferry_waitset_cb cb, void *user)
{
    if (!ws || !cb)
        return fy_fail(FERRY_EINVAL, "ferry_waitset_run: %s is NULL", ws ? "cb" : "ws");
    int stop = 0;
    while (!stop) {
        unsigned count = 0;
        int rc = wait_once(ws, FERRY_FOREVER, cb, user, &count, &stop);
        if (rc != FERRY_OK && rc != FERRY_ETIMEDOUT)
            return rc;
    }
    return FERRY_OK;
}

void ferry_waitset_stop(ferry_waitset *ws)
{
    if (!ws)
        return;
    atomic_store(&ws->stop, 1);
    uint64_t one = 1;
    (void)write(ws->wake_fd, &one, sizeof one);
}
