// cpp_multiprocess_test: a C++ publisher here and a C++ subscriber in another
// process (cpp_test_peer, started with fork + exec). The peer checks every
// sample and answers with a Result sample over ferry; its exit status must
// agree.
#include "cpp_mp_types.hpp"
#include "cpp_test.hpp"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifndef FERRY_CPP_TEST_PEER
#error "FERRY_CPP_TEST_PEER must name the cpp_test_peer executable"
#endif

using cpp_test::domain;
using cpp_test::node_opts;

namespace {

constexpr std::uint64_t kCount = 2000;

pid_t spawn_peer(const std::string &dom, std::uint64_t count)
{
    std::string count_arg = std::to_string(count);
    std::string path = FERRY_CPP_TEST_PEER;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char *argv[] = {&path[0], const_cast<char *>(dom.c_str()), &count_arg[0], nullptr};
        execv(argv[0], argv);
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    return pid;
}

// The peer's exit status; kills it after timeout_s seconds.
int wait_peer(pid_t pid, int timeout_s)
{
    auto deadline = cpp_test::clock::now() + std::chrono::seconds(timeout_s);
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        CHECK(r == 0);
        if (cpp_test::clock::now() > deadline) {
            std::fprintf(stderr, "peer %ld did not exit in %d s: killing it\n", static_cast<long>(pid), timeout_s);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        cpp_test::sleep_ms(5);
    }
}

} // namespace

int main()
{
    const std::string dom = domain("mp");
    int peer_status = -1;
    {
        ferry::Node node("cpp_mp_test", node_opts(dom));
        auto pub = node.publisher<cpp_mp::Data>("cpp/mp/data", cpp_mp::data_options());
        pid_t pid = -1;
        {
            auto results = node.subscriber<cpp_mp::Result>("cpp/mp/result", cpp_mp::result_options());
            pid = spawn_peer(dom, kCount);

            // Wait for the peer's subscriber, so that it gets every sample.
            auto deadline = cpp_test::clock::now() + std::chrono::seconds(15);
            while (pub.stats().subscribers < 1) {
                CHECK(cpp_test::clock::now() < deadline);
                pub.update();
                cpp_test::sleep_ms(1);
            }
            for (std::uint64_t i = 0; i < kCount; i++) {
                auto s = pub.loan();
                cpp_mp::fill(*s, i);
                s.send(); // blocks while the peer's queue is full
            }
            CHECK(pub.stats().sent == kCount);

            ferry::Received<cpp_mp::Result> result;
            while (!(result = results.take())) {
                CHECK(cpp_test::clock::now() < deadline + std::chrono::seconds(15));
                cpp_test::sleep_ms(1);
            }
            std::printf("peer %lld: received %llu, bad %llu, lost %llu\n", static_cast<long long>(result->pid),
                        static_cast<unsigned long long>(result->received),
                        static_cast<unsigned long long>(result->bad), static_cast<unsigned long long>(result->lost));
            CHECK(result->pid == static_cast<std::int64_t>(pid));
            CHECK(result->received == kCount);
            CHECK(result->bad == 0 && result->lost == 0);
        } // closes the result subscriber: the peer stops waiting for it
        peer_status = wait_peer(pid, 20);
    }
    CHECK(peer_status == 0);
    CHECK(cpp_test::leftovers(dom) == 0);
    std::printf("cpp_multiprocess_test: all passed\n");
    return 0;
}
