// cpp_patterns_test: the C++ wrappers of events (Notifier, Listener), wait
// sets, request-response (Client, Server, Call) and shared state
// (StateWriter, StateReader), in one process.
#include "cpp_test.hpp"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

struct Query {
    std::uint32_t a, b;
    static constexpr const char *ferry_type_name = "cpp_test.query.v1";
};
struct Answer {
    std::uint64_t sum;
    std::uint32_t part;
    static constexpr const char *ferry_type_name = "cpp_test.answer.v1";
};
struct Config {
    std::uint64_t gain;
    double offset;
    char label[16];
    static constexpr const char *ferry_type_name = "cpp_test.config.v1";
};

} // namespace

using namespace std::chrono_literals;
using cpp_test::domain;
using cpp_test::node_opts;

static_assert(!std::is_copy_constructible_v<ferry::Notifier> && std::is_nothrow_move_constructible_v<ferry::Notifier>);
static_assert(!std::is_copy_constructible_v<ferry::Listener> && std::is_nothrow_move_assignable_v<ferry::Listener>);
static_assert(!std::is_copy_constructible_v<ferry::WaitSet> && std::is_nothrow_move_constructible_v<ferry::WaitSet>);
static_assert(!std::is_copy_constructible_v<ferry::Client<Query, Answer>> &&
              std::is_nothrow_move_constructible_v<ferry::Client<Query, Answer>>);
static_assert(!std::is_copy_constructible_v<ferry::Server<Query, Answer>> &&
              std::is_nothrow_move_constructible_v<ferry::Server<Query, Answer>>);
static_assert(!std::is_copy_constructible_v<ferry::Call<Query, Answer>> &&
              std::is_nothrow_move_assignable_v<ferry::Call<Query, Answer>>);
static_assert(!std::is_copy_constructible_v<ferry::Reply<Answer>> &&
              std::is_nothrow_move_constructible_v<ferry::Reply<Answer>>);
static_assert(!std::is_copy_constructible_v<ferry::StateRead<Config>> &&
              std::is_nothrow_move_constructible_v<ferry::StateRead<Config>>);
static_assert(std::is_same_v<decltype(*std::declval<ferry::StateRead<Config> &>()), const Config &>);
static_assert(std::is_same_v<decltype(*std::declval<ferry::Call<Query, Answer> &>()), const Query &>);
static_assert(std::is_same_v<decltype(*std::declval<ferry::ResponseLoan<Answer> &>()), Answer &>);

static void test_events(const std::string &dom)
{
    ferry::Node node("cpp_events", node_opts(dom));
    auto listener = node.listener("cpp/ev", ferry::EventOptions().max_event_id(127));
    {
        auto notifier = node.notifier("cpp/ev", ferry::EventOptions().max_event_id(127));
        CHECK(listener.try_wait().empty());
        CHECK(listener.wait(10ms).empty());
        notifier.notify(5);
        notifier.notify(3);
        notifier.notify(5); // coalesces
        auto ids = listener.wait(1s);
        CHECK((ids == std::vector<std::uint32_t>{3, 5}));
        CHECK(listener.try_wait().empty());
        CHECK_THROWS(notifier.notify(128), ferry::Errc::invalid_argument);

        // More ids than one chunk of the vector overloads.
        for (std::uint32_t i = 0; i <= 127; i++)
            notifier.notify(i);
        ids = listener.try_wait();
        CHECK(ids.size() == 128 && ids.front() == 0 && ids.back() == 127);

        // The span overloads: ids that do not fit stay pending.
        notifier.notify(1);
        notifier.notify(2);
        notifier.notify(9);
        std::array<std::uint32_t, 2> buf{};
        auto got = listener.wait(ferry::Span<std::uint32_t>(buf), 1s);
        CHECK(got.size() == 2 && got[0] == 1 && got[1] == 2);
        got = listener.try_wait(ferry::Span<std::uint32_t>(buf));
        CHECK(got.size() == 1 && got[0] == 9);
        CHECK(listener.try_wait(ferry::Span<std::uint32_t>(buf)).empty());

        // fd: readable while ids are pending.
        int fd = listener.fd();
        CHECK(fd >= 0);
        notifier.notify(7);
        pollfd p{fd, POLLIN, 0};
        CHECK(poll(&p, 1, 1000) == 1);
        CHECK((listener.try_wait() == std::vector<std::uint32_t>{7}));

        // From another thread, to a sleeping listener.
        std::thread t([&] {
            cpp_test::sleep_ms(20);
            notifier.notify(11);
        });
        ids = listener.wait();
        t.join();
        CHECK((ids == std::vector<std::uint32_t>{11}));
    } // the notifier closes: peer_gone
    auto ids = listener.wait(2s);
    CHECK(!ids.empty() && ids.back() == ferry::peer_gone);
    CHECK_THROWS(ferry::Listener(node, "cpp/ev", ferry::EventOptions().max_event_id(3)),
                 ferry::Errc::incompatible);

    ferry::Listener moved = std::move(listener);
    CHECK(moved && !listener);
    CHECK_THROWS(listener.try_wait(), ferry::Errc::invalid_argument);
}

static void test_waitset(const std::string &dom)
{
    ferry::Node node("cpp_ws", node_opts(dom));
    auto pub = node.publisher<std::uint32_t>("cpp/ws/data");
    auto sub = node.subscriber<std::uint32_t>("cpp/ws/data");
    auto notifier = node.notifier("cpp/ws/ev");
    auto listener = node.listener("cpp/ws/ev");
    ferry::WaitSet ws;

    std::vector<std::uint32_t> samples, events;
    int ticks = 0, deadlines = 0;
    auto a_sub = ws.attach(sub, [&](const ferry::WaitEvent &e) {
        CHECK(e.kind == ferry::SourceKind::subscriber);
        while (auto s = sub.take())
            samples.push_back(*s);
    });
    auto a_lis = ws.attach(listener, [&](const ferry::WaitEvent &e) {
        CHECK(e.kind == ferry::SourceKind::listener);
        for (auto id : listener.try_wait())
            events.push_back(id);
    });
    CHECK(ws.size() == 2 && a_sub && a_lis && a_sub != a_lis);

    CHECK(ws.wait(10ms) == 0); // nothing ready
    pub.publish(41);
    pub.publish(42);
    notifier.notify(4);
    unsigned fired = 0;
    auto until = cpp_test::clock::now() + 2s;
    while ((samples.size() < 2 || events.empty()) && cpp_test::clock::now() < until)
        fired += ws.wait(100ms);
    CHECK(fired >= 2);
    CHECK((samples == std::vector<std::uint32_t>{41, 42}));
    CHECK((events == std::vector<std::uint32_t>{4}));

    // A deadline that detaches itself from its own callback.
    ferry::Attachment a_dl;
    a_dl = ws.attach_deadline(5ms, [&](const ferry::WaitEvent &e) {
        CHECK(e.kind == ferry::SourceKind::deadline);
        deadlines++;
        ws.detach(e.attachment);
        CHECK(e.attachment == a_dl);
    });
    CHECK(ws.size() == 3);
    CHECK(ws.wait(2s) == 1);
    CHECK(deadlines == 1 && ws.size() == 2);
    CHECK_THROWS(ws.detach(a_dl), ferry::Errc::invalid_argument);

    // An interval with run() and stop() from its callback.
    auto a_int = ws.attach_interval(2ms, [&](const ferry::WaitEvent &e) {
        CHECK(e.kind == ferry::SourceKind::interval);
        if (++ticks == 3)
            ws.stop();
    });
    ws.run();
    CHECK(ticks == 3);
    ws.detach(a_int);

    // A user pointer and the handler of wait().
    int fds[2];
    CHECK(pipe(fds) == 0);
    int marker = 0;
    auto a_fd = ws.attach_fd(fds[0], &marker);
    CHECK(write(fds[1], "x", 1) == 1);
    bool seen = false;
    ferry::WaitSet::Callback handler = [&](const ferry::WaitEvent &e) {
        if (e.kind == ferry::SourceKind::fd) {
            CHECK(e.user == &marker);
            char c;
            CHECK(read(fds[0], &c, 1) == 1);
            seen = true;
        }
    };
    until = cpp_test::clock::now() + 2s;
    while (!seen && cpp_test::clock::now() < until)
        ws.wait(100ms, handler);
    CHECK(seen);
    ws.detach(a_fd);
    close(fds[0]);
    close(fds[1]);

    // An exception from a callback comes out of wait().
    auto a_throw = ws.attach_deadline(1ms, [](const ferry::WaitEvent &) { throw std::runtime_error("boom"); });
    bool caught = false;
    try {
        ws.wait(2s);
    } catch (const std::runtime_error &e) {
        caught = std::strcmp(e.what(), "boom") == 0;
    }
    CHECK(caught);
    ws.detach(a_throw);

    // Detaching another source from a callback: two sources ready in one
    // round, each callback detaches both; the second must not run.
    ws.detach(a_sub);
    ws.detach(a_lis);
    pub.publish(1);
    notifier.notify(1);
    int calls = 0;
    auto both = [&](const ferry::WaitEvent &) {
        calls++;
        ws.detach(a_sub);
        ws.detach(a_lis);
    };
    a_sub = ws.attach(sub, both);
    a_lis = ws.attach(listener, both);
    cpp_test::sleep_ms(5);
    CHECK(ws.wait(2s) == 1);
    CHECK(calls == 1 && ws.size() == 0);
    CHECK(ws.wait(10ms) == 0);
    CHECK(sub.take() && !listener.try_wait().empty());
    CHECK_THROWS(ws.attach_deadline(0ms, ferry::WaitSet::Callback()), ferry::Errc::invalid_argument);
}

static void test_reqres(const std::string &dom)
{
    ferry::Node node("cpp_rr", node_opts(dom));
    auto client = node.client<Query, Answer>("cpp/rr/sum");
    CHECK(!client.take());
    CHECK(!client.wait(1ms)); // no call open
    CHECK(!client.wait_for_server(0ms));
    CHECK_THROWS(client.send_copy(Query{1, 2}), ferry::Errc::not_found);
    {
        auto req = client.loan();
        req->a = 1;
        CHECK_THROWS(req.send(), ferry::Errc::not_found);
        CHECK(req); // kept: no server
    }
    auto server = node.server<Query, Answer>("cpp/rr/sum");
    CHECK(client.wait_for_server(1s));
    CHECK(!server.take());

    // Zero-copy request, streamed responses, finish by the destructor.
    auto req = client.loan();
    req->a = 20;
    req->b = 22;
    const std::uint64_t id = client.send(req);
    CHECK(!req);
    CHECK(client.pending() == 1);
    {
        auto call = server.take(1s);
        CHECK(call);
        CHECK(call->a == 20 && call->b == 22 && call.size_bytes() == sizeof(Query));
        auto resp = call.loan();
        resp->sum = call->a + call->b;
        resp->part = 1;
        CHECK(call.respond(resp));
        CHECK(!resp);
        CHECK(call.respond(Answer{0, 2}));
    } // ~Call finishes: end-of-stream marker
    auto r1 = client.take(1s);
    CHECK(r1 && r1.has_payload() && !r1.last() && r1.call_id() == id);
    CHECK(r1->sum == 42 && r1->part == 1);
    auto r2 = client.take(1s);
    CHECK(r2 && r2->part == 2 && !r2.last());
    auto r3 = client.take(1s);
    CHECK(r3 && !r3.has_payload() && r3.last() && !r3.disconnected() && r3.call_id() == id);
    r1.release();
    r2 = ferry::Reply<Answer>();
    CHECK(client.pending() == 0);

    // Copy in, last response, explicit finish.
    const std::uint64_t id2 = client.send_copy(Query{5, 6});
    CHECK(id2 != id);
    {
        auto call = server.take(1s);
        CHECK(call && call.token() != 0);
        CHECK(call.respond(Answer{11, 0}, true));
        call.finish();
        CHECK(!call);
        call.finish(); // no-op
    }
    auto r4 = client.take(1s);
    CHECK(r4 && r4.has_payload() && r4.last() && r4->sum == 11 && r4.call_id() == id2);

    // Abort: the client takes the call as disconnected.
    const std::uint64_t id3 = client.send_copy(Query{7, 8});
    {
        auto call = server.take(1s);
        CHECK(call);
        call.abort();
        CHECK(!call);
        call.abort(); // no-op
    }
    auto r5 = client.take(1s);
    CHECK(r5 && r5.disconnected() && !r5.has_payload() && r5.call_id() == id3);
    CHECK(client.pending() == 0);

    // Slices of bytes both ways (the C and Python default "bytes" type).
    auto bclient = node.client<std::byte[], char[]>("cpp/rr/bytes");
    auto bserver = node.server<std::byte[], char[]>("cpp/rr/bytes");
    auto breq = bclient.loan(3);
    CHECK(breq.size() == 3);
    breq[0] = std::byte{1};
    breq[1] = std::byte{2};
    breq[2] = std::byte{3};
    const std::uint64_t bid = breq.send();
    {
        auto call = bserver.take(1s);
        CHECK(call && call.size() == 3 && call[2] == std::byte{3});
        const char text[] = "hello";
        CHECK(call.respond(ferry::Span<const char>(text, 5), true));
        CHECK_THROWS(call.respond(ferry::Span<const char>(text, 5)), ferry::Errc::invalid_argument);
    }
    auto br = bclient.take(1s);
    CHECK(br && br.call_id() == bid && br.last() && std::string(br.data(), br.size()) == "hello");
    CHECK_THROWS(bclient.loan(5000), ferry::Errc::invalid_argument);

    // Mismatched types are refused.
    CHECK_THROWS((ferry::Client<Answer, Query>(node, "cpp/rr/sum")), ferry::Errc::incompatible);
    // Moved-from ports throw. (Replies must not outlive their client: this
    // one is a fresh client.)
    {
        auto c3 = node.client<Query, Answer>("cpp/rr/sum");
        auto c4 = std::move(c3);
        CHECK(c4 && !c3);
        CHECK_THROWS(c3.loan(), ferry::Errc::invalid_argument);
    }
}

static void test_state(const std::string &dom)
{
    ferry::Node node("cpp_state", node_opts(dom));
    auto reader = node.state_reader<Config>("cpp/state/config");
    CHECK(!reader.read()); // nothing published yet
    CHECK(reader.get().second == 0);
    CHECK(reader.wait(0, 10ms) == ferry::WaitResult::timed_out);
    {
        auto writer = node.state_writer<Config>("cpp/state/config");
        CHECK_THROWS(node.state_writer<Config>("cpp/state/config"), ferry::Errc::limit);
        auto loan = writer.loan();
        loan->gain = 3;
        loan->offset = 0.5;
        std::strcpy(loan->label, "first");
        const std::uint64_t v1 = loan.publish();
        CHECK(v1 == 1 && !loan);
        CHECK(reader.wait(0, 1s) == ferry::WaitResult::ready);
        {
            auto r = reader.read();
            CHECK(r && r.version() == 1 && r->gain == 3 && std::strcmp(r->label, "first") == 0);
            CHECK_THROWS(reader.read(), ferry::Errc::limit); // one read at a time
            // The writer publishes meanwhile: the open read does not change.
            Config c{7, 1.5, "second"};
            CHECK(writer.write(c) == 2);
            CHECK(r->gain == 3 && r.version() == 1);
        }
        auto [value, version] = reader.get();
        CHECK(version == 2 && value.gain == 7 && std::strcmp(value.label, "second") == 0);
        {
            auto unused = writer.loan(); // discarded
        }
        // A waiter in another thread.
        std::thread t([&] {
            cpp_test::sleep_ms(20);
            writer.write(Config{9, 0, "third"});
        });
        CHECK(reader.wait(2, 2s) == ferry::WaitResult::ready);
        t.join();
        CHECK(reader.read().version() == 3);
    } // the writer goes away
    CHECK(reader.wait(3, 2s) == ferry::WaitResult::disconnected);
    CHECK(reader.read()->gain == 9); // the value stays

    // Slices.
    auto sw = node.state_writer<float[]>("cpp/state/floats", ferry::StateOptions().max_elements(8));
    auto sr = node.state_reader<float[]>("cpp/state/floats", ferry::StateOptions().max_elements(8));
    const float f[3] = {1.f, 2.f, 3.f};
    CHECK(sw.write(f) == 1);
    {
        auto r = sr.read();
        CHECK(r && r.size() == 3 && r[2] == 3.f);
    }
    auto big = sw.loan();
    CHECK(big.size() == 8);
    big.discard();
    CHECK_THROWS(node.state_reader<double>("cpp/state/floats"), ferry::Errc::incompatible);
}

int main()
{
    const std::string dom = domain("pat");
    cpp_test::run("events", [&] { test_events(dom); });
    cpp_test::run("waitset", [&] { test_waitset(dom); });
    cpp_test::run("reqres", [&] { test_reqres(dom); });
    cpp_test::run("state", [&] { test_state(dom); });
    CHECK(cpp_test::leftovers(dom) == 0);
    std::printf("cpp_patterns_test: all passed\n");
    return 0;
}
