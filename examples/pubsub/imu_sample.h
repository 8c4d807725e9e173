/*
 * The sample type shared by examples/pubsub/publisher.c and subscriber.c.
 *
 * ferry moves bytes, not types: both sides must agree on the layout. They do
 * so by compiling the same header, and ferry checks the rest when a port
 * opens: the type name, the largest payload size and the alignment must be
 * the same on both sides, or ferry_pub_open/ferry_sub_open fail with
 * FERRY_EINCOMPATIBLE. Put a version in the type name and bump it whenever
 * the struct changes, so an old subscriber is refused instead of misreading.
 */
#ifndef FERRY_EXAMPLE_IMU_SAMPLE_H
#define FERRY_EXAMPLE_IMU_SAMPLE_H

#include <stdint.h>
#include <string.h>

#include <ferry/ferry.h>

/* One reading of an inertial measurement unit. Plain data only: no pointers,
 * since the subscriber maps the sample at a different address. */
typedef struct imu_sample {
    uint64_t measured_ns; /* CLOCK_MONOTONIC when the sensor measured it */
    uint32_t frame;       /* the sensor's running frame counter */
    float temperature_c;  /* sensor die temperature */
    float accel[3];       /* linear acceleration, m/s^2 (x, y, z) */
    float gyro[3];        /* angular rate, rad/s (x, y, z) */
} imu_sample;

#define IMU_SERVICE "sensors/imu/front"
#define IMU_TYPE_NAME "ferry_example.imu_sample.v1"

/* Both sides open the service with the same options. */
static inline void imu_pubsub_opts(ferry_pubsub_opts *opts)
{
    ferry_pubsub_opts_init(opts);
    opts->type_name = IMU_TYPE_NAME;
    opts->max_payload = sizeof(imu_sample);
    opts->alignment = _Alignof(imu_sample);
    /* Room for a short hiccup of the subscriber... */
    opts->queue_capacity = 16;
    /* ...and when that is not enough, the publisher waits rather than drop
     * samples. A real sensor driver might prefer FERRY_OVERFLOW_DROP_OLDEST
     * (the default): it never waits, and a slow reader loses the oldest. */
    opts->overflow = FERRY_OVERFLOW_BLOCK;
    /* Stamp every sample at send (a publisher option, off by default: one
     * clock read per send): the subscriber prints each sample's latency. */
    opts->timestamps = 1;
}

#endif
