/*
 * errors_test: the error API without any shared memory.
 *  - every code keeps its value (0, -1, ... -12) and ferry_strerror gives
 *    its FERRY_ERROR_MAP text (non-empty, distinct);
 *    unknown codes give "unknown error", never NULL;
 *  - ferry_last_error / ferry_last_error_message start at FERRY_OK / "",
 *    report a failure with a message, are per thread, and ferry_clear_error
 *    resets them;
 *  - ferry_version matches the FERRY_VERSION_* macros.
 */
#include "ferry_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct code {
    int value;
    int expected_value;
    const char *name;
    const char *text;
};

static const struct code codes[] = {
#define X(name, value, text) {FERRY_##name, value, #name, text},
    FERRY_ERROR_MAP(X)
#undef X
};

static void *thread_error(void *arg)
{
    (void)arg;
    /* A fresh thread starts without error, whatever the main thread did. */
    CHECK_EQ(ferry_last_error(), FERRY_OK);
    CHECK(strcmp(ferry_last_error_message(), "") == 0);
    CHECK_RC(ferry_node_open(NULL, "x", NULL), FERRY_EINVAL);
    CHECK_EQ(ferry_last_error(), FERRY_EINVAL);
    return NULL;
}

int main(void)
{
    ft_init("errors_test", 10);

    /* The values are ABI: each code keeps its number. The texts come from
     * FERRY_ERROR_MAP; each must be non-empty and distinct. */
    static const int abi[] = {FERRY_OK,        FERRY_EINVAL, FERRY_ENOMEM,        FERRY_EAGAIN, FERRY_ETIMEDOUT,
                              FERRY_EINCOMPATIBLE, FERRY_EPERM, FERRY_ECORRUPT, FERRY_ELIMIT, FERRY_ENOTFOUND,
                              FERRY_ENOSPC,    FERRY_ESYSTEM, FERRY_EDISCONNECTED};
    size_t n = sizeof codes / sizeof codes[0];
    CHECK_EQ(n, sizeof abi / sizeof abi[0]);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(abi[i], -(int)i);
        CHECK_EQ(codes[i].value, codes[i].expected_value);
        CHECK_EQ(codes[i].value, -(int)i);
        const char *s = ferry_strerror(codes[i].value);
        CHECK(s != NULL);
        CHECK_MSG(strcmp(s, codes[i].text) == 0, "ferry_strerror(FERRY_%s) = \"%s\"", codes[i].name, s);
        CHECK_MSG(strlen(s) > 0 && strcmp(s, "unknown error") != 0, "FERRY_%s has no text", codes[i].name);
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(strcmp(s, ferry_strerror(codes[j].value)) != 0, "FERRY_%s and FERRY_%s share a text",
                      codes[i].name, codes[j].name);
    }
    const int unknown[] = {1, -13, -100, 42, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = ferry_strerror(unknown[i]);
        CHECK(s != NULL);
        CHECK_MSG(strcmp(s, "unknown error") == 0, "ferry_strerror(%d) = \"%s\"", unknown[i], s);
    }

    /* Nothing failed yet. */
    CHECK_EQ(ferry_last_error(), FERRY_OK);
    CHECK(ferry_last_error_message() != NULL);
    CHECK(strcmp(ferry_last_error_message(), "") == 0);

    /* A failure leaves its code and a non-empty message; clear resets both. */
    CHECK_RC(ferry_node_open(NULL, "x", NULL), FERRY_EINVAL);
    CHECK_EQ(ferry_last_error(), FERRY_EINVAL);
    CHECK(ferry_last_error_message() != NULL);
    CHECK_MSG(strlen(ferry_last_error_message()) > 0, "a failure must leave a message");
    ferry_clear_error();
    CHECK_EQ(ferry_last_error(), FERRY_OK);
    CHECK(strcmp(ferry_last_error_message(), "") == 0);

    /* The error is per thread. */
    CHECK_RC(ferry_pub_loan(NULL, 1, NULL), FERRY_EINVAL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_error, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(ferry_last_error(), FERRY_EINVAL);
    ferry_clear_error();

    /* Version. */
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", FERRY_VERSION_MAJOR, FERRY_VERSION_MINOR, FERRY_VERSION_PATCH);
    CHECK(ferry_version() != NULL);
    CHECK_MSG(strcmp(ferry_version(), v) == 0, "ferry_version() = \"%s\", expected \"%s\"",
              ferry_version(), v);
    return ft_pass();
}
