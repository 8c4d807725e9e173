#include "payload.h"

#include <string.h>

enum { OFF_TAG = 0, OFF_SEQ = 8, OFF_SIZE = 16, OFF_SUM = 24, OFF_DATA = 32 };

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static uint64_t checksum(const unsigned char *buf, size_t size)
{
    uint64_t h = UINT64_C(14695981039346656037);
    h = fnv1a(h, buf, OFF_SUM);
    return fnv1a(h, buf + OFF_DATA, size - OFF_DATA);
}

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, sizeof v); }

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

void ft_payload_fill(void *buf, size_t size, uint64_t tag, uint64_t seq)
{
    unsigned char *p = buf;
    put64(p + OFF_TAG, tag);
    put64(p + OFF_SEQ, seq);
    put64(p + OFF_SIZE, (uint64_t)size);
    for (size_t i = OFF_DATA; i < size; i++)
        p[i] = (unsigned char)(seq * 31u + i * 7u);
    put64(p + OFF_SUM, checksum(p, size));
}

int ft_payload_check(const void *buf, size_t size, uint64_t *tag, uint64_t *seq)
{
    const unsigned char *p = buf;
    if (size < FT_PAYLOAD_MIN || get64(p + OFF_SIZE) != (uint64_t)size)
        return 0;
    if (get64(p + OFF_SUM) != checksum(p, size))
        return 0;
    uint64_t s = get64(p + OFF_SEQ);
    for (size_t i = OFF_DATA; i < size; i++)
        if (p[i] != (unsigned char)(s * 31u + i * 7u))
            return 0;
    if (tag)
        *tag = get64(p + OFF_TAG);
    if (seq)
        *seq = s;
    return 1;
}

size_t ft_payload_size(uint64_t seq, size_t min, size_t max)
{
    if (max <= min)
        return min;
    uint64_t x = seq * UINT64_C(0x9E3779B97F4A7C15);
    return min + (size_t)((x >> 17) % (uint64_t)(max - min + 1));
}
