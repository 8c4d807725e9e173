# The harness of ferry's shell tests (sourced, bash), shared by the command
# line's tests (tools/cli/tests) and the bridge's (tools/bridge/tests).
#
# Before sourcing, set TEST_DOMAINS to the ferry domains the test uses. This
# file provides ok/fail reporting, background processes that are checked and
# killed at the end, wait_until, and finish: every background process must
# have ended, and nothing of the test's domains may be left in /dev/shm.
# A test prints "ok: ..." / "FAIL: ..." lines and exits 0 only when nothing
# failed.
set -u

PY=${PYTHON:-python3}
SHM=/dev/shm
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d)
BG_PIDS=()
FAILURES=0

# ASan: a leak report fails the test, as in the rest of the suite.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

fail() {
    echo "FAIL: $*"
    FAILURES=$((FAILURES + 1))
}

ok() { echo "ok: $*"; }

# bg CMD...: starts CMD in the background; its pid is in $BG.
bg() {
    "$@" &
    BG=$!
    BG_PIDS+=("$BG")
}

# stop PID: SIGTERM, then waits; returns the exit status.
stop() {
    kill -TERM "$1" 2>/dev/null
    wait "$1"
}

# wait_until SECONDS CMD...: retries CMD every 50 ms until it succeeds.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.05
    done
}

# The objects of the test's domains in /dev/shm, one name a line; their number.
shm_objects() {
    local f d
    for d in "${TEST_DOMAINS[@]}"; do
        for f in "$SHM"/ferry."$d".*; do
            if [[ -e $f ]]; then echo "${f##*/}"; fi
        done
    done
}
shm_left() { shm_objects | grep -c .; }

shm_remove() {
    local d
    for d in "${TEST_DOMAINS[@]}"; do
        rm -f "$SHM"/ferry."$d".*
    done
}

finish() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            fail "process $pid still running at the end"
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    local left
    left=$(shm_left)
    if [[ $left -ne 0 ]]; then
        fail "$left object(s) of domain(s) ${TEST_DOMAINS[*]} left in $SHM:"
        shm_objects | sed 's/^/    /'
        shm_remove
    else
        ok "nothing of domain(s) ${TEST_DOMAINS[*]} left in $SHM"
    fi
    rm -rf "$TMP"
    if [[ $FAILURES -ne 0 ]]; then
        echo "$TEST_NAME: $FAILURES failure(s)"
        exit 1
    fi
    echo "$TEST_NAME: PASS"
    exit 0
}

on_abort() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    shm_remove
    rm -rf "$TMP"
}
trap 'on_abort; exit 1' INT TERM
