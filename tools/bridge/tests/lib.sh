# Shared by the ferry-bridge tests (sourced, bash).
#
#   bash TEST.sh FERRY_BRIDGE TEST_PEER
#
# Two ferry domains on this machine stand for two hosts (A and B), each with
# its own bridge, connected over 127.0.0.1 on free ports. Each test uses
# domains of its own and checks at the end that nothing of them is left in
# /dev/shm. Prints "ok: ..." / "FAIL: ..." lines; exits 0 only when nothing failed.
set -u

BRIDGE=${1:?usage: $0 FERRY_BRIDGE TEST_PEER}
PEER=${2:?usage: $0 FERRY_BRIDGE TEST_PEER}
PY=${PYTHON:-python3}
SHM=/dev/shm
TEST_NAME=$(basename "$0" .sh)
DA="br${TEST_NAME:0:8}A$$"
DB="br${TEST_NAME:0:8}B$$"
TMP=$(mktemp -d)
BG_PIDS=()
FAILURES=0
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

# free_port: a TCP port nobody listens on now.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
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

# progress_at_least FILE N: the subscriber's progress file says >= N.
progress_at_least() { [[ -s $1 ]] && (($(cat "$1") >= $2)); }

# check_left: objects of our domains in /dev/shm.
shm_objects() {
    local f d
    for d in "$DA" "$DB"; do
        for f in "$SHM"/ferry."$d".*; do
            if [[ -e $f ]]; then echo "${f##*/}"; fi
        done
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
    left=$(shm_objects | grep -c .)
    if [[ $left -ne 0 ]]; then
        fail "$left object(s) of domains $DA/$DB left in $SHM:"
        shm_objects | sed 's/^/    /'
        rm -f "$SHM"/ferry."$DA".* "$SHM"/ferry."$DB".*
    else
        ok "nothing of domains $DA, $DB left in $SHM"
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
    rm -f "$SHM"/ferry."$DA".* "$SHM"/ferry."$DB".*
    rm -rf "$TMP"
}
trap 'on_abort; exit 1' INT TERM
