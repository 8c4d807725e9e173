// cpp_reqres_mp_test: request-response across processes. This process is
// the client; cpp_reqres_peer (fork + exec) is the server. First the peer
// answers many calls, each with a stream of responses; then a second peer
// dies (SIGKILL) in the middle of a call, and the client must hear of it.
#include "cpp_reqres_types.hpp"
#include "cpp_test.hpp"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#ifndef FERRY_CPP_REQRES_PEER
#error "FERRY_CPP_REQRES_PEER must name the cpp_reqres_peer executable"
#endif

using cpp_test::domain;
using cpp_test::node_opts;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kCalls = 300;

pid_t spawn_peer(std::vector<std::string> args)
{
    std::string path = FERRY_CPP_REQRES_PEER;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        std::vector<char *> argv{&path[0]};
        for (auto &a : args)
            argv.push_back(&a[0]);
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    return pid;
}

// The peer's exit status (128 + signal when killed); kills it after timeout_s.
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

using Client = ferry::Client<cpp_rr::Query, cpp_rr::Answer>;

void test_serve(const std::string &dom)
{
    ferry::Node node("cpp_rr_client", node_opts(dom));
    auto client = node.client<cpp_rr::Query, cpp_rr::Answer>(cpp_rr::kService, cpp_rr::options());
    pid_t pid = spawn_peer({dom, "serve", std::to_string(kCalls)});
    CHECK(client.wait_for_server(15s));

    // Two calls in flight at a time, zero-copy requests.
    std::uint64_t sent = 0, done = 0;
    std::vector<std::uint32_t> next_part(kCalls, 1);
    std::vector<std::uint64_t> seq_of_id;
    auto deadline = cpp_test::clock::now() + 30s;
    while (done < kCalls) {
        CHECK(cpp_test::clock::now() < deadline);
        while (sent < kCalls && client.pending() < 2) {
            auto req = client.loan();
            *req = cpp_rr::Query{sent, static_cast<std::uint32_t>(sent), static_cast<std::uint32_t>(sent % 7 + 1)};
            const std::uint64_t id = req.send();
            if (seq_of_id.size() <= id)
                seq_of_id.resize(id + 1, UINT64_MAX);
            seq_of_id[id] = sent;
            sent++;
        }
        auto r = client.take(1s);
        if (!r)
            continue;
        CHECK(!r.disconnected() && r.has_payload());
        const std::uint64_t seq = r->seq;
        CHECK(r.call_id() < seq_of_id.size() && seq_of_id[r.call_id()] == seq);
        const cpp_rr::Query q{seq, static_cast<std::uint32_t>(seq), static_cast<std::uint32_t>(seq % 7 + 1)};
        CHECK(r->part == next_part[seq]);
        CHECK(r->value == cpp_rr::expected(q, r->part));
        CHECK(r->pid == static_cast<std::int32_t>(pid));
        CHECK(r.last() == (r->part == cpp_rr::kParts));
        next_part[seq]++;
        if (r.last())
            done++;
    }
    CHECK(client.pending() == 0);
    // Nothing more comes: the end-of-stream markers were not sent (last
    // responses went out), and no call is open.
    CHECK(!client.take(10ms));
    CHECK(wait_peer(pid, 20) == 0);
    std::printf("served: %llu calls, %u responses each\n", static_cast<unsigned long long>(done), cpp_rr::kParts);
}

void test_crash(const std::string &dom)
{
    ferry::Node node("cpp_rr_client2", node_opts(dom));
    auto client = node.client<cpp_rr::Query, cpp_rr::Answer>(cpp_rr::kService, cpp_rr::options());
    pid_t pid = spawn_peer({dom, "crash"});
    CHECK(client.wait_for_server(15s));
    const std::uint64_t id = client.send_copy(cpp_rr::Query{7, 2, 3});
    auto r = client.take(10s);
    CHECK(r && r.call_id() == id && r->part == 1 && !r.last());
    r.release();
    CHECK(wait_peer(pid, 20) == 128 + SIGKILL);
    // The server died mid-call: the client learns of it by itself.
    auto gone = client.take(10s);
    CHECK(gone && gone.disconnected() && gone.last() && !gone.has_payload() && gone.call_id() == id);
    CHECK(client.pending() == 0);
    std::printf("crash: the client saw call %llu end with its server\n", static_cast<unsigned long long>(id));
}

} // namespace

int main()
{
    const std::string dom = domain("rrmp");
    cpp_test::run("serve", [&] { test_serve(dom); });
    cpp_test::run("crash", [&] { test_crash(dom); });
    ferry::cleanup(dom); // what the killed peer left behind
    CHECK(cpp_test::leftovers(dom) == 0);
    std::printf("cpp_reqres_mp_test: all passed\n");
    return 0;
}
