#include "peer.h"

#include "ferry_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FERRY_TEST_PEER_PATH
#error "FERRY_TEST_PEER_PATH must name the ferry_test_peer executable"
#endif

extern char **environ;

void ft_peer_start(ft_peer *peer, const char *domain) { ft_peer_start_program(peer, FERRY_TEST_PEER_PATH, domain); }

void ft_peer_start_program(ft_peer *peer, const char *program, const char *domain)
{
    int in[2], out[2];
    CHECK(pipe2(in, O_CLOEXEC) == 0);
    CHECK(pipe2(out, O_CLOEXEC) == 0);

    posix_spawn_file_actions_t fa;
    CHECK(posix_spawn_file_actions_init(&fa) == 0);
    CHECK(posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO) == 0);
    CHECK(posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO) == 0);

    char path[4096];
    snprintf(path, sizeof path, "%s", program);
    char domain_arg[FERRY_DOMAIN_MAX + 1];
    snprintf(domain_arg, sizeof domain_arg, "%s", domain);
    char *argv[] = {path, domain_arg, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    CHECK_MSG(rc == 0, "posix_spawn(%s): %s", program, strerror(rc));

    close(in[0]);
    close(out[1]);
    memset(peer, 0, sizeof *peer);
    peer->pid = pid;
    peer->to_fd = in[1];
    peer->from_fd = out[0];
    ft_register_pid_(pid);
}

void ft_peer_send(ft_peer *peer, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    CHECK(n > 0 && (size_t)n < sizeof line - 1);
    line[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(peer->to_fd, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        CHECK_MSG(w > 0, "peer %ld: cannot send command: %s", (long)peer->pid, strerror(errno));
        off += (int)w;
    }
}

void ft_peer_reply(ft_peer *peer, char *line, size_t size, unsigned timeout_ms)
{
    uint64_t deadline = ft_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        char *nl = memchr(peer->buf, '\n', peer->len);
        if (nl) {
            size_t n = (size_t)(nl - peer->buf);
            CHECK(n < size);
            memcpy(line, peer->buf, n);
            line[n] = '\0';
            peer->len -= n + 1;
            memmove(peer->buf, nl + 1, peer->len);
            return;
        }
        uint64_t now = ft_now_ns();
        CHECK_MSG(now < deadline, "peer %ld sent no reply within %u ms", (long)peer->pid, timeout_ms);
        struct pollfd pfd = {peer->from_fd, POLLIN, 0};
        int prc = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
        if (prc < 0 && errno == EINTR)
            continue;
        if (prc <= 0)
            continue;
        CHECK(peer->len < sizeof peer->buf);
        ssize_t r = read(peer->from_fd, peer->buf + peer->len, sizeof peer->buf - peer->len);
        if (r < 0 && errno == EINTR)
            continue;
        CHECK_MSG(r > 0, "peer %ld exited without a reply", (long)peer->pid);
        peer->len += (size_t)r;
    }
}

static void vsend(ft_peer *peer, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vsend(ft_peer *peer, const char *fmt, va_list ap)
{
    char cmd[2048];
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    ft_peer_send(peer, "%s", cmd);
}

const char *ft_peer_ok(ft_peer *peer, char *line, size_t size, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ft_peer_send(peer, "%s", cmd);
    ft_peer_reply(peer, line, size, 3 * FT_WAIT_MS);
    CHECK_MSG(strncmp(line, "ok", 2) == 0, "peer command '%s' replied '%s'", cmd, line);
    return line + 2;
}

int ft_peer_err(ft_peer *peer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsend(peer, fmt, ap);
    va_end(ap);
    char line[1024];
    ft_peer_reply(peer, line, sizeof line, 3 * FT_WAIT_MS);
    int code = 0;
    CHECK_MSG(sscanf(line, "err %d", &code) == 1, "peer command should have failed; it replied '%s'",
              line);
    return code;
}

static int wait_bounded(pid_t pid, int *status, unsigned timeout_ms)
{
    uint64_t deadline = ft_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (ft_now_ns() > deadline)
            return -1;
        ft_sleep_ms(2);
    }
}

static void close_pipes(ft_peer *peer)
{
    close(peer->to_fd);
    close(peer->from_fd);
    peer->to_fd = peer->from_fd = -1;
}

void ft_peer_kill(ft_peer *peer)
{
    CHECK(kill(peer->pid, SIGKILL) == 0);
    int status = 0;
    CHECK(wait_bounded(peer->pid, &status, FT_WAIT_MS) == 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ft_unregister_pid_(peer->pid);
    close_pipes(peer);
}

void ft_peer_wait_killed(ft_peer *peer, unsigned timeout_ms)
{
    int status = 0;
    CHECK_MSG(wait_bounded(peer->pid, &status, timeout_ms) == 0, "peer %ld did not die",
              (long)peer->pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "peer status 0x%x", status);
    ft_unregister_pid_(peer->pid);
    close_pipes(peer);
}

int ft_peer_wait_exit(ft_peer *peer, unsigned timeout_ms)
{
    int status = 0;
    CHECK_MSG(wait_bounded(peer->pid, &status, timeout_ms) == 0, "peer %ld did not end", (long)peer->pid);
    ft_unregister_pid_(peer->pid);
    close_pipes(peer);
    return status;
}

void ft_peer_finish(ft_peer *peer)
{
    ft_peer_send(peer, "exit");
    int status = 0;
    CHECK_MSG(wait_bounded(peer->pid, &status, 2 * FT_WAIT_MS) == 0, "peer %ld did not exit",
              (long)peer->pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peer %ld ended with status 0x%x",
              (long)peer->pid, status);
    ft_unregister_pid_(peer->pid);
    close_pipes(peer);
}

const char *ft_peer_later_ok(ft_peer *peer, char *line, size_t size, unsigned timeout_ms)
{
    ft_peer_reply(peer, line, size, timeout_ms);
    CHECK_MSG(strncmp(line, "ok", 2) == 0, "peer %ld replied '%s'", (long)peer->pid, line);
    return line + 2;
}
