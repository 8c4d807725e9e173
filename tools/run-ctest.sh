#!/usr/bin/env bash
# Runs ctest in a build directory: tools/run-ctest.sh [--tsan] BUILD_DIR [CTEST_ARGS...]
#
# --tsan: the build uses ThreadSanitizer. TSan from GCC 12 aborts with
# "FATAL: ThreadSanitizer: unexpected memory mapping" on kernels that
# randomize mmap with more bits than it expects (vm.mmap_rnd_bits > 28 or so).
# Running with address randomization off (setarch -R) avoids it. This script
# probes for the problem with a tiny TSan program first, and also reruns the
# suite under setarch if the message shows up in the test output anyway.
set -euo pipefail

tsan=0
if [[ ${1:-} == --tsan ]]; then
    tsan=1
    shift
fi
if [[ $# -lt 1 ]]; then
    echo "usage: $0 [--tsan] BUILD_DIR [CTEST_ARGS...]" >&2
    exit 2
fi
build=$1
shift

tsan_msg='ThreadSanitizer: unexpected memory mapping'
norandom=(setarch "$(uname -m)" -R)
log="$build/ctest-output.log"
wrap=()

run_ctest() {
    echo "+ (cd $build && ${wrap[*]:+${wrap[*]} }ctest --output-on-failure $*)"
    set +e
    (cd "$build" && "${wrap[@]}" ctest --output-on-failure "$@") 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}

if [[ $tsan == 1 ]]; then
    probe_dir="$build/tsan-probe"
    mkdir -p "$probe_dir"
    printf 'int main(void) { return 0; }\n' >"$probe_dir/probe.c"
    "${CC:-cc}" -fsanitize=thread -o "$probe_dir/probe" "$probe_dir/probe.c"
    if ! "$probe_dir/probe" >"$probe_dir/out" 2>&1 && grep -q "$tsan_msg" "$probe_dir/out"; then
        echo "run-ctest: ThreadSanitizer cannot run with this kernel's ASLR; using ${norandom[*]}"
        if ! "${norandom[@]}" "$probe_dir/probe"; then
            echo "run-ctest: '${norandom[*]}' did not help either; try" >&2
            echo "           sysctl vm.mmap_rnd_bits=28   (as root)" >&2
            exit 1
        fi
        wrap=("${norandom[@]}")
    fi
fi

rc=0
run_ctest "$@" || rc=$?
if [[ $rc != 0 && $tsan == 1 && ${#wrap[@]} == 0 ]] && grep -q "$tsan_msg" "$log"; then
    echo "run-ctest: ThreadSanitizer hit '$tsan_msg'; rerunning with ${norandom[*]}"
    wrap=("${norandom[@]}")
    rc=0
    run_ctest "$@" || rc=$?
fi
exit "$rc"
