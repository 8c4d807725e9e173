#!/usr/bin/env bash
# Install smoke test: installs ferry to a temporary prefix, then builds and
# runs small consumers against that install the two supported ways:
#   - CMake:      find_package(ferry) + ferry::ferry (and ferry::ferry_static)
#   - pkg-config: pkg-config --cflags --libs ferry
# It also checks that the shared library exports only ferry_* symbols.
#
#   tools/install-smoke.sh [WORK_DIR]     (default: build/install-smoke)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/build/install-smoke}
mkdir -p "$work"
work=$(cd "$work" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/ferry-prefix.XXXXXX")
trap 'rm -rf "$prefix"' EXIT

step() { printf '\n== install-smoke: %s\n' "$*"; }
die() {
    echo "install-smoke: FAIL: $*" >&2
    exit 1
}

step "build and install to $prefix"
# Configured with the prefix (not cmake --install --prefix) so that ferry.pc
# carries it.
cmake -S "$root" -B "$work/lib" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_EXAMPLES=OFF -DFERRY_BUILD_BENCH=OFF \
    -DFERRY_SANITIZE= -DFERRY_WERROR=OFF >"$work/configure.log" || {
    cat "$work/configure.log"
    die "configure"
}
cmake --build "$work/lib" -j "$jobs"
cmake --install "$work/lib" >"$work/install.log"

step "installed files"
pc=$(find "$prefix" -name ferry.pc -path '*/pkgconfig/*' | head -n 1)
[[ -n $pc ]] || die "no ferry.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/include/ferry/ferry.h" "$prefix/include/ferry/export.h" "$prefix/include/ferry/ferry.hpp" \
    "$libdir/libferry.so" "$libdir/libferry.a" \
    "$libdir/cmake/ferry/ferryConfig.cmake" "$libdir/cmake/ferry/ferryConfigVersion.cmake" \
    "$libdir/cmake/ferry/ferryTargets.cmake"; do
    [[ -e $f ]] || die "not installed: $f"
    echo "  ${f#"$prefix"/}"
done

if [[ -e $prefix/bin/ferry ]]; then
    step "command line"
    # The installed command line runs as it is, without LD_LIBRARY_PATH.
    "$prefix/bin/ferry" --version || die "ferry --version failed"
fi

step "exported symbols"
# Defined dynamic symbols other than the version node (type A) must be ferry_*.
bad=$(nm -D --defined-only "$libdir/libferry.so" | awk '$2 != "A" && $3 !~ /^ferry_/ { print $3 }')
[[ -z $bad ]] || die "libferry.so exports symbols outside the API: $(echo "$bad" | tr '\n' ' ')"
echo "  $(nm -D --defined-only "$libdir/libferry.so" | grep -c ' ferry_') ferry_* symbols, nothing else"

# Runs a consumer in a fresh domain and checks it left nothing in /dev/shm.
run_consumer() {
    local exe=$1
    local domain
    domain="smoke-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
    FERRY_DOMAIN=$domain "$exe" || die "$exe failed"
    local f
    for f in /dev/shm/ferry."$domain".*; do
        if [[ -e $f ]]; then
            rm -f "/dev/shm/ferry.$domain."*
            die "$exe left $f"
        fi
    done
}

step "CMake consumer: find_package(ferry), ferry::ferry and ferry::ferry_static"
rm -rf "$work/consumer"
cmake -S "$root/tools/install-smoke" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release >"$work/consumer-configure.log" || {
    cat "$work/consumer-configure.log"
    die "consumer configure (find_package(ferry))"
}
cmake --build "$work/consumer" -j "$jobs"
run_consumer "$work/consumer/consumer_cmake"
run_consumer "$work/consumer/consumer_cmake_static"
if ldd "$work/consumer/consumer_cmake_static" | grep -q libferry; then
    die "consumer_cmake_static links libferry.so dynamically"
fi

step "pkg-config consumer: pkg-config --cflags --libs ferry"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists ferry || die "pkg-config does not find ferry in $PKG_CONFIG_PATH"
echo "  version: $(pkg-config --modversion ferry)"
echo "  cflags:  $(pkg-config --cflags ferry)"
echo "  libs:    $(pkg-config --libs ferry)"
# shellcheck disable=SC2046  # pkg-config output is meant to be split
"${CC:-cc}" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/consumer_pc" \
    "$root/tools/install-smoke/consumer.c" $(pkg-config --cflags --libs ferry) -Wl,-rpath,"$libdir"
run_consumer "$work/consumer_pc"

printf '\ninstall-smoke: PASS (CMake shared + static, pkg-config)\n'
