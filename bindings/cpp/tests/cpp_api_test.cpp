// cpp_api_test: the typed C++ API in one process: loans and sends, takes and
// releases, RAII, moves, options, type checks, errors, listing.
#include "cpp_test.hpp"

#include <poll.h>

#include <array>
#include <chrono>
#include <cstring>
#include <thread>
#include <string>
#include <type_traits>
#include <utility>

namespace {

struct Pose {
    std::uint64_t stamp;
    double x, y, z;
    std::uint32_t frame;
    static constexpr const char *ferry_type_name = "cpp_test.pose.v1";
};

struct Wide {
    alignas(32) float v[8];
};

struct Named {
    std::int32_t a;
    std::int32_t b;
};

struct Initialised {
    std::uint32_t magic = 0xfeedu;
    std::uint32_t value = 0;
};

} // namespace

FERRY_TYPE_NAME(Wide, "cpp_test.wide.v1")
FERRY_TYPE_NAME(Named, "cpp_test.named.v1")
FERRY_TYPE_NAME(Initialised, "cpp_test.initialised.v1")

// Compile-time properties of the API.
static_assert(!std::is_copy_constructible_v<ferry::Node> && std::is_nothrow_move_constructible_v<ferry::Node>);
static_assert(!std::is_copy_constructible_v<ferry::Publisher<Pose>> &&
              std::is_nothrow_move_constructible_v<ferry::Publisher<Pose>> &&
              std::is_nothrow_move_assignable_v<ferry::Publisher<Pose>>);
static_assert(!std::is_copy_constructible_v<ferry::Subscriber<Pose>> &&
              std::is_nothrow_move_constructible_v<ferry::Subscriber<Pose>>);
static_assert(!std::is_copy_constructible_v<ferry::Sample<Pose>> &&
              std::is_nothrow_move_constructible_v<ferry::Sample<Pose>>);
static_assert(!std::is_copy_assignable_v<ferry::Received<Pose>> &&
              std::is_nothrow_move_assignable_v<ferry::Received<Pose>>);
static_assert(std::is_base_of_v<std::runtime_error, ferry::Error>);

using cpp_test::domain;
using cpp_test::node_opts;

static void test_roundtrip(const std::string &dom)
{
    ferry::Node node("cpp_api", node_opts(dom));
    CHECK(std::string(node.domain()) == dom);
    CHECK(std::string(node.name()) == "cpp_api");
    CHECK(node.id() != 0);

    auto sub = node.subscriber<Pose>("cpp/pose");
    auto pub = node.publisher<Pose>("cpp/pose", ferry::Options().timestamps(true));
    CHECK(pub.type_name() == "cpp_test.pose.v1");
    CHECK(pub.max_payload() == sizeof(Pose) && pub.alignment() == alignof(Pose));
    CHECK(!sub.take()); // nothing yet: an empty Received, not an error

    {
        auto s = pub.loan();
        CHECK(s && s.size_bytes() == sizeof(Pose));
        CHECK(reinterpret_cast<std::uintptr_t>(s.get()) % alignof(Pose) == 0);
        s->stamp = 42;
        s->x = 1.5;
        s->y = -2.5;
        s->z = 3.25;
        (*s).frame = 7;
        CHECK(pub.stats().loans == 1);
        s.send();
        CHECK(!s && s.size_bytes() == 0);
        CHECK_THROWS(s.send(), ferry::Errc::invalid_argument); // consumed
        CHECK(pub.stats().loans == 0 && pub.stats().sent == 1);
    }
    pub.publish(Pose{43, 0, 0, 0, 8});

    auto r = sub.take();
    CHECK(r);
    CHECK(r->stamp == 42 && r->x == 1.5 && r->y == -2.5 && r->z == 3.25 && (*r).frame == 7);
    ferry::SampleInfo info = r.info();
    CHECK(info.sequence == 1);
    CHECK(info.publisher_id == pub.id() && pub.id() != 0);
    CHECK(info.size == sizeof(Pose));
    CHECK(info.timestamp_ns > 0);
    CHECK(sub.stats().borrowed == 1);
    r.release();
    CHECK(!r);
    CHECK(sub.stats().borrowed == 0);
    CHECK_THROWS(r.info(), ferry::Errc::invalid_argument);
    r.release(); // no-op on an empty sample

    auto r2 = sub.take();
    CHECK(r2 && r2->stamp == 43 && r2.info().sequence == 2);
    CHECK(sub.stats().received == 2);
}

// Destructors give loans and taken samples back; moves transfer them.
static void test_raii_and_moves(const std::string &dom)
{
    ferry::Node node("cpp_raii", node_opts(dom));
    auto opts = ferry::Options().max_loans(2).max_borrowed(2).queue_capacity(4);
    auto pub = node.publisher<Pose>("cpp/raii", opts);
    auto sub = node.subscriber<Pose>("cpp/raii", opts);

    {
        auto a = pub.loan();
        auto b = pub.loan();
        CHECK(pub.stats().loans == 2);
        CHECK_THROWS(pub.loan(), ferry::Errc::limit); // max_loans
        try {
            pub.loan();
        } catch (const ferry::Error &e) {
            CHECK(e.value() == FERRY_ELIMIT);
            CHECK(!e.message().empty());
            CHECK(std::string(e.what()).find("ferry: ") == 0);
            CHECK(std::string(e.what()).find(e.message()) != std::string::npos);
        }
        ferry::Sample<Pose> c = std::move(a); // a is empty now
        CHECK(!a && c);
        a.discard(); // no-op
        c = std::move(b); // discards c's first loan
        CHECK(pub.stats().loans == 1);
    }
    CHECK(pub.stats().loans == 0); // destructors discarded the rest
    CHECK(pub.stats().sent == 0);

    for (std::uint64_t i = 0; i < 3; i++)
        pub.publish(Pose{i, 0, 0, 0, 0});
    {
        auto r1 = sub.take();
        auto r2 = sub.take();
        CHECK(r1 && r2 && r1->stamp == 0 && r2->stamp == 1);
        CHECK_THROWS(sub.take(), ferry::Errc::limit); // max_borrowed
        ferry::Received<Pose> moved = std::move(r1);
        CHECK(!r1 && moved && moved->stamp == 0);
        moved = std::move(r2); // releases the first
        CHECK(sub.stats().borrowed == 1);
    }
    CHECK(sub.stats().borrowed == 0);
    auto r3 = sub.take();
    CHECK(r3 && r3->stamp == 2);

    // Moving ports: the moved-to one works, the moved-from one throws.
    ferry::Publisher<Pose> pub2 = std::move(pub);
    CHECK(pub2 && !pub);
    CHECK(pub.id() == 0);
    CHECK_THROWS(pub.loan(), ferry::Errc::invalid_argument);
    CHECK_THROWS(pub.stats(), ferry::Errc::invalid_argument);
    pub2.publish(Pose{9, 0, 0, 0, 0});
    r3.release();
    auto r4 = sub.take();
    CHECK(r4 && r4->stamp == 9);
    r4.release();

    // Move assignment closes the port assigned over.
    auto other = node.publisher<Pose>("cpp/raii_other");
    CHECK(ferry::list_services(dom).size() == 2);
    other = std::move(pub2);
    CHECK(ferry::list_services(dom).size() == 1); // cpp/raii_other had no port left
    other.publish(Pose{10, 0, 0, 0, 0});
    auto r5 = sub.take();
    CHECK(r5 && r5->stamp == 10);
}

// loan() default-initialises: a T with member initialisers arrives initialised.
static void test_default_init(const std::string &dom)
{
    ferry::Node node("cpp_init", node_opts(dom));
    auto pub = node.publisher<Initialised>("cpp/init");
    auto sub = node.subscriber<Initialised>("cpp/init");
    auto s = pub.loan();
    CHECK(s->magic == 0xfeedu && s->value == 0);
    s->value = 5;
    pub.send(std::move(s));
    auto r = sub.take();
    CHECK(r && r->magic == 0xfeedu && r->value == 5);
}

// Overflow::block: try_send returns false on a full queue and keeps the loan.
static void test_try_send(const std::string &dom)
{
    ferry::Node node("cpp_try", node_opts(dom));
    auto opts = ferry::Options().overflow(ferry::Overflow::block).queue_capacity(1);
    auto sub = node.subscriber<std::uint64_t>("cpp/try", opts);
    auto pub = node.publisher<std::uint64_t>("cpp/try", opts);
    CHECK(pub.type_name() == "u64");

    auto a = pub.loan();
    *a = 1;
    CHECK(pub.try_send(a));
    CHECK(!a);
    auto b = pub.loan();
    *b = 2;
    CHECK(!b.try_send()); // the subscriber's queue is full
    CHECK(b && *b == 2 && pub.stats().loans == 1);
    {
        auto r = sub.take();
        CHECK(r && *r == 1);
    }
    CHECK(b.try_send());
    auto r = sub.take();
    CHECK(r && *r == 2);
    CHECK(sub.stats().lost == 0);
}

// A late subscriber gets history once the publisher updates.
static void test_history(const std::string &dom)
{
    ferry::Node node("cpp_hist", node_opts(dom));
    auto opts = ferry::Options().history(2).queue_capacity(4);
    auto pub = node.publisher<std::int32_t>("cpp/hist", opts);
    for (std::int32_t i = 1; i <= 3; i++)
        pub.publish(i);
    auto sub = node.subscriber<std::int32_t>("cpp/hist", opts);
    pub.update();
    CHECK(pub.stats().subscribers == 1);
    auto a = sub.take();
    auto b = sub.take();
    CHECK(a && b && *a == 2 && *b == 3);
    a.release();
    b.release();
    CHECK(!sub.take());
}

// Type name, size and alignment make the type check; errors name the field.
static void test_type_checks(const std::string &dom)
{
    static_assert(sizeof(Wide) == 32 && alignof(Wide) == 32);
    CHECK(std::string(ferry::type_name<Wide>()) == "cpp_test.wide.v1");
    CHECK(std::string(ferry::type_name<Pose>()) == "cpp_test.pose.v1");
    CHECK(std::string(ferry::type_name<std::int8_t>()) == "i8");
    CHECK(std::string(ferry::type_name<std::uint16_t>()) == "u16");
    CHECK(std::string(ferry::type_name<long long>()) == "i64");
    CHECK(std::string(ferry::type_name<float>()) == "f32");
    CHECK(std::string(ferry::type_name<double>()) == "f64");
    CHECK(std::string(ferry::type_name<bool>()) == "bool");
    CHECK(std::string(ferry::type_name<std::byte>()) == "byte");
    CHECK(std::string(ferry::type_name<std::array<float, 3>>()) == "f32[3]");
    CHECK(std::string(ferry::type_name<std::array<Named, 2>>()) == "cpp_test.named.v1[2]");

    ferry::Node node("cpp_types", node_opts(dom));
    auto wide = node.publisher<Wide>("cpp/wide");
    CHECK(wide.alignment() == 32);
    auto s = wide.loan();
    CHECK(reinterpret_cast<std::uintptr_t>(s.get()) % 32 == 0);
    s.discard();

    // Another type on the same service.
    try {
        node.subscriber<Named>("cpp/wide");
        CHECK(false); // no exception
    } catch (const ferry::Error &e) {
        CHECK(e.code() == ferry::Errc::incompatible);
        CHECK(e.message().find("cpp_test.named.v1") != std::string::npos);
    }
    // Same name, other size: a changed struct must not pass as the old one.
    CHECK_THROWS(node.subscriber<Named>("cpp/wide", ferry::Options().type_name("cpp_test.wide.v1")),
                 ferry::Errc::incompatible);
    // Other overflow policy.
    CHECK_THROWS(node.subscriber<Wide>("cpp/wide", ferry::Options().overflow(ferry::Overflow::block)),
                 ferry::Errc::incompatible);
    // Options that make no sense for a port of one T.
    CHECK_THROWS(node.publisher<Wide>("cpp/wide2", ferry::Options().alignment(8)), ferry::Errc::invalid_argument);
    CHECK_THROWS(node.publisher<Wide>("cpp/wide2", ferry::Options().max_elements(4)),
                 ferry::Errc::invalid_argument);
    // Alignment above alignof(T) is allowed, and part of the check.
    auto a64 = node.publisher<Named>("cpp/aligned", ferry::Options().alignment(64));
    CHECK(a64.alignment() == 64);
    CHECK_THROWS(node.subscriber<Named>("cpp/aligned"), ferry::Errc::incompatible);
    auto sub64 = node.subscriber<Named>("cpp/aligned", ferry::Options().alignment(64));
    a64.publish(Named{1, 2});
    auto r = sub64.take();
    CHECK(r && r->a == 1 && r->b == 2);
}

// A sample that is not sizeof(T) bytes (from a C publisher) is refused.
static void test_wrong_size_rejected(const std::string &dom)
{
    ferry::Node node("cpp_size", node_opts(dom));
    auto sub = node.subscriber<Pose>("cpp/size");
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = ferry::type_name<Pose>();
    o.max_payload = sizeof(Pose);
    o.alignment = alignof(Pose);
    ferry_pub *raw = nullptr;
    CHECK(ferry_pub_open(&raw, node.c_handle(), "cpp/size", &o) == FERRY_OK);
    const char four[4] = {1, 2, 3, 4};
    CHECK(ferry_pub_send_copy(raw, four, sizeof four) == FERRY_OK);
    CHECK_THROWS(sub.take(), ferry::Errc::incompatible);
    CHECK(sub.stats().borrowed == 0); // released unread
    Pose p{};
    p.stamp = 5;
    CHECK(ferry_pub_send_copy(raw, &p, sizeof p) == FERRY_OK);
    auto r = sub.take();
    CHECK(r && r->stamp == 5);
    r.release();
    ferry_pub_close(raw);
}

// Ports keep their node open: a port may outlive the Node object.
static void test_node_lifetime(const std::string &dom)
{
    ferry::Publisher<std::uint32_t> pub = ferry::Node("cpp_tmp", node_opts(dom)).publisher<std::uint32_t>("cpp/tmp");
    ferry::Subscriber<std::uint32_t> sub = [&] {
        ferry::Node n("cpp_tmp2", node_opts(dom));
        return n.subscriber<std::uint32_t>("cpp/tmp");
    }();
    bool found = false;
    for (const auto &n : ferry::list_nodes(dom))
        found = found || (n.name == "cpp_tmp" && n.alive);
    CHECK(found);
    pub.publish(77u);
    auto r = sub.take();
    CHECK(r && *r == 77u);

    ferry::Node a("cpp_moved", node_opts(dom));
    ferry::Node b = std::move(a);
    CHECK(b && !a);
    CHECK(std::string(a.name()).empty() && a.id() == 0);
    CHECK_THROWS(a.publisher<std::uint32_t>("cpp/tmp"), ferry::Errc::invalid_argument);
    auto p2 = b.publisher<std::uint32_t>("cpp/tmp");
    b = ferry::Node("cpp_moved2", node_opts(dom)); // p2 keeps the first node open
    p2.publish(78u);
    r.release();
    r = sub.take();
    CHECK(r && *r == 78u && r.info().publisher_id == p2.id());
}

static void test_errors(const std::string &dom)
{
    CHECK_THROWS(ferry::Node("", node_opts(dom)), ferry::Errc::invalid_argument);
    CHECK_THROWS(ferry::Node("x", node_opts("bad domain!")), ferry::Errc::invalid_argument);
    ferry::Node node("cpp_err", node_opts(dom));
    CHECK_THROWS(node.publisher<Pose>("/leading/slash"), ferry::Errc::invalid_argument);
    CHECK_THROWS(node.publisher<Pose>("a//b"), ferry::Errc::invalid_argument);
    CHECK_THROWS(node.publisher<Pose>("cpp/q", ferry::Options().queue_capacity(0)), ferry::Errc::invalid_argument);
    try {
        node.publisher<Pose>("a/../b");
    } catch (const ferry::Error &e) {
        CHECK(e.message().find("a/../b") != std::string::npos);
    }
    CHECK(std::string(ferry::strerror(ferry::Errc::limit)) == ferry_strerror(FERRY_ELIMIT));
    ferry::Error e(FERRY_ENOTFOUND, "");
    CHECK(std::string(e.what()) == std::string("ferry: ") + ferry_strerror(FERRY_ENOTFOUND));
    CHECK(std::string(ferry::version()) == ferry_version());
}

// Blocking receive: wait(), take(timeout), the pollable fd, departures.
static void test_waiting(const std::string &dom)
{
    using namespace std::chrono_literals;
    ferry::Node node("cpp_wait", node_opts(dom));
    auto sub = node.subscriber<std::uint32_t>("cpp/wait");
    sub.set_wait_options(ferry::WaitOptions().spin(2us).liveness(20ms));
    auto pub = node.publisher<std::uint32_t>("cpp/wait");

    auto t0 = cpp_test::clock::now();
    CHECK(!sub.take(20ms)); // nothing comes
    CHECK(cpp_test::clock::now() - t0 >= 20ms);
    CHECK(sub.wait(0ms) == ferry::WaitResult::timed_out);
    CHECK(!sub.take(0ms));

    const int fd = sub.fd();
    CHECK(fd >= 0);
    pollfd pfd{fd, POLLIN, 0};
    CHECK(poll(&pfd, 1, 0) == 0); // not readable: nothing queued
    pub.publish(1u);
    CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN));
    CHECK(sub.wait(1s) == ferry::WaitResult::ready);
    auto r = sub.take(0ms);
    CHECK(r && *r == 1u);
    r.release();

    // A publisher in another thread wakes a subscriber that waits forever.
    std::thread later([p = std::move(pub)]() mutable {
        std::this_thread::sleep_for(20ms);
        p.publish(2u);
    });
    r = sub.take(ferry::forever);
    later.join(); // the thread's publisher is closed now
    CHECK(r && *r == 2u);
    r.release();
    // Its departure is reported once, while nothing is queued.
    CHECK(sub.wait(2s) == ferry::WaitResult::disconnected);
    CHECK(sub.wait(10ms) == ferry::WaitResult::timed_out);
}

static void test_listing(const std::string &dom)
{
    ferry::Node node("cpp_list", node_opts(dom));
    auto opts = ferry::Options().history(1).queue_capacity(8).max_publishers(2).max_subscribers(3).overflow(
        ferry::Overflow::block);
    auto pub = node.publisher<Pose>("cpp/list/a", opts);
    auto sub = node.subscriber<Pose>("cpp/list/a", opts);
    auto sub2 = node.subscriber<std::uint8_t[]>("cpp/list/b");

    auto services = ferry::list_services(dom);
    CHECK(services.size() == 2);
    bool seen_a = false, seen_b = false;
    for (const auto &s : services) {
        CHECK(s.pattern == ferry::Pattern::pubsub);
        if (s.name == "cpp/list/a") {
            seen_a = true;
            CHECK(s.type_name == "cpp_test.pose.v1");
            CHECK(s.max_payload == sizeof(Pose) && s.alignment == alignof(Pose));
            CHECK(s.history == 1 && s.queue_capacity == 8 && s.max_publishers == 2 && s.max_subscribers == 3);
            CHECK(s.overflow == ferry::Overflow::block);
            CHECK(s.publishers == 1 && s.subscribers == 1);
        } else if (s.name == "cpp/list/b") {
            seen_b = true;
            CHECK(s.type_name == "bytes" && s.max_payload == 4096 && s.alignment == 8);
            CHECK(s.publishers == 0 && s.subscribers == 1);
        }
    }
    CHECK(seen_a && seen_b);

    auto nodes = ferry::list_nodes(dom);
    CHECK(nodes.size() == 1);
    CHECK(nodes[0].name == "cpp_list" && nodes[0].id == node.id() && nodes[0].alive);
    CHECK(nodes[0].pid == static_cast<long>(getpid()));
    CHECK(ferry::cleanup(dom) == 0); // nothing dead to remove
    CHECK_THROWS(ferry::list_services("no way"), ferry::Errc::invalid_argument);
}

int main()
{
    const std::string dom = domain("api");
    cpp_test::run("roundtrip", [&] { test_roundtrip(dom); });
    cpp_test::run("raii_and_moves", [&] { test_raii_and_moves(dom); });
    cpp_test::run("default_init", [&] { test_default_init(dom); });
    cpp_test::run("try_send", [&] { test_try_send(dom); });
    cpp_test::run("history", [&] { test_history(dom); });
    cpp_test::run("type_checks", [&] { test_type_checks(dom); });
    cpp_test::run("wrong_size_rejected", [&] { test_wrong_size_rejected(dom); });
    cpp_test::run("node_lifetime", [&] { test_node_lifetime(dom); });
    cpp_test::run("errors", [&] { test_errors(dom); });
    cpp_test::run("waiting", [&] { test_waiting(dom); });
    cpp_test::run("listing", [&] { test_listing(dom); });
    CHECK(cpp_test::leftovers(dom) == 0);
    std::printf("cpp_api_test: all passed\n");
    return 0;
}
