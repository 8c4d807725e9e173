/*
 * Self-checking state values and small helpers shared by the state tests
 * (tests/state/) and their helper process, ferry_state_peer.
 *
 * A value of version v and size s (ST_VALUE_MIN <= s):
 *   word 0        v
 *   word 1        s
 *   word 2        checksum (FNV-1a 64, seeded with v and s) of bytes 24..s-1
 *   words 3..     v, every complete 64-bit word
 *   tail bytes    (v * 131 + offset) & 0xff, for the s % 8 last bytes
 * and s itself is st_value_size(v, min, max), so a reader can tell the size
 * the writer published from the version alone. A torn value (parts of two
 * versions), a stale buffer under a newer version number, or a wrong size
 * all fail st_value_check.
 */
#ifndef FERRY_ST_VALUE_H
#define FERRY_ST_VALUE_H

#include <ferry/ferry.h>

#include <stddef.h>
#include <stdint.h>

#define ST_VALUE_MIN 32u

/* Error codes of the helpers (below -100: not ferry codes). */
#define ST_EUSAGE (-101)   /* bad peer command */
#define ST_ECORRUPT (-102) /* a value failed its self-check */
#define ST_EVERSION (-103) /* ferry_state_publish returned an unexpected version */
#define ST_ECHANGED (-104) /* a held value changed under its guard */

/* The size published with version (deterministic, in [min, max]). */
size_t st_value_size(uint64_t version, size_t min, size_t max);

/* Writes the value of version into buf (size >= ST_VALUE_MIN). */
void st_value_fill(void *buf, size_t size, uint64_t version);

/* 1 when buf holds an intact value of exactly this version and size; 0
 * otherwise, with the first problem described in why. */
int st_value_check(const void *buf, size_t size, uint64_t version, char *why, size_t why_size);

/* A writer that knows the version it will publish next. */
typedef struct st_writer {
    ferry_state_writer *w;
    uint64_t version; /* last published (or found at open) */
} st_writer;

/* Opens the writer; the current version is learnt through a short-lived
 * reader of the same node (0 when nothing was published). Returns the ferry
 * code of the first call that failed. */
int st_writer_open(st_writer *sw, ferry_node *node, const char *service, const ferry_state_opts *opts);

/* Loans, fills and publishes the next version, of size
 * st_value_size(next, min, max). Returns the ferry code, or ST_EVERSION
 * when the library numbered it differently from version + 1. */
int st_publish(st_writer *sw, size_t min, size_t max, uint64_t *version);

/* One complete read: read_begin, self-check (size derived from the version
 * with min and max; max 0: any size), read_end. Returns the read_begin code,
 * or ST_ECORRUPT (why says what was wrong). */
int st_read(ferry_state_reader *r, size_t min, size_t max, uint64_t *version, size_t *size, char *why,
            size_t why_size);

/* Parses size=, readers=, type=, persist= into opts (initialised by the
 * caller); strings are copied into a small static ring. 0, or -1. */
int st_opts_parse_word(ferry_state_opts *opts, const char *word);

/* State options in one call (persist_dir may be NULL). */
ferry_state_opts st_opts(size_t max_size, uint32_t max_readers, const char *persist_dir);

#endif
