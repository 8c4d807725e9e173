/*
 * A program outside the ferry tree that uses an installed ferry: it must find
 * the header and the library, agree on the version, and move one sample.
 * The domain comes from FERRY_DOMAIN (tools/install-smoke.sh sets a fresh one).
 */
#include <ferry/ferry.h>

#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

int main(void)
{
    const char *want = STR(FERRY_VERSION_MAJOR) "." STR(FERRY_VERSION_MINOR) "." STR(FERRY_VERSION_PATCH);
    if (strcmp(ferry_version(), want) != 0) {
        fprintf(stderr, "consumer: header says %s, library says %s\n", want, ferry_version());
        return 1;
    }

    ferry_node *node = NULL;
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;
    if (ferry_node_open(&node, "install-smoke", NULL) != FERRY_OK ||
        ferry_pub_open(&pub, node, "smoke/ping", NULL) != FERRY_OK ||
        ferry_sub_open(&sub, node, "smoke/ping", NULL) != FERRY_OK) {
        fprintf(stderr, "consumer: %s\n", ferry_last_error_message());
        ferry_node_close(node);
        return 1;
    }

    int ok = 0;
    void *buf = NULL;
    if (ferry_pub_loan(pub, 5, &buf) == FERRY_OK) {
        memcpy(buf, "ping", 5);
        if (ferry_pub_send(pub, buf) == FERRY_OK) {
            const void *msg = NULL;
            size_t size = 0;
            if (ferry_sub_take(sub, &msg, &size) == FERRY_OK) {
                ok = size == 5 && memcmp(msg, "ping", 5) == 0;
                ferry_sub_release(sub, msg);
            }
        }
    }
    if (!ok)
        fprintf(stderr, "consumer: sample did not arrive: %s\n", ferry_last_error_message());
    else
        printf("consumer: ferry %s in domain %s: ok\n", ferry_version(), ferry_node_domain(node));
    ferry_node_close(node);
    return ok ? 0 : 1;
}
