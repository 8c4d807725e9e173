#include "st_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

size_t st_value_size(uint64_t version, size_t min, size_t max)
{
    if (min < ST_VALUE_MIN)
        min = ST_VALUE_MIN;
    if (max <= min)
        return min;
    return min + (size_t)(mix(version) % (uint64_t)(max - min + 1));
}

static uint64_t body_checksum(const unsigned char *p, size_t size, uint64_t version)
{
    uint64_t h = 0xcbf29ce484222325ull ^ mix(version) ^ (uint64_t)size;
    for (size_t i = 24; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void put64(unsigned char *p, size_t word, uint64_t v) { memcpy(p + word * 8, &v, 8); }

static uint64_t get64(const unsigned char *p, size_t word)
{
    uint64_t v;
    memcpy(&v, p + word * 8, 8);
    return v;
}

void st_value_fill(void *buf, size_t size, uint64_t version)
{
    unsigned char *p = buf;
    size_t words = size / 8;
    put64(p, 0, version);
    put64(p, 1, (uint64_t)size);
    for (size_t i = 3; i < words; i++)
        put64(p, i, version);
    for (size_t i = words * 8; i < size; i++)
        p[i] = (unsigned char)((version * 131u + i) & 0xffu);
    put64(p, 2, body_checksum(p, size, version));
}

int st_value_check(const void *buf, size_t size, uint64_t version, char *why, size_t why_size)
{
    const unsigned char *p = buf;
    if (size < ST_VALUE_MIN) {
        snprintf(why, why_size, "size %zu is below %u", size, ST_VALUE_MIN);
        return 0;
    }
    if (get64(p, 0) != version) {
        snprintf(why, why_size, "word 0 is %llu, the version is %llu", (unsigned long long)get64(p, 0),
                 (unsigned long long)version);
        return 0;
    }
    if (get64(p, 1) != (uint64_t)size) {
        snprintf(why, why_size, "word 1 says size %llu, read_begin said %zu (version %llu)",
                 (unsigned long long)get64(p, 1), size, (unsigned long long)version);
        return 0;
    }
    size_t words = size / 8;
    for (size_t i = 3; i < words; i++) {
        if (get64(p, i) != version) {
            snprintf(why, why_size, "word %zu of %zu is %llu, the version is %llu (torn)", i, words,
                     (unsigned long long)get64(p, i), (unsigned long long)version);
            return 0;
        }
    }
    for (size_t i = words * 8; i < size; i++) {
        if (p[i] != (unsigned char)((version * 131u + i) & 0xffu)) {
            snprintf(why, why_size, "tail byte %zu is wrong (version %llu, size %zu)", i,
                     (unsigned long long)version, size);
            return 0;
        }
    }
    if (get64(p, 2) != body_checksum(p, size, version)) {
        snprintf(why, why_size, "checksum mismatch (version %llu, size %zu)", (unsigned long long)version, size);
        return 0;
    }
    return 1;
}

int st_writer_open(st_writer *sw, ferry_node *node, const char *service, const ferry_state_opts *opts)
{
    memset(sw, 0, sizeof *sw);
    int rc = ferry_state_writer_open(&sw->w, node, service, opts);
    if (rc != FERRY_OK)
        return rc;
    ferry_state_reader *r = NULL;
    rc = ferry_state_reader_open(&r, node, service, opts);
    if (rc != FERRY_OK) {
        ferry_state_writer_close(sw->w);
        sw->w = NULL;
        return rc;
    }
    const void *data = NULL;
    size_t size = 0;
    uint64_t version = 0;
    rc = ferry_state_read_begin(r, &data, &size, &version);
    if (rc == FERRY_OK)
        ferry_state_read_end(r);
    ferry_state_reader_close(r);
    if (rc != FERRY_OK && rc != FERRY_EAGAIN) {
        ferry_state_writer_close(sw->w);
        sw->w = NULL;
        return rc;
    }
    sw->version = rc == FERRY_OK ? version : 0;
    return FERRY_OK;
}

int st_publish(st_writer *sw, size_t min, size_t max, uint64_t *version)
{
    uint64_t next = sw->version + 1;
    size_t size = st_value_size(next, min, max);
    void *buf = NULL;
    int rc = ferry_state_loan(sw->w, size, &buf);
    if (rc != FERRY_OK)
        return rc;
    st_value_fill(buf, size, next);
    uint64_t got = 0;
    rc = ferry_state_publish(sw->w, buf, &got);
    if (rc != FERRY_OK)
        return rc;
    sw->version = got;
    if (version)
        *version = got;
    return got == next ? FERRY_OK : ST_EVERSION;
}

int st_read(ferry_state_reader *r, size_t min, size_t max, uint64_t *version, size_t *size, char *why,
            size_t why_size)
{
    const void *data = NULL;
    size_t sz = 0;
    uint64_t v = 0;
    int rc = ferry_state_read_begin(r, &data, &sz, &v);
    if (rc != FERRY_OK)
        return rc;
    /* Twice: a writer that overwrote the buffer during the first pass leaves
     * a difference one of the passes sees. */
    int ok = st_value_check(data, sz, v, why, why_size) && st_value_check(data, sz, v, why, why_size);
    if (ok && max != 0 && sz != st_value_size(v, min, max)) {
        snprintf(why, why_size, "version %llu has size %zu; it was published with %zu", (unsigned long long)v, sz,
                 st_value_size(v, min, max));
        ok = 0;
    }
    ferry_state_read_end(r);
    if (version)
        *version = v;
    if (size)
        *size = sz;
    return ok ? FERRY_OK : ST_ECORRUPT;
}

int st_opts_parse_word(ferry_state_opts *o, const char *word)
{
    static char strings[8][512];
    static int next;
    const char *eq = strchr(word, '=');
    if (!eq)
        return -1;
    size_t klen = (size_t)(eq - word);
    const char *v = eq + 1;
#define KEY(k) (klen == strlen(k) && strncmp(word, k, klen) == 0)
    if (KEY("size")) {
        o->max_size = (size_t)strtoull(v, NULL, 0);
        return 0;
    }
    if (KEY("readers")) {
        o->max_readers = (uint32_t)strtoul(v, NULL, 0);
        return 0;
    }
    if (KEY("type") || KEY("persist")) {
        char *s = strings[next++ % 8];
        snprintf(s, sizeof strings[0], "%s", v);
        if (KEY("type"))
            o->type_name = s;
        else
            o->persist_dir = s;
        return 0;
    }
#undef KEY
    return -1;
}

ferry_state_opts st_opts(size_t max_size, uint32_t max_readers, const char *persist_dir)
{
    ferry_state_opts o;
    ferry_state_opts_init(&o);
    o.max_size = max_size;
    o.max_readers = max_readers;
    o.persist_dir = persist_dir;
    return o;
}
