// Publishes simulated IMU samples on "sensors/imu/front" at a fixed rate:
// the C++ version of examples/pubsub/publisher.c, with the same options and
// output, so either publisher works with either subscriber.
//
//   ferry_example_cpp_publisher [--count N] [--rate HZ] [--domain D]
//                               [--subscribers K] [--timeout SEC]
//
// Each sample is built in place in shared memory: loan() hands out an
// imu::Sample there, send() publishes it. Nothing is copied.
#include <csignal>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "imu.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_signal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock; // CLOCK_MONOTONIC on Linux, as ferry's timestamps

std::uint64_t now_ns()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

void usage()
{
    std::fprintf(stderr, "usage: ferry_example_cpp_publisher [--count N] [--rate HZ] [--domain D]\n"
                         "                                   [--subscribers K] [--timeout SEC]\n"
                         "  --count N        samples to send, then exit (default 0: until Ctrl-C)\n"
                         "  --rate HZ        samples per second (default 100)\n"
                         "  --domain D       ferry domain (default: $FERRY_DOMAIN, else \"default\")\n"
                         "  --subscribers K  wait until K subscribers are connected before sending\n"
                         "  --timeout SEC    give up after SEC seconds (default 0: never)\n");
}

// Fills a sample the way a driver would after reading the sensor.
void read_sensor(imu::Sample &s, std::uint32_t frame)
{
    const double t = frame * 0.01;
    s.measured_ns = now_ns();
    s.frame = frame;
    s.temperature_c = 31.5f + static_cast<float>(0.2 * std::sin(t * 0.1));
    s.accel[0] = static_cast<float>(0.05 * std::sin(t));
    s.accel[1] = static_cast<float>(0.05 * std::cos(t));
    s.accel[2] = 9.81f;
    s.gyro[0] = 0.0f;
    s.gyro[1] = 0.0f;
    s.gyro[2] = static_cast<float>(0.1 * std::sin(t * 0.5));
}

struct Args {
    unsigned long count = 0, subscribers = 0;
    double rate = 100.0, timeout_s = 0.0;
    std::string domain; // "": $FERRY_DOMAIN, else "default"
};

// 0: go on, 1: --help was shown, 2: bad arguments.
int parse(int argc, char **argv, Args &a)
{
    for (int i = 1; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage();
            return 1;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "publisher: unknown option or missing value: %s\n", arg.c_str());
            usage();
            return 2;
        }
        const char *val = argv[++i];
        if (arg == "--count")
            a.count = std::strtoul(val, nullptr, 10);
        else if (arg == "--rate")
            a.rate = std::strtod(val, nullptr);
        else if (arg == "--domain")
            a.domain = val;
        else if (arg == "--subscribers")
            a.subscribers = std::strtoul(val, nullptr, 10);
        else if (arg == "--timeout")
            a.timeout_s = std::strtod(val, nullptr);
        else {
            std::fprintf(stderr, "publisher: unknown option %s\n", arg.c_str());
            usage();
            return 2;
        }
    }
    if (!(a.rate > 0.0)) {
        std::fprintf(stderr, "publisher: --rate must be > 0\n");
        return 2;
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    Args args;
    if (int rc = parse(argc, argv, args))
        return rc == 1 ? 0 : rc;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    const auto start = Clock::now();
    const auto deadline = args.timeout_s > 0 ? start + std::chrono::duration_cast<Clock::duration>(
                                                           std::chrono::duration<double>(args.timeout_s))
                                             : Clock::time_point::max();
    try {
        // A node is this process's presence in the domain; closing it (or
        // the process dying) lets ferry clean up what the node created.
        ferry::Node node("imu_driver", ferry::NodeOptions().domain(args.domain));
        ferry::Publisher<imu::Sample> pub(node, imu::service, imu::options());

        // Optionally wait for subscribers, so that none misses the first sample.
        while (args.subscribers > 0 && !g_stop) {
            pub.update(); // connects subscribers that arrived
            if (pub.stats().subscribers >= args.subscribers)
                break;
            if (Clock::now() > deadline) {
                std::fprintf(stderr, "publisher: timed out waiting for %lu subscriber(s)\n", args.subscribers);
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }

        const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / args.rate));
        auto next = Clock::now();
        int status = 0;
        for (unsigned long sent = 0; !g_stop && (args.count == 0 || sent < args.count);) {
            // Zero copy: loan an imu::Sample in shared memory and fill it there.
            ferry::Sample<imu::Sample> sample = pub.loan();
            read_sensor(*sample, static_cast<std::uint32_t>(sent));
            // Hand it to every subscriber; the loan is consumed. (A sample
            // that is never sent is given back when it goes out of scope.)
            sample.send();
            sent++;

            if (Clock::now() > deadline) {
                std::fprintf(stderr, "publisher: timed out after %lu sample(s)\n", sent);
                status = 1;
                break;
            }
            next += period;
            std::this_thread::sleep_until(next);
        }

        const ferry::PublisherStats stats = pub.stats();
        std::printf("publisher: sent %llu sample(s) to %u subscriber(s)\n",
                    static_cast<unsigned long long>(stats.sent), stats.subscribers);
        return status; // samples already sent stay readable after the publisher closes
    } catch (const ferry::Error &e) {
        std::fprintf(stderr, "publisher: %s\n", e.what());
        return 1;
    }
}
