// The sample type of the C++ examples: the same layout, type name and options
// as examples/pubsub/imu_sample.h, so that the C and C++ examples (and the
// Python package) meet on one service.
#ifndef FERRY_EXAMPLE_IMU_HPP
#define FERRY_EXAMPLE_IMU_HPP

#include <ferry/ferry.hpp>

#include <cstdint>

namespace imu {

// One reading of an inertial measurement unit. Plain data only: no pointers,
// no std::string, nothing that owns memory (ferry checks that it is
// trivially copyable).
struct Sample {
    std::uint64_t measured_ns; // CLOCK_MONOTONIC when the sensor measured it
    std::uint32_t frame;       // the sensor's running frame counter
    float temperature_c;       // sensor die temperature
    float accel[3];            // linear acceleration, m/s^2 (x, y, z)
    float gyro[3];             // angular rate, rad/s (x, y, z)

    // The name ferry checks on open, with size and alignment. Bump the
    // version whenever the layout changes.
    static constexpr const char *ferry_type_name = "ferry_example.imu_sample.v1";
};

inline constexpr const char *service = "sensors/imu/front";

// Both sides open the service with the same options.
inline ferry::Options options()
{
    return ferry::Options()
        .queue_capacity(16)                  // room for a short hiccup of the subscriber...
        .overflow(ferry::Overflow::block)    // ...and past that the publisher waits, nothing is lost
        .timestamps(true);                   // the subscriber prints each sample's latency
}

} // namespace imu

#endif
