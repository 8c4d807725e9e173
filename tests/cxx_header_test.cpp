// cxx_header_test: the public header compiles as C++ (extern "C", no C-only
// constructs), its constants are usable in constant expressions, and the
// library links and answers from C++.
#include <ferry/ferry.h>

#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(FERRY_OK == 0, "FERRY_OK");
static_assert(FERRY_EINVAL == -1, "FERRY_EINVAL");
static_assert(FERRY_EDISCONNECTED == -12, "FERRY_EDISCONNECTED");
static_assert(FERRY_DOMAIN_MAX == 32 && FERRY_SERVICE_NAME_MAX == 255, "name limits");
static_assert(FERRY_OVERFLOW_BLOCK == 1 && FERRY_OVERFLOW_DROP_OLDEST == 0, "overflow values");
static_assert(std::is_standard_layout<ferry_pubsub_opts>::value, "C layout");
static_assert(std::is_standard_layout<ferry_service_info>::value, "C layout");
static_assert(sizeof(ferry_sample_info) >= 3 * sizeof(uint64_t) + sizeof(size_t), "sample info");

// Function pointer types match the declarations (catches signature drift).
static int (*const open_fn)(ferry_pub **, ferry_node *, const char *, const ferry_pubsub_opts *) =
    ferry_pub_open;
static void (*const release_fn)(ferry_sub *, const void *) = ferry_sub_release;

static int count_node(const ferry_node_info *, void *user)
{
    ++*static_cast<int *>(user);
    return 0;
}

int main()
{
    if (std::strcmp(ferry_strerror(FERRY_OK), "success") != 0) {
        std::fprintf(stderr, "FAIL cxx_header_test: ferry_strerror(FERRY_OK)\n");
        return 1;
    }
    ferry_pubsub_opts opts;
    ferry_pubsub_opts_init(&opts);
    if (opts.max_payload != 4096 || opts.overflow != FERRY_OVERFLOW_DROP_OLDEST) {
        std::fprintf(stderr, "FAIL cxx_header_test: ferry_pubsub_opts_init defaults\n");
        return 1;
    }
    ferry_pub *pub = nullptr;
    if (open_fn(&pub, nullptr, "x", &opts) != FERRY_EINVAL || pub != nullptr) {
        std::fprintf(stderr, "FAIL cxx_header_test: ferry_pub_open(NULL node)\n");
        return 1;
    }
    ferry_clear_error();
    release_fn(nullptr, nullptr);
    if (ferry_last_error() != FERRY_EINVAL) {
        std::fprintf(stderr, "FAIL cxx_header_test: ferry_sub_release(NULL)\n");
        return 1;
    }
    ferry_node_cb cb = count_node;
    (void)cb;
    std::printf("PASS cxx_header_test (ferry %s)\n", ferry_version());
    return 0;
}
