/*
 * The platform contract: every system service ferry needs, and nothing else.
 * A port to another operating system implements this one header
 * (src/os/posix/ is the POSIX and Linux implementation).
 *
 * Shared-memory objects are files in one flat directory (fy_os_shm_dir(),
 * /dev/shm on Linux) so that they can be created under a temporary name,
 * fully initialised, and then published atomically with link().
 */
#ifndef FY_OS_OS_H
#define FY_OS_OS_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

/* Nanoseconds of CLOCK_MONOTONIC: one clock for every process of a machine. */
uint64_t fy_os_now_ns(void);
/* The same clock at tick resolution (a few ms), where the system has one
 * that is cheaper to read (Linux: CLOCK_MONOTONIC_COARSE, no counter read);
 * for deadlines far longer than a tick checked on a busy path. */
uint64_t fy_os_coarse_now_ns(void);

/* A random 64-bit value that is never 0 (ids, temporary names). */
uint64_t fy_os_random64(void);

/* Sleeps for ns nanoseconds (shorter if a signal arrives). */
void fy_os_sleep_ns(uint64_t ns);

/* Gives the CPU to another thread. */
void fy_os_yield(void);

/* Directory that holds every shared-memory object. */
const char *fy_os_shm_dir(void);

/* Creates path exclusively with permission bits mode (not masked by umask)
 * and group (-1: leave). Returns an fd (close-on-exec) or a FERRY_E* code. */
int fy_os_create(const char *path, unsigned mode, long group);

/* Opens an existing object read-write (writable != 0) or read-only.
 * Returns an fd or FERRY_ENOTFOUND / FERRY_EPERM / FERRY_ESYSTEM. */
int fy_os_open(const char *path, int writable);

/* Reserves size bytes for fd, so that touching the mapping later can never
 * fail for lack of space (which would be SIGBUS). FERRY_ENOSPC if it can't. */
int fy_os_reserve(int fd, uint64_t size, const char *what);

/* Publishes a fully written temporary object under its final name.
 * FERRY_OK, or 1 if final already exists (the temporary stays), or an error. */
int fy_os_publish(const char *tmp, const char *final);

/* Maps size bytes of fd shared, read-write or read-only. NULL on failure. */
void *fy_os_map(int fd, size_t size, int writable);
void fy_os_unmap(void *addr, size_t size);

/* Size of the object behind fd, or -1. */
int64_t fy_os_size(int fd);

/* Removes a path; 0, or -1 with errno set. */
int fy_os_unlink(const char *path);

/* 1 when path names the same file as the open descriptor fd (a name can be
 * removed and given to a new file while an old mapping lives on). */
int fy_os_same_file(int fd, const char *path);

/* Removes path only if it still names the file open as fd: 0 when removed,
 * 1 when the name is gone or belongs to another file, -1 with errno set
 * when it could not be removed. */
int fy_os_unlink_if_same(int fd, const char *path);

/* Liveness locks: a live node holds an exclusive record lock on its node
 * file. These are POSIX record locks: they belong to the process, are not
 * inherited by fork() (a child of a node's process does not keep it alive)
 * and vanish when the process dies. Caveat of the kind: closing ANY
 * descriptor of the file in the owning process drops the lock, so a process
 * never opens its own node files (see the registry's own-node list).
 * fy_os_lock_try: 0 when this process now holds the lock, 1 when another
 * process holds it, < 0 on error. fy_os_lock_probe: 1 when another process
 * holds it, 0 when nobody does, < 0 on error. */
int fy_os_lock_try(int fd);
int fy_os_lock_probe(int fd);
void fy_os_unlock(int fd);

/* Calls fn for every entry of the shm directory whose name starts with
 * prefix; stops early when fn returns non-zero. */
int fy_os_list(const char *prefix, int (*fn)(const char *name, void *user), void *user);

/* Identity of the calling process. */
long fy_os_pid(void);
long fy_os_uid(void);

/* Owner uid and permission bits of a path, for error messages. 0 or -1. */
int fy_os_owner(const char *path, long *uid, unsigned *mode);

/* Cross-process futex on a 32-bit word of a shared mapping.
 * fy_os_futex_wait sleeps while *word == expected, for at most timeout_ns
 * (< 0: no limit). Returns 0 when woken or the word differs, 1 on timeout,
 * 2 when a signal interrupted the sleep. */
int fy_os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
void fy_os_futex_wake(_Atomic uint32_t *word);

/* Signal sockets: a datagram socket with a name that exists only while it is
 * open (Linux abstract namespace), so a waiter can be watched with epoll and
 * nothing is left behind when its process dies.
 * fy_os_signal_open: a non-blocking socket bound to name, or a FERRY_E* code.
 * fy_os_signal_send: sends one byte to name; never blocks, best effort.
 * fy_os_signal_drain: reads everything queued on fd. */
int fy_os_signal_open(const char *name);
void fy_os_signal_send(const char *name);
void fy_os_signal_drain(int fd);

/* Seconds since path was last modified, or -1. */
int64_t fy_os_age_s(const char *path);

void fy_os_close(int fd);

#endif
