/*
 * Receives the IMU samples of examples/pubsub/publisher.c and prints each one
 * with its sequence number and how long it took to arrive.
 *
 *   ferry_example_subscriber [--count N] [--domain D] [--timeout SEC] [--quiet]
 *
 * The subscriber sleeps in ferry_sub_wait() until a sample arrives, reads it
 * in place, in the shared memory the publisher wrote it to, and gives it back
 * with ferry_sub_release().
 * Exit status: 0 when --count samples arrived (or on Ctrl-C without --count),
 * 1 on an error or timeout.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ferry/ferry.h>

#include "imu_sample.h"

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "subscriber: %s: %s: %s\n", what, ferry_strerror(rc), ferry_last_error_message());
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: ferry_example_subscriber [--count N] [--domain D] [--timeout SEC] [--quiet]\n"
                    "  --count N      exit after N samples (default 0: until Ctrl-C)\n"
                    "  --domain D     ferry domain (default: $FERRY_DOMAIN, else \"default\")\n"
                    "  --timeout SEC  give up after SEC seconds (default 0: never)\n"
                    "  --quiet        print only the summary\n");
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    double timeout_s = 0.0;
    const char *domain = NULL;
    int quiet = 0;

    for (int i = 1; i < argc;) {
        const char *arg = argv[i++];
        const char *val = i < argc ? argv[i] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage();
            return 0;
        }
        if (!strcmp(arg, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!val) {
            fprintf(stderr, "subscriber: unknown option or missing value: %s\n", arg);
            usage();
            return 2;
        }
        if (!strcmp(arg, "--count"))
            count = strtoul(val, NULL, 10);
        else if (!strcmp(arg, "--domain"))
            domain = val;
        else if (!strcmp(arg, "--timeout"))
            timeout_s = strtod(val, NULL);
        else {
            fprintf(stderr, "subscriber: unknown option %s\n", arg);
            usage();
            return 2;
        }
        i++; /* the value */
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    ferry_node_opts node_opts;
    ferry_node_opts_init(&node_opts);
    node_opts.domain = domain;
    ferry_node *node = NULL;
    int rc = ferry_node_open(&node, "imu_monitor", &node_opts);
    if (rc != FERRY_OK)
        return fail("ferry_node_open", rc);

    /* Same options as the publisher (see imu_sample.h). Whoever comes first
     * creates the service; the other one checks that the options match. */
    ferry_pubsub_opts opts;
    imu_pubsub_opts(&opts);
    ferry_sub *sub = NULL;
    rc = ferry_sub_open(&sub, node, IMU_SERVICE, &opts);
    if (rc != FERRY_OK) {
        ferry_node_close(node);
        return fail("ferry_sub_open", rc);
    }
    if (!quiet)
        printf("subscriber: listening on \"%s\" in domain \"%s\"\n", IMU_SERVICE, ferry_node_domain(node));

    const uint64_t deadline = timeout_s > 0 ? now_ns() + (uint64_t)(timeout_s * 1e9) : UINT64_MAX;
    unsigned long received = 0;
    unsigned long mismatched = 0;
    uint64_t latency_sum_ns = 0, latency_max_ns = 0;
    int status = 0;

    while (!g_stop && (count == 0 || received < count)) {
        const void *payload = NULL;
        size_t size = 0;
        rc = ferry_sub_take(sub, &payload, &size);
        if (rc == FERRY_EAGAIN) {
            if (now_ns() > deadline) {
                fprintf(stderr, "subscriber: timed out after %lu of %lu sample(s)\n", received, count);
                status = 1;
                break;
            }
            /* Nothing queued: sleep until the publisher wakes us. The 100 ms
             * limit only lets the loop notice Ctrl-C and --timeout. */
            rc = ferry_sub_wait(sub, 100 * 1000 * 1000);
            if (rc == FERRY_OK || rc == FERRY_ETIMEDOUT)
                continue;
            if (rc == FERRY_EDISCONNECTED) {
                /* The publisher closed or died; another one may come. */
                if (!quiet)
                    printf("subscriber: a publisher went away\n");
                continue;
            }
            status = fail("ferry_sub_wait", rc);
            break;
        }
        if (rc != FERRY_OK) {
            status = fail("ferry_sub_take", rc);
            break;
        }

        /* The sample is read in place: payload points into shared memory. */
        const imu_sample *s = (const imu_sample *)payload;
        ferry_sample_info info;
        rc = ferry_sub_sample_info(sub, payload, &info);
        if (rc != FERRY_OK) {
            ferry_sub_release(sub, payload);
            status = fail("ferry_sub_sample_info", rc);
            break;
        }
        if (size != sizeof(imu_sample)) {
            ferry_sub_release(sub, payload);
            fprintf(stderr, "subscriber: sample of %zu bytes, expected %zu\n", size, sizeof(imu_sample));
            status = 1;
            break;
        }

        /* The timestamp is CLOCK_MONOTONIC at send, valid across processes. */
        uint64_t now = now_ns();
        uint64_t latency_ns = now > info.timestamp_ns ? now - info.timestamp_ns : 0;
        latency_sum_ns += latency_ns;
        if (latency_ns > latency_max_ns)
            latency_max_ns = latency_ns;
        received++;
        /* The publisher numbers frames from 0 and ferry numbers samples from 1
         * per publisher: a mismatch would mean a lost or corrupted sample. */
        if (info.sequence != (uint64_t)s->frame + 1)
            mismatched++;

        if (!quiet)
            printf("seq %6llu  frame %6u  latency %8.1f us  accel %6.3f %6.3f %6.3f m/s2  "
                   "gyro_z %6.3f rad/s  %.1f C\n",
                   (unsigned long long)info.sequence, (unsigned)s->frame, (double)latency_ns / 1e3,
                   (double)s->accel[0], (double)s->accel[1], (double)s->accel[2], (double)s->gyro[2],
                   (double)s->temperature_c);

        /* Done with it: the publisher may reuse the buffer once every
         * subscriber has released it. */
        ferry_sub_release(sub, payload);
    }

    ferry_sub_stats stats;
    if (ferry_sub_stats_get(sub, &stats) == FERRY_OK)
        printf("subscriber: received %lu sample(s), lost %llu, mismatched %lu, mean latency %.1f us, "
               "max %.1f us\n",
               received, (unsigned long long)stats.lost, mismatched,
               received ? (double)latency_sum_ns / (double)received / 1e3 : 0.0, (double)latency_max_ns / 1e3);
    if (count > 0 && received < count && status == 0)
        status = 1; /* interrupted before all samples arrived */

    ferry_sub_close(sub);
    ferry_node_close(node);
    return status;
}
