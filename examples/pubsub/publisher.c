/*
 * Publishes simulated IMU samples on "sensors/imu/front" at a fixed rate.
 *
 *   ferry_example_publisher [--count N] [--rate HZ] [--domain D]
 *                           [--subscribers K] [--timeout SEC]
 *
 * Each sample is written straight into shared memory: the publisher loans a
 * buffer from ferry, fills it in place and sends it. Subscribers read that same
 * memory; nothing is copied. Run examples/pubsub/subscriber.c next to it.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
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

/* Sleeps until the absolute CLOCK_MONOTONIC time t_ns (or a signal). */
static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000u), .tv_nsec = (long)(t_ns % 1000000000u)};
    while (!g_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "publisher: %s: %s: %s\n", what, ferry_strerror(rc), ferry_last_error_message());
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: ferry_example_publisher [--count N] [--rate HZ] [--domain D]\n"
                    "                               [--subscribers K] [--timeout SEC]\n"
                    "  --count N        samples to send, then exit (default 0: until Ctrl-C)\n"
                    "  --rate HZ        samples per second (default 100)\n"
                    "  --domain D       ferry domain (default: $FERRY_DOMAIN, else \"default\")\n"
                    "  --subscribers K  wait until K subscribers are connected before sending\n"
                    "  --timeout SEC    give up after SEC seconds (default 0: never)\n");
}

/* Fills a sample the way a driver would after reading the sensor. */
static void read_sensor(imu_sample *s, uint32_t frame)
{
    double t = frame * 0.01;
    s->measured_ns = now_ns();
    s->frame = frame;
    s->temperature_c = 31.5f + (float)(0.2 * sin(t * 0.1));
    s->accel[0] = (float)(0.05 * sin(t));
    s->accel[1] = (float)(0.05 * cos(t));
    s->accel[2] = 9.81f;
    s->gyro[0] = 0.0f;
    s->gyro[1] = 0.0f;
    s->gyro[2] = (float)(0.1 * sin(t * 0.5));
}

int main(int argc, char **argv)
{
    unsigned long count = 0, subscribers = 0;
    double rate = 100.0, timeout_s = 0.0;
    const char *domain = NULL;

    for (int i = 1; i < argc;) {
        const char *arg = argv[i++];
        const char *val = i < argc ? argv[i] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage();
            return 0;
        }
        if (!val) {
            fprintf(stderr, "publisher: unknown option or missing value: %s\n", arg);
            usage();
            return 2;
        }
        if (!strcmp(arg, "--count"))
            count = strtoul(val, NULL, 10);
        else if (!strcmp(arg, "--rate"))
            rate = strtod(val, NULL);
        else if (!strcmp(arg, "--domain"))
            domain = val;
        else if (!strcmp(arg, "--subscribers"))
            subscribers = strtoul(val, NULL, 10);
        else if (!strcmp(arg, "--timeout"))
            timeout_s = strtod(val, NULL);
        else {
            fprintf(stderr, "publisher: unknown option %s\n", arg);
            usage();
            return 2;
        }
        i++; /* the value */
    }
    if (!(rate > 0.0)) {
        fprintf(stderr, "publisher: --rate must be > 0\n");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* A node is this process's presence in the domain. Closing it (or the
     * process dying) lets ferry clean up everything the node created. */
    ferry_node_opts node_opts;
    ferry_node_opts_init(&node_opts);
    node_opts.domain = domain;
    ferry_node *node = NULL;
    int rc = ferry_node_open(&node, "imu_driver", &node_opts);
    if (rc != FERRY_OK)
        return fail("ferry_node_open", rc);

    ferry_pubsub_opts opts;
    imu_pubsub_opts(&opts);
    ferry_pub *pub = NULL;
    rc = ferry_pub_open(&pub, node, IMU_SERVICE, &opts);
    if (rc != FERRY_OK) {
        ferry_node_close(node);
        return fail("ferry_pub_open", rc);
    }

    const uint64_t start = now_ns();
    const uint64_t deadline = timeout_s > 0 ? start + (uint64_t)(timeout_s * 1e9) : UINT64_MAX;
    int status = 0;

    /* Optionally wait for subscribers, so that none misses the first sample. */
    ferry_pub_stats stats;
    while (subscribers > 0 && !g_stop) {
        rc = ferry_pub_update(pub); /* connects subscribers that arrived */
        if (rc == FERRY_OK)
            rc = ferry_pub_stats_get(pub, &stats);
        if (rc != FERRY_OK) {
            status = fail("waiting for subscribers", rc);
            break;
        }
        if (stats.subscribers >= subscribers)
            break;
        if (now_ns() > deadline) {
            fprintf(stderr, "publisher: timed out waiting for %lu subscriber(s)\n", subscribers);
            status = 1;
            break;
        }
        sleep_until(now_ns() + 1000000u); /* 1 ms */
    }

    const uint64_t period_ns = (uint64_t)(1e9 / rate);
    uint64_t next = now_ns();
    unsigned long sent = 0;
    while (status == 0 && !g_stop && (count == 0 || sent < count)) {
        /* Zero copy: loan a buffer in shared memory and build the sample in it. */
        void *payload = NULL;
        rc = ferry_pub_loan(pub, sizeof(imu_sample), &payload);
        if (rc != FERRY_OK) {
            status = fail("ferry_pub_loan", rc);
            break;
        }
        read_sensor((imu_sample *)payload, (uint32_t)sent);

        /* Hand it to every subscriber. After this call the buffer belongs to
         * ferry again, whatever the result: do not touch payload any more. */
        rc = ferry_pub_send(pub, payload);
        if (rc != FERRY_OK) {
            status = fail("ferry_pub_send", rc);
            break;
        }
        sent++;

        if (now_ns() > deadline) {
            fprintf(stderr, "publisher: timed out after %lu sample(s)\n", sent);
            status = 1;
            break;
        }
        next += period_ns;
        sleep_until(next);
    }

    if (ferry_pub_stats_get(pub, &stats) == FERRY_OK)
        printf("publisher: sent %llu sample(s) to %u subscriber(s)\n", (unsigned long long)stats.sent,
               stats.subscribers);

    /* Samples already sent stay readable by the subscribers after this. */
    ferry_pub_close(pub);
    ferry_node_close(node);
    return status;
}
