/*
 * The peer side of the test peers' line protocol (commands on stdin, one
 * "ok ..." or "err CODE what: message" line back per command), shared by
 * tests/peer and the peers of tests/events, tests/state and tests/reqres.
 */
#ifndef FERRY_TEST_PEER_SIDE_H
#define FERRY_TEST_PEER_SIDE_H

/* "ok" plus the formatted text (if any), flushed. */
void ft_reply_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "err CODE what: <ferry_last_error_message()>" (the message only for ferry
 * codes, i.e. code > -100), flushed. */
void ft_reply_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Splits the next space- or tab-separated word off *cursor (in place). */
int ft_next_word(char **cursor, char **word);
/* The next word as a number (strtoll base 0), or dflt when there is none. */
long long ft_word_ll(char **cursor, long long dflt);

/* The start of a peer's main: argv[1] is the domain (returned). Ties the
 * peer's life to the test's (killed with its parent, and by alarm_s seconds
 * at the latest) and ignores SIGPIPE. Exits 2 on bad usage, 3 when the
 * parent is gone already. */
const char *ft_side_init(int argc, char **argv, unsigned alarm_s);
/* Hands every line of stdin, without its line end, to run, until EOF. */
void ft_side_serve(void (*run)(char *line));

#endif
