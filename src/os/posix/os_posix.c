/* POSIX and Linux implementation of the platform contract (src/os/os.h). */
#include "os/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "core/error.h"

uint64_t fy_os_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fy_os_coarse_now_ns(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#else
    return fy_os_now_ns();
#endif
}

uint64_t fy_os_random64(void)
{
    uint64_t v = 0;
    while (v == 0) {
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
            /* getrandom cannot fail for 8 bytes once the pool is ready; mix
             * clock and pid as a last resort rather than give up. */
            v = fy_os_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&v;
        }
    }
    return v;
}

void fy_os_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

void fy_os_yield(void) { sched_yield(); }

const char *fy_os_shm_dir(void) { return "/dev/shm"; }

static int errno_to_ferry(int e, const char *what, const char *path)
{
    switch (e) {
    case ENOENT:
        return fy_fail(FERRY_ENOTFOUND, "%s: %s does not exist", what, path);
    case EACCES:
    case EPERM: {
        long uid = -1;
        unsigned mode = 0;
        fy_os_owner(path, &uid, &mode);
        return fy_fail(FERRY_EPERM,
                       "%s: no permission for %s (owner uid %ld, mode %04o; this process is uid %ld): "
                       "run as that user, or have its creator open the node with mode 0660 and a group "
                       "this process belongs to",
                       what, path, uid, mode, fy_os_uid());
    }
    case ENOSPC:
        return fy_fail(FERRY_ENOSPC, "%s: no space left in %s for %s: free some or enlarge it", what,
                       fy_os_shm_dir(), path);
    case EMFILE:
    case ENFILE:
        return fy_fail(FERRY_ELIMIT, "%s: too many open files: raise the limit (ulimit -n)", what);
    case ENOMEM:
        return fy_fail(FERRY_ENOMEM, "%s: out of memory", what);
    default:
        return fy_fail(FERRY_ESYSTEM, "%s: %s: %s", what, path, strerror(e));
    }
}

int fy_os_create(const char *path, unsigned mode, long group)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno_to_ferry(errno, "create", path);
    /* fchmod: the umask must not narrow what the user asked for. */
    if (fchmod(fd, (mode_t)mode) != 0 || (group >= 0 && fchown(fd, (uid_t)-1, (gid_t)group) != 0)) {
        int e = errno;
        close(fd);
        unlink(path);
        if (e == EPERM)
            return fy_fail(FERRY_EPERM, "create %s: cannot give it group %ld: join that group first", path,
                           group);
        return errno_to_ferry(e, "create", path);
    }
    return fd;
}

int fy_os_open(const char *path, int writable)
{
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno_to_ferry(errno, "open", path);
    return fd;
}

int fy_os_reserve(int fd, uint64_t size, const char *what)
{
    if (ftruncate(fd, (off_t)size) != 0)
        return errno_to_ferry(errno, "resize", what);
    int e = posix_fallocate(fd, 0, (off_t)size);
    if (e == ENOSPC)
        return fy_fail(FERRY_ENOSPC,
                       "%s needs %llu bytes of shared memory but %s is full: free space there, enlarge it "
                       "(mount -o remount,size=...), or lower max_payload / queue sizes",
                       what, (unsigned long long)size, fy_os_shm_dir());
    if (e != 0 && e != EOPNOTSUPP && e != EINVAL)
        return errno_to_ferry(e, "reserve", what);
    return FERRY_OK;
}

int fy_os_publish(const char *tmp, const char *final)
{
    if (link(tmp, final) == 0) {
        unlink(tmp);
        return FERRY_OK;
    }
    if (errno == EEXIST)
        return 1;
    return errno_to_ferry(errno, "publish", final);
}

void *fy_os_map(int fd, size_t size, int writable)
{
    void *p = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

void fy_os_unmap(void *addr, size_t size)
{
    if (addr)
        munmap(addr, size);
}

int64_t fy_os_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    return (int64_t)st.st_size;
}

int fy_os_unlink(const char *path) { return unlink(path); }

int fy_os_same_file(int fd, const char *path)
{
    struct stat a, b;
    if (fstat(fd, &a) != 0 || stat(path, &b) != 0)
        return 0;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int fy_os_unlink_if_same(int fd, const char *path)
{
    /* A name freed between the check and the unlink would have to be taken
     * by a new file within those few instructions, under the service lock
     * of the old one: creators do not hold that lock, so the window is
     * not closed, only made microseconds wide. */
    if (!fy_os_same_file(fd, path))
        return 1;
    return unlink(path) == 0 ? 0 : (errno == ENOENT ? 1 : -1);
}

static void whole_file(struct flock *fl, short type)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = 0;
    fl->l_len = 0; /* to the end, however the file grows */
}

int fy_os_lock_try(int fd)
{
    struct flock fl;
    whole_file(&fl, F_WRLCK);
    if (fcntl(fd, F_SETLK, &fl) == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES)
        return 1;
    return -1;
}

int fy_os_lock_probe(int fd)
{
    struct flock fl;
    whole_file(&fl, F_WRLCK);
    if (fcntl(fd, F_GETLK, &fl) != 0)
        return -1;
    return fl.l_type != F_UNLCK;
}

void fy_os_unlock(int fd)
{
    struct flock fl;
    whole_file(&fl, F_UNLCK);
    fcntl(fd, F_SETLK, &fl);
}

int fy_os_list(const char *prefix, int (*fn)(const char *name, void *user), void *user)
{
    DIR *d = opendir(fy_os_shm_dir());
    if (!d)
        return errno_to_ferry(errno, "list", fy_os_shm_dir());
    size_t plen = strlen(prefix);
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, plen) != 0)
            continue;
        if ((rc = fn(de->d_name, user)) != 0)
            break;
    }
    closedir(d);
    return rc < 0 ? rc : FERRY_OK;
}

long fy_os_pid(void) { return (long)getpid(); }
long fy_os_uid(void) { return (long)geteuid(); }

int fy_os_owner(const char *path, long *uid, unsigned *mode)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *uid = (long)st.st_uid;
    *mode = (unsigned)(st.st_mode & 07777);
    return 0;
}

int fy_os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
    long rc = syscall(SYS_futex, (uint32_t *)(uintptr_t)word, FUTEX_WAIT, expected, tp, NULL, 0);
    if (rc == 0 || errno == EAGAIN)
        return 0;
    if (errno == ETIMEDOUT)
        return 1;
    return 2; /* EINTR */
}

void fy_os_futex_wake(_Atomic uint32_t *word) { syscall(SYS_futex, (uint32_t *)(uintptr_t)word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0); }

static socklen_t abstract_addr(struct sockaddr_un *sa, const char *name)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n > sizeof sa->sun_path - 2)
        n = sizeof sa->sun_path - 2;
    memcpy(sa->sun_path + 1, name, n); /* sun_path[0] == 0: abstract */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int fy_os_signal_open(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno_to_ferry(errno, "socket", name);
    struct sockaddr_un sa;
    socklen_t len = abstract_addr(&sa, name);
    if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
        int e = errno;
        close(fd);
        return errno_to_ferry(e, "bind signal socket", name);
    }
    return fd;
}

static _Atomic int sender_fd = -1;

void fy_os_signal_send(const char *name)
{
    int fd = atomic_load_explicit(&sender_fd, memory_order_acquire);
    if (fd < 0) {
        int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (nfd < 0)
            return;
        int expected = -1;
        if (atomic_compare_exchange_strong(&sender_fd, &expected, nfd))
            fd = nfd;
        else {
            close(nfd);
            fd = expected;
        }
    }
    struct sockaddr_un sa;
    socklen_t len = abstract_addr(&sa, name);
    char byte = 1;
    /* A full queue (EAGAIN) means the waiter is already signalled; a missing
     * name (ECONNREFUSED) means it is gone. Both are fine to ignore. */
    (void)sendto(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
}

void fy_os_signal_drain(int fd)
{
    char buf[64];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
}

int64_t fy_os_age_s(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (int64_t)(time(NULL) - st.st_mtime);
}

void fy_os_close(int fd)
{
    if (fd >= 0)
        close(fd);
}
