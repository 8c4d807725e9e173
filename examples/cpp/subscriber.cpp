// Receives the IMU samples of publisher.cpp (or examples/pubsub/publisher.c)
// and prints each one with its sequence number and how long it took to
// arrive: the C++ version of examples/pubsub/subscriber.c, same output.
//
//   ferry_example_cpp_subscriber [--count N] [--domain D] [--timeout SEC] [--quiet]
//
// Samples are read in place, in the shared memory the publisher wrote them
// to; each goes back to the publisher when its ferry::Received is destroyed.
// Exit status: 0 when --count samples arrived (or on Ctrl-C without --count),
// 1 on an error or timeout.
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "imu.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_signal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

std::uint64_t now_ns()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

void usage()
{
    std::fprintf(stderr, "usage: ferry_example_cpp_subscriber [--count N] [--domain D] [--timeout SEC] [--quiet]\n"
                         "  --count N      exit after N samples (default 0: until Ctrl-C)\n"
                         "  --domain D     ferry domain (default: $FERRY_DOMAIN, else \"default\")\n"
                         "  --timeout SEC  give up after SEC seconds (default 0: never)\n"
                         "  --quiet        print only the summary\n");
}

struct Args {
    unsigned long count = 0;
    double timeout_s = 0.0;
    std::string domain;
    bool quiet = false;
};

int parse(int argc, char **argv, Args &a)
{
    for (int i = 1; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage();
            return 1;
        }
        if (arg == "--quiet") {
            a.quiet = true;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "subscriber: unknown option or missing value: %s\n", arg.c_str());
            usage();
            return 2;
        }
        const char *val = argv[++i];
        if (arg == "--count")
            a.count = std::strtoul(val, nullptr, 10);
        else if (arg == "--domain")
            a.domain = val;
        else if (arg == "--timeout")
            a.timeout_s = std::strtod(val, nullptr);
        else {
            std::fprintf(stderr, "subscriber: unknown option %s\n", arg.c_str());
            usage();
            return 2;
        }
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

    const auto deadline = args.timeout_s > 0 ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                                  std::chrono::duration<double>(args.timeout_s))
                                             : Clock::time_point::max();
    try {
        ferry::Node node("imu_monitor", ferry::NodeOptions().domain(args.domain));
        // Same options as the publisher: whoever comes first creates the
        // service, the other one is checked against it.
        ferry::Subscriber<imu::Sample> sub(node, imu::service, imu::options());
        if (!args.quiet)
            std::printf("subscriber: listening on \"%s\" in domain \"%s\"\n", imu::service, node.domain());

        unsigned long received = 0, mismatched = 0;
        std::uint64_t latency_sum_ns = 0, latency_max_ns = 0;
        int status = 0;
        while (!g_stop && (args.count == 0 || received < args.count)) {
            // Sleeps until a sample arrives (no polling), for at most 100 ms.
            ferry::Received<imu::Sample> s = sub.take(std::chrono::milliseconds(100));
            if (!s) {
                if (Clock::now() > deadline) {
                    std::fprintf(stderr, "subscriber: timed out after %lu of %lu sample(s)\n", received,
                                 args.count);
                    status = 1;
                    break;
                }
                continue;
            }
            // s points into shared memory: s->frame reads the publisher's bytes in place.
            const ferry::SampleInfo info = s.info();
            const std::uint64_t now = now_ns();
            const std::uint64_t latency_ns = now > info.timestamp_ns ? now - info.timestamp_ns : 0;
            latency_sum_ns += latency_ns;
            if (latency_ns > latency_max_ns)
                latency_max_ns = latency_ns;
            received++;
            // Frames count from 0, ferry's sequence numbers from 1.
            if (info.sequence != static_cast<std::uint64_t>(s->frame) + 1)
                mismatched++;
            if (!args.quiet)
                std::printf("seq %6llu  frame %6u  latency %8.1f us  accel %6.3f %6.3f %6.3f m/s2  "
                            "gyro_z %6.3f rad/s  %.1f C\n",
                            static_cast<unsigned long long>(info.sequence), static_cast<unsigned>(s->frame),
                            static_cast<double>(latency_ns) / 1e3, static_cast<double>(s->accel[0]),
                            static_cast<double>(s->accel[1]), static_cast<double>(s->accel[2]),
                            static_cast<double>(s->gyro[2]), static_cast<double>(s->temperature_c));
            // s is released here, at the end of its scope.
        }

        const ferry::SubscriberStats stats = sub.stats();
        std::printf("subscriber: received %lu sample(s), lost %llu, mismatched %lu, mean latency %.1f us, "
                    "max %.1f us\n",
                    received, static_cast<unsigned long long>(stats.lost), mismatched,
                    received ? static_cast<double>(latency_sum_ns) / static_cast<double>(received) / 1e3 : 0.0,
                    static_cast<double>(latency_max_ns) / 1e3);
        if (args.count > 0 && received < args.count && status == 0)
            status = 1; // interrupted before all samples arrived
        return status;
    } catch (const ferry::Error &e) {
        std::fprintf(stderr, "subscriber: %s\n", e.what());
        return 1;
    }
}
