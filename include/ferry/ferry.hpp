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
 * The other patterns follow the same style: Notifier / Listener (events),
 * WaitSet (one thread waits on many sources), Client<Req, Resp> /
 * Server<Req, Resp> (request-response: Request loans, Reply, Call,
 * ResponseLoan) and StateWriter<T> / StateReader<T> (shared state:
 * StateLoan, StateRead).
 *
 * Ownership: every class is move-only RAII. Ports (Publisher, Subscriber,
 * Notifier, Listener, Client, Server, StateWriter, StateReader) keep their
 * node open: the node closes when the ferry::Node object and every port made
 * from it are gone, so a port may outlive the Node object. Loans (Sample,
 * Request, ResponseLoan, StateLoan) and taken values (Received, Reply, Call,
 * StateRead) refer to their port and must not outlive it, just as an
 * iterator must not outlive its container.
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
#include <functional>
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

/* Event service options (ferry_event_opts), with chainable setters. */
class EventOptions {
public:
    EventOptions() noexcept { ferry_event_opts_init(&o_); }
    /* Ids 0..n (default 63, at most 4095); must match the service's. */
    EventOptions &max_event_id(std::uint32_t n) noexcept { return set(o_.max_event_id, n); }
    EventOptions &max_notifiers(std::uint32_t n) noexcept { return set(o_.max_notifiers, n); }
    EventOptions &max_listeners(std::uint32_t n) noexcept { return set(o_.max_listeners, n); }
    const ferry_event_opts &c_opts() const noexcept { return o_; }

private:
    EventOptions &set(std::uint32_t &field, std::uint32_t v) noexcept
    {
        field = v;
        return *this;
    }
    ferry_event_opts o_;
};

/*
 * Request-response options (ferry_reqres_opts) with chainable setters. The
 * request and response types fill the type names, sizes and alignment;
 * request_type(), response_type(), alignment(), max_request_elements() and
 * max_response_elements() override them where a peer needs it.
 */
class ReqResOptions {
public:
    ReqResOptions() noexcept { ferry_reqres_opts_init(&o_); }
    ReqResOptions &max_clients(std::uint32_t n) noexcept { return set(o_.max_clients, n); }
    ReqResOptions &max_servers(std::uint32_t n) noexcept { return set(o_.max_servers, n); }
    /* Calls a client may have open at once (default 8). */
    ReqResOptions &max_pending(std::uint32_t n) noexcept { return set(o_.max_pending, n); }
    ReqResOptions &request_queue(std::uint32_t n) noexcept { return set(o_.request_queue, n); }
    ReqResOptions &response_queue(std::uint32_t n) noexcept { return set(o_.response_queue, n); }
    ReqResOptions &max_loans(std::uint32_t n) noexcept { return set(o_.max_loans, n); }
    /* Requests a server (unfinished calls), responses a client may hold taken. */
    ReqResOptions &max_borrowed(std::uint32_t n) noexcept { return set(o_.max_borrowed, n); }
    ReqResOptions &request_type(std::string name)
    {
        request_type_ = std::move(name);
        return *this;
    }
    ReqResOptions &response_type(std::string name)
    {
        response_type_ = std::move(name);
        return *this;
    }
    /* Of both payloads; a power of two >= both alignofs. */
    ReqResOptions &alignment(std::size_t a) noexcept
    {
        alignment_ = a;
        return *this;
    }
    /* Slice requests / responses (T[]) only: the most elements one holds. */
    ReqResOptions &max_request_elements(std::size_t n) noexcept
    {
        max_request_elements_ = n;
        return *this;
    }
    ReqResOptions &max_response_elements(std::size_t n) noexcept
    {
        max_response_elements_ = n;
        return *this;
    }

    const ferry_reqres_opts &c_opts() const noexcept { return o_; }
    const std::string &request_type() const noexcept { return request_type_; }
    const std::string &response_type() const noexcept { return response_type_; }
    std::size_t alignment() const noexcept { return alignment_; }
    std::size_t max_request_elements() const noexcept { return max_request_elements_; }
    std::size_t max_response_elements() const noexcept { return max_response_elements_; }

private:
    ReqResOptions &set(std::uint32_t &field, std::uint32_t v) noexcept
    {
        field = v;
        return *this;
    }
    ferry_reqres_opts o_;
    std::string request_type_, response_type_;
    std::size_t alignment_ = 0;
    std::size_t max_request_elements_ = 0;
    std::size_t max_response_elements_ = 0;
};

/* Shared-state options (ferry_state_opts) with chainable setters. The value
 * type fills type_name and max_size; type_name() and max_elements() (slices)
 * override them. */
class StateOptions {
public:
    StateOptions() noexcept { ferry_state_opts_init(&o_); }
    StateOptions &max_readers(std::uint32_t n) noexcept
    {
        o_.max_readers = n;
        return *this;
    }
    /* A directory where every version is saved; the last one comes back
     * after a restart. "" (default): no persistence. */
    StateOptions &persist_dir(std::string dir)
    {
        persist_dir_ = std::move(dir);
        return *this;
    }
    StateOptions &type_name(std::string name)
    {
        type_name_ = std::move(name);
        return *this;
    }
    StateOptions &max_elements(std::size_t n) noexcept
    {
        max_elements_ = n;
        return *this;
    }
    const ferry_state_opts &c_opts() const noexcept { return o_; }
    const std::string &persist_dir() const noexcept { return persist_dir_; }
    const std::string &type_name() const noexcept { return type_name_; }
    std::size_t max_elements() const noexcept { return max_elements_; }

private:
    ferry_state_opts o_;
    std::string persist_dir_, type_name_;
    std::size_t max_elements_ = 0;
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
class Notifier;
class Listener;
template <class Req, class Resp> class Client;
template <class Req, class Resp> class Server;
template <class T> class StateWriter;
template <class T> class StateReader;
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
    Notifier notifier(const std::string &service, const EventOptions &opts = EventOptions()) const;
    Listener listener(const std::string &service, const EventOptions &opts = EventOptions()) const;
    template <class Req, class Resp>
    Client<Req, Resp> client(const std::string &service, const ReqResOptions &opts = ReqResOptions()) const
    {
        return Client<Req, Resp>(*this, service, opts);
    }
    template <class Req, class Resp>
    Server<Req, Resp> server(const std::string &service, const ReqResOptions &opts = ReqResOptions()) const
    {
        return Server<Req, Resp>(*this, service, opts);
    }
    template <class T>
    StateWriter<T> state_writer(const std::string &service, const StateOptions &opts = StateOptions()) const
    {
        return StateWriter<T>(*this, service, opts);
    }
    template <class T>
    StateReader<T> state_reader(const std::string &service, const StateOptions &opts = StateOptions()) const
    {
        return StateReader<T>(*this, service, opts);
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
/* Shared helpers of the other patterns                                     */
/* ------------------------------------------------------------------------ */

namespace detail {

/* Nanoseconds for the C API: FERRY_FOREVER for ferry::forever (or any
 * negative duration, or more than 30 years). */
template <class Rep, class Period> inline std::int64_t to_timeout_ns(const std::chrono::duration<Rep, Period> &timeout)
{
    const double v = std::chrono::duration<double, std::nano>(timeout).count();
    if (v < 0 || v > 9.4e17)
        return FERRY_FOREVER;
    return static_cast<std::int64_t>(v);
}

/* What a payload of type T (one T) or T[] (a slice of T) means for the C
 * options, and how big a value of it is. */
template <class T> struct payload : port_traits<T> {
    using Tr = port_traits<T>;
    using E = typename Tr::element;
    /* What copy functions take: a const T& or a span of elements. */
    using arg_type = std::conditional_t<Tr::slice, Span<const E>, const E &>;

    static const char *name(const std::string &override_name)
    {
        if (!override_name.empty())
            return override_name.c_str();
        if constexpr (Tr::slice)
            return slice_type_name<E>();
        else
            return type_name<E>();
    }
    /* Largest value in bytes; max_elements is for slices only (0: 4096 bytes' worth). */
    static std::size_t max_bytes(std::size_t max_elements, const char *what)
    {
        if constexpr (Tr::slice) {
            std::size_t n = max_elements;
            if (n == 0)
                n = sizeof(E) >= 4096 ? 1 : 4096 / sizeof(E);
            if (n > SIZE_MAX / sizeof(E))
                throw Error(FERRY_EINVAL, std::string(what) + "(" + std::to_string(n) + ") overflows size_t");
            return n * sizeof(E);
        } else {
            if (max_elements != 0)
                throw Error(FERRY_EINVAL, std::string(what) + " is for slices (T[]); this payload is one T");
            return sizeof(E);
        }
    }
    /* Default alignment: alignof(T); slices at least 8 (the C default). */
    static std::size_t align() noexcept
    {
        if constexpr (Tr::slice)
            return alignof(E) > 8 ? alignof(E) : 8;
        else
            return alignof(E);
    }
    /* Whether a received value of bytes bytes is a T (or a whole slice). */
    static bool fits(std::size_t bytes) noexcept
    {
        if constexpr (Tr::slice)
            return bytes % sizeof(E) == 0;
        else
            return bytes == sizeof(E);
    }
    static std::string expected()
    {
        if constexpr (Tr::slice)
            return "a whole number of " + std::to_string(sizeof(E)) + "-byte elements";
        else
            return "sizeof(T) is " + std::to_string(sizeof(E));
    }
    static const void *data_of(arg_type v) noexcept
    {
        if constexpr (Tr::slice)
            return v.data();
        else
            return &v;
    }
    static std::size_t bytes_of(arg_type v) noexcept
    {
        if constexpr (Tr::slice)
            return v.size_bytes();
        else
            return sizeof(E);
    }
    /* Bytes of a loan of n elements (slices) or of one T (n ignored). */
    static std::size_t loan_bytes(std::size_t n, std::size_t max_bytes)
    {
        if constexpr (Tr::slice) {
            const std::size_t max_n = max_bytes / sizeof(E);
            if (n == 0 || n > max_n)
                throw Error(FERRY_EINVAL, "loan(" + std::to_string(n) + "): a slice holds 1.." +
                                              std::to_string(max_n) + " elements");
            return n * sizeof(E);
        } else {
            (void)n;
            (void)max_bytes;
            return sizeof(E);
        }
    }
    /* Default-initialises a loan of bytes bytes in place. */
    static void construct(void *p, std::size_t bytes)
    {
        static_assert(std::is_default_constructible_v<E>, "ferry: loans need a default-constructible T");
        if constexpr (Tr::slice)
            std::uninitialized_default_construct_n(static_cast<E *>(p), bytes / sizeof(E));
        else
            ::new (p) E;
    }
};

/* Typed access to a payload in shared memory: one T (get, *, ->) or a slice
 * (data, size, span, [], begin, end). Const: read-only. The derived class
 * owns the payload and sets p_ / bytes_. */
template <class T, bool Const> class PayloadView {
public:
    using value_type = T;
    using pointer = std::conditional_t<Const, const T *, T *>;
    using reference = std::conditional_t<Const, const T &, T &>;

    pointer get() const noexcept { return static_cast<pointer>(p_); }
    reference operator*() const noexcept
    {
        assert(p_ && "ferry: empty payload (ended, moved from, or a response without payload)");
        return *get();
    }
    pointer operator->() const noexcept
    {
        assert(p_ && "ferry: empty payload (ended, moved from, or a response without payload)");
        return get();
    }
    std::size_t size_bytes() const noexcept { return bytes_; }

protected:
    using raw_pointer = std::conditional_t<Const, const void *, void *>;
    PayloadView() noexcept = default;
    PayloadView(raw_pointer p, std::size_t bytes) noexcept : p_(p), bytes_(bytes) {}
    PayloadView(PayloadView &&o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    PayloadView &operator=(PayloadView &&o) noexcept
    {
        p_ = std::exchange(o.p_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
        return *this;
    }
    PayloadView(const PayloadView &) = delete;
    PayloadView &operator=(const PayloadView &) = delete;
    ~PayloadView() = default;
    void clear_view() noexcept
    {
        p_ = nullptr;
        bytes_ = 0;
    }
    raw_pointer p_ = nullptr;
    std::size_t bytes_ = 0;
};

template <class T, bool Const> class PayloadView<T[], Const> {
public:
    using value_type = T;
    using element_type = std::conditional_t<Const, const T, T>;

    element_type *data() const noexcept { return static_cast<element_type *>(p_); }
    std::size_t size() const noexcept { return bytes_ / sizeof(T); }
    std::size_t size_bytes() const noexcept { return bytes_; }
    bool empty() const noexcept { return size() == 0; }
    Span<element_type> span() const noexcept { return Span<element_type>(data(), size()); }
    element_type &operator[](std::size_t i) const noexcept
    {
        assert(i < size());
        return data()[i];
    }
    element_type *begin() const noexcept { return data(); }
    element_type *end() const noexcept { return data() + size(); }

protected:
    using raw_pointer = std::conditional_t<Const, const void *, void *>;
    PayloadView() noexcept = default;
    PayloadView(raw_pointer p, std::size_t bytes) noexcept : p_(p), bytes_(bytes) {}
    PayloadView(PayloadView &&o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    PayloadView &operator=(PayloadView &&o) noexcept
    {
        p_ = std::exchange(o.p_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
        return *this;
    }
    PayloadView(const PayloadView &) = delete;
    PayloadView &operator=(const PayloadView &) = delete;
    ~PayloadView() = default;
    void clear_view() noexcept
    {
        p_ = nullptr;
        bytes_ = 0;
    }
    raw_pointer p_ = nullptr;
    std::size_t bytes_ = 0;
};

/* Opens a port with open(&h, node, service, opts) and wraps it with its node. */
template <class Handle, class H, class Open, class Opts>
inline Handle open_port(Open open, const Node &node, const std::string &service, const Opts *opts)
{
    H *h = nullptr;
    check(open(&h, NodeAccess::get(node).get(), service.c_str(), opts));
    return Handle(NodeAccess::get(node), h);
}

[[noreturn]] inline void moved_from(const char *what) { throw Error(FERRY_EINVAL, std::string("this ") + what + " was moved from"); }

using NotifierHandle = PortHandle<ferry_notifier, ferry_notifier_close>;
using ListenerHandle = PortHandle<ferry_listener, ferry_listener_close>;
using ClientHandle = PortHandle<ferry_client, ferry_client_close>;
using ServerHandle = PortHandle<ferry_server, ferry_server_close>;
using StateWriterHandle = PortHandle<ferry_state_writer, ferry_state_writer_close>;
using StateReaderHandle = PortHandle<ferry_state_reader, ferry_state_reader_close>;

} // namespace detail

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/* The id a listener collects when a notifier of its service went away
 * (FERRY_EVENT_PEER_GONE). Real ids are 0..4095. */
inline constexpr std::uint32_t peer_gone = FERRY_EVENT_PEER_GONE;

/* Raises numbered events at every listener of an event service. */
class Notifier {
public:
    Notifier(const Node &node, const std::string &service, const EventOptions &opts = EventOptions())
        : h_(detail::open_port<detail::NotifierHandle, ferry_notifier>(ferry_notifier_open, node, service,
                                                                       &opts.c_opts()))
    {
    }
    Notifier(Notifier &&) noexcept = default;
    Notifier &operator=(Notifier &&) noexcept = default;

    /* Raises id (0..max_event_id) at every listener; raises of one id before
     * a listener collects it count once. Throws Errc::invalid_argument for
     * an id above max_event_id. */
    void notify(std::uint32_t id) { detail::check(ferry_notifier_notify(handle(), id)); }

    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_notifier *c_handle() const noexcept { return h_.get(); }

private:
    ferry_notifier *handle() const
    {
        if (!h_.get())
            detail::moved_from("notifier");
        return h_.get();
    }
    detail::NotifierHandle h_;
};

/* Collects the events of an event service. Ids come in increasing order,
 * ferry::peer_gone (a notifier went away) last. */
class Listener {
public:
    Listener(const Node &node, const std::string &service, const EventOptions &opts = EventOptions())
        : h_(detail::open_port<detail::ListenerHandle, ferry_listener>(ferry_listener_open, node, service,
                                                                       &opts.c_opts()))
    {
    }
    Listener(Listener &&) noexcept = default;
    Listener &operator=(Listener &&) noexcept = default;

    /* Every id pending now; empty when none. */
    std::vector<std::uint32_t> try_wait()
    {
        std::vector<std::uint32_t> out;
        collect(out);
        return out;
    }
    /* Waits up to timeout (ferry::forever: no limit) for at least one id,
     * then returns every id pending; empty when the time is up. */
    template <class Rep, class Period> std::vector<std::uint32_t> wait(const std::chrono::duration<Rep, Period> &timeout)
    {
        std::array<std::uint32_t, kChunk> buf;
        std::size_t n = 0;
        int rc = ferry_listener_wait(handle(), buf.data(), buf.size(), &n, detail::to_timeout_ns(timeout));
        if (rc == FERRY_ETIMEDOUT)
            return {};
        detail::check(rc);
        std::vector<std::uint32_t> out(buf.data(), buf.data() + n);
        if (n == buf.size())
            collect(out);
        return out;
    }
    std::vector<std::uint32_t> wait() { return wait(forever); }

    /* Without allocation: up to out.size() pending ids go into out (the
     * rest stay pending); returns the part of out filled, empty when none. */
    Span<std::uint32_t> try_wait(Span<std::uint32_t> out)
    {
        std::size_t n = 0;
        int rc = ferry_listener_try_wait(handle(), out.data(), out.size(), &n);
        if (rc == FERRY_EAGAIN)
            return out.first(0);
        detail::check(rc);
        return out.first(n);
    }
    template <class Rep, class Period>
    Span<std::uint32_t> wait(Span<std::uint32_t> out, const std::chrono::duration<Rep, Period> &timeout)
    {
        std::size_t n = 0;
        int rc = ferry_listener_wait(handle(), out.data(), out.size(), &n, detail::to_timeout_ns(timeout));
        if (rc == FERRY_ETIMEDOUT)
            return out.first(0);
        detail::check(rc);
        return out.first(n);
    }

    /* Readable while ids are pending (poll/epoll); owned by the listener. */
    int fd()
    {
        int fd = ferry_listener_fd(handle());
        if (fd < 0)
            detail::throw_error(fd);
        return fd;
    }
    void set_wait_options(const WaitOptions &opts)
    {
        detail::check(ferry_listener_set_wait_opts(handle(), &opts.c_opts()));
    }

    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_listener *c_handle() const noexcept { return h_.get(); }

private:
    static constexpr std::size_t kChunk = 64;
    void collect(std::vector<std::uint32_t> &out)
    {
        std::array<std::uint32_t, kChunk> buf;
        for (;;) {
            std::size_t n = 0;
            int rc = ferry_listener_try_wait(handle(), buf.data(), buf.size(), &n);
            if (rc == FERRY_EAGAIN)
                return;
            detail::check(rc);
            out.insert(out.end(), buf.data(), buf.data() + n);
            if (n < buf.size())
                return;
        }
    }
    ferry_listener *handle() const
    {
        if (!h_.get())
            detail::moved_from("listener");
        return h_.get();
    }
    detail::ListenerHandle h_;
};

/* ------------------------------------------------------------------------ */
/* Wait sets                                                                */
/* ------------------------------------------------------------------------ */

/* The kind of a ready source (ferry_source_kind). */
enum class SourceKind {
    subscriber = FERRY_SOURCE_SUBSCRIBER, /* samples queued, or a publisher went away */
    listener = FERRY_SOURCE_LISTENER,     /* ids pending */
    fd = FERRY_SOURCE_FD,                 /* your fd is readable (or in error) */
    deadline = FERRY_SOURCE_DEADLINE,     /* a one-shot deadline passed */
    interval = FERRY_SOURCE_INTERVAL      /* a periodic interval elapsed */
};

class WaitSet;

/* Names one source of a wait set, for WaitSet::detach. A plain handle
 * (copyable, owns nothing): the wait set owns the attachment. */
class Attachment {
public:
    Attachment() noexcept = default;
    explicit operator bool() const noexcept { return rec_ != nullptr; }
    friend bool operator==(const Attachment &a, const Attachment &b) noexcept { return a.rec_ == b.rec_; }
    friend bool operator!=(const Attachment &a, const Attachment &b) noexcept { return a.rec_ != b.rec_; }

private:
    friend class WaitSet;
    explicit Attachment(const void *rec) noexcept : rec_(rec) {}
    const void *rec_ = nullptr;
};

/* One ready source, as a wait set's callbacks see it. */
struct WaitEvent {
    Attachment attachment; /* for WaitSet::detach */
    SourceKind kind;
    void *user;            /* the pointer given at attach (nullptr if none) */
    bool disconnected;     /* subscriber: a publisher went away since the last report */
    std::uint64_t missed;  /* interval: periods elapsed beyond the first */
};

/*
 * One thread waits on many sources at once (ferry_waitset: epoll, no
 * background thread; callbacks run in the thread that calls wait or run).
 *
 *   ferry::WaitSet ws;
 *   ws.attach(sub, [&](const ferry::WaitEvent &) { while (auto s = sub.take()) use(*s); });
 *   ws.attach_interval(std::chrono::seconds(1), [&](const ferry::WaitEvent &) { tick(); });
 *   ws.run();                          // until ws.stop()
 *
 * Each source has either its own callback, or a user pointer and the handler
 * given to wait()/run(). Callbacks may attach and detach (their own source
 * included) and call stop(). An exception from a callback stops the round
 * (the other ready sources stay ready) and is rethrown by wait()/run().
 * Attached ports and fds stay the caller's: detach them before closing them.
 * Sources are level-triggered: consume what made them ready.
 */
class WaitSet {
public:
    using Callback = std::function<void(const WaitEvent &)>;

    WaitSet()
    {
        ferry_waitset *ws = nullptr;
        detail::check(ferry_waitset_open(&ws));
        ws_.reset(ws);
    }
    WaitSet(WaitSet &&) noexcept = default;
    WaitSet &operator=(WaitSet &&) noexcept = default;
    WaitSet(const WaitSet &) = delete;
    WaitSet &operator=(const WaitSet &) = delete;
    ~WaitSet() = default;

    /* A subscriber: ready while samples are queued or a publisher went away. */
    Attachment attach(detail::SubscriberBase &sub, Callback cb, void *user = nullptr)
    {
        ferry_sub *s = port(sub.c_handle(), "subscriber");
        return add(std::move(cb), user, [s](ferry_waitset *ws, void *u, ferry_attachment **out) {
            return ferry_waitset_attach_sub(ws, s, u, out);
        });
    }
    Attachment attach(detail::SubscriberBase &sub, void *user) { return attach(sub, Callback(), user); }
    /* A listener: ready while ids are pending (collect them with try_wait). */
    Attachment attach(Listener &listener, Callback cb, void *user = nullptr)
    {
        ferry_listener *l = port(listener.c_handle(), "listener");
        return add(std::move(cb), user, [l](ferry_waitset *ws, void *u, ferry_attachment **out) {
            return ferry_waitset_attach_listener(ws, l, u, out);
        });
    }
    Attachment attach(Listener &listener, void *user) { return attach(listener, Callback(), user); }
    /* A file descriptor of yours (a Client's or Server's fd() too): ready
     * while readable, in error or hung up. */
    Attachment attach_fd(int fd, Callback cb, void *user = nullptr)
    {
        return add(std::move(cb), user, [fd](ferry_waitset *ws, void *u, ferry_attachment **out) {
            return ferry_waitset_attach_fd(ws, fd, u, out);
        });
    }
    Attachment attach_fd(int fd, void *user) { return attach_fd(fd, Callback(), user); }
    /* Fires once, after d. It stays attached (silent) until detached. */
    template <class Rep, class Period>
    Attachment attach_deadline(const std::chrono::duration<Rep, Period> &d, Callback cb, void *user = nullptr)
    {
        const std::int64_t ns = positive_ns(d, "attach_deadline");
        return add(std::move(cb), user, [ns](ferry_waitset *ws, void *u, ferry_attachment **out) {
            return ferry_waitset_attach_deadline(ws, ns, u, out);
        });
    }
    template <class Rep, class Period> Attachment attach_deadline(const std::chrono::duration<Rep, Period> &d, void *user)
    {
        return attach_deadline(d, Callback(), user);
    }
    /* Fires every period (WaitEvent::missed counts periods it was late by). */
    template <class Rep, class Period>
    Attachment attach_interval(const std::chrono::duration<Rep, Period> &period, Callback cb, void *user = nullptr)
    {
        const std::int64_t ns = positive_ns(period, "attach_interval");
        return add(std::move(cb), user, [ns](ferry_waitset *ws, void *u, ferry_attachment **out) {
            return ferry_waitset_attach_interval(ws, ns, u, out);
        });
    }
    template <class Rep, class Period>
    Attachment attach_interval(const std::chrono::duration<Rep, Period> &period, void *user)
    {
        return attach_interval(period, Callback(), user);
    }

    /* Removes a source; safe from any callback of this set, its own
     * included (it is not reported again). Throws Errc::invalid_argument
     * for an attachment that is not (or no longer) one of this set's. */
    void detach(Attachment a)
    {
        auto it = records_.begin();
        while (it != records_.end() && it->get() != a.rec_)
            ++it;
        if (it == records_.end() || !ws_)
            throw Error(FERRY_EINVAL, "detach: not an attachment of this wait set (detached already?)");
        if (depth_ > 0)
            graveyard_.reserve(graveyard_.size() + 1);
        ferry_waitset_detach(ws_.get(), (*it)->c);
        if (depth_ > 0) /* its callback may be running: free it after the round */
            graveyard_.push_back(std::move(*it));
        records_.erase(it);
    }

    /* Waits up to timeout (ferry::forever: no limit) for at least one ready
     * source, calls the callbacks of the ready ones (handler for sources
     * attached with a user pointer) and returns how many ran; 0 when the
     * time ran out. */
    template <class Rep, class Period>
    unsigned wait(const std::chrono::duration<Rep, Period> &timeout, const Callback &handler = Callback())
    {
        Dispatch d{this, &handler, nullptr};
        unsigned fired = 0;
        int rc;
        {
            Depth g(*this);
            rc = ferry_waitset_wait(handle(), detail::to_timeout_ns(timeout), &WaitSet::trampoline, &d, &fired);
        }
        if (d.error)
            std::rethrow_exception(d.error);
        if (rc == FERRY_ETIMEDOUT)
            return 0;
        detail::check(rc);
        return fired;
    }
    unsigned wait(const Callback &handler = Callback()) { return wait(forever, handler); }
    /* Waits and dispatches until stop() (from a callback or another thread)
     * or until a callback throws (rethrown here). */
    void run(const Callback &handler = Callback())
    {
        Dispatch d{this, &handler, nullptr};
        int rc;
        {
            Depth g(*this);
            rc = ferry_waitset_run(handle(), &WaitSet::trampoline, &d);
        }
        if (d.error)
            std::rethrow_exception(d.error);
        detail::check(rc);
    }
    /* Makes the wait or run in progress return after its current round (the
     * next one at once if none is). Safe from any thread. */
    void stop() noexcept { ferry_waitset_stop(ws_.get()); }

    /* Sources attached now. */
    std::size_t size() const noexcept { return records_.size(); }
    explicit operator bool() const noexcept { return ws_ != nullptr; }
    ferry_waitset *c_handle() const noexcept { return ws_.get(); }

private:
    struct Record {
        ferry_attachment *c = nullptr;
        Callback cb;
        void *user = nullptr;
    };
    struct Dispatch {
        WaitSet *ws;
        const Callback *handler;
        std::exception_ptr error;
    };
    struct Close {
        void operator()(ferry_waitset *ws) const noexcept { ferry_waitset_close(ws); }
    };
    /* Counts the waits in progress; frees what was detached during them. */
    struct Depth {
        explicit Depth(WaitSet &w) noexcept : ws(w) { ws.depth_++; }
        ~Depth()
        {
            if (--ws.depth_ == 0)
                ws.graveyard_.clear();
        }
        Depth(const Depth &) = delete;
        Depth &operator=(const Depth &) = delete;
        WaitSet &ws;
    };

    static int trampoline(const ferry_event_info *ev, void *user) noexcept
    {
        auto *d = static_cast<Dispatch *>(user);
        auto *rec = static_cast<Record *>(ev->user);
        const WaitEvent e{Attachment(rec), static_cast<SourceKind>(ev->kind), rec->user, ev->disconnected != 0,
                          ev->missed};
        try { /* no exception may cross the C library */
            if (rec->cb)
                rec->cb(e);
            else if (*d->handler)
                (*d->handler)(e);
        } catch (...) {
            d->error = std::current_exception();
            return 1;
        }
        return 0;
    }

    template <class Attach> Attachment add(Callback cb, void *user, Attach attach)
    {
        auto rec = std::make_unique<Record>();
        rec->cb = std::move(cb);
        rec->user = user;
        records_.reserve(records_.size() + 1); /* nothing throws once attached */
        ferry_attachment *c = nullptr;
        detail::check(attach(handle(), rec.get(), &c));
        rec->c = c;
        records_.push_back(std::move(rec));
        return Attachment(records_.back().get());
    }
    template <class H> static H *port(H *h, const char *what)
    {
        if (!h)
            detail::moved_from(what);
        return h;
    }
    template <class Rep, class Period>
    static std::int64_t positive_ns(const std::chrono::duration<Rep, Period> &d, const char *what)
    {
        const auto ns = std::chrono::duration_cast<std::chrono::duration<std::int64_t, std::nano>>(d).count();
        if (ns <= 0)
            throw Error(FERRY_EINVAL, std::string(what) + ": the time must be positive");
        return ns;
    }
    ferry_waitset *handle() const
    {
        if (!ws_)
            detail::moved_from("wait set");
        return ws_.get();
    }

    /* ws_ first: moving into a set closes its old C wait set before its records go. */
    std::unique_ptr<ferry_waitset, Close> ws_;
    std::vector<std::unique_ptr<Record>> records_;
    std::vector<std::unique_ptr<Record>> graveyard_;
    int depth_ = 0;
};

/* ------------------------------------------------------------------------ */
/* Request-response                                                         */
/* ------------------------------------------------------------------------ */

template <class Req, class Resp> class Client;
template <class Req, class Resp> class Server;
template <class Req, class Resp> class Call;

namespace detail {

/* The C options for a service of requests Req and responses Resp (each one
 * T or a slice T[]); type names point into opts or to static storage. */
template <class Req, class Resp> inline ferry_reqres_opts make_reqres_opts(const ReqResOptions &opts)
{
    using PReq = payload<Req>;
    using PResp = payload<Resp>;
    ferry_reqres_opts o = opts.c_opts();
    o.request_type = PReq::name(opts.request_type());
    o.response_type = PResp::name(opts.response_type());
    o.max_request = PReq::max_bytes(opts.max_request_elements(), "ReqResOptions::max_request_elements");
    o.max_response = PResp::max_bytes(opts.max_response_elements(), "ReqResOptions::max_response_elements");
    const std::size_t need = PReq::align() > PResp::align() ? PReq::align() : PResp::align();
    std::size_t align = need;
    if (opts.alignment() != 0) {
        if (opts.alignment() < need)
            throw Error(FERRY_EINVAL, "ReqResOptions::alignment(" + std::to_string(opts.alignment()) +
                                          ") is below the payloads' alignof (" + std::to_string(need) + ")");
        align = opts.alignment();
    }
    o.alignment = align;
    return o;
}

} // namespace detail

/* A client's loan of a request in shared memory: fill it, then send() it
 * (which opens a call). Discarded in the destructor unless sent. */
template <class Req> class Request : public detail::PayloadView<Req, false> {
    using View = detail::PayloadView<Req, false>;

public:
    Request() noexcept = default;
    Request(Request &&o) noexcept : View(std::move(o)), c_(std::exchange(o.c_, nullptr)) {}
    Request &operator=(Request &&o) noexcept
    {
        if (this != &o) {
            discard();
            View::operator=(std::move(o));
            c_ = std::exchange(o.c_, nullptr);
        }
        return *this;
    }
    ~Request() { discard(); }

    /* Sends the request to one server and returns the call's id (what
     * Reply::call_id() says). Throws Errc::not_found (no server),
     * Errc::again (every server's queue is full) or Errc::limit (max_pending
     * calls open): on those three the loan stays valid, to retry or
     * discard; on success or any other error it has ended. */
    std::uint64_t send()
    {
        if (!c_)
            throw Error(FERRY_EINVAL, "send: this request was already sent, discarded or moved from");
        std::uint64_t id = 0;
        int rc = ferry_client_send(c_, this->p_, &id);
        if (rc != FERRY_ENOTFOUND && rc != FERRY_EAGAIN && rc != FERRY_ELIMIT) {
            c_ = nullptr;
            this->clear_view();
        }
        detail::check(rc);
        return id;
    }
    /* Gives the loan back unsent. No-op on an empty request. */
    void discard() noexcept
    {
        if (c_)
            ferry_client_discard(std::exchange(c_, nullptr), this->p_);
        this->clear_view();
    }
    explicit operator bool() const noexcept { return c_ != nullptr; }

private:
    template <class, class> friend class Client;
    Request(ferry_client *c, void *p, std::size_t bytes) noexcept : View(p, bytes), c_(c) {}
    ferry_client *c_ = nullptr;
};

/* What Client::take() got: a response of call call_id() (payload in
 * read-only shared memory, released in the destructor), an end-of-stream
 * marker without payload (has_payload() false, last() true), or the news
 * that the call's server went away (disconnected(), last() true). Empty
 * (false in a condition) when nothing was there. */
template <class Resp> class Reply : public detail::PayloadView<Resp, true> {
    using View = detail::PayloadView<Resp, true>;

public:
    Reply() noexcept = default;
    Reply(Reply &&o) noexcept
        : View(std::move(o)), c_(std::exchange(o.c_, nullptr)), call_id_(o.call_id_),
          last_(o.last_), disconnected_(o.disconnected_), valid_(std::exchange(o.valid_, false))
    {
    }
    Reply &operator=(Reply &&o) noexcept
    {
        if (this != &o) {
            release();
            View::operator=(std::move(o));
            c_ = std::exchange(o.c_, nullptr);
            call_id_ = o.call_id_;
            last_ = o.last_;
            disconnected_ = o.disconnected_;
            valid_ = std::exchange(o.valid_, false);
        }
        return *this;
    }
    ~Reply() { release(); }

    /* The call this belongs to (the id Request::send returned). */
    std::uint64_t call_id() const noexcept { return call_id_; }
    /* The call ended with this (last response, marker, or disconnection). */
    bool last() const noexcept { return last_; }
    /* The call's server went away before the call ended. */
    bool disconnected() const noexcept { return disconnected_; }
    /* A response with payload (false for a marker or a disconnection). */
    bool has_payload() const noexcept { return this->p_ != nullptr; }
    /* Gives the payload back (keeps call_id, last, disconnected). */
    void release() noexcept
    {
        if (c_)
            ferry_client_release(std::exchange(c_, nullptr), this->p_);
        this->clear_view();
    }
    explicit operator bool() const noexcept { return valid_; }

private:
    template <class, class> friend class Client;
    Reply(ferry_client *c, const void *p, std::size_t bytes, std::uint64_t id, bool last, bool disconnected) noexcept
        : View(p, bytes), c_(p ? c : nullptr), call_id_(id), last_(last), disconnected_(disconnected), valid_(true)
    {
    }
    ferry_client *c_ = nullptr;
    std::uint64_t call_id_ = 0;
    bool last_ = false;
    bool disconnected_ = false;
    bool valid_ = false;
};

/*
 * Sends requests of Req and receives responses of Resp (each one T, or a
 * slice T[]). Creates the service if needed.
 *
 *   auto client = node.client<Query, Answer>("maps/route");
 *   client.wait_for_server(std::chrono::seconds(1));
 *   std::uint64_t id = client.send_copy(Query{...});
 *   while (auto r = client.take(std::chrono::seconds(1))) {
 *       if (r.has_payload()) use(*r);
 *       if (r.last()) break;
 *   }
 */
template <class Req, class Resp> class Client {
    using PReq = detail::payload<Req>;
    using PResp = detail::payload<Resp>;

public:
    Client(const Node &node, const std::string &service, const ReqResOptions &opts = ReqResOptions())
    {
        const ferry_reqres_opts o = detail::make_reqres_opts<Req, Resp>(opts);
        h_ = detail::open_port<detail::ClientHandle, ferry_client>(ferry_client_open, node, service, &o);
        max_request_ = o.max_request;
    }
    Client(Client &&) noexcept = default;
    Client &operator=(Client &&) noexcept = default;

    /* Loans a request, default-initialised: one T, or for a slice n
     * elements (default: as many as fit). */
    Request<Req> loan(std::size_t n = 0)
    {
        const std::size_t bytes = PReq::loan_bytes(n == 0 ? max_request_ / sizeof(typename PReq::E) : n, max_request_);
        void *p = nullptr;
        detail::check(ferry_client_loan(handle(), bytes, &p));
        Request<Req> r(handle(), p, bytes); /* discards the loan if T() throws */
        PReq::construct(p, bytes);
        return r;
    }
    /* Same as request.send(). */
    std::uint64_t send(Request<Req> &request) { return request.send(); }
    /* Copies value (a T, or a span of elements) into a loan and sends it;
     * returns the call's id. Errors as Request::send. */
    std::uint64_t send_copy(typename PReq::arg_type value)
    {
        std::uint64_t id = 0;
        detail::check(ferry_client_send_copy(handle(), PReq::data_of(value), PReq::bytes_of(value), &id));
        return id;
    }

    /* The next response of any open call; an empty Reply when none is
     * there. Throws Errc::limit when max_borrowed responses are held, and
     * Errc::incompatible for a response of the wrong size (released). */
    Reply<Resp> take()
    {
        ferry_client *c = handle();
        std::uint64_t id = 0;
        const void *p = nullptr;
        std::size_t n = 0;
        int last = 0;
        int rc = ferry_client_take(c, &id, &p, &n, &last);
        if (rc == FERRY_EAGAIN)
            return Reply<Resp>();
        if (rc == FERRY_EDISCONNECTED)
            return Reply<Resp>(c, nullptr, 0, id, true, true);
        detail::check(rc);
        if (p && !PResp::fits(n)) {
            ferry_client_release(c, p);
            throw Error(FERRY_EINCOMPATIBLE, "a server sent a response of " + std::to_string(n) + " bytes, where " +
                                                 PResp::expected() + " (released unread)");
        }
        return Reply<Resp>(c, p, n, id, last != 0, false);
    }
    /* Waits up to timeout for something to take and takes it; an empty
     * Reply when the time is up or no call is open. */
    template <class Rep, class Period> Reply<Resp> take(const std::chrono::duration<Rep, Period> &timeout)
    {
        const std::int64_t ns = detail::to_timeout_ns(timeout);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns < 0 ? 0 : ns);
        for (;;) {
            if (Reply<Resp> r = take())
                return r;
            std::int64_t left = FERRY_FOREVER;
            if (ns >= 0) {
                left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now())
                           .count();
                if (left <= 0)
                    return Reply<Resp>();
            }
            int rc = ferry_client_wait(handle(), left);
            if (rc == FERRY_ETIMEDOUT || rc == FERRY_EAGAIN)
                return Reply<Resp>();
            detail::check(rc);
        }
    }
    /* Waits until take() has something: true; false when the time is up or
     * no call is open (nothing can come). */
    template <class Rep, class Period> bool wait(const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = ferry_client_wait(handle(), detail::to_timeout_ns(timeout));
        if (rc == FERRY_ETIMEDOUT || rc == FERRY_EAGAIN)
            return false;
        detail::check(rc);
        return true;
    }
    /* Waits until at least one server runs; false when the time is up. */
    template <class Rep, class Period> bool wait_for_server(const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = ferry_client_wait_server(handle(), detail::to_timeout_ns(timeout));
        if (rc == FERRY_ETIMEDOUT)
            return false;
        detail::check(rc);
        return true;
    }
    /* Calls open now. */
    std::uint32_t pending() const noexcept { return ferry_client_pending(h_.get()); }
    /* Readable while responses wait (for poll/epoll or WaitSet::attach_fd). */
    int fd()
    {
        int fd = ferry_client_fd(handle());
        if (fd < 0)
            detail::throw_error(fd);
        return fd;
    }

    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_client *c_handle() const noexcept { return h_.get(); }

private:
    ferry_client *handle() const
    {
        if (!h_.get())
            detail::moved_from("client");
        return h_.get();
    }
    detail::ClientHandle h_;
    std::size_t max_request_ = 0;
};

/* A server's loan of a response to one call: fill it, then send(). Discarded
 * in the destructor unless sent. */
template <class Resp> class ResponseLoan : public detail::PayloadView<Resp, false> {
    using View = detail::PayloadView<Resp, false>;

public:
    ResponseLoan() noexcept = default;
    ResponseLoan(ResponseLoan &&o) noexcept : View(std::move(o)), s_(std::exchange(o.s_, nullptr)), call_(o.call_) {}
    ResponseLoan &operator=(ResponseLoan &&o) noexcept
    {
        if (this != &o) {
            discard();
            View::operator=(std::move(o));
            s_ = std::exchange(o.s_, nullptr);
            call_ = o.call_;
        }
        return *this;
    }
    ~ResponseLoan() { discard(); }

    /* Sends the response to the call's client; last ends the call's stream.
     * false when the client's response queue is full (the loan stays:
     * retry or discard). Throws Errc::disconnected when the client is gone
     * (the loan has ended; finish the call). */
    bool send(bool last = false)
    {
        if (!s_)
            throw Error(FERRY_EINVAL, "send: this response was already sent, discarded or moved from");
        int rc = ferry_server_respond(s_, call_, this->p_, last ? FERRY_RESPONSE_LAST : 0u);
        if (rc == FERRY_EAGAIN)
            return false;
        if (rc != FERRY_EINVAL) { /* EINVAL leaves the loan with us */
            s_ = nullptr;
            this->clear_view();
        }
        detail::check(rc);
        return true;
    }
    void discard() noexcept
    {
        if (s_)
            ferry_server_discard(std::exchange(s_, nullptr), this->p_);
        this->clear_view();
    }
    explicit operator bool() const noexcept { return s_ != nullptr; }

private:
    template <class, class> friend class Call;
    ResponseLoan(ferry_server *s, ferry_call call, void *p, std::size_t bytes) noexcept
        : View(p, bytes), s_(s), call_(call)
    {
    }
    ferry_server *s_ = nullptr;
    ferry_call call_ = 0;
};

/* A call as the server sees it: the request (read-only, in shared memory:
 * *call, call->field, or data()/size() for a slice) and the means to
 * answer it. finish() ends it; the destructor finishes it if that was not
 * done (best effort: errors are ignored there, call finish() to see them).
 * Must not outlive its server. Empty (false) when take() found nothing. */
template <class Req, class Resp> class Call : public detail::PayloadView<Req, true> {
    using View = detail::PayloadView<Req, true>;
    using PResp = detail::payload<Resp>;

public:
    Call() noexcept = default;
    Call(Call &&o) noexcept
        : View(std::move(o)), s_(std::exchange(o.s_, nullptr)), call_(std::exchange(o.call_, 0)),
          max_response_(o.max_response_)
    {
    }
    Call &operator=(Call &&o) noexcept
    {
        if (this != &o) {
            finish_quietly();
            View::operator=(std::move(o));
            s_ = std::exchange(o.s_, nullptr);
            call_ = std::exchange(o.call_, 0);
            max_response_ = o.max_response_;
        }
        return *this;
    }
    ~Call() { finish_quietly(); }

    /* Loans a response, default-initialised: one T, or for a slice n
     * elements (default: as many as fit). */
    ResponseLoan<Resp> loan(std::size_t n = 0)
    {
        const std::size_t bytes =
            PResp::loan_bytes(n == 0 ? max_response_ / sizeof(typename PResp::E) : n, max_response_);
        void *p = nullptr;
        detail::check(ferry_server_loan(handle(), call_, bytes, &p));
        ResponseLoan<Resp> r(s_, call_, p, bytes);
        PResp::construct(p, bytes);
        return r;
    }
    /* Same as response.send(last). */
    bool respond(ResponseLoan<Resp> &response, bool last = false) { return response.send(last); }
    /* Copies value (a T, or a span of elements) into a response and sends
     * it; false when the client's queue is full (nothing sent). Throws
     * Errc::disconnected when the client is gone. */
    bool respond(typename PResp::arg_type value, bool last = false)
    {
        int rc = ferry_server_respond_copy(handle(), call_, PResp::data_of(value), PResp::bytes_of(value),
                                           last ? FERRY_RESPONSE_LAST : 0u);
        if (rc == FERRY_EAGAIN)
            return false;
        detail::check(rc);
        return true;
    }
    /* Ends the call: sends an end-of-stream marker unless a last response
     * went out, releases the request. On failure (Errc::again: the client's
     * queue is full; Errc::limit: no loan left for the marker) the call
     * stays open: try again. No-op on an empty call. */
    void finish()
    {
        if (!s_)
            return;
        detail::check(ferry_server_finish(s_, call_));
        s_ = nullptr;
        call_ = 0;
        this->clear_view();
    }
    /* Ends the call as failed (ferry_server_abort): the client takes it as
     * a Reply with disconnected(), as when a server goes away. Failures as
     * finish(). No-op on an empty call. */
    void abort()
    {
        if (!s_)
            return;
        detail::check(ferry_server_abort(s_, call_));
        s_ = nullptr;
        call_ = 0;
        this->clear_view();
    }
    /* The server's token of the call (ferry_call). */
    ferry_call token() const noexcept { return call_; }
    explicit operator bool() const noexcept { return s_ != nullptr; }

private:
    template <class, class> friend class Server;
    Call(ferry_server *s, ferry_call call, const void *p, std::size_t bytes, std::size_t max_response) noexcept
        : View(p, bytes), s_(s), call_(call), max_response_(max_response)
    {
    }
    ferry_server *handle() const
    {
        if (!s_)
            throw Error(FERRY_EINVAL, "this call was already finished or moved from");
        return s_;
    }
    void finish_quietly() noexcept
    {
        if (s_) {
            (void)ferry_server_finish(s_, call_);
            s_ = nullptr;
            call_ = 0;
        }
        this->clear_view();
    }
    ferry_server *s_ = nullptr;
    ferry_call call_ = 0;
    std::size_t max_response_ = 0;
};

/*
 * Answers requests of Req with responses of Resp (each one T, or T[]).
 *
 *   auto server = node.server<Query, Answer>("maps/route");
 *   while (auto call = server.take(ferry::forever)) {
 *       call.respond(answer_for(*call), true);  // last response
 *   }                                            // finished by ~Call
 */
template <class Req, class Resp> class Server {
    using PReq = detail::payload<Req>;

public:
    Server(const Node &node, const std::string &service, const ReqResOptions &opts = ReqResOptions())
    {
        const ferry_reqres_opts o = detail::make_reqres_opts<Req, Resp>(opts);
        h_ = detail::open_port<detail::ServerHandle, ferry_server>(ferry_server_open, node, service, &o);
        max_response_ = o.max_response;
    }
    Server(Server &&) noexcept = default;
    Server &operator=(Server &&) noexcept = default;

    /* The next request as a Call; an empty Call when none is queued. Throws
     * Errc::limit when max_borrowed calls are unfinished, and
     * Errc::incompatible for a request of the wrong size (that call is
     * finished at once: its client sees an empty last response). */
    Call<Req, Resp> take()
    {
        ferry_server *s = handle();
        ferry_call call = 0;
        const void *p = nullptr;
        std::size_t n = 0;
        int rc = ferry_server_take(s, &call, &p, &n);
        if (rc == FERRY_EAGAIN)
            return Call<Req, Resp>();
        detail::check(rc);
        if (!PReq::fits(n)) {
            (void)ferry_server_finish(s, call);
            throw Error(FERRY_EINCOMPATIBLE, "a client sent a request of " + std::to_string(n) + " bytes, where " +
                                                 PReq::expected() + " (the call was finished unanswered)");
        }
        return Call<Req, Resp>(s, call, p, n, max_response_);
    }
    /* Waits up to timeout (ferry::forever: no limit) for a request and
     * takes it; an empty Call when none came in time. */
    template <class Rep, class Period> Call<Req, Resp> take(const std::chrono::duration<Rep, Period> &timeout)
    {
        const std::int64_t ns = detail::to_timeout_ns(timeout);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns < 0 ? 0 : ns);
        for (;;) {
            if (Call<Req, Resp> c = take())
                return c;
            std::int64_t left = FERRY_FOREVER;
            if (ns >= 0) {
                left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now())
                           .count();
                if (left <= 0)
                    return Call<Req, Resp>();
            }
            int rc = ferry_server_wait(handle(), left);
            if (rc == FERRY_ETIMEDOUT)
                return Call<Req, Resp>();
            detail::check(rc);
        }
    }
    /* Waits until a request may be there (or a client went away): true;
     * false when the time is up. take() may still find nothing. */
    template <class Rep, class Period> bool wait(const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = ferry_server_wait(handle(), detail::to_timeout_ns(timeout));
        if (rc == FERRY_ETIMEDOUT)
            return false;
        detail::check(rc);
        return true;
    }
    /* Readable while requests wait (for poll/epoll or WaitSet::attach_fd). */
    int fd()
    {
        int fd = ferry_server_fd(handle());
        if (fd < 0)
            detail::throw_error(fd);
        return fd;
    }

    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_server *c_handle() const noexcept { return h_.get(); }

private:
    ferry_server *handle() const
    {
        if (!h_.get())
            detail::moved_from("server");
        return h_.get();
    }
    detail::ServerHandle h_;
    std::size_t max_response_ = 0;
};

/* ------------------------------------------------------------------------ */
/* Shared state                                                             */
/* ------------------------------------------------------------------------ */

template <class T> class StateWriter;
template <class T> class StateReader;

namespace detail {
template <class T> inline ferry_state_opts make_state_opts(const StateOptions &opts)
{
    ferry_state_opts o = opts.c_opts();
    o.type_name = payload<T>::name(opts.type_name());
    o.max_size = payload<T>::max_bytes(opts.max_elements(), "StateOptions::max_elements");
    o.persist_dir = c_str_or_null(opts.persist_dir());
    return o;
}
} // namespace detail

/* The writer's loan of the next version: fill it, then publish(). Discarded
 * in the destructor unless published. It holds an older version or nothing,
 * not the current value. */
template <class T> class StateLoan : public detail::PayloadView<T, false> {
    using View = detail::PayloadView<T, false>;

public:
    StateLoan() noexcept = default;
    StateLoan(StateLoan &&o) noexcept : View(std::move(o)), w_(std::exchange(o.w_, nullptr)) {}
    StateLoan &operator=(StateLoan &&o) noexcept
    {
        if (this != &o) {
            discard();
            View::operator=(std::move(o));
            w_ = std::exchange(o.w_, nullptr);
        }
        return *this;
    }
    ~StateLoan() { discard(); }

    /* Makes this the current version in one atomic switch; returns its
     * version number (1, 2, ...). The loan ends whatever happens. */
    std::uint64_t publish()
    {
        if (!w_)
            throw Error(FERRY_EINVAL, "publish: this loan was already published, discarded or moved from");
        std::uint64_t version = 0;
        int rc = ferry_state_publish(std::exchange(w_, nullptr), this->p_, &version);
        this->clear_view();
        detail::check(rc);
        return version;
    }
    void discard() noexcept
    {
        if (w_)
            ferry_state_discard(std::exchange(w_, nullptr), this->p_);
        this->clear_view();
    }
    explicit operator bool() const noexcept { return w_ != nullptr; }

private:
    friend class StateWriter<T>;
    StateLoan(ferry_state_writer *w, void *p, std::size_t bytes) noexcept : View(p, bytes), w_(w) {}
    ferry_state_writer *w_ = nullptr;
};

/* The single writer of a shared-state service of T (one T, or T[]).
 * Throws Errc::limit when the service already has a writer. */
template <class T> class StateWriter {
    using P = detail::payload<T>;

public:
    StateWriter(const Node &node, const std::string &service, const StateOptions &opts = StateOptions())
    {
        const ferry_state_opts o = detail::make_state_opts<T>(opts);
        h_ = detail::open_port<detail::StateWriterHandle, ferry_state_writer>(ferry_state_writer_open, node, service,
                                                                              &o);
        max_size_ = o.max_size;
    }
    StateWriter(StateWriter &&) noexcept = default;
    StateWriter &operator=(StateWriter &&) noexcept = default;

    /* Loans the next version, default-initialised: one T, or for a slice n
     * elements (default: as many as fit). One loan at a time. */
    StateLoan<T> loan(std::size_t n = 0)
    {
        const std::size_t bytes = P::loan_bytes(n == 0 ? max_size_ / sizeof(typename P::E) : n, max_size_);
        void *p = nullptr;
        detail::check(ferry_state_loan(handle(), bytes, &p));
        StateLoan<T> l(handle(), p, bytes);
        P::construct(p, bytes);
        return l;
    }
    /* Copies value (a T, or a span of elements) in and publishes it; returns
     * the new version. */
    std::uint64_t write(typename P::arg_type value)
    {
        std::uint64_t version = 0;
        detail::check(ferry_state_write(handle(), P::data_of(value), P::bytes_of(value), &version));
        return version;
    }

    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_state_writer *c_handle() const noexcept { return h_.get(); }

private:
    ferry_state_writer *handle() const
    {
        if (!h_.get())
            detail::moved_from("state writer");
        return h_.get();
    }
    detail::StateWriterHandle h_;
    std::size_t max_size_ = 0;
};

/* An open read of a shared state: the value (*read, read->field, or
 * data()/size() for a slice) stays valid and unchanged until the read ends
 * (end() or the destructor), however often the writer publishes. Empty
 * (false) when nothing was published yet. Must not outlive its reader. */
template <class T> class StateRead : public detail::PayloadView<T, true> {
    using View = detail::PayloadView<T, true>;

public:
    StateRead() noexcept = default;
    StateRead(StateRead &&o) noexcept : View(std::move(o)), r_(std::exchange(o.r_, nullptr)), version_(o.version_) {}
    StateRead &operator=(StateRead &&o) noexcept
    {
        if (this != &o) {
            end();
            View::operator=(std::move(o));
            r_ = std::exchange(o.r_, nullptr);
            version_ = o.version_;
        }
        return *this;
    }
    ~StateRead() { end(); }

    /* The version read (1, 2, ...). */
    std::uint64_t version() const noexcept { return version_; }
    /* Ends the read (no-op when ended). */
    void end() noexcept
    {
        if (r_)
            ferry_state_read_end(std::exchange(r_, nullptr));
        this->clear_view();
    }
    explicit operator bool() const noexcept { return r_ != nullptr; }

private:
    friend class StateReader<T>;
    StateRead(ferry_state_reader *r, const void *p, std::size_t bytes, std::uint64_t version) noexcept
        : View(p, bytes), r_(r), version_(version)
    {
    }
    ferry_state_reader *r_ = nullptr;
    std::uint64_t version_ = 0;
};

/* Reads a shared-state service of T, wait-free. */
template <class T> class StateReader {
    using P = detail::payload<T>;

public:
    StateReader(const Node &node, const std::string &service, const StateOptions &opts = StateOptions())
    {
        const ferry_state_opts o = detail::make_state_opts<T>(opts);
        h_ = detail::open_port<detail::StateReaderHandle, ferry_state_reader>(ferry_state_reader_open, node, service,
                                                                              &o);
    }
    StateReader(StateReader &&) noexcept = default;
    StateReader &operator=(StateReader &&) noexcept = default;

    /* Starts reading the latest version; an empty StateRead when nothing was
     * published yet. One read at a time (Errc::limit); Errc::incompatible
     * for a value of the wrong size. */
    StateRead<T> read()
    {
        ferry_state_reader *r = handle();
        const void *p = nullptr;
        std::size_t n = 0;
        std::uint64_t version = 0;
        int rc = ferry_state_read_begin(r, &p, &n, &version);
        if (rc == FERRY_EAGAIN)
            return StateRead<T>();
        detail::check(rc);
        if (!P::fits(n)) {
            ferry_state_read_end(r);
            throw Error(FERRY_EINCOMPATIBLE, "the state holds " + std::to_string(n) + " bytes, where " +
                                                 P::expected());
        }
        return StateRead<T>(r, p, n, version);
    }
    /* A copy of the latest value and its version; version 0 (and a
     * value-initialised T) when nothing was published yet. One T only. */
    std::pair<T, std::uint64_t> get()
    {
        static_assert(!P::slice, "ferry: get() copies one T; read a slice with read()");
        StateRead<T> r = read();
        if (!r)
            return {T{}, 0};
        return {*r, r.version()};
    }
    /* Waits up to timeout for a version newer than newer_than (0: any):
     * ready, timed_out, or disconnected (a writer went away, reported once). */
    template <class Rep, class Period>
    WaitResult wait(std::uint64_t newer_than, const std::chrono::duration<Rep, Period> &timeout)
    {
        int rc = ferry_state_wait(handle(), newer_than, detail::to_timeout_ns(timeout));
        if (rc == FERRY_OK)
            return WaitResult::ready;
        if (rc == FERRY_ETIMEDOUT)
            return WaitResult::timed_out;
        if (rc == FERRY_EDISCONNECTED)
            return WaitResult::disconnected;
        detail::throw_error(rc);
    }
    WaitResult wait(std::uint64_t newer_than) { return wait(newer_than, forever); }

    explicit operator bool() const noexcept { return h_.get() != nullptr; }
    ferry_state_reader *c_handle() const noexcept { return h_.get(); }

private:
    ferry_state_reader *handle() const
    {
        if (!h_.get())
            detail::moved_from("state reader");
        return h_.get();
    }
    detail::StateReaderHandle h_;
};

/* Node shortcuts for the other patterns. */
inline Notifier Node::notifier(const std::string &service, const EventOptions &opts) const
{
    return Notifier(*this, service, opts);
}
inline Listener Node::listener(const std::string &service, const EventOptions &opts) const
{
    return Listener(*this, service, opts);
}

/* ------------------------------------------------------------------------ */
/* Listing, cleanup, version                                                */
/* ------------------------------------------------------------------------ */

/* A service's messaging pattern (ferry_pattern). */
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
