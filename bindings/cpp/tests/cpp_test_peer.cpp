// cpp_test_peer: the second process of cpp_multiprocess_test.
//
//   cpp_test_peer DOMAIN COUNT
//
// Subscribes to "cpp/mp/data", checks COUNT samples, then publishes one
// cpp_mp::Result on "cpp/mp/result". Exit status 0 when every sample was
// right, 1 otherwise, 2 on bad arguments.
#include "cpp_mp_types.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char **argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: cpp_test_peer DOMAIN COUNT\n");
        return 2;
    }
    const std::string domain = argv[1];
    const std::uint64_t count = std::strtoull(argv[2], nullptr, 10);
    try {
        ferry::Node node("cpp_peer", ferry::NodeOptions().domain(domain));
        auto result_pub = node.publisher<cpp_mp::Result>("cpp/mp/result", cpp_mp::result_options());
        auto sub = node.subscriber<cpp_mp::Data>("cpp/mp/data", cpp_mp::data_options());

        cpp_mp::Result result{0, 0, 0, static_cast<std::int64_t>(getpid())};
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (result.received < count) {
            // Blocks (no polling) until a sample comes, for at most 100 ms.
            auto r = sub.take(std::chrono::milliseconds(100));
            if (!r) {
                if (std::chrono::steady_clock::now() > deadline) {
                    std::fprintf(stderr, "cpp_test_peer: timed out after %llu samples\n",
                                 static_cast<unsigned long long>(result.received));
                    break;
                }
                continue;
            }
            if (!cpp_mp::valid(*r, result.received) || r.info().sequence != result.received + 1)
                result.bad++;
            result.received++;
        }
        result.lost = sub.stats().lost;
        result_pub.publish(result);
        std::printf("cpp_test_peer: received %llu, bad %llu, lost %llu\n",
                    static_cast<unsigned long long>(result.received), static_cast<unsigned long long>(result.bad),
                    static_cast<unsigned long long>(result.lost));
        // Stay until the test process has taken the result (or gives up):
        // history keeps it only while this publisher is open.
        auto linger = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (result_pub.stats().subscribers > 0 && std::chrono::steady_clock::now() < linger) {
            result_pub.update();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return result.received == count && result.bad == 0 && result.lost == 0 ? 0 : 1;
    } catch (const ferry::Error &e) {
        std::fprintf(stderr, "cpp_test_peer: %s\n", e.what());
        return 1;
    }
}
