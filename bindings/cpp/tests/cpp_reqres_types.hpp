// Types shared by cpp_reqres_mp_test and its peer, cpp_reqres_peer.
#ifndef FERRY_CPP_REQRES_TYPES_HPP
#define FERRY_CPP_REQRES_TYPES_HPP

#include <ferry/ferry.hpp>

#include <cstdint>

namespace cpp_rr {

struct Query {
    std::uint64_t seq;
    std::uint32_t a, b;
    static constexpr const char *ferry_type_name = "cpp_rr.query.v1";
};

struct Answer {
    std::uint64_t seq;
    std::uint64_t value; // part 1: a + b, part 2: a * b, part 3: seq
    std::uint32_t part;  // 1..kParts
    std::int32_t pid;
    static constexpr const char *ferry_type_name = "cpp_rr.answer.v1";
};

constexpr std::uint32_t kParts = 3;
constexpr const char *kService = "cpp/rr/mp";

inline ferry::ReqResOptions options() { return ferry::ReqResOptions().max_pending(4).response_queue(8); }

inline std::uint64_t expected(const Query &q, std::uint32_t part)
{
    switch (part) {
    case 1:
        return std::uint64_t{q.a} + q.b;
    case 2:
        return std::uint64_t{q.a} * q.b;
    default:
        return q.seq;
    }
}

} // namespace cpp_rr

#endif
