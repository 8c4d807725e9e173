#include "peer_side.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
