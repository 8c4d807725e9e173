#include "peer_side.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <ferry/ferry.h>

void ft_reply_ok(const char *fmt, ...)
{
    fputs("ok", stdout);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputc(' ', stdout);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stdout);
    fflush(stdout);
}

void ft_reply_err(int code, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    printf("err %d %s: %s\n", code, what, code > -100 ? ferry_last_error_message() : "");
    fflush(stdout);
}

int ft_next_word(char **cursor, char **word)
{
    char *s = *cursor;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return 0;
    *word = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    *cursor = s;
    return 1;
}

long long ft_word_ll(char **cursor, long long dflt)
{
    char *w;
    return ft_next_word(cursor, &w) ? strtoll(w, NULL, 0) : dflt;
}

const char *ft_side_init(int argc, char **argv, unsigned alarm_s)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <domain>  (commands on stdin)\n", argv[0]);
        exit(2);
    }
    /* Never outlive the test, even one that was killed. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        exit(3);
    alarm(alarm_s);
    signal(SIGPIPE, SIG_IGN);
    return argv[1];
}

void ft_side_serve(void (*run)(char *line))
{
    char line[2048];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        run(line);
    }
}
