#!/bin/sh
# Installs what building and testing ferry needs on Debian/Ubuntu.
#
# This is the one place that lists the dependencies. It is idempotent and
# quick when everything is present: it only checks, and runs `apt-get update`
# and `apt-get install` only when something is missing.
#
#   tools/install-deps.sh           what building needs (make run, make install)
#   tools/install-deps.sh --test    also what the test suite needs (make test)
#   tools/install-deps.sh --bench   also the benchmark's comparison libraries and gnuplot (make run)
#   add --check to only report: exit 1 when something is missing
set -eu

# Each entry: KIND:WHAT:PACKAGE, where KIND is cmd (a command on PATH), file
# (a path that exists) or deb (the Debian package WHAT is installed).
# Sanitizer runtimes (libasan, libubsan, libtsan) come with gcc on Debian.
BUILD_DEPS="
cmd:cmake:cmake
cmd:ctest:cmake
cmd:gcc:gcc
cmd:g++:g++
cmd:make:make
cmd:pkg-config:pkg-config
file:/usr/include/stdio.h:libc6-dev
"
# The Python binding tests (bindings/python) and the command-line tests
# (tools/cli/tests) need python3; numpy lets the numpy helper tests run
# instead of skipping. ferry-bridge (tools/bridge) needs libzmq; its tests run
# the Python ZeroMQ example with python3-zmq.
TEST_DEPS="
cmd:python3:python3
deb:python3-numpy:python3-numpy
deb:libzmq3-dev:libzmq3-dev
deb:python3-zmq:python3-zmq
"

# ferry-bench compares against these libraries when present, and draws its
# chart with gnuplot; `make run` installs them (the bench builds without).
BENCH_DEPS="
deb:libzmq3-dev:libzmq3-dev
deb:libnng-dev:libnng-dev
cmd:gnuplot:gnuplot-nox
"

deps=$BUILD_DEPS
check_only=0
for arg in "$@"; do
    case $arg in
        --test) deps="$deps $TEST_DEPS" ;;
        --bench) deps="$deps $BENCH_DEPS" ;;
        --check) check_only=1 ;;
        *)
            echo "usage: $0 [--test] [--bench] [--check]" >&2
            exit 2
            ;;
    esac
done

present() {
    case $1 in
        cmd) command -v "$2" >/dev/null 2>&1 ;;
        file) [ -e "$2" ] ;;
        deb) dpkg-query -W -f='${Status}' "$2" 2>/dev/null | grep -q 'install ok installed' ;;
        *) return 1 ;;
    esac
}

missing=""
for dep in $deps; do
    kind=${dep%%:*}
    rest=${dep#*:}
    what=${rest%:*}
    pkg=${rest##*:}
    present "$kind" "$what" && continue
    case " $missing " in
        *" $pkg "*) ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: missing packages:$missing" >&2
if [ "$check_only" = 1 ]; then
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: no apt-get here; install these packages with your package manager:$missing" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: not root and no sudo; run as root: apt-get install$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# shellcheck disable=SC2086  # $missing is a list of package names
$SUDO apt-get install -y --no-install-recommends $missing
echo "install-deps: installed:$missing" >&2
