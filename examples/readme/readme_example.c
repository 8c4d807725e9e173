#include <ferry/ferry.h>
#include <stdio.h>

int main(void)
{
    ferry_node *node = NULL;
    ferry_pub *pub = NULL;
    ferry_sub *sub = NULL;

    /* One node per process; the domain is $FERRY_DOMAIN, else "default". */
    if (ferry_node_open(&node, "readme", NULL) != FERRY_OK ||
        ferry_pub_open(&pub, node, "demo/greeting", NULL) != FERRY_OK ||
        ferry_sub_open(&sub, node, "demo/greeting", NULL) != FERRY_OK) {
        fprintf(stderr, "ferry: %s\n", ferry_last_error_message());
        ferry_node_close(node);
        return 1;
    }

    /* Publish: loan a buffer in shared memory, write into it, send it. */
    void *buf = NULL;
    if (ferry_pub_loan(pub, 32, &buf) == FERRY_OK) {
        snprintf(buf, 32, "hello, ferry");
        ferry_pub_send(pub, buf); /* buf belongs to ferry again */
    }

    /* Subscribe: take the sample, read it in place, release it. */
    const void *msg = NULL;
    size_t size = 0;
    int rc = ferry_sub_take(sub, &msg, &size);
    if (rc == FERRY_OK) {
        printf("received %zu bytes: %s\n", size, (const char *)msg);
        ferry_sub_release(sub, msg);
    }

    ferry_node_close(node); /* also closes pub and sub */
    return rc == FERRY_OK ? 0 : 1;
}
