// A tiny test harness for the C++ binding tests: CHECK macros, a fresh domain
// per test process, and a check that nothing of that domain is left in
// /dev/shm. Exit status: 0 pass, 1 fail.
#ifndef FERRY_CPP_TEST_HPP
#define FERRY_CPP_TEST_HPP

#include <ferry/ferry.hpp>

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#define CHECK(cond)                                                                                        \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                \
            std::exit(1);                                                                                  \
        }                                                                                                  \
    } while (0)

// Runs stmt and checks that it throws ferry::Error with code errc.
#define CHECK_THROWS(stmt, errc)                                                                           \
    do {                                                                                                   \
        bool threw_ = false;                                                                               \
        try {                                                                                              \
            stmt;                                                                                          \
        } catch (const ferry::Error &e_) {                                                                 \
            threw_ = true;                                                                                 \
            if (e_.code() != (errc)) {                                                                     \
                std::fprintf(stderr, "%s:%d: %s threw %s, expected code %d\n", __FILE__, __LINE__, #stmt, \
                             e_.what(), static_cast<int>(errc));                                          \
                std::exit(1);                                                                              \
            }                                                                                              \
        }                                                                                                  \
        if (!threw_) {                                                                                     \
            std::fprintf(stderr, "%s:%d: %s did not throw\n", __FILE__, __LINE__, #stmt);                 \
            std::exit(1);                                                                                  \
        }                                                                                                  \
    } while (0)

namespace cpp_test {

// "cpp_<name>_<pid>": a domain no other test process uses (at most 32 characters).
inline std::string domain(const char *name)
{
    std::string d = std::string("cpp_") + name + "_" + std::to_string(static_cast<long>(getpid()));
    CHECK(d.size() <= FERRY_DOMAIN_MAX);
    return d;
}

inline ferry::NodeOptions node_opts(const std::string &domain) { return ferry::NodeOptions().domain(domain); }

// Shared-memory objects of the domain still in /dev/shm.
inline int leftovers(const std::string &domain)
{
    std::string prefix = "ferry." + domain + ".";
    int n = 0;
    if (DIR *d = opendir("/dev/shm")) {
        while (dirent *e = readdir(d)) {
            if (std::string(e->d_name).compare(0, prefix.size(), prefix) == 0) {
                std::fprintf(stderr, "left in /dev/shm: %s\n", e->d_name);
                n++;
            }
        }
        closedir(d);
    }
    return n;
}

inline void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

using clock = std::chrono::steady_clock;

// Runs one test function and prints its name.
template <class F> void run(const char *name, F &&f)
{
    std::printf("-- %s\n", name);
    std::fflush(stdout);
    f();
}

} // namespace cpp_test

#endif
