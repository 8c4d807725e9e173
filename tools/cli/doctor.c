/* ferry doctor: checks the system and a domain, and says how to fix what is wrong. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cli.h"
#include "os/os.h"

static const char usage[] =
    "usage: ferry doctor [--all-domains] [--domain D] [--json]\n"
    "\n"
    "Checks what ferry needs and prints each finding with how to fix it:\n"
    "  - the shm directory (/dev/shm): present, a tmpfs, its size and free space,\n"
    "    its permissions (writable by you, sticky bit)\n"
    "  - limits: open files (RLIMIT_NOFILE) and locked memory (RLIMIT_MEMLOCK)\n"
    "  - the domain: objects left by dead nodes (counted, not removed: 'ferry clean'\n"
    "    removes them), objects you cannot open, objects ferry does not know\n"
    "\n"
    "options:\n"
    "  -a, --all-domains  check every domain found in the shm directory\n"
    "  -d, --domain D     domain (default: $FERRY_DOMAIN, else \"default\")\n"
    "      --json         {\"healthy\": ..., \"findings\": [{check, status, message, fix}]}\n"
    "  -h, --help         this help\n"
    "\n"
    "exit codes: 0 healthy (every finding ok), 1 a finding is warn or fail,\n"
    "            2 usage error\n";

#define TMPFS_MAGIC_NUMBER 0x01021994L
#define MIB (1024ull * 1024ull)

enum level { OK = 0, WARN = 1, FAIL = 2 };

struct finding {
    const char *check;
    enum level level;
    char message[512];
    char fix[512];
};

struct report {
    struct finding v[64];
    size_t n;
};

static struct finding *add(struct report *r, const char *check, enum level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct finding *add(struct report *r, const char *check, enum level level, const char *fmt, ...)
{
    static struct finding overflow;
    struct finding *f = r->n < sizeof r->v / sizeof r->v[0] ? &r->v[r->n++] : &overflow;
    memset(f, 0, sizeof *f);
    f->check = check;
    f->level = level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return f;
}

static void fix(struct finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fix(struct finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->fix, sizeof f->fix, fmt, ap);
    va_end(ap);
}

/* Returns 1 when the directory is usable enough to look at domains. */
static int check_shm_dir(struct report *r)
{
    const char *dir = fy_os_shm_dir();
    struct stat st;
    struct finding *f;
    int exists = stat(dir, &st) == 0;
    if (!exists || !S_ISDIR(st.st_mode)) {
        f = add(r, "shm-directory", FAIL, "%s %s", dir,
                !exists ? (errno == ENOENT ? "does not exist" : "cannot be examined") : "is not a directory");
        fix(f, "mount a tmpfs there: mount -t tmpfs -o size=512m,mode=1777 tmpfs %s (in a container: docker run "
               "--shm-size=512m ...)",
            dir);
        return 0;
    }
    struct statfs sfs;
    int is_tmpfs = statfs(dir, &sfs) == 0 && (long)sfs.f_type == TMPFS_MAGIC_NUMBER;
    if (is_tmpfs) {
        add(r, "shm-directory", OK, "%s is a tmpfs (memory-backed)", dir);
    } else {
        f = add(r, "shm-directory", WARN, "%s is not a tmpfs: shared memory may be backed by a disk", dir);
        fix(f, "mount a tmpfs there: mount -t tmpfs -o size=512m,mode=1777 tmpfs %s", dir);
    }

    unsigned mode = (unsigned)st.st_mode & 07777;
    int writable = access(dir, W_OK | X_OK) == 0;
    if (!writable) {
        f = add(r, "shm-permissions", FAIL, "%s (mode %04o) is not writable by uid %ld: no node can be opened", dir,
                mode, (long)getuid());
        fix(f, "chmod 1777 %s (as root)", dir);
    } else if ((mode & 0002) && !(mode & S_ISVTX)) {
        f = add(r, "shm-permissions", WARN,
                "%s (mode %04o) is writable by everyone without the sticky bit: any user can remove your objects",
                dir, mode);
        fix(f, "chmod 1777 %s (as root)", dir);
    } else {
        add(r, "shm-permissions", OK, "%s has mode %04o%s and is writable by uid %ld", dir, mode,
            (mode & S_ISVTX) ? " (sticky)" : "", (long)getuid());
    }

    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0) {
        f = add(r, "shm-space", WARN, "cannot read the size of %s: %s", dir, strerror(errno));
        fix(f, "check the mount with: df -h %s", dir);
        return 1;
    }
    unsigned long long total = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
    unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    char t[32], a[32];
    cli_fmt_bytes(t, sizeof t, total);
    cli_fmt_bytes(a, sizeof a, avail);
    if (avail < 1 * MIB) {
        f = add(r, "shm-space", FAIL, "%s has %s free of %s: opening services will fail (FERRY_ENOSPC)", dir, a, t);
        fix(f, "remove what is left there (ferry clean --all-domains), or enlarge it: mount -o remount,size=1g %s",
            dir);
    } else if (avail < 32 * MIB) {
        f = add(r, "shm-space", WARN, "%s has only %s free of %s: services with large payloads will not fit", dir,
                a, t);
        fix(f, "enlarge it: mount -o remount,size=1g %s (in a container: --shm-size=1g)", dir);
    } else {
        add(r, "shm-space", OK, "%s has %s free of %s", dir, a, t);
    }
    return 1;
}

static void check_limits(struct report *r)
{
    struct rlimit rl;
    struct finding *f;
    char cur[32], max[32];
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        snprintf(cur, sizeof cur, rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "%llu",
                 (unsigned long long)rl.rlim_cur);
        snprintf(max, sizeof max, rl.rlim_max == RLIM_INFINITY ? "unlimited" : "%llu",
                 (unsigned long long)rl.rlim_max);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 256) {
            f = add(r, "open-files", WARN,
                    "RLIMIT_NOFILE is %s (hard %s): every node and port holds a file descriptor", cur, max);
            fix(f, "raise it: ulimit -n 4096 (or LimitNOFILE= in a systemd unit, nofile in limits.conf)");
        } else {
            add(r, "open-files", OK, "RLIMIT_NOFILE is %s (hard %s)", cur, max);
        }
    }
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
        if (rl.rlim_cur == RLIM_INFINITY)
            snprintf(cur, sizeof cur, "unlimited");
        else
            cli_fmt_bytes(cur, sizeof cur, (uint64_t)rl.rlim_cur);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 64 * 1024) {
            f = add(r, "locked-memory", WARN,
                    "RLIMIT_MEMLOCK is %s: an application that locks its memory (mlockall) against page faults "
                    "cannot lock its shared-memory samples",
                    cur);
            fix(f, "raise it: ulimit -l unlimited (or LimitMEMLOCK= in a systemd unit, memlock in limits.conf)");
        } else {
            add(r, "locked-memory", OK,
                "RLIMIT_MEMLOCK is %s (ferry locks no memory itself; this matters to applications that mlockall)",
                cur);
        }
    }
}

static void check_domain(struct report *r, const char *domain)
{
    struct cli_objs objs;
    struct finding *f;
    if (cli_objs_scan(domain, &objs) != CLI_OK) {
        f = add(r, "domain", FAIL, "cannot read the objects of domain \"%s\"", domain);
        fix(f, "check that %s is readable", fy_os_shm_dir());
        return;
    }
    size_t stale = 0, denied = 0, unknown = 0, nodes_dead = 0, services = 0, nodes = 0;
    uint64_t bytes = 0, stale_bytes = 0;
    for (size_t i = 0; i < objs.n; i++) {
        const struct cli_obj *o = &objs.v[i];
        bytes += o->bytes;
        if (o->stale) {
            stale++;
            stale_bytes += o->bytes;
        }
        denied += o->no_access;
        unknown += o->kind == CLI_OBJ_OTHER;
        services += o->kind == CLI_OBJ_SERVICE;
        nodes += o->kind == CLI_OBJ_NODE;
        nodes_dead += o->kind == CLI_OBJ_NODE && o->stale;
    }
    char b[32], sb[32];
    add(r, "domain", OK, "domain \"%s\": %zu object%s (%s): %zu node%s, %zu service%s", domain, objs.n,
        objs.n == 1 ? "" : "s", cli_fmt_bytes(b, sizeof b, bytes), nodes, nodes == 1 ? "" : "s", services,
        services == 1 ? "" : "s");
    if (stale) {
        f = add(r, "stale", WARN,
                "domain \"%s\": %zu object%s (%s) left by dead processes, %zu of them dead node%s (not removed)",
                domain, stale, stale == 1 ? "" : "s", cli_fmt_bytes(sb, sizeof sb, stale_bytes), nodes_dead,
                nodes_dead == 1 ? "" : "s");
        fix(f, "ferry clean --domain %s (ferry clean --dry-run --domain %s lists them)", domain, domain);
    } else {
        add(r, "stale", OK, "domain \"%s\": nothing left by dead processes", domain);
    }
    if (denied) {
        f = add(r, "access", WARN, "domain \"%s\": %zu object%s cannot be opened by uid %ld (another user's, mode "
                                   "0600?): ferry list and ferry clean do not see into them",
                domain, denied, denied == 1 ? "" : "s", (long)getuid());
        fix(f, "run as their owner, or have the owner open its nodes with mode 0660 and a group you are in");
    }
    if (unknown) {
        f = add(r, "unknown", WARN, "domain \"%s\": %zu object%s named like ferry's but not ferry's", domain, unknown,
                unknown == 1 ? "" : "s");
        fix(f, "look at %s/ferry.%s.* and remove what is not yours to keep", fy_os_shm_dir(), domain);
    }
    cli_objs_free(&objs);
}

static const char *level_name(enum level l) { return l == OK ? "ok" : l == WARN ? "warn" : "fail"; }

int cmd_doctor(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS, {"all-domains", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    struct cli_common co = {0};
    int all = 0, c, ex;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "a", longopts, NULL)) != -1) {
        if (cli_common_opt(&co, c, argv, usage, &ex)) {
            if (ex >= 0)
                return ex;
            continue;
        }
        if (c == 'a')
            all = 1;
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s' (doctor takes no arguments)", argv[optind]);
    if (all && co.domain_arg)
        return cli_usage_error("--all-domains and --domain exclude each other");
    if ((ex = cli_common_finish(&co)) != CLI_OK)
        return ex;

    static struct report r;
    memset(&r, 0, sizeof r);
    int dir_ok = check_shm_dir(&r);
    check_limits(&r);
    if (dir_ok && !all) {
        check_domain(&r, co.domain);
    } else if (dir_ok) {
        char **domains = NULL;
        size_t n = 0;
        if (cli_domains_scan(&domains, &n) == CLI_OK) {
            if (n == 0)
                add(&r, "domain", OK, "no ferry objects in %s", fy_os_shm_dir());
            for (size_t i = 0; i < n && r.n < sizeof r.v / sizeof r.v[0] - 4; i++)
                check_domain(&r, domains[i]);
            cli_domains_free(domains, n);
        }
    }

    int healthy = 1;
    for (size_t i = 0; i < r.n; i++)
        healthy &= r.v[i].level == OK;
    if (co.json) {
        printf("{\"healthy\": %s, \"domain\": ", healthy ? "true" : "false");
        if (all)
            printf("null");
        else
            cli_json_str(stdout, co.domain);
        printf(", \"findings\": [");
        for (size_t i = 0; i < r.n; i++) {
            printf("%s\n  {\"check\": \"%s\", \"status\": \"%s\", \"message\": ", i ? "," : "", r.v[i].check,
                   level_name(r.v[i].level));
            cli_json_str(stdout, r.v[i].message);
            printf(", \"fix\": ");
            if (r.v[i].fix[0])
                cli_json_str(stdout, r.v[i].fix);
            else
                printf("null");
            printf("}");
        }
        printf("\n]}\n");
    } else {
        for (size_t i = 0; i < r.n; i++) {
            printf("%-4s  %s\n", level_name(r.v[i].level), r.v[i].message);
            if (r.v[i].fix[0])
                printf("      fix: %s\n", r.v[i].fix);
        }
        printf("%s\n", healthy ? "healthy" : "problems found (see the fixes above)");
    }
    return healthy ? CLI_OK : CLI_ERROR;
}
