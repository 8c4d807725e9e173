// Types shared by cpp_multiprocess_test and its peer process, cpp_test_peer.
#ifndef FERRY_CPP_MP_TYPES_HPP
#define FERRY_CPP_MP_TYPES_HPP

#include <ferry/ferry.hpp>

#include <cstdint>

namespace cpp_mp {

// Test process -> peer, on "cpp/mp/data".
struct Data {
    std::uint64_t index;  // 0, 1, 2, ...
    double value;         // index * 0.5
    std::uint8_t bytes[40]; // (index + i) & 0xff
    static constexpr const char *ferry_type_name = "cpp_test.mp.data.v1";
};

// Peer -> test process, on "cpp/mp/result": what the peer saw.
struct Result {
    std::uint64_t received;
    std::uint64_t bad;
    std::uint64_t lost;
    std::int64_t pid;
    static constexpr const char *ferry_type_name = "cpp_test.mp.result.v1";
};

inline ferry::Options data_options()
{
    return ferry::Options().overflow(ferry::Overflow::block).queue_capacity(16);
}

// History 1: the test process gets the result even if it looks late.
inline ferry::Options result_options() { return ferry::Options().history(1); }

inline void fill(Data &d, std::uint64_t index)
{
    d.index = index;
    d.value = static_cast<double>(index) * 0.5;
    for (unsigned i = 0; i < sizeof d.bytes; i++)
        d.bytes[i] = static_cast<std::uint8_t>((index + i) & 0xffu);
}

inline bool valid(const Data &d, std::uint64_t index)
{
    if (d.index != index || d.value != static_cast<double>(index) * 0.5)
        return false;
    for (unsigned i = 0; i < sizeof d.bytes; i++)
        if (d.bytes[i] != static_cast<std::uint8_t>((index + i) & 0xffu))
            return false;
    return true;
}

} // namespace cpp_mp

#endif
