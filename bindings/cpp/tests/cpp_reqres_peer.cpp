// cpp_reqres_peer: the server process of cpp_reqres_mp_test.
//
//   cpp_reqres_peer DOMAIN serve COUNT   answer COUNT calls, then exit 0
//   cpp_reqres_peer DOMAIN crash         answer one part of one call, then
//                                        die by SIGKILL mid-call
//
// Each call is answered with cpp_rr::kParts responses: the first ones loaned
// and written in place, the last one copied and marked last. Exit status 0
// on success, 1 on an error, 2 on bad arguments.
#include "cpp_reqres_types.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

// Sends a response, retrying while the client's queue is full.
template <class F> void retry(F &&send)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!send()) {
        if (std::chrono::steady_clock::now() > deadline)
            throw ferry::Error(FERRY_ETIMEDOUT, "the client's queue stayed full");
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3 || (std::strcmp(argv[2], "serve") == 0 && argc != 4)) {
        std::fprintf(stderr, "usage: cpp_reqres_peer DOMAIN serve COUNT | DOMAIN crash\n");
        return 2;
    }
    const std::string domain = argv[1];
    const bool crash = std::strcmp(argv[2], "crash") == 0;
    const std::uint64_t count = crash ? 1 : std::strtoull(argv[3], nullptr, 10);
    const auto pid = static_cast<std::int32_t>(getpid());
    try {
        ferry::Node node("cpp_rr_peer", ferry::NodeOptions().domain(domain));
        auto server = node.server<cpp_rr::Query, cpp_rr::Answer>(cpp_rr::kService, cpp_rr::options());
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (std::uint64_t served = 0; served < count;) {
            auto call = server.take(std::chrono::milliseconds(100));
            if (!call) {
                if (std::chrono::steady_clock::now() > deadline) {
                    std::fprintf(stderr, "cpp_reqres_peer: timed out after %llu calls\n",
                                 static_cast<unsigned long long>(served));
                    return 1;
                }
                continue;
            }
            const cpp_rr::Query q = *call;
            for (std::uint32_t part = 1; part < cpp_rr::kParts; part++) {
                retry([&] {
                    auto r = call.loan();
                    *r = cpp_rr::Answer{q.seq, cpp_rr::expected(q, part), part, pid};
                    return call.respond(r);
                });
                if (crash) {
                    std::fflush(stdout);
                    kill(getpid(), SIGKILL); // mid-call, nothing closed
                }
            }
            retry([&] {
                return call.respond(cpp_rr::Answer{q.seq, cpp_rr::expected(q, cpp_rr::kParts), cpp_rr::kParts, pid},
                                    true);
            });
            call.finish();
            served++;
        }
        std::printf("cpp_reqres_peer: served %llu calls\n", static_cast<unsigned long long>(count));
        return 0;
    } catch (const ferry::Error &e) {
        std::fprintf(stderr, "cpp_reqres_peer: %s\n", e.what());
        return 1;
    }
}
