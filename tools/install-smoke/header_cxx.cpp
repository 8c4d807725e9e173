// The installed headers must be usable from C++: ferry/ferry.h as is, and the
// C++17 layer ferry/ferry.hpp. Compiled with -Werror; never called.
#include <ferry/ferry.h>
#include <ferry/ferry.hpp>

const char *ferry_smoke_cxx_version() { return ferry_version(); }

void ferry_smoke_cxx_node()
{
    ferry::Node node("install-smoke-cxx");
    (void)node;
}
