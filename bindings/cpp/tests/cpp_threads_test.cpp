// cpp_threads_test: one Node shared by four threads, two publisher/subscriber
// pairs (one blocking, one dropping), every port used by one thread. Run under
// ThreadSanitizer by `make test-tsan`.
#include "cpp_test.hpp"

#include <atomic>
#include <string>
#include <thread>

using cpp_test::domain;
using cpp_test::node_opts;

namespace {

struct Msg {
    std::uint64_t seq;
    std::uint64_t square;
    std::uint32_t check;
    static constexpr const char *ferry_type_name = "cpp_test.msg.v1";
};

std::uint32_t checksum(std::uint64_t seq) { return static_cast<std::uint32_t>(seq * 2654435761u) ^ 0x5a5a5a5au; }

constexpr std::uint64_t kCount = 20000;

void publish_all(ferry::Publisher<Msg> pub, std::atomic<bool> &failed)
{
    try {
        auto deadline = cpp_test::clock::now() + std::chrono::seconds(10);
        while (pub.stats().subscribers < 1) { // the subscriber opened first; connect it
            pub.update();
            if (cpp_test::clock::now() > deadline) {
                failed = true;
                return;
            }
        }
        for (std::uint64_t i = 1; i <= kCount; i++) {
            auto s = pub.loan();
            s->seq = i;
            s->square = i * i;
            s->check = checksum(i);
            s.send();
        }
    } catch (const ferry::Error &e) {
        std::fprintf(stderr, "publisher thread: %s\n", e.what());
        failed = true;
    }
}

// Takes until the last sample arrives; checks order (and, when lossless,
// that nothing is missing). Returns the number received.
std::uint64_t receive_all(ferry::Subscriber<Msg> sub, bool lossless, std::atomic<bool> &failed)
{
    std::uint64_t got = 0, last = 0;
    try {
        auto deadline = cpp_test::clock::now() + std::chrono::seconds(20);
        while (last < kCount && !failed) {
            auto r = sub.take();
            if (!r) {
                if (cpp_test::clock::now() > deadline) {
                    std::fprintf(stderr, "subscriber thread: timed out at %llu\n",
                                 static_cast<unsigned long long>(last));
                    failed = true;
                }
                std::this_thread::yield();
                continue;
            }
            bool ok = r->seq > last && r->square == r->seq * r->seq && r->check == checksum(r->seq) &&
                      r.info().sequence == r->seq && (!lossless || r->seq == last + 1);
            if (!ok) {
                std::fprintf(stderr, "subscriber thread: bad sample %llu after %llu\n",
                             static_cast<unsigned long long>(r->seq), static_cast<unsigned long long>(last));
                failed = true;
            }
            last = r->seq;
            got++;
        }
        auto st = sub.stats();
        if (lossless && st.lost != 0)
            failed = true;
        if (!lossless && st.received + st.lost != kCount) {
            std::fprintf(stderr, "subscriber thread: received %llu + lost %llu != %llu\n",
                         static_cast<unsigned long long>(st.received), static_cast<unsigned long long>(st.lost),
                         static_cast<unsigned long long>(kCount));
            failed = true;
        }
    } catch (const ferry::Error &e) {
        std::fprintf(stderr, "subscriber thread: %s\n", e.what());
        failed = true;
    }
    return got;
}

} // namespace

int main()
{
    const std::string dom = domain("threads");
    {
        ferry::Node node("cpp_threads", node_opts(dom));
        auto block = ferry::Options().overflow(ferry::Overflow::block).queue_capacity(8);
        auto drop = ferry::Options().queue_capacity(8);
        // Subscribers first, so that no sample is sent before they listen.
        auto sub_block = node.subscriber<Msg>("cpp/threads/block", block);
        auto sub_drop = node.subscriber<Msg>("cpp/threads/drop", drop);
        auto pub_block = node.publisher<Msg>("cpp/threads/block", block);
        auto pub_drop = node.publisher<Msg>("cpp/threads/drop", drop);

        std::atomic<bool> failed{false};
        std::uint64_t got_block = 0, got_drop = 0;
        std::thread t1([&, s = std::move(sub_block)]() mutable { got_block = receive_all(std::move(s), true, failed); });
        std::thread t2([&, s = std::move(sub_drop)]() mutable { got_drop = receive_all(std::move(s), false, failed); });
        std::thread t3([&, p = std::move(pub_block)]() mutable { publish_all(std::move(p), failed); });
        std::thread t4([&, p = std::move(pub_drop)]() mutable { publish_all(std::move(p), failed); });
        t1.join();
        t2.join();
        t3.join();
        t4.join();
        CHECK(!failed);
        CHECK(got_block == kCount);
        CHECK(got_drop >= 1 && got_drop <= kCount);
        std::printf("blocking pair: %llu of %llu, dropping pair: %llu of %llu\n",
                    static_cast<unsigned long long>(got_block), static_cast<unsigned long long>(kCount),
                    static_cast<unsigned long long>(got_drop), static_cast<unsigned long long>(kCount));
    }
    CHECK(cpp_test::leftovers(dom) == 0);
    std::printf("cpp_threads_test: all passed\n");
    return 0;
}
