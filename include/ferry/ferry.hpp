/*
 * ferry C++17 API: a header-only layer over the C API in ferry/ferry.h.
 *
 *   ferry::Node node("imu_driver");
 *   auto pub = node.publisher<Imu>("sensors/imu/front");
 *   auto sample = pub.loan();          // a T in shared memory
 *   sample->frame = 1;
 *   sample.send();                     // zero copy; the loan is consumed
 *
 *   auto sub = node.subscriber<Imu>("sensors/imu/front");
 *   if (auto s = sub.take())           // Received<Imu>; empty when none is queued
 *       use(s->frame, s.info().sequence);  // released when s goes away
 *
 * Ownership: every class is move-only RAII. Ports (Publisher, Subscriber)
 * keep their node open: the node closes when the ferry::Node object and every
 * port made from it are gone, so a port may outlive the Node object. Loans
 * (Sample) and taken samples (Received) refer to their port and must not
 * outlive it, just as an iterator must not outlive its container.
 *
 * Errors: every failure throws ferry::Error (code + the library's message).
 * "Nothing to take" is not an error: take() returns an empty Received, and
 * try_send() returns false when a blocking publisher would have to wait.
 *
 * Threads: as in the C API. A Node may be shared between threads; each port,
 * with its Samples and Received samples, is used by one thread at a time.
 *
 * Guide: docs/cpp.md.
 */
#ifndef FERRY_FERRY_HPP
#define FERRY_FERRY_HPP

#if defined(_MSVC_LANG) ? _MSVC_LANG < 201703L : __cplusplus < 201703L
#error "ferry/ferry.hpp needs C++17 or newer"
#endif

#include <ferry/ferry.h>

#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L && defined(__cpp_lib_ranges)
#include <ranges>
#include <span>
#define FERRY_HPP_HAS_STD_SPAN 1
#endif

namespace ferry {

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* The codes of ferry.h (FERRY_E*), as an enum class. */
enum class Errc : int {
    ok = FERRY_OK,
    invalid_argument = FERRY_EINVAL,
    out_of_memory = FERRY_ENOMEM,
    again = FERRY_EAGAIN,
    timed_out = FERRY_ETIMEDOUT,
    incompatible = FERRY_EINCOMPATIBLE,
    permission_denied = FERRY_EPERM,
    corrupt = FERRY_ECORRUPT,
    limit = FERRY_ELIMIT,
    not_found = FERRY_ENOTFOUND,
    no_space = FERRY_ENOSPC,
    system = FERRY_ESYSTEM,
    disconnected = FERRY_EDISCONNECTED,
};

/* Static text of a code (ferry_strerror). */
inline const char *strerror(Errc code) noexcept { return ferry_strerror(static_cast<int>(code)); }

/* What every failing call throws. what() reads "ferry: <code text>: <message>";
 * message() is the library's detailed message, which names what to change. */
class Error : public std::runtime_error {
public:
    Error(int code, const std::string &message)
        : std::runtime_error(std::string("ferry: ") + ferry_strerror(code) + (message.empty() ? "" : ": ") +
                             message),
          code_(static_cast<Errc>(code)), message_(message)
    {
    }
    Errc code() const noexcept { return code_; }
    int value() const noexcept { return static_cast<int>(code_); }
    const std::string &message() const noexcept { return message_; }

private:
    Errc code_;
    std::string message_;
};

namespace detail {

/* Throws the calling thread's last ferry error; rc is the code a call returned. */
[[noreturn]] inline void throw_error(int rc) { throw Error(rc, ferry_last_error_message()); }

inline void check(int rc)
{
    if (rc != FERRY_OK)
        throw_error(rc);
}

/* "" means "not set": the C API's NULL (env FERRY_DOMAIN, else "default"). */
inline const char *c_str_or_null(const std::string &s) noexcept { return s.empty() ? nullptr : s.c_str(); }

template <class> inline constexpr bool always_false = false;

template <class T, class = void> struct has_member_type_name : std::false_type {
};
template <class T>
struct has_member_type_name<T, std::void_t<decltype(T::ferry_type_name)>>
    : std::is_convertible<decltype(T::ferry_type_name), const char *> {
};

template <class T> struct is_std_array : std::false_type {
};
template <class E, std::size_t N> struct is_std_array<std::array<E, N>> : std::true_type {
};

} // namespace detail

/* ------------------------------------------------------------------------ */
/* Type names                                                               */
/* ------------------------------------------------------------------------ */

/*
 * The name a port of element type T gives the service (the type check is an
 * exact match of name, size and alignment). Resolved in this order:
 *   1. an explicit specialisation, e.g. FERRY_TYPE_NAME(Imu, "acme.imu.v2")
 *      at namespace scope right after the type, or
 *      template <> inline const char *ferry::type_name<Imu>() { return "acme.imu.v2"; }
 *   2. a member: static constexpr const char *ferry_type_name = "acme.imu.v2";
 *   3. built in: "bool", "char", "byte" (std::byte), "i8".."i64", "u8".."u64",
 *      "f32", "f64", and "<element>[N]" for std::array.
 * Any other type does not compile: name it yourself. A name derived from
 * typeid would differ between compilers and ABIs and say nothing to a C or
 * Python peer; put a version in yours and bump it when the layout changes.
 * Names are at most FERRY_TYPE_NAME_MAX (127) characters.
 */
template <class T> inline const char *type_name()
{
    using U = std::remove_cv_t<T>;
    if constexpr (detail::has_member_type_name<U>::value) {
        return U::ferry_type_name;
    } else if constexpr (std::is_same_v<U, bool>) {
        return "bool";
    } else if constexpr (std::is_same_v<U, char>) {
        return "char";
    } else if constexpr (std::is_same_v<U, std::byte>) {
        return "byte";
    } else if constexpr (std::is_integral_v<U> && sizeof(U) <= 8) {
        constexpr bool s = std::is_signed_v<U>;
        if constexpr (sizeof(U) == 1)
            return s ? "i8" : "u8";
        else if constexpr (sizeof(U) == 2)
            return s ? "i16" : "u16";
        else if constexpr (sizeof(U) == 4)
            return s ? "i32" : "u32";
        else
            return s ? "i64" : "u64";
    } else if constexpr (std::is_floating_point_v<U> && sizeof(U) == 4) {
        return "f32";
    } else if constexpr (std::is_floating_point_v<U> && sizeof(U) == 8) {
        return "f64";
    } else if constexpr (detail::is_std_array<U>::value) {
        static const std::string name = std::string(type_name<typename U::value_type>()) + "[" +
                                         std::to_string(std::tuple_size<U>::value) + "]";
        return name.c_str();
    } else {
        static_assert(detail::always_false<T>,
                      "ferry: no type name for this type. Name it: FERRY_TYPE_NAME(Type, \"org.type.v1\") at "
                      "namespace scope, or a member static constexpr const char *ferry_type_name.");
        return "";
    }
}

/* Names Type at namespace scope (outside any namespace or in the global one),
 * right after its definition and before any port uses it. */
#define FERRY_TYPE_NAME(Type, name)                                                                         \
    template <> inline const char *ferry::type_name<Type>() { return name; }

/* ------------------------------------------------------------------------ */
/* Span                                                                     */
/* ------------------------------------------------------------------------ */

/* A view of n contiguous T (std::span is C++20). Under C++20 it is a
 * contiguous, borrowed range: std::span<T> s = ferry_span; works. */
template <class T> class Span {
public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using size_type = std::size_t;
    using pointer = T *;
    using reference = T &;
    using iterator = T *;

    constexpr Span() noexcept = default;
    constexpr Span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    template <std::size_t N> constexpr Span(T (&a)[N]) noexcept : data_(a), size_(N) {}
    /* Any contiguous container whose data() converts to T* (vector, array, string, Span<U>). */
    template <class C, class D = std::remove_pointer_t<decltype(std::data(std::declval<C &>()))>,
              class = std::enable_if_t<!std::is_array_v<std::remove_reference_t<C>> &&
                                       std::is_convertible_v<D (*)[], T (*)[]>>>
    constexpr Span(C &&c) noexcept(noexcept(std::data(c)) && noexcept(std::size(c)))
        : data_(std::data(c)), size_(std::size(c))
    {
    }

    constexpr T *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr T &operator[](std::size_t i) const noexcept
    {
        assert(i < size_);
        return data_[i];
    }
    constexpr T &front() const noexcept { return (*this)[0]; }
    constexpr T &back() const noexcept { return (*this)[size_ - 1]; }
    constexpr T *begin() const noexcept { return data_; }
    constexpr T *end() const noexcept { return data_ + size_; }
    constexpr Span first(std::size_t n) const noexcept
    {
        assert(n <= size_);
        return Span(data_, n);
    }
    constexpr Span subspan(std::size_t offset, std::size_t n) const noexcept
    {
        assert(offset <= size_ && n <= size_ - offset);
        return Span(data_ + offset, n);
    }

private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace ferry

#ifdef FERRY_HPP_HAS_STD_SPAN
/* A ferry::Span does not own its elements: a std::span may outlive it. */
template <class T> inline constexpr bool std::ranges::enable_borrowed_range<ferry::Span<T>> = true;
#endif

namespace ferry {

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

enum class Overflow {
    drop_oldest = FERRY_OVERFLOW_DROP_OLDEST, /* publisher never waits; a slow subscriber loses the oldest */
    block = FERRY_OVERFLOW_BLOCK              /* publisher waits for room; nothing is lost */
};

/* Node options (ferry_node_opts), with chainable setters. */
class NodeOptions {
public:
    NodeOptions() noexcept { ferry_node_opts_init(&o_); }
    /* "" (the default): env FERRY_DOMAIN, else "default". */
    NodeOptions &domain(std::string d)
    {
        domain_ = std::move(d);
        return *this;
    }
    NodeOptions &mode(unsigned m) noexcept
    {
        o_.mode = m;
        return *this;
    }
    NodeOptions &group(long g) noexcept
    {
        o_.group = g;
        return *this;
    }
    const std::string &domain() const noexcept { return domain_; }
    /* The C options; their domain points into this object. */
    ferry_node_opts c_opts() const noexcept
    {
        ferry_node_opts o = o_;
        o.domain = detail::c_str_or_null(domain_);
        return o;
    }

private:
    ferry_node_opts o_;
    std::string domain_;
};

/*
 * Publish-subscribe options (ferry_pubsub_opts) with chainable setters:
 *   ferry::Options().queue_capacity(16).overflow(ferry::Overflow::block)
 * The element type fills type_name, max_payload and alignment; type_name(),
 * alignment() and max_elements() override them where a peer needs it.
 */
class Options {
public:
    Options() noexcept { ferry_pubsub_opts_init(&o_); }
    Options &history(std::uint32_t n) noexcept { return set(o_.history, n); }
    Options &queue_capacity(std::uint32_t n) noexcept { return set(o_.queue_capacity, n); }
    Options &max_publishers(std::uint32_t n) noexcept { return set(o_.max_publishers, n); }
    Options &max_subscribers(std::uint32_t n) noexcept { return set(o_.max_subscribers, n); }
    Options &max_loans(std::uint32_t n) noexcept { return set(o_.max_loans, n); }
    Options &max_borrowed(std::uint32_t n) noexcept { return set(o_.max_borrowed, n); }
    Options &overflow(Overflow o) noexcept { return set(o_.overflow, static_cast<ferry_overflow>(o)); }
    /* Publishers only: stamp samples with CLOCK_MONOTONIC at send (default on). */
    Options &timestamps(bool on) noexcept { return set(o_.timestamps, on ? 1 : 0); }
    /* Overrides ferry::type_name<T>() (e.g. to meet a C or Python peer). */
    Options &type_name(std::string name)
    {
        type_name_ = std::move(name);
        return *this;
    }
    /* Overrides alignof(T); a power of two >= alignof(T). */
    Options &alignment(std::size_t a) noexcept { return set(alignment_, a); }
    /* Slice ports (T[]) only: the most elements one sample holds. */
    Options &max_elements(std::size_t n) noexcept { return set(max_elements_, n); }

    const ferry_pubsub_opts &c_opts() const noexcept { return o_; }
    const std::string &type_name() const noexcept { return type_name_; }
    std::size_t alignment() const noexcept { return alignment_; }
    std::size_t max_elements() const noexcept { return max_elements_; }

private:
    template <class F, class V> Options &set(F &field, V v) noexcept
    {
        field = static_cast<F>(v);
        return *this;
    }
    ferry_pubsub_opts o_;
    std::string type_name_;
    std::size_t alignment_ = 0;
    std::size_t max_elements_ = 0;
};

using SampleInfo = ferry_sample_info;
using PublisherStats = ferry_pub_stats;
using SubscriberStats = ferry_sub_stats;

/* A timeout that never expires (FERRY_FOREVER). */
inline constexpr std::chrono::nanoseconds forever{FERRY_FOREVER};

/* What Subscriber::wait() saw. */
enum class WaitResult {
    ready,       /* take() will find a sample */
    timed_out,   /* nothing came in time */
    disconnected /* a publisher went away and nothing is queued (reported once per departure) */
};

/* How a subscriber waits (ferry_wait_opts), with chainable setters. */
class WaitOptions {
public:
    WaitOptions() noexcept { ferry_wait_opts_init(&o_); }
    /* Busy-poll this long before sleeping (default 0). */
    template <class Rep, class Period> WaitOptions &spin(const std::chrono::duration<Rep, Period> &d) noexcept
    {
        o_.spin_ns = to_ns(d);
        return *this;
    }
    /* How often a sleeping waiter checks that its peers live (default 100 ms). */
    template <class Rep, class Period> WaitOptions &liveness(const std::chrono::duration<Rep, Period> &d) noexcept
    {
        o_.liveness_ns = to_ns(d);
        return *this;
    }
    const ferry_wait_opts &c_opts() const noexcept { return o_; }

private:
    template <class D> static std::int64_t to_ns(const D &d) noexcept
    {
        return std::chrono::duration_cast<std::chrono::duration<std::int64_t, std::nano>>(d).count();
    }
    ferry_wait_opts o_;
};

namespace detail {

template <class T> struct element_type_check {
    static_assert(!std::is_reference_v<T> && !std::is_void_v<T>, "ferry: T must be an object type");
    static_assert(std::is_trivially_copyable_v<T>,
                  "ferry: T must be trivially copyable: samples are raw bytes in shared memory");
    static_assert(!std::is_pointer_v<T> && !std::is_member_pointer_v<T>,
                  "ferry: a pointer means nothing in another process");
    static_assert(!std::is_array_v<T>, "ferry: use std::array<E, N> for a fixed array, T[] for a slice");
    static_assert(std::is_same_v<T, std::remove_cv_t<T>>, "ferry: T must not be const or volatile");
};

/* The element type and the C options for a port of T (one T) or T[] (a slice). */
template <class T> struct port_traits : element_type_check<T> {
    using element = T;
    static constexpr bool slice = false;
};
template <class T> struct port_traits<T[]> : element_type_check<T> {
    using element = T;
    static constexpr bool slice = true;
};

template <class E> inline const char *slice_type_name()
{
    /* Byte slices are untyped bytes: the C API's default type name. */
    if constexpr (std::is_same_v<E, std::byte> || std::is_same_v<E, unsigned char> || std::is_same_v<E, char>) {
        return "bytes";
    } else {
        static const std::string name = std::string(type_name<E>()) + "[]";
        return name.c_str();
    }
}

/* The C options for a port of T (one T) or T[] (a slice of T). Their
 * type_name points into opts or to static storage. */
template <class T> inline ferry_pubsub_opts make_opts(const Options &opts)
{
    using Tr = port_traits<T>;
    using E = typename Tr::element;
    ferry_pubsub_opts o = opts.c_opts();
    const char *name = nullptr;
    if (!opts.type_name().empty())
        name = opts.type_name().c_str();
    else if constexpr (Tr::slice)
        name = slice_type_name<E>();
    else
        name = type_name<E>();
    o.type_name = name;
    std::size_t align = alignof(E);
    if constexpr (Tr::slice) {
        /* Slices default to the C API's defaults (4096 bytes, alignment 8),
         * so that a byte slice meets a C or Python port opened without options. */
        align = alignof(E) > 8 ? alignof(E) : 8;
        std::size_t n = opts.max_elements();
        if (n == 0)
            n = sizeof(E) >= 4096 ? 1 : 4096 / sizeof(E);
        if (n > SIZE_MAX / sizeof(E))
            throw Error(FERRY_EINVAL, "Options::max_elements(" + std::to_string(n) + ") overflows size_t");
        o.max_payload = n * sizeof(E);
    } else {
        if (opts.max_elements() != 0)
            throw Error(FERRY_EINVAL, "Options::max_elements is for slice ports (T[]); this port holds one T");
        o.max_payload = sizeof(E);
    }
    if (opts.alignment() != 0) {
        if (opts.alignment() < alignof(E))
            throw Error(FERRY_EINVAL, "Options::alignment(" + std::to_string(opts.alignment()) +
                                          ") is below the element's alignof (" + std::to_string(alignof(E)) +
                                          ")");
        align = opts.alignment();
    }
    o.alignment = align;
    return o;
}

/* Owns one port handle (ferry_pub or ferry_sub) and keeps its node open. */
template <class H, void (*Close)(H *)> class PortHandle {
public:
    PortHandle() noexcept = default;
    PortHandle(std::shared_ptr<ferry_node> node, H *h) noexcept : node_(std::move(node)), h_(h) {}
    PortHandle(PortHandle &&o) noexcept : node_(std::move(o.node_)), h_(std::exchange(o.h_, nullptr)) {}
    PortHandle &operator=(PortHandle &&o) noexcept
    {
        if (this != &o) {
            reset();
            node_ = std::move(o.node_);
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    PortHandle(const PortHandle &) = delete;
    PortHandle &operator=(const PortHandle &) = delete;
    ~PortHandle() { reset(); }

    void reset() noexcept
    {
        Close(std::exchange(h_, nullptr)); /* the port closes before its node */
        node_.reset();
    }
    H *get() const noexcept { return h_; }

private:
    std::shared_ptr<ferry_node> node_;
    H *h_ = nullptr;
};

using PubHandle = PortHandle<ferry_pub, ferry_pub_close>;
using SubHandle = PortHandle<ferry_sub, ferry_sub_close>;

/* A loan of a publisher: discarded on destruction unless sent. */
class LoanBase {
public:
    LoanBase(const LoanBase &) = delete;
    LoanBase &operator=(const LoanBase &) = delete;

    /* Publishes the sample to every connected subscriber and ends the loan,
     * whatever happens (with Overflow::block it may wait for room). */
    void send()
    {
        ferry_pub *pub = std::exchange(pub_, nullptr);
        void *p = std::exchange(p_, nullptr);
        if (!pub)
            throw Error(FERRY_EINVAL, "send: this sample was already sent, discarded or moved from");
        check(ferry_pub_send(pub, p));
    }
    /* Like send(), but never waits: false when a blocking publisher finds a
     * full subscriber queue (the loan stays valid: try again or discard). */
    bool try_send()
    {
        if (!pub_)
            throw Error(FERRY_EINVAL, "try_send: this sample was already sent, discarded or moved from");
        int rc = ferry_pub_try_send(pub_, p_);
        if (rc == FERRY_EAGAIN)
            return false;
        pub_ = nullptr;
        p_ = nullptr;
        check(rc);
        return true;
    }
    /* Gives the loan back unsent. No-op on an empty sample. */
    void discard() noexcept
    {
        if (pub_)
            ferry_pub_discard(std::exchange(pub_, nullptr), std::exchange(p_, nullptr));
    }
    /* False once sent, discarded or moved from. */
    explicit operator bool() const noexcept { return pub_ != nullptr; }
    /* The bytes loaned (what send() publishes). */
    std::size_t size_bytes() const noexcept { return pub_ ? bytes_ : 0; }

protected:
    LoanBase() noexcept = default;
    LoanBase(ferry_pub *pub, void *p, std::size_t bytes) noexcept : pub_(pub), p_(p), bytes_(bytes) {}
    LoanBase(LoanBase &&o) noexcept
        : pub_(std::exchange(o.pub_, nullptr)), p_(std::exchange(o.p_, nullptr)), bytes_(o.bytes_)
    {
    }
    LoanBase &operator=(LoanBase &&o) noexcept
    {
        if (this != &o) {
            discard();
            pub_ = std::exchange(o.pub_, nullptr);
            p_ = std::exchange(o.p_, nullptr);
            bytes_ = o.bytes_;
        }
        return *this;
    }
    ~LoanBase() { discard(); }
    void *raw() const noexcept { return p_; }

private:
    ferry_pub *pub_ = nullptr;
    void *p_ = nullptr;
    std::size_t bytes_ = 0;
};

/* A taken sample: released on destruction. */
class TakenBase {
public:
    TakenBase(const TakenBase &) = delete;
    TakenBase &operator=(const TakenBase &) = delete;

    /* Sequence, timestamp, publisher id and size of the sample. */
    SampleInfo info() const
    {
        if (!sub_)
            throw Error(FERRY_EINVAL, "info: this sample was already released or moved from");
        SampleInfo i;
        check(ferry_sub_sample_info(sub_, p_, &i));
        return i;
    }
    /* Gives the sample back to its publisher. No-op on an empty sample. */
    void release() noexcept
    {
        if (sub_)
            ferry_sub_release(std::exchange(sub_, nullptr), std::exchange(p_, nullptr));
    }
    explicit operator bool() const noexcept { return sub_ != nullptr; }
    std::size_t size_bytes() const noexcept { return sub_ ? bytes_ : 0; }

protected:
    TakenBase() noexcept = default;
    TakenBase(ferry_sub *sub, const void *p, std::size_t bytes) noexcept : sub_(sub), p_(p), bytes_(bytes) {}
    TakenBase(TakenBase &&o) noexcept
        : sub_(std::exchange(o.sub_, nullptr)), p_(std::exchange(o.p_, nullptr)), bytes_(o.bytes_)
    {
    }
    TakenBase &operator=(TakenBase &&o) noexcept
    {
        if (this != &o) {
            release();
            sub_ = std::exchange(o.sub_, nullptr);
            p_ = std::exchange(o.p_, nullptr);
            bytes_ = o.bytes_;
        }
        return *this;
    }
    ~TakenBase() { release(); }
    const void *raw() const noexcept { return p_; }

private:
    ferry_sub *sub_ = nullptr;
    const void *p_ = nullptr;
    std::size_t bytes_ = 0;
};

inline std::shared_ptr<ferry_node> open_node(const std::string &name, const NodeOptions &opts)
{
    ferry_node_opts o = opts.c_opts();
    ferry_node *n = nullptr;
    check(ferry_node_open(&n, name.c_str(), &o));
    try {
        return std::shared_ptr<ferry_node>(n, ferry_node_close);
    } catch (...) {
        ferry_node_close(n);
        throw;
    }
}

} // namespace detail

template <class T> class Publisher;
template <class T> class Subscriber;
class Node;
namespace detail {
struct NodeAccess;
}

/* ------------------------------------------------------------------------ */
/* Node                                                                     */
/* ------------------------------------------------------------------------ */

/* A process's presence in a domain. Move-only; the ports made from it share
 * ownership of the C node, which closes when the last of them goes. */
class Node {
public:
    /* A node named name (1-63 printable characters). Throws ferry::Error. */
    explicit Node(const std::string &name, const NodeOptions &opts = NodeOptions())
        : h_(detail::open_node(name, opts))
    {
    }
    Node(Node &&) noexcept = default;
    Node &operator=(Node &&) noexcept = default;
    Node(const Node &) = delete;
    Node &operator=(const Node &) = delete;
    ~Node() = default;

    /* Domain, name and id ("" / 0 on a moved-from node). */
    const char *domain() const noexcept { return h_ ? ferry_node_domain(h_.get()) : ""; }
    const char *name() const noexcept { return h_ ? ferry_node_name(h_.get()) : ""; }
    std::uint64_t id() const noexcept { return ferry_node_id(h_.get()); }
    explicit operator bool() const noexcept { return h_ != nullptr; }
    ferry_node *c_handle() const noexcept { return h_.get(); }

    template <class T> Publisher<T> publisher(const std::string &service, const Options &opts = Options()) const
    {
        return Publisher<T>(*this, service, opts);
    }
    template <class T> Subscriber<T> subscriber(const std::string &service, const Options &opts = Options()) const
    {
        return Subscriber<T>(*this, service, opts);
    }

private:
    friend struct detail::NodeAccess;
    std::shared_ptr<ferry_node> h_;
};

namespace detail {
struct NodeAccess {
    static const std::shared_ptr<ferry_node> &get(const Node &n) noexcept { return n.h_; }
};
} // namespace detail

/* ------------------------------------------------------------------------ */
/* Samples                                                                  */
/* ------------------------------------------------------------------------ */

/* A publisher's loan of one T in shared memory. Fill it in place, then send()
 * (which consumes it). Discarded in the destructor unless sent. */
template <class T> class Sample : public detail::LoanBase {
public:
    Sample() noexcept = default;
    Sample(Sample &&) noexcept = default;
    Sample &operator=(Sample &&) noexcept = default;
    ~Sample() = default;

    T *get() const noexcept { return obj_(); }
    T &operator*() const noexcept
    {
        assert(*this && "ferry::Sample: empty (sent, discarded or moved from)");
        return *obj_();
    }
    T *operator->() const noexcept
    {
        assert(*this && "ferry::Sample: empty (sent, discarded or moved from)");
        return obj_();
    }

private:
    friend class Publisher<T>;
    Sample(ferry_pub *pub, T *p) noexcept : LoanBase(pub, p, sizeof(T)) {}
    T *obj_() const noexcept { return static_cast<T *>(raw()); }
};

/* A publisher's loan of n contiguous T. */
template <class T> class Sample<T[]> : public detail::LoanBase {
public:
    Sample() noexcept = default;
    Sample(Sample &&) noexcept = default;
    Sample &operator=(Sample &&) noexcept = default;
    ~Sample() = default;

    Span<T> span() const noexcept { return Span<T>(data(), size()); }
    T *data() const noexcept { return static_cast<T *>(raw()); }
    /* Elements loaned (0 once sent or discarded). */
    std::size_t size() const noexcept { return size_bytes() / sizeof(T); }
    T &operator[](std::size_t i) const noexcept
    {
        assert(i < size());
        return data()[i];
    }
    T *begin() const noexcept { return data(); }
    T *end() const noexcept { return data() + size(); }

private:
    friend class Publisher<T[]>;
    Sample(ferry_pub *pub, T *p, std::size_t n) noexcept : LoanBase(pub, p, n * sizeof(T)) {}
};

/* A sample taken by a subscriber: read-only, in place in shared memory.
 * Released in the destructor (or by release()). */
template <class T> class Received : public detail::TakenBase {
public:
    Received() noexcept = default;
    Received(Received &&) noexcept = default;
    Received &operator=(Received &&) noexcept = default;
    ~Received() = default;

    const T *get() const noexcept { return static_cast<const T *>(raw()); }
    const T &operator*() const noexcept
    {
        assert(*this && "ferry::Received: empty (released or moved from)");
        return *get();
    }
    const T *operator->() const noexcept
    {
        assert(*this && "ferry::Received: empty (released or moved from)");
        return get();
    }

private:
    friend class Subscriber<T>;
    Received(ferry_sub *sub, const void *p) noexcept : TakenBase(sub, p, sizeof(T)) {}
};

/* A taken slice of n contiguous T. */
template <class T> class Received<T[]> : public detail::TakenBase {
public:
    Received() noexcept = default;
    Received(Received &&) noexcept = default;
    Received &operator=(Received &&) noexcept = default;
    ~Received() = default;

    Span<const T> span() const noexcept { return Span<const T>(data(), size()); }
    const T *data() const noexcept { return static_cast<const T *>(raw()); }
    std::size_t size() const noexcept { return size_bytes() / sizeof(T); }
    const T &operator[](std::size_t i) const noexcept
    {
        assert(i < size());
        return data()[i];
    }
    const T *begin() const noexcept { return data(); }
    const T *end() const noexcept { return data() + size(); }

private:
    friend class Subscriber<T[]>;
    Received(ferry_sub *sub, const void *p, std::size_t bytes) noexcept : TakenBase(sub, p, bytes) {}
};

/* ------------------------------------------------------------------------ */
/* Ports                                                                    */
/* ------------------------------------------------------------------------ */

namespace detail {

/* What Publisher<T> and Publisher<T[]> share. */
class PublisherBase {
public:
    PublisherBase(PublisherBase &&) noexcept = default;
    PublisherBase &operator=(PublisherBase &&) noexcept = default;

    /* Connects subscribers that arrived since the last send and delivers
     * history to them (send does this by itself). */
    void update() { check(ferry_pub_update(handle())); }
    PublisherStats stats() const
    {
        PublisherStats s;
        check(ferry_pub_stats_get(handle(), &s));
        return s;
    }
    /* SampleInfo::publisher_id of this publisher's samples (0 if moved from). */
    std::uint64_t id() const noexcept { return ferry_pub_id(h_.get()); }
    /* The service's type name, largest payload and alignment. */
    const std::string &type_name() const noexcept { return type_name_; }
    std::size_t max_payload() const noexcept { return max_payload_; }
    std::size_t alignment() const noexcept { return alignment_; }
    /* False once moved from. */
    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_pub *c_handle() const noexcept { return h_.get(); }

protected:
    PublisherBase(const Node &node, const std::string &service, const ferry_pubsub_opts &o)
        : type_name_(o.type_name), max_payload_(o.max_payload), alignment_(o.alignment)
    {
        ferry_pub *p = nullptr;
        check(ferry_pub_open(&p, NodeAccess::get(node).get(), service.c_str(), &o));
        h_ = PubHandle(NodeAccess::get(node), p);
    }
    ~PublisherBase() = default;
    ferry_pub *handle() const
    {
        if (!h_.get())
            throw Error(FERRY_EINVAL, "this publisher was moved from");
        return h_.get();
    }
    void *loan_bytes(std::size_t bytes)
    {
        void *p = nullptr;
        check(ferry_pub_loan(handle(), bytes, &p));
        return p;
    }
    void send_bytes(const void *data, std::size_t bytes) { check(ferry_pub_send_copy(handle(), data, bytes)); }

private:
    PubHandle h_;
    std::string type_name_;
    std::size_t max_payload_;
    std::size_t alignment_;
};

/* What Subscriber<T> and Subscriber<T[]> share. */
class SubscriberBase {
public:
    SubscriberBase(SubscriberBase &&) noexcept = default;
    SubscriberBase &operator=(SubscriberBase &&) noexcept = default;

    /* Samples received and lost, connected publishers, samples held now. */
    SubscriberStats stats()
    {
        SubscriberStats s;
        check(ferry_sub_stats_get(handle(), &s));
        return s;
    }
    /* Blocks until a sample can be taken, timeout passes or a publisher
     * goes away (see WaitResult). Costs the publishers nothing unless this
     * subscriber is asleep. */
    template <class Rep, class Period>
    WaitResult wait(const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = ferry_sub_wait(handle(), timeout_ns(timeout));
        if (rc == FERRY_OK)
            return WaitResult::ready;
        if (rc == FERRY_ETIMEDOUT)
            return WaitResult::timed_out;
        if (rc == FERRY_EDISCONNECTED)
            return WaitResult::disconnected;
        throw_error(rc);
    }
    WaitResult wait() { return wait(forever); }
    void set_wait_options(const WaitOptions &opts) { check(ferry_sub_set_wait_opts(handle(), &opts.c_opts())); }
    /* A descriptor that is readable while samples are queued, for poll/epoll
     * and event loops. Owned by the subscriber: do not close or read it. */
    int fd()
    {
        int fd = ferry_sub_fd(handle());
        if (fd < 0)
            throw_error(fd);
        return fd;
    }

    const std::string &type_name() const noexcept { return type_name_; }
    std::size_t max_payload() const noexcept { return max_payload_; }
    std::size_t alignment() const noexcept { return alignment_; }
    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_sub *c_handle() const noexcept { return h_.get(); }

protected:
    /* Nanoseconds for the C API: FERRY_FOREVER for ferry::forever (or any
     * negative duration, or more than 30 years). */
    template <class Rep, class Period>
    static std::int64_t timeout_ns(const std::chrono::duration<Rep, Period> &timeout)
    {
        const double v = std::chrono::duration<double, std::nano>(timeout).count();
        if (v < 0 || v > 9.4e17)
            return FERRY_FOREVER;
        return static_cast<std::int64_t>(v);
    }
    /* take_now() until it gives a sample, waiting in between, for at most
     * timeout; an empty R when the time is up. */
    template <class R, class Rep, class Period, class Take>
    R take_within(const std::chrono::duration<Rep, Period> &timeout, Take take_now)
    {
        const std::int64_t ns = timeout_ns(timeout);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns < 0 ? 0 : ns);
        for (;;) {
            if (R r = take_now())
                return r;
            std::int64_t left = FERRY_FOREVER;
            if (ns >= 0) {
                left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now())
                           .count();
                if (left <= 0)
                    return R();
            }
            int rc = ferry_sub_wait(handle(), left);
            if (rc == FERRY_ETIMEDOUT)
                return R();
            if (rc != FERRY_OK && rc != FERRY_EDISCONNECTED) /* a departure does not end the wait */
                throw_error(rc);
        }
    }

    SubscriberBase(const Node &node, const std::string &service, const ferry_pubsub_opts &o)
        : type_name_(o.type_name), max_payload_(o.max_payload), alignment_(o.alignment)
    {
        ferry_sub *s = nullptr;
        check(ferry_sub_open(&s, NodeAccess::get(node).get(), service.c_str(), &o));
        h_ = SubHandle(NodeAccess::get(node), s);
    }
    ~SubscriberBase() = default;
    ferry_sub *handle() const
    {
        if (!h_.get())
            throw Error(FERRY_EINVAL, "this subscriber was moved from");
        return h_.get();
    }
    /* The next sample; false when none is queued. */
    bool take_bytes(const void *&p, std::size_t &size)
    {
        int rc = ferry_sub_take(handle(), &p, &size);
        if (rc == FERRY_EAGAIN)
            return false;
        check(rc);
        return true;
    }
    /* A sample whose size does not fit this port: give it back and throw. */
    [[noreturn]] void reject(const void *p, std::size_t size, const std::string &expected)
    {
        ferry_sub_release(h_.get(), p);
        throw Error(FERRY_EINCOMPATIBLE, "a publisher sent a sample of " + std::to_string(size) +
                                             " bytes on a service of type \"" + type_name_ + "\", where " +
                                             expected + " (the sample was released unread)");
    }

private:
    SubHandle h_;
    std::string type_name_;
    std::size_t max_payload_;
    std::size_t alignment_;
};

} // namespace detail

/* Publishes samples of one T on a service. Creates the service if needed;
 * otherwise its options must match (Errc::incompatible names the field). */
template <class T> class Publisher : public detail::PublisherBase {
    static_assert(sizeof(detail::element_type_check<T>) != 0, "");

public:
    Publisher(const Node &node, const std::string &service, const Options &opts = Options())
        : PublisherBase(node, service, detail::make_opts<T>(opts))
    {
    }

    /* Loans a T in shared memory, default-initialised (a trivial T holds
     * whatever was there before: set every field). Throws Errc::limit when
     * max_loans samples are already loaned. */
    Sample<T> loan()
    {
        static_assert(std::is_default_constructible_v<T>, "ferry: loan() needs a default-constructible T");
        T *p = static_cast<T *>(loan_bytes(sizeof(T)));
        Sample<T> s(c_handle(), p); /* discards the loan if T() throws */
        ::new (static_cast<void *>(p)) T;
        return s;
    }
    /* Publishes a loan (same as sample.send()). */
    void send(Sample<T> &&sample) { sample.send(); }
    /* Same as sample.try_send(). */
    bool try_send(Sample<T> &sample) { return sample.try_send(); }
    /* Copies value into a loan and sends it. */
    void publish(const T &value) { send_bytes(&value, sizeof(T)); }
};

/* Publishes slices of T, 1..max_elements() elements a sample. */
template <class T> class Publisher<T[]> : public detail::PublisherBase {
    static_assert(sizeof(detail::element_type_check<T>) != 0, "");

public:
    Publisher(const Node &node, const std::string &service, const Options &opts = Options())
        : PublisherBase(node, service, detail::make_opts<T[]>(opts))
    {
    }

    /* Loans n elements (1..max_elements()), default-initialised. */
    Sample<T[]> loan(std::size_t n)
    {
        static_assert(std::is_default_constructible_v<T>, "ferry: loan() needs a default-constructible T");
        if (n == 0 || n > max_elements())
            throw Error(FERRY_EINVAL, "loan(" + std::to_string(n) + "): a slice holds 1.." +
                                          std::to_string(max_elements()) + " elements (Options::max_elements)");
        T *p = static_cast<T *>(loan_bytes(n * sizeof(T)));
        Sample<T[]> s(c_handle(), p, n);
        std::uninitialized_default_construct_n(p, n);
        return s;
    }
    void send(Sample<T[]> &&sample) { sample.send(); }
    bool try_send(Sample<T[]> &sample) { return sample.try_send(); }
    /* Copies the elements into a loan and sends it. */
    void publish(Span<const T> elements)
    {
        if (elements.empty() || elements.size() > max_elements())
            throw Error(FERRY_EINVAL, "publish: a slice holds 1.." + std::to_string(max_elements()) +
                                          " elements, got " + std::to_string(elements.size()));
        send_bytes(elements.data(), elements.size_bytes());
    }
    std::size_t max_elements() const noexcept { return max_payload() / sizeof(T); }
};

/* Receives samples of one T from a service. */
template <class T> class Subscriber : public detail::SubscriberBase {
    static_assert(sizeof(detail::element_type_check<T>) != 0, "");

public:
    Subscriber(const Node &node, const std::string &service, const Options &opts = Options())
        : SubscriberBase(node, service, detail::make_opts<T>(opts))
    {
    }

    /* The next sample; an empty one (false in a condition) when none is
     * queued. Throws Errc::limit when max_borrowed samples are already
     * taken, and Errc::incompatible for a sample that is not sizeof(T) bytes. */
    Received<T> take()
    {
        const void *p = nullptr;
        std::size_t size = 0;
        if (!take_bytes(p, size))
            return Received<T>();
        if (size != sizeof(T))
            reject(p, size, "sizeof(T) is " + std::to_string(sizeof(T)));
        return Received<T>(c_handle(), p);
    }
    /* Waits up to timeout (ferry::forever: no limit) for a sample and takes
     * it; an empty Received when none came in time. */
    template <class Rep, class Period> Received<T> take(const std::chrono::duration<Rep, Period> &timeout)
    {
        return take_within<Received<T>>(timeout, [this] { return take(); });
    }
};

/* Receives slices of T from a service. */
template <class T> class Subscriber<T[]> : public detail::SubscriberBase {
    static_assert(sizeof(detail::element_type_check<T>) != 0, "");

public:
    Subscriber(const Node &node, const std::string &service, const Options &opts = Options())
        : SubscriberBase(node, service, detail::make_opts<T[]>(opts))
    {
    }

    /* The next slice; an empty one when none is queued. Throws
     * Errc::incompatible for a sample that is not a whole number of T. */
    Received<T[]> take()
    {
        const void *p = nullptr;
        std::size_t size = 0;
        if (!take_bytes(p, size))
            return Received<T[]>();
        if (size % sizeof(T) != 0)
            reject(p, size, "a whole number of " + std::to_string(sizeof(T)) + "-byte elements");
        return Received<T[]>(c_handle(), p, size);
    }
    /* Waits up to timeout (ferry::forever: no limit) for a slice and takes it. */
    template <class Rep, class Period> Received<T[]> take(const std::chrono::duration<Rep, Period> &timeout)
    {
        return take_within<Received<T[]>>(timeout, [this] { return take(); });
    }
    std::size_t max_elements() const noexcept { return max_payload() / sizeof(T); }
};

/* ------------------------------------------------------------------------ */
/* Listing, cleanup, version                                                */
/* ------------------------------------------------------------------------ */

/* A service's messaging pattern (ferry_pattern). This header wraps pubsub;
 * services of the other patterns (made with the C API) show up in listings. */
enum class Pattern {
    pubsub = FERRY_PATTERN_PUBSUB,
    event = FERRY_PATTERN_EVENT,
    state = FERRY_PATTERN_STATE,
    reqres = FERRY_PATTERN_REQRES
};

/* One service of a domain. The publish-subscribe fields are the service's
 * static options; for other patterns see the C API's ferry_service_info. */
struct ServiceInfo {
    std::string name;
    Pattern pattern;
    std::string type_name;
    std::size_t max_payload;
    std::size_t alignment;
    std::uint32_t history;
    std::uint32_t queue_capacity;
    std::uint32_t max_publishers;
    std::uint32_t max_subscribers;
    std::uint32_t max_loans;
    std::uint32_t max_borrowed;
    Overflow overflow;
    std::uint32_t publishers;  /* publisher (events: notifier) slots in use */
    std::uint32_t subscribers; /* subscriber (events: listener) slots in use */
    std::string response_type; /* request-response services only */
};

struct NodeInfo {
    std::string name;
    std::uint64_t id;
    long pid;
    long uid;
    bool alive; /* a process holds the node open */
};

namespace detail {

template <class Info, class Out> struct ListCtx {
    std::vector<Out> out;
    std::exception_ptr error;
};

template <class Info, class Out, Out (*Convert)(const Info &)> inline int list_cb(const Info *info, void *user)
{
    auto *ctx = static_cast<ListCtx<Info, Out> *>(user);
    try {
        ctx->out.push_back(Convert(*info));
        return 0;
    } catch (...) { /* no exception may cross the C library */
        ctx->error = std::current_exception();
        return 1;
    }
}

inline ServiceInfo to_service_info(const ferry_service_info &i)
{
    return ServiceInfo{i.name,
                       static_cast<Pattern>(i.pattern),
                       i.type_name,
                       i.opts.max_payload,
                       i.opts.alignment,
                       i.opts.history,
                       i.opts.queue_capacity,
                       i.opts.max_publishers,
                       i.opts.max_subscribers,
                       i.opts.max_loans,
                       i.opts.max_borrowed,
                       static_cast<Overflow>(i.opts.overflow),
                       i.publishers,
                       i.subscribers,
                       i.response_type};
}

inline NodeInfo to_node_info(const ferry_node_info &i) { return NodeInfo{i.name, i.id, i.pid, i.uid, i.alive != 0}; }

} // namespace detail

/* The services of a domain ("": env FERRY_DOMAIN, else "default"). */
inline std::vector<ServiceInfo> list_services(const std::string &domain = std::string())
{
    detail::ListCtx<ferry_service_info, ServiceInfo> ctx;
    int rc = ferry_service_list(detail::c_str_or_null(domain),
                                detail::list_cb<ferry_service_info, ServiceInfo, detail::to_service_info>, &ctx);
    if (ctx.error)
        std::rethrow_exception(ctx.error);
    detail::check(rc);
    return std::move(ctx.out);
}

/* The nodes of a domain, dead ones (alive == false) included. */
inline std::vector<NodeInfo> list_nodes(const std::string &domain = std::string())
{
    detail::ListCtx<ferry_node_info, NodeInfo> ctx;
    int rc = ferry_node_list(detail::c_str_or_null(domain),
                             detail::list_cb<ferry_node_info, NodeInfo, detail::to_node_info>, &ctx);
    if (ctx.error)
        std::rethrow_exception(ctx.error);
    detail::check(rc);
    return std::move(ctx.out);
}

/* Removes what dead nodes of the domain left behind; returns the number of
 * shared-memory objects removed. */
inline unsigned cleanup(const std::string &domain = std::string())
{
    unsigned removed = 0;
    detail::check(ferry_cleanup(detail::c_str_or_null(domain), &removed));
    return removed;
}

/* The library's version, "MAJOR.MINOR.PATCH" (of the library loaded, which
 * may differ from the header's FERRY_VERSION_*). */
inline const char *version() noexcept { return ferry_version(); }

} // namespace ferry

#endif /* FERRY_FERRY_HPP */
