// cpp_slice_test: slice ports (Publisher<T[]>, Subscriber<T[]>), ferry::Span,
// and byte slices meeting C ports opened with the C API's default options.
// Built as C++20 where the compiler has it, to cover the std::span conversion.
#include "cpp_test.hpp"

#include <array>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

using cpp_test::domain;
using cpp_test::node_opts;

namespace {
struct Point {
    float x, y;
    static constexpr const char *ferry_type_name = "cpp_test.point.v1";
};
} // namespace

static void test_span()
{
    int raw[4] = {1, 2, 3, 4};
    ferry::Span<int> s(raw);
    CHECK(s.size() == 4 && s.size_bytes() == 16 && !s.empty() && s.front() == 1 && s.back() == 4);
    CHECK(std::accumulate(s.begin(), s.end(), 0) == 10);
    ferry::Span<const int> c = s; // T -> const T
    CHECK(c.data() == raw && c[2] == 3);
    std::vector<int> v{5, 6};
    ferry::Span<const int> cv(v);
    CHECK(cv.size() == 2 && cv[1] == 6);
    const std::array<int, 3> arr{7, 8, 9};
    ferry::Span<const int> ca(arr);
    CHECK(ca.size() == 3 && ca.subspan(1, 2)[0] == 8 && ca.first(1).size() == 1);
    CHECK(ferry::Span<int>().empty());
#ifdef FERRY_HPP_HAS_STD_SPAN
    std::span<const int> std_span = ca; // a contiguous range
    std::span<int> from_temporary = ferry::Span<int>(raw); // a borrowed range
    CHECK(from_temporary.size() == 4);
    CHECK(std_span.size() == 3 && std_span[2] == 9);
    std::printf("   (std::span conversion checked)\n");
#endif
}

static void test_slices(const std::string &dom)
{
    ferry::Node node("cpp_slices", node_opts(dom));
    auto opts = ferry::Options().max_elements(8);
    auto pub = node.publisher<float[]>("cpp/floats", opts);
    auto sub = node.subscriber<float[]>("cpp/floats", opts);
    CHECK(pub.type_name() == "f32[]");
    CHECK(pub.max_elements() == 8 && sub.max_elements() == 8);
    CHECK(pub.max_payload() == 8 * sizeof(float) && pub.alignment() == 8);

    auto s = pub.loan(3);
    CHECK(s.size() == 3 && s.size_bytes() == 12 && s.span().size() == 3);
    s[0] = 1.5f;
    s[1] = 2.5f;
    s[2] = 3.5f;
    s.send();
    CHECK(s.size() == 0);
    std::vector<float> v{9.f, 8.f, 7.f, 6.f, 5.f, 4.f, 3.f, 2.f};
    pub.publish(v);
    CHECK_THROWS(pub.loan(0), ferry::Errc::invalid_argument);
    CHECK_THROWS(pub.loan(9), ferry::Errc::invalid_argument);
    CHECK_THROWS(pub.publish(std::vector<float>()), ferry::Errc::invalid_argument);
    CHECK_THROWS(pub.publish(std::vector<float>(9, 0.f)), ferry::Errc::invalid_argument);

    auto r = sub.take();
    CHECK(r && r.size() == 3 && r[0] == 1.5f && r[1] == 2.5f && r[2] == 3.5f);
    CHECK(r.info().size == 12);
    float sum = 0;
    for (float f : r)
        sum += f;
    CHECK(sum == 7.5f);
    auto r2 = sub.take();
    CHECK(r2 && r2.size() == 8 && std::equal(r2.begin(), r2.end(), v.begin()));
    ferry::Span<const float> view = r2.span();
    CHECK(view.size() == 8 && view[7] == 2.f);

    // Slices of structs, with a larger alignment.
    auto ppub = node.publisher<Point[]>("cpp/points", ferry::Options().max_elements(4).alignment(64));
    auto psub = node.subscriber<Point[]>("cpp/points", ferry::Options().max_elements(4).alignment(64));
    CHECK(ppub.type_name() == "cpp_test.point.v1[]");
    auto ps = ppub.loan(2);
    CHECK(reinterpret_cast<std::uintptr_t>(ps.data()) % 64 == 0);
    ps[0] = Point{1, 2};
    ps[1] = Point{3, 4};
    ppub.send(std::move(ps));
    auto pr = psub.take();
    CHECK(pr && pr.size() == 2 && pr[1].x == 3 && pr[1].y == 4);

    // Other max_elements: another service shape.
    CHECK_THROWS(node.subscriber<float[]>("cpp/floats", ferry::Options().max_elements(4)),
                 ferry::Errc::incompatible);
    // Default max_elements fills the C API's default 4096 bytes.
    auto d = node.publisher<std::uint32_t[]>("cpp/default");
    CHECK(d.max_elements() == 1024 && d.type_name() == "u32[]");
}

// Byte slices are the C API's untyped "bytes", with its default options.
static void test_bytes_meet_c_defaults(const std::string &dom)
{
    ferry::Node node("cpp_bytes", node_opts(dom));
    ferry_sub *csub = nullptr;
    CHECK(ferry_sub_open(&csub, node.c_handle(), "cpp/bytes", nullptr) == FERRY_OK);
    auto pub = node.publisher<std::byte[]>("cpp/bytes");
    CHECK(pub.type_name() == "bytes" && pub.max_elements() == 4096 && pub.alignment() == 8);
    auto s = pub.loan(5);
    std::memcpy(s.data(), "hello", 5);
    s.send();

    const void *p = nullptr;
    size_t size = 0;
    CHECK(ferry_sub_take(csub, &p, &size) == FERRY_OK);
    CHECK(size == 5 && std::memcmp(p, "hello", 5) == 0);
    ferry_sub_release(csub, p);

    // And a C publisher to a C++ char subscriber.
    auto sub = node.subscriber<char[]>("cpp/bytes");
    ferry_pub *cpub = nullptr;
    CHECK(ferry_pub_open(&cpub, node.c_handle(), "cpp/bytes", nullptr) == FERRY_OK);
    CHECK(ferry_pub_send_copy(cpub, "from C", 6) == FERRY_OK);
    auto r = sub.take();
    CHECK(r && std::string(r.data(), r.size()) == "from C");
    r.release();
    ferry_pub_close(cpub);
    ferry_sub_close(csub);
}

// A slice sample that is not a whole number of elements is refused.
static void test_partial_element_rejected(const std::string &dom)
{
    ferry::Node node("cpp_partial", node_opts(dom));
    auto sub = node.subscriber<std::uint32_t[]>("cpp/partial", ferry::Options().max_elements(4));
    ferry_pubsub_opts o;
    ferry_pubsub_opts_init(&o);
    o.type_name = "u32[]";
    o.max_payload = 16;
    o.alignment = 8;
    ferry_pub *cpub = nullptr;
    CHECK(ferry_pub_open(&cpub, node.c_handle(), "cpp/partial", &o) == FERRY_OK);
    CHECK(ferry_pub_send_copy(cpub, "abc", 3) == FERRY_OK);
    CHECK_THROWS(sub.take(), ferry::Errc::incompatible);
    CHECK(sub.stats().borrowed == 0);
    const std::uint32_t two[2] = {10, 20};
    CHECK(ferry_pub_send_copy(cpub, two, sizeof two) == FERRY_OK);
    auto r = sub.take();
    CHECK(r && r.size() == 2 && r[1] == 20);
    r.release();
    ferry_pub_close(cpub);
}

int main()
{
    const std::string dom = domain("slice");
    cpp_test::run("span", [] { test_span(); });
    cpp_test::run("slices", [&] { test_slices(dom); });
    cpp_test::run("bytes_meet_c_defaults", [&] { test_bytes_meet_c_defaults(dom); });
    cpp_test::run("partial_element_rejected", [&] { test_partial_element_rejected(dom); });
    CHECK(cpp_test::leftovers(dom) == 0);
    std::printf("cpp_slice_test: all passed\n");
    return 0;
}
