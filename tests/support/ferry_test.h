/*
 * Small test support library for the ferry test suite.
 *
 * Assertions print file:line, the failed expression, the ferry error code and
 * ferry_last_error_message(), clean up what the test registered (peer
 * processes, its domains in /dev/shm) and exit with status 1. A skipped test
 * prints its reason and exits with FT_SKIP (77).
 */
#ifndef FERRY_TEST_H
#define FERRY_TEST_H

#include <ferry/ferry.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FT_SKIP 77

/* Bounded waits: how long a test waits for something that should happen. */
#define FT_WAIT_MS 5000u

/* ---- assertions ----------------------------------------------------------- */

void ft_fail_(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
void ft_fail_rc_(const char *file, int line, const char *expr, int got, int expected)
    __attribute__((noreturn));
void ft_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* CHECK(cond): cond must hold. */
#define CHECK(cond)                                                  \
    do {                                                             \
        if (!(cond))                                                 \
            ft_fail_(__FILE__, __LINE__, #cond, NULL);               \
    } while (0)

/* CHECK_MSG(cond, fmt, ...): with a printf-style explanation. */
#define CHECK_MSG(cond, ...)                                         \
    do {                                                             \
        if (!(cond))                                                 \
            ft_fail_(__FILE__, __LINE__, #cond, __VA_ARGS__);        \
    } while (0)

/* CHECK_RC(call, code): call must return exactly code. */
#define CHECK_RC(call, code)                                         \
    do {                                                             \
        int ft_got_ = (call);                                        \
        int ft_exp_ = (code);                                        \
        if (ft_got_ != ft_exp_)                                      \
            ft_fail_rc_(__FILE__, __LINE__, #call, ft_got_, ft_exp_); \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, FERRY_OK)

/* CHECK_EQ(a, b) for integers of any width (compared as unsigned long long). */
#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        unsigned long long ft_a_ = (unsigned long long)(a);                             \
        unsigned long long ft_b_ = (unsigned long long)(b);                             \
        if (ft_a_ != ft_b_)                                                             \
            ft_fail_(__FILE__, __LINE__, #a " == " #b, "%llu != %llu", ft_a_, ft_b_); \
    } while (0)

/* CHECK_LAST_ERROR(code): ferry_last_error() must be code (for void calls). */
#define CHECK_LAST_ERROR(code)                                                  \
    do {                                                                        \
        int ft_le_ = ferry_last_error();                                        \
        if (ft_le_ != (code))                                                   \
            ft_fail_rc_(__FILE__, __LINE__, "ferry_last_error()", ft_le_, (code)); \
    } while (0)

/* ---- test life cycle ------------------------------------------------------- */

/* Starts a test: names it in messages, arms a watchdog of timeout_s seconds
 * (the test fails instead of hanging), ignores SIGPIPE, sets umask 022. */
void ft_init(const char *test_name, unsigned timeout_s);

/* Writes "t<tag>_<pid>" into out (FERRY_DOMAIN_MAX + 1 bytes) and registers it:
 * a failing test removes what is left of it in /dev/shm. */
const char *ft_domain(char *out, const char *tag);

/* A node opened in domain (fails the test when that fails). */
ferry_node *ft_node_open(const char *domain, const char *name);

/* Final check of every test: no /dev/shm/ferry.<domain>.* is left. */
void ft_check_no_shm(const char *domain);

/* Prints "PASS <test>" and returns 0 for main. */
int ft_pass(void);

/* ---- /dev/shm ---------------------------------------------------------------- */

#define FT_SHM_MAX 128
#define FT_SHM_NAME 256

/* Names (without "/dev/shm/") of the objects of domain; returns how many
 * (at most max are written; names may be NULL to only count). */
int ft_shm_list(const char *domain, char (*names)[FT_SHM_NAME], int max);
int ft_shm_count(const char *domain);

/* ---- time ------------------------------------------------------------------------ */

uint64_t ft_now_ns(void);
void ft_sleep_ms(unsigned ms);

/* ---- subscribers ---------------------------------------------------------------- */

/* ferry_sub_take, retried while it returns FERRY_EAGAIN, for at most
 * timeout_ms. Returns the last result (FERRY_EAGAIN when time ran out). */
int ft_take_wait(ferry_sub *sub, const void **payload, size_t *size, unsigned timeout_ms);

/* Takes, checks the info of and releases one sample whose payload was written by
 * ft_payload_fill; returns its sequence. Fails the test on a timeout. */
uint64_t ft_recv_checked(ferry_sub *sub, unsigned timeout_ms);

/* ---- options --------------------------------------------------------------------- */

/* Parses "key=value" words (type, payload, align, hist, q, pubs, subs, loans,
 * borrowed, overflow=drop|block) into opts (which the caller initialised).
 * Returns 0, or -1 naming the bad word in err. */
int ft_opts_parse_word(ferry_pubsub_opts *opts, const char *word, char *err, size_t err_size);

/* Formats opts as such words (what the peer understands). */
void ft_opts_format(const ferry_pubsub_opts *opts, char *out, size_t size);

/* ---- internal: what a failing test cleans up ------------------------------------ */

void ft_register_pid_(pid_t pid);
void ft_unregister_pid_(pid_t pid);

#endif
